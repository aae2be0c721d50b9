/*
 * Differential test of the x86 interpreter against unicorn (QEMU's TCG).
 *
 * Random and targeted instruction sequences run in 64-bit mode in both, one
 * instruction at a time over identical flat memory.  After every instruction
 * the GPRs, RIP, the arithmetic flags (minus the flags the SDM leaves
 * undefined for that instruction) and a data window are compared; then the
 * interpreter is re-synchronised to unicorn so an undefined flag cannot
 * cascade.  A coverage table of the opcodes exercised is printed at the end.
 *
 * X86_UNICORN_SEED=<n> and X86_UNICORN_ITERS=<n> change the random run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <unicorn/unicorn.h>

#include "x86/x86.h"

#define MEM_SIZE	(2u << 20)
/* 64-bit, 32-bit protected (flat) or 16-bit real mode for the integer tests */
static int g_mode = 64;

#define CODE_ADDR	0x1000u
#define DATA_ADDR	(g_mode == 64 ? 0x100000u : 0xa000u)
#define DATA_LEN	512u
#define STACK_TOP	(g_mode == 64 ? 0x1f0000u : 0xf000u)
/* register holding DATA_ADDR for memory operands: R15, or EDI/DI */
#define DATA_REG	(g_mode == 64 ? 15 : 7)

static const int uc_gpr32[8] = {
	UC_X86_REG_EAX, UC_X86_REG_ECX, UC_X86_REG_EDX, UC_X86_REG_EBX,
	UC_X86_REG_ESP, UC_X86_REG_EBP, UC_X86_REG_ESI, UC_X86_REG_EDI,
};

static const int uc_gpr[16] = {
	UC_X86_REG_RAX, UC_X86_REG_RCX, UC_X86_REG_RDX, UC_X86_REG_RBX,
	UC_X86_REG_RSP, UC_X86_REG_RBP, UC_X86_REG_RSI, UC_X86_REG_RDI,
	UC_X86_REG_R8, UC_X86_REG_R9, UC_X86_REG_R10, UC_X86_REG_R11,
	UC_X86_REG_R12, UC_X86_REG_R13, UC_X86_REG_R14, UC_X86_REG_R15,
};

struct rig {
	uc_engine *uc;
	uint8_t *mem;		/* interpreter memory */
	uint8_t *ucmem;		/* scratch for reading unicorn memory */
	struct x86_cpu cpu;
	uint64_t cov[4][256];
	unsigned long compared, mismatches, faulted;
};

static struct rig R;

static int flat_translate(void *ctx, struct x86_cpu *cpu, uint64_t lin, unsigned acc, struct x86_xlate *out)
{
	(void)ctx; (void)cpu;
	if (lin >= MEM_SIZE) {
		out->pfec = ((acc & X86_ACC_WRITE) ? X86_PFEC_W : 0) | ((acc & X86_ACC_FETCH) ? X86_PFEC_I : 0);
		return X86_XLATE_FAULT;
	}
	out->hva = R.mem + lin;
	out->gpa = lin;
	return X86_XLATE_RAM;
}

static const struct x86_env_ops flat_ops = { .translate = flat_translate };

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

static uint64_t rnd_val(void)
{
	switch (rnd() % 6) {
	case 0: return 0;
	case 1: return rnd() & 0xff;
	case 2: return -(rnd() & 0xff);
	case 3: return 0x8000000000000000ull >> (rnd() % 64);
	case 4: return (uint32_t)rnd();
	default: return rnd();
	}
}

/* Lanes of interesting floats and integers. */
static void rnd_xmm(uint8_t *x)
{
	static const uint32_t f32[] = { 0x3f800000, 0xbf800000, 0x7f800000, 0xff800000, 0x7fc00000,
					0x00000001, 0x80000000, 0x4f000000, 0xcf000001, 0x3effffff };
	static const uint64_t f64[] = { 0x3ff0000000000000ull, 0xbff8000000000000ull, 0x7ff0000000000000ull,
					0x7ff8000000000000ull, 0x0000000000000001ull, 0x43e0000000000000ull,
					0xc1e0000000200000ull, 0x4000000000000001ull };

	for (unsigned k = 0; k < 4; k++) {
		uint32_t v;

		switch (rnd() % 4) {
		case 0: v = f32[rnd() % 10]; break;
		case 1: v = (rnd() % 2000) * 0x00800000u / 16 + 0x3c000000u; break;
		default: v = rnd(); break;
		}
		memcpy(x + 4 * k, &v, 4);
	}
	if (rnd() % 2) {
		for (unsigned k = 0; k < 2; k++) {
			uint64_t v = rnd() % 3 ? f64[rnd() % 8] : (0x3fe0000000000000ull | (rnd() >> 12)) ^ (rnd() % 2 ? 1ull << 63 : 0);

			memcpy(x + 8 * k, &v, 8);
		}
	}
}

static void set_long_mode(struct x86_cpu *cpu)
{
	x86__reset(cpu);
	cpu->cr0 = X86_CR0_PE | X86_CR0_PG | X86_CR0_ET | X86_CR0_NE;
	cpu->cr4 = X86_CR4_PAE | X86_CR4_OSFXSR;
	cpu->efer = X86_EFER_LME | X86_EFER_LMA | X86_EFER_SCE | X86_EFER_NXE;
	for (unsigned s = 0; s < X86_NR_SREGS; s++) {
		struct x86_seg *g = &cpu->seg[s];

		memset(g, 0, sizeof(*g));
		g->sel = s == X86_CS ? 0x8 : 0x10;
		g->type = s == X86_CS ? 0xb : 0x3;
		g->s = g->present = g->g = 1;
		g->limit = 0xffffffff;
		g->l = s == X86_CS;
		g->db = s != X86_CS;
	}
	cpu->tr.type = 0xb;
	cpu->tr.present = 1;
	cpu->tr.limit = 0x67;
	x86__state_changed(cpu);
}

static void uc_sync_to_interp(void)
{
	for (unsigned r = 0; r < 16; r++) {
		R.cpu.gpr[r] = 0;
		if (g_mode == 64)
			uc_reg_read(R.uc, uc_gpr[r], &R.cpu.gpr[r]);
		else if (r < 8)
			uc_reg_read(R.uc, uc_gpr32[r], &R.cpu.gpr[r]);
	}
	uint64_t fl = 0;

	uc_reg_read(R.uc, UC_X86_REG_EFLAGS, &fl);
	R.cpu.rflags = fl | 2;
	for (unsigned r = 0; r < 16 && g_mode == 64; r++)
		uc_reg_read(R.uc, UC_X86_REG_XMM0 + r, R.cpu.fpu.xmm[r]);
	uint64_t csr = 0;

	uc_reg_read(R.uc, UC_X86_REG_MXCSR, &csr);
	R.cpu.fpu.mxcsr = csr;
	uc_mem_read(R.uc, DATA_ADDR, R.mem + DATA_ADDR, DATA_LEN);
	uc_mem_read(R.uc, STACK_TOP - 4096, R.mem + STACK_TOP - 4096, 8192);
}

