/*
 * Shadow MMU coherence: write-protected guest page tables, unsync + INVLPG /
 * CR3 reload, zapping non-leaf shadows, disallow_lpage, MMIO generation,
 * the front TLB and global pages.
 */
#include "test_shadow_helpers.h"

#include <pthread.h>

/* Write through the guest mapping @lin_of_table, as the guest would. */
static void guest_write64(struct gt *g, uint64_t lin, uint64_t val)
{
	struct shadow_result r = gt_xl(g, lin, WR);
	assert_int_equal(r.kind, SHADOW_RAM);
	*(uint64_t *)r.hva = val;
}

static void unsync_leaf_then_invlpg(void **state)
{
	struct gt *g = gt_new(GM_64);
	const uint64_t va = 0x600000, ptwin = 0x700000;
	struct shadow_result r;
	struct shadow_page *sp;
	(void)state;

	uint64_t pte = gt_map(g, va, 0x800000, 1, P | RW, P | RW);
	uint64_t pt = gt_table(g, va, 1);
	gt_map(g, ptwin, pt, 1, P | RW, P | RW);	/* the guest's window on its PT */
	r = gt_xl(g, va, RD);
	assert_ram(r, 0x800000);
	gt_spte(g, va, NULL, &sp);
	assert_false(sp->unsync);
	/* The PT is now shadowed: its gfn is write protected. */
	assert_true(shadow_gfn_write_protected(&g->svm, pt >> 12));
	uint64_t before = gt_stats(g).unsyncs;
	/* Writing a leaf page table unsyncs its shadow page instead of zapping it. */
	guest_write64(g, ptwin + (pte & 0xfff), 0x805000 | P | RW);
	assert_int_equal(gt_stats(g).unsyncs, before + 1);
	assert_true(sp->unsync);
	assert_false(shadow_gfn_write_protected(&g->svm, pt >> 12));
	/* Like a real TLB, the old translation may live on until INVLPG... */
	r = gt_xl(g, va, RD);
	assert_ram(r, 0x800000);
	shadow__invlpg(&g->mmu, va);
	r = gt_xl(g, va, RD);
	assert_ram(r, 0x805000);

	/* ...or until a CR3 reload, which syncs and re-protects the table. */
	guest_write64(g, ptwin + (pte & 0xfff), 0x806000 | P | RW);
	assert_true(sp->unsync);
	shadow__flush(&g->mmu, false);
	assert_false(sp->unsync);
	assert_true(shadow_gfn_write_protected(&g->svm, pt >> 12));
	r = gt_xl(g, va, RD);
	assert_ram(r, 0x806000);
	/* a window write after the sync unsyncs again (it faults through) */
	before = gt_stats(g).unsyncs;
	guest_write64(g, ptwin + (pte & 0xfff), 0x807000 | P | RW);
	assert_int_equal(gt_stats(g).unsyncs, before + 1);
	/* a changed CR3 value is noticed without a flush call */
	uint64_t cr3 = g->mode.cr3;
	g->mode.cr3 = gt_alloc(g);
	memcpy(gt_hva(g, g->mode.cr3), gt_hva(g, cr3), 4096);
	r = gt_xl(g, va, RD);
	assert_ram(r, 0x807000);
	assert_false(sp->unsync);
	gt_free(g);
}

/*
 * Two vCPUs share the shadow pages: B's write unsyncs a page table while A's
 * roots wait for a reload after a flush; A's INVLPG must still drop the stale
 * spte, and B's TLB must not keep a write entry for a page that A turned into
 * a page table.
 */
