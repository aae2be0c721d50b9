/*
 * Shadow pages, their hash, parent_ptes, the gfn reverse map, write tracking
 * and disallow_lpage, zapping and unsync (KVM mmu.rst "Shadow pages",
 * "Reverse map", "Synchronized and unsynchronized pages", "Large pages").
 * Everything here runs under shadow_vm.lock.
 */
#include "shadow.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../util/util.h"

/* ---- pte_list: KVM's single-pointer-or-descriptor list ------------------- */

struct pte_list_desc {
	uint32_t nr, cap;
	uint64_t *sptes[];
};

static struct pte_list_desc *desc_of(shadow_pte_list h)
{
	return (struct pte_list_desc *)(h & ~(uintptr_t)1);
}

static int pte_list_add(shadow_pte_list *h, uint64_t *sptep)
{
	struct pte_list_desc *d;

	if (!*h) {
		*h = (uintptr_t)sptep;
		return 0;
	}
	if (!(*h & 1)) {
		d = malloc(sizeof(*d) + 4 * sizeof(d->sptes[0]));
		if (!d)
			return -ENOMEM;
		d->nr = 2;
		d->cap = 4;
		d->sptes[0] = (uint64_t *)*h;
		d->sptes[1] = sptep;
		*h = (uintptr_t)d | 1;
		return 0;
	}
	d = desc_of(*h);
	if (d->nr == d->cap) {
		struct pte_list_desc *n = realloc(d, sizeof(*d) + 2 * d->cap * sizeof(d->sptes[0]));
		if (!n)
			return -ENOMEM;
		d = n;
		d->cap *= 2;
		*h = (uintptr_t)d | 1;
	}
	d->sptes[d->nr++] = sptep;
	return 0;
}

static void pte_list_remove(shadow_pte_list *h, uint64_t *sptep)
{
	struct pte_list_desc *d;

	if (!(*h & 1)) {
		if (*h == (uintptr_t)sptep)
			*h = 0;
		return;
	}
	d = desc_of(*h);
	for (uint32_t i = 0; i < d->nr; i++) {
		if (d->sptes[i] != sptep)
			continue;
		d->sptes[i] = d->sptes[--d->nr];
		if (d->nr == 1) {
			*h = (uintptr_t)d->sptes[0];
			free(d);
		}
		return;
	}
}

static uint64_t *pte_list_first(shadow_pte_list h)
{
	if (!h)
		return NULL;
	if (!(h & 1))
		return (uint64_t *)h;
	return desc_of(h)->sptes[0];
}

/* Array view for iteration that does not change the list. */
static uint64_t **pte_list_view(shadow_pte_list *h, uint32_t *n)
{
	if (!*h) {
		*n = 0;
		return NULL;
	}
	if (!(*h & 1)) {
		*n = 1;
		return (uint64_t **)h;
	}
	*n = desc_of(*h)->nr;
	return desc_of(*h)->sptes;
}

/* ---- slots ---------------------------------------------------------------- */

struct shadow_slot *shadow_slot_of_gfn(struct shadow_vm *svm, uint64_t gfn)
{
	for (int i = 0; i < svm->nr_slots; i++) {
		struct shadow_slot *s = &svm->slot[i];
		if (gfn >= s->base_gfn && gfn - s->base_gfn < s->npages)
			return s;
	}
	return NULL;
}

uint8_t *shadow_gfn_to_hva(struct shadow_vm *svm, uint64_t gfn)
{
	struct shadow_slot *s = shadow_slot_of_gfn(svm, gfn);
	return s ? s->hva + ((gfn - s->base_gfn) << 12) : NULL;
}

static struct shadow_slot *slot_of_hva(struct shadow_vm *svm, uint64_t hva, uint64_t *gfn)
{
	for (int i = 0; i < svm->nr_slots; i++) {
		struct shadow_slot *s = &svm->slot[i];
		uint64_t off = hva - (uintptr_t)s->hva;
		if (hva >= (uintptr_t)s->hva && off < (s->npages << 12)) {
			*gfn = s->base_gfn + (off >> 12);
			return s;
		}
	}
	return NULL;
}

bool shadow_hva_to_gfn(struct shadow_vm *svm, const uint8_t *hva, uint64_t *gfn)
{
	return slot_of_hva(svm, (uintptr_t)hva, gfn) != NULL;
}

void shadow_flush_remote(struct shadow_vm *svm)
{
	__atomic_add_fetch(&svm->tlb_gen, 1, __ATOMIC_RELEASE);
}

/* ---- spte primitives ------------------------------------------------------ */

