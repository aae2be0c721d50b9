/*
 * The block fast path (x86_block.c, x86_fast.c, x86_fast_ext.c): chaining
 * of block handlers and lazy arithmetic flags.  Private to src/x86.
 */
#ifndef MVM_X86_FAST_H
#define MVM_X86_FAST_H

#include "x86_internal.h"

/*
 * End of a block handler: go on with the next instruction of the block
 * unless this one asked to stop.  A tail call, so a block runs as a chain
 * of jumps; x86_fast_end() at the end returns to x86_block_exec().  The
 * next RIP is not kept per instruction (it would chain every instruction
 * to the last through memory): RIP-relative addresses and branch targets
 * are absolute in blocks, branches set ctx.next_rip and X86_STOP_BRANCH.
 */
#define NEXT(c, i) do { \
	if (__builtin_expect((c)->stop, 0)) \
		return; \
	const struct x86_insn *next_ = (i) + 1; \
	(c)->i = next_; \
	next_->bfn((c), next_); \
} while (0)

/* ctx.lf_op: what the record holds (0: nothing, RFLAGS is current) */
enum { LF_ADD = 1, LF_SUB, LF_SBB, LF_LOGIC, LF_IMUL, LF_SHL, LF_SHR, LF_SAR, LF_INC, LF_DEC };

static inline void lf_set(struct x86_ctx *c, unsigned op, unsigned size, uint64_t a, uint64_t b, uint64_t res)
{
	c->lf_op = op;
	c->lf_size = size;
	c->lf_a = a;
	c->lf_b = b;
	c->lf_res = res;
}

/* CF of the recorded operation; INC/DEC keep the CF before them in lf_b. */
static inline uint64_t lf_cf(const struct x86_ctx *c)
{
	uint64_t a = c->lf_a, b = c->lf_b, r = c->lf_res;
	unsigned top = c->lf_size * 8 - 1;

	switch (c->lf_op) {
	case 0: return c->cpu->rflags & X86_FL_CF;
	case LF_ADD: return (((a & b) | ((a | b) & ~r)) >> top) & 1;
	case LF_SUB:
	case LF_SBB: return (((~a & b) | ((~a | b) & r)) >> top) & 1;
	case LF_LOGIC: return 0;
	case LF_SHL: return (a >> (top + 1 - b)) & 1;
	case LF_SHR: return (a >> (b - 1)) & 1;
	case LF_SAR: return (uint64_t)(x86_sext(a, c->lf_size) >> (b - 1)) & 1;
	default: return b;	/* IMUL: overflow; INC/DEC: the CF before */
	}
}

/*
 * One condition (Jcc/SETcc/CMOVcc encoding) from the record: the common
 * ones after SUB/CMP and logic straight from operands and result, the
 * rest from rebuilt RFLAGS.
 */
static inline __attribute__((always_inline)) bool x86_lf_cond(struct x86_ctx *c, unsigned cc)
{
	uint64_t a = c->lf_a, b = c->lf_b, r = c->lf_res;
	unsigned top = c->lf_size * 8 - 1, size = c->lf_size;
	bool v;

	switch (c->lf_op) {
	case LF_SUB:
		switch (cc >> 1) {
		case 0: v = (((a ^ b) & (a ^ r)) >> top) & 1; break;
		case 1: v = a < b; break;
		case 2: v = r == 0; break;
		case 3: v = a <= b; break;
		case 4: v = (r >> top) & 1; break;
		case 6: v = x86_sext(a, size) < x86_sext(b, size); break;
		case 7: v = x86_sext(a, size) <= x86_sext(b, size); break;
		default: goto flags;
		}
		return v ^ (cc & 1);
	case LF_LOGIC:
		switch (cc >> 1) {
		case 0: case 1: v = false; break;
		case 2: case 3: v = r == 0; break;
		case 4: case 6: v = (r >> top) & 1; break;
		case 7: v = r == 0 || ((r >> top) & 1); break;
		default: goto flags;
		}
		return v ^ (cc & 1);
	case 0:
		return x86_cond(c->cpu->rflags, cc);
	default:
		switch (cc >> 1) {
		case 1: v = lf_cf(c); break;
		case 2: if (c->lf_op == LF_IMUL) goto flags; v = r == 0; break;
		case 4: v = (r >> top) & 1; break;
		default: goto flags;
		}
		return v ^ (cc & 1);
	}
flags:
	x86_lf_flush(c);
	return x86_cond(c->cpu->rflags, cc);
}

static inline uint64_t x86_alu_lazy(struct x86_ctx *c, unsigned op, uint64_t a, uint64_t b, unsigned size)
{
	uint64_t m = x86_mask(size), r;

	a &= m;
	b &= m;
	switch (op) {
	case X86_ALU_ADD: r = (a + b) & m; lf_set(c, LF_ADD, size, a, b, r); break;
	case X86_ALU_ADC: r = (a + b + lf_cf(c)) & m; lf_set(c, LF_ADD, size, a, b, r); break;
	case X86_ALU_SUB: case X86_ALU_CMP: r = (a - b) & m; lf_set(c, LF_SUB, size, a, b, r); break;
	case X86_ALU_SBB: r = (a - b - lf_cf(c)) & m; lf_set(c, LF_SBB, size, a, b, r); break;
	case X86_ALU_AND: r = a & b; lf_set(c, LF_LOGIC, size, a, b, r); break;
	case X86_ALU_OR: r = a | b; lf_set(c, LF_LOGIC, size, a, b, r); break;
	default: r = a ^ b; lf_set(c, LF_LOGIC, size, a, b, r); break;
	}
	return r;
}

/* x86_fast.c: run @i through its generic handler (RFLAGS rebuilt first), then go on */
void x86_fast_generic(struct x86_ctx *c, const struct x86_insn *i);

/*
 * Data accesses of the specialised handlers: the private TLB (x86_tlb_ptr)
 * or nothing.  On a miss (or a non-canonical address, a page split, MMIO)
 * the handler hands the instruction over to its generic handler, which
 * translates and refills the TLB; it may, since nothing has changed before
 * the access.  Handlers that way have no call on their fast path and save
 * no registers.
 */
#define FAST_LOAD(var, seg, off, size) \
	uint8_t *p_##var = x86_tlb_ptr(c, (seg), (off), (size), X86_ACC_READ); \
	if (__builtin_expect(!p_##var, 0)) { \
		x86_fast_generic(c, i); \
		return; \
	} \
	uint64_t var = x86_load_n(p_##var, (size))

/* A read-modify-write operand: a writable private-TLB entry (writable implies readable), or generic */
#define FAST_RMW(p, seg, off, size) \
	uint8_t *p = x86_tlb_ptr(c, (seg), (off), (size), X86_ACC_WRITE); \
	if (__builtin_expect(!p, 0)) { \
		x86_fast_generic(c, i); \
		return; \
	} \
	x86_note_write(c, p)

#define FAST_STORE(seg, off, size, val) do { \
	FAST_RMW(p_, (seg), (off), (size)); \
	x86_store_n(p_, (size), (val)); \
} while (0)

/* Register-register forms: dst in rm, src in reg (the selectors swap for "Gv, Ev"). */
static inline void x86_swap_reg_rm(struct x86_insn *i)
{
	uint8_t t = i->reg;

	i->reg = i->rm;
	i->rm = t;
}

/* x86_fast_ext.c: byte, read-modify-write, shift-count, rotate and NOP forms */
bool x86_fast_select_ext(struct x86_insn *i);

#endif