static void two_vcpus_share_shadow(void **state)
{
	struct gt *g = gt_new(GM_64);
	const uint64_t va = 0x600000, ptwin = 0x700000;
	struct shadow_mmu b;
	struct shadow_result r;
	(void)state;

	shadow__init(&b, &g->svm);
	uint64_t pte = gt_map(g, va, 0x800000, 1, P | RW, P | RW);
	gt_map(g, ptwin, gt_table(g, va, 1), 1, P | RW, P | RW);
	r = gt_xl(g, va, RD);
	assert_ram(r, 0x800000);
	shadow__flush(&g->mmu, false);		/* A: roots reload on next use */
	assert_int_equal(shadow__translate(&b, &g->mode, ptwin + (pte & 0xfff), WR, &r), SHADOW_RAM);
	*(uint64_t *)r.hva = 0x805000 | P | RW;	/* B rewrites A's PTE */
	shadow__invlpg(&g->mmu, va);		/* A's INVLPG, no access in between */
	r = gt_xl(g, va, RD);
	assert_ram(r, 0x805000);

	/* B has a writable TLB entry for page X; A makes X a page table. */
	uint64_t x = gt_alloc(g);
	gt_map(g, 0x900000, x, 1, P | RW | D, P | RW);
	assert_int_equal(shadow__translate(&b, &g->mode, 0x900000, WR, &r), SHADOW_RAM);
	assert_int_equal(shadow__translate(&b, &g->mode, 0x900000, WR, &r), SHADOW_RAM);
	assert_int_equal(b.tlb_hits, 1);
	*(uint64_t *)gt_hva(g, x) = 0xb00000 | P | RW;
	*(uint64_t *)gt_hva(g, gt_table(g, va, 2) + 8 * 5) = x | P | RW;	/* PD[5] -> X */
	r = gt_xl(g, 0xa00000, RD);		/* A shadows X */
	assert_ram(r, 0xb00000);
	uint64_t unsyncs = gt_stats(g).unsyncs;
	assert_int_equal(shadow__translate(&b, &g->mode, 0x900000, WR, &r), SHADOW_RAM);
	assert_int_equal(b.tlb_hits, 1);		/* remote flush: B missed */
	assert_int_equal(gt_stats(g).unsyncs, unsyncs + 1);
	shadow__exit(&b);
	gt_free(g);
}

static void sync_drops_cleared_accessed_and_dirty(void **state)
{
	struct gt *g = gt_new(GM_64);
	const uint64_t va = 0x600000, ptwin = 0x700000;
	struct shadow_result r;
	(void)state;

	uint64_t pte = gt_map(g, va, 0x800000, 1, P | RW, P | RW);
	gt_map(g, ptwin, gt_table(g, va, 1), 1, P | RW, P | RW);
	r = gt_xl(g, va, WR);
	assert_true(gt_read_gpte(g, pte) & D);
	/* guest clears D (page written back), then INVLPG */
	guest_write64(g, ptwin + (pte & 0xfff), 0x800000 | P | RW | A);
	shadow__flush(&g->mmu, false);
	assert_false(gt_spte(g, va, NULL, NULL) & SPTE_W);
	r = gt_xl(g, va, WR);
	assert_ram(r, 0x800000);
	assert_true(gt_read_gpte(g, pte) & D);	/* the next write sets it again */
	gt_free(g);
}

static void nonleaf_write_zaps(void **state)
{
	struct gt *g = gt_new(GM_64);
	const uint64_t va = 0x600000, pdwin = 0x700000;
	struct shadow_result r;
	(void)state;

	gt_map(g, va, 0x800000, 1, P | RW, P | RW);
	uint64_t pd = gt_table(g, va, 2);
	gt_map(g, pdwin, pd, 1, P | RW, P | RW);
	r = gt_xl(g, va, RD);
	assert_ram(r, 0x800000);
	struct shadow_stats st = gt_stats(g);
	/* PD entry for va: replace the PT by a 2 MiB page at 10 MiB. */
	guest_write64(g, pdwin + 8 * ((va >> 21) & 511), 0xa00000 | P | RW | PS);
	assert_int_equal(gt_stats(g).unprotects, st.unprotects + 1);
	assert_true(gt_stats(g).zaps > st.zaps);
	assert_int_equal(gt_stats(g).unsyncs, st.unsyncs);	/* level 2 cannot go unsync */
	/* The shadow of the PD is gone, so the new entry is seen at once. */
	r = gt_xl(g, va + 0x1234, RD);
	assert_ram(r, 0xa01234);
	gt_free(g);
}

