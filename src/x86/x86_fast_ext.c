/*
 * More specialised block handlers (see x86_fast.c): byte operands, memory
 * read-modify-write ALU and INC/DEC, TEST with an immediate, the
 * accumulator forms, shifts by 1 and by CL, rotates, and NOPs - what a
 * boot still sent to the generic handlers after x86_fast.c (a census of
 * the generic path: CMP/TEST on bytes and NOPs led).
 *
 * Byte forms are taken only without AH..BH (a REX prefix, or registers
 * 0-3 or 8-15), so a byte register is always the low byte of gpr[r].
 * Read-modify-write forms take a writable private-TLB entry for the whole
 * operand first; without one (not cached yet, MMIO, a page split) the
 * generic handler runs, which checks for writing before reading, so a
 * fault carries the write bit as the CPU reports it.
 */
#include "x86_fast.h"

static inline uint64_t reg8(const uint64_t *g, unsigned r)
{
	return g[r] & 0xff;
}

static inline void set_reg8(uint64_t *g, unsigned r, uint64_t v)
{
	g[r] = (g[r] & ~0xffull) | (v & 0xff);
}

static void nop(struct x86_ctx *c, const struct x86_insn *i)
{
	NEXT(c, i);
}

/* ---- byte ALU, TEST, MOV ---- */

/* dst = rm, src = reg (swapped for the Gb, Eb encodings) */
static void alu8_rr(struct x86_ctx *c, const struct x86_insn *i)
{
	uint64_t *g = c->cpu->gpr;
	uint64_t r = x86_alu_lazy(c, i->arg, reg8(g, i->rm), reg8(g, i->reg), 1);

	if (i->arg != X86_ALU_CMP)
		set_reg8(g, i->rm, r);
	NEXT(c, i);
}

/* Gb op= Eb (memory) */
static void alu8_rm(struct x86_ctx *c, const struct x86_insn *i)
{
	uint64_t *g = c->cpu->gpr;

	x86_calc_ea(c);
	FAST_LOAD(v, i->seg, c->ea, 1);
	uint64_t r = x86_alu_lazy(c, i->arg, reg8(g, i->reg), v, 1);

	if (i->arg != X86_ALU_CMP)
		set_reg8(g, i->reg, r);
	NEXT(c, i);
}

/* rm8 op= imm8 (80 /op, and AL forms with rm = 0); the operation is in arg */
static void alu8_ri(struct x86_ctx *c, const struct x86_insn *i)
{
	uint64_t *g = c->cpu->gpr;
	uint64_t r = x86_alu_lazy(c, i->arg, reg8(g, i->rm), i->imm, 1);

	if (i->arg != X86_ALU_CMP)
		set_reg8(g, i->rm, r);
	NEXT(c, i);
}

/* TEST r, r / r, imm (any size; rm and reg or imm) */
static void test8_rr(struct x86_ctx *c, const struct x86_insn *i)
{
	const uint64_t *g = c->cpu->gpr;

	lf_set(c, LF_LOGIC, 1, 0, 0, g[i->rm] & g[i->reg] & 0xff);
	NEXT(c, i);
}

#define TEST_RI(SZ) \
static void test_ri##SZ(struct x86_ctx *c, const struct x86_insn *i) \
{ \
	lf_set(c, LF_LOGIC, SZ, 0, 0, c->cpu->gpr[i->rm] & i->imm & x86_mask(SZ)); \
	NEXT(c, i); \
} \
static void test_mi##SZ(struct x86_ctx *c, const struct x86_insn *i) \
{ \
	x86_calc_ea(c); \
	FAST_LOAD(v, i->seg, c->ea, SZ); \
	lf_set(c, LF_LOGIC, SZ, 0, 0, v & i->imm & x86_mask(SZ)); \
	NEXT(c, i); \
}
TEST_RI(1)
TEST_RI(4)
TEST_RI(8)

static void test8_mr(struct x86_ctx *c, const struct x86_insn *i)
{
	x86_calc_ea(c);
	FAST_LOAD(v, i->seg, c->ea, 1);
	lf_set(c, LF_LOGIC, 1, 0, 0, v & c->cpu->gpr[i->reg] & 0xff);
	NEXT(c, i);
}

