/*
 * SSE/SSE2 (and the MMX forms of the same opcodes): operand access,
 * moves, shuffles and the 0F map dispatcher.  Arithmetic lives in
 * x86_sse_ops.c and runs on the host's own SSE units with the guest's MXCSR
 * loaded, so rounding, NaN propagation and flags match hardware exactly.
 */
#include "x86_sse.h"

/* #UD/#NM rules shared by every SSE/MMX instruction. */
void x86_sse_check(struct x86_ctx *c, bool mmx)
{
	struct x86_cpu *cpu = c->cpu;

	if (cpu->cr0 & X86_CR0_EM)
		X86_UD(c);
	if (!mmx && !(cpu->cr4 & X86_CR4_OSFXSR))
		X86_UD(c);
	if (cpu->cr0 & X86_CR0_TS)
		x86_raise_noerr(c, X86_EXC_NM);
}

/* MMX register i lives in the mantissa of the x87 register of the same physical index. */
uint64_t x86_mmx_get(struct x86_cpu *cpu, unsigned r)
{
	uint64_t v;

	memcpy(&v, cpu->fpu.st[r & 7], 8);
	return v;
}

void x86_mmx_set(struct x86_cpu *cpu, unsigned r, uint64_t v)
{
	memcpy(cpu->fpu.st[r & 7], &v, 8);
	cpu->fpu.st[r & 7][8] = 0xff;	/* exponent all ones, as hardware does */
	cpu->fpu.st[r & 7][9] = 0xff;
	cpu->fpu.ftw = 0xff;
	cpu->fpu.fsw &= ~0x3800;	/* TOP = 0 */
}

/* Source operand as 16 bytes (reg or memory of @msize bytes, zero-extended). */
void x86_sse_src(struct x86_ctx *c, union x86_xmm *out, unsigned msize, bool align)
{
	const struct x86_insn *i = c->i;

	memset(out, 0, sizeof(*out));
	if (i->mod == 3) {
		memcpy(out->b, c->cpu->fpu.xmm[i->rm], 16);
		return;
	}
	if (align && msize == 16 && (c->ea & 15))
		X86_GP0(c);
	x86_read_buf(c, i->seg, c->ea, out->b, msize);
}

void x86_sse_store(struct x86_ctx *c, const void *src, unsigned msize, bool align)
{
	const struct x86_insn *i = c->i;

	if (i->mod == 3) {
		memcpy(c->cpu->fpu.xmm[i->rm], src, msize);
		return;
	}
	if (align && msize == 16 && (c->ea & 15))
		X86_GP0(c);
	x86_write_buf(c, i->seg, c->ea, src, msize);
}

/* MMX source: mm register or m64. */
uint64_t x86_mmx_src(struct x86_ctx *c)
{
	if (c->i->mod == 3)
		return x86_mmx_get(c->cpu, c->i->rm);
	return x86_read(c, c->i->seg, c->ea, 8);
}

static void op_movs(struct x86_ctx *c, unsigned pfx)
{
	const struct x86_insn *i = c->i;
	uint8_t *dst = c->cpu->fpu.xmm[i->reg];
	union x86_xmm v;
	bool store = i->opcode & 1;
	unsigned n = pfx == 0xf3 ? 4 : pfx == 0xf2 ? 8 : 16;
	bool align = (i->opcode & 0xfe) == 0x28;

	if (!store) {
		if (n < 16 && i->mod == 3) {
			memcpy(dst, c->cpu->fpu.xmm[i->rm], n);	/* merge the low element */
			return;
		}
		x86_sse_src(c, &v, n, align);
		memcpy(dst, v.b, 16);
		return;
	}
	if (n < 16 && i->mod == 3) {
		memcpy(c->cpu->fpu.xmm[i->rm], dst, n);
		return;
	}
	memcpy(v.b, dst, 16);
	x86_sse_store(c, v.b, n, align);
}