static void set_legacy_mode(struct x86_cpu *cpu)
{
	x86__reset(cpu);
	for (unsigned s = 0; s < X86_NR_SREGS; s++) {
		struct x86_seg *g = &cpu->seg[s];

		g->sel = 0;
		g->base = 0;
		if (g_mode == 32) {
			g->sel = s == X86_CS ? 0x8 : 0x10;
			g->limit = 0xffffffff;
			g->g = g->db = 1;
		}
	}
	if (g_mode == 32)
		cpu->cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE;
	cpu->cr4 = X86_CR4_OSFXSR;
	x86__state_changed(cpu);
}

static void setup_state(void)
{
	if (g_mode == 64)
		set_long_mode(&R.cpu);
	else
		set_legacy_mode(&R.cpu);
	for (unsigned r = 0; r < (g_mode == 64 ? 16u : 8u); r++) {
		uint64_t v = rnd_val();

		if (g_mode != 64)
			v = (uint32_t)v;
		if (r == X86_RSP)
			v = STACK_TOP;
		if (r == DATA_REG)
			v = DATA_ADDR;
		uc_reg_write(R.uc, g_mode == 64 ? uc_gpr[r] : uc_gpr32[r], &v);
	}
	uint64_t fl = 2 | (rnd() & (X86_FL_ARITH));

	uc_reg_write(R.uc, UC_X86_REG_EFLAGS, &fl);
	for (unsigned r = 0; r < 16 && g_mode == 64; r++) {
		uint8_t x[16];

		rnd_xmm(x);
		uc_reg_write(R.uc, UC_X86_REG_XMM0 + r, x);
	}
	for (unsigned k = 0; k < DATA_LEN; k++)
		R.mem[DATA_ADDR + k] = rnd();
	uc_mem_write(R.uc, DATA_ADDR, R.mem + DATA_ADDR, DATA_LEN);
}

/* ---- instruction generator ---- */

enum kind { K_RM, K_RM_I8, K_RM_IZ, K_ACC_I8, K_ACC_IZ, K_NONE, K_REG_OP, K_REG_IV, K_JCC };

struct tmpl {
	uint8_t map, op, kind;
	uint8_t grp_mask;	/* allowed ModRM.reg values for groups (bit mask), 0 = any reg */
	uint32_t undef;		/* flags left undefined */
	uint8_t no66;		/* no operand-size prefix */
	uint8_t byte_only_reg;	/* K_REG_OP on a byte register */
};

#define AF X86_FL_AF
#define OF X86_FL_OF
#define SZAP (X86_FL_SF | X86_FL_ZF | X86_FL_AF | X86_FL_PF)
#define ALLBUTCF (X86_FL_OF | SZAP)
#define ALL X86_FL_ARITH
/*
 * QEMU 5 (unicorn 2.0) writes EAX even when a 32-bit CMPXCHG succeeds, which
 * zero-extends RAX; the SDM writes the accumulator only on failure.
 */
#define RAX_LO (1u << 31)
/* AX holds an x87 status word: compare TOP and C0/C2/C3 only (no exception flags are kept) */
#define RAX_FSW (1u << 30)

/* positional initializers: trailing fields default to 0 */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
static const struct tmpl tmpls[] = {
	/* ALU */
	{0, 0x00, K_RM}, {0, 0x01, K_RM}, {0, 0x02, K_RM}, {0, 0x03, K_RM}, {0, 0x04, K_ACC_I8}, {0, 0x05, K_ACC_IZ},
	{0, 0x08, K_RM, 0, AF}, {0, 0x09, K_RM, 0, AF}, {0, 0x0a, K_RM, 0, AF}, {0, 0x0b, K_RM, 0, AF},
	{0, 0x0c, K_ACC_I8, 0, AF}, {0, 0x0d, K_ACC_IZ, 0, AF},
	{0, 0x10, K_RM}, {0, 0x11, K_RM}, {0, 0x12, K_RM}, {0, 0x13, K_RM}, {0, 0x14, K_ACC_I8}, {0, 0x15, K_ACC_IZ},
	{0, 0x18, K_RM}, {0, 0x19, K_RM}, {0, 0x1a, K_RM}, {0, 0x1b, K_RM}, {0, 0x1c, K_ACC_I8}, {0, 0x1d, K_ACC_IZ},
	{0, 0x20, K_RM, 0, AF}, {0, 0x21, K_RM, 0, AF}, {0, 0x22, K_RM, 0, AF}, {0, 0x23, K_RM, 0, AF},
	{0, 0x24, K_ACC_I8, 0, AF}, {0, 0x25, K_ACC_IZ, 0, AF},
	{0, 0x28, K_RM}, {0, 0x29, K_RM}, {0, 0x2a, K_RM}, {0, 0x2b, K_RM}, {0, 0x2c, K_ACC_I8}, {0, 0x2d, K_ACC_IZ},
	{0, 0x30, K_RM, 0, AF}, {0, 0x31, K_RM, 0, AF}, {0, 0x32, K_RM, 0, AF}, {0, 0x33, K_RM, 0, AF},
	{0, 0x34, K_ACC_I8, 0, AF}, {0, 0x35, K_ACC_IZ, 0, AF},
	{0, 0x38, K_RM}, {0, 0x39, K_RM}, {0, 0x3a, K_RM}, {0, 0x3b, K_RM}, {0, 0x3c, K_ACC_I8}, {0, 0x3d, K_ACC_IZ},
	{0, 0x80, K_RM_I8, 0xff}, {0, 0x81, K_RM_IZ, 0xff}, {0, 0x83, K_RM_I8, 0xff},
	{0, 0x84, K_RM, 0, AF}, {0, 0x85, K_RM, 0, AF}, {0, 0xa8, K_ACC_I8, 0, AF}, {0, 0xa9, K_ACC_IZ, 0, AF},
	{0, 0x86, K_RM}, {0, 0x87, K_RM},
	{0, 0x88, K_RM}, {0, 0x89, K_RM}, {0, 0x8a, K_RM}, {0, 0x8b, K_RM}, {0, 0x8d, K_RM},
	{0, 0xc6, K_RM_I8, 0x01}, {0, 0xc7, K_RM_IZ, 0x01},
	{0, 0x63, K_RM},
	/* shifts */
	{0, 0xc0, K_RM_I8, 0xff, AF | OF}, {0, 0xc1, K_RM_I8, 0xff, AF | OF},
	{0, 0xd0, K_RM, 0xff, AF}, {0, 0xd1, K_RM, 0xff, AF},
	{0, 0xd2, K_RM, 0xff, AF | OF}, {0, 0xd3, K_RM, 0xff, AF | OF},
	{1, 0xa4, K_RM_I8, 0, AF | OF, 1}, {1, 0xa5, K_RM, 0, AF | OF, 1},
	{1, 0xac, K_RM_I8, 0, AF | OF, 1}, {1, 0xad, K_RM, 0, AF | OF, 1},
	/* unary, mul */
	{0, 0xf6, K_RM, 0x0c}, {0, 0xf7, K_RM, 0x0c},
	{0, 0xf6, K_RM_I8, 0x01, AF}, {0, 0xf7, K_RM_IZ, 0x01, AF},
	{0, 0xf6, K_RM, 0x30, SZAP}, {0, 0xf7, K_RM, 0x30, SZAP},
	{0, 0xfe, K_RM, 0x03}, {0, 0xff, K_RM, 0x03},
	{1, 0xaf, K_RM, 0, SZAP}, {0, 0x69, K_RM_IZ, 0, SZAP}, {0, 0x6b, K_RM_I8, 0, SZAP},
	/* extensions, bits */
	{1, 0xb6, K_RM}, {1, 0xb7, K_RM}, {1, 0xbe, K_RM}, {1, 0xbf, K_RM},
	{1, 0xa3, K_RM, 0, ALLBUTCF}, {1, 0xab, K_RM, 0, ALLBUTCF}, {1, 0xb3, K_RM, 0, ALLBUTCF},
	{1, 0xbb, K_RM, 0, ALLBUTCF}, {1, 0xba, K_RM_I8, 0xf0, ALLBUTCF},
	{1, 0xbc, K_RM, 0, ALL & ~X86_FL_ZF}, {1, 0xbd, K_RM, 0, ALL & ~X86_FL_ZF},
	{1, 0xc0, K_RM}, {1, 0xc1, K_RM}, {1, 0xb0, K_RM}, {1, 0xb1, K_RM, 0, RAX_LO},
	/* conditionals */
	{1, 0x40, K_RM}, {1, 0x42, K_RM}, {1, 0x44, K_RM}, {1, 0x46, K_RM}, {1, 0x48, K_RM},
	{1, 0x4a, K_RM}, {1, 0x4c, K_RM}, {1, 0x4e, K_RM}, {1, 0x4f, K_RM}, {1, 0x43, K_RM},
	{1, 0x90, K_RM}, {1, 0x92, K_RM}, {1, 0x95, K_RM}, {1, 0x96, K_RM}, {1, 0x98, K_RM},
	{1, 0x9b, K_RM}, {1, 0x9c, K_RM}, {1, 0x9f, K_RM}, {1, 0x9a, K_RM}, {1, 0x91, K_RM},
	{0, 0x70, K_JCC}, {0, 0x71, K_JCC}, {0, 0x72, K_JCC}, {0, 0x73, K_JCC}, {0, 0x74, K_JCC},
	{0, 0x75, K_JCC}, {0, 0x76, K_JCC}, {0, 0x77, K_JCC}, {0, 0x78, K_JCC}, {0, 0x79, K_JCC},
	{0, 0x7a, K_JCC}, {0, 0x7b, K_JCC}, {0, 0x7c, K_JCC}, {0, 0x7d, K_JCC}, {0, 0x7e, K_JCC},
	{0, 0x7f, K_JCC},
	/* no operands */
	{0, 0x98, K_NONE}, {0, 0x99, K_NONE}, {0, 0x9e, K_NONE, 0, 0, 1}, {0, 0x9f, K_NONE, 0, 0, 1},
	{0, 0xf5, K_NONE}, {0, 0xf8, K_NONE}, {0, 0xf9, K_NONE}, {0, 0x90, K_NONE},
	{0, 0x50, K_REG_OP, 0, 0, 1}, {0, 0x58, K_REG_OP, 0, 0, 1}, {0, 0x90, K_REG_OP},
	{0, 0xb8, K_REG_IV}, {0, 0xb0, K_REG_IV, 0, 0, 1, 1},
	{1, 0xc8, K_REG_OP, 0, 0, 1},
};

