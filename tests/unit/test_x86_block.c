/*
 * The block engine of the x86 interpreter (x86_block.c), seen from outside:
 * an abort in the middle of a block (page fault, MMIO read) must leave the
 * state of an instruction boundary with the flags of the last instruction
 * before it, an MMIO write must end the run right after its instruction,
 * the instruction budget is exact, and branches leave blocks where they
 * should.  Code changing under blocks is in test_x86_smc.c, the lazy flags
 * of x86_fast.c in test_x86_flags.c, random code in test_x86_block_rand.c;
 * the STI shadow is in test_x86.c.
 *
 * Machine code below was assembled with GNU as (source in the comments,
 * offsets from CODE on the left).
 */
#include "x86_env.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Run the code at CODE again from a clean register file, keeping the block cache. */
static void restart(struct x86_cpu *cpu)
{
	memset(cpu->gpr, 0, sizeof(cpu->gpr));
	cpu->gpr[X86_RSP] = STACK;
	cpu->rip = CODE;
	cpu->rflags = X86_FL_FIXED1;
	cpu->halted = false;
}

/* The exception frame (with an error code) on the handler's stack. */
static uint64_t frame(const struct env *e, const struct x86_cpu *cpu, unsigned slot)
{
	return get64(e->ram, cpu->gpr[X86_RSP] + 8 * slot);
}
enum { FR_ERR, FR_RIP, FR_CS, FR_RFLAGS, FR_RSP };

/* ---- aborts in the middle of a block ---- */

static const uint8_t code_pf_mid[] = {
	0xbe, 0x08, 0x00, 0x30, 0x00,			/* 00: mov esi, FAULT_LO + 8 */
	0x48, 0xc7, 0xc0, 0xff, 0xff, 0xff, 0xff,	/* 05: mov rax, -1 */
	0xbb, 0x02, 0x00, 0x00, 0x00,			/* 0c: mov ebx, 2 */
	0x48, 0x01, 0xd8,				/* 11: add rax, rbx   CF AF, not ZF SF OF PF */
	0x48, 0x8b, 0x0e,				/* 14: mov rcx, [rsi]   #PF */
	0xf4,						/* 17: hlt */
};

/* the same across a chained jump; the last flag writer is an INC keeping the ADD's CF */
static const uint8_t code_pf_chain[] = {
	0xbe, 0x08, 0x00, 0x30, 0x00,			/* 00: mov esi, FAULT_LO + 8 */
	0x48, 0xc7, 0xc0, 0xff, 0xff, 0xff, 0xff,	/* 05: mov rax, -1 */
	0xeb, 0x00,					/* 0c: jmp 0e */
	0xbb, 0x02, 0x00, 0x00, 0x00,			/* 0e: mov ebx, 2 */
	0x48, 0x01, 0xd8,				/* 13: add rax, rbx */
	0x48, 0xff, 0xc2,				/* 16: inc rdx   CF kept, nothing else set */
	0x48, 0x8b, 0x0e,				/* 19: mov rcx, [rsi]   #PF */
	0xf4,						/* 1c: hlt */
};

/* the last flag writer is a generic (not specialised) instruction */
static const uint8_t code_pf_generic[] = {
	0xbe, 0x08, 0x00, 0x30, 0x00,			/* 00: mov esi, FAULT_LO + 8 */
	0xba, 0x01, 0x00, 0x00, 0x00,			/* 05: mov edx, 1 */
	0x48, 0xf7, 0xda,				/* 0a: neg rdx   CF PF AF SF */
	0x48, 0x8b, 0x0e,				/* 0d: mov rcx, [rsi]   #PF */
	0xf4,						/* 10: hlt */
};

static const struct {
	const uint8_t *code;
	size_t len;
	unsigned before, rip;	/* instructions retired before the fault, its offset */
	uint64_t flags;		/* arithmetic flags of the last flag writer */
} pf_cases[] = {
	{ code_pf_mid, sizeof(code_pf_mid), 4, 0x14, X86_FL_CF | X86_FL_AF },
	{ code_pf_chain, sizeof(code_pf_chain), 6, 0x19, X86_FL_CF },
	{ code_pf_generic, sizeof(code_pf_generic), 3, 0x0d, X86_FL_CF | X86_FL_PF | X86_FL_AF | X86_FL_SF },
};

