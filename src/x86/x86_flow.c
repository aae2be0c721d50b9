/*
 * x86 integer instructions, part 3: stack operations and near branches.
 */
#include "x86_internal.h"

/* ---- stack ---- */

void op_push_r(struct x86_ctx *c)
{
	unsigned r = c->i->arg | ((c->i->rex & 1) << 3);

	x86_push(c, c->i->opsize, x86_get_reg(c, r, c->i->opsize));
}

void op_pop_r(struct x86_ctx *c)
{
	unsigned r = c->i->arg | ((c->i->rex & 1) << 3);
	uint64_t v = x86_pop(c, c->i->opsize);

	x86_set_reg(c, r, c->i->opsize, v);
}

void op_push_imm(struct x86_ctx *c)
{
	uint64_t v = (c->i->flags & F_IMM8) ? (uint64_t)(int64_t)(int8_t)c->i->imm : c->i->imm;

	x86_push(c, c->i->opsize, v);
}

void op_pop_rm(struct x86_ctx *c)
{
	const struct x86_insn *i = c->i;
	unsigned size = i->opsize;

	if (i->reg & 7)
		x86_op_ud(c);
	uint64_t v = x86_stack_peek(c, 0, size);

	if (i->mod == 3) {
		x86_set_rsp_delta(c, size);
		x86_set_reg(c, i->rm, size, v);
		return;
	}
	/* the address is computed with the incremented RSP */
	uint64_t old = c->cpu->gpr[X86_RSP];

	x86_set_rsp_delta(c, size);
	if (c->cpu->gpr[X86_RSP] != old)
		x86_calc_ea(c);
	x86_set_rm(c, size, v);
}

void op_push_sreg(struct x86_ctx *c)
{
	unsigned size = c->i->opsize;

	x86_push(c, size, c->cpu->seg[c->i->arg].sel);
}

void op_pop_sreg(struct x86_ctx *c)
{
	unsigned size = c->i->opsize;
	uint16_t sel = x86_stack_peek(c, 0, size);

	x86_load_seg(c, c->i->arg, sel);
	x86_set_rsp_delta(c, size);
	if (c->i->arg == X86_SS)
		c->sti_shadow_set = true;
}

void op_pusha(struct x86_ctx *c)
{
	unsigned size = c->i->opsize;
	uint64_t sp = c->cpu->gpr[X86_RSP];

	for (unsigned r = 0; r < 8; r++)
		x86_push(c, size, r == X86_RSP ? sp : c->cpu->gpr[r]);
}

void op_popa(struct x86_ctx *c)
{
	unsigned size = c->i->opsize;

	for (int r = 7; r >= 0; r--) {
		uint64_t v = x86_pop(c, size);

		if (r != X86_RSP)
			x86_set_reg(c, r, size, v);
	}
}

void op_enter(struct x86_ctx *c)
{
	const struct x86_insn *i = c->i;
	unsigned size = i->opsize, level = i->imm2 & 31;
	uint64_t ss = x86_mask(x86_stack_size(c));
	uint64_t bp = c->cpu->gpr[X86_RBP];

	x86_push(c, size, bp);
	uint64_t frame = c->cpu->gpr[X86_RSP];

	if (level) {
		for (unsigned k = 1; k < level; k++) {
			bp = (bp - size) & ss;
			x86_push(c, size, x86_read(c, X86_SS, bp, size));
		}
		x86_push(c, size, frame);
	}
	x86_set_reg(c, X86_RBP, x86_stack_size(c) == 2 ? 2 : size == 2 ? 2 : x86_stack_size(c), frame);
	uint64_t nsp = (c->cpu->gpr[X86_RSP] - i->imm) & ss;

	x86_read(c, X86_SS, nsp, 1);	/* #SS/#PF on the new stack top, like hardware */
	x86_set_rsp_delta(c, -(int64_t)i->imm);
}

void op_leave(struct x86_ctx *c)
{
	unsigned ss = x86_stack_size(c);
	uint64_t bp = c->cpu->gpr[X86_RBP] & x86_mask(ss);
	uint64_t v = x86_read(c, X86_SS, bp, c->i->opsize);

	x86_set_reg(c, X86_RSP, ss == 8 ? 8 : ss, bp + c->i->opsize);
	x86_set_reg(c, X86_RBP, c->i->opsize, v);
}

/* ---- branches ---- */

static void branch_to(struct x86_ctx *c, uint64_t target)
{
	unsigned size = c->i->opsize;

	if (!x86_long64(c))
		target &= x86_mask(size);
	c->next_rip = target;
}

void op_jcc(struct x86_ctx *c)
{
	if (x86_cond(c->cpu->rflags, c->i->opcode & 15)) {
		int64_t rel = c->i->map == 0 ? (int8_t)c->i->imm : (int64_t)c->i->imm;

		branch_to(c, c->next_rip + rel);
	}
}

void op_jmp(struct x86_ctx *c)
{
	int64_t rel = c->i->opcode == 0xeb ? (int8_t)c->i->imm : (int64_t)c->i->imm;

	branch_to(c, c->next_rip + rel);
}

void op_call(struct x86_ctx *c)
{
	x86_push(c, c->i->opsize, c->next_rip);
	branch_to(c, c->next_rip + (int64_t)c->i->imm);
}

void op_ret(struct x86_ctx *c)
{
	uint64_t t = x86_pop(c, c->i->opsize);

	if (c->i->arg)
		x86_set_rsp_delta(c, c->i->imm);
	branch_to(c, t);
}

void op_loop(struct x86_ctx *c)
{
	const struct x86_insn *i = c->i;
	unsigned as = i->addrsize;
	uint64_t cx = (x86_get_reg(c, X86_RCX, as) - 1) & x86_mask(as);
	bool zf = c->cpu->rflags & X86_FL_ZF, take = cx != 0;

	x86_set_reg(c, X86_RCX, as, cx);
	if (i->arg == 0)
		take = take && !zf;
	else if (i->arg == 1)
		take = take && zf;
	if (take)
		branch_to(c, c->next_rip + (int8_t)i->imm);
}

void op_jcxz(struct x86_ctx *c)
{
	if (x86_get_reg(c, X86_RCX, c->i->addrsize) == 0)
		branch_to(c, c->next_rip + (int8_t)c->i->imm);
}
