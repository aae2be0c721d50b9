/*
 * Translation: front TLB, shadow walk, page fault (guest walk + shadow
 * fix-up, KVM FNAME(page_fault)/FNAME(fetch)), roots per CR3, INVLPG and TLB
 * flushes, and the --trace explanation of one address.
 */
#include "shadow.h"

#include <errno.h>
#include <inttypes.h>
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

enum { TLB_READ, TLB_WRITE, TLB_FETCH };

static unsigned tlb_kind(unsigned access)
{
	return (access & SHADOW_ACC_FETCH) ? TLB_FETCH : (access & SHADOW_ACC_WRITE) ? TLB_WRITE
										: TLB_READ;
}

static void tlb_flush(struct shadow_mmu *mmu, bool global)
{
	/* Epochs make a flush O(1); a wrap clears the array so no old entry aliases. */
	if (++mmu->tlb_epoch == 0 || (global && ++mmu->tlb_gepoch == 0)) {
		memset(mmu->tlb, 0, sizeof(mmu->tlb));
		mmu->tlb_epoch = mmu->tlb_gepoch = 1;
	}
}

static struct shadow_tlb_entry *tlb_entry(struct shadow_mmu *mmu, uint64_t linear, unsigned access)
{
	return &mmu->tlb[tlb_kind(access)][!!(access & SHADOW_ACC_USER)]
			[(linear >> 12) & (SHADOW_TLB_SIZE - 1)];
}

void shadow__init(struct shadow_mmu *mmu, struct shadow_vm *svm)
{
	memset(mmu, 0, sizeof(*mmu));
	mmu->vm = svm;
	mmu->tlb_epoch = mmu->tlb_gepoch = 1;
	mmu->tlb_gen_seen = __atomic_load_n(&svm->tlb_gen, __ATOMIC_ACQUIRE);
}

/* ---- roots ------------------------------------------------------------------ */

static void put_roots(struct shadow_mmu *mmu)
{
	struct shadow_vm *svm = mmu->vm;

	if (mmu->root_spte)
		shadow_put_root(svm, spte_to_sp(mmu->root_spte));
	for (int i = 0; i < 4; i++)
		if (mmu->pae_root[i])
			shadow_put_root(svm, spte_to_sp(mmu->pae_root[i]));
	mmu->root_spte = 0;
	memset(mmu->pae_root, 0, sizeof(mmu->pae_root));
	mmu->root_kind = SHADOW_ROOT_NONE;
	mmu->root_valid = false;
}

void shadow__exit(struct shadow_mmu *mmu)
{
	if (!mmu->vm)
		return;
	pthread_mutex_lock(&mmu->vm->lock);
	put_roots(mmu);
	pthread_mutex_unlock(&mmu->vm->lock);
	mmu->vm = NULL;
}

static bool roots_invalid(const struct shadow_mmu *mmu)
{
	if (!mmu->root_valid)
		return true;
	if (mmu->root_spte && spte_to_sp(mmu->root_spte)->role.invalid)
		return true;
	for (int i = 0; i < 4; i++)
		if (mmu->pae_root[i] && spte_to_sp(mmu->pae_root[i])->role.invalid)
			return true;
	return false;
}

static union shadow_role base_role(const struct shadow_mode *m)
{
	union shadow_role r = { .word = 0 };

	r.cr0_wp = !!(m->cr0 & CR0_WP);
	if (m->cr0 & CR0_PG) {
		r.efer_nx = shadow_mode_nx(m);
		r.has_4_byte_gpte = !(m->cr4 & CR4_PAE);
		r.smep_andnot_wp = (m->cr4 & CR4_SMEP) && !(m->cr0 & CR0_WP);
	}
	r.access = SHADOW_ACC_ALL;
	return r;
}

static int pin_root(struct shadow_vm *svm, uint64_t *slot, uint64_t gfn, union shadow_role role)
{
	struct shadow_page *sp = shadow_get_page(svm, gfn, role);

	if (!sp)
		return -ENOMEM;
	sp->root_count++;
	*slot = SPTE_NONLEAF | (uintptr_t)sp;
	return 0;
}