static void root_write_reloads(void **state)
{
	struct gt *g = gt_new(GM_64);
	const uint64_t win = 0x700000;
	struct shadow_result r;
	(void)state;

	gt_map(g, 0x600000, 0x800000, 1, P | RW, P | RW);
	gt_map(g, win, g->mode.cr3, 1, P | RW, P | RW);
	r = gt_xl(g, 0x600000, RD);
	struct shadow_page *old_root = spte_to_sp(g->mmu.root_spte);
	/* The guest writes its PML4: the root is zapped, marked invalid while pinned. */
	uint64_t pml4e = *(uint64_t *)gt_hva(g, g->mode.cr3);
	uint64_t loaded = gt_stats(g).roots_loaded;
	guest_write64(g, win + 8, pml4e);	/* PML4[1] = PML4[0]: 512 GiB alias */
	assert_true(old_root->role.invalid);	/* pinned until this vCPU reloads */
	r = gt_xl(g, 0x8000600000ull, RD);
	assert_int_equal(gt_stats(g).roots_loaded, loaded + 1);
	assert_int_equal(spte_to_sp(g->mmu.root_spte)->gfn, g->mode.cr3 >> 12);
	assert_ram(r, 0x800000);
	r = gt_xl(g, 0x600000, RD);
	assert_ram(r, 0x800000);
	gt_free(g);
}

/*
 * PAE: the PDs named by the PDPTEs are shadow roots, reloaded from the
 * cached PDPTRs right after being unshadowed.  A guest write to one (here
 * the PD of GiB 1, written through a window in GiB 0) must still complete.
 */
static void pae_root_pd_write(void **state)
{
	struct gt *g = gt_new(GM_PAE);
	struct shadow_result r;
	(void)state;

	gt_map(g, 0x40001000, 0x801000, 1, P | RW, P | RW);
	uint64_t pd1 = gt_table(g, 0x40001000, 2);
	gt_map(g, 0x00700000, pd1, 1, P | RW, P | RW);
	r = gt_xl(g, 0x40001000, RD);
	assert_ram(r, 0x801000);
	assert_int_equal(spte_to_sp(g->mmu.pae_root[1])->gfn, pd1 >> 12);
	/* PD1[1] = a 2 MiB page at 10 MiB, written by the guest */
	r = gt_xl(g, 0x00700000 + 8, WR);
	assert_ram(r, pd1 + 8);
	*(uint64_t *)r.hva = 0xa00000 | P | RW | PS;
	r = gt_xl(g, 0x40212345, RD);
	assert_ram(r, 0xa12345);
	r = gt_xl(g, 0x40001000, RD);
	assert_ram(r, 0x801000);
	gt_free(g);
}

static void write_protect_revokes_old_writable_mapping(void **state)
{
	struct gt *g = gt_new(GM_64);
	struct shadow_result r;
	(void)state;

	/* 0x700000 maps page X writably before X becomes a page table. */
	uint64_t x = gt_alloc(g);
	gt_map(g, 0x700000, x, 1, P | RW, P | RW);
	r = gt_xl(g, 0x700000, WR);
	assert_ram(r, x);
	assert_true(gt_spte(g, 0x700000, NULL, NULL) & SPTE_W);
	r = gt_xl(g, 0x700000, WR);		/* front TLB hit */
	/* Now X becomes the PT of 0x40000000 (the guest links it in). */
	uint64_t pd = gt_table(g, 0x700000, 2);
	((uint64_t *)gt_hva(g, x))[0] = 0x900000 | P | RW;
	gt_map(g, 0x40000000, 0, 2, 0, P | RW);	/* makes the path down to the PD */
	*(uint64_t *)gt_hva(g, gt_table(g, 0x40000000, 2)) = x | P | RW;
	(void)pd;
	r = gt_xl(g, 0x40000000, RD);
	assert_ram(r, 0x900000);
	/* X's old writable spte lost W, and the TLB entry is gone. */
	assert_false(gt_spte(g, 0x700000, NULL, NULL) & SPTE_W);
	uint64_t unsyncs = gt_stats(g).unsyncs;
	r = gt_xl(g, 0x700000, WR);
	assert_ram(r, x);
	assert_int_equal(gt_stats(g).unsyncs, unsyncs + 1);
	gt_free(g);
}

