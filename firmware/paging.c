/*
 * (b) Paging permission matrix under legacy 32-bit paging (4K, 4M pages)
 * and PAE paging with NX (4K, 2M pages): user/supervisor, read/write,
 * CR0.WP, NX, not-present and reserved-bit faults, checked through #PF
 * error codes and CR2, plus accessed/dirty bits set by the hardware.
 */
#include "pt.h"

static const char *mode_name;

static void rd(uintptr_t a) { (void)peek32(a); }
static void wr(uintptr_t a) { poke32(a, 0x5a5a5a5a); }
static void ex(uintptr_t a) { ((void (*)(void))a)(); }

/* 0 when the access behaved as wanted; prints why not. */
static int expect(const char *what, int user, void (*fn)(uintptr_t), uintptr_t va,
		  int want_fault, uint32_t want_err)
{
	int f = user ? probe_user(fn, va) : probe(fn, va);

	if (!want_fault && !f)
		return 0;
	if (want_fault && f && last_fault.vector == 14 && last_fault.err == want_err &&
	    last_fault.cr2 == va)
		return 0;
	if (!f)
		printf("  %s: want #PF err 0x%x, got no fault\n", what, want_err);
	else if (!want_fault)
		printf("  %s: want no fault, got vector %u err 0x%x cr2 0x%x\n", what,
		       last_fault.vector, last_fault.err, last_fault.cr2);
	else
		printf("  %s: want #PF err 0x%x cr2 0x%x, got vector %u err 0x%x cr2 0x%x\n",
		       what, want_err, va, last_fault.vector, last_fault.err, last_fault.cr2);
	return 1;
}

static void set_wp(int on)
{
	write_cr0(on ? read_cr0() | CR0_WP : read_cr0() & ~CR0_WP);
}

/* Map the page under test; @large selects the large-page window. */
static uintptr_t map(int large, uint64_t flags)
{
	uintptr_t va;

	if (large) {
		va = TEST_LARGE_VA(pt_mode());
		pt_set_pde_large(pt_large_frame() | PTE_PS | flags);
	} else {
		va = TEST_VA;
		pt_set_pte(0, pt_frame(0) | flags);
	}
	invlpg(va);
	return va;
}

static void matrix(int large)
{
	const char *sz = large ? (pt_mode() == PT_32 ? "4M" : "2M") : "4K";

	for (int u = 0; u <= 1; u++)
		for (int w = 0; w <= 1; w++)
			for (int wp = 0; wp <= 1; wp++) {
				uintptr_t va = map(large, PTE_P | (u ? PTE_U : 0) | (w ? PTE_W : 0)) + 0x10;
				int bad = 0;

				set_wp(wp);
				bad += expect("supervisor read", 0, rd, va, 0, 0);
				bad += expect("supervisor write", 0, wr, va, !w && wp, PF_P | PF_W);
				bad += expect("user read", 1, rd, va, !u, PF_P | PF_U);
				bad += expect("user write", 1, wr, va, !u || !w, PF_P | PF_W | PF_U);
				check(!bad, "%s %s U=%d W=%d WP=%d", mode_name, sz, u, w, wp);
			}
	set_wp(1);
}

static void not_present_and_levels(void)
{
	uintptr_t va = map(0, 0) + 0x20;
	int bad = 0;

	bad += expect("supervisor read", 0, rd, va, 1, 0);
	bad += expect("user write", 1, wr, va, 1, PF_W | PF_U);
	check(!bad, "%s not-present PTE: error code P=0", mode_name);

	map(0, PTE_P | PTE_W | PTE_U);
	pt_set_pde_test(pt_test_table() | PTE_P | PTE_W);	/* PDE supervisor-only */
	invlpg(va);
	bad = expect("user read", 1, rd, va, 1, PF_P | PF_U);
	bad += expect("supervisor write", 0, wr, va, 0, 0);
	check(!bad, "%s PDE U=0 restricts a U=1 PTE", mode_name);

	pt_set_pde_test(pt_test_table() | PTE_P | PTE_U);	/* PDE read-only */
	invlpg(va);
	set_wp(1);
	bad = expect("supervisor write", 0, wr, va, 1, PF_P | PF_W);
	bad += expect("user write", 1, wr, va, 1, PF_P | PF_W | PF_U);
	bad += expect("user read", 1, rd, va, 0, 0);
	check(!bad, "%s PDE W=0 restricts a W=1 PTE", mode_name);
	set_wp(0);
	bad = expect("supervisor write", 0, wr, va, 0, 0);
	check(!bad, "%s PDE W=0 with WP=0: supervisor may write", mode_name);
	set_wp(1);
	pt_set_pde_test(pt_test_table() | PTE_P | PTE_W | PTE_U);
	invlpg(va);
}

/*
 * A reserved-bit fault sets RSVD and, since reserved bits are only checked
 * in present entries, P as well (SDM vol. 3 4.7).  QEMU 7.2 TCG leaves P
 * clear, so P gets its own line: the QEMU transcript records that deviation.
 */
