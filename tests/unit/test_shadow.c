/* Shadow MMU: direct mode, 2/3/4-level walks, large pages, permissions, RSVD, A/D. */
#include "test_shadow_helpers.h"

static void direct_mode(void **state)
{
	struct gt *g = gt_new(GM_64);
	struct shadow_result r;
	int level;
	(void)state;

	g->mode.cr0 = CR0_PE;		/* paging off: linear == gpa */
	g->mode.cr4 = 0;
	g->mode.efer = 0;
	r = gt_xl(g, 0x5123, RD);
	assert_ram(r, 0x5123);
	r = gt_xl(g, 0xabcdef, WR | USR);
	assert_ram(r, 0xabcdef);
	r = gt_xl(g, 0x300000, FE);
	assert_ram(r, 0x300000);
	/* RAM with no page tables in it is mapped with 2 MiB sptes. */
	assert_true(gt_spte(g, 0xabcdef, &level, NULL) & SPTE_LARGE);
	assert_int_equal(level, 2);
	/* Outside RAM: MMIO, with the gpa. */
	r = gt_xl(g, MMIO_VIRTIO_BASE + 0x10, WR);
	assert_int_equal(r.kind, SHADOW_MMIO);
	assert_int_equal(r.gpa, MMIO_VIRTIO_BASE + 0x10);
	r = gt_xl(g, (16 << 20) + 4, RD);
	assert_int_equal(r.kind, SHADOW_MMIO);
	assert_int_equal(r.gpa, (16 << 20) + 4);
	/* Upper linear bits are dropped outside long mode. */
	r = gt_xl(g, 0x100005123ull, RD);
	assert_ram(r, 0x5123);
	gt_free(g);
}

static void walk_4level(void **state)
{
	struct gt *g = gt_new(GM_64);
	const uint64_t va = 0x00007f1234567000ull;
	struct shadow_page *sp;
	struct shadow_result r;
	int level;
	(void)state;

	gt_map(g, va, 0x800000, 1, P | RW | US, P | RW | US);
	gt_map(g, 0xffffffff81000000ull, 0x900000, 1, P | RW, P | RW);
	r = gt_xl(g, va + 0x234, RD | USR);
	assert_ram(r, 0x800234);
	r = gt_xl(g, 0xffffffff81000ff8ull, WR);
	assert_ram(r, 0x900ff8);
	/* unmapped neighbours: not-present faults */
	r = gt_xl(g, va + 0x1000, RD);
	assert_fault(r, 0);
	r = gt_xl(g, 0x1000, WR | USR);
	assert_fault(r, SHADOW_PFERR_W | SHADOW_PFERR_U);
	/* the leaf sits in an indirect level-1 shadow of the guest PT */
	gt_spte(g, va, &level, &sp);
	assert_int_equal(level, 1);
	assert_int_equal(sp->role.level, 1);
	assert_false(sp->role.direct);
	assert_false(sp->role.has_4_byte_gpte);
	assert_int_equal(sp->gfn, gt_table(g, va, 1) >> 12);
	assert_int_equal(g->mmu.root_kind, SHADOW_ROOT_4LEVEL);
	assert_int_equal(spte_to_sp(g->mmu.root_spte)->gfn, g->mode.cr3 >> 12);
	gt_free(g);
}

static void walk_2level_quadrants(void **state)
{
	struct gt *g = gt_new(GM_32);
	static const uint32_t vas[] = { 0x00001000, 0x00201000, 0x40003000, 0xc0000000, 0xffe05000 };
	struct shadow_page *sp;
	struct shadow_result r;
	int level;
	(void)state;

	for (unsigned i = 0; i < 5; i++)
		gt_map(g, vas[i], 0x800000 + i * 0x1000, 1, P | RW | US, P | RW | US);
	for (unsigned i = 0; i < 5; i++) {
		r = gt_xl(g, vas[i] + 0x10, RD);
		assert_ram(r, 0x800010 + i * 0x1000);
		gt_spte(g, vas[i], &level, &sp);
		assert_int_equal(level, 1);
		assert_true(sp->role.has_4_byte_gpte);
		/* 1024-entry guest PT: two level-1 shadows, picked by bit 21 */
		assert_int_equal(sp->role.quadrant, (vas[i] >> 21) & 1);
		assert_int_equal(sp->gfn, gt_table(g, vas[i], 1) >> 12);
		/* four level-2 roots shadow the one guest PD, one per GiB */
		struct shadow_page *root = spte_to_sp(g->mmu.pae_root[vas[i] >> 30]);
		assert_int_equal(root->role.quadrant, vas[i] >> 30);
		assert_int_equal(root->gfn, g->mode.cr3 >> 12);
	}
	/* 0x00001000 and 0x00201000 share one guest PT but not one shadow page */
	struct shadow_page *a, *b;
	gt_spte(g, vas[0], NULL, &a);
	gt_spte(g, vas[1], NULL, &b);
	assert_ptr_not_equal(a, b);
	assert_int_equal(a->gfn, b->gfn);
	gt_free(g);
}

