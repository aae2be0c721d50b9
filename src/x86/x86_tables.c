/*
 * x86 descriptor-table instructions (groups 6 and 7, LAR/LSL) and the
 * 0F 01 register forms: VMCALL/VMMCALL, SWAPGS, RDTSCP.
 */
#include "x86_internal.h"

static void need_cpl0(struct x86_ctx *c)
{
	if (c->cpu->cpl != 0)
		X86_GP0(c);
}

/* LLDT/LTR load a system descriptor from the GDT (16 bytes in long mode). */
static void load_sys(struct x86_ctx *c, uint16_t sel, bool tr)
{
	struct x86_cpu *cpu = c->cpu;
	bool l = cpu->mode == X86_MODE_LONG;
	struct x86_seg *dst = tr ? &cpu->tr : &cpu->ldtr;
	uint64_t d[2];

	if ((sel & 0xfffc) == 0) {
		if (tr)
			X86_GP0(c);
		memset(dst, 0, sizeof(*dst));
		dst->sel = sel;
		dst->unusable = 1;
		return;
	}
	if (sel & 4)
		x86_raise(c, X86_EXC_GP, sel & 0xfffc);
	x86_read_desc(c, sel, d, X86_EXC_GP, l);
	struct x86_seg n;

	x86_desc_to_seg(d[0], &n, sel);
	bool ok = tr ? (n.type == 0x9 || (!l && n.type == 0x1)) : n.type == 0x2;

	if (n.s || !ok)
		x86_raise(c, X86_EXC_GP, sel & 0xfffc);
	if (!n.present)
		x86_raise(c, X86_EXC_NP, sel & 0xfffc);
	if (l) {
		n.base |= (d[1] & 0xffffffffull) << 32;
		if (!x86_canonical(n.base))
			x86_raise(c, X86_EXC_GP, sel & 0xfffc);
	}
	if (tr) {
		/* mark busy in the GDT */
		x86_sys_write(c, cpu->gdtr.base + (sel & 0xfff8) + 5, 1, ((d[0] >> 40) & 0xff) | 2);
		n.type |= 2;
	}
	*dst = n;
}

void op_grp6(struct x86_ctx *c)
{
	const struct x86_insn *i = c->i;
	struct x86_cpu *cpu = c->cpu;
	unsigned r = i->reg & 7;

	if (cpu->mode == X86_MODE_REAL || (cpu->rflags & X86_FL_VM))
		X86_UD(c);
	switch (r) {
	case 0:	/* SLDT */
	case 1:	/* STR */
		if (i->mod == 3)
			x86_set_reg(c, i->rm, i->opsize, r ? cpu->tr.sel : cpu->ldtr.sel);
		else
			x86_write(c, i->seg, c->ea, 2, r ? cpu->tr.sel : cpu->ldtr.sel);
		return;
	case 2:	/* LLDT */
	case 3:	/* LTR */
		need_cpl0(c);
		load_sys(c, x86_get_rm(c, 2), r == 3);
		return;
	case 4:	/* VERR */
	case 5: { /* VERW */
		uint16_t sel = x86_get_rm(c, 2);
		bool ok = false;

		if (sel & 0xfffc) {
			uint64_t base = (sel & 4) ? cpu->ldtr.base : cpu->gdtr.base;
			uint64_t lim = (sel & 4) ? cpu->ldtr.limit : cpu->gdtr.limit;

			if ((uint64_t)(sel & 0xfff8) + 7 <= lim) {
				struct x86_seg n;

				x86_desc_to_seg(x86_sys_read(c, base + (sel & 0xfff8), 8), &n, sel);
				unsigned rpl = sel & 3, mx = rpl > cpu->cpl ? rpl : cpu->cpl;
				bool conf = (n.type & 0xc) == 0xc;

				if (n.s && (conf || n.dpl >= mx))
					ok = r == 4 ? (!(n.type & 8) || (n.type & 2)) : (!(n.type & 8) && (n.type & 2));
			}
		}
		cpu->rflags = (cpu->rflags & ~(uint64_t)X86_FL_ZF) | (ok ? X86_FL_ZF : 0);
		return;
	}
	default:
		x86_op_ud(c);
	}
}

void op_lsl_lar(struct x86_ctx *c)
{
	const struct x86_insn *i = c->i;
	struct x86_cpu *cpu = c->cpu;

	if (cpu->mode == X86_MODE_REAL || (cpu->rflags & X86_FL_VM))
		X86_UD(c);
	uint16_t sel = x86_get_rm(c, 2);
	bool ok = false;
	uint64_t d = 0;

	if (sel & 0xfffc) {
		uint64_t base = (sel & 4) ? cpu->ldtr.base : cpu->gdtr.base;
		uint64_t lim = (sel & 4) ? cpu->ldtr.limit : cpu->gdtr.limit;

		if (!((sel & 4) && cpu->ldtr.unusable) && (uint64_t)(sel & 0xfff8) + 7 <= lim) {
			d = x86_sys_read(c, base + (sel & 0xfff8), 8);
			unsigned type = (d >> 40) & 0x1f, dpl = (d >> 45) & 3;
			unsigned rpl = sel & 3, mx = rpl > cpu->cpl ? rpl : cpu->cpl;
			bool conf = (type & 0x1c) == 0x1c;

			if (type & 0x10)
				ok = conf || dpl >= mx;
			else	/* LDT, TSS (and call gates for LAR) */
				ok = (type == 2 || type == 9 || type == 0xb || (!i->arg && type == 0xc) ||
				      (cpu->mode != X86_MODE_LONG && (type == 1 || type == 3))) && dpl >= mx;
		}
	}
	if (ok) {
		uint64_t v;

		if (i->arg) {
			struct x86_seg n;

			x86_desc_to_seg(d, &n, sel);
			v = n.limit;
		} else {
			v = (d >> 32) & 0x00f0ff00;
		}
		x86_set_reg(c, i->reg, i->opsize, v);
	}
	cpu->rflags = (cpu->rflags & ~(uint64_t)X86_FL_ZF) | (ok ? X86_FL_ZF : 0);
}