static void rmap_remove_leaf(struct shadow_vm *svm, uint64_t *sptep, uint64_t spte)
{
	struct shadow_slot *s;
	uint64_t gfn;

	if (spte & SPTE_MMIO)
		return;
	s = slot_of_hva(svm, spte & SPTE_FRAME, &gfn);
	if (!s)
		return;
	if (spte & SPTE_LARGE)
		pte_list_remove(&s->rmap_2m[(gfn - s->base_gfn) >> 9], sptep);
	else
		pte_list_remove(&s->rmap[gfn - s->base_gfn], sptep);
}

static int rmap_add_leaf(struct shadow_vm *svm, uint64_t *sptep, uint64_t spte)
{
	struct shadow_slot *s;
	uint64_t gfn;

	if (spte & SPTE_MMIO)
		return 0;
	s = slot_of_hva(svm, spte & SPTE_FRAME, &gfn);
	if (!s)
		return -EFAULT;
	if (spte & SPTE_LARGE)
		return pte_list_add(&s->rmap_2m[(gfn - s->base_gfn) >> 9], sptep);
	return pte_list_add(&s->rmap[gfn - s->base_gfn], sptep);
}

void shadow_drop_spte(struct shadow_vm *svm, uint64_t *sptep)
{
	uint64_t spte = *sptep;

	if (!spte)
		return;
	if (spte & SPTE_NONLEAF)
		pte_list_remove(&spte_to_sp(spte)->parent_ptes, sptep);
	else
		rmap_remove_leaf(svm, sptep, spte);
	*sptep = 0;
	shadow_flush_remote(svm);
}

void shadow_set_leaf(struct shadow_vm *svm, uint64_t *sptep, uint64_t spte)
{
	const uint64_t same = SPTE_FRAME | SPTE_LARGE | SPTE_MMIO | SPTE_NONLEAF;
	uint64_t old = *sptep;

	if (old && !(old & SPTE_NONLEAF) && (old & same) == (spte & same)) {
		/* Same frame: the rmap entry stays; a lost permission needs a flush. */
		*sptep = spte;
		if (old & ~spte & (SPTE_W | SPTE_U | SPTE_X | SPTE_G))
			shadow_flush_remote(svm);
		return;
	}
	shadow_drop_spte(svm, sptep);
	if (rmap_add_leaf(svm, sptep, spte))
		return;		/* no memory for the rmap: leave it unmapped, refault later */
	*sptep = spte;
}

void shadow_link_page(struct shadow_vm *svm, uint64_t *sptep, struct shadow_page *child)
{
	shadow_drop_spte(svm, sptep);
	if (pte_list_add(&child->parent_ptes, sptep))
		return;		/* unlinked: the walk fails and the fault is retried */
	*sptep = SPTE_NONLEAF | (uintptr_t)child;
}

/* ---- write tracking -------------------------------------------------------- */

static unsigned hash_gfn(uint64_t gfn)
{
	return (unsigned)((gfn * 0x9e3779b97f4a7c15ull) >> (64 - SHADOW_HASH_BITS));
}

/* Remove write access to @gfn from every spte (a page table is being shadowed). */
void shadow_write_protect_gfn(struct shadow_vm *svm, uint64_t gfn)
{
	struct shadow_slot *s = shadow_slot_of_gfn(svm, gfn);
	uint64_t **v, *p;
	uint32_t n;

	if (!s)
		return;
	v = pte_list_view(&s->rmap[gfn - s->base_gfn], &n);
	for (uint32_t i = 0; i < n; i++)
		*v[i] &= ~SPTE_W;
	/* disallow_lpage forbids large sptes from now on; drop existing ones. */
	while ((p = pte_list_first(s->rmap_2m[(gfn - s->base_gfn) >> 9])))
		shadow_drop_spte(svm, p);
	svm->stats.wrprots++;
	shadow_flush_remote(svm);
}

static void account_shadowed(struct shadow_vm *svm, uint64_t gfn, int delta)
{
	struct shadow_slot *s = shadow_slot_of_gfn(svm, gfn);

	if (!s)
		return;
	s->write_track[gfn - s->base_gfn] += delta;
	s->disallow_lpage[(gfn - s->base_gfn) >> 9] += delta;
}

bool shadow_lpage_allowed(struct shadow_vm *svm, uint64_t base_gfn)
{
	struct shadow_slot *s = shadow_slot_of_gfn(svm, base_gfn);

	if (!s || (base_gfn & 511))
		return false;
	return s->disallow_lpage[(base_gfn - s->base_gfn) >> 9] == 0;
}