static void pse_4m_and_pse36(void **state)
{
	struct gt *g = gt_new(GM_32);
	struct shadow_result r;
	int level;
	(void)state;

	gt_map(g, 0x00800000, 0x00800000, 2, P | RW, P | RW);
	r = gt_xl(g, 0x00800000 + 0x123456, WR);
	assert_ram(r, 0x00923456);
	r = gt_xl(g, 0x00800000 + 0x3ffffc, RD);
	assert_ram(r, 0x00bffffc);
	assert_true(gt_spte(g, 0x00923456, &level, NULL) & SPTE_LARGE);
	assert_int_equal(level, 2);
	/* PSE-36: PDE bits 13.. are physical bits 32..: beyond RAM here, so MMIO */
	gt_map(g, 0x40000000, 0x00400000 | (1u << 13), 2, P | RW, P | RW);
	r = gt_xl(g, 0x40000010, RD);
	assert_int_equal(r.kind, SHADOW_MMIO);
	assert_int_equal(r.gpa, 0x100400010ull);
	/* without CR4.PSE the PS bit is ignored: the PDE points at a page table */
	gt_free(g);
	g = gt_new(GM_32);
	g->mode.cr4 = 0;
	uint64_t pde = gt_map(g, 0x00c00000, 0x00300000, 2, P | RW, P | RW);
	(void)pde;
	*(uint32_t *)gt_hva(g, 0x00300000 + 4 * 2) = 0x00805000 | P;
	r = gt_xl(g, 0x00c02008, RD);
	assert_ram(r, 0x00805008);
	gt_free(g);
}

static void walk_pae_pdptr_cache(void **state)
{
	struct gt *g = gt_new(GM_PAE);
	struct shadow_result r;
	int level;
	(void)state;

	gt_map(g, 0x40001000, 0x801000, 1, P | RW, P | RW);
	gt_map(g, 0x80200000, 0xa00000, 2, P | RW, P | RW);
	r = gt_xl(g, 0x40001008, RD);
	assert_ram(r, 0x801008);
	r = gt_xl(g, 0x80312345, RD);
	assert_ram(r, 0xb12345);
	assert_true(gt_spte(g, 0x80312345, &level, NULL) & SPTE_LARGE);
	/* The CPU caches PDPTEs at CR3 load: a changed PDPTE needs a reload. */
	uint64_t *pdpte = (uint64_t *)gt_hva(g, g->mode.cr3 + 8);
	uint64_t old = *pdpte;
	*pdpte = 0;
	shadow__invlpg(&g->mmu, 0x40001000);
	r = gt_xl(g, 0x40001008, RD);
	assert_ram(r, 0x801008);
	shadow__flush(&g->mmu, false);
	r = gt_xl(g, 0x40001008, RD);
	assert_fault(r, 0);
	/* reserved PDPTE bits (bit 1) fault with RSVD once loaded */
	*pdpte = old | RW;
	shadow__flush(&g->mmu, false);
	r = gt_xl(g, 0x40001008, WR);
	assert_fault(r, SHADOW_PFERR_P | SHADOW_PFERR_RSVD | SHADOW_PFERR_W);
	gt_free(g);
}

static void large_2m_1g_4level(void **state)
{
	struct gt *g = gt_new(GM_64);
	struct shadow_result r;
	int level;
	(void)state;

	gt_map(g, 0x40000000, 0x400000, 2, P | RW | US, P | RW | US);
	r = gt_xl(g, 0x401ff123, RD | USR);
	assert_ram(r, 0x5ff123);
	assert_true(gt_spte(g, 0x401ff123, &level, NULL) & SPTE_LARGE);
	assert_int_equal(level, 2);
	/* 1 GiB pages: reserved (PS in a PDPTE) unless enabled */
	gt_map(g, 0x8000000000ull, 0, 3, P | RW, P | RW);
	r = gt_xl(g, 0x8000001000ull, RD);
	assert_fault(r, SHADOW_PFERR_P | SHADOW_PFERR_RSVD);
	g->svm.gbpages = true;
	r = gt_xl(g, 0x8000abc123ull, RD);
	assert_ram(r, 0xabc123);
	/* inside a 1 GiB page: direct shadow pages, 2 MiB sptes */
	struct shadow_page *sp;
	assert_true(gt_spte(g, 0x8000abc123ull, &level, &sp) & SPTE_LARGE);
	assert_true(sp->role.direct);
	assert_int_equal(sp->role.level, 2);
	assert_int_equal(sp->gfn, 0);
	/* beyond guest RAM inside the 1 GiB page: MMIO */
	r = gt_xl(g, 0x8001000008ull, RD);
	assert_int_equal(r.kind, SHADOW_MMIO);
	assert_int_equal(r.gpa, 0x1000008);
	gt_free(g);
}

