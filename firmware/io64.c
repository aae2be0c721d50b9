/*
 * (f, long mode) MMIO with plain 64-bit instructions: 1/2/4/8-byte moves,
 * a moffs64 move, 8-byte read-modify-write, xchg and cmpxchg, rep movsq and
 * rep stosq, and port I/O (including string I/O) from 64-bit code.
 */
#include "fw.h"

#define IOMEM 0xff000000ull
#define ECHO 0xe0

static volatile uint64_t *q(unsigned off) { return (volatile uint64_t *)(IOMEM + off); }

/* The boot map covers 1 GiB: map 3-4 GiB (the MMIO hole) uncached, 2M pages. */
extern volatile uint64_t pdpt0[];
static volatile uint64_t pd_hole[512] __attribute__((aligned(4096)));

static void map_hole(void)
{
	for (uint64_t i = 0; i < 512; i++)
		pd_hole[i] = (0xc0000000ull + (i << 21)) | 0x80 | 0x10 | 0x3;	/* PS PCD W P */
	pdpt0[3] = (uintptr_t)pd_hole | 0x3;
	write_cr3(read_cr3());
}

int fw_main(uint32_t magic, const struct multiboot_info *mb)
{
	uint64_t v, old;
	uint64_t buf[4] = { 1, 2, 3, 0x8877665544332211ull }, back[4] = { 0 };
	uintptr_t d, s;
	size_t n;

	printf("io64: MMIO and port I/O from 64-bit code\n");
	map_hole();
	*q(0) = 0x0123456789abcdefull;
	check(*q(0) == 0x0123456789abcdefull, "mmio 8-byte mov");
	check(*(volatile uint32_t *)(IOMEM + 4) == 0x01234567 &&
	      *(volatile uint16_t *)(IOMEM + 2) == 0x89ab &&
	      *(volatile uint8_t *)(IOMEM + 1) == 0xcd, "mmio 4/2/1-byte reads of it");
	*(volatile uint8_t *)(IOMEM + 7) = 0xfe;
	check(*q(0) == 0xfe23456789abcdefull, "mmio 1-byte write into it");
	__asm__ volatile("movabs %%rax, 0xff000010" :: "a"(0x1122334455667788ull) : "memory");
	__asm__ volatile("movabs 0xff000010, %%rax" : "=a"(v) :: "memory");
	check(v == 0x1122334455667788ull, "mmio moffs64 store and load");
	*q(0x20) = 41;
	__asm__ volatile("addq $1, %0" : "+m"(*q(0x20)));
	check(*q(0x20) == 42, "mmio 8-byte add to memory");
	old = 0xaaaabbbbccccddddull;
	__asm__ volatile("xchg %0, %1" : "+r"(old), "+m"(*q(0x20)));
	check(old == 42 && *q(0x20) == 0xaaaabbbbccccddddull, "mmio 8-byte xchg");
	old = 0xaaaabbbbccccddddull;
	__asm__ volatile("lock cmpxchgq %2, %1" : "+a"(old), "+m"(*q(0x20)) : "r"(7ull) : "cc");
	check(*q(0x20) == 7, "mmio 8-byte cmpxchg");
	d = IOMEM + 0x100;
	s = (uintptr_t)buf;
	n = 4;
	__asm__ volatile("rep movsq" : "+D"(d), "+S"(s), "+c"(n) :: "memory");
	d = (uintptr_t)back;
	s = IOMEM + 0x100;
	n = 4;
	__asm__ volatile("rep movsq" : "+D"(d), "+S"(s), "+c"(n) :: "memory");
	check(memcmp(buf, back, sizeof(buf)) == 0, "mmio rep movsq both ways");
	d = IOMEM + 0x200;
	n = 3;
	__asm__ volatile("rep stosq" : "+D"(d), "+c"(n) : "a"(0x5555aaaa5555aaaaull) : "memory");
	check(*q(0x200) == 0x5555aaaa5555aaaaull && *q(0x210) == 0x5555aaaa5555aaaaull &&
	      *q(0x218) != 0x5555aaaa5555aaaaull, "mmio rep stosq");

	outl(ECHO, 0xc0ffee11);
	check(inl(ECHO) == 0xc0ffee11 && inw(ECHO + 2) == 0xc0ff && inb(ECHO + 1) == 0xee,
	      "pio from 64-bit code");
	s = (uintptr_t)buf;
	n = 9;		/* the ninth word is buf[2]'s low word */
	__asm__ volatile("rep outsw" : "+S"(s), "+c"(n) : "d"(ECHO) : "memory");
	check(inw(ECHO) == 0x0003 && s == (uintptr_t)buf + 18, "rep outsw from 64-bit code");
	return fw_summary();
}