/* A synced shadow page exists for @gfn: writes must fault to keep it in sync. */
bool shadow_gfn_write_protected(struct shadow_vm *svm, uint64_t gfn)
{
	struct shadow_slot *s = shadow_slot_of_gfn(svm, gfn);

	if (!s || !s->write_track[gfn - s->base_gfn])
		return false;
	for (struct shadow_page *sp = svm->hash[hash_gfn(gfn)]; sp; sp = sp->hash_next)
		if (sp->gfn == gfn && !sp->role.direct && !sp->unsync)
			return true;
	return false;
}

/* mmu_try_to_unsync_pages: 0 if @gfn may be mapped writable, -EPERM if not. */
int shadow_try_unsync(struct shadow_vm *svm, uint64_t gfn)
{
	struct shadow_page *sp;
	unsigned h = hash_gfn(gfn);

	for (sp = svm->hash[h]; sp; sp = sp->hash_next)
		if (sp->gfn == gfn && !sp->role.direct && sp->role.level > 1)
			return -EPERM;		/* only leaf page tables may go unsync */
	for (sp = svm->hash[h]; sp; sp = sp->hash_next) {
		if (sp->gfn != gfn || sp->role.direct || sp->unsync)
			continue;
		sp->unsync = true;
		sp->unsync_next = svm->unsync_pages;
		svm->unsync_pages = sp;
		svm->stats.unsyncs++;
	}
	return 0;
}

/* kvm_mmu_unprotect_page: zap every shadow of @gfn so the guest may write it. */
int shadow_unprotect_gfn(struct shadow_vm *svm, uint64_t gfn)
{
	int n = 0;
	bool again = true;

	while (again) {
		again = false;
		for (struct shadow_page *sp = svm->hash[hash_gfn(gfn)]; sp; sp = sp->hash_next) {
			if (sp->gfn == gfn && !sp->role.direct) {
				shadow_zap_page(svm, sp);
				n++;
				again = true;
				break;
			}
		}
	}
	svm->stats.unprotects++;
	return n;
}

/* ---- shadow pages ---------------------------------------------------------- */

void shadow_unsync_list_remove(struct shadow_vm *svm, struct shadow_page *sp)
{
	for (struct shadow_page **pp = &svm->unsync_pages; *pp; pp = &(*pp)->unsync_next) {
		if (*pp == sp) {
			*pp = sp->unsync_next;
			break;
		}
	}
	sp->unsync = false;
	sp->unsync_next = NULL;
}

static void free_page(struct shadow_page *sp)
{
	free(sp->spt);
	free(sp);
}

struct shadow_page *shadow_get_page(struct shadow_vm *svm, uint64_t gfn, union shadow_role role)
{
	unsigned h = hash_gfn(gfn);
	struct shadow_page *sp;

restart:
	for (sp = svm->hash[h]; sp; sp = sp->hash_next) {
		if (sp->gfn != gfn)
			continue;
		/* A non-leaf shadow of a gfn forbids leaving its leaf shadows unsync. */
		if (!role.direct && role.level > 1 && sp->unsync) {
			shadow_zap_page(svm, sp);
			goto restart;
		}
		if (sp->role.word == role.word) {
			if (sp->unsync)
				shadow_sync_page(svm, sp);
			return sp;
		}
	}
	sp = calloc(1, sizeof(*sp));
	if (!sp)
		return NULL;
	sp->spt = aligned_alloc(4096, 4096);
	if (!sp->spt || ((uintptr_t)sp & SPTE_NONLEAF)) {
		free_page(sp);
		return NULL;
	}
	memset(sp->spt, 0, 4096);
	sp->gfn = gfn;
	sp->role = role;
	sp->hash_next = svm->hash[h];
	svm->hash[h] = sp;
	sp->next = svm->active_pages.next;
	sp->prev = &svm->active_pages;
	sp->next->prev = sp;
	svm->active_pages.next = sp;
	svm->nr_pages++;
	svm->stats.sp_created++;
	svm->stats.sp_live = svm->nr_pages;
	if (!role.direct) {
		account_shadowed(svm, gfn, 1);
		shadow_write_protect_gfn(svm, gfn);
	}
	return sp;
}

