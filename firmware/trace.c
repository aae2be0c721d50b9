/*
 * The smallest useful guest: one exit of each common kind, then "ok".
 * Its `mvm --trace exits` output is short enough to check line by line.
 */
#include "fw.h"

int fw_main(uint32_t magic, const struct multiboot_info *mb)
{
	static const char abc[] = "abc";
	volatile uint32_t *mmio = (volatile uint32_t *)0xff000000u;
	uintptr_t s = (uintptr_t)abc;
	uint32_t n = 3, v, m;

	outw(0xe0, 0x1234);
	v = inl(0xe0);
	*mmio = 0xdeadbeef;
	m = *mmio;
	__asm__ volatile("rep outsb" : "+S"(s), "+c"(n) : "d"(0xe0) : "memory");
	puts_serial(v == 0x1234 && m == 0xdeadbeef && inb(0xe0) == 'c' ? "ok\n" : "bad\n");
	return 0;
}
