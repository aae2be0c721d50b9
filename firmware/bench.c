/*
 * Interpreter benchmark guest (bench/interp.sh).  The multiboot command line
 * picks the workload and its iteration count:
 *
 *   mode=compute n=N   N iterations of a 10-instruction ALU/load/store loop
 *   mode=pt n=N        N sweeps over 512 pages: per page flip its PTE to the
 *                      other frame of a pair, INVLPG, store, load (8
 *                      instructions), plus a CR3 reload per sweep (7)
 *
 * The loops are inline assembly so the instruction count is exact whatever
 * the compiler does: BENCH_COMPUTE_INSNS and BENCH_PT_INSNS per iteration
 * (the script multiplies; tests/integration/trace.sh counts them with
 * --trace insn between the bench_*_loop and bench_*_end labels).
 * Prints "bench: <mode> n=<N> sum=<hex>" and exits through isa-debug-exit
 * with 0.  bench64.c builds the compute workload for long mode.
 */
#ifdef BENCH_LONG_MODE
#include "fw.h"
#else
#include "pt.h"
#endif

#define BENCH_COMPUTE_INSNS	10
#define PT_PAGES		512
#define BENCH_PT_INSNS		(7 + 8 * PT_PAGES)
#define PT_FRAMES		(16u << 20)	/* 512 pairs of 4K frames, above the identity map */

static uint32_t scratch[16];

__attribute__((noinline)) static uint32_t compute(uint32_t n)
{
	uint32_t a = 1, b = 2, s = 3;

	__asm__ volatile(
		".globl bench_compute_loop, bench_compute_end\n"
		"bench_compute_loop:\n\t"
		"add %%esi, %%eax\n\t"
		"xor %%eax, %%ebx\n\t"
		"lea 3(%%ebx,%%eax,2), %%esi\n\t"
		"rol $5, %%ebx\n\t"
		"mov %%eax, (%[buf])\n\t"
		"add 4(%[buf]), %%esi\n\t"
		"imul $33, %%esi, %%esi\n\t"
		"sub %%ebx, %%eax\n\t"
		"dec %%ecx\n\t"
		"jnz bench_compute_loop\n"
		"bench_compute_end:\n"
		: "+a"(a), "+b"(b), "+S"(s), "+c"(n)
		: [buf] "r"(scratch)
		: "memory", "cc");
	return a ^ b ^ s;
}

#ifndef BENCH_LONG_MODE
__attribute__((noinline)) static uint32_t pt_sweeps(uint32_t n)
{
	uint32_t sum = 0, win = TEST_VA, pte = pt_test_table();

	for (unsigned i = 0; i < PT_PAGES; i++)
		pt_set_pte(i, (PT_FRAMES + 8192u * i) | PTE_P | PTE_W);
	write_cr3(read_cr3());
	__asm__ volatile(
		".globl bench_pt_loop, bench_pt_end\n"
		"bench_pt_loop:\n\t"
		"mov %%cr3, %%eax\n\t"
		"mov %%eax, %%cr3\n\t"
		"mov %[win], %%edi\n\t"
		"mov %[pte], %%esi\n\t"
		"mov %[pages], %%ecx\n"
		"1:\n\t"
		"xorl $0x1000, (%%esi)\n\t"	/* the other frame of the pair */
		"invlpg (%%edi)\n\t"
		"mov %%ecx, (%%edi)\n\t"
		"add (%%edi), %%ebx\n\t"
		"add $4, %%esi\n\t"
		"add $4096, %%edi\n\t"
		"dec %%ecx\n\t"
		"jnz 1b\n\t"
		"dec %%edx\n\t"
		"jnz bench_pt_loop\n"
		"bench_pt_end:\n"
		: "+b"(sum), "+d"(n)
		: [win] "g"(win), [pte] "g"(pte), [pages] "i"(PT_PAGES)
		: "eax", "ecx", "esi", "edi", "memory", "cc");
	return sum;
}
#endif

/* Just past @w where it starts a word of @s (at the start or after a blank), or NULL. */
static const char *find_word(const char *s, const char *w)
{
	for (const char *p = s; p && *p; p++) {
		const char *k = w, *q = p;

		if (p != s && p[-1] != ' ')
			continue;
		while (*k && *q == *k)
			k++, q++;
		if (!*k)
			return q;
	}
	return NULL;
}

static uint32_t arg_num(const char *s, const char *key, uint32_t def)
{
	const char *p = find_word(s, key);
	uint32_t v = 0;

	if (!p || *p < '0' || *p > '9')
		return def;
	while (*p >= '0' && *p <= '9')
		v = v * 10 + (uint32_t)(*p++ - '0');
	return v;
}

int fw_main(uint32_t magic, const struct multiboot_info *mb)
{
	const char *cmd = (mb->flags & 4) ? (const char *)(uintptr_t)mb->cmdline : "";
	uint32_t n = arg_num(cmd, "n=", 1), sum = 0;

#ifndef BENCH_LONG_MODE
	const char *pt = find_word(cmd, "mode=pt");

	if (pt && (*pt == ' ' || !*pt)) {
		pt_enable(PT_32, 0);
		if (n)
			sum = pt_sweeps(n);
		printf("bench: pt n=%u insns/iter=%u sum=%x\n", n, BENCH_PT_INSNS, sum);
		return 0;
	}
#endif
	if (n)
		sum = compute(n);
	printf("bench: compute n=%u insns/iter=%u sum=%x\n", n, BENCH_COMPUTE_INSNS, sum);
	return 0;
}