static void mov8_rr(struct x86_ctx *c, const struct x86_insn *i)
{
	uint64_t *g = c->cpu->gpr;

	set_reg8(g, i->rm, g[i->reg]);
	NEXT(c, i);
}

static void mov8_load(struct x86_ctx *c, const struct x86_insn *i)
{
	x86_calc_ea(c);
	FAST_LOAD(v, i->seg, c->ea, 1);
	set_reg8(c->cpu->gpr, i->reg, v);
	NEXT(c, i);
}

static void mov8_store(struct x86_ctx *c, const struct x86_insn *i)
{
	x86_calc_ea(c);
	FAST_STORE(i->seg, c->ea, 1, c->cpu->gpr[i->reg]);
	NEXT(c, i);
}

static void mov8_mi(struct x86_ctx *c, const struct x86_insn *i)
{
	x86_calc_ea(c);
	FAST_STORE(i->seg, c->ea, 1, i->imm);
	NEXT(c, i);
}

static void mov8_ri(struct x86_ctx *c, const struct x86_insn *i)
{
	set_reg8(c->cpu->gpr, i->rm, i->imm);
	NEXT(c, i);
}

/* ---- memory read-modify-write: [m] op= src, INC/DEC [m] ---- */

#define RMW(SZ) \
static void alu_mr##SZ(struct x86_ctx *c, const struct x86_insn *i) \
{ \
	x86_calc_ea(c); \
	uint64_t src = (i->flags & (F_IMM8 | F_IMMZ)) ? i->imm : c->cpu->gpr[i->reg]; \
	if (i->arg == X86_ALU_CMP) { \
		FAST_LOAD(v, i->seg, c->ea, SZ); \
		x86_alu_lazy(c, X86_ALU_CMP, v, src, SZ); \
		NEXT(c, i); \
		return; \
	} \
	FAST_RMW(p, i->seg, c->ea, SZ); \
	x86_store_n(p, SZ, x86_alu_lazy(c, i->arg, x86_load_n(p, SZ), src, SZ)); \
	NEXT(c, i); \
} \
static void incdec_m##SZ(struct x86_ctx *c, const struct x86_insn *i) \
{ \
	x86_calc_ea(c); \
	FAST_RMW(p, i->seg, c->ea, SZ); \
	uint64_t a = x86_load_n(p, SZ), r = (a + ((i->reg & 1) ? -1ull : 1)) & x86_mask(SZ); \
	lf_set(c, (i->reg & 1) ? LF_DEC : LF_INC, SZ, a, lf_cf(c), r); \
	x86_store_n(p, SZ, r); \
	NEXT(c, i); \
}
RMW(1)
RMW(4)
RMW(8)

/* ---- shifts by 1 or CL, rotates (register operand) ---- */

#define SHIFT_VAR(SZ) \
static void shift_r##SZ(struct x86_ctx *c, const struct x86_insn *i) \
{ \
	uint64_t *g = c->cpu->gpr, a = g[i->rm] & x86_mask(SZ), r; \
	unsigned cnt = (i->arg == 0 ? 1 : g[X86_RCX]) & (SZ == 8 ? 63 : 31); \
	if (!cnt) { \
		g[i->rm] = a;	/* flags untouched; a 32-bit destination is zero-extended anyway */ \
		NEXT(c, i); \
		return; \
	} \
	switch (i->reg & 7) { \
	case 4: r = (a << cnt) & x86_mask(SZ); lf_set(c, LF_SHL, SZ, a, cnt, r); break; \
	case 5: r = a >> cnt; lf_set(c, LF_SHR, SZ, a, cnt, r); break; \
	default: r = (uint64_t)(x86_sext(a, SZ) >> cnt) & x86_mask(SZ); lf_set(c, LF_SAR, SZ, a, cnt, r); break; \
	} \
	g[i->rm] = r; \
	NEXT(c, i); \
} \
/* ROL/ROR keep SF ZF AF PF: rebuild RFLAGS, then set CF and OF as x86_shift() does */ \
static void rot_r##SZ(struct x86_ctx *c, const struct x86_insn *i) \
{ \
	uint64_t *g = c->cpu->gpr, a = g[i->rm] & x86_mask(SZ), r, fl; \
	unsigned cnt = (i->arg == 0 ? 1 : i->arg == 1 ? g[X86_RCX] : i->imm) & (SZ == 8 ? 63 : 31); \
	x86_lf_flush(c); \
	r = x86_shift(c, i->reg & 7, a, cnt, SZ, &fl); \
	g[i->rm] = r; \
	x86_set_arith(c->cpu, fl); \
	NEXT(c, i); \
}
SHIFT_VAR(4)
SHIFT_VAR(8)