/* kvm_mmu_load: look up the roots for the new CR3 / paging mode. */
static int load_roots(struct shadow_mmu *mmu, const struct shadow_mode *m)
{
	struct shadow_vm *svm = mmu->vm;
	union shadow_role role = base_role(m);
	int ret = 0;

	put_roots(mmu);
	mmu->mode = *m;
	if (!(m->cr0 & CR0_PG)) {
		role.level = 4;
		role.direct = 1;
		mmu->root_kind = SHADOW_ROOT_4LEVEL;
		ret = pin_root(svm, &mmu->root_spte, 0, role);
	} else if (!(m->cr4 & CR4_PAE)) {
		role.level = 2;
		mmu->root_kind = SHADOW_ROOT_PAE;
		for (int i = 0; i < 4 && !ret; i++) {
			role.quadrant = i;
			ret = pin_root(svm, &mmu->pae_root[i], (m->cr3 & 0xfffff000u) >> 12, role);
		}
	} else if (m->efer & EFER_LMA) {
		role.level = 4;
		mmu->root_kind = SHADOW_ROOT_4LEVEL;
		ret = pin_root(svm, &mmu->root_spte,
			       (m->cr3 & 0x000ffffffffff000ull & ((1ull << svm->maxphyaddr) - 1)) >> 12,
			       role);
	} else {
		uint64_t base = m->cr3 & 0xffffffe0u;

		role.level = 2;
		mmu->root_kind = SHADOW_ROOT_PAE;
		for (int i = 0; i < 4 && !ret; i++) {
			uint64_t pdpte;
			if (mem__read(svm->mem, base + 8 * i, &pdpte, 8))
				pdpte = ~0ull;
			mmu->pdptr[i] = pdpte;
			if (!(pdpte & 1) ||
			    (pdpte & (0x1e6ull | ~((1ull << svm->maxphyaddr) - 1))))
				continue;	/* the walker reports the fault */
			ret = pin_root(svm, &mmu->pae_root[i], (pdpte & 0x000ffffffffff000ull) >> 12,
				       role);
		}
	}
	if (ret) {
		put_roots(mmu);
		return ret;
	}
	mmu->root_valid = true;
	svm->stats.roots_loaded++;
	return 0;
}

/* ---- shadow walk -------------------------------------------------------------- */

unsigned shadow_spte_index(uint64_t linear, int level)
{
	return (linear >> (12 + 9 * (level - 1))) & 511;
}

/* The entry mapping @linear at the top: a level-3 pae_root or the level-5 root_spte. */
uint64_t *shadow_root_entry(struct shadow_mmu *mmu, uint64_t linear, int *level)
{
	if (mmu->root_kind == SHADOW_ROOT_PAE) {
		*level = 3;
		return &mmu->pae_root[(linear >> 30) & 3];
	}
	*level = 5;
	return &mmu->root_spte;
}

/* Last spte on the path of @linear: a leaf, or an empty entry (*sptep == 0). */
static uint64_t *spte_lookup(struct shadow_mmu *mmu, uint64_t linear, int *level)
{
	uint64_t *sptep = shadow_root_entry(mmu, linear, level);

	while (*sptep & SPTE_NONLEAF) {
		struct shadow_page *sp = spte_to_sp(*sptep);
		--*level;
		sptep = &sp->spt[shadow_spte_index(linear, *level)];
	}
	return sptep;
}

/* The check the MMU hardware would do on the spte; SMEP as with host CR4.SMEP. */
static bool spte_allows(uint64_t spte, unsigned access, const struct shadow_mode *m)
{
	if (!(spte & SPTE_P))
		return false;
	if ((access & (SHADOW_ACC_FETCH | SHADOW_ACC_USER)) == SHADOW_ACC_FETCH &&
	    (spte & SPTE_U) && (m->cr4 & CR4_SMEP))
		return false;
	if ((access & SHADOW_ACC_USER) && !(spte & SPTE_U))
		return false;
	if ((access & SHADOW_ACC_WRITE) && !(spte & SPTE_W))
		return false;
	if ((access & SHADOW_ACC_FETCH) && !(spte & SPTE_X))
		return false;
	return true;
}

/* Result from a leaf spte; false when it cannot be used (stale MMIO generation). */
static bool spte_result(struct shadow_mmu *mmu, uint64_t *sptep, uint64_t linear,
			struct shadow_result *res)
{
	struct shadow_vm *svm = mmu->vm;
	uint64_t spte = *sptep, gfn;