static void test_fault_mid_block(void **st)
{
	(void)st;
	for (unsigned k = 0; k < ARRAY_SIZE(pf_cases); k++) {
		struct x86_cpu cpu;
		struct x86_exit ex;
		struct env *e = long_mode(&cpu, pf_cases[k].code, pf_cases[k].len);
		/* the opposite of what the code computes: stale flags cannot pass */
		uint64_t stale = X86_FL_FIXED1 | (X86_FL_ARITH & ~pf_cases[k].flags);

		for (unsigned pass = 0; pass < 2; pass++) {	/* decoded, then from the block cache */
			uint64_t n0 = cpu.stats.insns;

			cpu.rflags = stale;
			cpu.gpr[X86_RCX] = 0xdead;
			cpu.gpr[X86_RDX] = 0;	/* not the reset value: INC RDX must give 1 */
			/* the delivery counts against the budget: stop right at the handler */
			assert_int_equal(x86__run(&cpu, &ops, e, pf_cases[k].before + 1, &ex), X86_EV_BUDGET);
			assert_int_equal(cpu.rip, HANDLERS + X86_EXC_PF * 16);
			assert_int_equal(cpu.stats.insns - n0, pf_cases[k].before);
			assert_int_equal(cpu.cr2, FAULT_LO + 8);
			assert_int_equal(frame(e, &cpu, FR_ERR), 0);
			assert_int_equal(frame(e, &cpu, FR_RIP), CODE + pf_cases[k].rip);
			assert_int_equal(frame(e, &cpu, FR_RFLAGS) & X86_FL_ARITH, pf_cases[k].flags);
			assert_int_equal(frame(e, &cpu, FR_RSP), STACK);
			/* earlier instructions of the block are kept, the faulting one did nothing */
			assert_int_equal(cpu.gpr[X86_RSI], FAULT_LO + 8);
			assert_int_equal(cpu.gpr[X86_RCX], 0xdead);
			if (k < 2) {
				assert_int_equal(cpu.gpr[X86_RAX], 1);
				assert_int_equal(cpu.gpr[X86_RBX], 2);
			} else {
				assert_int_equal(cpu.gpr[X86_RDX], (uint64_t)-1);
			}
			assert_in_handler(&cpu, run(&cpu, e, &ex), X86_EXC_PF);
			restart(&cpu);
		}
		env_done(&cpu, e);
	}
}

static const uint8_t code_mmio_write[] = {
	0xb8, 0x01, 0x00, 0x00, 0x00,			/* 00: mov eax, 1 */
	0xbf, 0x00, 0x00, 0x00, 0xd0,			/* 05: mov edi, MMIO_BASE */
	0x83, 0xf8, 0x02,				/* 0a: cmp eax, 2   CF PF AF SF */
	0x89, 0x47, 0x08,				/* 0d: mov [rdi + 8], eax */
	0xbb, 0x02, 0x00, 0x00, 0x00,			/* 10: mov ebx, 2 */
	0x01, 0xc3,					/* 15: add ebx, eax   PF */
	0xf4,						/* 17: hlt */
};

static void test_mmio_write_mid_block(void **st)
{
	struct x86_cpu cpu;
	struct x86_exit ex;
	struct env *e = long_mode(&cpu, code_mmio_write, sizeof(code_mmio_write));

	(void)st;
	for (unsigned pass = 0; pass < 2; pass++) {
		uint64_t n0 = cpu.stats.insns;

		cpu.rflags = X86_FL_FIXED1 | X86_FL_ZF | X86_FL_OF;
		assert_int_equal(run(&cpu, e, &ex), X86_EV_MMIO);
		assert_int_equal(ex.mmio.is_write, 1);
		assert_int_equal(ex.mmio.gpa, MMIO_BASE + 8);
		assert_int_equal(ex.mmio.len, 4);
		assert_int_equal(get32(ex.mmio.data, 0), 1);
		/* right after the store: retired, nothing after it ran, the CMP's flags in RFLAGS */
		assert_int_equal(cpu.rip, CODE + 0x10);
		assert_int_equal(cpu.stats.insns - n0, 4);
		assert_int_equal(cpu.gpr[X86_RBX], 0);
		assert_int_equal(cpu.rflags & X86_FL_ARITH, X86_FL_CF | X86_FL_PF | X86_FL_AF | X86_FL_SF);
		assert_int_equal(run(&cpu, e, &ex), X86_EV_HLT);
		assert_int_equal(cpu.gpr[X86_RBX], 3);
		assert_int_equal(cpu.rip, CODE + 0x18);
		assert_int_equal(cpu.stats.insns - n0, 7);
		assert_int_equal(cpu.rflags & X86_FL_ARITH, X86_FL_PF);
		restart(&cpu);
	}
	env_done(&cpu, e);
}

static const uint8_t code_mmio_read[] = {
	0xbb, 0x07, 0x00, 0x00, 0x00,			/* 00: mov ebx, 7 */
	0x83, 0xfb, 0x07,				/* 05: cmp ebx, 7   ZF PF */
	0xbf, 0x00, 0x00, 0x00, 0xd0,			/* 08: mov edi, MMIO_BASE */
	0x8b, 0x47, 0x10,				/* 0d: mov eax, [rdi + 0x10] */
	0x01, 0xd8,					/* 10: add eax, ebx */
	0xf4,						/* 12: hlt */
};