static void grp7_reg(struct x86_ctx *c)
{
	const struct x86_insn *i = c->i;
	struct x86_cpu *cpu = c->cpu;

	switch (i->modrm) {
	case 0xc1:	/* VMCALL */
	case 0xd9:	/* VMMCALL */
		c->exit->ev = X86_EV_HYPERCALL;
		c->event_done = true;
		return;
	case 0xf8:	/* SWAPGS */
		if (!x86_long64(c))
			X86_UD(c);
		need_cpl0(c);
		uint64_t t = cpu->seg[X86_GS].base;

		cpu->seg[X86_GS].base = cpu->msr.kernel_gs_base;
		cpu->msr.kernel_gs_base = t;
		return;
	case 0xf9: {	/* RDTSCP */
		if ((cpu->cr4 & X86_CR4_TSD) && cpu->cpl)
			X86_GP0(c);
		uint64_t tsc = x86_rdtsc(c);

		cpu->gpr[X86_RAX] = (uint32_t)tsc;
		cpu->gpr[X86_RDX] = tsc >> 32;
		cpu->gpr[X86_RCX] = (uint32_t)cpu->msr.tsc_aux;
		return;
	}
	default:
		break;
	}
	unsigned r = i->reg & 7;

	if (r == 4) {		/* SMSW r */
		x86_set_reg(c, i->rm, i->opsize, cpu->cr0);
		return;
	}
	if (r == 6) {		/* LMSW r */
		need_cpl0(c);
		uint64_t v = x86_get_reg(c, i->rm, 2) & 0xf;

		/* LMSW cannot clear PE */
		x86_write_cr(c, 0, (cpu->cr0 & ~0xeull) | v | (cpu->cr0 & X86_CR0_PE));
		return;
	}
	/* MONITOR/MWAIT, XGETBV, CLAC/STAC, ...: not advertised */
	x86_op_ud(c);
}

void op_grp7(struct x86_ctx *c)
{
	const struct x86_insn *i = c->i;
	struct x86_cpu *cpu = c->cpu;
	unsigned r = i->reg & 7;
	bool l64 = x86_long64(c);

	if (i->mod == 3) {
		grp7_reg(c);
		return;
	}
	switch (r) {
	case 0:	/* SGDT */
	case 1: { /* SIDT */
		const struct x86_dtable *t = r ? &cpu->idtr : &cpu->gdtr;

		x86_check_write(c, i->seg, c->ea, l64 ? 10 : 6);
		x86_write(c, i->seg, c->ea, 2, t->limit);
		x86_write(c, i->seg, (c->ea + 2) & x86_mask(i->addrsize), l64 ? 8 : 4,
			  i->opsize == 2 && !l64 ? t->base & 0xffffff : t->base);
		return;
	}
	case 2:	/* LGDT */
	case 3: { /* LIDT */
		need_cpl0(c);
		uint16_t lim = x86_read(c, i->seg, c->ea, 2);
		uint64_t base = x86_read(c, i->seg, (c->ea + 2) & x86_mask(i->addrsize), l64 ? 8 : 4);

		if (!l64 && i->opsize == 2)
			base &= 0xffffff;
		if (l64 && !x86_canonical(base))
			X86_GP0(c);
		struct x86_dtable *t = r == 3 ? &cpu->idtr : &cpu->gdtr;

		t->limit = lim;
		t->base = base;
		return;
	}
	case 4:	/* SMSW m16 */
		x86_write(c, i->seg, c->ea, 2, cpu->cr0);
		return;
	case 6:	/* LMSW m16 */
		need_cpl0(c);
		uint64_t v = x86_read(c, i->seg, c->ea, 2) & 0xf;

		x86_write_cr(c, 0, (cpu->cr0 & ~0xeull) | v | (cpu->cr0 & X86_CR0_PE));
		return;
	case 7: { /* INVLPG */
		need_cpl0(c);
		uint64_t lin = l64 ? c->ea + (i->seg >= X86_FS ? cpu->seg[i->seg].base : 0)
				   : (uint32_t)(cpu->seg[i->seg].base + c->ea);

		if (!l64 || x86_canonical(lin))
			x86_notify_invlpg(c, lin);
		return;
	}
	default:
		x86_op_ud(c);
	}
}
