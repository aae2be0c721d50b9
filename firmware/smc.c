/*
 * (e) Self-modifying code.  Only the architecturally guaranteed form is
 * tested: store the new instruction bytes, then branch to them.  Covers a
 * patched immediate in a loop, code patching its own page, string stores,
 * an instruction straddling two pages, whole-instruction replacement, and
 * (with paging) writes through an alias mapping of the code's frame.
 */
#include "pt.h"

extern char const_fn_tmpl[], const_fn_end[], other_fn_tmpl[], other_fn_end[];
uint32_t smc_same_page(uint32_t v);

static uint8_t code[3 * 4096] __attribute__((aligned(4096)));

typedef uint32_t (*fn_t)(void);

static void put_const_fn(uint8_t *at, uint32_t v)
{
	memcpy(at, const_fn_tmpl, (size_t)(const_fn_end - const_fn_tmpl));
	memcpy(at + 1, &v, 4);
}

static void patch_loop(void)
{
	fn_t fn = (fn_t)(code + 0x40);
	int ok = 1;

	put_const_fn(code + 0x40, 0);
	for (uint32_t i = 1; i <= 300; i++) {
		*(volatile uint32_t *)(code + 0x41) = i * 0x01010101u;
		ok &= fn() == i * 0x01010101u;
	}
	check(ok, "immediate patched 300 times between calls");
}

static void same_page(void)
{
	int ok = 1;

	for (uint32_t i = 0; i < 50; i++)
		ok &= smc_same_page(0x5000 + i) == 0x5000 + i;
	check(ok, "code patches an instruction on its own page, then jumps to it");
}

static void string_store(void)
{
	uint8_t tmp[8];
	uintptr_t d = (uintptr_t)(code + 0x80), s = (uintptr_t)tmp;
	size_t n;
	uint32_t v = 0xfeedbeef;

	put_const_fn(code + 0x80, 1);
	(void)((fn_t)(code + 0x80))();
	memcpy(tmp, const_fn_tmpl, 6);
	memcpy(tmp + 1, &v, 4);
	n = 6;
	__asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) :: "memory");
	check(((fn_t)(code + 0x80))() == v, "code rewritten by rep movsb");
}

static void replace(void)
{
	fn_t fn = (fn_t)(code + 0xc0);
	int ok;

	put_const_fn(code + 0xc0, 77);
	ok = fn() == 77;
	memcpy(code + 0xc0, other_fn_tmpl, (size_t)(other_fn_end - other_fn_tmpl));
	ok &= fn() == 3;
	put_const_fn(code + 0xc0, 78);
	ok &= fn() == 78;
	check(ok, "instructions replaced by a different sequence and back");
}

static void straddle(void)
{
	uint8_t *at = code + 4096 - 2;	/* opcode and one immediate byte on page 0 */
	fn_t fn = (fn_t)at;
	int ok;

	put_const_fn(at, 0x11223344);
	ok = fn() == 0x11223344;
	at[3] = 0x99;			/* page 1 */
	ok &= fn() == 0x11993344;
	at[1] = 0x55;			/* page 0 */
	ok &= fn() == 0x11993355;
	check(ok, "instruction straddling two pages patched on either page");
}

/* Paging: execute through va(0), write through va(1); both map frame 0. */
static void alias(enum pt_mode m)
{
	uintptr_t x = TEST_VA, w = TEST_VA + 4096;
	fn_t fn = (fn_t)(x + 0x10);
	int ok = 1;

	pt_enable(m, 0);
	pt_set_pte(0, pt_frame(0) | PTE_P | PTE_W);
	pt_set_pte(1, pt_frame(0) | PTE_P | PTE_W);
	invlpg(x);
	invlpg(w);
	put_const_fn((uint8_t *)w + 0x10, 0);
	for (uint32_t i = 0; i < 100; i++) {
		*(volatile uint32_t *)(w + 0x11) = 0xabc00 + i;
		ok &= fn() == 0xabc00 + i;
	}
	check(ok, "%s code patched through an alias mapping", m == PT_32 ? "legacy" : "pae");
	/* Make the write alias read-only and the code frame writable only by identity. */
	pt_set_pte(1, pt_frame(0) | PTE_P);
	invlpg(w);
	*(volatile uint32_t *)(pt_frame(0) + 0x11) = 4242;
	check(fn() == 4242, "%s code patched through the identity map while paged",
	      m == PT_32 ? "legacy" : "pae");
	pt_disable();
}

int fw_main(uint32_t magic, const struct multiboot_info *mb)
{
	printf("smc: self-modifying code\n");
	patch_loop();
	same_page();
	string_store();
	replace();
	straddle();
	alias(PT_32);
	alias(PT_PAE);
	return fw_summary();
}
