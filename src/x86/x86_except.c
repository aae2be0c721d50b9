/*
 * x86 exception/interrupt delivery (IVT, 32-bit IDT, 64-bit IDT with IST)
 * and the descriptor machinery it shares with far transfers: descriptor
 * reads, segment loads, far JMP/CALL/RET and IRET.
 *
 * Every path reads and checks everything first, then writes the new stack
 * frame, then commits registers, so a fault in the middle leaves the CPU
 * state of the interrupted instruction intact (for #DF and restarts).
 */
#include "x86_internal.h"

void x86_desc_to_seg(uint64_t d, struct x86_seg *s, uint16_t sel)
{
	s->sel = sel;
	s->base = ((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24);
	s->limit = (d & 0xffff) | (((d >> 48) & 0xf) << 16);
	s->g = (d >> 55) & 1;
	if (s->g)
		s->limit = (s->limit << 12) | 0xfff;
	s->type = (d >> 40) & 0xf;
	s->s = (d >> 44) & 1;
	s->dpl = (d >> 45) & 3;
	s->present = (d >> 47) & 1;
	s->avl = (d >> 52) & 1;
	s->l = (d >> 53) & 1;
	s->db = (d >> 54) & 1;
	s->unusable = 0;
}

/* Descriptor of @sel (8 bytes, 16 for system descriptors in long mode when @sys16). */
void x86_read_desc(struct x86_ctx *c, uint16_t sel, uint64_t desc[2], unsigned exc, bool sys16)
{
	struct x86_cpu *cpu = c->cpu;
	uint64_t base, limit;
	unsigned len = sys16 ? 16 : 8;

	if (sel & 4) {
		if (cpu->ldtr.unusable || !cpu->ldtr.present)
			x86_raise(c, exc, sel & 0xfffc);
		base = cpu->ldtr.base;
		limit = cpu->ldtr.limit;
	} else {
		base = cpu->gdtr.base;
		limit = cpu->gdtr.limit;
	}
	if ((uint64_t)(sel & 0xfff8) + len - 1 > limit)
		x86_raise(c, exc, sel & 0xfffc);
	uint64_t lin = base + (sel & 0xfff8);

	if (cpu->mode != X86_MODE_LONG)
		lin = (uint32_t)lin;
	desc[0] = x86_sys_read(c, lin, 8);
	desc[1] = sys16 ? x86_sys_read(c, lin + 8, 8) : 0;
}

static void set_accessed(struct x86_ctx *c, uint16_t sel, uint64_t d)
{
	if (d & (1ull << 40))
		return;
	uint64_t base = (sel & 4) ? c->cpu->ldtr.base : c->cpu->gdtr.base;

	x86_sys_write(c, base + (sel & 0xfff8) + 5, 1, ((d >> 40) & 0xff) | 1);
}

void x86_load_seg_real(struct x86_cpu *cpu, unsigned sreg, uint16_t sel)
{
	struct x86_seg *s = &cpu->seg[sreg];

	s->sel = sel;
	s->base = (uint64_t)sel << 4;
	s->present = 1;
	s->s = 1;
	s->unusable = 0;
	if (cpu->rflags & X86_FL_VM) {
		s->limit = 0xffff;
		s->dpl = 3;
		s->type = sreg == X86_CS ? 0xb : 0x3;
		s->db = s->g = s->l = 0;
	}
}

void x86_load_seg(struct x86_ctx *c, unsigned sreg, uint16_t sel)
{
	struct x86_cpu *cpu = c->cpu;
	uint64_t d[2];
	unsigned rpl = sel & 3, cpl = cpu->cpl;

	if (cpu->mode == X86_MODE_REAL || (cpu->rflags & X86_FL_VM)) {
		x86_load_seg_real(cpu, sreg, sel);
		return;
	}
	if (sreg == X86_CS)
		X86_UD(c);
	if ((sel & 0xfffc) == 0) {
		if (sreg == X86_SS && !(x86_long64(c) && cpl < 3 && rpl == cpl))
			X86_GP0(c);
		struct x86_seg *s = &cpu->seg[sreg];

		s->sel = sel;
		s->unusable = 1;
		s->present = 0;
		if (sreg == X86_SS)
			s->dpl = cpl;
		if (!(x86_long64(c) && sreg >= X86_FS))
			s->base = 0;
		return;
	}
	x86_read_desc(c, sel, d, X86_EXC_GP, false);
	struct x86_seg n;

	x86_desc_to_seg(d[0], &n, sel);
	if (!n.s)
		x86_raise(c, X86_EXC_GP, sel & 0xfffc);
	if (sreg == X86_SS) {
		if ((n.type & 0xa) != 0x2 || rpl != cpl || n.dpl != cpl)
			x86_raise(c, X86_EXC_GP, sel & 0xfffc);
		if (!n.present)
			x86_raise(c, X86_EXC_SS, sel & 0xfffc);
	} else {
		if ((n.type & 0xa) == 0x8)	/* execute-only code */
			x86_raise(c, X86_EXC_GP, sel & 0xfffc);
		if (!((n.type & 0xc) == 0xc) && n.dpl < (rpl > cpl ? rpl : cpl))
			x86_raise(c, X86_EXC_GP, sel & 0xfffc);
		if (!n.present)
			x86_raise(c, X86_EXC_NP, sel & 0xfffc);
	}
	set_accessed(c, sel, d[0]);
	n.type |= 1;
	if (x86_long64(c) && sreg >= X86_FS)
		n.base = (uint32_t)n.base;
	cpu->seg[sreg] = n;
}

/* Check a code descriptor for a transfer to @sel; returns the new segment. */
static void code_seg(struct x86_ctx *c, uint16_t sel, struct x86_seg *n, uint64_t *d0)
{
	uint64_t d[2];

	if ((sel & 0xfffc) == 0)
		X86_GP0(c);
	x86_read_desc(c, sel, d, X86_EXC_GP, false);
	x86_desc_to_seg(d[0], n, sel);
	if (!n->s || !(n->type & 8))
		x86_raise(c, X86_EXC_GP, sel & 0xfffc);
	if (!n->present)
		x86_raise(c, X86_EXC_NP, sel & 0xfffc);
	*d0 = d[0];
}

static void commit_cs(struct x86_ctx *c, const struct x86_seg *n, unsigned cpl)
{
	struct x86_cpu *cpu = c->cpu;

	cpu->seg[X86_CS] = *n;
	cpu->seg[X86_CS].sel = (n->sel & ~3) | cpl;
	cpu->seg[X86_CS].type |= 1;
	cpu->seg[X86_CS].dpl = cpl;	/* CPL lives in CS.dpl (conforming segments too) */
	x86_update_mode(cpu);
}

void x86_far_jmp(struct x86_ctx *c, uint16_t sel, uint64_t off, bool call, unsigned opsize)
{
	struct x86_cpu *cpu = c->cpu;

	if (cpu->mode == X86_MODE_REAL || (cpu->rflags & X86_FL_VM)) {
		if (call) {
			x86_push(c, opsize, cpu->seg[X86_CS].sel);
			x86_push(c, opsize, c->next_rip);
		}
		x86_load_seg_real(cpu, X86_CS, sel);
		c->next_rip = off & x86_mask(opsize);
		return;
	}
	struct x86_seg n;
	uint64_t d0;
	unsigned cpl = cpu->cpl;

	code_seg(c, sel, &n, &d0);
	if (n.type & 4) {		/* conforming */
		if (n.dpl > cpl)
			x86_raise(c, X86_EXC_GP, sel & 0xfffc);
	} else if ((sel & 3) > cpl || n.dpl != cpl) {
		x86_raise(c, X86_EXC_GP, sel & 0xfffc);
	}
	if (cpu->mode == X86_MODE_LONG && n.l && n.db)
		x86_raise(c, X86_EXC_GP, sel & 0xfffc);
	if (call) {
		x86_push(c, opsize, cpu->seg[X86_CS].sel);
		x86_push(c, opsize, c->next_rip);
	}
	set_accessed(c, sel, d0);
	commit_cs(c, &n, cpl);
	c->next_rip = x86_long64(c) ? off : off & x86_mask(opsize);
}

/* Data segments the outer level may not use are nulled on a return outward. */
static void null_inaccessible(struct x86_cpu *cpu)
{
	static const uint8_t regs[] = { X86_ES, X86_DS, X86_FS, X86_GS };

	for (unsigned k = 0; k < sizeof(regs); k++) {
		struct x86_seg *s = &cpu->seg[regs[k]];

		if (s->unusable)
			continue;
		bool conf_code = (s->type & 0xc) == 0xc;

		if (!conf_code && s->dpl < cpu->cpl) {
			s->sel = 0;
			s->unusable = 1;
			s->present = 0;
		}
	}
}

/* Load SS:RSP for a return/interrupt to @cpl (already checked). */
static void load_ss_for(struct x86_ctx *c, uint16_t sel, unsigned cpl, struct x86_seg *out)
{
	uint64_t d[2];

	if ((sel & 0xfffc) == 0) {
		if (c->cpu->mode != X86_MODE_LONG || cpl == 3)
			X86_GP0(c);
		memset(out, 0, sizeof(*out));
		out->sel = sel;
		out->unusable = 1;
		out->dpl = cpl;
		out->db = 1;
		return;
	}
	x86_read_desc(c, sel, d, X86_EXC_GP, false);
	x86_desc_to_seg(d[0], out, sel);
	if (!out->s || (out->type & 0xa) != 0x2 || (sel & 3) != cpl || out->dpl != cpl)
		x86_raise(c, X86_EXC_GP, sel & 0xfffc);
	if (!out->present)
		x86_raise(c, X86_EXC_SS, sel & 0xfffc);
	out->type |= 1;
}

void x86_far_ret(struct x86_ctx *c, unsigned opsize, unsigned pop_extra)
{
	struct x86_cpu *cpu = c->cpu;
	uint64_t off = x86_stack_peek(c, 0, opsize);
	uint16_t sel = x86_stack_peek(c, opsize, opsize);

	if (cpu->mode == X86_MODE_REAL || (cpu->rflags & X86_FL_VM)) {
		x86_set_rsp_delta(c, 2 * opsize + pop_extra);
		x86_load_seg_real(cpu, X86_CS, sel);
		c->next_rip = off & x86_mask(opsize);
		return;
	}
	struct x86_seg n, ss;
	uint64_t d0;
	unsigned cpl = cpu->cpl, rpl = sel & 3;

	code_seg(c, sel, &n, &d0);
	if (rpl < cpl || ((n.type & 4) ? n.dpl > rpl : n.dpl != rpl))
		x86_raise(c, X86_EXC_GP, sel & 0xfffc);
	if (rpl > cpl) {
		uint64_t nsp = x86_stack_peek(c, 2 * opsize + pop_extra, opsize);
		uint16_t nss = x86_stack_peek(c, 3 * opsize + pop_extra, opsize);

		load_ss_for(c, nss, rpl, &ss);
		commit_cs(c, &n, rpl);
		cpu->seg[X86_SS] = ss;
		cpu->gpr[X86_RSP] = nsp;
		x86_set_rsp_delta(c, pop_extra);
		null_inaccessible(cpu);
	} else {
		x86_set_rsp_delta(c, 2 * opsize + pop_extra);
		commit_cs(c, &n, cpl);
	}
	c->next_rip = x86_long64(c) ? off : off & x86_mask(opsize);
}

void x86_iret(struct x86_ctx *c, unsigned opsize)
{
	struct x86_cpu *cpu = c->cpu;
	uint64_t ip = x86_stack_peek(c, 0, opsize);
	uint16_t sel = x86_stack_peek(c, opsize, opsize);
	uint64_t fl = x86_stack_peek(c, 2 * opsize, opsize);

	if (cpu->mode == X86_MODE_REAL) {
		x86_set_rsp_delta(c, 3 * opsize);
		x86_load_seg_real(cpu, X86_CS, sel);
		x86_set_rflags(c, fl, opsize);
		c->next_rip = ip & x86_mask(opsize);
		cpu->nmi_masked = false;
		return;
	}
	if ((cpu->rflags & X86_FL_VM) || (cpu->rflags & X86_FL_NT))
		x86_internal_error(c, X86_IERR_STATE);	/* v8086 and task returns: not supported */
	if (cpu->mode == X86_MODE_PROT && (fl & X86_FL_VM) && cpu->cpl == 0)
		x86_internal_error(c, X86_IERR_STATE);
	struct x86_seg n, ss;
	uint64_t d0;
	unsigned cpl = cpu->cpl, rpl = sel & 3;

	code_seg(c, sel, &n, &d0);
	if (rpl < cpl || ((n.type & 4) ? n.dpl > rpl : n.dpl != rpl))
		x86_raise(c, X86_EXC_GP, sel & 0xfffc);
	if (cpu->mode == X86_MODE_LONG && n.l && n.db)
		x86_raise(c, X86_EXC_GP, sel & 0xfffc);
	bool pop_ss = rpl > cpl || x86_long64(c);

	if (pop_ss) {
		uint64_t nsp = x86_stack_peek(c, 3 * opsize, opsize);
		uint16_t nss = x86_stack_peek(c, 4 * opsize, opsize);

		/* null SS is fine when returning to 64-bit code at CPL < 3 */
		if ((nss & 0xfffc) == 0 && !(n.l && rpl < 3))
			X86_GP0(c);
		load_ss_for(c, nss, rpl, &ss);
		x86_set_rflags(c, fl, opsize);
		commit_cs(c, &n, rpl);
		cpu->seg[X86_SS] = ss;
		cpu->gpr[X86_RSP] = opsize == 8 ? nsp : (ss.db || x86_long64(c)) ? (uint32_t)nsp : (cpu->gpr[X86_RSP] & ~0xffffull) | (nsp & 0xffff);
		if (rpl > cpl)
			null_inaccessible(cpu);
	} else {
		x86_set_rsp_delta(c, 3 * opsize);
		x86_set_rflags(c, fl, opsize);
		commit_cs(c, &n, rpl);
	}
	c->next_rip = x86_long64(c) ? ip : ip & x86_mask(opsize);
	cpu->nmi_masked = false;
}

/* ---- delivery ---- */

static void deliver_real(struct x86_ctx *c, unsigned vec, uint64_t ret_rip)
{
	struct x86_cpu *cpu = c->cpu;

	if (vec * 4 + 3 > cpu->idtr.limit)
		x86_raise(c, X86_EXC_GP, vec * 8 + 2);
	uint32_t ent = x86_sys_read(c, cpu->idtr.base + vec * 4, 4);
	uint64_t sp = cpu->gpr[X86_RSP];
	uint64_t base = cpu->seg[X86_SS].base;
	uint64_t m = cpu->seg[X86_SS].db ? 0xffffffffull : 0xffff;

	x86_sys_write(c, (uint32_t)(base + ((sp - 2) & m)), 2, cpu->rflags);
	x86_sys_write(c, (uint32_t)(base + ((sp - 4) & m)), 2, cpu->seg[X86_CS].sel);
	x86_sys_write(c, (uint32_t)(base + ((sp - 6) & m)), 2, ret_rip);
	x86_set_rsp_delta(c, -6);
	cpu->rflags &= ~(uint64_t)(X86_FL_IF | X86_FL_TF | X86_FL_AC | X86_FL_RF);
	x86_load_seg_real(cpu, X86_CS, ent >> 16);
	cpu->rip = ent & 0xffff;
	c->next_rip = cpu->rip;
}

void x86_deliver(struct x86_ctx *c, unsigned vec, bool has_err, uint32_t err, bool soft, uint64_t ret_rip)
{
	struct x86_cpu *cpu = c->cpu;
	bool l = cpu->mode == X86_MODE_LONG;
	unsigned ext = c->ext_event || (!soft && c->delivering) ? 1 : 0;
	uint32_t gate_err = vec * 8 + 2 + ext;

	if (cpu->mode == X86_MODE_REAL) {
		deliver_real(c, vec, ret_rip);
		return;
	}
	if (cpu->rflags & X86_FL_VM)
		x86_internal_error(c, X86_IERR_STATE);
	unsigned gsize = l ? 16 : 8;

	if ((uint64_t)vec * gsize + gsize - 1 > cpu->idtr.limit)
		x86_raise(c, X86_EXC_GP, gate_err);
	uint64_t glin = cpu->idtr.base + vec * gsize;
	uint64_t g0 = x86_sys_read(c, l ? glin : (uint32_t)glin, 8);
	uint64_t g1 = l ? x86_sys_read(c, glin + 8, 8) : 0;
	unsigned type = (g0 >> 40) & 0x1f, gdpl = (g0 >> 45) & 3;
	bool trap;

	if (l) {
		if (type != 0x0e && type != 0x0f)
			x86_raise(c, X86_EXC_GP, gate_err);
	} else if (type != 0x0e && type != 0x0f && type != 0x06 && type != 0x07) {
		x86_raise(c, X86_EXC_GP, gate_err);	/* task gates: not supported */
	}
	trap = type & 1;
	if (soft && gdpl < cpu->cpl)
		x86_raise(c, X86_EXC_GP, gate_err);
	if (!((g0 >> 47) & 1))
		x86_raise(c, X86_EXC_NP, gate_err);
	uint16_t sel = (g0 >> 16) & 0xffff;
	uint64_t target = (g0 & 0xffff) | ((g0 >> 32) & 0xffff0000ull);

	if (l)
		target |= g1 << 32;
	if ((type & 0x8) == 0)
		target &= 0xffff;	/* 16-bit gate */
	struct x86_seg n, ss = cpu->seg[X86_SS];
	uint64_t d0;

	if ((sel & 0xfffc) == 0)
		x86_raise(c, X86_EXC_GP, ext);
	code_seg(c, sel, &n, &d0);
	if (n.dpl > cpu->cpl)
		x86_raise(c, X86_EXC_GP, (sel & 0xfffc) + ext);
	if (l && (!n.l || n.db))
		x86_raise(c, X86_EXC_GP, (sel & 0xfffc) + ext);
	unsigned ncpl = (n.type & 4) ? cpu->cpl : n.dpl;
	uint64_t sp = cpu->gpr[X86_RSP];
	unsigned ist = l ? (g0 >> 32) & 7 : 0;
	bool inner = ncpl < cpu->cpl;
	uint64_t tss = cpu->tr.base;

	if (l) {
		if (ist) {
			sp = x86_sys_read(c, tss + 0x24 + 8 * (ist - 1), 8);
		} else if (inner) {
			if (4 + 8 * ncpl + 7 > cpu->tr.limit)
				x86_raise(c, X86_EXC_TS, cpu->tr.sel & 0xfffc);
			sp = x86_sys_read(c, tss + 4 + 8 * ncpl, 8);
		}
		if (inner) {
			memset(&ss, 0, sizeof(ss));
			ss.sel = ncpl;
			ss.unusable = 1;
			ss.dpl = ncpl;
			ss.db = 1;
		}
		sp &= ~15ull;
		if (!x86_canonical(sp))
			x86_raise(c, X86_EXC_SS, 0);
		uint64_t frame[6];
		unsigned nf = 0;

		if (has_err)
			frame[nf++] = err;
		frame[nf++] = ret_rip;
		frame[nf++] = cpu->seg[X86_CS].sel;
		frame[nf++] = cpu->rflags;
		frame[nf++] = cpu->gpr[X86_RSP];
		frame[nf++] = cpu->seg[X86_SS].sel;
		unsigned acc = X86_ACC_WRITE | (ncpl == 3 ? X86_ACC_USER : 0);

		for (unsigned k = 0; k < nf; k++)
			x86_write_lin(c, sp - 8 * (nf - k), 8, frame[k], acc);
		sp -= 8 * nf;
	} else {
		unsigned w = (type & 0x8) ? 4 : 2;

		if (inner) {
			uint64_t ssp;
			uint16_t nss;

			if (cpu->tr.type == 0x9 || cpu->tr.type == 0xb) {
				ssp = x86_sys_read(c, (uint32_t)(tss + 4 + 8 * ncpl), 4);
				nss = x86_sys_read(c, (uint32_t)(tss + 8 + 8 * ncpl), 2);
			} else {
				ssp = x86_sys_read(c, (uint32_t)(tss + 2 + 4 * ncpl), 2);
				nss = x86_sys_read(c, (uint32_t)(tss + 4 + 4 * ncpl), 2);
			}
			uint64_t dd[2];

			if ((nss & 0xfffc) == 0)
				x86_raise(c, X86_EXC_TS, ext);
			x86_read_desc(c, nss, dd, X86_EXC_TS, false);
			x86_desc_to_seg(dd[0], &ss, nss);
			if (!ss.s || (ss.type & 0xa) != 2 || ss.dpl != ncpl || (nss & 3) != ncpl)
				x86_raise(c, X86_EXC_TS, (nss & 0xfffc) + ext);
			if (!ss.present)
				x86_raise(c, X86_EXC_SS, (nss & 0xfffc) + ext);
			ss.type |= 1;
			sp = ssp;
		}
		uint64_t frame[6];
		unsigned nf = 0;

		if (has_err)
			frame[nf++] = err;
		frame[nf++] = ret_rip;
		frame[nf++] = cpu->seg[X86_CS].sel;
		frame[nf++] = cpu->rflags;
		if (inner) {
			frame[nf++] = cpu->gpr[X86_RSP];
			frame[nf++] = cpu->seg[X86_SS].sel;
		}
		uint64_t m = ss.db ? 0xffffffffull : 0xffff;
		unsigned acc = X86_ACC_WRITE | (ncpl == 3 ? X86_ACC_USER : 0);

		for (unsigned k = 0; k < nf; k++)
			x86_write_lin(c, (uint32_t)(ss.base + ((sp - w * (nf - k)) & m)), w, frame[k], acc);
		sp = ss.db ? (uint32_t)(sp - w * nf) : (sp & ~0xffffull) | ((sp - w * nf) & 0xffff);
	}
	/* commit */
	cpu->rflags &= ~(uint64_t)(X86_FL_TF | X86_FL_NT | X86_FL_RF | X86_FL_VM);
	if (!trap)
		cpu->rflags &= ~(uint64_t)X86_FL_IF;
	cpu->seg[X86_SS] = ss;
	cpu->gpr[X86_RSP] = sp;
	commit_cs(c, &n, ncpl);
	cpu->rip = target;
	c->next_rip = target;	/* INT n / INT3 / INTO called from a handler */
}
