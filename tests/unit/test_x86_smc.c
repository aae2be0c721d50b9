/*
 * Code that changes under the x86 interpreter's blocks (x86_block.c):
 * stores by the guest into the running block, into a block it chains to or
 * calls, through a second mapping of the page, by a PUSH; bytes written
 * between runs by a device; stores by another vCPU.  The new bytes must run.
 *
 * Every test runs on four machines: blocks compare their bytes on every
 * entry (no codemap) or trust them until a write is noticed (a struct
 * x86_codemap, as the shadow backend sets up), and guest stores translate
 * on every access or through the interpreter's private data TLB.
 *
 * Machine code below was assembled with GNU as (source in the comments,
 * offsets from CODE on the left).
 */
#include "x86_env.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Linear window that maps the page at CODE a second time (see alias_translate). */
#define ALIAS	0x200000ull
/* Reading this linear address runs another vCPU first (see test_smc_other_vcpu). */
#define TRIGGER	0x380000ull
/* Linear page mapped to the RAM page remap_to (see test_code_page_remapped). */
#define REMAP	0x240000ull
static uint64_t remap_to = CODE;

/* The codemap of a machine, as a backend would set it up over its RAM. */
struct codemap {
	struct x86_codemap map;
	uint64_t bits[(RAM_SIZE >> 12) / 64];
	uint64_t epoch, tlb_gen;
};

/* The second vCPU of test_smc_other_vcpu, run when the first reads TRIGGER. */
static struct {
	struct x86_cpu *cpu;
	struct env *env;
	const struct x86_env_ops *ops;
	enum x86_event ev;
	unsigned runs;
} other;

static int alias_translate(void *ctx, struct x86_cpu *cpu, uint64_t lin, unsigned acc, struct x86_xlate *out)
{
	struct env *e = ctx;

	if (lin == TRIGGER && other.cpu && cpu != other.cpu) {
		struct x86_exit ex;

		other.ev = x86__run(other.cpu, other.ops, other.env, 1000, &ex);
		other.runs++;
	}
	if (lin >= ALIAS && lin < ALIAS + 0x1000) {
		out->hva = e->ram + CODE + (lin - ALIAS);
		out->gpa = CODE + (lin - ALIAS);
		return X86_XLATE_RAM;
	}
	if (lin >= REMAP && lin < REMAP + 0x1000) {
		out->hva = e->ram + remap_to + (lin - REMAP);
		out->gpa = remap_to + (lin - REMAP);
		return X86_XLATE_RAM;
	}
	return t_translate(ctx, cpu, lin, acc, out);
}

/* The same, with RAM translations kept in the interpreter's private data TLB. */
static int cached_translate(void *ctx, struct x86_cpu *cpu, uint64_t lin, unsigned acc, struct x86_xlate *out)
{
	int r = alias_translate(ctx, cpu, lin, acc, out);

	if (r == X86_XLATE_RAM)
		out->flags |= X86_XLATE_F_CACHEABLE;
	return r;
}

static const struct x86_env_ops alias_ops = {
	.translate = alias_translate, .flush = t_flush, .invlpg = t_invlpg,
	.pending_irq = t_pending, .ack_irq = t_ack,
};
static const struct x86_env_ops cached_ops = {
	.translate = cached_translate, .flush = t_flush, .invlpg = t_invlpg,
	.pending_irq = t_pending, .ack_irq = t_ack,
};

static const struct variant {
	const char *name;
	bool codemap;
	const struct x86_env_ops *ops;
} variants[] = {
	{ "bytes checked, no TLB", false, &alias_ops },
	{ "bytes checked, TLB", false, &cached_ops },
	{ "codemap, no TLB", true, &alias_ops },
	{ "codemap, TLB", true, &cached_ops },
};

