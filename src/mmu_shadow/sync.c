/*
 * Resynchronising unsync shadow pages on INVLPG/TLB flush (KVM kvm_sync_page)
 * and the fast invalidation of MMIO sptes by memslot generation.  Runs under
 * shadow_vm.lock.
 */
#include "shadow.h"

/*
 * Bring an unsync leaf shadow page back in line with its guest table
 * (kvm_sync_page): an spte whose gpte changed frame, became not present,
 * reserved or not accessed is dropped (the next access refaults); otherwise
 * its permissions are recomputed as for a read fault.
 */
void shadow_sync_page(struct shadow_vm *svm, struct shadow_page *sp)
{
	const struct shadow_mode m = {
		.cr0 = sp->role.cr0_wp ? X86_CR0_WP : 0,
		.cr4 = X86_CR4_PAE, /* PAE format when 8-byte gptes */
		.efer = sp->role.efer_nx ? X86_EFER_NXE : 0,
	};
	bool pae = !sp->role.has_4_byte_gpte;
	uint8_t *table = shadow_gfn_to_hva(svm, sp->gfn);

	shadow_unsync_list_remove(svm, sp);
	svm->stats.syncs++;
	for (int i = 0; i < 512; i++) {
		uint64_t spte = sp->spt[i], gpte, gfn, want;
		unsigned acc;
		uint8_t *hva;

		if (!spte)
			continue;
		if (!table || (spte & SPTE_NONLEAF)) {
			shadow_drop_spte(svm, &sp->spt[i]);
			continue;
		}
		if (pae)
			gpte = __atomic_load_n((uint64_t *)table + i, __ATOMIC_RELAXED);
		else
			gpte = __atomic_load_n((uint32_t *)table + sp->role.quadrant * 512 + i,
					       __ATOMIC_RELAXED);
		if (!(gpte & 1) || !(gpte & (1u << 5)) ||
		    shadow_gpte_rsvd(svm, &m, gpte, 1, pae)) {
			shadow_drop_spte(svm, &sp->spt[i]);
			continue;
		}
		gfn = (pae ? gpte & 0x000ffffffffff000ull : gpte & 0xfffff000u) >> 12;
		acc = sp->role.access & shadow_gpte_access(&m, gpte, pae);
		if (!(gpte & (1u << 6)))
			acc &= ~SHADOW_ACC_W_MASK;	/* protect_clean_gpte */
		hva = shadow_gfn_to_hva(svm, gfn);
		want = shadow_leaf_spte(hva, gfn, acc,
					hva && (acc & SHADOW_ACC_W_MASK) && shadow_gfn_write_protected(svm, gfn),
					gpte & (1u << 8), svm->mem->generation);
		if ((want & (SPTE_FRAME | SPTE_MMIO)) != (spte & (SPTE_FRAME | SPTE_MMIO)))
			shadow_drop_spte(svm, &sp->spt[i]);
		else
			shadow_set_leaf(svm, &sp->spt[i], want);
	}
	/* Synced again: writes to the table must fault from now on. */
	if (shadow_gfn_write_protected(svm, sp->gfn))
		shadow_write_protect_gfn(svm, sp->gfn);
	shadow_flush_remote(svm);
}

/*
 * TLB flush: sync every unsync page.  KVM syncs only those reachable from
 * the new root; syncing all is a superset (always allowed), and an unsync
 * page nobody links to any more is zapped instead of synced.
 */
void shadow_sync_all(struct shadow_vm *svm)
{
	while (svm->unsync_pages) {
		struct shadow_page *sp = svm->unsync_pages;
		if (!sp->parent_ptes && !sp->root_count)
			shadow_zap_page(svm, sp);
		else
			shadow_sync_page(svm, sp);
	}
}

/* Fast invalidation of MMIO sptes: only a wrap of the stored bits zaps all. */
void shadow_check_mmio_gen(struct shadow_vm *svm)
{
	uint32_t gen = __atomic_load_n(&svm->mem->generation, __ATOMIC_ACQUIRE);

	if (gen == svm->mmio_gen)
		return;
	if ((gen ^ svm->mmio_gen) & ~(uint32_t)SPTE_GEN_MASK) {
		while (svm->active_pages.next != &svm->active_pages)
			shadow_zap_page(svm, svm->active_pages.next);
		svm->stats.zap_alls++;
	}
	svm->mmio_gen = gen;
}

