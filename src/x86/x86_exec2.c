/*
 * x86 integer instructions, part 2: shifts, bit operations, atomics,
 * conditionals, flag instructions, port I/O and miscellany.
 */
#include "x86_internal.h"

void op_shift(struct x86_ctx *c)
{
	const struct x86_insn *i = c->i;
	unsigned size = i->opsize, cnt;

	if (i->arg == 0)
		cnt = 1;
	else if (i->arg == 1)
		cnt = c->cpu->gpr[X86_RCX] & 0xff;
	else
		cnt = i->imm & 0xff;
	cnt &= size == 8 ? 63 : 31;
	if (i->mod != 3)
		x86_check_write(c, i->seg, c->ea, size);
	uint64_t fl, v = x86_get_rm(c, size), res = x86_shift(c, i->reg & 7, v, cnt, size, &fl);

	if (cnt == 0) {
		if (i->mod == 3 && size == 4)
			x86_set_reg(c, i->rm, 4, v);	/* 32-bit destinations are zero-extended anyway */
		return;
	}
	x86_set_rm(c, size, res);
	x86_set_arith(c->cpu, fl);
}

/* SHLD/SHRD: arg bit1 = right, bit0 = count in CL */
void op_shld(struct x86_ctx *c)
{
	const struct x86_insn *i = c->i;
	unsigned size = i->opsize, bits = size * 8;
	unsigned cnt = (i->arg & 1) ? c->cpu->gpr[X86_RCX] & 0xff : i->imm & 0xff;
	bool right = i->arg & 2;

	cnt &= size == 8 ? 63 : 31;
	if (i->mod != 3)
		x86_check_write(c, i->seg, c->ea, size);
	uint64_t d = x86_get_rm(c, size), s = x86_get_reg(c, i->reg, size), m = x86_mask(size);

	if (cnt == 0) {
		if (i->mod == 3 && size == 4)
			x86_set_reg(c, i->rm, 4, d);
		return;
	}
	uint64_t res, cf;

	if (size == 2 && cnt >= 16) {
		/* 16 is exact (all source bits); above it is undefined: d:s:d like Intel and QEMU */
		uint64_t wide = right ? (d | (s << 16) | (d << 32)) : ((d << 32) | (s << 16) | d);

		res = right ? (wide >> cnt) & m : (wide << cnt >> 32) & m;
		cf = right ? (wide >> (cnt - 1)) & 1 : (wide >> (48 - cnt)) & 1;
	} else if (right) {
		res = ((d >> cnt) | (cnt == bits ? 0 : s << (bits - cnt))) & m;
		cf = (d >> (cnt - 1)) & 1;
	} else {
		res = ((d << cnt) | (cnt == bits ? 0 : s >> (bits - cnt))) & m;
		cf = (d >> (bits - cnt)) & 1;
	}
	uint64_t fl = x86_flags_szp(res, size) | (cf ? X86_FL_CF : 0);

	if (((res ^ d) >> (bits - 1)) & 1)
		fl |= X86_FL_OF;
	x86_set_rm(c, size, res);
	x86_set_arith(c->cpu, fl);
}

