/*
 * Specialised handlers for the commonest instruction forms in blocks.
 *
 * The generic handlers re-discover at every execution what the decoder
 * already knew: operand size, register or memory, which operand is the
 * destination, which ALU operation.  When a block is built, x86_fast_select()
 * replaces the handler of a simple instruction with one that has those fixed
 * at compile time (8-, 32- and 64-bit operands, registers and plain loads and
 * stores; memory forms in 64-bit code only).  Their results are the generic handlers' bit for bit
 * (flags included); any other form keeps its generic handler.
 *
 * Register-register forms read their destination from i->rm and their source
 * from i->reg: the selector swaps the two for the "Gv, Ev" encodings.  These
 * handlers run only inside blocks, after x86_calc_ea() for memory forms.
 *
 * Lazy flags: most arithmetic flags are overwritten before anything reads
 * them (a bignum loop computes seventeen sets per iteration and reads four).
 * So these handlers record the operation, its operands and its result in
 * the context (ctx.lf_*) and flags are computed only when read: a Jcc or
 * ADC asks for one condition, anything else gets RFLAGS rebuilt first by
 * x86_lf_flush() (other handlers in the block, the block's end, an abort).
 * Handlers record only after their last fault point, so at an abort the
 * record still describes the flags before the aborting instruction.
 */
#include "x86_fast.h"

static inline uint64_t opsz_trunc(uint64_t v, unsigned size)
{
	return size == 8 ? v : (uint32_t)v;
}

/* The arithmetic flags of the record, as the generic handlers compute them. */
static uint64_t lf_flags(const struct x86_ctx *c)
{
	uint64_t a = c->lf_a, b = c->lf_b, r = c->lf_res;
	unsigned size = c->lf_size, top = size * 8 - 1;
	uint64_t fl = x86_flags_szp(r, size);

	switch (c->lf_op) {
	case LF_ADD:
	case LF_INC:
		if (c->lf_op == LF_INC)
			b = 1;
		fl |= (((a ^ r) & (b ^ r)) >> top) & 1 ? X86_FL_OF : 0;
		fl |= (a ^ b ^ r) & X86_FL_AF;
		break;
	case LF_SUB:
	case LF_SBB:
	case LF_DEC:
		if (c->lf_op == LF_DEC)
			b = 1;
		fl |= (((a ^ b) & (a ^ r)) >> top) & 1 ? X86_FL_OF : 0;
		fl |= (a ^ b ^ r) & X86_FL_AF;
		break;
	case LF_IMUL:
		fl &= ~(uint64_t)X86_FL_ZF;
		fl |= b ? X86_FL_OF : 0;
		break;
	case LF_SHL:
		fl |= (((r >> top) & 1) ^ lf_cf(c)) ? X86_FL_OF : 0;
		break;
	case LF_SHR:
		fl |= ((a >> top) & 1) ? X86_FL_OF : 0;
		break;
	default:	/* LOGIC, SAR */
		break;
	}
	return fl | (lf_cf(c) ? X86_FL_CF : 0);
}

void x86_lf_flush(struct x86_ctx *c)
{
	if (c->lf_op) {
		x86_set_arith(c->cpu, lf_flags(c));
		c->lf_op = 0;
	}
}

/* ---- ALU ---- */

