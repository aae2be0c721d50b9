/*
 * Shared by the test_shadow*.c unit tests: a 16 MiB guest, a bump allocator
 * for guest page tables, and builders for 2-level, PAE and 4-level tables.
 */
#ifndef TEST_SHADOW_HELPERS_H
#define TEST_SHADOW_HELPERS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mem/mem.h"
#include "mmu_shadow/shadow.h"
#include "util/util.h"

#define P	(1ull << 0)
#define RW	(1ull << 1)
#define US	(1ull << 2)
#define A	(1ull << 5)
#define D	(1ull << 6)
#define PS	(1ull << 7)
#define G	(1ull << 8)
#define NX	(1ull << 63)

#define CR0_PE	(1ull << 0)
#define CR0_WP	(1ull << 16)
#define CR0_PG	(1ull << 31)
#define CR4_PSE	(1ull << 4)
#define CR4_PAE	(1ull << 5)
#define CR4_PGE	(1ull << 7)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)

#define RD	SHADOW_ACC_READ
#define WR	SHADOW_ACC_WRITE
#define FE	SHADOW_ACC_FETCH
#define USR	SHADOW_ACC_USER

enum gmode { GM_32, GM_PAE, GM_64 };

struct gt {
	struct guest_mem mem;
	struct shadow_vm svm;
	struct shadow_mmu mmu;
	struct shadow_mode mode;
	enum gmode gm;
	uint64_t next_free;
};

static inline uint8_t *gt_hva(struct gt *g, uint64_t gpa)
{
	uint8_t *p = mem__gpa_to_hva(&g->mem, gpa, 1);
	assert_non_null(p);
	return p;
}

static inline uint64_t gt_alloc(struct gt *g)
{
	uint64_t p = g->next_free;
	g->next_free += 4096;
	memset(gt_hva(g, p), 0, 4096);
	return p;
}

/* Table pages come from 1 MiB up; tests put data pages at 8 MiB and above. */
static inline struct gt *gt_new(enum gmode gm)
{
	struct gt *g = calloc(1, sizeof(*g));
	assert_non_null(g);
	assert_int_equal(mem__init(&g->mem, 16 << 20), 0);
	assert_int_equal(shadow__vm_init(&g->svm, &g->mem), 0);
	shadow__init(&g->mmu, &g->svm);
	g->gm = gm;
	g->next_free = 0x100000;
	g->mode.cr0 = CR0_PE | CR0_PG | CR0_WP;
	switch (gm) {
	case GM_32:
		g->mode.cr4 = CR4_PSE;
		g->mode.cr3 = gt_alloc(g);
		break;
	case GM_PAE:
		g->mode.cr4 = CR4_PAE;
		g->mode.efer = EFER_NXE;
		g->mode.cr3 = gt_alloc(g);	/* the PDPT (only 32 bytes used) */
		break;
	case GM_64:
		g->mode.cr4 = CR4_PAE;
		g->mode.efer = EFER_LME | EFER_LMA | EFER_NXE;
		g->mode.cr3 = gt_alloc(g);
		break;
	}
	return g;
}

static inline void gt_free(struct gt *g)
{
	shadow__exit(&g->mmu);
	shadow__vm_exit(&g->svm);
	mem__exit(&g->mem);
	free(g);
}

static inline uint64_t gt_read_gpte(struct gt *g, uint64_t gpte_gpa)
{
	if (g->gm == GM_32)
		return *(uint32_t *)gt_hva(g, gpte_gpa);
	return *(uint64_t *)gt_hva(g, gpte_gpa);
}

static inline void gt_write_gpte(struct gt *g, uint64_t gpte_gpa, uint64_t v)
{
	if (g->gm == GM_32)
		*(uint32_t *)gt_hva(g, gpte_gpa) = (uint32_t)v;
	else
		*(uint64_t *)gt_hva(g, gpte_gpa) = v;
}

/*
 * Map @linear to @gpa with the leaf at @leaf_level (1 = 4 KiB, 2 = 2 MiB or
 * 4 MiB, 3 = 1 GiB) carrying @flags; missing intermediate tables are made
 * with @dirflags.  Returns the gpa of the leaf gpte.
 */