	if (spte & SPTE_MMIO) {
		uint32_t gen = __atomic_load_n(&svm->mem->generation, __ATOMIC_ACQUIRE);
		if (((spte >> SPTE_GEN_SHIFT) & SPTE_GEN_MASK) != (gen & SPTE_GEN_MASK)) {
			shadow_drop_spte(svm, sptep);
			svm->stats.mmio_gen_stale++;
			return false;
		}
		res->kind = SHADOW_MMIO;
		res->gpa = (spte & SPTE_FRAME) | (linear & 0xfff);
		res->hva = NULL;
		svm->stats.mmio++;
		return true;
	}
	res->kind = SHADOW_RAM;
	res->hva = (uint8_t *)(uintptr_t)(spte & SPTE_FRAME);
	if (spte & SPTE_LARGE)
		res->hva += linear & 0x1ff000;
	if (!shadow_hva_to_gfn(svm, res->hva, &gfn))
		return false;
	res->gpa = (gfn << 12) | (linear & 0xfff);
	res->hva += linear & 0xfff;
	return true;
}

/* ---- page fault ------------------------------------------------------------- */

/*
 * FNAME(fetch): walk the shadow from the root, instantiating shadow pages
 * for guest tables (indirect) or for the inside of large guest pages
 * (direct), then install the leaf.  Returns 0 or -ENOMEM.
 */
static int fetch(struct shadow_mmu *mmu, const struct shadow_mode *m, const struct shadow_walker *w,
		 uint64_t linear, uint8_t *hva, bool host_wp)
{
	struct shadow_vm *svm = mmu->vm;
	const bool paging = m->cr0 & CR0_PG;
	union shadow_role base = base_role(m);
	int level, start, target = 1;
	uint64_t *sptep, spte;
	unsigned acc = w->pte_access;

	if (hva && w->level >= 2) {
		if (shadow_lpage_allowed(svm, w->gfn & ~511ull))
			target = 2;
		else
			svm->stats.lpage_refused++;
	}
	sptep = shadow_root_entry(mmu, linear, &level);
	start = level;
	while (level > target) {
		if (level < start) {
			int c = level - 1;	/* level of the child shadow page */
			union shadow_role role = base;
			uint64_t gfn;

			role.level = c;
			if (paging && c >= w->level) {
				gfn = w->table_gfn[c];
				role.access = w->pt_access[level];
				if (role.has_4_byte_gpte && c == 1)
					role.quadrant = (linear >> 21) & 1;
			} else {
				gfn = w->gfn & ~((1ull << (9 * c)) - 1);
				role.direct = 1;
				role.has_4_byte_gpte = 0;
				role.access = acc;
				role.guest_global = w->global;
			}
			spte = *sptep;
			if (!(spte & SPTE_NONLEAF) || spte_to_sp(spte)->gfn != gfn ||
			    spte_to_sp(spte)->role.word != role.word) {
				struct shadow_page *child = shadow_get_page(svm, gfn, role);
				if (!child)
					return -ENOMEM;
				shadow_link_page(svm, sptep, child);
			}
		}
		if (!(*sptep & SPTE_NONLEAF))
			return -ENOMEM;
		level--;
		sptep = &spte_to_sp(*sptep)->spt[shadow_spte_index(linear, level)];
	}

	if (hva) {
		uint8_t *frame = target == 2 ? shadow_gfn_to_hva(svm, w->gfn & ~511ull) : hva;

		spte = shadow_leaf_spte(frame, w->gfn, acc, host_wp, w->global, 0) |
		       (target == 2 ? SPTE_LARGE : 0);
	} else {
		spte = shadow_leaf_spte(NULL, w->gfn, acc, false, w->global, svm->mmio_gen);
	}
	shadow_set_leaf(svm, sptep, spte);
	return *sptep == spte ? 0 : -ENOMEM;
}

/* KVM is_self_change_mapping: the written gfn is a table on its own walk. */
static bool self_change_mapping(const struct shadow_walker *w)
{
	for (int l = w->root_level; l >= w->level; l--)
		if (w->table_gfn[l] == w->gfn)
			return true;
	return false;
}