#define ALU_FORMS(OP, op, SZ) \
static void alu_rr_##op##SZ(struct x86_ctx *c, const struct x86_insn *i) \
{ \
	uint64_t *g = c->cpu->gpr; \
	uint64_t r = x86_alu_lazy(c, X86_ALU_##OP, g[i->rm], g[i->reg], SZ); \
	if (X86_ALU_##OP != X86_ALU_CMP) \
		g[i->rm] = r; \
	NEXT(c, i); \
} \
static void alu_ri_##op##SZ(struct x86_ctx *c, const struct x86_insn *i) \
{ \
	uint64_t *g = c->cpu->gpr; \
	uint64_t r = x86_alu_lazy(c, X86_ALU_##OP, g[i->rm], i->imm, SZ); \
	if (X86_ALU_##OP != X86_ALU_CMP) \
		g[i->rm] = r; \
	NEXT(c, i); \
} \
static void alu_rm_##op##SZ(struct x86_ctx *c, const struct x86_insn *i) \
{ \
	x86_calc_ea(c); \
	uint64_t *g = c->cpu->gpr; \
	FAST_LOAD(v, i->seg, c->ea, SZ); \
	uint64_t r = x86_alu_lazy(c, X86_ALU_##OP, g[i->reg], v, SZ); \
	if (X86_ALU_##OP != X86_ALU_CMP) \
		g[i->reg] = r; \
	NEXT(c, i); \
}

#define ALU_ALL(SZ) \
	ALU_FORMS(ADD, add, SZ) ALU_FORMS(OR, or, SZ) ALU_FORMS(ADC, adc, SZ) ALU_FORMS(SBB, sbb, SZ) \
	ALU_FORMS(AND, and, SZ) ALU_FORMS(SUB, sub, SZ) ALU_FORMS(XOR, xor, SZ) ALU_FORMS(CMP, cmp, SZ)
ALU_ALL(4)
ALU_ALL(8)

#define ALU_TABLE(form, SZ) { \
	alu_##form##_add##SZ, alu_##form##_or##SZ, alu_##form##_adc##SZ, alu_##form##_sbb##SZ, \
	alu_##form##_and##SZ, alu_##form##_sub##SZ, alu_##form##_xor##SZ, alu_##form##_cmp##SZ }
static const x86_bfn alu_rr[2][8] = { ALU_TABLE(rr, 4), ALU_TABLE(rr, 8) };
static const x86_bfn alu_ri[2][8] = { ALU_TABLE(ri, 4), ALU_TABLE(ri, 8) };
static const x86_bfn alu_rm[2][8] = { ALU_TABLE(rm, 4), ALU_TABLE(rm, 8) };

/* TEST r, r */
#define TEST_RR(SZ) \
static void test_rr##SZ(struct x86_ctx *c, const struct x86_insn *i) \
{ \
	const uint64_t *g = c->cpu->gpr; \
	lf_set(c, LF_LOGIC, SZ, 0, 0, opsz_trunc(g[i->rm] & g[i->reg], SZ)); \
	NEXT(c, i); \
}
TEST_RR(4)
TEST_RR(8)

/* ---- moves ---- */

#define MOVES(SZ) \
static void mov_rr##SZ(struct x86_ctx *c, const struct x86_insn *i) \
{ \
	uint64_t *g = c->cpu->gpr; \
	g[i->rm] = opsz_trunc(g[i->reg], SZ); \
	NEXT(c, i); \
} \
static void mov_load##SZ(struct x86_ctx *c, const struct x86_insn *i) \
{ \
	x86_calc_ea(c); \
	FAST_LOAD(v, i->seg, c->ea, SZ); \
	c->cpu->gpr[i->reg] = v; \
	NEXT(c, i); \
} \
static void mov_store##SZ(struct x86_ctx *c, const struct x86_insn *i) \
{ \
	x86_calc_ea(c); \
	FAST_STORE(i->seg, c->ea, SZ, c->cpu->gpr[i->reg]); \
	NEXT(c, i); \
} \
static void mov_ri##SZ(struct x86_ctx *c, const struct x86_insn *i) \
{ \
	c->cpu->gpr[i->rm] = opsz_trunc(i->imm, SZ); \
	NEXT(c, i); \
} \
static void mov_mi##SZ(struct x86_ctx *c, const struct x86_insn *i) \
{ \
	x86_calc_ea(c); \
	FAST_STORE(i->seg, c->ea, SZ, i->imm); \
	NEXT(c, i); \
} \
static void lea##SZ(struct x86_ctx *c, const struct x86_insn *i) \
{ \
	x86_calc_ea(c); \
	c->cpu->gpr[i->reg] = opsz_trunc(c->ea, SZ); \
	NEXT(c, i); \
}
MOVES(4)
MOVES(8)

static void movsxd_rr(struct x86_ctx *c, const struct x86_insn *i)
{
	uint64_t *g = c->cpu->gpr;

	g[i->reg] = (uint64_t)(int64_t)(int32_t)g[i->rm];
	NEXT(c, i);
}

static void movsxd_load(struct x86_ctx *c, const struct x86_insn *i)
{
	x86_calc_ea(c);

	FAST_LOAD(v, i->seg, c->ea, 4);
	c->cpu->gpr[i->reg] = (uint64_t)(int64_t)(int32_t)v;
	NEXT(c, i);
}

/* MOVZX/MOVSX from a word or from a low byte register (no AH..BH: REX forms only) */
#define MOVX(name, expr_r, expr_m, srcsz) \
static void name##_r(struct x86_ctx *c, const struct x86_insn *i) \
{ \
	uint64_t *g = c->cpu->gpr; \
	uint64_t v = g[i->rm]; \
	g[i->reg] = opsz_trunc((expr_r), i->opsize); \
	NEXT(c, i); \
} \
static void name##_m(struct x86_ctx *c, const struct x86_insn *i) \
{ \
	x86_calc_ea(c); \
	FAST_LOAD(v, i->seg, c->ea, srcsz); \
	c->cpu->gpr[i->reg] = opsz_trunc((expr_m), i->opsize); \
	NEXT(c, i); \
}
MOVX(movzb, (uint8_t)v, v, 1)
MOVX(movzw, (uint16_t)v, v, 2)
MOVX(movsb, (uint64_t)(int64_t)(int8_t)v, (uint64_t)(int64_t)(int8_t)v, 1)
MOVX(movsw, (uint64_t)(int64_t)(int16_t)v, (uint64_t)(int64_t)(int16_t)v, 2)

/* ---- multiply, shifts, inc/dec ---- */

static void imul_rr8(struct x86_ctx *c, const struct x86_insn *i)
{
	uint64_t *g = c->cpu->gpr;
	__int128 p = (__int128)(int64_t)g[i->rm] * (int64_t)g[i->reg];
	uint64_t lo = (uint64_t)p;

	g[i->reg] = lo;
	lf_set(c, LF_IMUL, 8, 0, p != (__int128)(int64_t)lo, lo);
	NEXT(c, i);
}

/* SHL/SHR/SAR r, imm8 (count already masked, non-zero: the selector checks) */
#define SHIFT_RI(SZ) \
static void shl_ri##SZ(struct x86_ctx *c, const struct x86_insn *i) \
{ \
	uint64_t *g = c->cpu->gpr, a = opsz_trunc(g[i->rm], SZ), r = opsz_trunc(a << i->imm, SZ); \
	g[i->rm] = r; \
	lf_set(c, LF_SHL, SZ, a, i->imm, r); \
	NEXT(c, i); \
} \
static void shr_ri##SZ(struct x86_ctx *c, const struct x86_insn *i) \
{ \
	uint64_t *g = c->cpu->gpr, a = opsz_trunc(g[i->rm], SZ), r = a >> i->imm; \
	g[i->rm] = r; \
	lf_set(c, LF_SHR, SZ, a, i->imm, r); \
	NEXT(c, i); \
} \
static void sar_ri##SZ(struct x86_ctx *c, const struct x86_insn *i) \
{ \
	uint64_t *g = c->cpu->gpr, a = opsz_trunc(g[i->rm], SZ); \
	uint64_t r = opsz_trunc((uint64_t)(x86_sext(a, SZ) >> i->imm), SZ); \
	g[i->rm] = r; \
	lf_set(c, LF_SAR, SZ, a, i->imm, r); \
	NEXT(c, i); \
}
SHIFT_RI(4)
SHIFT_RI(8)

#define INCDEC(SZ) \
static void inc_r##SZ(struct x86_ctx *c, const struct x86_insn *i) \
{ \
	uint64_t *g = c->cpu->gpr, a = opsz_trunc(g[i->rm], SZ), r = opsz_trunc(a + 1, SZ); \
	lf_set(c, LF_INC, SZ, a, lf_cf(c), r); \
	g[i->rm] = r; \
	NEXT(c, i); \
} \
static void dec_r##SZ(struct x86_ctx *c, const struct x86_insn *i) \
{ \
	uint64_t *g = c->cpu->gpr, a = opsz_trunc(g[i->rm], SZ), r = opsz_trunc(a - 1, SZ); \
	lf_set(c, LF_DEC, SZ, a, lf_cf(c), r); \
	g[i->rm] = r; \
	NEXT(c, i); \
}
INCDEC(4)
INCDEC(8)

/* ---- stack and branches (64-bit stack: SS base 0, no limit) ---- */

static void push_r(struct x86_ctx *c, const struct x86_insn *i)
{
	uint64_t *g = c->cpu->gpr, sp = g[X86_RSP] - 8;

	FAST_STORE(X86_SS, sp, 8, g[i->rm]);
	g[X86_RSP] = sp;
	NEXT(c, i);
}

static void pop_r(struct x86_ctx *c, const struct x86_insn *i)
{
	uint64_t *g = c->cpu->gpr;
	FAST_LOAD(v, X86_SS, g[X86_RSP], 8);

	g[X86_RSP] += 8;
	g[i->rm] = v;	/* after the increment: POP RSP loads the popped value */
	NEXT(c, i);
}

static void call_rel(struct x86_ctx *c, const struct x86_insn *i)
{
	uint64_t *g = c->cpu->gpr, sp = g[X86_RSP] - 8;

	FAST_STORE(X86_SS, sp, 8, i->disp);	/* the return address (x86_fast_select) */
	g[X86_RSP] = sp;
	c->next_rip = i->imm2;
	c->stop |= X86_STOP_BRANCH;
	NEXT(c, i);
}

static void ret_near(struct x86_ctx *c, const struct x86_insn *i)
{
	uint64_t *g = c->cpu->gpr;
	FAST_LOAD(t, X86_SS, g[X86_RSP], 8);

	g[X86_RSP] += 8;
	c->next_rip = t;
	c->stop |= X86_STOP_BRANCH;
	NEXT(c, i);
}

static void jmp_rel(struct x86_ctx *c, const struct x86_insn *i)
{
	c->next_rip = i->imm2;
	c->stop |= X86_STOP_BRANCH;
	NEXT(c, i);
}

#define JCC(cc) \
static void jcc_##cc(struct x86_ctx *c, const struct x86_insn *i) \
{ \
	if (x86_lf_cond(c, cc)) { \
		c->next_rip = i->imm2; \
		c->stop |= X86_STOP_BRANCH; \
	} \
	NEXT(c, i); \
}
JCC(0) JCC(1) JCC(2) JCC(3) JCC(4) JCC(5) JCC(6) JCC(7)
JCC(8) JCC(9) JCC(10) JCC(11) JCC(12) JCC(13) JCC(14) JCC(15)
static const x86_bfn jcc[16] = {
	jcc_0, jcc_1, jcc_2, jcc_3, jcc_4, jcc_5, jcc_6, jcc_7,
	jcc_8, jcc_9, jcc_10, jcc_11, jcc_12, jcc_13, jcc_14, jcc_15,
};

/* SETcc r8 / m8, CMOVcc r, r/m: conditions straight from the lazy record */
static void setcc_r(struct x86_ctx *c, const struct x86_insn *i)
{
	uint64_t *g = c->cpu->gpr;

	g[i->rm] = (g[i->rm] & ~0xffull) | x86_lf_cond(c, i->opcode & 15);
	NEXT(c, i);
}

static void setcc_m(struct x86_ctx *c, const struct x86_insn *i)
{
	x86_calc_ea(c);

	FAST_STORE(i->seg, c->ea, 1, x86_lf_cond(c, i->opcode & 15));
	NEXT(c, i);
}

#define CMOV(SZ) \
static void cmov_r##SZ(struct x86_ctx *c, const struct x86_insn *i) \
{ \
	uint64_t *g = c->cpu->gpr; \
	g[i->reg] = opsz_trunc(x86_lf_cond(c, i->opcode & 15) ? g[i->rm] : g[i->reg], SZ); \
	NEXT(c, i); \
} \
static void cmov_m##SZ(struct x86_ctx *c, const struct x86_insn *i) \
{ \
	x86_calc_ea(c); \
	uint64_t *g = c->cpu->gpr; \
	FAST_LOAD(v, i->seg, c->ea, SZ);	/* read either way */ \
	g[i->reg] = opsz_trunc(x86_lf_cond(c, i->opcode & 15) ? v : g[i->reg], SZ); \
	NEXT(c, i); \
}
CMOV(4)
CMOV(8)

/* ---- selection ---- */

static void choose(struct x86_insn *i, uint64_t next_rip)
{
	bool mem = i->flags & F_MEM;
	unsigned sz = i->opsize, w = sz == 8;

	if (i->lock || i->map > 1)
		return;
	/* branch targets are absolute (blocks are keyed by address): imm2, and disp for CALL's return */
	if (i->fn == op_jcc) {
		i->imm2 = next_rip + (i->map == 0 ? (uint64_t)(int64_t)(int8_t)i->imm : i->imm);
		i->bfn = jcc[i->opcode & 15];
		return;
	}
	if (i->fn == op_jmp) {
		i->imm2 = next_rip + (i->opcode == 0xeb ? (uint64_t)(int64_t)(int8_t)i->imm : i->imm);
		i->bfn = jmp_rel;
		return;
	}
	if (i->fn == op_setcc) {
		if (mem)
			i->bfn = setcc_m;
		else if (i->rex || i->rm < 4 || i->rm >= 8)
			i->bfn = setcc_r;	/* not AH..BH */
		return;
	}
	if (sz != 4 && sz != 8)
		return;
	if (i->fn == op_push_r && sz == 8) {
		i->rm = i->arg | ((i->rex & 1) << 3);
		i->bfn = push_r;
	} else if (i->fn == op_pop_r && sz == 8) {
		i->rm = i->arg | ((i->rex & 1) << 3);
		i->bfn = pop_r;
	} else if (i->fn == op_call && sz == 8) {
		i->disp = next_rip;
		i->imm2 = next_rip + i->imm;
		i->bfn = call_rel;
	} else if (i->fn == op_ret && !i->arg && sz == 8) {
		i->bfn = ret_near;
	} else if (i->fn == op_alu) {
		if (!mem && (i->opcode & 2))
			x86_swap_reg_rm(i);
		if (!mem)
			i->bfn = alu_rr[w][i->arg];
		else if (i->opcode & 2)
			i->bfn = alu_rm[w][i->arg];
	} else if (i->fn == op_alu_acc) {
		i->rm = X86_RAX;
		i->bfn = alu_ri[w][i->arg];
	} else if (i->fn == op_grp1 && !mem) {
		if (i->flags & F_IMM8)
			i->imm = (uint64_t)(int64_t)(int8_t)i->imm;
		i->bfn = alu_ri[w][i->reg & 7];
	} else if (i->fn == op_test && !mem) {
		i->bfn = w ? test_rr8 : test_rr4;
	} else if (i->fn == op_mov) {
		if (!mem) {
			if (i->opcode & 2)
				x86_swap_reg_rm(i);
			i->bfn = w ? mov_rr8 : mov_rr4;
		} else {
			i->bfn = (i->opcode & 2) ? (w ? mov_load8 : mov_load4) : (w ? mov_store8 : mov_store4);
		}
	} else if (i->fn == op_mov_r_imm) {
		i->rm = i->arg | ((i->rex & 1) << 3);
		i->bfn = w ? mov_ri8 : mov_ri4;
	} else if (i->fn == op_mov_rm_imm && !(i->reg & 7)) {
		if (mem) {
			i->bfn = w ? mov_mi8 : mov_mi4;
		} else {
			i->bfn = w ? mov_ri8 : mov_ri4;
		}
	} else if (i->fn == op_lea && mem) {
		i->bfn = w ? lea8 : lea4;
	} else if (i->fn == op_movsxd && sz == 8) {
		i->bfn = mem ? movsxd_load : movsxd_rr;
	} else if (i->fn == op_movx) {
		static const x86_bfn movx_r[4] = { movzb_r, movzw_r, movsb_r, movsw_r };
		static const x86_bfn movx_m[4] = { movzb_m, movzw_m, movsb_m, movsw_m };

		if (!mem && !(i->arg & 1) && i->rm >= 4 && i->rm < 8 && !i->rex)
			return;		/* AH..BH */
		i->bfn = mem ? movx_m[i->arg & 3] : movx_r[i->arg & 3];
	} else if (i->fn == op_cmovcc) {
		i->bfn = mem ? (w ? cmov_m8 : cmov_m4) : (w ? cmov_r8 : cmov_r4);
	} else if (i->fn == op_imul2 && !mem && sz == 8) {
		i->bfn = imul_rr8;
	} else if (i->fn == op_shift && !mem && i->arg == 2) {
		unsigned op = i->reg & 7, cnt = i->imm & (w ? 63 : 31);

		if ((op == 4 || op == 5 || op == 7) && cnt) {
			i->imm = cnt;
			i->bfn = op == 4 ? (w ? shl_ri8 : shl_ri4) : op == 5 ? (w ? shr_ri8 : shr_ri4) :
				(w ? sar_ri8 : sar_ri4);
		}
	} else if (i->fn == op_grp45 && !mem && (i->reg & 7) <= 1) {
		i->bfn = (i->reg & 7) ? (w ? dec_r8 : dec_r4) : (w ? inc_r8 : inc_r4);
	}
}

/*
 * Generic handlers in a block: RFLAGS, the next RIP (blocks do not keep it
 * per instruction) and the effective address first; a changed next RIP
 * afterwards is a branch.
 */
void x86_fast_generic(struct x86_ctx *c, const struct x86_insn *i)
{
	uint64_t fall = (c->blk->lin + i->ofs + i->len) & (c->cpu->l64 ? ~0ull : 0xffffffffull);

	x86_lf_flush(c);
	c->next_rip = fall;
	if (i->flags & F_MEM)
		x86_calc_ea(c);
	i->fn(c);
	if (c->next_rip != fall)
		c->stop |= X86_STOP_BRANCH;
	NEXT(c, i);
}

void x86_fast_end(struct x86_ctx *c, const struct x86_insn *i)
{
	(void)c;
	(void)i;
}

bool x86_fast_select(struct x86_insn *i, uint64_t next_rip, bool l64)
{
	i->bfn = NULL;
	/*
	 * 32-bit code: register forms only (the handlers' memory path is the
	 * 64-bit private-TLB one; segmented accesses go the generic way), and
	 * branches with 32-bit targets.
	 */
	if (!l64 && ((i->flags & F_MEM) || ((i->fn == op_jcc || i->fn == op_jmp) && i->opsize != 4))) {
		i->bfn = x86_fast_generic;
		return false;
	}
	choose(i, next_rip);
	if (!l64 && (i->bfn == jmp_rel || (i->fn == op_jcc && i->bfn)))
		i->imm2 &= 0xffffffffull;
	if (i->bfn || x86_fast_select_ext(i))
		return true;
	i->bfn = x86_fast_generic;
	return false;
}