/* BT/BTS/BTR/BTC: arg 0..3 */
static void bt_common(struct x86_ctx *c, unsigned op, int64_t bit, bool reg_offset)
{
	const struct x86_insn *i = c->i;
	unsigned size = i->opsize, bits = size * 8;
	uint64_t cf;

	if (i->mod == 3) {
		uint64_t v = x86_get_reg(c, i->rm, size);
		unsigned b = bit & (bits - 1);

		cf = (v >> b) & 1;
		if (op == 1) v |= 1ull << b;
		else if (op == 2) v &= ~(1ull << b);
		else if (op == 3) v ^= 1ull << b;
		if (op)
			x86_set_reg(c, i->rm, size, v);
	} else {
		uint64_t ea = c->ea;

		if (reg_offset) {
			int64_t sb = x86_sext((uint64_t)bit, size);

			ea += (sb >> 3) & ~(int64_t)(size - 1);
			ea &= x86_mask(i->addrsize);
			bit = sb & (bits - 1);
		} else {
			bit &= bits - 1;
		}
		unsigned b = bit;
		void *p = op ? x86_ptr(c, i->seg, ea, size, X86_ACC_READ | X86_ACC_WRITE) : NULL;

		if (p && i->lock && size >= 2) {
			/* whole aligned-enough word through host atomics */
			uint64_t mask = 1ull << b, old;

			switch (size) {
			case 2: old = op == 1 ? __atomic_fetch_or((uint16_t *)p, mask, __ATOMIC_SEQ_CST) :
				      op == 2 ? __atomic_fetch_and((uint16_t *)p, ~mask, __ATOMIC_SEQ_CST) :
				      __atomic_fetch_xor((uint16_t *)p, mask, __ATOMIC_SEQ_CST); break;
			case 4: old = op == 1 ? __atomic_fetch_or((uint32_t *)p, mask, __ATOMIC_SEQ_CST) :
				      op == 2 ? __atomic_fetch_and((uint32_t *)p, ~mask, __ATOMIC_SEQ_CST) :
				      __atomic_fetch_xor((uint32_t *)p, mask, __ATOMIC_SEQ_CST); break;
			default: old = op == 1 ? __atomic_fetch_or((uint64_t *)p, mask, __ATOMIC_SEQ_CST) :
				       op == 2 ? __atomic_fetch_and((uint64_t *)p, ~mask, __ATOMIC_SEQ_CST) :
				       __atomic_fetch_xor((uint64_t *)p, mask, __ATOMIC_SEQ_CST); break;
			}
			cf = (old >> b) & 1;
		} else {
			if (op)
				x86_check_write(c, i->seg, ea, size);
			uint64_t v = x86_read(c, i->seg, ea, size);

			cf = (v >> b) & 1;
			if (op == 1) v |= 1ull << b;
			else if (op == 2) v &= ~(1ull << b);
			else if (op == 3) v ^= 1ull << b;
			if (op)
				x86_write(c, i->seg, ea, size, v);
		}
	}
	c->cpu->rflags = (c->cpu->rflags & ~(uint64_t)X86_FL_CF) | (cf ? X86_FL_CF : 0);
}

void op_bt(struct x86_ctx *c)
{
	bt_common(c, c->i->arg, x86_get_reg(c, c->i->reg, c->i->opsize), true);
}

void op_bt_grp(struct x86_ctx *c)
{
	unsigned r = c->i->reg & 7;

	if (r < 4)
		x86_op_ud(c);
	bt_common(c, r - 4, c->i->imm & 0xff, false);
}

/* BSF/BSR (F3 prefix is TZCNT/LZCNT only when BMI1/ABM are advertised: they are not) */
void op_bsf(struct x86_ctx *c)
{
	const struct x86_insn *i = c->i;
	unsigned size = i->opsize;
	uint64_t v = x86_get_rm(c, size) & x86_mask(size);
	uint64_t fl = c->cpu->rflags & X86_FL_ARITH & ~(uint64_t)X86_FL_ZF;

	if (!v) {
		x86_set_arith(c->cpu, fl | X86_FL_ZF);
		/* value unchanged (AMD documents it); a 32-bit one is still zero-extended, as QEMU does */
		if (size == 4)
			x86_set_reg(c, i->reg, 4, x86_get_reg(c, i->reg, 4));
		return;
	}
	unsigned r = i->arg ? 63 - __builtin_clzll(v) : __builtin_ctzll(v);

	x86_set_reg(c, i->reg, size, r);
	x86_set_arith(c->cpu, fl);
}

void op_popcnt(struct x86_ctx *c)
{
	const struct x86_insn *i = c->i;

	if (i->rep != 0xf3)
		x86_op_ud(c);	/* 0F B8 without F3 is JMPE */
	uint64_t v = x86_get_rm(c, i->opsize) & x86_mask(i->opsize);

	x86_set_reg(c, i->reg, i->opsize, __builtin_popcountll(v));
	x86_set_arith(c->cpu, v ? 0 : X86_FL_ZF);
}

void op_bswap(struct x86_ctx *c)
{
	unsigned r = c->i->arg | ((c->i->rex & 1) << 3);
	uint64_t v = c->cpu->gpr[r];

	if (c->i->opsize == 8)
		c->cpu->gpr[r] = __builtin_bswap64(v);
	else if (c->i->opsize == 4)
		c->cpu->gpr[r] = __builtin_bswap32(v);
	else
		x86_set_reg(c, r, 2, 0);	/* undefined; Intel gives 0 */
}

