/*
 * Random instruction generators of the unicorn differential test
 * (test_x86_unicorn.c): integer instructions in 64-, 32- and 16-bit modes
 * and SSE/SSE2 in 64-bit mode, each with the flags it leaves undefined.
 * Memory operands address the rig's data window through DATA_REG.
 */
#ifndef MVM_TESTS_X86_UNICORN_GEN_H
#define MVM_TESTS_X86_UNICORN_GEN_H

#include "x86_unicorn_rig.h"


/* ---- instruction generator ---- */

enum kind { K_RM, K_RM_I8, K_RM_IZ, K_ACC_I8, K_ACC_IZ, K_NONE, K_REG_OP, K_REG_IV, K_JCC };

struct tmpl {
	uint8_t map, op, kind;
	uint8_t grp_mask;	/* allowed ModRM.reg values for groups (bit mask), 0 = any reg */
	uint32_t undef;		/* flags left undefined */
	uint8_t no66;		/* no operand-size prefix */
	uint8_t byte_only_reg;	/* K_REG_OP on a byte register */
};


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

static inline unsigned pick_reg(void)
{
	if (g_mode != 64)
		return ok_regs[rnd() % 6];	/* 0-3, 5, 6: not ESP/EDI */
	return ok_regs[rnd() % sizeof(ok_regs)];
}

/* Emit one instruction; returns length, sets *undef. */
static inline unsigned gen(uint8_t *b, uint32_t *undef)
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

static inline unsigned gen_sse(uint8_t *b, uint32_t *undef)
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

#endif