static void lpage_refused_over_page_table(void **state)
{
	struct gt *g = gt_new(GM_64);
	struct shadow_result r;
	int level;
	(void)state;

	/* 2 MiB guest page at 1 MiB..: the page tables (allocated from 1 MiB) live in it. */
	gt_map(g, 0x600000, 0x800000, 1, P | RW, P | RW);
	r = gt_xl(g, 0x600000, RD);	/* shadows tables in the 0-2 MiB frame */
	gt_map(g, 0x40000000, 0, 2, P | RW, P | RW);
	uint64_t refused = gt_stats(g).lpage_refused;
	r = gt_xl(g, 0x40005000, WR);
	assert_ram(r, 0x5000);
	assert_false(gt_spte(g, 0x40005000, &level, NULL) & SPTE_LARGE);
	assert_int_equal(level, 1);
	assert_int_equal(gt_stats(g).lpage_refused, refused + 1);
	/* a 2 MiB page with no page table in it gets a large spte */
	gt_map(g, 0x40200000, 0xc00000, 2, P | RW, P | RW);
	r = gt_xl(g, 0x40200000, WR);
	assert_true(gt_spte(g, 0x40200000, &level, NULL) & SPTE_LARGE);
	/* ... until a page table appears inside: the large spte is dropped */
	uint64_t pt_in_big = 0xc10000;
	memset(gt_hva(g, pt_in_big), 0, 4096);
	*(uint64_t *)gt_hva(g, pt_in_big) = 0x900000 | P | RW;
	*(uint64_t *)gt_hva(g, gt_table(g, 0x600000, 2) + 8 * 4) = pt_in_big | P | RW;
	r = gt_xl(g, 0x800000, RD);	/* PD[4] -> PT at 0xc10000 */
	assert_ram(r, 0x900000);
	assert_int_equal(gt_spte(g, 0x40200000, NULL, NULL), 0);
	r = gt_xl(g, 0x40200000, RD);
	assert_ram(r, 0xc00000);
	assert_false(gt_spte(g, 0x40200000, &level, NULL) & SPTE_LARGE);
	/* the page-table page seen through the big page */
	r = gt_xl(g, 0x40210000, RD);
	assert_ram(r, 0xc10000);
	/* KVM make_spte: a writable mapping of a leaf table unsyncs its shadow */
	struct shadow_page *ptsp;
	gt_spte(g, 0x800000, NULL, &ptsp);
	assert_int_equal(ptsp->gfn, pt_in_big >> 12);
	assert_true(gt_spte(g, 0x40210000, NULL, NULL) & SPTE_W);
	assert_true(ptsp->unsync);
	gt_free(g);
}

static void mmio_generation(void **state)
{
	struct gt *g = gt_new(GM_64);
	struct shadow_result r;
	(void)state;

	gt_map(g, 0x700000, MMIO_VIRTIO_BASE, 1, P | RW, P | RW);
	r = gt_xl(g, 0x700008, RD);
	assert_int_equal(r.kind, SHADOW_MMIO);
	assert_int_equal(r.gpa, MMIO_VIRTIO_BASE + 8);
	uint64_t spte = gt_spte(g, 0x700000, NULL, NULL);
	assert_true(spte & SPTE_MMIO);
	assert_int_equal((spte >> SPTE_GEN_SHIFT) & SPTE_GEN_MASK, g->mem.generation & SPTE_GEN_MASK);
	/* the spte alone answers the next access */
	uint64_t faults = gt_stats(g).faults;
	r = gt_xl(g, 0x700010, RD);
	assert_int_equal(r.kind, SHADOW_MMIO);
	assert_int_equal(gt_stats(g).faults, faults);
	/* memslot change: the cached MMIO spte is stale and rebuilt */
	g->mem.generation++;
	r = gt_xl(g, 0x700010, RD);
	assert_int_equal(r.kind, SHADOW_MMIO);
	assert_int_equal(gt_stats(g).mmio_gen_stale, 1);
	assert_int_equal(gt_stats(g).faults, faults + 1);
	spte = gt_spte(g, 0x700000, NULL, NULL);
	assert_int_equal((spte >> SPTE_GEN_SHIFT) & SPTE_GEN_MASK, g->mem.generation & SPTE_GEN_MASK);
	/* a wrap of the stored generation bits zaps everything */
	uint64_t zap_alls = gt_stats(g).zap_alls;
	g->mem.generation += SPTE_GEN_MASK + 1;
	r = gt_xl(g, 0x700010, RD);
	assert_int_equal(r.kind, SHADOW_MMIO);
	assert_int_equal(gt_stats(g).zap_alls, zap_alls + 1);
	gt_free(g);
}

