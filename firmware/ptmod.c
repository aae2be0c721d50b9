/*
 * (d) Page tables modified while in use: entries made present without
 * invalidation, PTEs written through an alias mapping of the page table,
 * a page table unlinked and reused as data, 4K <-> large-page switches,
 * code pages remapped under a running program and code that remaps the
 * page it is executing from.
 */
#include "pt.h"

extern char remap_self_tmpl[], remap_self_imm[], remap_self_end[];
extern char const_fn_tmpl[], const_fn_end[];

static const char *mode_name;
static uint8_t spare_pt[4096] __attribute__((aligned(4096)));

static uintptr_t va(unsigned i)
{
	return TEST_VA + i * 4096u;
}

static uint64_t pte(unsigned frame)
{
	return pt_frame(frame) | PTE_P | PTE_W;
}

static void rd(uintptr_t a) { (void)peek32(a); }

static void present_without_invlpg(void)
{
	pt_set_pte(0, 0);
	invlpg(va(0));
	pt_set_pte(0, pte(3));
	check(!probe(rd, va(0)) && peek32(va(0)) == 0x2003,
	      "%s not-present -> present needs no INVLPG", mode_name);
	pt_set_pte(1, 0);
	invlpg(va(1));
	check(probe(rd, va(1)) && last_fault.vector == 14, "%s access to a not-present page faults",
	      mode_name);
	pt_set_pte(1, pte(4));
	check(!probe(rd, va(1)) && peek32(va(1)) == 0x2004,
	      "%s after the fault, making it present needs no INVLPG", mode_name);
}

/* Map the test page table itself at page 20 and edit PTEs through that. */
static void alias_edits(void)
{
	uintptr_t alias = va(20);
	int ok = 1, esz = pt_mode() == PT_32 ? 4 : 8;

	pt_set_pte(20, pt_test_table() | PTE_P | PTE_W);
	invlpg(alias);
	for (unsigned i = 0; i < 16; i++) {
		poke32(alias + 5 * esz, (uint32_t)pte(i));
		invlpg(va(5));
		ok &= peek32(va(5)) == 0x2000 + i;
	}
	check(ok, "%s PTE written through an alias of its page table", mode_name);
	/* The hardware's A bit is visible through the alias too. */
	poke32(alias + 6 * esz, (uint32_t)pte(7));
	invlpg(va(6));
	(void)peek32(va(6));
	check(peek32(alias + 6 * esz) & PTE_A, "%s A bit set by hardware, seen through the alias",
	      mode_name);
}

/* Swap in a fresh page table, scribble over the old one, swap it back. */
static void unlink_and_reuse(void)
{
	uint64_t old_pde = pt_get_pde_test();
	uint8_t saved[4096];
	int ok = 1;

	for (unsigned i = 0; i < 8; i++)
		pt_set_pte(i, pte(i));
	write_cr3(read_cr3());
	for (unsigned i = 0; i < 8; i++)
		ok &= peek32(va(i)) == 0x2000 + i;
	memset(spare_pt, 0, sizeof(spare_pt));
	for (unsigned i = 0; i < 8; i++) {
		if (pt_mode() == PT_32)
			((uint32_t *)spare_pt)[i] = (uint32_t)pte(15 - i);
		else
			((uint64_t *)spare_pt)[i] = pte(15 - i);
	}
	pt_set_pde_test((uintptr_t)spare_pt | PTE_P | PTE_W | PTE_U);
	write_cr3(read_cr3());
	memcpy(saved, (void *)pt_test_table(), sizeof(saved));
	/* The old table is plain data now: fill it with PTE-like junk. */
	for (unsigned i = 0; i < 1024; i++)
		((uint32_t *)pt_test_table())[i] = pt_frame(i % 16) | PTE_P | PTE_W;
	for (unsigned i = 0; i < 8; i++)
		ok &= peek32(va(i)) == 0x2000 + 15 - i;
	check(ok, "%s unlinked page table reused as data does not leak", mode_name);
	memcpy((void *)pt_test_table(), saved, sizeof(saved));
	pt_set_pde_test(old_pde);
	write_cr3(read_cr3());
	ok = 1;
	for (unsigned i = 0; i < 8; i++)
		ok &= peek32(va(i)) == 0x2000 + i;
	check(ok, "%s relinked page table maps again", mode_name);
}