/* 0: @res from an spte; 1: @res valid but must not be cached; -errno. */
static int page_fault(struct shadow_mmu *mmu, const struct shadow_mode *m, uint64_t linear,
		      unsigned access, struct shadow_result *res)
{
	struct shadow_vm *svm = mmu->vm;
	const bool write = access & SHADOW_ACC_WRITE, user = access & SHADOW_ACC_USER;
	struct shadow_walker w;
	uint64_t unprotected = ~0ull;

	for (int tries = 0; tries < 8; tries++) {
		bool host_wp = false;
		uint8_t *hva;
		int level, ret;

		svm->stats.faults++;
		if (roots_invalid(mmu)) {
			ret = load_roots(mmu, m);
			if (ret)
				return ret;
		}
		if (!(m->cr0 & CR0_PG)) {
			memset(&w, 0, sizeof(w));
			w.level = 5;	/* one linear range: direct pages all the way down */
			w.gfn = (linear & 0xffffffffu) >> 12;
			w.pte_access = SHADOW_ACC_ALL;
		} else if (shadow_walk(svm, mmu, m, linear, access, &w)) {
			res->kind = SHADOW_FAULT;
			res->error_code = w.error_code;
			svm->stats.guest_faults++;
			return 0;
		}
		/* CR0.WP=0 kernel write to a read-only page: a kernel-only writable spte. */
		if (write && !user && !(m->cr0 & CR0_WP) && !(w.pte_access & SHADOW_ACC_W_MASK)) {
			w.pte_access |= SHADOW_ACC_W_MASK;
			w.pte_access &= ~SHADOW_ACC_U_MASK;
			/* Now a kernel page: with SMEP the kernel must still not run it. */
			if (m->cr4 & CR4_SMEP)
				w.pte_access &= ~SHADOW_ACC_X_MASK;
		}
		hva = shadow_gfn_to_hva(svm, w.gfn);
		if (hva && (w.pte_access & SHADOW_ACC_W_MASK) &&
		    shadow_gfn_write_protected(svm, w.gfn) && shadow_try_unsync(svm, w.gfn)) {
			if (write) {
				/*
				 * The table maps itself on this walk, or it is shadowed
				 * again right after being unshadowed (a PAE root
				 * reloaded from the PDPTRs): protecting it again would
				 * loop.  Hand out this one translation uncached (no
				 * spte, no TLB entry); the next access re-shadows the
				 * table from what the guest wrote.
				 */
				bool again = w.gfn == unprotected;

				/* No emulation of the store here: unshadow the table instead. */
				shadow_unprotect_gfn(svm, w.gfn);
				unprotected = w.gfn;
				if (!again && !self_change_mapping(&w))
					continue;
				res->kind = SHADOW_RAM;
				res->hva = hva + (linear & 0xfff);
				res->gpa = (w.gfn << 12) | (linear & 0xfff);
				return 1;
			}
			host_wp = true;
		}
		if (fetch(mmu, m, &w, linear, hva, host_wp))
			return -ENOMEM;
		uint64_t *sptep = spte_lookup(mmu, linear, &level);
		if (*sptep && spte_allows(*sptep, access, m) && spte_result(mmu, sptep, linear, res))
			return 0;
	}
	return -EAGAIN;
}

/* ---- entry points ------------------------------------------------------------ */

bool shadow_mode_differs(const struct shadow_mode *a, const struct shadow_mode *b, bool *only_cr3)
{
	const uint64_t cr0 = CR0_PG | CR0_WP, cr4 = CR4_PAE | CR4_PSE | CR4_PGE | CR4_SMEP;
	const uint64_t efer = EFER_NXE | EFER_LMA;
	bool paging = ((a->cr0 ^ b->cr0) & cr0) || ((a->cr4 ^ b->cr4) & cr4) ||
		      ((a->efer ^ b->efer) & efer);

	*only_cr3 = !paging;
	return paging || a->cr3 != b->cr3;
}

enum shadow_result_kind shadow__translate(struct shadow_mmu *mmu, const struct shadow_mode *m,
					  uint64_t linear, unsigned access,
					  struct shadow_result *res)
{
	struct shadow_vm *svm = mmu->vm;
	uint64_t gen = __atomic_load_n(&svm->tlb_gen, __ATOMIC_ACQUIRE);
	uint64_t page = linear & ~0xfffull;
	struct shadow_tlb_entry *e;
	bool only_cr3, changed, global = false, uncached = false;
	int level, ret = 0;

	if (!(m->efer & EFER_LMA))
		linear &= 0xffffffffu;	/* 32-bit linear addresses outside long mode */
	page = linear & ~0xfffull;
	mmu->translates++;
	if (gen != mmu->tlb_gen_seen) {
		tlb_flush(mmu, true);
		mmu->tlb_gen_seen = gen;
	}
	changed = shadow_mode_differs(&mmu->mode, m, &only_cr3);
	if (changed)
		tlb_flush(mmu, !only_cr3);	/* MOV CR3 keeps global entries */
	e = tlb_entry(mmu, linear, access);
	if (!changed && e->page == page && e->hva &&
	    e->epoch == (e->global ? mmu->tlb_gepoch : mmu->tlb_epoch)) {
		mmu->tlb_hits++;
		res->kind = SHADOW_RAM;
		res->cacheable = true;
		res->hva = e->hva + (linear & 0xfff);
		res->gpa = e->gpa | (linear & 0xfff);
		return SHADOW_RAM;
	}