static const uint8_t ok_regs[] = { 0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14 };

static unsigned pick_reg(void)
{
	if (g_mode != 64)
		return ok_regs[rnd() % 6];	/* 0-3, 5, 6: not ESP/EDI */
	return ok_regs[rnd() % sizeof(ok_regs)];
}

/* Emit one instruction; returns length, sets *undef. */
static unsigned gen(uint8_t *b, uint32_t *undef)
{
	const struct tmpl *t;

	do {
		t = &tmpls[rnd() % (sizeof(tmpls) / sizeof(tmpls[0]))];
	} while (g_mode != 64 && t->map == 0 && t->op == 0x63);	/* ARPL outside 64-bit mode */
	unsigned n = 0, rex = 0x40;
	bool p66 = !t->no66 && rnd() % 4 == 0;

	/* BSWAP of a 16-bit register is undefined: always 32-bit */
	if (t->map == 1 && t->op == 0xc8)
		p66 = g_mode == 16;
	bool w = rnd() % 2;
	unsigned reg = pick_reg(), rm = pick_reg(), grp = 0;
	bool mem = rnd() % 3 == 0;
	unsigned op = t->op;

	/* BT with a register bit offset can address far outside the data window */
	if (t->map == 1 && (op == 0xa3 || op == 0xab || op == 0xb3 || op == 0xbb))
		mem = false;

	*undef = t->undef;
	if (t->grp_mask) {
		do {
			grp = rnd() % 8;
		} while (!(t->grp_mask & (1u << grp)));
		reg = grp;
		if (op == 0xf7 || op == 0xf6) {
			if (grp == 4 || grp == 5)
				*undef = SZAP;
			else if (grp == 0)
				*undef = AF;
			else
				*undef = 0;
		}
		if ((op == 0x80 || op == 0x81 || op == 0x83) && (grp == 1 || grp == 4 || grp == 6))
			*undef = AF;
		if ((op == 0xd0 || op == 0xd1) && grp < 4)
			*undef = 0;	/* rotates by 1 leave SF ZF AF PF alone */
		if ((op == 0xc0 || op == 0xc1 || op == 0xd2 || op == 0xd3) && grp < 4)
			*undef = OF;
	}
	if (t->kind == K_JCC) {
		b[0] = op;
		b[1] = 2;
		b[2] = 0x90;
		b[3] = 0x90;
		return 4;
	}
	if (t->kind == K_REG_OP && t->op == 0x90) {
		/* XCHG rAX, r */
		op = 0x90 + (rm & 7);
		if (rm == 0)
			op = 0x91;
	} else if (t->kind == K_REG_OP || t->kind == K_REG_IV) {
		op = t->op + (rm & 7);
	}
	if (p66)
		b[n++] = 0x66;
	if (t->kind == K_RM || t->kind == K_RM_I8 || t->kind == K_RM_IZ) {
		if (!t->grp_mask && (reg & 8))
			rex |= 4;
		if (mem)
			rex |= 1;
		else if (rm & 8)
			rex |= 1;
	} else if (t->kind == K_REG_OP || t->kind == K_REG_IV) {
		if (rm & 8)
			rex |= 1;
	}
	if (w && !(t->kind == K_REG_OP && t->op == 0x50) && !(t->kind == K_REG_OP && t->op == 0x58) &&
	    !t->byte_only_reg)
		rex |= 8;
	if (t->kind == K_REG_OP && (t->op == 0x50 || t->op == 0x58) && p66)
		n--;	/* keep pushes 64-bit: 16-bit pushes work but desynchronise nothing useful */
	/* no REX on LAHF/SAHF: QEMU then wrongly uses SPL instead of AH */
	if (g_mode != 64)
		rex = 0x40;	/* no REX outside 64-bit mode (0x40-0x4f are INC/DEC there) */
	else if ((rex != 0x40 || rnd() % 4 == 0) && !(t->kind == K_NONE && (op == 0x9e || op == 0x9f)))
		b[n++] = rex;
	if (t->map == 1)
		b[n++] = 0x0f;
	b[n++] = op;
	if (t->kind == K_RM || t->kind == K_RM_I8 || t->kind == K_RM_IZ) {
		/* [r15 + disp8], [edi + disp8] or [di + disp8] */
		unsigned mrm = 0x40 | ((reg & 7) << 3) | (g_mode == 16 ? 5 : 7);

		if (mem && op != 0x8d) {
			b[n++] = mrm;
			b[n++] = (rnd() % (DATA_LEN - 64)) & 0x7f;
		} else if (mem) {
			b[n++] = mrm;
			b[n++] = rnd();
		} else {
			b[n++] = 0xc0 | ((reg & 7) << 3) | (rm & 7);
		}
	}
	bool opsz16 = g_mode == 16 ? !p66 : p66 && !(rex & 8);

	switch (t->kind) {
	case K_RM_I8:
	case K_ACC_I8:
		b[n++] = rnd();
		break;
	case K_RM_IZ:
	case K_ACC_IZ:
		for (unsigned k = 0; k < (opsz16 ? 2u : 4u); k++)
			b[n++] = rnd();
		break;
	case K_REG_IV: {
		unsigned sz = t->byte_only_reg ? 1 : (rex & 8) ? 8 : opsz16 ? 2 : 4;
		uint64_t v = rnd_val();

		for (unsigned k = 0; k < sz; k++)
			b[n++] = v >> (8 * k);
		break;
	}
	default:
		break;
	}
	return n;
}