/*
 * Permission matrix: one user page table entry with U/S, R/W, NX under CR0.WP
 * and EFER.NXE, accessed by kernel and user as read, write and fetch.  The
 * expected outcome is the SDM rule table (4.6); exact rows are checked too.
 */
static void permission_matrix(void **state)
{
	(void)state;
	for (int us = 0; us < 2; us++)
	for (int rw = 0; rw < 2; rw++)
	for (int wp = 0; wp < 2; wp++)
	for (int nxe = 0; nxe < 2; nxe++)
	for (int nx = 0; nx < 2; nx++)
	for (int user = 0; user < 2; user++)
	for (int kind = 0; kind < 3; kind++) {
		struct gt *g = gt_new(GM_64);
		unsigned acc = (kind == 0 ? RD : kind == 1 ? WR : FE) | (user ? USR : 0);
		uint64_t f = P | A | D | (us ? US : 0) | (rw ? RW : 0) | (nx ? NX : 0);
		uint32_t want;
		bool ok;

		g->mode.cr0 = CR0_PE | CR0_PG | (wp ? CR0_WP : 0);
		g->mode.efer = EFER_LME | EFER_LMA | (nxe ? EFER_NXE : 0);
		gt_map(g, 0x600000, 0x800000, 1, f, P | RW | US);
		struct shadow_result r = gt_xl(g, 0x600010, acc);

		if (nx && !nxe) {
			want = SHADOW_PFERR_P | SHADOW_PFERR_RSVD;
			ok = false;
		} else {
			ok = (!user || us) && (kind != 1 || rw || (!user && !wp)) &&
			     (kind != 2 || !(nx && nxe));
			want = SHADOW_PFERR_P;
		}
		want |= (kind == 1 ? SHADOW_PFERR_W : 0) | (user ? SHADOW_PFERR_U : 0) |
			(kind == 2 && nxe ? SHADOW_PFERR_I : 0);
		if (ok) {
			assert_ram(r, 0x800010);
		} else {
			assert_fault(r, want);
		}
		gt_free(g);
	}
}

static void permission_rows(void **state)
{
	static const struct {
		uint64_t pte, dir;
		bool wp;
		unsigned acc;
		int kind;		/* 0 ok, else the fault */
		uint32_t err;
	} rows[] = {
		/* user read of a supervisor page */
		{ P | RW, P | RW | US, 1, RD | USR, 1, 0x5 },
		/* user page under a supervisor directory entry */
		{ P | RW | US, P | RW, 1, RD | USR, 1, 0x5 },
		/* kernel write to read-only page: WP=1 faults, WP=0 allowed */
		{ P | US, P | RW | US, 1, WR, 1, 0x3 },
		{ P | US, P | RW | US, 0, WR, 0, 0 },
		/* user write to read-only page faults whatever WP */
		{ P | US, P | RW | US, 0, WR | USR, 1, 0x7 },
		/* read-only directory entry makes the page read-only */
		{ P | RW | US, P | US, 1, WR | USR, 1, 0x7 },
		/* NX page: fetch faults with I/D, read is fine */
		{ P | RW | NX, P | RW, 1, FE, 1, 0x11 },
		{ P | RW | NX, P | RW, 1, RD, 0, 0 },
		/* NX on the directory entry applies to the page */
		{ P | RW | US, P | RW | US | NX, 1, FE | USR, 1, 0x15 },
		/* not present: P clear, access bits kept */
		{ 0, P | RW | US, 1, FE | USR, 1, 0x14 },
	};
	(void)state;
	for (unsigned i = 0; i < ARRAY_SIZE(rows); i++) {
		struct gt *g = gt_new(GM_64);
		if (!rows[i].wp)
			g->mode.cr0 &= ~CR0_WP;
		gt_map(g, 0x600000, 0x800000, 1, rows[i].pte, rows[i].dir);
		struct shadow_result r = gt_xl(g, 0x600000, rows[i].acc);
		if (rows[i].kind) {
			assert_fault(r, rows[i].err);
		} else {
			assert_ram(r, 0x800000);
		}
		gt_free(g);
	}
}

