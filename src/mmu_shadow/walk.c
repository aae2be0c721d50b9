/*
 * The guest page-table walker (KVM paging_tmpl.h walk_addr_generic): 2-level
 * 32-bit with PSE/PSE-36, 3-level PAE with PDPTRs cached at CR3 load, and
 * 4-level; reserved-bit checks, permissions, the #PF error code, and the
 * accessed/dirty updates the CPU does.
 */
#include "shadow.h"

#include <string.h>

#include "../util/util.h"

#define CR0_PG		(1ull << 31)
#define CR0_WP		(1ull << 16)
#define CR4_PSE		(1ull << 4)
#define CR4_PAE		(1ull << 5)
#define CR4_PGE		(1ull << 7)
#define CR4_SMEP	(1ull << 20)
#define EFER_LMA	(1ull << 10)
#define EFER_NXE	(1ull << 11)

#define PT_PRESENT	(1ull << 0)
#define PT_WRITABLE	(1ull << 1)
#define PT_USER		(1ull << 2)
#define PT_ACCESSED	(1ull << 5)
#define PT_DIRTY	(1ull << 6)
#define PT_PS		(1ull << 7)
#define PT_GLOBAL	(1ull << 8)
#define PT_NX		(1ull << 63)
#define PT64_FRAME	0x000ffffffffff000ull


static uint64_t rsvd_bits(int s, int e)
{
	return e < s ? 0 : (2ull << e) - (1ull << s);	/* e == 63 wraps as wanted */
}

bool shadow_mode_nx(const struct shadow_mode *m)
{
	/* 32-bit paging has no XD bit; NXE only matters with PAE-format entries. */
	return (m->efer & EFER_NXE) && (m->cr4 & CR4_PAE);
}

uint64_t shadow_gpte_rsvd(const struct shadow_vm *svm, const struct shadow_mode *m,
			  uint64_t gpte, int level, bool pae_fmt)
{
	unsigned maxpa = svm->maxphyaddr;
	bool ps = gpte & PT_PS;
	uint64_t r;

	if (!pae_fmt) {
		/* PSE-36: PDE bits 13.. carry physical bits 32..MAXPHYADDR-1 (at most 40). */
		if (level == 2 && ps && (m->cr4 & CR4_PSE))
			return gpte & rsvd_bits(13 + (MIN(maxpa, 40u) - 32), 21);
		return 0;
	}
	r = rsvd_bits(maxpa, 51);
	if (!shadow_mode_nx(m))
		r |= PT_NX;
	switch (level) {
	case 4:
		r |= PT_PS;
		break;
	case 3:
		if (ps)
			r |= svm->gbpages ? rsvd_bits(13, 29) : PT_PS;
		break;
	case 2:
		if (ps)
			r |= rsvd_bits(13, 20);
		break;
	}
	return gpte & r;
}

unsigned shadow_gpte_access(const struct shadow_mode *m, uint64_t gpte, bool pae_fmt)
{
	unsigned acc = SHADOW_ACC_X_MASK;

	if (gpte & PT_WRITABLE)
		acc |= SHADOW_ACC_W_MASK;
	if (gpte & PT_USER)
		acc |= SHADOW_ACC_U_MASK;
	if (pae_fmt && shadow_mode_nx(m) && (gpte & PT_NX))
		acc &= ~SHADOW_ACC_X_MASK;
	return acc;
}