void op_xadd(struct x86_ctx *c)
{
	const struct x86_insn *i = c->i;
	unsigned size = i->opsize;
	uint64_t src = x86_get_reg(c, i->reg, size), old, fl;

	if (i->mod == 3) {
		old = x86_get_reg(c, i->rm, size);
		uint64_t res = x86_alu(c, X86_ALU_ADD, old, src, size, &fl);

		x86_set_reg(c, i->reg, size, old);
		x86_set_reg(c, i->rm, size, res);
		x86_set_arith(c->cpu, fl);
		return;
	}
	void *p = x86_ptr(c, i->seg, c->ea, size, X86_ACC_READ | X86_ACC_WRITE);

	if (p && i->lock) {
		switch (size) {
		case 1: old = __atomic_fetch_add((uint8_t *)p, (uint8_t)src, __ATOMIC_SEQ_CST); break;
		case 2: old = __atomic_fetch_add((uint16_t *)p, (uint16_t)src, __ATOMIC_SEQ_CST); break;
		case 4: old = __atomic_fetch_add((uint32_t *)p, (uint32_t)src, __ATOMIC_SEQ_CST); break;
		default: old = __atomic_fetch_add((uint64_t *)p, src, __ATOMIC_SEQ_CST); break;
		}
		x86_alu(c, X86_ALU_ADD, old, src, size, &fl);
	} else {
		if (!p)
			x86_check_write(c, i->seg, c->ea, size);
		old = x86_get_rm(c, size);
		x86_set_rm(c, size, x86_alu(c, X86_ALU_ADD, old, src, size, &fl));
	}
	x86_set_reg(c, i->reg, size, old);
	x86_set_arith(c->cpu, fl);
}