static void expect_rsvd(const char *what, uintptr_t va, uint32_t want_err)
{
	int f = probe(rd, va);
	uint32_t err = last_fault.err;

	if (!check(f && last_fault.vector == 14 && (err & ~PF_P) == want_err &&
		   last_fault.cr2 == va, "%s %s: #PF with RSVD set", mode_name, what))
		printf("  want err 0x%x (P aside) cr2 0x%x, got %s vector %u err 0x%x cr2 0x%x\n",
		       want_err, va, f ? "" : "no fault", last_fault.vector, err, last_fault.cr2);
	check(f && (err & PF_P), "%s %s: RSVD fault also sets P", mode_name, what);
}

static void reserved_bits(void)
{
	/* 4M PDE bit 21 and 2M PDE bit 13 are reserved on every CPU. */
	uintptr_t va = map(1, PTE_P | PTE_W | PTE_U |
			      (pt_mode() == PT_32 ? 1ull << 21 : 1ull << 13)) + 0x30;

	expect_rsvd("reserved bit in a large-page PDE", va, PF_RSVD);
	map(1, 0);
}

static void ad_bits(int large)
{
	const char *sz = large ? (pt_mode() == PT_32 ? "4M" : "2M") : "4K";
	uintptr_t va = map(large, PTE_P | PTE_W | PTE_U) + 0x40;
	uint64_t e, pde;

	pt_set_pde_test(pt_test_table() | PTE_P | PTE_W | PTE_U);	/* clear PDE.A */
	invlpg(va);
	rd(va);
	e = large ? pt_get_pde_large() : pt_get_pte(0);
	pde = pt_get_pde_test();
	check((e & PTE_A) && !(e & PTE_D) && (large || (pde & PTE_A)),
	      "%s %s read sets A, not D", mode_name, sz);
	/* The TLB now holds a clean entry: the write must still set D. */
	wr(va);
	e = large ? pt_get_pde_large() : pt_get_pte(0);
	check((e & PTE_A) && (e & PTE_D), "%s %s write after read sets D", mode_name, sz);

	map(large, PTE_P | PTE_W | PTE_U);
	wr(va);
	e = large ? pt_get_pde_large() : pt_get_pte(0);
	check((e & PTE_A) && (e & PTE_D), "%s %s first write sets A and D", mode_name, sz);

	map(large, PTE_P | PTE_U);
	probe(wr, va);
	e = large ? pt_get_pde_large() : pt_get_pte(0);
	set_wp(1);
	check(!(e & PTE_D), "%s %s faulting write leaves D clear", mode_name, sz);
}

static void nx(int large)
{
	const char *sz = large ? "2M" : "4K";
	uintptr_t frame = large ? pt_large_frame() : pt_frame(0);
	uintptr_t va;
	int bad;

	poke8(frame, 0xc3);	/* ret */
	va = map(large, PTE_P | PTE_W | PTE_U);
	bad = expect("supervisor exec", 0, ex, va, 0, 0);
	bad += expect("user exec", 1, ex, va, 0, 0);
	check(!bad, "pae %s NX=0: executable", sz);

	va = map(large, PTE_P | PTE_W | PTE_U | PTE_NX);
	bad = expect("supervisor exec", 0, ex, va, 1, PF_P | PF_I);
	bad += expect("user exec", 1, ex, va, 1, PF_P | PF_U | PF_I);
	bad += expect("supervisor read", 0, rd, va, 0, 0);
	check(!bad, "pae %s NX=1: fetch faults with I/D set, data is fine", sz);

	va = map(large, PTE_P | PTE_W);
	bad = expect("user exec", 1, ex, va, 1, PF_P | PF_U | PF_I);
	check(!bad, "pae %s user fetch from a supervisor page: I/D set", sz);

	va = map(large, 0);
	bad = expect("supervisor exec", 0, ex, va, 1, PF_I);
	check(!bad, "pae %s fetch from a not-present page: I/D set, P clear", sz);
	if (large)
		return;
	va = map(0, PTE_P | PTE_W | PTE_U);
	pt_set_pde_test(pt_test_table() | PTE_P | PTE_W | PTE_U | PTE_NX);
	invlpg(va);
	bad = expect("supervisor exec", 0, ex, va, 1, PF_P | PF_I);
	check(!bad, "pae NX in the PDE applies to the PTE's page");
	pt_set_pde_test(pt_test_table() | PTE_P | PTE_W | PTE_U);
	invlpg(va);
}

static void xd_reserved_without_nxe(void)
{
	pt_enable(PT_PAE, 0);
	mode_name = "pae";
	expect_rsvd("bit 63 with EFER.NXE=0", map(0, PTE_P | PTE_W | PTE_U | PTE_NX) + 0x50, PF_RSVD);
	pt_disable();
}

int fw_main(uint32_t magic, const struct multiboot_info *mb)
{
	uint32_t a, b, c, d;

	printf("paging: permission matrix\n");
	cpuid(0x80000001, &a, &b, &c, &d);
	if (!check(d & (1u << 20), "cpu has NX"))
		return fw_summary();

	mode_name = "legacy";
	pt_enable(PT_32, 0);
	matrix(0);
	matrix(1);
	not_present_and_levels();
	reserved_bits();
	ad_bits(0);
	ad_bits(1);
	pt_disable();

	mode_name = "pae";
	pt_enable(PT_PAE, 1);
	matrix(0);
	matrix(1);
	not_present_and_levels();
	reserved_bits();
	ad_bits(0);
	ad_bits(1);
	nx(0);
	nx(1);
	pt_disable();
	xd_reserved_without_nxe();
	return fw_summary();
}