/* A machine running @code at CODE; @m is its codemap if the variant has one. */
static struct env *machine(struct x86_cpu *cpu, struct codemap *m, const struct variant *v,
			   const uint8_t *code, size_t len)
{
	struct env *e = long_mode(cpu, code, len);

	if (v->codemap) {
		memset(m, 0, sizeof(*m));
		m->map.base = e->ram;
		m->map.pages = RAM_SIZE >> 12;
		m->map.bits = m->bits;
		m->map.epoch = &m->epoch;
		m->map.tlb_gen = &m->tlb_gen;
		cpu->codemap = &m->map;
		cpu->tlb_gen = &m->tlb_gen;
	}
	return e;
}

/* A device writes guest memory: with a codemap it bumps the epoch, as guest_mem does. */
static void dma_write(struct env *e, struct codemap *m, const struct variant *v, uint64_t gpa,
		      const void *src, size_t len)
{
	memcpy(e->ram + gpa, src, len);
	if (v->codemap)
		__atomic_fetch_add(&m->epoch, 1, __ATOMIC_SEQ_CST);
}

static enum x86_event go(struct x86_cpu *cpu, struct env *e, const struct variant *v)
{
	struct x86_exit ex;

	return x86__run(cpu, v->ops, e, 1000, &ex);
}

/* code for a machine whose code goes elsewhere */
static const uint8_t code_hlt[] = { 0xf4 };

/* Run the code at CODE again from a clean register file, keeping the block cache. */
static void restart(struct x86_cpu *cpu)
{
	memset(cpu->gpr, 0, sizeof(cpu->gpr));
	cpu->gpr[X86_RSP] = STACK;
	cpu->rip = CODE;
	cpu->rflags = X86_FL_FIXED1;
	cpu->halted = false;
}

/* ---- stores into code by the running vCPU ---- */

static const uint8_t code_smc[] = {
	0xb9, 0x05, 0x00, 0x00, 0x00,			/* 00: mov ecx, 5 */
	0xc6, 0x05, 0x02, 0x00, 0x00, 0x00, 0xc9,	/* 05: mov byte [rip + t1 + 2], 0xc9 */
	0x48, 0xff, 0xc1,				/* 0c: t1: inc rcx  (becomes dec rcx) */
	0xc7, 0x05, 0x09, 0x00, 0x00, 0x00, 0x22, 0x00, 0x00, 0x00,	/* 0f: mov dword [rip + t2 + 1], 0x22 */
	0x90,						/* 19: nop */
	0xb8, 0x07, 0x00, 0x00, 0x00,			/* 1a: mov eax, 7 */
	0x01, 0xc0,					/* 1f: add eax, eax */
	0xbb, 0x11, 0x00, 0x00, 0x00,			/* 21: t2: mov ebx, 0x11  (becomes 0x22) */
	0xf4,						/* 26: hlt */
};

/* The store goes through a second linear mapping of the code page. */
static const uint8_t code_smc_alias[] = {
	0xb9, 0x05, 0x00, 0x00, 0x00,			/* 00: mov ecx, 5 */
	0xba, 0x0f, 0x00, 0x20, 0x00,			/* 05: mov edx, ALIAS + 0x0f */
	0xc6, 0x02, 0xc9,				/* 0a: mov byte [rdx], 0xc9 */
	0x48, 0xff, 0xc1,				/* 0d: inc rcx  (becomes dec rcx) */
	0xf4,						/* 10: hlt */
};

/* A PUSH whose stack slot is the next instruction. */
static const uint8_t code_smc_push[] = {
	0x48, 0x8d, 0x25, 0x13, 0x00, 0x00, 0x00,	/* 00: lea rsp, [rip + t1 + 8] */
	0x48, 0xb8, 0xbb, 0x44, 0x00, 0x00, 0x00, 0x90, 0x90, 0x90,	/* 07: mov rax, 0x90909000000044bb */
	0x50,						/* 11: push rax */
	0xbb, 0x11, 0x00, 0x00, 0x00,			/* 12: t1: mov ebx, 0x11  (becomes mov ebx, 0x44) */
	0x90, 0x90, 0x90,				/* 17: nop; nop; nop */
	0xf4,						/* 1a: hlt */
};

