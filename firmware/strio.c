/*
 * (g) String port I/O: rep outs/ins of every width against the pc-testdev
 * echo register, backwards (DF=1), a zero count, and long transfers that
 * cross page boundaries (KVM splits those; an emulator must not lose data).
 */
#include "fw.h"

#define ECHO 0xe0

static uint8_t buf[3 * 4096] __attribute__((aligned(4096)));

static void outs(int width, uint16_t port, const void *src, uint32_t n, int back)
{
	uintptr_t s = (uintptr_t)src;

	if (back)
		__asm__ volatile("std");
	switch (width) {
	case 1: __asm__ volatile("rep outsb" : "+S"(s), "+c"(n) : "d"(port) : "memory"); break;
	case 2: __asm__ volatile("rep outsw" : "+S"(s), "+c"(n) : "d"(port) : "memory"); break;
	default: __asm__ volatile("rep outsl" : "+S"(s), "+c"(n) : "d"(port) : "memory"); break;
	}
	__asm__ volatile("cld");
}

static uintptr_t ins(int width, uint16_t port, void *dst, uint32_t n, int back)
{
	uintptr_t d = (uintptr_t)dst;

	if (back)
		__asm__ volatile("std");
	switch (width) {
	case 1: __asm__ volatile("rep insb" : "+D"(d), "+c"(n) : "d"(port) : "memory"); break;
	case 2: __asm__ volatile("rep insw" : "+D"(d), "+c"(n) : "d"(port) : "memory"); break;
	default: __asm__ volatile("rep insl" : "+D"(d), "+c"(n) : "d"(port) : "memory"); break;
	}
	__asm__ volatile("cld");
	return d;
}

static int all_equal(const uint8_t *p, uint32_t n, const void *pat, uint32_t w)
{
	for (uint32_t i = 0; i < n; i += w)
		if (memcmp(p + i, pat, w))
			return 0;
	return 1;
}

int fw_main(uint32_t magic, const struct multiboot_info *mb)
{
	static const uint8_t bytes[] = { 0x11, 0x22, 0x33, 0x44, 0x55 };
	static const uint16_t words[] = { 0x1111, 0x2222, 0xbeef };
	static const uint32_t longs[] = { 1, 2, 3, 0xfeedface };
	uint32_t v;
	uintptr_t end;

	printf("strio: string port I/O\n");
	outl(ECHO, 0);
	outs(1, ECHO, bytes, 5, 0);
	check(inl(ECHO) == 0x55, "rep outsb: last byte wins");
	outs(1, ECHO + 1, bytes, 5, 0);
	check(inl(ECHO) == 0x5555, "rep outsb to lane 1");
	outs(2, ECHO + 2, words, 3, 0);
	check(inl(ECHO) == 0xbeef5555, "rep outsw to lanes 2-3");
	outs(4, ECHO, longs, 4, 0);
	check(inl(ECHO) == 0xfeedface, "rep outsl");
	outs(4, ECHO, &longs[3], 4, 1);
	check(inl(ECHO) == 1, "rep outsl backwards (DF=1) ends on the first element");
	outs(2, ECHO, &words[2], 3, 1);
	check(inw(ECHO) == 0x1111, "rep outsw backwards");
	outl(ECHO, 0xa5a5a5a5);
	outs(1, ECHO, bytes, 0, 0);
	check(inl(ECHO) == 0xa5a5a5a5, "rep outsb with count 0 does nothing");

	outl(ECHO, 0x44434241);
	memset(buf, 0, sizeof(buf));
	end = ins(1, ECHO + 1, buf, 4, 0);
	check(memcmp(buf, "BBBB", 5) == 0 && end == (uintptr_t)buf + 4, "rep insb");
	memset(buf, 0, sizeof(buf));
	end = ins(2, ECHO + 2, buf, 3, 0);
	check(memcmp(buf, "CDCDCD", 7) == 0 && end == (uintptr_t)buf + 6, "rep insw");
	memset(buf, 0, sizeof(buf));
	end = ins(4, ECHO, buf + 8, 3, 1);
	check(memcmp(buf, "ABCDABCDABCD", 13) == 0 && end == (uintptr_t)buf - 4,
	      "rep insl backwards (DF=1)");

	/* Page-crossing transfers: 3 pages, starting mid-page. */
	v = 0x9a8b7c6d;
	outl(ECHO, v);
	memset(buf, 0, sizeof(buf));
	end = ins(4, ECHO, buf + 2048, 2048, 0);
	check(all_equal(buf + 2048, 8192, &v, 4) && buf[2047] == 0 && buf[2048 + 8192] == 0 &&
	      end == (uintptr_t)buf + 2048 + 8192, "rep insl 8 KiB across pages");
	memset(buf, 0, sizeof(buf));
	end = ins(2, ECHO, buf + 4093, 2000, 0);
	check(all_equal(buf + 4093, 4000, &v, 2) && buf[4092] == 0 && buf[4093 + 4000] == 0,
	      "rep insw misaligned across a page");
	memset(buf, 0, sizeof(buf));
	end = ins(1, ECHO + 3, buf + 100, 9000, 0);
	check(all_equal(buf + 100, 9000, "\x9a", 1) && buf[99] == 0 && buf[9100] == 0,
	      "rep insb 9000 bytes across pages");
	for (uint32_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 13);
	outs(1, ECHO, buf + 1, 8190, 0);
	check(inb(ECHO) == (uint8_t)(8190 * 13), "rep outsb 8190 bytes across pages");
	outs(4, ECHO, buf + 4090, 3, 0);
	check(inl(ECHO) == *(uint32_t *)(buf + 4098), "rep outsl straddling a page");
	return fw_summary();
}