void shadow_zap_page(struct shadow_vm *svm, struct shadow_page *sp)
{
	uint64_t *p;

	while ((p = pte_list_first(sp->parent_ptes))) {
		pte_list_remove(&sp->parent_ptes, p);
		*p = 0;
	}
	for (int i = 0; i < 512; i++)
		shadow_drop_spte(svm, &sp->spt[i]);
	if (!sp->role.direct)
		account_shadowed(svm, sp->gfn, -1);
	for (struct shadow_page **pp = &svm->hash[hash_gfn(sp->gfn)]; *pp; pp = &(*pp)->hash_next) {
		if (*pp == sp) {
			*pp = sp->hash_next;
			break;
		}
	}
	if (sp->unsync)
		shadow_unsync_list_remove(svm, sp);
	sp->prev->next = sp->next;
	sp->next->prev = sp->prev;
	svm->nr_pages--;
	svm->stats.zaps++;
	svm->stats.sp_live = svm->nr_pages;
	shadow_flush_remote(svm);
	if (sp->root_count) {
		/* Still loaded in some vCPU's CR3: kept until shadow_put_root. */
		sp->role.invalid = 1;
		sp->next = svm->invalid_roots;
		svm->invalid_roots = sp;
		return;
	}
	free_page(sp);
}

void shadow_put_root(struct shadow_vm *svm, struct shadow_page *sp)
{
	if (--sp->root_count || !sp->role.invalid)
		return;
	for (struct shadow_page **pp = &svm->invalid_roots; *pp; pp = &(*pp)->next) {
		if (*pp == sp) {
			*pp = sp->next;
			break;
		}
	}
	free_page(sp);
}

void shadow__zap_all(struct shadow_vm *svm)
{
	pthread_mutex_lock(&svm->lock);
	while (svm->active_pages.next != &svm->active_pages)
		shadow_zap_page(svm, svm->active_pages.next);
	svm->stats.zap_alls++;
	pthread_mutex_unlock(&svm->lock);
}

/* ---- VM-wide set-up ---------------------------------------------------------- */

int shadow__vm_init(struct shadow_vm *svm, struct guest_mem *mem)
{
	int ret = -ENOMEM;

	memset(svm, 0, sizeof(*svm));
	svm->mem = mem;
	svm->active_pages.next = svm->active_pages.prev = &svm->active_pages;
	svm->maxphyaddr = 40;
	svm->mmio_gen = mem->generation;
	pthread_mutex_init(&svm->lock, NULL);
	for (int i = 0; i < mem->nr_slots; i++) {
		struct shadow_slot *s = &svm->slot[i];
		uint64_t n2m;

		if ((mem->slot[i].gpa | (uintptr_t)mem->slot[i].hva) & 0xfff)
			goto err;	/* page-granular mapping is what sptes encode */
		s->base_gfn = mem->slot[i].gpa >> 12;
		s->npages = mem->slot[i].size >> 12;
		s->hva = mem->slot[i].hva;
		if ((uintptr_t)s->hva + mem->slot[i].size > SPTE_FRAME) {
			ret = -ERANGE;
			goto err;
		}
		n2m = (s->npages + 511) >> 9;
		s->rmap = calloc(s->npages, sizeof(*s->rmap));
		s->write_track = calloc(s->npages, sizeof(*s->write_track));
		s->rmap_2m = calloc(n2m, sizeof(*s->rmap_2m));
		s->disallow_lpage = calloc(n2m, sizeof(*s->disallow_lpage));
		svm->nr_slots = i + 1;
		if (!s->rmap || !s->write_track || !s->rmap_2m || !s->disallow_lpage)
			goto err;
		/* A 2 MiB frame sticking out of the slot can never be a large spte. */
		if ((s->npages & 511) || (s->base_gfn & 511))
			s->disallow_lpage[n2m - 1] = 1u << 30;
	}
	svm->max_pages = 2048 + (mem->ram_size >> 12) / 64;
	return 0;
err:
	shadow__vm_exit(svm);
	return ret;
}

void shadow__vm_exit(struct shadow_vm *svm)
{
	if (!svm->mem)
		return;
	while (svm->active_pages.next && svm->active_pages.next != &svm->active_pages)
		shadow_zap_page(svm, svm->active_pages.next);
	while (svm->invalid_roots) {
		struct shadow_page *sp = svm->invalid_roots;
		svm->invalid_roots = sp->next;
		free_page(sp);
	}
	for (int i = 0; i < svm->nr_slots; i++) {
		struct shadow_slot *s = &svm->slot[i];
		for (uint64_t g = 0; s->rmap && g < s->npages; g++)
			if (s->rmap[g] & 1)
				free(desc_of(s->rmap[g]));
		free(s->rmap);
		free(s->rmap_2m);
		free(s->write_track);
		free(s->disallow_lpage);
	}
	pthread_mutex_destroy(&svm->lock);
	memset(svm, 0, sizeof(*svm));
}