static void test_smc_in_block(void **st)
{
	(void)st;
	for (unsigned k = 0; k < ARRAY_SIZE(variants); k++) {
		const struct variant *v = &variants[k];
		struct codemap m;
		struct x86_cpu cpu;
		struct env *e = machine(&cpu, &m, v, code_smc, sizeof(code_smc));

		printf("  %s\n", v->name);
		for (unsigned pass = 0; pass < 2; pass++) {
			/* pass 1 finds the patched bytes in memory and blocks made from them */
			assert_int_equal(go(&cpu, e, v), X86_EV_HLT);
			assert_int_equal(cpu.gpr[X86_RCX], 4);	/* the patched DEC ran, not the decoded INC */
			assert_int_equal(cpu.gpr[X86_RBX], 0x22);
			assert_int_equal(cpu.gpr[X86_RAX], 14);
			assert_int_equal(cpu.rip, CODE + 0x27);
			assert_int_equal(e->ram[CODE + 0x0e], 0xc9);
			restart(&cpu);
		}
		env_done(&cpu, e);

		e = machine(&cpu, &m, v, code_smc_alias, sizeof(code_smc_alias));
		assert_int_equal(go(&cpu, e, v), X86_EV_HLT);
		assert_int_equal(cpu.gpr[X86_RCX], 4);
		assert_int_equal(cpu.stats.insns, 5);
		env_done(&cpu, e);

		e = machine(&cpu, &m, v, code_smc_push, sizeof(code_smc_push));
		assert_int_equal(go(&cpu, e, v), X86_EV_HLT);
		assert_int_equal(cpu.gpr[X86_RBX], 0x44);
		assert_int_equal(cpu.rip, CODE + 0x1b);
		env_done(&cpu, e);
	}
}

/*
 * A loop calls a routine on the next page, then patches that routine's
 * immediate: the second call must run the new bytes although the call
 * site's block links to the routine's block from the first round.
 */
static const uint8_t code_smc_loop[] = {
	0xb9, 0x02, 0x00, 0x00, 0x00,			/* 00: mov ecx, 2 */
	0xe8, 0xf6, 0x0f, 0x00, 0x00,			/* 05: L: call CODE + 0x1000 */
	0xc6, 0x05, 0xf0, 0x0f, 0x00, 0x00, 0x07,	/* 0a: mov byte [rip + (CODE + 0x1001)], 7 */
	0xff, 0xc9,					/* 11: dec ecx */
	0x75, 0xf0,					/* 13: jnz L */
	0xf4,						/* 15: hlt */
};
static const uint8_t code_smc_callee[] = {
	0xb8, 0x01, 0x00, 0x00, 0x00,			/* 1000: mov eax, 1  (becomes mov eax, 7) */
	0x49, 0x01, 0xc1,				/* 1005: add r9, rax */
	0xc3,						/* 1008: ret */
};

static void test_smc_other_page(void **st)
{
	(void)st;
	for (unsigned k = 0; k < ARRAY_SIZE(variants); k++) {
		const struct variant *v = &variants[k];
		struct codemap m;
		struct x86_cpu cpu;
		struct env *e = machine(&cpu, &m, v, code_smc_loop, sizeof(code_smc_loop));

		printf("  %s\n", v->name);
		for (unsigned pass = 0; pass < 2; pass++) {
			uint64_t n0 = cpu.stats.insns;

			dma_write(e, &m, v, CODE + 0x1000, code_smc_callee, sizeof(code_smc_callee));
			restart(&cpu);
			assert_int_equal(go(&cpu, e, v), X86_EV_HLT);
			assert_int_equal(cpu.gpr[X86_R9], 1 + 7);
			assert_int_equal(cpu.gpr[X86_RCX], 0);
			assert_int_equal(cpu.stats.insns - n0, 1 + 2 * 7 + 1);
		}
		env_done(&cpu, e);
	}
}

/*
 * The first store to the routine's page comes before any code was decoded
 * from it, so the private TLB may keep a write translation for it; the
 * second comes after: it must not slip past what the blocks trust.
 */