/* Set @bits in a gpte unless it changed under us (another vCPU): false = retry. */
static bool gpte_set_bits(void *p, bool pae_fmt, uint64_t old, uint64_t bits)
{
	if (pae_fmt)
		return __atomic_compare_exchange_n((uint64_t *)p, &old, old | bits, false,
						   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	uint32_t o32 = (uint32_t)old;
	return __atomic_compare_exchange_n((uint32_t *)p, &o32, o32 | (uint32_t)bits, false,
					   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

static uint64_t leaf_base_gfn(const struct shadow_walker *w, uint64_t gpte, bool pae_fmt,
			      uint64_t linear)
{
	if (w->level == 1)
		return ((pae_fmt ? gpte & PT64_FRAME : gpte & 0xfffff000u) >> 12);
	if (!pae_fmt) {
		uint64_t pa = (gpte & 0xffc00000u) | (((gpte >> 13) & 0xff) << 32);
		return (pa >> 12) + ((linear >> 12) & 1023);
	}
	if (w->level == 2)
		return ((gpte & 0x000fffffffe00000ull) >> 12) + ((linear >> 12) & 511);
	return ((gpte & 0x000fffffc0000000ull) >> 12) + ((linear >> 12) & 0x3ffff);
}

int shadow_walk(struct shadow_vm *svm, const struct shadow_mmu *mmu, const struct shadow_mode *m,
		uint64_t linear, unsigned access, struct shadow_walker *w)
{
	const bool pae_fmt = m->cr4 & CR4_PAE, lma = m->efer & EFER_LMA;
	const bool user = access & SHADOW_ACC_USER, write = access & SHADOW_ACC_WRITE;
	const bool fetch = access & SHADOW_ACC_FETCH, peek = access & SHADOW_WALK_PEEK;
	uint8_t *ptep[6];
	uint32_t errcode = 0;
	int tries = 0;

retry:
	memset(w, 0, sizeof(*w));
	memset(ptep, 0, sizeof(ptep));
	unsigned acc = SHADOW_ACC_ALL;
	uint64_t table, gpte = 0;
	int level;

	if (!pae_fmt) {
		level = 2;
		table = m->cr3 & 0xfffff000u;
	} else if (lma) {
		level = 4;
		table = m->cr3 & PT64_FRAME & (rsvd_bits(0, svm->maxphyaddr - 1));
	} else {
		/* PAE: the PDPTEs the CPU loaded at MOV CR3 (mmu->pdptr). */
		gpte = mmu->pdptr[(linear >> 30) & 3];
		w->pte[3] = gpte;
		w->pt_access[3] = SHADOW_ACC_ALL;
		if (!(gpte & PT_PRESENT))
			goto fault;
		if (gpte & (0x1e6ull | rsvd_bits(svm->maxphyaddr, 63))) {
			errcode = SHADOW_PFERR_P | SHADOW_PFERR_RSVD;
			goto fault;
		}
		level = 2;
		table = gpte & PT64_FRAME;
	}
	w->root_level = pae_fmt && !lma ? 3 : level;

	for (;; level--) {
		unsigned idx = pae_fmt ? (linear >> (12 + 9 * (level - 1))) & 511
				       : (linear >> (12 + 10 * (level - 1))) & 1023;
		uint8_t *t = shadow_gfn_to_hva(svm, table >> 12);

		w->table_gfn[level] = table >> 12;
		if (t) {
			ptep[level] = t + idx * (pae_fmt ? 8 : 4);
			gpte = pae_fmt ? __atomic_load_n((uint64_t *)ptep[level], __ATOMIC_ACQUIRE)
				       : __atomic_load_n((uint32_t *)ptep[level], __ATOMIC_ACQUIRE);
		} else {
			gpte = pae_fmt ? ~0ull : 0xffffffffu;	/* open bus: reads as ones */
		}
		w->pte[level] = gpte;
		if (!(gpte & PT_PRESENT))
			goto fault;
		if (shadow_gpte_rsvd(svm, m, gpte, level, pae_fmt)) {
			errcode = SHADOW_PFERR_P | SHADOW_PFERR_RSVD;
			goto fault;
		}
		acc &= shadow_gpte_access(m, gpte, pae_fmt);
		w->pt_access[level] = acc;
		if (level == 1 || ((gpte & PT_PS) && level == 2 && (pae_fmt || (m->cr4 & CR4_PSE))) ||
		    ((gpte & PT_PS) && level == 3 && lma))
			break;
		table = pae_fmt ? gpte & PT64_FRAME : gpte & 0xfffff000u;
	}
	w->level = level;
	w->gfn = leaf_base_gfn(w, gpte, pae_fmt, linear);
	w->global = gpte & PT_GLOBAL;
	if (peek) {
		w->pte_access = acc;
		return 0;
	}

	/* permission_fault(): U/S, R/W with CR0.WP, execute, and SMEP. */
	if ((user && !(acc & SHADOW_ACC_U_MASK)) ||
	    (write && !(acc & SHADOW_ACC_W_MASK) && (user || (m->cr0 & CR0_WP))) ||
	    (fetch && !(acc & SHADOW_ACC_X_MASK)) ||
	    (fetch && !user && (m->cr4 & CR4_SMEP) && (acc & SHADOW_ACC_U_MASK))) {
		errcode = SHADOW_PFERR_P;
		goto fault;
	}

	/* Accessed on every level used, dirty on the leaf for writes (only on success, as KVM). */
	for (int l = w->root_level; l >= w->level; l--) {
		uint64_t bits = PT_ACCESSED;
		if (l == w->level && write)
			bits |= PT_DIRTY;
		if (!ptep[l] || (w->pte[l] & bits) == bits)
			continue;
		if (!gpte_set_bits(ptep[l], pae_fmt, w->pte[l], bits)) {
			if (++tries < 16)
				goto retry;
		}
		w->pte[l] |= bits;
	}
	/* protect_clean_gpte: a clean page is mapped read-only until written. */
	if (!write && !(w->pte[w->level] & PT_DIRTY))
		acc &= ~SHADOW_ACC_W_MASK;
	w->pte_access = acc;
	return 0;

fault:
	if (write)
		errcode |= SHADOW_PFERR_W;
	if (user)
		errcode |= SHADOW_PFERR_U;
	if (fetch && (shadow_mode_nx(m) || (m->cr4 & CR4_SMEP)))
		errcode |= SHADOW_PFERR_I;
	w->error_code = errcode;
	return -1;
}