static void test_mmio_read_mid_block(void **st)
{
	struct x86_cpu cpu;
	struct x86_exit ex;
	struct env *e = long_mode(&cpu, code_mmio_read, sizeof(code_mmio_read));

	(void)st;
	for (unsigned pass = 0; pass < 2; pass++) {
		uint64_t n0 = cpu.stats.insns;
		uint32_t v = 0x100 + pass;

		cpu.rflags = X86_FL_FIXED1 | X86_FL_CF | X86_FL_SF | X86_FL_OF | X86_FL_AF;
		cpu.gpr[X86_RAX] = 0x5555;
		assert_int_equal(run(&cpu, e, &ex), X86_EV_MMIO);
		assert_int_equal(ex.mmio.is_write, 0);
		assert_int_equal(ex.mmio.gpa, MMIO_BASE + 0x10);
		assert_int_equal(ex.mmio.len, 4);
		/* at the load, with the state of the boundary before it (CMP's flags included) */
		assert_int_equal(cpu.rip, CODE + 0x0d);
		assert_int_equal(cpu.stats.insns - n0, 3);
		assert_int_equal(cpu.gpr[X86_RBX], 7);
		assert_int_equal(cpu.gpr[X86_RDI], MMIO_BASE);
		assert_int_equal(cpu.gpr[X86_RAX], 0x5555);
		assert_int_equal(cpu.rflags & X86_FL_ARITH, X86_FL_ZF | X86_FL_PF);
		x86__complete_mmio(&cpu, &v, 4);
		assert_int_equal(run(&cpu, e, &ex), X86_EV_HLT);
		assert_int_equal(cpu.gpr[X86_RAX], v + 7);
		assert_int_equal(cpu.rip, CODE + 0x13);
		assert_int_equal(cpu.stats.insns - n0, 6);
		restart(&cpu);
	}
	env_done(&cpu, e);
}

/* ---- budget ---- */

/* One round of a long straight-line run: 8 instructions, 26 bytes. */
static const uint8_t round8[] = {
	0x48, 0xff, 0xc0,				/* inc rax */
	0x48, 0x01, 0xc3,				/* add rbx, rax */
	0xb9, 0x44, 0x33, 0x22, 0x11,			/* mov ecx, 0x11223344 */
	0x48, 0x8d, 0x54, 0x58, 0x08,			/* lea rdx, [rax + rbx * 2 + 8] */
	0x48, 0x3d, 0xe8, 0x03, 0x00, 0x00,		/* cmp rax, 1000   (generic handler) */
	0x74, 0x00,					/* jz +0   (not taken) */
	0x50,						/* push rax */
	0x5a,						/* pop rdx */
};
static const uint8_t round8_len[] = { 3, 3, 5, 5, 6, 2, 1, 1 };
#define ROUNDS 7

static uint64_t boundary(unsigned n)
{
	uint64_t off = 0;

	for (unsigned k = 0; k < n; k++)
		off += round8_len[k % 8];
	return CODE + off;
}

static void test_budget_exact(void **st)
{
	static const unsigned budgets[] = { 1, 3, 17, 40 };
	uint8_t code[ROUNDS * sizeof(round8) + 1];
	struct x86_cpu cpu, ref;
	struct x86_exit ex;
	struct env *e;

	(void)st;
	for (unsigned r = 0; r < ROUNDS; r++)
		memcpy(code + r * sizeof(round8), round8, sizeof(round8));
	code[ROUNDS * sizeof(round8)] = 0xf4;
	e = long_mode(&cpu, code, sizeof(code));
	_Static_assert(sizeof(round8) == 3 + 3 + 5 + 5 + 6 + 2 + 1 + 1, "round8_len[] matches round8[]");
	for (unsigned b = 0; b < ARRAY_SIZE(budgets); b++) {
		unsigned n = budgets[b];
		uint64_t n0 = cpu.stats.insns;

		restart(&cpu);
		assert_int_equal(x86__run(&cpu, &ops, e, n, &ex), X86_EV_BUDGET);
		assert_int_equal(cpu.stats.insns - n0, n);
		assert_int_equal(cpu.rip, boundary(n));
		assert_int_equal(cpu.gpr[X86_RAX], (n + 7) / 8);	/* INCs among the first n */
	}
	/* 17 then 23 more: the same state as 40 at once */
	ref = cpu;
	restart(&cpu);
	assert_int_equal(x86__run(&cpu, &ops, e, 17, &ex), X86_EV_BUDGET);
	assert_int_equal(x86__run(&cpu, &ops, e, 23, &ex), X86_EV_BUDGET);
	assert_int_equal(cpu.rip, boundary(40));
	assert_memory_equal(cpu.gpr, ref.gpr, sizeof(cpu.gpr));
	assert_int_equal(cpu.rflags, ref.rflags);
	/* and one at a time */
	restart(&cpu);
	for (unsigned k = 0; k < 40; k++) {
		assert_int_equal(x86__run(&cpu, &ops, e, 1, &ex), X86_EV_BUDGET);
		assert_int_equal(cpu.rip, boundary(k + 1));
	}
	assert_memory_equal(cpu.gpr, ref.gpr, sizeof(cpu.gpr));
	assert_int_equal(cpu.rflags, ref.rflags);
	/* to the end */
	restart(&cpu);
	uint64_t n0 = cpu.stats.insns;

	assert_int_equal(run(&cpu, e, &ex), X86_EV_HLT);
	assert_int_equal(cpu.stats.insns - n0, ROUNDS * 8 + 1);
	assert_int_equal(cpu.rip, boundary(ROUNDS * 8) + 1);
	assert_int_equal(cpu.gpr[X86_RAX], ROUNDS);
	env_done(&cpu, e);
}