static bool cas_n(void *p, unsigned size, uint64_t *expected, uint64_t desired)
{
	switch (size) {
	case 1: { uint8_t e = *expected; bool ok = __atomic_compare_exchange_n((uint8_t *)p, &e, (uint8_t)desired, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); *expected = e; return ok; }
	case 2: { uint16_t e = *expected; bool ok = __atomic_compare_exchange_n((uint16_t *)p, &e, (uint16_t)desired, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); *expected = e; return ok; }
	case 4: { uint32_t e = *expected; bool ok = __atomic_compare_exchange_n((uint32_t *)p, &e, (uint32_t)desired, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); *expected = e; return ok; }
	default: return __atomic_compare_exchange_n((uint64_t *)p, expected, desired, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	}
}

void op_cmpxchg(struct x86_ctx *c)
{
	const struct x86_insn *i = c->i;
	unsigned size = i->opsize;
	uint64_t acc = x86_get_reg(c, X86_RAX, size), src = x86_get_reg(c, i->reg, size), cur, fl;

	if (i->mod == 3) {
		cur = x86_get_reg(c, i->rm, size);
		x86_alu(c, X86_ALU_CMP, acc, cur, size, &fl);
		/* the destination is written either way (zero-extends 32-bit registers) */
		x86_set_reg(c, i->rm, size, cur == acc ? src : cur);
		if (cur != acc)
			x86_set_reg(c, X86_RAX, size, cur);
		x86_set_arith(c->cpu, fl);
		return;
	}
	void *p = x86_ptr(c, i->seg, c->ea, size, X86_ACC_READ | X86_ACC_WRITE);

	if (p) {
		cur = acc;
		cas_n(p, size, &cur, src);	/* always atomic on RAM: harmless without LOCK */
	} else {
		x86_check_write(c, i->seg, c->ea, size);
		cur = x86_get_rm(c, size);
		/* the destination is always written (with itself on failure) */
		x86_set_rm(c, size, cur == acc ? src : cur);
	}
	x86_alu(c, X86_ALU_CMP, acc, cur, size, &fl);
	if (cur != acc)
		x86_set_reg(c, X86_RAX, size, cur);
	x86_set_arith(c->cpu, fl);
}

/* 16-byte CAS without libatomic: the host is x86-64 with CX16. */
static bool cas16(void *p, unsigned __int128 *expected, unsigned __int128 desired)
{
#if defined(__x86_64__)
	uint64_t lo = (uint64_t)*expected, hi = (uint64_t)(*expected >> 64);
	bool ok;

	__asm__ volatile("lock cmpxchg16b %1"
			 : "=@ccz"(ok), "+m"(*(unsigned __int128 *)p), "+a"(lo), "+d"(hi)
			 : "b"((uint64_t)desired), "c"((uint64_t)(desired >> 64))
			 : "memory");
	*expected = ((unsigned __int128)hi << 64) | lo;
	return ok;
#else
#error "cas16: port me"
#endif
}

void op_grp9(struct x86_ctx *c)
{
	const struct x86_insn *i = c->i;
	struct x86_cpu *cpu = c->cpu;

	if ((i->reg & 7) != 1 || i->mod == 3)
		x86_op_ud(c);	/* RDRAND/RDSEED/VMX: not advertised */
	bool wide = i->rex & 8;
	unsigned size = wide ? 16 : 8;

	if (wide && (c->ea & 15))
		X86_GP0(c);
	uint64_t *g = cpu->gpr;
	void *p = x86_ptr(c, i->seg, c->ea, size, X86_ACC_READ | X86_ACC_WRITE);
	bool ok;

	if (wide) {
		unsigned __int128 exp = ((unsigned __int128)g[X86_RDX] << 64) | g[X86_RAX];
		unsigned __int128 des = ((unsigned __int128)g[X86_RCX] << 64) | g[X86_RBX], cur;

		if (p) {
			cur = exp;
			ok = cas16(p, &cur, des);
		} else {
			x86_check_write(c, i->seg, c->ea, 16);
			x86_read_buf(c, i->seg, c->ea, &cur, 16);
			ok = cur == exp;
			x86_write_buf(c, i->seg, c->ea, ok ? &des : &cur, 16);
		}
		if (!ok) {
			g[X86_RAX] = (uint64_t)cur;
			g[X86_RDX] = (uint64_t)(cur >> 64);
		}
	} else {
		uint64_t exp = ((uint64_t)(uint32_t)g[X86_RDX] << 32) | (uint32_t)g[X86_RAX];
		uint64_t des = ((uint64_t)(uint32_t)g[X86_RCX] << 32) | (uint32_t)g[X86_RBX], cur = exp;

		if (p) {
			ok = cas_n(p, 8, &cur, des);
		} else {
			x86_check_write(c, i->seg, c->ea, 8);
			cur = x86_read(c, i->seg, c->ea, 8);
			ok = cur == exp;
			x86_write(c, i->seg, c->ea, 8, ok ? des : cur);
		}
		if (!ok) {
			g[X86_RAX] = (uint32_t)cur;
			g[X86_RDX] = cur >> 32;
		}
	}
	cpu->rflags = (cpu->rflags & ~(uint64_t)X86_FL_ZF) | (ok ? X86_FL_ZF : 0);
}

void op_setcc(struct x86_ctx *c)
{
	x86_set_rm(c, 1, x86_cond(c->cpu->rflags, c->i->opcode & 15));
}

void op_cmovcc(struct x86_ctx *c)
{
	const struct x86_insn *i = c->i;
	uint64_t v = x86_get_rm(c, i->opsize);	/* the source is read either way */

	if (x86_cond(c->cpu->rflags, i->opcode & 15))
		x86_set_reg(c, i->reg, i->opsize, v);
	else if (i->opsize == 4)
		x86_set_reg(c, i->reg, 4, x86_get_reg(c, i->reg, 4));	/* zero-extends anyway */
}

/* ---- flags ---- */

void op_flagop(struct x86_ctx *c)
{
	uint64_t *f = &c->cpu->rflags;

	switch (c->i->arg) {
	case 0: *f &= ~(uint64_t)X86_FL_CF; break;
	case 1: *f |= X86_FL_CF; break;
	case 2: *f &= ~(uint64_t)X86_FL_DF; break;
	default: *f |= X86_FL_DF; break;
	}
}

void op_cmc(struct x86_ctx *c)
{
	c->cpu->rflags ^= X86_FL_CF;
}

void op_cli_sti(struct x86_ctx *c)
{
	struct x86_cpu *cpu = c->cpu;

	if (cpu->mode != X86_MODE_REAL && cpu->cpl > ((cpu->rflags & X86_FL_IOPL) >> 12))
		X86_GP0(c);
	if (c->i->arg) {
		if (!(cpu->rflags & X86_FL_IF))
			c->sti_shadow_set = true;
		cpu->rflags |= X86_FL_IF;
	} else {
		cpu->rflags &= ~(uint64_t)X86_FL_IF;
	}
}

void op_lahf(struct x86_ctx *c)
{
	x86_set_reg(c, 4, 1, (c->cpu->rflags & 0xd5) | X86_FL_FIXED1);	/* AH */
}

void op_sahf(struct x86_ctx *c)
{
	uint64_t ah = (c->cpu->gpr[X86_RAX] >> 8) & 0xd5;

	c->cpu->rflags = (c->cpu->rflags & ~0xd5ull) | ah | X86_FL_FIXED1;
}

void op_salc(struct x86_ctx *c)
{
	x86_set_reg(c, X86_RAX, 1, (c->cpu->rflags & X86_FL_CF) ? 0xff : 0);
}

void op_aam(struct x86_ctx *c)
{
	uint8_t base = c->i->imm, al = c->cpu->gpr[X86_RAX], ah = c->cpu->gpr[X86_RAX] >> 8, res;

	if (c->i->arg == 0) {	/* AAM */
		if (!base)
			x86_raise_noerr(c, X86_EXC_DE);
		res = al % base;
		x86_set_reg(c, X86_RAX, 2, ((al / base) << 8) | res);
	} else {		/* AAD */
		res = al + ah * base;
		x86_set_reg(c, X86_RAX, 2, res);
	}
	x86_set_arith(c->cpu, x86_flags_szp(res, 1));
}

void op_pushf(struct x86_ctx *c)
{
	struct x86_cpu *cpu = c->cpu;

	if ((cpu->rflags & X86_FL_VM) && ((cpu->rflags & X86_FL_IOPL) >> 12) < 3)
		X86_GP0(c);
	x86_push(c, c->i->opsize, cpu->rflags & ~(uint64_t)(X86_FL_VM | X86_FL_RF));
}

void op_popf(struct x86_ctx *c)
{
	uint64_t v = x86_pop(c, c->i->opsize);

	x86_set_rflags(c, v, c->i->opsize);
}

void op_xlat(struct x86_ctx *c)
{
	const struct x86_insn *i = c->i;
	uint64_t off = (c->cpu->gpr[X86_RBX] + (c->cpu->gpr[X86_RAX] & 0xff)) & x86_mask(i->addrsize);

	x86_set_reg(c, X86_RAX, 1, x86_read(c, i->seg, off, 1));
}

/* ---- interrupts and halts ---- */

void op_int3(struct x86_ctx *c)
{
	/* arg 1: INT1/ICEBP, delivered like a hardware #DB */
	x86_deliver(c, c->i->arg ? X86_EXC_DB : X86_EXC_BP, false, 0, c->i->arg == 0, c->next_rip);
}

void op_int(struct x86_ctx *c)
{
	x86_deliver(c, c->i->imm & 0xff, false, 0, true, c->next_rip);
}

void op_into(struct x86_ctx *c)
{
	if (c->cpu->rflags & X86_FL_OF)
		x86_deliver(c, X86_EXC_OF, false, 0, true, c->next_rip);
}

void op_hlt(struct x86_ctx *c)
{
	if (c->cpu->cpl)
		X86_GP0(c);
	c->cpu->halted = true;
}

void op_ud2(struct x86_ctx *c)
{
	X86_UD(c);	/* architectural #UD: not counted as unimplemented */
}

void op_in(struct x86_ctx *c)
{
	unsigned size = c->i->opsize == 1 ? 1 : c->i->opsize == 2 ? 2 : 4;
	uint16_t port = c->i->arg ? c->cpu->gpr[X86_RDX] : c->i->imm & 0xff;

	if (!x86_io_allowed(c, port, size))
		X86_GP0(c);
	x86_set_reg(c, X86_RAX, size, x86_io_in(c, port, size));
}

void op_out(struct x86_ctx *c)
{
	unsigned size = c->i->opsize == 1 ? 1 : c->i->opsize == 2 ? 2 : 4;
	uint16_t port = c->i->arg ? c->cpu->gpr[X86_RDX] : c->i->imm & 0xff;

	if (!x86_io_allowed(c, port, size))
		X86_GP0(c);
	x86_io_out(c, port, size, x86_get_reg(c, X86_RAX, size));
}

void op_les(struct x86_ctx *c)
{
	const struct x86_insn *i = c->i;
	unsigned size = i->opsize;

	if (i->mod == 3)
		X86_UD(c);
	uint64_t off = x86_read(c, i->seg, c->ea, size);
	uint16_t sel = x86_read(c, i->seg, (c->ea + size) & x86_mask(i->addrsize), 2);

	x86_load_seg(c, i->arg, sel);
	x86_set_reg(c, i->reg, size, off);
}
