/*
 * x87 control instructions, FXSAVE/FXRSTOR, LDMXCSR/STMXCSR, fences and
 * CLFLUSH (0F AE).  The x87 data subset is in x86_x87.c; the rest (the
 * transcendental functions, BCD, FCMOV...) raises #UD, counted in stats.ud.
 */
#include "x86_sse.h"

#define MXCSR_MASK 0xffffu	/* DAZ supported */

static void fpu_init(struct x86_fpu *f)
{
	f->fcw = 0x37f;
	f->fsw = 0;
	f->ftw = 0;
	f->fop = 0;
	f->fip = 0;
	f->fdp = 0;
}

static void fxsave(struct x86_ctx *c)
{
	const struct x86_insn *i = c->i;
	struct x86_fpu *f = &c->cpu->fpu;
	uint8_t img[512];

	if (c->ea & 15)
		X86_GP0(c);
	memset(img, 0, sizeof(img));
	memcpy(img + 0, &f->fcw, 2);
	memcpy(img + 2, &f->fsw, 2);
	img[4] = f->ftw;
	memcpy(img + 6, &f->fop, 2);
	if (i->rex & 8) {
		memcpy(img + 8, &f->fip, 8);
		memcpy(img + 16, &f->fdp, 8);
	} else {
		memcpy(img + 8, &f->fip, 4);
		memcpy(img + 16, &f->fdp, 4);
	}
	memcpy(img + 24, &f->mxcsr, 4);
	uint32_t mask = MXCSR_MASK;

	memcpy(img + 28, &mask, 4);
	for (unsigned k = 0; k < 8; k++)
		memcpy(img + 32 + 16 * k, f->st[k], 10);
	/* XMM8-15 only in 64-bit mode */
	memcpy(img + 160, f->xmm, x86_long64(c) ? 256 : 128);
	x86_write_buf(c, i->seg, c->ea, img, sizeof(img));
}

static void fxrstor(struct x86_ctx *c)
{
	const struct x86_insn *i = c->i;
	struct x86_fpu *f = &c->cpu->fpu;
	uint8_t img[512];
	uint32_t mxcsr;

	if (c->ea & 15)
		X86_GP0(c);
	x86_read_buf(c, i->seg, c->ea, img, sizeof(img));
	memcpy(&mxcsr, img + 24, 4);
	if (mxcsr & ~MXCSR_MASK)
		X86_GP0(c);
	memcpy(&f->fcw, img + 0, 2);
	memcpy(&f->fsw, img + 2, 2);
	f->ftw = img[4];
	memcpy(&f->fop, img + 6, 2);
	f->fip = f->fdp = 0;
	memcpy(&f->fip, img + 8, (i->rex & 8) ? 8 : 4);
	memcpy(&f->fdp, img + 16, (i->rex & 8) ? 8 : 4);
	f->mxcsr = mxcsr;
	for (unsigned k = 0; k < 8; k++) {
		memset(f->st[k], 0, 16);
		memcpy(f->st[k], img + 32 + 16 * k, 10);
	}
	memcpy(f->xmm, img + 160, x86_long64(c) ? 256 : 128);
}

void op_fxgrp(struct x86_ctx *c)
{
	const struct x86_insn *i = c->i;
	struct x86_cpu *cpu = c->cpu;
	unsigned r = i->reg & 7;

	if (i->mod == 3) {
		/* LFENCE (5), MFENCE (6), SFENCE (7): the interpreter is in order;
		 * a host fence keeps guest-visible ordering against other vCPUs */
		if (r >= 5 && !i->rep && !i->pfx66) {
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
			return;
		}
		x86_op_ud(c);	/* RDFSBASE & co.: FSGSBASE not advertised */
	}
	switch (r) {
	case 0:
	case 1:
		if (i->rep || i->pfx66)
			x86_op_ud(c);
		x86_sse_check(c, true);
		if (r == 0)
			fxsave(c);
		else
			fxrstor(c);
		return;
	case 2: {	/* LDMXCSR */
		x86_sse_check(c, false);
		uint32_t v = x86_read(c, i->seg, c->ea, 4);

		if (v & ~MXCSR_MASK)
			X86_GP0(c);
		cpu->fpu.mxcsr = v;
		return;
	}
	case 3:		/* STMXCSR */
		x86_sse_check(c, false);
		x86_write(c, i->seg, c->ea, 4, cpu->fpu.mxcsr);
		return;
	case 7:		/* CLFLUSH: check the address like a byte read */
		if (i->rep || i->pfx66)
			x86_op_ud(c);
		x86_read(c, i->seg, c->ea, 1);
		return;
	default:	/* XSAVE family: not advertised */
		x86_op_ud(c);
	}
}

/* D8-DF: only the control instructions. */
void op_x87(struct x86_ctx *c)
{
	const struct x86_insn *i = c->i;
	struct x86_cpu *cpu = c->cpu;
	struct x86_fpu *f = &cpu->fpu;
	unsigned op = i->opcode, r = i->reg & 7;

	if (cpu->cr0 & (X86_CR0_EM | X86_CR0_TS))
		x86_raise_noerr(c, X86_EXC_NM);
	if (i->mod == 3) {
		if (op == 0xdb && i->modrm == 0xe3) {		/* FNINIT */
			fpu_init(f);
			return;
		}
		if (op == 0xdb && i->modrm == 0xe2) {		/* FNCLEX */
			f->fsw &= 0x7f00;
			return;
		}
		if (op == 0xdf && i->modrm == 0xe0) {		/* FNSTSW AX */
			x86_set_reg(c, X86_RAX, 2, f->fsw);
			return;
		}
		if (op == 0xd9 && i->modrm == 0xd0)		/* FNOP */
			return;
		if (!x86_x87_exec(c))
			x86_op_ud(c);
		return;
	}
	if (op == 0xd9 && r == 5) {	/* FLDCW */
		f->fcw = x86_read(c, i->seg, c->ea, 2);
		return;
	}
	if (op == 0xd9 && r == 7) {	/* FNSTCW */
		x86_write(c, i->seg, c->ea, 2, f->fcw);
		return;
	}
	if (op == 0xdd && r == 7) {	/* FNSTSW m16 */
		x86_write(c, i->seg, c->ea, 2, f->fsw);
		return;
	}
	if (op == 0xd9 && (r == 6 || r == 4)) {	/* FNSTENV / FLDENV, 32-bit protected-mode layout */
		uint32_t env[7];
		uint16_t ftw = 0;

		if (r == 4) {
			x86_read_buf(c, i->seg, c->ea, env, i->opsize == 2 ? 14 : 28);
			f->fcw = env[0];
			f->fsw = env[1];
			ftw = env[2];
			f->ftw = 0;
			for (unsigned k = 0; k < 8; k++)
				if (((ftw >> (2 * k)) & 3) != 3)
					f->ftw |= 1u << k;
			return;
		}
		for (unsigned k = 0; k < 8; k++)
			ftw |= ((f->ftw >> k) & 1 ? 0 : 3) << (2 * k);
		memset(env, 0, sizeof(env));
		env[0] = f->fcw | 0xffff0000u;
		env[1] = f->fsw | 0xffff0000u;
		env[2] = ftw | 0xffff0000u;
		env[3] = f->fip;
		env[5] = f->fdp;
		x86_write_buf(c, i->seg, c->ea, env, i->opsize == 2 ? 14 : 28);
		f->fcw |= 0x3f;	/* FNSTENV masks all exceptions */
		return;
	}
	if (!x86_x87_exec(c))
		x86_op_ud(c);
}