/* ---- stepping and comparison ---- */

static bool nan32(uint32_t v) { return (v & 0x7f800000) == 0x7f800000 && (v & 0x7fffff); }
static bool nan64(uint64_t v) { return (v & 0x7ff0000000000000ull) == 0x7ff0000000000000ull && (v & 0xfffffffffffffull); }

/*
 * Equal, or NaN in the same lanes.  The interpreter computes on the host's
 * SSE units, so its NaN payloads are the hardware's; unicorn 2.0 (QEMU 5)
 * picks the second operand's NaN where hardware returns the first.
 */
static bool xmm_same(const uint8_t *a, const uint8_t *b)
{
	for (unsigned q = 0; q < 2; q++) {
		uint64_t x, y;

		memcpy(&x, a + 8 * q, 8);
		memcpy(&y, b + 8 * q, 8);
		if (x == y || (nan64(x) && nan64(y)))
			continue;
		for (unsigned h = 0; h < 2; h++) {
			uint32_t u = x >> (32 * h), v = y >> (32 * h);

			if (u != v && !(nan32(u) && nan32(v)))
				return false;
		}
	}
	return true;
}



static int step_both(const uint8_t *insn, unsigned len, uint32_t undef, bool quiet_mismatch)
{
	/* a fresh address each time: unicorn caches translated blocks */
	static unsigned slot;
	uint64_t code = CODE_ADDR + (slot++ % (g_mode == 64 ? 2048 : 256)) * 32;
	uint64_t rip = code;
	struct x86_exit ex;
	uint8_t pad[32];

	memset(pad, 0xf4, sizeof(pad));
	memcpy(pad, insn, len);
	memcpy(R.mem + code, pad, sizeof(pad));
	uc_mem_write(R.uc, code, pad, sizeof(pad));
	uc_ctl_remove_cache(R.uc, code, code + 32);
	uc_reg_write(R.uc, g_mode == 64 ? UC_X86_REG_RIP : UC_X86_REG_EIP, &rip);
	uc_sync_to_interp();
	R.cpu.rip = code;
	R.cpu.stats.exceptions = 0;

	uc_err ue = uc_emu_start(R.uc, code, code + 0x100000, 0, 1);
	enum x86_event ev = x86__run(&R.cpu, &flat_ops, NULL, 1, &ex);

	/* coverage */
	unsigned p = 0;

	while (insn[p] == 0x66 || insn[p] == 0xf0 || insn[p] == 0xf3 || insn[p] == 0xf2 || (insn[p] & 0xf0) == 0x40)
		p++;
	if (insn[p] == 0x0f)
		R.cov[1][insn[p + 1]]++;
	else
		R.cov[0][insn[p]]++;

	int bad = 0;
	char msg[2048];
	int m = 0;

	if (ue != UC_ERR_OK) {
		/* unicorn refused (e.g. #DE, #UD): the interpreter must have delivered an exception */
		/* e.g. #UD or an access outside memory: the interpreter must not retire it */
		if (ev == X86_EV_BUDGET && R.cpu.stats.exceptions == 0 && R.cpu.rip == code + len) {
			m += snprintf(msg + m, sizeof(msg) - m, "unicorn error %d, interpreter ok\n", ue);
			bad = 1;
		}
		R.cpu.stats.exceptions = 0;
		R.faulted++;
		goto out;
	}
	if (ev != X86_EV_BUDGET) {
		m += snprintf(msg + m, sizeof(msg) - m, "interpreter event %s\n", x86__event_name(ev));
		bad = 1;
		goto out;
	}
	for (unsigned r = 0; r < (g_mode == 64 ? 16u : 8u); r++) {
		uint64_t v = 0;

		uc_reg_read(R.uc, g_mode == 64 ? uc_gpr[r] : uc_gpr32[r], &v);
		if ((undef & RAX_LO) && r == 0 && (uint32_t)v == (uint32_t)R.cpu.gpr[r])
			continue;
		if ((undef & RAX_FSW) && r == 0 && ((v ^ R.cpu.gpr[r]) & 0x7d00) == 0)
			continue;
		if (v != R.cpu.gpr[r]) {
			m += snprintf(msg + m, sizeof(msg) - m, "  gpr%u uc=%016llx interp=%016llx\n", r,
				      (unsigned long long)v, (unsigned long long)R.cpu.gpr[r]);
			bad = 1;
		}
	}
	rip = 0;
	uc_reg_read(R.uc, g_mode == 64 ? UC_X86_REG_RIP : UC_X86_REG_EIP, &rip);
	if (rip != R.cpu.rip) {
		m += snprintf(msg + m, sizeof(msg) - m, "  rip uc=%llx interp=%llx\n",
			      (unsigned long long)rip, (unsigned long long)R.cpu.rip);
		bad = 1;
	}
	uint64_t fl = 0, mask = X86_FL_ARITH & ~(uint64_t)undef;

	uc_reg_read(R.uc, UC_X86_REG_EFLAGS, &fl);
	if ((fl & mask) != (R.cpu.rflags & mask)) {
		m += snprintf(msg + m, sizeof(msg) - m, "  flags uc=%03llx interp=%03llx mask=%03llx\n",
			      (unsigned long long)(fl & X86_FL_ARITH), (unsigned long long)(R.cpu.rflags & X86_FL_ARITH),
			      (unsigned long long)mask);
		bad = 1;
	}
	for (unsigned r = 0; r < 16 && g_mode == 64; r++) {
		uint8_t x[16];

		uc_reg_read(R.uc, UC_X86_REG_XMM0 + r, x);
		if (!xmm_same(x, R.cpu.fpu.xmm[r])) {
			uint64_t u[2], v[2];

			memcpy(u, x, 16);
			memcpy(v, R.cpu.fpu.xmm[r], 16);
			m += snprintf(msg + m, sizeof(msg) - m, "  xmm%u uc=%016llx:%016llx interp=%016llx:%016llx\n", r,
				      (unsigned long long)u[1], (unsigned long long)u[0],
				      (unsigned long long)v[1], (unsigned long long)v[0]);
			bad = 1;
		}
	}
	uc_mem_read(R.uc, DATA_ADDR, R.ucmem, DATA_LEN);
	if (memcmp(R.ucmem, R.mem + DATA_ADDR, DATA_LEN)) {
		m += snprintf(msg + m, sizeof(msg) - m, "  data memory differs\n");
		bad = 1;
	}
out:
	R.compared++;
	if (bad) {
		R.mismatches++;
		if (!quiet_mismatch || R.mismatches <= 30) {
			printf("MISMATCH:");
			for (unsigned k = 0; k < len; k++)
				printf(" %02x", insn[k]);
			printf("\n%s", msg);
		}
	}
	return bad;
}