static inline uint64_t gt_map(struct gt *g, uint64_t linear, uint64_t gpa, int leaf_level,
			      uint64_t flags, uint64_t dirflags)
{
	bool pae = g->gm != GM_32;
	int level = g->gm == GM_64 ? 4 : 2;
	uint64_t table = g->mode.cr3 & ~0xfffull;

	if (g->gm == GM_PAE) {
		uint64_t *pdpte = (uint64_t *)gt_hva(g, (g->mode.cr3 & ~31ull) + 8 * ((linear >> 30) & 3));
		if (!(*pdpte & P))
			*pdpte = gt_alloc(g) | P;
		table = *pdpte & 0x000ffffffffff000ull;
	}
	for (;; level--) {
		unsigned idx = pae ? (linear >> (12 + 9 * (level - 1))) & 511
				   : (linear >> (12 + 10 * (level - 1))) & 1023;
		uint64_t egpa = table + idx * (pae ? 8 : 4);
		uint64_t e = gt_read_gpte(g, egpa);
		if (level == leaf_level) {
			gt_write_gpte(g, egpa, gpa | flags | (level > 1 ? PS : 0));
			return egpa;
		}
		if (!(e & P)) {
			e = gt_alloc(g) | dirflags;
			gt_write_gpte(g, egpa, e);
		}
		table = pae ? e & 0x000ffffffffff000ull : e & 0xfffff000u;
	}
}

/* Gpa of the guest table (level @level) on the path of @linear. */
static inline uint64_t gt_table(struct gt *g, uint64_t linear, int level)
{
	bool pae = g->gm != GM_32;
	int l = g->gm == GM_64 ? 4 : 2;
	uint64_t table = g->mode.cr3 & ~0xfffull;

	if (g->gm == GM_PAE)
		table = *(uint64_t *)gt_hva(g, (g->mode.cr3 & ~31ull) + 8 * ((linear >> 30) & 3)) &
			0x000ffffffffff000ull;
	for (; l > level; l--) {
		unsigned idx = pae ? (linear >> (12 + 9 * (l - 1))) & 511
				   : (linear >> (12 + 10 * (l - 1))) & 1023;
		uint64_t e = gt_read_gpte(g, table + idx * (pae ? 8 : 4));
		table = pae ? e & 0x000ffffffffff000ull : e & 0xfffff000u;
	}
	return table;
}

static inline struct shadow_result gt_xl(struct gt *g, uint64_t linear, unsigned access)
{
	struct shadow_result r;
	memset(&r, 0, sizeof(r));
	shadow__translate(&g->mmu, &g->mode, linear, access, &r);
	return r;
}

/* The leaf spte the MMU holds for @linear (0 if none); @level and @sp out. */
static inline uint64_t gt_spte(struct gt *g, uint64_t linear, int *level, struct shadow_page **sp)
{
	struct shadow_mmu *m = &g->mmu;
	uint64_t *sptep;
	int l;

	if (m->root_kind == SHADOW_ROOT_PAE) {
		sptep = &m->pae_root[(linear >> 30) & 3];
		l = 3;
	} else {
		sptep = &m->root_spte;
		l = 5;
	}
	if (sp)
		*sp = NULL;
	while (*sptep & SPTE_NONLEAF) {
		struct shadow_page *s = spte_to_sp(*sptep);
		l--;
		if (sp)
			*sp = s;
		sptep = &s->spt[(linear >> (12 + 9 * (l - 1))) & 511];
	}
	if (level)
		*level = l;
	return *sptep;
}

static inline struct shadow_stats gt_stats(struct gt *g)
{
	struct shadow_stats st;
	shadow__get_stats(&g->mmu, &st);
	return st;
}

#define assert_ram(r, want_gpa) do { \
	assert_int_equal((r).kind, SHADOW_RAM); \
	assert_int_equal((r).gpa, (want_gpa)); \
	assert_ptr_equal((r).hva, mem__gpa_to_hva(&g->mem, (want_gpa), 1)); \
} while (0)

#define assert_fault(r, code) do { \
	assert_int_equal((r).kind, SHADOW_FAULT); \
	assert_int_equal((r).error_code, (code)); \
} while (0)

#endif