static void front_tlb(void **state)
{
	struct gt *g = gt_new(GM_64);
	struct shadow_result r;
	(void)state;

	g->mode.cr4 |= CR4_PGE;
	gt_map(g, 0x600000, 0x800000, 1, P | RW, P | RW);
	gt_map(g, 0x601000, 0x801000, 1, P | RW | G, P | RW);
	r = gt_xl(g, 0x600000, RD);
	r = gt_xl(g, 0x601000, RD);
	uint64_t hits = gt_stats(g).tlb_hits;
	r = gt_xl(g, 0x600008, RD);
	assert_ram(r, 0x800008);
	r = gt_xl(g, 0x601008, RD);
	assert_ram(r, 0x801008);
	assert_int_equal(gt_stats(g).tlb_hits, hits + 2);
	/* a write is a different kind: a miss, then hits */
	r = gt_xl(g, 0x600000, WR);
	r = gt_xl(g, 0x600000, WR);
	assert_int_equal(gt_stats(g).tlb_hits, hits + 3);
	/* so is a user access */
	r = gt_xl(g, 0x600000, RD | USR);
	assert_fault(r, SHADOW_PFERR_P | SHADOW_PFERR_U);
	/* INVLPG drops the entry */
	hits = gt_stats(g).tlb_hits;
	shadow__invlpg(&g->mmu, 0x600000);
	r = gt_xl(g, 0x600000, RD);
	assert_ram(r, 0x800000);
	assert_int_equal(gt_stats(g).tlb_hits, hits);
	/* non-global flush keeps the global page's entry, not the other */
	r = gt_xl(g, 0x601000, RD);
	hits = gt_stats(g).tlb_hits;
	shadow__flush(&g->mmu, false);
	r = gt_xl(g, 0x601000, RD);
	assert_int_equal(gt_stats(g).tlb_hits, hits + 1);
	r = gt_xl(g, 0x600000, RD);
	assert_int_equal(gt_stats(g).tlb_hits, hits + 1);
	/* a global flush drops both */
	shadow__flush(&g->mmu, true);
	r = gt_xl(g, 0x601000, RD);
	assert_int_equal(gt_stats(g).tlb_hits, hits + 1);
	/* a paging-mode change is noticed without any flush call */
	r = gt_xl(g, 0x600000, RD);
	g->mode.cr0 &= ~CR0_PG;
	r = gt_xl(g, 0x600000, RD);
	assert_ram(r, 0x600000);
	gt_free(g);
}

static void explain_output(void **state)
{
	struct gt *g = gt_new(GM_64);
	char *buf = NULL;
	size_t len = 0;
	(void)state;

	gt_map(g, 0x600000, 0x800000, 1, P | RW | US, P | RW | US);
	gt_xl(g, 0x600000, RD);
	FILE *f = open_memstream(&buf, &len);
	shadow__explain(&g->mmu, &g->mode, 0x600123, f);
	fclose(f);
	assert_non_null(strstr(buf, "leaf level 1 gpa 0x800123"));
	assert_non_null(strstr(buf, "role{level 1 indirect"));
	assert_non_null(strstr(buf, "spte "));
	free(buf);
	gt_free(g);
}

static void many_page_tables_stay_bounded(void **state)
{
	struct gt *g = gt_new(GM_64);
	struct shadow_result r;
	(void)state;

	g->svm.max_pages = 64;
	for (uint64_t i = 0; i < 200; i++) {
		uint64_t va = 0x40000000ull + i * 0x200000;
		gt_map(g, va, 0x800000 + (i % 16) * 0x1000, 1, P | RW, P | RW);
		r = gt_xl(g, va, RD);
		assert_ram(r, 0x800000 + (i % 16) * 0x1000);
		assert_true(g->svm.nr_pages <= 64);
	}
	assert_true(gt_stats(g).zap_alls > 0);
	gt_free(g);
}