/* ---- selection ---- */

/* @f's handler for the operand size (1, 4 or 8) */
#define BY_SIZE(f) (sz == 1 ? f##1 : sz == 8 ? f##8 : f##4)

bool x86_fast_select_ext(struct x86_insn *i)
{
	bool mem = i->flags & F_MEM;
	unsigned sz = i->opsize;
	x86_fn fn = i->fn;
	/* byte operands: not AH..BH, so a byte register is the low byte of gpr[] */
	bool reg_ok = i->rex || i->reg < 4 || i->reg >= 8;
	bool rm_ok = i->rex || i->rm < 4 || i->rm >= 8;

	if (i->lock || i->map > 1)
		return false;
	if ((fn == op_nop90 && !(i->rex & 1)) || fn == op_nopm) {
		i->bfn = nop;
		return true;
	}
	if (sz != 1 && sz != 4 && sz != 8)
		return false;
	if (fn == op_alu) {
		if (sz == 1 && !reg_ok)
			return false;
		if (mem) {
			if ((i->opcode & 2) && sz != 1)
				return false;	/* x86_fast.c's */
			i->bfn = (i->opcode & 2) ? alu8_rm : BY_SIZE(alu_mr);
			return true;
		}
		if (sz != 1 || !rm_ok)
			return false;
		if (i->opcode & 2)
			x86_swap_reg_rm(i);
		i->bfn = alu8_rr;
		return true;
	}
	if (fn == op_grp1) {
		i->arg = i->reg & 7;
		if (i->flags & F_IMM8)
			i->imm = (uint64_t)(int64_t)(int8_t)i->imm;
		if (mem) {
			i->bfn = BY_SIZE(alu_mr);
			return true;
		}
		if (sz != 1 || !rm_ok)
			return false;	/* 32/64-bit register forms are x86_fast.c's */
		i->bfn = alu8_ri;
		return true;
	}
	if (fn == op_alu_acc && sz == 1) {
		i->rm = X86_RAX;
		i->bfn = alu8_ri;
		return true;
	}
	if (fn == op_test_acc) {
		i->rm = X86_RAX;
		i->bfn = BY_SIZE(test_ri);
		return true;
	}
	if (fn == op_grp3 && (i->reg & 7) < 2) {	/* TEST r/m, imm */
		if (!mem && sz == 1 && !rm_ok)
			return false;
		if (mem)
			i->bfn = BY_SIZE(test_mi);
		else
			i->bfn = BY_SIZE(test_ri);
		return true;
	}
	if (fn == op_test && sz == 1) {
		if (!reg_ok || (!mem && !rm_ok))
			return false;
		i->bfn = mem ? test8_mr : test8_rr;
		return true;
	}
	if (fn == op_mov && sz == 1) {
		if (!reg_ok || (!mem && !rm_ok))
			return false;
		if (mem) {
			i->bfn = (i->opcode & 2) ? mov8_load : mov8_store;
		} else {
			if (i->opcode & 2)
				x86_swap_reg_rm(i);
			i->bfn = mov8_rr;
		}
		return true;
	}
	if (fn == op_mov_rm_imm && sz == 1 && !(i->reg & 7)) {
		if (!mem && !rm_ok)
			return false;
		i->bfn = mem ? mov8_mi : mov8_ri;
		return true;
	}
	if (fn == op_grp45 && mem && (i->reg & 7) <= 1) {
		i->bfn = BY_SIZE(incdec_m);
		return true;
	}
	if (fn == op_shift && !mem && sz != 1) {
		unsigned op = i->reg & 7;

		if ((op == 4 || op == 5 || op == 7) && i->arg != 2)
			i->bfn = sz == 8 ? shift_r8 : shift_r4;
		else if (op <= 1)
			i->bfn = sz == 8 ? rot_r8 : rot_r4;
		else
			return false;
		return true;
	}
	return false;
}