	res->cacheable = false;
	pthread_mutex_lock(&svm->lock);
	svm->stats.translates++;
	shadow_check_mmio_gen(svm);
	if (svm->nr_pages + 8 >= svm->max_pages) {
		while (svm->active_pages.next != &svm->active_pages)
			shadow_zap_page(svm, svm->active_pages.next);
		svm->stats.zap_alls++;
	}
	if (changed || roots_invalid(mmu)) {
		if (changed)
			shadow_sync_all(svm);	/* a CR3 load or paging change is a TLB flush */
		ret = load_roots(mmu, m);
	}
	if (!ret) {
		uint64_t *sptep = spte_lookup(mmu, linear, &level);
		if (*sptep && spte_allows(*sptep, access, m) && spte_result(mmu, sptep, linear, res))
			svm->stats.spte_hits++;
		else
			ret = page_fault(mmu, m, linear, access, res);
	}
	if (ret == 1) {
		uncached = true;
		ret = 0;
	}
	if (ret) {
		/* Host memory exhausted: start over with an empty shadow once. */
		while (svm->active_pages.next != &svm->active_pages)
			shadow_zap_page(svm, svm->active_pages.next);
		svm->stats.zap_alls++;
		ret = load_roots(mmu, m);
		if (!ret)
			ret = page_fault(mmu, m, linear, access, res);
		if (ret == 1) {
			uncached = true;
			ret = 0;
		}
	}
	if (!ret && !uncached && res->kind == SHADOW_RAM) {
		uint64_t *sptep = spte_lookup(mmu, linear, &level);
		global = (*sptep & SPTE_G) && (m->cr4 & CR4_PGE);
	}
	gen = __atomic_load_n(&svm->tlb_gen, __ATOMIC_ACQUIRE);
	pthread_mutex_unlock(&svm->lock);
	if (ret) {
		pr_err("shadow MMU: cannot map linear %#" PRIx64 " (access %#x): %s", linear, access,
		       strerror(-ret));
		shadow__explain(mmu, m, linear, stderr);
		res->kind = SHADOW_FAULT;
		res->error_code = SHADOW_PFERR_P | SHADOW_PFERR_RSVD;
		return SHADOW_FAULT;
	}
	if (gen != mmu->tlb_gen_seen) {
		tlb_flush(mmu, true);
		mmu->tlb_gen_seen = gen;
	}
	if (res->kind == SHADOW_RAM && !uncached) {
		e->page = page;
		e->hva = res->hva - (linear & 0xfff);
		e->gpa = res->gpa & ~0xfffull;
		e->global = global;
		e->epoch = global ? mmu->tlb_gepoch : mmu->tlb_epoch;
		res->cacheable = true;
	}
	return res->kind;
}

void shadow__invlpg(struct shadow_mmu *mmu, uint64_t linear)
{
	struct shadow_vm *svm = mmu->vm;
	uint64_t page = linear & ~0xfffull;
	int level;

	for (int k = 0; k < 3; k++)
		for (int u = 0; u < 2; u++) {
			struct shadow_tlb_entry *e = &mmu->tlb[k][u][(linear >> 12) & (SHADOW_TLB_SIZE - 1)];
			if (e->page == page)
				e->hva = NULL;
		}
	pthread_mutex_lock(&svm->lock);
	svm->stats.invlpgs++;
	/*
	 * Walk even when the roots wait for a reload (after a flush): the
	 * shadow pages they reach are shared and stay in use.
	 */
	if (mmu->root_kind != SHADOW_ROOT_NONE) {
		uint64_t *sptep = spte_lookup(mmu, linear, &level);
		/* Drop, do not resync: the next access refaults and re-reads the gpte. */
		if (*sptep)
			shadow_drop_spte(svm, sptep);
	}
	pthread_mutex_unlock(&svm->lock);
}

void shadow__flush(struct shadow_mmu *mmu, bool global)
{
	struct shadow_vm *svm = mmu->vm;

	pthread_mutex_lock(&svm->lock);
	svm->stats.flushes++;
	shadow_sync_all(svm);
	/* MOV CR3 and paging-bit writes also reload the PDPTRs in PAE mode. */
	mmu->root_valid = false;
	pthread_mutex_unlock(&svm->lock);
	tlb_flush(mmu, global);
}