/* 0F 12/13/16/17: MOVLPS/MOVLPD/MOVHLPS, MOVHPS/MOVHPD/MOVLHPS */
static void op_movlh(struct x86_ctx *c)
{
	const struct x86_insn *i = c->i;
	uint8_t *x = c->cpu->fpu.xmm[i->reg];
	unsigned half = (i->opcode & 4) ? 8 : 0;

	if (i->opcode & 1) {		/* store to m64 */
		if (i->mod == 3)
			X86_UD(c);
		x86_write_buf(c, i->seg, c->ea, x + half, 8);
		return;
	}
	if (i->mod == 3) {
		const uint8_t *s = c->cpu->fpu.xmm[i->rm];

		if (i->pfx66)
			X86_UD(c);
		if (half)
			memcpy(x + 8, s, 8);	/* MOVLHPS */
		else
			memcpy(x, s + 8, 8);	/* MOVHLPS */
		return;
	}
	uint8_t t[8];

	x86_read_buf(c, i->seg, c->ea, t, 8);
	memcpy(x + half, t, 8);
}

static void op_movd(struct x86_ctx *c, unsigned pfx)
{
	const struct x86_insn *i = c->i;
	struct x86_cpu *cpu = c->cpu;
	unsigned n = (i->rex & 8) ? 8 : 4;

	if (i->opcode == 0x6e) {	/* MOVD/MOVQ xmm|mm, r/m */
		uint64_t v = x86_get_rm(c, n);

		if (pfx == 0x66) {
			memset(cpu->fpu.xmm[i->reg], 0, 16);
			memcpy(cpu->fpu.xmm[i->reg], &v, 8);
		} else {
			x86_mmx_set(cpu, i->reg, v);
		}
		return;
	}
	/* 0F 7E */
	if (pfx == 0xf3) {		/* MOVQ xmm, xmm/m64 */
		union x86_xmm v;

		x86_sse_src(c, &v, 8, false);
		memset(v.b + 8, 0, 8);
		memcpy(cpu->fpu.xmm[i->reg], v.b, 16);
		return;
	}
	uint64_t v;

	if (pfx == 0x66)
		memcpy(&v, cpu->fpu.xmm[i->reg], 8);
	else
		v = x86_mmx_get(cpu, i->reg);
	if (i->mod == 3)
		x86_set_reg(c, i->rm, n, v);
	else
		x86_write(c, i->seg, c->ea, n, v);
}

static void op_movq_mm(struct x86_ctx *c, unsigned pfx)
{
	const struct x86_insn *i = c->i;
	struct x86_cpu *cpu = c->cpu;
	union x86_xmm v;

	if (pfx == 0x66 || pfx == 0xf3) {	/* MOVDQA / MOVDQU */
		bool align = pfx == 0x66;

		if (i->opcode == 0x6f) {
			x86_sse_src(c, &v, 16, align);
			memcpy(cpu->fpu.xmm[i->reg], v.b, 16);
		} else {
			memcpy(v.b, cpu->fpu.xmm[i->reg], 16);
			x86_sse_store(c, v.b, 16, align);
		}
		return;
	}
	if (pfx)
		X86_UD(c);
	if (i->opcode == 0x6f) {
		x86_mmx_set(cpu, i->reg, x86_mmx_src(c));
	} else {
		uint64_t m = x86_mmx_get(cpu, i->reg);

		if (i->mod == 3)
			x86_mmx_set(cpu, i->rm, m);
		else
			x86_write(c, i->seg, c->ea, 8, m);
	}
}

/* 0F D6: MOVQ xmm/m64, xmm (66); MOVQ2DQ (F3); MOVDQ2Q (F2) */
static void op_d6(struct x86_ctx *c, unsigned pfx)
{
	const struct x86_insn *i = c->i;
	struct x86_cpu *cpu = c->cpu;

	if (pfx == 0x66) {
		if (i->mod == 3) {
			memcpy(cpu->fpu.xmm[i->rm], cpu->fpu.xmm[i->reg], 8);
			memset(cpu->fpu.xmm[i->rm] + 8, 0, 8);
		} else {
			x86_write_buf(c, i->seg, c->ea, cpu->fpu.xmm[i->reg], 8);
		}
	} else if (pfx == 0xf3 && i->mod == 3) {
		uint64_t m = x86_mmx_get(cpu, i->rm);

		memset(cpu->fpu.xmm[i->reg], 0, 16);
		memcpy(cpu->fpu.xmm[i->reg], &m, 8);
	} else if (pfx == 0xf2 && i->mod == 3) {
		uint64_t m;

		memcpy(&m, cpu->fpu.xmm[i->rm], 8);
		x86_mmx_set(cpu, i->reg, m);
	} else {
		X86_UD(c);
	}
}

