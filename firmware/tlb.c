/*
 * (c) INVLPG and CR3-reload semantics.  Only what the architecture
 * guarantees is asserted: after INVLPG (or a CR3 load for non-global
 * pages, or toggling CR4.PGE for global ones) the new translation is used.
 * Whether a stale translation lingers before that is not checked.
 */
#include "pt.h"

static const char *mode_name;
static uint32_t pd2[1024] __attribute__((aligned(4096)));
static uint32_t pt2_32[1024] __attribute__((aligned(4096)));
static uint64_t pdpt2[4] __attribute__((aligned(32)));
static uint64_t pd2_pae[512] __attribute__((aligned(4096)));
static uint64_t pt2_pae[512] __attribute__((aligned(4096)));

static uintptr_t va(unsigned i)
{
	return TEST_VA + i * 4096u;
}

static void map(unsigned i, unsigned frame, uint64_t extra)
{
	pt_set_pte(i, pt_frame(frame) | PTE_P | PTE_W | extra);
}

static void remap_invlpg(void)
{
	int ok = 1;

	for (int round = 0; round < 50; round++) {
		unsigned a = round % 16, b = (round * 7 + 3) % 16;

		map(0, a, 0);
		invlpg(va(0));
		ok &= peek32(va(0)) == 0x1000 + a;
		map(0, b, 0);
		invlpg(va(0));
		ok &= peek32(va(0)) == 0x1000 + b;
	}
	check(ok, "%s INVLPG makes a remapped PTE visible", mode_name);
}

static void remap_cr3(void)
{
	int ok = 1;

	for (int round = 0; round < 50; round++) {
		unsigned b = (round * 5 + 1) % 16;

		map(1, (unsigned)round % 16, 0);
		write_cr3(read_cr3());
		ok &= peek32(va(1)) == 0x1000u + (unsigned)round % 16;
		map(1, b, 0);
		write_cr3(read_cr3());
		ok &= peek32(va(1)) == 0x1000 + b;
	}
	check(ok, "%s CR3 reload makes a remapped PTE visible", mode_name);
}

static void remap_many(void)
{
	int ok = 1;

	for (unsigned i = 0; i < 64; i++)
		map(i, i % 16, 0);
	write_cr3(read_cr3());
	for (unsigned i = 0; i < 64; i++)
		ok &= peek32(va(i)) == 0x1000 + i % 16;
	for (unsigned i = 0; i < 64; i++)
		map(i, (i + 5) % 16, 0);
	for (unsigned i = 0; i < 64; i++)
		invlpg(va(i));
	for (unsigned i = 0; i < 64; i++)
		ok &= peek32(va(i)) == 0x1000 + (i + 5) % 16;
	/* INVLPG of one page must not disturb its neighbours' (correct) mappings. */
	map(10, 0, 0);
	invlpg(va(10));
	for (unsigned i = 0; i < 64; i++)
		ok &= peek32(va(i)) == 0x1000 + (i == 10 ? 0 : (i + 5) % 16);
	check(ok, "%s 64 PTEs remapped, each invalidated", mode_name);
}

static void global_pages(void)
{
	int ok;

	write_cr4(read_cr4() | CR4_PGE);
	map(2, 3, PTE_G);
	invlpg(va(2));
	ok = peek32(va(2)) == 0x1003;
	map(2, 4, PTE_G);
	invlpg(va(2));
	ok &= peek32(va(2)) == 0x1004;
	check(ok, "%s INVLPG flushes a global page", mode_name);

	map(2, 5, PTE_G);
	write_cr4(read_cr4() & ~CR4_PGE);
	write_cr4(read_cr4() | CR4_PGE);
	ok = peek32(va(2)) == 0x1005;
	check(ok, "%s toggling CR4.PGE flushes global pages", mode_name);

	/* A CR3 load must flush the non-global neighbour even with PGE on. */
	map(3, 6, 0);
	invlpg(va(3));
	(void)peek32(va(3));
	map(3, 7, 0);
	write_cr3(read_cr3());
	check(peek32(va(3)) == 0x1007, "%s CR3 reload with PGE on flushes non-global pages",
	      mode_name);
	write_cr4(read_cr4() & ~CR4_PGE);
}

