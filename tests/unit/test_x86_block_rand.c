/*
 * Random straight-line 64-bit code run three ways: in blocks in one
 * x86__run, an instruction per x86__run, and in runs of random length.
 * Inside a block the arithmetic flags stay lazy across instructions (see
 * x86_fast.c) and registers are not saved per instruction; run one at a
 * time, every instruction's flags are written back before the next one
 * reads them.  The final registers, RFLAGS and memory must be the same.
 * The code is mostly flag writers and readers: ALU ops of every size and
 * form, carry chains, shifts and rotates, INC/DEC, multiplies, SETcc,
 * CMOVcc, Jcc over an instruction, LAHF/SAHF/PUSHF, memory read-modify-write.
 *
 * X86_BLOCK_SEED=<n> and X86_BLOCK_SEQS=<n> change the random run.
 */
#include "x86_env.h"

#define DATA	0x20000u	/* r15 points here; memory operands are [r15 + disp8] */
#define SEQ_LEN	300

static uint64_t rng = 0x853c49e6748fea9bull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* registers random code may write: not RSP, not R15 */
static unsigned rreg(void)
{
	static const uint8_t r[] = { 0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14 };

	return r[rnd() % sizeof(r)];
}

static uint8_t modrm(unsigned mod, unsigned reg, unsigned rm)
{
	return (mod << 6) | ((reg & 7) << 3) | (rm & 7);
}