static const uint8_t code_tlb_first[] = {
	0xc6, 0x05, 0xfa, 0x1f, 0x00, 0x00, 0x03,	/* 00: mov byte [rip + (CODE + 0x2001)], 3 */
	0xe8, 0xf4, 0x1f, 0x00, 0x00,			/* 07: call CODE + 0x2000 */
	0xc6, 0x05, 0xee, 0x1f, 0x00, 0x00, 0x05,	/* 0c: mov byte [rip + (CODE + 0x2001)], 5 */
	0xe8, 0xe8, 0x1f, 0x00, 0x00,			/* 13: call CODE + 0x2000 */
	0xf4,						/* 18: hlt */
};
static const uint8_t code_tlb_callee[] = {
	0xb8, 0x00, 0x00, 0x00, 0x00,			/* 2000: mov eax, 0  (patched) */
	0x49, 0x01, 0xc1,				/* 2005: add r9, rax */
	0xc3,						/* 2008: ret */
};

static void test_smc_write_cached_before_code(void **st)
{
	(void)st;
	for (unsigned k = 0; k < ARRAY_SIZE(variants); k++) {
		const struct variant *v = &variants[k];
		struct codemap m;
		struct x86_cpu cpu;
		struct env *e = machine(&cpu, &m, v, code_tlb_first, sizeof(code_tlb_first));

		printf("  %s\n", v->name);
		memcpy(e->ram + CODE + 0x2000, code_tlb_callee, sizeof(code_tlb_callee));
		assert_int_equal(go(&cpu, e, v), X86_EV_HLT);
		assert_int_equal(cpu.gpr[X86_R9], 3 + 5);
		assert_int_equal(cpu.rip, CODE + 0x19);
		env_done(&cpu, e);
	}
}

/* ---- code written by others ---- */

static const uint8_t code_dma[] = {
	0xb8, 0x01, 0x00, 0x00, 0x00,			/* 00: mov eax, 1 */
	0xbb, 0x02, 0x00, 0x00, 0x00,			/* 05: mov ebx, 2 */
	0xb9, 0x03, 0x00, 0x00, 0x00,			/* 0a: mov ecx, 3 */
	0x01, 0xd8,					/* 0f: add eax, ebx */
	0x01, 0xc8,					/* 11: add eax, ecx */
	0xf4,						/* 13: hlt */
};
/* 0a, 5 bytes: inc ecx; inc ecx; nop */
static const uint8_t code_dma_patch[] = { 0xff, 0xc1, 0xff, 0xc1, 0x90 };

/* 00: mov eax, 1; 05: jmp CODE + 0x1000 -> 1000: add eax, 0x10; hlt */
static const uint8_t code_dma_jmp[] = { 0xb8, 0x01, 0x00, 0x00, 0x00, 0xe9, 0xf6, 0x0f, 0x00, 0x00 };
static const uint8_t code_dma_succ[] = { 0x83, 0xc0, 0x10, 0xf4 };