static void large_remap(void)
{
	uint32_t lva = TEST_LARGE_VA(pt_mode()) + 0x123;
	int ok;

	poke32(pt_large_frame() + 0x123, 0xabc1);
	poke32(pt_large_frame2() + 0x123, 0xabc2);
	pt_set_pde_large(pt_large_frame() | PTE_P | PTE_W | PTE_PS);
	invlpg(lva);
	ok = peek32(lva) == 0xabc1;
	pt_set_pde_large(pt_large_frame2() | PTE_P | PTE_W | PTE_PS);
	invlpg(lva + 0x1000);	/* any address inside the large page will do */
	ok &= peek32(lva) == 0xabc2;
	check(ok, "%s INVLPG anywhere in a large page flushes it", mode_name);
}

/* A second set of tables mapping TEST_VA page 0 to frame 9. */
static uint32_t second_root(void)
{
	if (pt_mode() == PT_32) {
		memcpy(pd2, (void *)read_cr3(), sizeof(pd2));
		memset(pt2_32, 0, sizeof(pt2_32));
		pt2_32[0] = pt_frame(9) | PTE_P | PTE_W;
		pd2[TEST_VA >> 22] = (uint32_t)pt2_32 | PTE_P | PTE_W | PTE_U;
		return (uint32_t)pd2;
	}
	memcpy(pdpt2, (void *)read_cr3(), sizeof(pdpt2));
	memset(pd2_pae, 0, sizeof(pd2_pae));
	memset(pt2_pae, 0, sizeof(pt2_pae));
	pt2_pae[0] = pt_frame(9) | PTE_P | PTE_W;
	pd2_pae[0] = (uint32_t)pt2_pae | PTE_P | PTE_W | PTE_U;
	pdpt2[1] = (uint32_t)pd2_pae | PTE_P;
	return (uint32_t)pdpt2;
}

static void switch_roots(void)
{
	uint32_t a = read_cr3(), b = second_root();
	int ok = 1;

	map(0, 2, 0);
	invlpg(va(0));
	for (int i = 0; i < 100; i++) {
		write_cr3(b);
		ok &= peek32(va(0)) == 0x1009;
		write_cr3(a);
		ok &= peek32(va(0)) == 0x1002;
	}
	check(ok, "%s switching CR3 between two roots, 100 times", mode_name);
	/* Edit the inactive root, then switch to it: no INVLPG needed. */
	if (pt_mode() == PT_32)
		pt2_32[0] = pt_frame(11) | PTE_P | PTE_W;
	else
		pt2_pae[0] = pt_frame(11) | PTE_P | PTE_W;
	write_cr3(b);
	ok = peek32(va(0)) == 0x100b;
	write_cr3(a);
	check(ok && peek32(va(0)) == 0x1002, "%s edits to an inactive root are seen on switch",
	      mode_name);
}

int fw_main(uint32_t magic, const struct multiboot_info *mb)
{
	printf("tlb: INVLPG and CR3 reload\n");
	pt_stamp_frames(0x1000);
	for (int m = 0; m < 2; m++) {
		mode_name = m ? "pae" : "legacy";
		pt_enable(m ? PT_PAE : PT_32, 0);
		remap_invlpg();
		remap_cr3();
		remap_many();
		/*
		 * PAE: every MOV to CR4 that flips PGE makes KVM reload the PDPTEs
		 * and check their reserved bits, and QEMU TCG (the L0 of the nested
		 * KVM tests) sets bit 5 in PAE PDPTEs, so the write #GPs there.
		 * Global pages are covered in legacy mode here and in paging64.
		 */
		if (!m)
			global_pages();
		large_remap();
		switch_roots();
		pt_disable();
	}
	return fw_summary();
}