/* One random instruction, mostly flag writers and flag readers; returns its length. */
static unsigned gen_insn(uint8_t *p)
{
	unsigned n = 0, reg = rreg(), rm = rreg(), cc = rnd() % 16;
	uint8_t rex = 0x40 | (rnd() % 2 ? 8 : 0) | ((reg >> 3) << 2) | (rm >> 3);

	switch (rnd() % 20) {
	case 0:		/* ALU r, r (both directions), TEST */
	case 1:
		p[n++] = rex;
		p[n++] = rnd() % 9 == 0 ? 0x85 : ((rnd() % 8) << 3) | (rnd() % 2 ? 1 : 3);
		p[n++] = modrm(3, reg, rm);
		break;
	case 2:		/* ALU r, imm8 */
		p[n++] = rex;
		p[n++] = 0x83;
		p[n++] = modrm(3, rnd() % 8, rm);
		p[n++] = rnd();
		break;
	case 3:		/* ADC/SBB r, r: carry chains */
		p[n++] = rex;
		p[n++] = (uint8_t[]){ 0x11, 0x13, 0x19, 0x1b }[rnd() % 4];
		p[n++] = modrm(3, reg, rm);
		break;
	case 4:		/* shifts and rotates by imm8 (any count), by 1, by CL */
		p[n++] = rex;
		p[n++] = (uint8_t[]){ 0xc1, 0xc1, 0xd1, 0xd3 }[rnd() % 4];
		p[n++] = modrm(3, (uint8_t[]){ 0, 1, 2, 3, 4, 5, 7, 4, 5, 7 }[rnd() % 10], rm);
		if (p[n - 2] == 0xc1)
			p[n++] = rnd() % 2 ? 1 : rnd() % 64;
		break;
	case 5:		/* INC/DEC */
		p[n++] = rex;
		p[n++] = 0xff;
		p[n++] = modrm(3, rnd() % 2, rm);
		break;
	case 6:		/* IMUL r, r / r, r, imm8; NEG, NOT, MUL */
		p[n++] = rex;
		if (rnd() % 2) {
			p[n++] = 0x0f;
			p[n++] = 0xaf;
			p[n++] = modrm(3, reg, rm);
		} else if (rnd() % 2) {
			p[n++] = 0x6b;
			p[n++] = modrm(3, reg, rm);
			p[n++] = rnd();
		} else {
			p[n++] = 0xf7;
			p[n++] = modrm(3, 2 + rnd() % 3, rm);
		}
		break;
	case 7:		/* SETcc r8 (with REX: no AH..BH) */
		p[n++] = 0x40 | (rm >> 3);
		p[n++] = 0x0f;
		p[n++] = 0x90 + cc;
		p[n++] = modrm(3, 0, rm);
		break;
	case 8:		/* CMOVcc */
		p[n++] = rex;
		p[n++] = 0x0f;
		p[n++] = 0x40 + cc;
		p[n++] = modrm(3, reg, rm);
		break;
	case 9:		/* Jcc over a 2-byte ADD/SUB/ADC r32, r32 */
		p[n++] = 0x70 + cc;
		p[n++] = 2;
		p[n++] = (uint8_t[]){ 0x01, 0x29, 0x11 }[rnd() % 3];
		p[n++] = modrm(3, rreg(), rreg()) & 0xff;
		if ((p[n - 1] & 7) == 4 || ((p[n - 1] >> 3) & 7) == 4)
			p[n - 1] = 0xc0;	/* not ESP */
		break;
	case 10:	/* CLC, STC, CMC, LAHF, SAHF; PUSHF + POP */
		switch (rnd() % 6) {
		case 0: p[n++] = 0xf8; break;
		case 1: p[n++] = 0xf9; break;
		case 2: p[n++] = 0xf5; break;
		case 3: p[n++] = 0x9f; break;
		case 4: p[n++] = 0x9e; break;
		default:
			p[n++] = 0x9c;
			if (rm >= 8)
				p[n++] = 0x41;
			p[n++] = 0x58 + (rm & 7);
			break;
		}
		break;
	case 11:	/* BT/BTS/BTR/BTC r, imm8; BSF/BSR */
		p[n++] = rex;
		p[n++] = 0x0f;
		if (rnd() % 3) {
			p[n++] = 0xba;
			p[n++] = modrm(3, 4 + rnd() % 4, rm);
			p[n++] = rnd();
		} else {
			p[n++] = 0xbc + rnd() % 2;
			p[n++] = modrm(3, reg, rm);
		}
		break;
	case 12:	/* ALU, MOV with [r15 + disp8] */
	case 13:
		p[n++] = rex | 1;
		p[n++] = rnd() % 5 == 0 ? (rnd() % 2 ? 0x89 : 0x8b) : ((rnd() % 8) << 3) | (rnd() % 2 ? 1 : 3);
		p[n++] = modrm(1, reg, 7);
		p[n++] = (rnd() % 16) * 8;
		break;
	case 14:	/* XADD, CMPXCHG, XCHG r, r */
		p[n++] = rex;
		if (rnd() % 3) {
			p[n++] = 0x0f;
			p[n++] = rnd() % 2 ? 0xc1 : 0xb1;
		} else {
			p[n++] = 0x87;
		}
		p[n++] = modrm(3, reg, rm);
		break;
	case 16:	/* byte ALU r8, r8 / r8, imm8 / AL, imm8; without REX: AH..BH too */
		if (rnd() % 3)
			p[n++] = rex & ~8;
		else
			reg &= 7, rm &= 7;
		switch (rnd() % 3) {
		case 0: p[n++] = ((rnd() % 8) << 3) | (rnd() % 2 ? 0 : 2); p[n++] = modrm(3, reg, rm); break;
		case 1: p[n++] = 0x80; p[n++] = modrm(3, rnd() % 8, rm); p[n++] = rnd(); break;
		default: p[n++] = ((rnd() % 8) << 3) | 4; p[n++] = rnd(); break;
		}
		break;
	case 17: {	/* [r15 + disp8] op= imm; TEST [r15 + disp8], imm */
		static const uint8_t op[] = { 0x80, 0x81, 0x83, 0xf6, 0xf7 };
		uint8_t o = op[rnd() % 5];

		p[n++] = rex | 1;
		p[n++] = o;
		p[n++] = modrm(1, o >= 0xf6 ? 0 : rnd() % 8, 7);
		p[n++] = (rnd() % 16) * 8;
		for (unsigned k = 0; k < (o == 0x81 || o == 0xf7 ? 4u : 1u); k++)
			p[n++] = rnd();
		break;
	}
	case 18: {	/* INC, DEC, NOT, NEG [r15 + disp8] */
		uint8_t o = rnd() % 2 ? 0xfe + rnd() % 2 : 0xf6 + rnd() % 2;

		p[n++] = rex | 1;
		p[n++] = o;
		p[n++] = modrm(1, o >= 0xfe ? rnd() % 2 : 2 + rnd() % 2, 7);
		p[n++] = (rnd() % 16) * 8;
		break;
	}
	case 19:	/* TEST r, imm; TEST r, r (any size); TEST AL/EAX/RAX, imm */
		p[n++] = rex;
		switch (rnd() % 3) {
		case 0: p[n++] = 0xf7; p[n++] = modrm(3, 0, rm); for (unsigned k = 0; k < 4; k++) p[n++] = rnd(); break;
		case 1: p[n++] = 0x84 + rnd() % 2; p[n++] = modrm(3, reg, rm); break;
		default: p[n++] = 0xa9; for (unsigned k = 0; k < 4; k++) p[n++] = rnd(); break;
		}
		break;
	default:	/* no flags: MOV, LEA, MOVZX */
		p[n++] = rex;
		switch (rnd() % 3) {
		case 0: p[n++] = 0x89; p[n++] = modrm(3, reg, rm); break;
		case 1:	/* LEA r, [r + disp8]; base RSP/R12 would need a SIB byte */
			p[n++] = 0x8d;
			p[n++] = modrm(1, reg, (rm & 7) == 4 ? rm + 1 : rm);
			p[n++] = rnd();
			break;
		default: p[n++] = 0x0f; p[n++] = 0xb6; p[n++] = modrm(3, reg, rm); break;
		}
		break;
	}
	return n;
}

static struct env *seq_machine(struct x86_cpu *cpu, const uint8_t *code, size_t len, uint64_t seed)
{
	struct env *e = long_mode(cpu, code, len);
	uint64_t saved = rng;