static void rig_open(void)
{
	memset(&R, 0, sizeof(R));
	R.mem = calloc(1, MEM_SIZE);
	R.ucmem = calloc(1, MEM_SIZE);
	assert_non_null(R.mem);
	assert_int_equal(uc_open(UC_ARCH_X86, g_mode == 64 ? UC_MODE_64 : g_mode == 32 ? UC_MODE_32 : UC_MODE_16,
				 &R.uc), UC_ERR_OK);
	assert_int_equal(uc_mem_map(R.uc, 0, MEM_SIZE, UC_PROT_ALL), UC_ERR_OK);
}

static void rig_close(void)
{
	uc_close(R.uc);
	free(R.mem);
	free(R.ucmem);
}

static void print_coverage(void)
{
	unsigned n = 0;

	printf("coverage (opcode:count), one-byte map:\n ");
	for (unsigned op = 0; op < 256; op++)
		if (R.cov[0][op]) {
			printf(" %02x:%llu", op, (unsigned long long)R.cov[0][op]);
			if (++n % 12 == 0)
				printf("\n ");
		}
	n = 0;
	printf("\ncoverage, 0F map:\n ");
	for (unsigned op = 0; op < 256; op++)
		if (R.cov[1][op]) {
			printf(" 0f%02x:%llu", op, (unsigned long long)R.cov[1][op]);
			if (++n % 10 == 0)
				printf("\n ");
		}
	unsigned d0 = 0, d1 = 0;

	for (unsigned op = 0; op < 256; op++) {
		d0 += !!R.cov[0][op];
		d1 += !!R.cov[1][op];
	}
	printf("\ndistinct opcodes: %u one-byte, %u 0F\n", d0, d1);
}

static void run_random(int mode)
{
	g_mode = mode;
	const char *s = getenv("X86_UNICORN_SEED");
	const char *it = getenv("X86_UNICORN_ITERS");
	unsigned long iters = it ? strtoul(it, NULL, 0) : 3000;

	rng_state = s ? strtoull(s, NULL, 0) : 0x9e3779b97f4a7c15ull;
	rig_open();
	for (unsigned long k = 0; k < iters; k++) {
		setup_state();
		for (unsigned j = 0; j < 16; j++) {
			uint8_t insn[16];
			uint32_t undef;
			unsigned len = gen(insn, &undef);

			step_both(insn, len, undef, true);
		}
	}
	print_coverage();
	printf("random %d-bit: %lu instructions compared (%lu faulted in both), %lu mismatches\n",
	       mode, R.compared, R.faulted, R.mismatches);
	unsigned long bad = R.mismatches;

	rig_close();
	g_mode = 64;
	assert_int_equal(bad, 0);
}

static void test_random(void **state)
{
	(void)state;
	run_random(64);
}

static void test_random32(void **state)
{
	(void)state;
	run_random(32);
}

static void test_random16(void **state)
{
	(void)state;
	run_random(16);
}

/* ---- SSE/SSE2 generator ---- */

enum skind { S_XX, S_XX_I8, S_STORE, S_GX, S_GX_I8, S_XG, S_XG_I8, S_GXM, S_XGSTORE, S_SHIFTI, S_NTSTORE };

struct stmpl {
	uint8_t pfx, op, kind, msize, align, grps;
	uint32_t undef;
};