static void wp0_kernel_write_then_user(void **state)
{
	struct gt *g = gt_new(GM_64);
	struct shadow_result r;
	(void)state;

	g->mode.cr0 &= ~CR0_WP;
	gt_map(g, 0x600000, 0x800000, 1, P | US, P | RW | US);
	r = gt_xl(g, 0x600000, WR);		/* kernel write allowed with WP=0 */
	assert_ram(r, 0x800000);
	uint64_t spte = gt_spte(g, 0x600000, NULL, NULL);
	assert_true(spte & SPTE_W);		/* KVM: spte.w=1, spte.u=0 */
	assert_false(spte & SPTE_U);
	r = gt_xl(g, 0x600000, RD | USR);	/* user read still allowed */
	assert_ram(r, 0x800000);
	spte = gt_spte(g, 0x600000, NULL, NULL);
	assert_true(spte & SPTE_U);
	assert_false(spte & SPTE_W);
	r = gt_xl(g, 0x600000, WR | USR);
	assert_fault(r, SHADOW_PFERR_P | SHADOW_PFERR_W | SHADOW_PFERR_U);
	/* WP=1 afterwards: different role, the kernel write now faults */
	g->mode.cr0 |= CR0_WP;
	r = gt_xl(g, 0x600000, WR);
	assert_fault(r, SHADOW_PFERR_P | SHADOW_PFERR_W);
	gt_free(g);
}

static void smep(void **state)
{
	struct gt *g = gt_new(GM_32);	/* SMEP sets I/D even without PAE/NXE */
	struct shadow_result r;
	(void)state;

	g->mode.cr4 |= 1ull << 20;
	gt_map(g, 0x400000, 0x800000, 1, P | US, P | RW | US);
	gt_map(g, 0x401000, 0x801000, 1, P, P | RW | US);
	r = gt_xl(g, 0x400000, FE);		/* kernel runs user code: fault */
	assert_fault(r, SHADOW_PFERR_P | SHADOW_PFERR_I);
	r = gt_xl(g, 0x400000, FE | USR);
	assert_ram(r, 0x800000);
	r = gt_xl(g, 0x400000, FE);		/* and not through the spte either */
	assert_fault(r, SHADOW_PFERR_P | SHADOW_PFERR_I);
	r = gt_xl(g, 0x400000, RD);		/* reads are not SMEP's business */
	assert_ram(r, 0x800000);
	r = gt_xl(g, 0x401000, FE);
	assert_ram(r, 0x801000);
	r = gt_xl(g, 0x402000, FE);		/* not present: P clear, I set */
	assert_fault(r, SHADOW_PFERR_I);
	/* CR0.WP=0: a kernel write makes a kernel-only spte, which must not be executable */
	g->mode.cr0 &= ~CR0_WP;
	r = gt_xl(g, 0x400000, WR);
	assert_ram(r, 0x800000);
	struct shadow_page *sp;
	uint64_t spte = gt_spte(g, 0x400000, NULL, &sp);
	assert_true(sp->role.smep_andnot_wp);
	assert_int_equal(spte & (SPTE_W | SPTE_U | SPTE_X), SPTE_W);
	r = gt_xl(g, 0x400000, FE);
	assert_fault(r, SHADOW_PFERR_P | SHADOW_PFERR_I);
	r = gt_xl(g, 0x400000, FE | USR);
	assert_ram(r, 0x800000);
	gt_free(g);
}