static void test_dma_between_runs(void **st)
{
	(void)st;
	for (unsigned k = 0; k < ARRAY_SIZE(variants); k++) {
		const struct variant *v = &variants[k];
		struct codemap m;
		struct x86_cpu cpu;
		struct env *e = machine(&cpu, &m, v, code_dma, sizeof(code_dma));
		uint8_t imm = 20;
		uint64_t n;

		printf("  %s\n", v->name);
		assert_int_equal(go(&cpu, e, v), X86_EV_HLT);
		assert_int_equal(cpu.gpr[X86_RAX], 6);
		/* a new immediate in the middle of the block */
		dma_write(e, &m, v, CODE + 0x06, &imm, 1);
		restart(&cpu);
		assert_int_equal(go(&cpu, e, v), X86_EV_HLT);
		assert_int_equal(cpu.gpr[X86_RAX], 1 + 20 + 3);
		/* one instruction replaced by three of the same total length */
		dma_write(e, &m, v, CODE + 0x0a, code_dma_patch, sizeof(code_dma_patch));
		restart(&cpu);
		n = cpu.stats.insns;
		assert_int_equal(go(&cpu, e, v), X86_EV_HLT);
		assert_int_equal(cpu.gpr[X86_RCX], 2);
		assert_int_equal(cpu.gpr[X86_RAX], 1 + 20 + 2);
		assert_int_equal(cpu.stats.insns - n, 8);
		/* the old bytes again: the first decode must not have been lost or corrupted */
		dma_write(e, &m, v, CODE, code_dma, sizeof(code_dma));
		restart(&cpu);
		assert_int_equal(go(&cpu, e, v), X86_EV_HLT);
		assert_int_equal(cpu.gpr[X86_RAX], 6);
		env_done(&cpu, e);

		/* the successor of a chained jump changes */
		e = machine(&cpu, &m, v, code_dma_jmp, sizeof(code_dma_jmp));
		memcpy(e->ram + CODE + 0x1000, code_dma_succ, sizeof(code_dma_succ));
		assert_int_equal(go(&cpu, e, v), X86_EV_HLT);
		assert_int_equal(cpu.gpr[X86_RAX], 0x11);
		imm = 0x20;
		dma_write(e, &m, v, CODE + 0x1002, &imm, 1);
		restart(&cpu);
		assert_int_equal(go(&cpu, e, v), X86_EV_HLT);
		assert_int_equal(cpu.gpr[X86_RAX], 0x21);
		assert_int_equal(cpu.rip, CODE + 0x1004);
		env_done(&cpu, e);
	}
}

/*
 * Two vCPUs on one memory.  A runs a routine on page CODE + 0x2000; B
 * stores into it before A first ran it (B's TLB may keep the translation),
 * then - while B is still running, when it reads TRIGGER - A runs the
 * routine, then B stores again.  A's next run must see B's second store.
 */
static const uint8_t code_writer[] = {
	0xc6, 0x05, 0xfa, 0x1f, 0x00, 0x00, 0x03,	/* 00: mov byte [rip + (CODE + 0x2001)], 3 */
	0x8b, 0x04, 0x25, 0x00, 0x00, 0x38, 0x00,	/* 07: mov eax, [TRIGGER]   (A runs) */
	0xc6, 0x05, 0xec, 0x1f, 0x00, 0x00, 0x05,	/* 0e: mov byte [rip + (CODE + 0x2001)], 5 */
	0xf4,						/* 15: hlt */
};
/* 2000: mov eax, 0 (patched); add r9, rax; hlt */
static const uint8_t code_runner[] = { 0xb8, 0x00, 0x00, 0x00, 0x00, 0x49, 0x01, 0xc1, 0xf4 };

static void test_smc_other_vcpu(void **st)
{
	(void)st;
	for (unsigned k = 0; k < ARRAY_SIZE(variants); k++) {
		const struct variant *v = &variants[k];
		struct codemap m;
		struct x86_cpu a, b;
		struct env *e = machine(&b, &m, v, code_writer, sizeof(code_writer));
		struct env *ea = long_mode(&a, code_hlt, sizeof(code_hlt));

		printf("  %s\n", v->name);
		/* A: same memory and codemap, its own registers, stack and blocks */
		free(ea->ram);
		ea->ram = e->ram;
		memcpy(e->ram + CODE + 0x2000, code_runner, sizeof(code_runner));
		a.rip = CODE + 0x2000;
		a.gpr[X86_RSP] = STACK - 0x800;
		a.codemap = b.codemap;
		a.tlb_gen = b.tlb_gen;
		other.cpu = &a;
		other.env = ea;
		other.ops = v->ops;
		other.runs = 0;
		assert_int_equal(go(&b, e, v), X86_EV_HLT);
		assert_int_equal(other.runs, 1);
		assert_int_equal(other.ev, X86_EV_HLT);
		assert_int_equal(a.gpr[X86_R9], 3);
		/* A again, after B's second store */
		a.rip = CODE + 0x2000;
		a.halted = false;
		assert_int_equal(go(&a, ea, v), X86_EV_HLT);
		assert_int_equal(a.gpr[X86_R9], 3 + 5);
		other.cpu = NULL;
		x86__release(&a);
		free(ea);
		env_done(&b, e);
	}
}