static const struct stmpl stmpls[] = {
	/* packed integer (66) */
	{0x66, 0x60, S_XX, 16, 1}, {0x66, 0x61, S_XX, 16, 1}, {0x66, 0x62, S_XX, 16, 1}, {0x66, 0x63, S_XX, 16, 1},
	{0x66, 0x64, S_XX, 16, 1}, {0x66, 0x65, S_XX, 16, 1}, {0x66, 0x66, S_XX, 16, 1}, {0x66, 0x67, S_XX, 16, 1},
	{0x66, 0x68, S_XX, 16, 1}, {0x66, 0x69, S_XX, 16, 1}, {0x66, 0x6a, S_XX, 16, 1}, {0x66, 0x6b, S_XX, 16, 1},
	{0x66, 0x6c, S_XX, 16, 1}, {0x66, 0x6d, S_XX, 16, 1}, {0x66, 0x74, S_XX, 16, 1}, {0x66, 0x75, S_XX, 16, 1},
	{0x66, 0x76, S_XX, 16, 1}, {0x66, 0xd1, S_XX, 16, 1}, {0x66, 0xd2, S_XX, 16, 1}, {0x66, 0xd3, S_XX, 16, 1},
	{0x66, 0xd4, S_XX, 16, 1}, {0x66, 0xd5, S_XX, 16, 1}, {0x66, 0xd8, S_XX, 16, 1}, {0x66, 0xd9, S_XX, 16, 1},
	{0x66, 0xda, S_XX, 16, 1}, {0x66, 0xdb, S_XX, 16, 1}, {0x66, 0xdc, S_XX, 16, 1}, {0x66, 0xdd, S_XX, 16, 1},
	{0x66, 0xde, S_XX, 16, 1}, {0x66, 0xdf, S_XX, 16, 1}, {0x66, 0xe0, S_XX, 16, 1}, {0x66, 0xe1, S_XX, 16, 1},
	{0x66, 0xe2, S_XX, 16, 1}, {0x66, 0xe3, S_XX, 16, 1}, {0x66, 0xe4, S_XX, 16, 1}, {0x66, 0xe5, S_XX, 16, 1},
	{0x66, 0xe8, S_XX, 16, 1}, {0x66, 0xe9, S_XX, 16, 1}, {0x66, 0xea, S_XX, 16, 1}, {0x66, 0xeb, S_XX, 16, 1},
	{0x66, 0xec, S_XX, 16, 1}, {0x66, 0xed, S_XX, 16, 1}, {0x66, 0xee, S_XX, 16, 1}, {0x66, 0xef, S_XX, 16, 1},
	{0x66, 0xf1, S_XX, 16, 1}, {0x66, 0xf2, S_XX, 16, 1}, {0x66, 0xf3, S_XX, 16, 1}, {0x66, 0xf4, S_XX, 16, 1},
	{0x66, 0xf5, S_XX, 16, 1}, {0x66, 0xf6, S_XX, 16, 1}, {0x66, 0xf8, S_XX, 16, 1}, {0x66, 0xf9, S_XX, 16, 1},
	{0x66, 0xfa, S_XX, 16, 1}, {0x66, 0xfb, S_XX, 16, 1}, {0x66, 0xfc, S_XX, 16, 1}, {0x66, 0xfd, S_XX, 16, 1},
	{0x66, 0xfe, S_XX, 16, 1},
	{0x66, 0x70, S_XX_I8, 16, 1}, {0xf3, 0x70, S_XX_I8, 16, 1}, {0xf2, 0x70, S_XX_I8, 16, 1},
	{0x66, 0x71, S_SHIFTI, 0, 0, 0x54}, {0x66, 0x72, S_SHIFTI, 0, 0, 0x54}, {0x66, 0x73, S_SHIFTI, 0, 0, 0xcc},
	{0x66, 0xd7, S_GX}, {0, 0x50, S_GX}, {0x66, 0x50, S_GX}, {0x66, 0xc5, S_GX_I8},
	{0x66, 0x6e, S_XG}, {0x66, 0x7e, S_XGSTORE}, {0x66, 0xc4, S_XG_I8},
	{0x66, 0x6f, S_XX, 16, 1}, {0xf3, 0x6f, S_XX, 16, 0}, {0x66, 0x7f, S_STORE, 16, 1}, {0xf3, 0x7f, S_STORE, 16, 0},
	{0xf3, 0x7e, S_XX, 8, 0}, {0x66, 0xd6, S_STORE, 8, 0},
	{0, 0x2b, S_NTSTORE, 16, 1}, {0x66, 0xe7, S_NTSTORE, 16, 1},
	/* moves */
	{0, 0x10, S_XX, 16, 0}, {0x66, 0x10, S_XX, 16, 0}, {0xf3, 0x10, S_XX, 4, 0}, {0xf2, 0x10, S_XX, 8, 0},
	{0, 0x11, S_STORE, 16, 0}, {0xf3, 0x11, S_STORE, 4, 0}, {0xf2, 0x11, S_STORE, 8, 0},
	{0, 0x28, S_XX, 16, 1}, {0x66, 0x28, S_XX, 16, 1}, {0, 0x29, S_STORE, 16, 1},
	{0, 0x12, S_XX, 8, 0}, {0, 0x16, S_XX, 8, 0}, {0x66, 0x13, S_STORE, 8, 0}, {0x66, 0x17, S_STORE, 8, 0},
	/* floating point */
	{0, 0x14, S_XX, 16, 1}, {0x66, 0x14, S_XX, 16, 1}, {0, 0x15, S_XX, 16, 1}, {0x66, 0x15, S_XX, 16, 1},
	{0, 0x54, S_XX, 16, 1}, {0x66, 0x55, S_XX, 16, 1}, {0, 0x56, S_XX, 16, 1}, {0x66, 0x57, S_XX, 16, 1},
	{0, 0x58, S_XX, 16, 1}, {0x66, 0x58, S_XX, 16, 1}, {0xf3, 0x58, S_XX, 4, 0}, {0xf2, 0x58, S_XX, 8, 0},
	{0, 0x59, S_XX, 16, 1}, {0x66, 0x59, S_XX, 16, 1}, {0xf3, 0x59, S_XX, 4, 0}, {0xf2, 0x59, S_XX, 8, 0},
	{0, 0x5c, S_XX, 16, 1}, {0x66, 0x5c, S_XX, 16, 1}, {0xf3, 0x5c, S_XX, 4, 0}, {0xf2, 0x5c, S_XX, 8, 0},
	{0, 0x5e, S_XX, 16, 1}, {0x66, 0x5e, S_XX, 16, 1}, {0xf3, 0x5e, S_XX, 4, 0}, {0xf2, 0x5e, S_XX, 8, 0},
	{0, 0x5d, S_XX, 16, 1}, {0x66, 0x5d, S_XX, 16, 1}, {0xf3, 0x5d, S_XX, 4, 0}, {0xf2, 0x5f, S_XX, 8, 0},
	{0, 0x51, S_XX, 16, 1}, {0xf2, 0x51, S_XX, 8, 0},
	{0, 0x5a, S_XX, 8, 0}, {0x66, 0x5a, S_XX, 16, 1}, {0xf3, 0x5a, S_XX, 4, 0}, {0xf2, 0x5a, S_XX, 8, 0},
	{0, 0x5b, S_XX, 16, 1}, {0x66, 0x5b, S_XX, 16, 1}, {0xf3, 0x5b, S_XX, 16, 1},
	{0x66, 0xe6, S_XX, 16, 1}, {0xf3, 0xe6, S_XX, 8, 0}, {0xf2, 0xe6, S_XX, 16, 1},
	{0, 0xc2, S_XX_I8, 16, 1}, {0x66, 0xc2, S_XX_I8, 16, 1}, {0xf3, 0xc2, S_XX_I8, 4, 0}, {0xf2, 0xc2, S_XX_I8, 8, 0},
	{0, 0xc6, S_XX_I8, 16, 1}, {0x66, 0xc6, S_XX_I8, 16, 1},
	{0, 0x2e, S_XX, 4, 0}, {0x66, 0x2f, S_XX, 8, 0},
	{0xf3, 0x2a, S_XG}, {0xf2, 0x2a, S_XG}, {0xf3, 0x2c, S_GXM, 4}, {0xf2, 0x2d, S_GXM, 8},
	{0xf3, 0x2d, S_GXM, 4}, {0xf2, 0x2c, S_GXM, 8},
};

static unsigned gen_sse(uint8_t *b, uint32_t *undef)
{
	const struct stmpl *t = &stmpls[rnd() % (sizeof(stmpls) / sizeof(stmpls[0]))];
	unsigned n = 0, rex = 0x40, reg = rnd() % 16, rm = rnd() % 16;
	bool mem = rnd() % 3 == 0;

	*undef = 0;
	switch (t->kind) {
	case S_GX: case S_GX_I8: case S_SHIFTI:
		mem = false;
		break;
	case S_NTSTORE:
		mem = true;
		break;
	default:
		break;
	}
	/* GPR operands avoid RSP and R15 */
	if (t->kind == S_GX || t->kind == S_GX_I8 || t->kind == S_GXM)
		reg = pick_reg();
	if ((t->kind == S_XG || t->kind == S_XG_I8 || t->kind == S_XGSTORE) && !mem)
		rm = pick_reg();
	if (t->kind == S_SHIFTI) {
		do {
			reg = rnd() % 8;
		} while (!(t->grps & (1u << reg)));
	}
	if (t->pfx)
		b[n++] = t->pfx;
	if (t->kind != S_SHIFTI && (reg & 8))
		rex |= 4;
	if (mem || (rm & 8))
		rex |= 1;
	if ((t->kind == S_XG || t->kind == S_XGSTORE || t->kind == S_GXM) && rnd() % 2)
		rex |= 8;
	if (rex != 0x40)
		b[n++] = rex;
	b[n++] = 0x0f;
	b[n++] = t->op;
	if (mem) {
		unsigned msz = t->msize ? t->msize : 8;
		unsigned d = rnd() % (DATA_LEN / 2 - 16);

		if (t->align || msz == 16)
			d &= ~15u;
		if (!t->align)
			d |= rnd() % 2 ? (rnd() % 8) : 0;
		b[n++] = 0x80 | ((reg & 7) << 3) | 7;	/* [r15 + disp32] */
		b[n++] = d;
		b[n++] = d >> 8;
		b[n++] = 0;
		b[n++] = 0;
	} else {
		b[n++] = 0xc0 | ((reg & 7) << 3) | (rm & 7);
	}
	if (t->kind == S_XX_I8 || t->kind == S_GX_I8 || t->kind == S_XG_I8 || t->kind == S_SHIFTI)
		b[n++] = t->op == 0xc2 ? rnd() % 8 : t->kind == S_SHIFTI ? rnd() % 20 : rnd();
	return n;
}