/* ---- branches inside blocks ---- */

static const uint8_t code_jcc[] = {
	0xb8, 0x01, 0x00, 0x00, 0x00,			/* 00: mov eax, 1 */
	0x83, 0xf8, 0x01,				/* 05: cmp eax, 1 */
	0x75, 0x05,					/* 08: jne skip   (not taken) */
	0xbb, 0x11, 0x00, 0x00, 0x00,			/* 0a: mov ebx, 0x11 */
	0x74, 0x05,					/* 0f: skip: je target   (taken) */
	0xb9, 0x22, 0x00, 0x00, 0x00,			/* 11: mov ecx, 0x22 */
	0xba, 0x33, 0x00, 0x00, 0x00,			/* 16: target: mov edx, 0x33 */
	0xf4,						/* 1b: hlt */
};

static const uint8_t code_jcc_loop[] = {
	0xb9, 0x0a, 0x00, 0x00, 0x00,			/* 00: mov ecx, 10 */
	0x48, 0xff, 0xc0,				/* 05: L: inc rax */
	0xff, 0xc9,					/* 08: dec ecx */
	0x75, 0xf9,					/* 0a: jnz L */
	0xf4,						/* 0c: hlt */
};

static void test_jcc_in_block(void **st)
{
	struct x86_cpu cpu;
	struct x86_exit ex;
	struct env *e = long_mode(&cpu, code_jcc, sizeof(code_jcc));

	(void)st;
	for (unsigned pass = 0; pass < 2; pass++) {
		uint64_t n0 = cpu.stats.insns;

		assert_int_equal(run(&cpu, e, &ex), X86_EV_HLT);
		assert_int_equal(cpu.gpr[X86_RBX], 0x11);	/* fell through the JNE */
		assert_int_equal(cpu.gpr[X86_RCX], 0);		/* jumped over by the JE */
		assert_int_equal(cpu.gpr[X86_RDX], 0x33);
		assert_int_equal(cpu.rip, CODE + 0x1c);
		assert_int_equal(cpu.stats.insns - n0, 7);
		restart(&cpu);
	}
	/* the taken JE at its own boundary: budget 5 stops at the target */
	assert_int_equal(x86__run(&cpu, &ops, e, 5, &ex), X86_EV_BUDGET);
	assert_int_equal(cpu.rip, CODE + 0x16);
	env_done(&cpu, e);

	e = long_mode(&cpu, code_jcc_loop, sizeof(code_jcc_loop));
	assert_int_equal(run(&cpu, e, &ex), X86_EV_HLT);
	assert_int_equal(cpu.gpr[X86_RAX], 10);
	assert_int_equal(cpu.gpr[X86_RCX], 0);
	assert_int_equal(cpu.stats.insns, 1 + 3 * 10 + 1);
	/* stopped inside the loop: the backward branch taken exactly 4 times */
	restart(&cpu);
	assert_int_equal(x86__run(&cpu, &ops, e, 1 + 3 * 4 + 2, &ex), X86_EV_BUDGET);
	assert_int_equal(cpu.gpr[X86_RAX], 5);
	assert_int_equal(cpu.gpr[X86_RCX], 5);
	assert_int_equal(cpu.rip, CODE + 0x0a);
	env_done(&cpu, e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fault_mid_block),
		cmocka_unit_test(test_mmio_write_mid_block),
		cmocka_unit_test(test_mmio_read_mid_block),
		cmocka_unit_test(test_budget_exact),
		cmocka_unit_test(test_jcc_in_block),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