	rng = seed;
	for (unsigned r = 0; r < X86_NR_GPRS; r++)
		cpu->gpr[r] = rnd() >> (rnd() % 64);
	cpu->gpr[X86_RSP] = STACK;
	cpu->gpr[X86_R15] = DATA;
	cpu->rflags = X86_FL_FIXED1 | (rnd() & X86_FL_ARITH);
	for (unsigned k = 0; k < 256; k++)
		e->ram[DATA + k] = rnd();
	rng = saved;
	return e;
}

/* Run to the HLT with budgets from @budget(); returns the number of x86__run calls. */
static unsigned run_in_steps(struct x86_cpu *cpu, struct env *e, unsigned max_budget)
{
	struct x86_exit ex;
	enum x86_event ev;
	unsigned calls = 0;

	do {
		unsigned b = max_budget > 1 ? 1 + rnd() % max_budget : 1;

		ev = x86__run(cpu, &ops, e, b, &ex);
		calls++;
		assert_true(calls < 10 * SEQ_LEN);
	} while (ev == X86_EV_BUDGET);
	assert_int_equal(ev, X86_EV_HLT);
	return calls;
}

static void test_block_vs_step(void **st)
{
	uint8_t code[SEQ_LEN * 8 + 1];
	const char *seed_env = getenv("X86_BLOCK_SEED"), *seqs_env = getenv("X86_BLOCK_SEQS");
	unsigned seqs = seqs_env ? strtoul(seqs_env, NULL, 0) : 60;

	(void)st;
	if (seed_env)
		rng = strtoull(seed_env, NULL, 0) | 1;
	for (unsigned seq = 0; seq < seqs; seq++) {
		struct x86_cpu whole, step, chunk;
		struct x86_exit ex;
		size_t len = 0;
		uint64_t seed = rnd();

		for (unsigned k = 0; k < SEQ_LEN; k++)
			len += gen_insn(code + len);
		code[len++] = 0xf4;
		struct env *ew = seq_machine(&whole, code, len, seed);
		struct env *es = seq_machine(&step, code, len, seed);
		struct env *ec = seq_machine(&chunk, code, len, seed);

		assert_int_equal(x86__run(&whole, &ops, ew, 1000000, &ex), X86_EV_HLT);
		run_in_steps(&step, es, 1);
		run_in_steps(&chunk, ec, 40);
		if (memcmp(whole.gpr, step.gpr, sizeof(whole.gpr)) || whole.rflags != step.rflags ||
		    memcmp(ew->ram + DATA, es->ram + DATA, 256)) {
			printf("sequence %u differs (whole vs step):", seq);
			for (unsigned r = 0; r < X86_NR_GPRS; r++)
				if (whole.gpr[r] != step.gpr[r])
					printf(" r%u %llx/%llx", r, (unsigned long long)whole.gpr[r],
					       (unsigned long long)step.gpr[r]);
			printf(" rflags %llx/%llx\n", (unsigned long long)whole.rflags, (unsigned long long)step.rflags);
		}
		if (whole.stats.exceptions || step.stats.exceptions) {
			/* every handler is a HLT at HANDLERS + 16 * vector; the frame holds the faulting RIP */
			struct x86_cpu *c = whole.stats.exceptions ? &whole : &step;
			struct env *ce = whole.stats.exceptions ? ew : es;
			uint64_t vec = (c->rip - 1 - HANDLERS) / 16, at = get64(ce->ram, c->gpr[X86_RSP] + (vec == 14 || vec == 13 ? 8 : 0));

			printf("sequence %u: %s run took vector %llu at %llx:", seq, c == &whole ? "block" : "step",
			       (unsigned long long)vec, (unsigned long long)at);
			for (unsigned k = 0; k < 15 && at >= CODE && at - CODE + k < len; k++)
				printf(" %02x", ce->ram[at + k]);
			printf("\n");
		}
		assert_int_equal(whole.stats.exceptions, 0);
		assert_int_equal(step.stats.exceptions, 0);
		assert_int_equal(whole.rip, step.rip);
		assert_int_equal(whole.stats.insns, step.stats.insns);
		assert_memory_equal(whole.gpr, step.gpr, sizeof(whole.gpr));
		assert_int_equal(whole.rflags, step.rflags);
		assert_memory_equal(ew->ram + DATA, es->ram + DATA, 256);
		assert_memory_equal(ew->ram + STACK - 256, es->ram + STACK - 256, 256);
		assert_int_equal(whole.rip, chunk.rip);
		assert_memory_equal(whole.gpr, chunk.gpr, sizeof(whole.gpr));
		assert_int_equal(whole.rflags, chunk.rflags);
		assert_memory_equal(ew->ram + DATA, ec->ram + DATA, 256);
		env_done(&whole, ew);
		env_done(&step, es);
		env_done(&chunk, ec);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_block_vs_step),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