/* Two vCPU threads on one shadow_vm: one remaps pages through its window while both translate. */
struct stress {
	struct gt *g;
	struct shadow_mmu mmu;
	uint64_t pte[64];
	bool writer;
	int bad;
};

#define STRESS_VA(i)	(0x40000000ull + (uint64_t)(i) * 0x1000)
#define STRESS_DATA(i, alt) (0x800000ull + (uint64_t)(i) * 0x2000 + ((alt) ? 0x1000 : 0))
#define STRESS_WIN	0x700000ull

static void *stress_thread(void *arg)
{
	struct stress *t = arg;
	struct shadow_result r;
	unsigned seed = t->writer ? 1 : 2;

	for (int n = 0; n < 20000; n++) {
		unsigned i = rand_r(&seed) % 64;
		if (t->writer && n % 7 == 0) {
			shadow__translate(&t->mmu, &t->g->mode, STRESS_WIN + (t->pte[i] & 0xfff), WR, &r);
			if (r.kind != SHADOW_RAM) {
				t->bad++;
				continue;
			}
			uint64_t old = __atomic_load_n((uint64_t *)r.hva, __ATOMIC_RELAXED);
			uint64_t alt = (old & 0xfffff000u) == STRESS_DATA(i, 0);
			__atomic_store_n((uint64_t *)r.hva, STRESS_DATA(i, alt) | P | RW, __ATOMIC_RELEASE);
			shadow__invlpg(&t->mmu, STRESS_VA(i));
			continue;
		}
		shadow__translate(&t->mmu, &t->g->mode, STRESS_VA(i) + 8, (n & 1) ? WR : RD, &r);
		if (r.kind != SHADOW_RAM ||
		    (r.gpa != STRESS_DATA(i, 0) + 8 && r.gpa != STRESS_DATA(i, 1) + 8))
			t->bad++;
	}
	return NULL;
}

static void two_threads_stress(void **state)
{
	struct gt *g = gt_new(GM_64);
	struct stress t[2];
	pthread_t th[2];
	struct shadow_result r;
	(void)state;

	memset(t, 0, sizeof(t));
	for (int i = 0; i < 64; i++)
		t[0].pte[i] = gt_map(g, STRESS_VA(i), STRESS_DATA(i, 0), 1, P | RW, P | RW);
	gt_map(g, STRESS_WIN, gt_table(g, STRESS_VA(0), 1), 1, P | RW, P | RW);
	memcpy(t[1].pte, t[0].pte, sizeof(t[0].pte));
	for (int k = 0; k < 2; k++) {
		t[k].g = g;
		t[k].writer = k == 0;
		shadow__init(&t[k].mmu, &g->svm);
		assert_int_equal(pthread_create(&th[k], NULL, stress_thread, &t[k]), 0);
	}
	for (int k = 0; k < 2; k++)
		pthread_join(th[k], NULL);
	assert_int_equal(t[0].bad + t[1].bad, 0);
	/* after a flush on each vCPU, both see exactly what the table says */
	for (int k = 0; k < 2; k++) {
		shadow__flush(&t[k].mmu, true);
		for (int i = 0; i < 64; i++) {
			uint64_t want = gt_read_gpte(g, t[0].pte[i]) & 0xfffff000u;
			shadow__translate(&t[k].mmu, &g->mode, STRESS_VA(i), RD, &r);
			assert_int_equal(r.gpa, want);
		}
		shadow__exit(&t[k].mmu);
	}
	assert_true(gt_stats(g).unsyncs > 0);
	gt_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(unsync_leaf_then_invlpg),
		cmocka_unit_test(two_vcpus_share_shadow),
		cmocka_unit_test(sync_drops_cleared_accessed_and_dirty),
		cmocka_unit_test(nonleaf_write_zaps),
		cmocka_unit_test(root_write_reloads),
		cmocka_unit_test(pae_root_pd_write),
		cmocka_unit_test(write_protect_revokes_old_writable_mapping),
		cmocka_unit_test(lpage_refused_over_page_table),
		cmocka_unit_test(mmio_generation),
		cmocka_unit_test(front_tlb),
		cmocka_unit_test(explain_output),
		cmocka_unit_test(many_page_tables_stay_bounded),
		cmocka_unit_test(two_threads_stress),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