static void test_sse_random(void **state)
{
	(void)state;
	const char *s = getenv("X86_UNICORN_SEED");
	const char *it = getenv("X86_UNICORN_ITERS");
	unsigned long iters = it ? strtoul(it, NULL, 0) : 3000;

	rng_state = (s ? strtoull(s, NULL, 0) : 0x9e3779b97f4a7c15ull) ^ 0x5555;
	rig_open();
	for (unsigned long k = 0; k < iters; k++) {
		setup_state();
		for (unsigned j = 0; j < 16; j++) {
			uint8_t insn[16];
			uint32_t undef;
			unsigned len = gen_sse(insn, &undef);

			step_both(insn, len, undef, true);
		}
	}
	print_coverage();
	printf("sse random: %lu instructions compared (%lu faulted in both), %lu mismatches\n",
	       R.compared, R.faulted, R.mismatches);
	unsigned long bad = R.mismatches;

	rig_close();
	assert_int_equal(bad, 0);
}

/* Targeted sequences with edge values that random data rarely hits. */
struct targeted {
	const char *name;
	uint8_t bytes[15];
	uint8_t len;
	uint32_t undef;
	uint64_t rax, rcx, rdx;
};

static const struct targeted tcases[] = {
	{ "div r64", { 0x48, 0xf7, 0xf1 }, 3, ALL, 100, 7, 0 },
	{ "div r32", { 0xf7, 0xf1 }, 2, ALL, 0xffffffff, 0x10, 0xf },
	{ "idiv r64 neg", { 0x48, 0xf7, 0xf9 }, 3, ALL, (uint64_t)-100, 7, (uint64_t)-1 },
	{ "idiv r8", { 0xf6, 0xf9 }, 2, ALL, 0xff9c, 7, 0 },
	{ "div r16", { 0x66, 0xf7, 0xf1 }, 3, ALL, 0x1234, 0x100, 0x12 },
	{ "shl 0", { 0x48, 0xd3, 0xe0 }, 3, AF, 0x8000000000000001ull, 0, 0 },
	{ "shl 64 masked", { 0x48, 0xd3, 0xe0 }, 3, AF | OF, 0x8000000000000001ull, 64, 0 },
	{ "sar 63", { 0x48, 0xd3, 0xf8 }, 3, AF | OF, 0x8000000000000001ull, 63, 0 },
	{ "shr 1", { 0x48, 0xd1, 0xe8 }, 3, AF, 0x8000000000000001ull, 0, 0 },
	{ "rcl 8 9", { 0xd2, 0xd0 }, 2, OF, 0x81, 9, 0 },
	{ "rcr 16 17", { 0x66, 0xd3, 0xd8 }, 3, OF, 0x8001, 17, 0 },
	{ "rol 8 8", { 0xd2, 0xc0 }, 2, OF, 0x81, 8, 0 },
	{ "shld 31", { 0x0f, 0xa5, 0xd0 }, 3, AF | OF, 0x12345678, 31, 0x9abcdef0 },
	{ "shrd 64", { 0x48, 0x0f, 0xad, 0xd0 }, 4, AF | OF, 0x12345678, 63, 0x9abcdef0 },
	{ "imul ovf", { 0x48, 0xf7, 0xe9 }, 3, SZAP, 0x4000000000000000ull, 4, 0 },
	{ "mul r8", { 0xf6, 0xe1 }, 2, SZAP, 0xff, 0xff, 0 },
	{ "neg min", { 0x48, 0xf7, 0xd8 }, 3, 0, 0x8000000000000000ull, 0, 0 },
	{ "adc carry chain", { 0xf9, 0x48, 0x11, 0xc8 }, 4, 0, ~0ull, 0, 0 },
	{ "sbb borrow", { 0xf9, 0x48, 0x19, 0xc8 }, 4, 0, 0, 0, 0 },
	{ "bsf zero", { 0x48, 0x0f, 0xbc, 0xc1 }, 4, ALL & ~X86_FL_ZF, 55, 0, 0 },
	{ "bsr", { 0x48, 0x0f, 0xbd, 0xc1 }, 4, ALL & ~X86_FL_ZF, 55, 0x10001, 0 },
	{ "rep bsf", { 0xf3, 0x48, 0x0f, 0xbc, 0xc1 }, 5, ALL & ~X86_FL_ZF, 55, 0x100, 0 },
	{ "cqo", { 0x48, 0x99 }, 2, 0, 0x8000000000000000ull, 0, 0 },
	{ "cdqe", { 0x48, 0x98 }, 2, 0, 0x80000000, 0, 0 },
	{ "cmpxchg16b-free xadd", { 0x48, 0x0f, 0xc1, 0xc8 }, 4, 0, 5, 7, 0 },
	{ "bswap32", { 0x0f, 0xc8 }, 2, 0, 0x1122334455667788ull, 0, 0 },
	{ "movsxd", { 0x48, 0x63, 0xc1 }, 3, 0, 0, 0x80000000, 0 },
	{ "lea rip", { 0x48, 0x8d, 0x05, 0x10, 0x00, 0x00, 0x00 }, 7, 0, 0, 0, 0 },
	{ "xchg ah", { 0x86, 0xe1 }, 2, 0, 0x1234, 0x5678, 0 },
	{ "sahf", { 0x9e }, 1, 0, 0xd500, 0, 0 },
	{ "cmovl 32 untaken zero-ext", { 0x0f, 0x4c, 0xc1 }, 3, 0, 0xffffffff00000001ull, 2, 0 },
	{ "setcc ch", { 0x0f, 0x94, 0xc5 }, 3, 0, 0, 0x1234, 0 },
	{ "jrcxz", { 0xe3, 0x02, 0x90, 0x90 }, 4, 0, 0, 0, 0 },
	{ "loop", { 0xe2, 0x02, 0x90, 0x90 }, 4, 0, 0, 2, 0 },
	{ "push imm8", { 0x6a, 0xff }, 2, 0, 0, 0, 0 },
	{ "call/ret pair", { 0xe8, 0x00, 0x00, 0x00, 0x00 }, 5, 0, 0, 0, 0 },
	{ "enter", { 0xc8, 0x10, 0x00, 0x00 }, 4, 0, 0, 0, 0 },
	{ "leave", { 0xc9 }, 1, 0, 0, 0, 0 },
	{ "xlat", { 0xd7 }, 1, 0, 3, 0, 0 },
	{ "cmpxchg8b", { 0x41, 0x0f, 0xc7, 0x4f, 0x08 }, 5, 0, 0, 0, 0 },
	{ "lock add mem", { 0xf0, 0x49, 0x01, 0x47, 0x10 }, 5, 0, 0x77, 0, 0 },
	{ "bt mem reg offset", { 0x49, 0x0f, 0xab, 0x4f, 0x20 }, 5, ALLBUTCF, 0, 200, 0 },
	{ "bt mem neg offset", { 0x49, 0x0f, 0xa3, 0x4f, 0x40 }, 5, ALLBUTCF, 0, (uint64_t)-9, 0 },
};