/* The large-page window alternates between a large page and a page table. */
static void split_and_merge(void)
{
	uintptr_t lva = TEST_LARGE_VA(pt_mode());
	uint64_t old = pt_get_pde_large();
	int ok = 1;

	poke32(pt_large_frame() + 0x3000, 0x7777);
	memset(spare_pt, 0, sizeof(spare_pt));
	if (pt_mode() == PT_32)
		((uint32_t *)spare_pt)[3] = (uint32_t)pte(12);
	else
		((uint64_t *)spare_pt)[3] = pte(12);
	for (int round = 0; round < 10; round++) {
		pt_set_pde_large(pt_large_frame() | PTE_P | PTE_W | PTE_PS);
		write_cr3(read_cr3());
		ok &= peek32(lva + 0x3000) == 0x7777;
		pt_set_pde_large((uintptr_t)spare_pt | PTE_P | PTE_W);
		write_cr3(read_cr3());
		ok &= peek32(lva + 0x3000) == 0x200c;
	}
	check(ok, "%s PDE switched between large page and page table", mode_name);
	pt_set_pde_large(old);
	write_cr3(read_cr3());
}

static void install_const_fn(unsigned frame, uint32_t v)
{
	uint8_t *p = (uint8_t *)pt_frame(frame) + 0x100;

	memcpy(p, const_fn_tmpl, (size_t)(const_fn_end - const_fn_tmpl));
	memcpy(p + 1, &v, 4);
}

static void code_remap(void)
{
	int (*fn)(void) = (int (*)(void))(va(8) + 0x100);
	int ok = 1;

	install_const_fn(13, 111);
	install_const_fn(14, 222);
	for (int round = 0; round < 20; round++) {
		pt_set_pte(8, pte(13));
		invlpg(va(8));
		ok &= fn() == 111;
		pt_set_pte(8, pte(14));
		invlpg(va(8));
		ok &= fn() == 222;
	}
	check(ok, "%s code page remapped between calls", mode_name);

	/* Runs from va(9) in frame 13, remaps va(9) to frame 14, returns 2. */
	{
		int (*self)(void *, uint32_t, uint32_t) = (void *)va(9);
		size_t n = (size_t)(remap_self_end - remap_self_tmpl);
		size_t imm = (size_t)(remap_self_imm - remap_self_tmpl);
		uint32_t one = 1, two = 2, r;
		void *pte_addr = (uint8_t *)pt_test_table() + 9 * (pt_mode() == PT_32 ? 4 : 8);

		memcpy((void *)pt_frame(13), remap_self_tmpl, n);
		memcpy((uint8_t *)pt_frame(13) + imm, &one, 4);
		memcpy((void *)pt_frame(14), remap_self_tmpl, n);
		memcpy((uint8_t *)pt_frame(14) + imm, &two, 4);
		pt_set_pte(9, pte(13));
		invlpg(va(9));
		r = (uint32_t)self(pte_addr, (uint32_t)pte(14), va(9));
		if (!check(r == 2, "%s code remaps its own page: next fetch uses the new one",
			   mode_name))
			printf("  returned %u\n", r);
	}
	pt_stamp_frames(0x2000);
}

static void aliases(void)
{
	int ok = 1;

	pt_set_pte(30, pte(10));
	pt_set_pte(31, pte(10));
	invlpg(va(30));
	invlpg(va(31));
	for (uint32_t i = 0; i < 100; i++) {
		poke32(va(30) + 0x40, i);
		ok &= peek32(va(31) + 0x40) == i;
		poke32(va(31) + 0x44, ~i);
		ok &= peek32(va(30) + 0x44) == ~i;
	}
	check(ok, "%s two virtual pages aliasing one frame stay coherent", mode_name);
}

int fw_main(uint32_t magic, const struct multiboot_info *mb)
{
	printf("ptmod: page tables modified while in use\n");
	pt_stamp_frames(0x2000);
	for (int m = 0; m < 2; m++) {
		mode_name = m ? "pae" : "legacy";
		pt_enable(m ? PT_PAE : PT_32, 0);
		present_without_invlpg();
		alias_edits();
		unlink_and_reuse();
		split_and_merge();
		code_remap();
		aliases();
		pt_disable();
	}
	return fw_summary();
}