/*
 * With more than one vCPU a store can race with the marking of its page
 * and go unnoticed (struct x86_codemap.smp); cross-modifying code then
 * relies on a serializing instruction, CPUID here, before the new code
 * runs.  The unnoticed store is made by the test: new bytes, no epoch bump.
 */
static const uint8_t code_serialize[] = {
	0x0f, 0xa2,					/* 00: cpuid */
	0xe9, 0xf9, 0x00, 0x00, 0x00,			/* 02: jmp CODE + 0x100 */
};
static const uint8_t code_xmod_old[] = { 0xbb, 0x01, 0x00, 0x00, 0x00, 0xf4 };	/* 100: mov ebx, 1; hlt */
static const uint8_t code_xmod_new[] = { 0xbb, 0x02, 0x00, 0x00, 0x00, 0xf4 };	/* 100: mov ebx, 2; hlt */

static void test_smc_serializing(void **st)
{
	(void)st;
	for (unsigned k = 0; k < ARRAY_SIZE(variants); k++) {
		const struct variant *v = &variants[k];
		struct codemap m;
		struct x86_cpu cpu;
		struct env *e = machine(&cpu, &m, v, code_serialize, sizeof(code_serialize));

		printf("  %s\n", v->name);
		m.map.smp = true;
		memcpy(e->ram + CODE + 0x100, code_xmod_old, sizeof(code_xmod_old));
		restart(&cpu);
		assert_int_equal(go(&cpu, e, v), X86_EV_HLT);
		assert_int_equal(cpu.gpr[X86_RBX], 1);
		memcpy(e->ram + CODE + 0x100, code_xmod_new, sizeof(code_xmod_new));
		restart(&cpu);
		assert_int_equal(go(&cpu, e, v), X86_EV_HLT);
		assert_int_equal(cpu.gpr[X86_RBX], 2);
		env_done(&cpu, e);
	}
}

/*
 * The guest maps another page at the same linear address (a new process
 * after a CR3 switch): nothing was written, the blocks decoded at that
 * address must still not be reused for the other page's bytes.
 */
static const uint8_t code_remap_a[] = { 0xb8, 0x0a, 0x00, 0x00, 0x00, 0xf4 };	/* mov eax, 10; hlt */
static const uint8_t code_remap_b[] = { 0xb8, 0x0b, 0x00, 0x00, 0x00, 0xf4 };	/* mov eax, 11; hlt */

static void test_code_page_remapped(void **st)
{
	(void)st;
	for (unsigned k = 0; k < ARRAY_SIZE(variants); k++) {
		const struct variant *v = &variants[k];
		struct codemap m;
		struct x86_cpu cpu;
		struct env *e = machine(&cpu, &m, v, code_hlt, sizeof(code_hlt));

		printf("  %s\n", v->name);
		memcpy(e->ram + 0x30000, code_remap_a, sizeof(code_remap_a));
		memcpy(e->ram + 0x31000, code_remap_b, sizeof(code_remap_b));
		for (unsigned pass = 0; pass < 4; pass++) {
			remap_to = pass & 1 ? 0x31000 : 0x30000;
			restart(&cpu);
			cpu.rip = REMAP;
			assert_int_equal(go(&cpu, e, v), X86_EV_HLT);
			assert_int_equal(cpu.gpr[X86_RAX], pass & 1 ? 11 : 10);
		}
		remap_to = CODE;
		env_done(&cpu, e);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_smc_in_block),
		cmocka_unit_test(test_smc_other_page),
		cmocka_unit_test(test_smc_write_cached_before_code),
		cmocka_unit_test(test_dma_between_runs),
		cmocka_unit_test(test_smc_other_vcpu),
		cmocka_unit_test(test_smc_serializing),
		cmocka_unit_test(test_code_page_remapped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