static void reserved_bits(void **state)
{
	struct gt *g;
	struct shadow_result r;
	(void)state;

	/* address bit above MAXPHYADDR (40) in a PTE */
	g = gt_new(GM_64);
	gt_map(g, 0x600000, 0x800000 | (1ull << 45), 1, P | RW, P | RW);
	r = gt_xl(g, 0x600000, RD);
	assert_fault(r, SHADOW_PFERR_P | SHADOW_PFERR_RSVD);
	gt_free(g);
	/* PS in a PML4E */
	g = gt_new(GM_64);
	gt_map(g, 0x600000, 0x800000, 1, P | RW, P | RW);
	*(uint64_t *)gt_hva(g, g->mode.cr3) |= PS;
	r = gt_xl(g, 0x600000, WR | USR);
	assert_fault(r, SHADOW_PFERR_P | SHADOW_PFERR_RSVD | SHADOW_PFERR_W | SHADOW_PFERR_U);
	gt_free(g);
	/* 2 MiB PDE with bit 13 set */
	g = gt_new(GM_64);
	gt_map(g, 0x600000, 0x800000 | (1ull << 13), 2, P | RW, P | RW);
	r = gt_xl(g, 0x600000, FE);
	assert_fault(r, SHADOW_PFERR_P | SHADOW_PFERR_RSVD | SHADOW_PFERR_I);
	gt_free(g);
	/* XD with EFER.NXE=0 */
	g = gt_new(GM_64);
	g->mode.efer &= ~EFER_NXE;
	gt_map(g, 0x600000, 0x800000, 1, P | RW | NX, P | RW);
	r = gt_xl(g, 0x600000, FE);		/* no I/D without NXE */
	assert_fault(r, SHADOW_PFERR_P | SHADOW_PFERR_RSVD);
	gt_free(g);
	/* 32-bit 4 MiB PDE: bit 21 reserved with a 40-bit MAXPHYADDR */
	g = gt_new(GM_32);
	gt_map(g, 0x00800000, 0x00800000 | (1u << 21), 2, P | RW, P | RW);
	r = gt_xl(g, 0x00800000, RD);
	assert_fault(r, SHADOW_PFERR_P | SHADOW_PFERR_RSVD);
	gt_free(g);
	/* reserved bits in a non-present entry do not matter */
	g = gt_new(GM_64);
	gt_map(g, 0x600000, 0x800000 | (1ull << 45), 1, RW, P | RW);
	r = gt_xl(g, 0x600000, RD);
	assert_fault(r, 0);
	gt_free(g);
}

static void accessed_dirty(void **state)
{
	struct gt *g = gt_new(GM_64);
	uint64_t va = 0x600000;
	struct shadow_result r;
	(void)state;

	uint64_t pte = gt_map(g, va, 0x800000, 1, P | RW, P | RW);
	uint64_t pde = gt_table(g, va, 2) + 8 * ((va >> 21) & 511);
	r = gt_xl(g, va, RD);
	assert_ram(r, 0x800000);
	assert_true(gt_read_gpte(g, pte) & A);
	assert_false(gt_read_gpte(g, pte) & D);
	assert_true(gt_read_gpte(g, pde) & A);
	assert_false(gt_read_gpte(g, pde) & D);	/* D only on the leaf */
	assert_true(*(uint64_t *)gt_hva(g, g->mode.cr3) & A);
	/* clean page: the spte stays read-only until the first write */
	assert_false(gt_spte(g, va, NULL, NULL) & SPTE_W);
	r = gt_xl(g, va + 8, WR);
	assert_ram(r, 0x800008);
	assert_true(gt_read_gpte(g, pte) & D);
	assert_true(gt_spte(g, va, NULL, NULL) & SPTE_W);
	/* a faulting access sets no bits */
	uint64_t pte2 = gt_map(g, va + 0x1000, 0x801000, 1, P, P | RW);
	r = gt_xl(g, va + 0x1000, WR | USR);
	assert_fault(r, SHADOW_PFERR_P | SHADOW_PFERR_W | SHADOW_PFERR_U);
	assert_false(gt_read_gpte(g, pte2) & (A | D));
	/* 2 MiB leaf gets D, and a 32-bit PTE too */
	uint64_t big = gt_map(g, 0x40000000, 0x400000, 2, P | RW, P | RW);
	r = gt_xl(g, 0x40000010, WR);
	assert_ram(r, 0x400010);
	assert_int_equal(gt_read_gpte(g, big) & (A | D), A | D);
	gt_free(g);

	g = gt_new(GM_32);
	pte = gt_map(g, 0x1000, 0x800000, 1, P | RW, P | RW);
	r = gt_xl(g, 0x1000, RD);
	assert_int_equal(gt_read_gpte(g, pte) & (A | D), A);
	r = gt_xl(g, 0x1000, WR);
	assert_int_equal(gt_read_gpte(g, pte) & (A | D), A | D);
	gt_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(direct_mode),
		cmocka_unit_test(walk_4level),
		cmocka_unit_test(walk_2level_quadrants),
		cmocka_unit_test(pse_4m_and_pse36),
		cmocka_unit_test(walk_pae_pdptr_cache),
		cmocka_unit_test(large_2m_1g_4level),
		cmocka_unit_test(permission_matrix),
		cmocka_unit_test(permission_rows),
		cmocka_unit_test(wp0_kernel_write_then_user),
		cmocka_unit_test(smep),
		cmocka_unit_test(reserved_bits),
		cmocka_unit_test(accessed_dirty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