static void test_targeted(void **state)
{
	(void)state;
	unsigned long bad = 0;

	rng_state = 12345;
	rig_open();
	for (unsigned k = 0; k < sizeof(tcases) / sizeof(tcases[0]); k++) {
		const struct targeted *t = &tcases[k];

		for (unsigned pass = 0; pass < 4; pass++) {
			setup_state();
			uint64_t v[3] = { t->rax, t->rcx, t->rdx };
			uint64_t fl = 2 | (pass & 1 ? X86_FL_CF : 0) | (pass & 2 ? X86_FL_ZF | X86_FL_OF : 0);

			uc_reg_write(R.uc, UC_X86_REG_RAX, &v[0]);
			uc_reg_write(R.uc, UC_X86_REG_RCX, &v[1]);
			uc_reg_write(R.uc, UC_X86_REG_RDX, &v[2]);
			uc_reg_write(R.uc, UC_X86_REG_EFLAGS, &fl);
			/* run multi-instruction cases one instruction at a time */
			if (t->bytes[0] == 0xf9 && t->len == 4) {
				bad += step_both(t->bytes, 1, 0, false);
				bad += step_both(t->bytes + 1, 3, t->undef, false);
			} else {
				bad += step_both(t->bytes, t->len, t->undef, false);
			}
			if (bad)
				printf("  (targeted case '%s' pass %u)\n", t->name, pass);
			if (bad)
				break;
		}
	}
	printf("targeted: %zu cases, %lu mismatches\n", sizeof(tcases) / sizeof(tcases[0]), bad);
	rig_close();
	assert_int_equal(bad, 0);
}

/* x87 subset: one instruction at a time from FNINIT, results compared through memory and AX */
struct x87_insn {
	uint8_t len, b[8];
};

static const struct x87_insn x87_seq[] = {
	{ 2, { 0xdb, 0xe3 } },	/* fninit */
	{ 3, { 0x41, 0xdb, 0x07 } },	/* fild dword ptr [r15] */
	{ 4, { 0x41, 0xdd, 0x47, 0x08 } },	/* fld qword ptr [r15+8] */
	{ 2, { 0xde, 0xc1 } },	/* faddp st(1), st */
	{ 2, { 0xd9, 0xe8 } },	/* fld1 */
	{ 4, { 0x41, 0xdc, 0x4f, 0x08 } },	/* fmul qword ptr [r15+8] */
	{ 2, { 0xd8, 0xe1 } },	/* fsub st, st(1) */
	{ 4, { 0x41, 0xdc, 0x7f, 0x10 } },	/* fdivr qword ptr [r15+16] */
	{ 4, { 0x41, 0xdd, 0x57, 0x18 } },	/* fst qword ptr [r15+24] */
	{ 4, { 0x41, 0xdb, 0x5f, 0x20 } },	/* fistp dword ptr [r15+32] */
	{ 4, { 0x41, 0xdf, 0x6f, 0x28 } },	/* fild qword ptr [r15+40] */
	{ 2, { 0xd9, 0xe0 } },	/* fchs */
	{ 2, { 0xd9, 0xe1 } },	/* fabs */
	{ 2, { 0xd9, 0xfa } },	/* fsqrt */
	{ 4, { 0x41, 0xdd, 0x5f, 0x30 } },	/* fstp qword ptr [r15+48] */
	{ 4, { 0x41, 0xd9, 0x47, 0x38 } },	/* fld dword ptr [r15+56] */
	{ 4, { 0x41, 0xdd, 0x47, 0x08 } },	/* fld qword ptr [r15+8] */
	{ 2, { 0xdb, 0xf1 } },	/* fcomi st, st(1) */
	{ 2, { 0xdf, 0xe9 } },	/* fucomip st, st(1) */
	{ 2, { 0xd9, 0xc9 } },	/* fxch st(1) */
	{ 4, { 0x41, 0xd9, 0x5f, 0x3c } },	/* fstp dword ptr [r15+60] */
	{ 2, { 0xdf, 0xe0 } },	/* fnstsw ax */
	{ 4, { 0x41, 0xdb, 0x6f, 0x40 } },	/* fld tbyte ptr [r15+64] */
	{ 4, { 0x41, 0xdf, 0x47, 0x50 } },	/* fild word ptr [r15+80] */
	{ 2, { 0xde, 0xc9 } },	/* fmulp st(1), st */
	{ 2, { 0xd9, 0xee } },	/* fldz */
	{ 4, { 0x41, 0xdc, 0x57, 0x08 } },	/* fcom qword ptr [r15+8] */
	{ 2, { 0xdf, 0xe0 } },	/* fnstsw ax */
	{ 4, { 0x41, 0xdb, 0x7f, 0x60 } },	/* fstp tbyte ptr [r15+96] */
	{ 4, { 0x41, 0xdd, 0x47, 0x10 } },	/* fld qword ptr [r15+16] */
	{ 4, { 0x41, 0xdf, 0x7f, 0x70 } },	/* fistp qword ptr [r15+112] */
	{ 4, { 0x41, 0xdd, 0x47, 0x10 } },	/* fld qword ptr [r15+16] */
	{ 4, { 0x41, 0xdf, 0x57, 0x78 } },	/* fist word ptr [r15+120] */
	{ 2, { 0xd8, 0xf0 } },	/* fdiv st, st(0) */
	{ 7, { 0x41, 0xdd, 0x9f, 0x80, 0x00, 0x00, 0x00 } },	/* fstp qword ptr [r15+128] */
	{ 2, { 0xdf, 0xe0 } },	/* fnstsw ax */
};

static void test_x87(void **state)
{
	static const double dv[] = { 1.5, -2.25, 1e300, 0.1, -0.0, 3.0e-310, 7.0, 65536.5 };
	unsigned long bad = 0;

	(void)state;
	rng_state = 4242;
	g_mode = 64;
	rig_open();
	for (unsigned pass = 0; pass < 16; pass++) {
		setup_state();
		uint8_t *d = R.mem + DATA_ADDR;
		int32_t i32 = (int32_t)rnd();
		int64_t i64 = (int64_t)rnd() >> (rnd() % 40);
		float f32 = (float)dv[rnd() % 8];
		long double ld = (long double)dv[rnd() % 8] * 3;
		int16_t i16 = rnd();

		memcpy(d, &i32, 4);
		memcpy(d + 8, &dv[pass % 8], 8);
		memcpy(d + 16, &dv[(pass + 3) % 8], 8);
		memcpy(d + 40, &i64, 8);
		memcpy(d + 56, &f32, 4);
		memset(d + 64, 0, 16);
		memcpy(d + 64, &ld, 10);
		memcpy(d + 80, &i16, 2);
		uc_mem_write(R.uc, DATA_ADDR, d, DATA_LEN);
		for (unsigned k = 0; k < sizeof(x87_seq) / sizeof(x87_seq[0]); k++) {
			const struct x87_insn *x = &x87_seq[k];
			bool fnstsw = x->b[0] == 0xdf && x->b[1] == 0xe0;
			/* FCOMI: QEMU keeps OF/SF/AF, the interpreter clears them like COMISD */
			bool fcomi = (x->b[0] == 0xdb || x->b[0] == 0xdf) && x->b[1] >= 0xe8;

			bad += step_both(x->b, x->len, fnstsw ? RAX_FSW : fcomi ? (X86_FL_OF | X86_FL_SF | X86_FL_AF) : 0,
					 false);
		}
	}
	printf("x87: %lu instructions compared, %lu mismatches\n", R.compared, R.mismatches);
	rig_close();
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_targeted),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_random32),
		cmocka_unit_test(test_random16),
		cmocka_unit_test(test_sse_random),
		cmocka_unit_test(test_x87),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
