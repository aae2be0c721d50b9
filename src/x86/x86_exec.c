/*
 * x86 integer instructions, part 1: ALU, moves, stack, branches.
 *
 * Handlers run after decode; they may raise exceptions or read-exits at any
 * point: x86__run restores the registers saved at instruction start, so a
 * handler only has to do memory writes after the reads that may exit.
 */
#include "x86_internal.h"

/* RMW on a memory operand: LOCK-prefixed ones on RAM use host atomics. */
static void rmw_alu(struct x86_ctx *c, unsigned op, uint64_t src, unsigned size)
{
	const struct x86_insn *i = c->i;
	uint64_t fl, old, res;

	if (op == X86_ALU_CMP) {
		old = x86_get_rm(c, size);
		x86_alu(c, op, old, src, size, &fl);
		x86_set_arith(c->cpu, fl);
		return;
	}
	void *p = x86_ptr(c, i->seg, c->ea, size, X86_ACC_READ | X86_ACC_WRITE);

	if (p && i->lock) {
		switch (size) {
		case 1: { uint8_t o = __atomic_load_n((uint8_t *)p, __ATOMIC_RELAXED), n;
			do { n = x86_alu(c, op, o, src, size, &fl); }
			while (!__atomic_compare_exchange_n((uint8_t *)p, &o, n, false, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
			break; }
		case 2: { uint16_t o = __atomic_load_n((uint16_t *)p, __ATOMIC_RELAXED), n;
			do { n = x86_alu(c, op, o, src, size, &fl); }
			while (!__atomic_compare_exchange_n((uint16_t *)p, &o, n, false, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
			break; }
		case 4: { uint32_t o = __atomic_load_n((uint32_t *)p, __ATOMIC_RELAXED), n;
			do { n = x86_alu(c, op, o, src, size, &fl); }
			while (!__atomic_compare_exchange_n((uint32_t *)p, &o, n, false, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
			break; }
		default: { uint64_t o = __atomic_load_n((uint64_t *)p, __ATOMIC_RELAXED), n;
			do { n = x86_alu(c, op, o, src, size, &fl); }
			while (!__atomic_compare_exchange_n((uint64_t *)p, &o, n, false, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
			break; }
		}
		x86_set_arith(c->cpu, fl);
		return;
	}
	if (!p)
		x86_check_write(c, i->seg, c->ea, size);
	old = x86_get_rm(c, size);
	res = x86_alu(c, op, old, src, size, &fl);
	x86_set_rm(c, size, res);
	x86_set_arith(c->cpu, fl);
}

static void alu_rm(struct x86_ctx *c, unsigned op, uint64_t src, unsigned size)
{
	if (c->i->mod != 3) {
		rmw_alu(c, op, src, size);
		return;
	}
	uint64_t fl, res = x86_alu(c, op, x86_get_reg(c, c->i->rm, size), src, size, &fl);

	if (op != X86_ALU_CMP)
		x86_set_reg(c, c->i->rm, size, res);
	x86_set_arith(c->cpu, fl);
}

void op_alu(struct x86_ctx *c)
{
	const struct x86_insn *i = c->i;
	unsigned size = i->opsize;

	if (!(i->opcode & 2)) {		/* Ex, Gx */
		alu_rm(c, i->arg, x86_get_reg(c, i->reg, size), size);
		return;
	}
	uint64_t fl, res = x86_alu(c, i->arg, x86_get_reg(c, i->reg, size), x86_get_rm(c, size), size, &fl);

	if (i->arg != X86_ALU_CMP)
		x86_set_reg(c, i->reg, size, res);
	x86_set_arith(c->cpu, fl);
}

void op_alu_acc(struct x86_ctx *c)
{
	const struct x86_insn *i = c->i;
	unsigned size = i->opsize;
	uint64_t fl, res = x86_alu(c, i->arg, x86_get_reg(c, X86_RAX, size), x86_sext(i->imm, size == 1 ? 1 : 4), size, &fl);

	if (i->arg != X86_ALU_CMP)
		x86_set_reg(c, X86_RAX, size, res);
	x86_set_arith(c->cpu, fl);
}

void op_grp1(struct x86_ctx *c)
{
	const struct x86_insn *i = c->i;
	uint64_t imm = (i->flags & F_IMM8) ? (uint64_t)(int64_t)(int8_t)i->imm : i->imm;

	alu_rm(c, i->reg & 7, imm, i->opsize);
}

void op_test(struct x86_ctx *c)
{
	unsigned size = c->i->opsize;
	uint64_t res = x86_get_rm(c, size) & x86_get_reg(c, c->i->reg, size);

	x86_set_arith(c->cpu, x86_flags_logic(res, size));
}

void op_test_acc(struct x86_ctx *c)
{
	unsigned size = c->i->opsize;
	uint64_t res = x86_get_reg(c, X86_RAX, size) & c->i->imm;

	x86_set_arith(c->cpu, x86_flags_logic(res & x86_mask(size), size));
}

/* INC/DEC keep CF. */
static uint64_t incdec(struct x86_ctx *c, uint64_t v, bool dec, unsigned size)
{
	uint64_t fl, cf = c->cpu->rflags & X86_FL_CF;
	uint64_t res = x86_alu(c, dec ? X86_ALU_SUB : X86_ALU_ADD, v, 1, size, &fl);

	x86_set_arith(c->cpu, (fl & ~(uint64_t)X86_FL_CF) | cf);
	return res;
}

void op_incdec_r(struct x86_ctx *c)
{
	unsigned r = c->i->arg, size = c->i->opsize;
	bool dec = c->i->opcode >= 0x48;

	x86_set_reg(c, r, size, incdec(c, x86_get_reg(c, r, size), dec, size));
}

static void lock_xadd_mem(struct x86_ctx *c, void *p, unsigned size, uint64_t add, uint64_t *old)
{
	switch (size) {
	case 1: *old = __atomic_fetch_add((uint8_t *)p, (uint8_t)add, __ATOMIC_SEQ_CST); break;
	case 2: *old = __atomic_fetch_add((uint16_t *)p, (uint16_t)add, __ATOMIC_SEQ_CST); break;
	case 4: *old = __atomic_fetch_add((uint32_t *)p, (uint32_t)add, __ATOMIC_SEQ_CST); break;
	default: *old = __atomic_fetch_add((uint64_t *)p, add, __ATOMIC_SEQ_CST); break;
	}
}

void op_grp45(struct x86_ctx *c)
{
	const struct x86_insn *i = c->i;
	struct x86_cpu *cpu = c->cpu;
	unsigned r = i->reg & 7, size = i->opsize;

	if (r <= 1) {		/* INC/DEC */
		if (i->mod != 3 && i->lock) {
			void *p = x86_ptr(c, i->seg, c->ea, size, X86_ACC_READ | X86_ACC_WRITE);

			if (p) {
				uint64_t old;

				lock_xadd_mem(c, p, size, r ? -1ull : 1, &old);
				incdec(c, old, r, size);
				return;
			}
		}
		if (i->mod != 3)
			x86_check_write(c, i->seg, c->ea, size);
		x86_set_rm(c, size, incdec(c, x86_get_rm(c, size), r, size));
		return;
	}
	if (i->opcode == 0xfe)
		x86_op_ud(c);
	bool l64 = x86_long64(c);
	unsigned bsize = l64 ? (i->pfx66 && !(i->rex & 8) ? 2 : 8) : size;

	switch (r) {
	case 2: {	/* CALL near indirect */
		uint64_t t = x86_get_rm(c, bsize);

		x86_push(c, bsize, c->next_rip);
		c->next_rip = t & x86_mask(bsize);
		break;
	}
	case 4:		/* JMP near indirect */
		c->next_rip = x86_get_rm(c, bsize) & x86_mask(bsize);
		break;
	case 3:		/* CALL far m16:16/32/64 */
	case 5: {	/* JMP far */
		if (i->mod == 3)
			X86_UD(c);
		unsigned os = i->rex & 8 ? 8 : (i->pfx66 ^ (l64 || cpu->seg[X86_CS].db)) ? 4 : 2;
		uint64_t off = x86_read(c, i->seg, c->ea, os);
		uint16_t sel = x86_read(c, i->seg, (c->ea + os) & x86_mask(i->addrsize), 2);

		x86_far_jmp(c, sel, off, r == 3, os);
		break;
	}
	case 6: {	/* PUSH Ev */
		uint64_t v = x86_get_rm(c, bsize);

		x86_push(c, bsize, v);
		break;
	}
	default:
		x86_op_ud(c);
	}
}

void op_grp3(struct x86_ctx *c)
{
	const struct x86_insn *i = c->i;
	struct x86_cpu *cpu = c->cpu;
	unsigned size = i->opsize, bits = size * 8;
	uint64_t m = x86_mask(size), fl;

	switch (i->reg & 7) {
	case 0:
	case 1:		/* TEST Ex, imm */
		x86_set_arith(cpu, x86_flags_logic(x86_get_rm(c, size) & i->imm & m, size));
		return;
	case 2:		/* NOT */
		if (i->mod != 3 && i->lock) {
			void *p = x86_ptr(c, i->seg, c->ea, size, X86_ACC_READ | X86_ACC_WRITE);

			if (p) {
				switch (size) {
				case 1: __atomic_fetch_xor((uint8_t *)p, 0xff, __ATOMIC_SEQ_CST); break;
				case 2: __atomic_fetch_xor((uint16_t *)p, 0xffff, __ATOMIC_SEQ_CST); break;
				case 4: __atomic_fetch_xor((uint32_t *)p, 0xffffffffu, __ATOMIC_SEQ_CST); break;
				default: __atomic_fetch_xor((uint64_t *)p, ~0ull, __ATOMIC_SEQ_CST); break;
				}
				return;
			}
		}
		if (i->mod != 3)
			x86_check_write(c, i->seg, c->ea, size);
		x86_set_rm(c, size, ~x86_get_rm(c, size) & m);
		return;
	case 3: {	/* NEG */
		if (i->mod != 3)
			x86_check_write(c, i->seg, c->ea, size);
		uint64_t v = x86_get_rm(c, size), res = x86_alu(c, X86_ALU_SUB, 0, v, size, &fl);

		x86_set_rm(c, size, res);
		x86_set_arith(cpu, fl);
		return;
	}
	default:
		break;
	}
	uint64_t src = x86_get_rm(c, size);
	unsigned op = i->reg & 7;

	if (op == 4 || op == 5) {	/* MUL / IMUL one operand */
		uint64_t lo, hi;
		bool ovf;

		if (op == 4) {
			unsigned __int128 p = (unsigned __int128)(x86_get_reg(c, X86_RAX, size)) * src;

			lo = (uint64_t)p & m;
			hi = size == 8 ? (uint64_t)(p >> 64) : (uint64_t)(p >> bits) & m;
			ovf = hi != 0;
		} else {
			__int128 p = (__int128)x86_sext(x86_get_reg(c, X86_RAX, size), size) * x86_sext(src, size);

			lo = (uint64_t)p & m;
			hi = size == 8 ? (uint64_t)((unsigned __int128)p >> 64) : (uint64_t)(p >> bits) & m;
			ovf = p != (__int128)x86_sext(lo, size);
		}
		if (size == 1) {
			x86_set_reg(c, X86_RAX, 2, lo | (hi << 8));
		} else {
			x86_set_reg(c, X86_RAX, size, lo);
			x86_set_reg(c, X86_RDX, size, hi);
		}
		fl = x86_flags_szp(lo, size) & ~(uint64_t)X86_FL_ZF;
		fl |= ovf ? (X86_FL_CF | X86_FL_OF) : 0;
		x86_set_arith(cpu, fl);
		return;
	}
	/* DIV / IDIV */
	if ((src & m) == 0)
		x86_raise_noerr(c, X86_EXC_DE);
	unsigned __int128 dividend;

	if (size == 1)
		dividend = x86_get_reg(c, X86_RAX, 2);
	else
		dividend = ((unsigned __int128)x86_get_reg(c, X86_RDX, size) << bits) | x86_get_reg(c, X86_RAX, size);
	uint64_t q, rem;

	if (op == 6) {
		unsigned __int128 qq = dividend / (src & m);

		if (qq > m)
			x86_raise_noerr(c, X86_EXC_DE);
		q = qq;
		rem = dividend % (src & m);
	} else {
		__int128 sd;

		if (size == 8)
			sd = (__int128)dividend;
		else if (size == 1)
			sd = (int16_t)dividend;
		else
			sd = (__int128)x86_sext((uint64_t)dividend, size * 2);
		__int128 dv = x86_sext(src, size);

		if (size == 8 && sd == (__int128)((unsigned __int128)1 << 127) && dv == -1)	/* host would trap */
			x86_raise_noerr(c, X86_EXC_DE);
		__int128 qq = sd / dv;
		int64_t lim = (int64_t)(m >> 1);

		if (qq > lim || qq < -lim - 1)
			x86_raise_noerr(c, X86_EXC_DE);
		q = (uint64_t)qq & m;
		rem = (uint64_t)(sd % dv) & m;
	}
	if (size == 1) {
		x86_set_reg(c, X86_RAX, 2, (q & 0xff) | ((rem & 0xff) << 8));
	} else {
		x86_set_reg(c, X86_RAX, size, q);
		x86_set_reg(c, X86_RDX, size, rem);
	}
}

void op_imul3(struct x86_ctx *c)
{
	const struct x86_insn *i = c->i;
	unsigned size = i->opsize;
	int64_t imm = (i->flags & F_IMM8) ? (int8_t)i->imm : (int64_t)i->imm;
	__int128 p = (__int128)x86_sext(x86_get_rm(c, size), size) * imm;
	uint64_t lo = (uint64_t)p & x86_mask(size);
	uint64_t fl = x86_flags_szp(lo, size) & ~(uint64_t)X86_FL_ZF;

	if (p != (__int128)x86_sext(lo, size))
		fl |= X86_FL_CF | X86_FL_OF;
	x86_set_reg(c, i->reg, size, lo);
	x86_set_arith(c->cpu, fl);
}

void op_imul2(struct x86_ctx *c)
{
	const struct x86_insn *i = c->i;
	unsigned size = i->opsize;
	__int128 p = (__int128)x86_sext(x86_get_rm(c, size), size) * x86_sext(x86_get_reg(c, i->reg, size), size);
	uint64_t lo = (uint64_t)p & x86_mask(size);
	uint64_t fl = x86_flags_szp(lo, size) & ~(uint64_t)X86_FL_ZF;

	if (p != (__int128)x86_sext(lo, size))
		fl |= X86_FL_CF | X86_FL_OF;
	x86_set_reg(c, i->reg, size, lo);
	x86_set_arith(c->cpu, fl);
}

/* ---- moves ---- */

void op_mov(struct x86_ctx *c)
{
	const struct x86_insn *i = c->i;
	unsigned size = i->opsize;

	if (i->opcode & 2)
		x86_set_reg(c, i->reg, size, x86_get_rm(c, size));
	else
		x86_set_rm(c, size, x86_get_reg(c, i->reg, size));
}

void op_mov_rm_imm(struct x86_ctx *c)
{
	if (c->i->reg & 7)
		x86_op_ud(c);
	x86_set_rm(c, c->i->opsize, c->i->imm);
}

void op_mov_r_imm(struct x86_ctx *c)
{
	unsigned r = c->i->arg | ((c->i->rex & 1) << 3);

	x86_set_reg(c, r, c->i->opsize, c->i->imm);
}

void op_mov_moffs(struct x86_ctx *c)
{
	const struct x86_insn *i = c->i;
	uint64_t off = i->imm & x86_mask(i->addrsize);

	if (i->arg)
		x86_write(c, i->seg, off, i->opsize, x86_get_reg(c, X86_RAX, i->opsize));
	else
		x86_set_reg(c, X86_RAX, i->opsize, x86_read(c, i->seg, off, i->opsize));
}

void op_lea(struct x86_ctx *c)
{
	if (c->i->mod == 3)
		X86_UD(c);
	x86_set_reg(c, c->i->reg, c->i->opsize, c->ea);
}

void op_movx(struct x86_ctx *c)
{
	const struct x86_insn *i = c->i;
	unsigned src = (i->arg & 1) ? 2 : 1;
	uint64_t v = x86_get_rm(c, src);

	if (i->arg & 2)
		v = (uint64_t)x86_sext(v, src);
	x86_set_reg(c, i->reg, i->opsize, v);
}

void op_movsxd(struct x86_ctx *c)
{
	const struct x86_insn *i = c->i;

	if (!x86_long64(c))
		x86_op_ud(c);	/* ARPL: not supported */
	if (i->opsize == 8)
		x86_set_reg(c, i->reg, 8, (uint64_t)(int64_t)(int32_t)x86_get_rm(c, 4));
	else
		x86_set_reg(c, i->reg, i->opsize, x86_get_rm(c, i->opsize));
}

void op_xchg(struct x86_ctx *c)
{
	const struct x86_insn *i = c->i;
	unsigned size = i->opsize;
	uint64_t r = x86_get_reg(c, i->reg, size);

	if (i->mod != 3) {
		/* XCHG with memory is always locked */
		void *p = x86_ptr(c, i->seg, c->ea, size, X86_ACC_READ | X86_ACC_WRITE);
		uint64_t old;

		if (p) {
			switch (size) {
			case 1: old = __atomic_exchange_n((uint8_t *)p, (uint8_t)r, __ATOMIC_SEQ_CST); break;
			case 2: old = __atomic_exchange_n((uint16_t *)p, (uint16_t)r, __ATOMIC_SEQ_CST); break;
			case 4: old = __atomic_exchange_n((uint32_t *)p, (uint32_t)r, __ATOMIC_SEQ_CST); break;
			default: old = __atomic_exchange_n((uint64_t *)p, r, __ATOMIC_SEQ_CST); break;
			}
		} else {
			x86_check_write(c, i->seg, c->ea, size);
			old = x86_get_rm(c, size);
			x86_set_rm(c, size, r);
		}
		x86_set_reg(c, i->reg, size, old);
		return;
	}
	uint64_t v = x86_get_reg(c, i->rm, size);

	x86_set_reg(c, i->rm, size, r);
	x86_set_reg(c, i->reg, size, v);
}

static void xchg_acc(struct x86_ctx *c, unsigned r)
{
	unsigned size = c->i->opsize;
	uint64_t a = x86_get_reg(c, X86_RAX, size), b = x86_get_reg(c, r, size);

	x86_set_reg(c, X86_RAX, size, b);
	x86_set_reg(c, r, size, a);
}

void op_xchg_acc(struct x86_ctx *c)
{
	xchg_acc(c, c->i->arg | ((c->i->rex & 1) << 3));
}

void op_nop90(struct x86_ctx *c)
{
	if (c->i->rex & 1)	/* XCHG r8, rAX */
		xchg_acc(c, 8);
	/* NOP / PAUSE */
}

void op_nop(struct x86_ctx *c)
{
	if (c->i->arg == 1 && (c->cpu->cr0 & (X86_CR0_MP | X86_CR0_TS)) == (X86_CR0_MP | X86_CR0_TS))
		x86_raise_noerr(c, X86_EXC_NM);	/* FWAIT */
}

void op_nopm(struct x86_ctx *c)
{
	/* 0F 0D, 0F 18-1F: prefetch hints and multi-byte NOPs; no memory access */
}

void op_cbw(struct x86_ctx *c)
{
	unsigned size = c->i->opsize;

	x86_set_reg(c, X86_RAX, size, x86_sext(x86_get_reg(c, X86_RAX, size / 2), size / 2));
}

void op_cwd(struct x86_ctx *c)
{
	unsigned size = c->i->opsize;
	int64_t a = x86_sext(x86_get_reg(c, X86_RAX, size), size);

	x86_set_reg(c, X86_RDX, size, a < 0 ? ~0ull : 0);
}