static void op_nt_store(struct x86_ctx *c, unsigned pfx)
{
	const struct x86_insn *i = c->i;

	if (i->mod == 3)
		X86_UD(c);
	if (i->opcode == 0xc3) {	/* MOVNTI */
		x86_write(c, i->seg, c->ea, i->opsize == 8 ? 8 : 4, x86_get_reg(c, i->reg, i->opsize == 8 ? 8 : 4));
		return;
	}
	if (i->opcode == 0xe7 && !pfx) {	/* MOVNTQ */
		x86_write(c, i->seg, c->ea, 8, x86_mmx_get(c->cpu, i->reg));
		return;
	}
	x86_sse_store(c, c->cpu->fpu.xmm[i->reg], 16, true);
}

/* 0F C4 PINSRW, C5 PEXTRW */
static void op_pinsrw(struct x86_ctx *c, unsigned pfx)
{
	const struct x86_insn *i = c->i;
	struct x86_cpu *cpu = c->cpu;
	bool x = pfx == 0x66;
	unsigned sel = i->imm & (x ? 7 : 3);

	if (i->opcode == 0xc4) {
		uint16_t w = i->mod == 3 ? x86_get_reg(c, i->rm, 4) : x86_read(c, i->seg, c->ea, 2);

		if (x) {
			memcpy(cpu->fpu.xmm[i->reg] + 2 * sel, &w, 2);
		} else {
			uint64_t m = x86_mmx_get(cpu, i->reg);

			m = (m & ~(0xffffull << (16 * sel))) | ((uint64_t)w << (16 * sel));
			x86_mmx_set(cpu, i->reg, m);
		}
		return;
	}
	if (i->mod != 3)
		X86_UD(c);
	uint16_t w;

	if (x)
		memcpy(&w, cpu->fpu.xmm[i->rm] + 2 * sel, 2);
	else
		w = x86_mmx_get(cpu, i->rm) >> (16 * sel);
	x86_set_reg(c, i->reg, 4, w);
}

void op_sse(struct x86_ctx *c)
{
	const struct x86_insn *i = c->i;
	unsigned pfx = i->rep ? i->rep : i->pfx66 ? 0x66 : 0;
	uint8_t op = i->opcode;
	/* MMX forms: no prefix on the integer opcodes */
	bool mmx = !pfx && ((op >= 0x60 && op <= 0x7f) || (op >= 0xd1 && op != 0xd6 && op != 0xe6));

	if (op == 0x77) {		/* EMMS */
		x86_sse_check(c, true);
		c->cpu->fpu.ftw = 0;
		return;
	}
	x86_sse_check(c, mmx || (op == 0x2a && !pfx) || (op == 0x2c && !pfx) || (op == 0x2d && !pfx));
	switch (op) {
	case 0x10: case 0x11: case 0x28: case 0x29:
		op_movs(c, (op & 0xfe) == 0x28 ? 0 : pfx);
		return;
	case 0x12: case 0x13: case 0x16: case 0x17:
		if (pfx == 0xf3 || pfx == 0xf2)
			x86_op_ud(c);	/* MOVSLDUP/MOVDDUP: SSE3 */
		op_movlh(c);
		return;
	case 0x2b: case 0xe7: case 0xc3:
		op_nt_store(c, pfx);
		return;
	case 0x6e: case 0x7e:
		op_movd(c, pfx);
		return;
	case 0x6f: case 0x7f:
		op_movq_mm(c, pfx);
		return;
	case 0xd6:
		op_d6(c, pfx);
		return;
	case 0xc4: case 0xc5:
		if (pfx && pfx != 0x66)
			x86_op_ud(c);
		op_pinsrw(c, pfx);
		return;
	default:
		x86_sse_arith(c, pfx, mmx);
		return;
	}
}
