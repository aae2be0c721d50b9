/*
 * Specialised handlers for the commonest 64-bit instruction forms.
 *
 * The generic handlers re-discover at every execution what the decoder
 * already knew: operand size, register or memory, which operand is the
 * destination, which ALU operation.  When a block is built, x86_fast_select()
 * replaces the handler of a simple instruction in 64-bit code with one that
 * has those fixed at compile time (32- and 64-bit operands, registers and
 * plain loads/stores).  Their results are the generic handlers' bit for bit
 * (flags included); any other form keeps its generic handler.
 *
 * Register-register forms read their destination from i->rm and their source
 * from i->reg: the selector swaps the two for the "Gv, Ev" encodings.  These
 * handlers run only inside blocks, after x86_calc_ea() for memory forms.
 */
#include "x86_internal.h"

static inline uint64_t opsz_trunc(uint64_t v, unsigned size)
{
	return size == 8 ? v : (uint32_t)v;
}

/* ---- ALU ---- */

#define ALU_FORMS(OP, op, SZ) \
static void alu_rr_##op##SZ(struct x86_ctx *c) \
{ \
	const struct x86_insn *i = c->i; \
	uint64_t *g = c->cpu->gpr, fl; \
	uint64_t r = x86_alu(c, X86_ALU_##OP, g[i->rm], g[i->reg], SZ, &fl); \
	if (X86_ALU_##OP != X86_ALU_CMP) \
		g[i->rm] = opsz_trunc(r, SZ); \
	x86_set_arith(c->cpu, fl); \
} \
static void alu_ri_##op##SZ(struct x86_ctx *c) \
{ \
	const struct x86_insn *i = c->i; \
	uint64_t *g = c->cpu->gpr, fl; \
	uint64_t r = x86_alu(c, X86_ALU_##OP, g[i->rm], i->imm, SZ, &fl); \
	if (X86_ALU_##OP != X86_ALU_CMP) \
		g[i->rm] = opsz_trunc(r, SZ); \
	x86_set_arith(c->cpu, fl); \
} \
static void alu_rm_##op##SZ(struct x86_ctx *c) \
{ \
	const struct x86_insn *i = c->i; \
	uint64_t *g = c->cpu->gpr, fl; \
	uint64_t v = x86_read(c, i->seg, c->ea, SZ); \
	uint64_t r = x86_alu(c, X86_ALU_##OP, g[i->reg], v, SZ, &fl); \
	if (X86_ALU_##OP != X86_ALU_CMP) \
		g[i->reg] = opsz_trunc(r, SZ); \
	x86_set_arith(c->cpu, fl); \
}

#define ALU_ALL(SZ) \
	ALU_FORMS(ADD, add, SZ) ALU_FORMS(OR, or, SZ) ALU_FORMS(ADC, adc, SZ) ALU_FORMS(SBB, sbb, SZ) \
	ALU_FORMS(AND, and, SZ) ALU_FORMS(SUB, sub, SZ) ALU_FORMS(XOR, xor, SZ) ALU_FORMS(CMP, cmp, SZ)
ALU_ALL(4)
ALU_ALL(8)

#define ALU_TABLE(form, SZ) { \
	alu_##form##_add##SZ, alu_##form##_or##SZ, alu_##form##_adc##SZ, alu_##form##_sbb##SZ, \
	alu_##form##_and##SZ, alu_##form##_sub##SZ, alu_##form##_xor##SZ, alu_##form##_cmp##SZ }
static const x86_fn alu_rr[2][8] = { ALU_TABLE(rr, 4), ALU_TABLE(rr, 8) };
static const x86_fn alu_ri[2][8] = { ALU_TABLE(ri, 4), ALU_TABLE(ri, 8) };
static const x86_fn alu_rm[2][8] = { ALU_TABLE(rm, 4), ALU_TABLE(rm, 8) };

/* TEST r, r */
#define TEST_RR(SZ) \
static void test_rr##SZ(struct x86_ctx *c) \
{ \
	const uint64_t *g = c->cpu->gpr; \
	x86_set_arith(c->cpu, x86_flags_logic(opsz_trunc(g[c->i->rm] & g[c->i->reg], SZ), SZ)); \
}
TEST_RR(4)
TEST_RR(8)

/* ---- moves ---- */

#define MOVES(SZ) \
static void mov_rr##SZ(struct x86_ctx *c) \
{ \
	uint64_t *g = c->cpu->gpr; \
	g[c->i->rm] = opsz_trunc(g[c->i->reg], SZ); \
} \
static void mov_load##SZ(struct x86_ctx *c) \
{ \
	const struct x86_insn *i = c->i; \
	c->cpu->gpr[i->reg] = x86_read(c, i->seg, c->ea, SZ); \
} \
static void mov_store##SZ(struct x86_ctx *c) \
{ \
	const struct x86_insn *i = c->i; \
	x86_write(c, i->seg, c->ea, SZ, c->cpu->gpr[i->reg]); \
} \
static void mov_ri##SZ(struct x86_ctx *c) \
{ \
	c->cpu->gpr[c->i->rm] = opsz_trunc(c->i->imm, SZ); \
} \
static void mov_mi##SZ(struct x86_ctx *c) \
{ \
	const struct x86_insn *i = c->i; \
	x86_write(c, i->seg, c->ea, SZ, i->imm); \
} \
static void lea##SZ(struct x86_ctx *c) \
{ \
	c->cpu->gpr[c->i->reg] = opsz_trunc(c->ea, SZ); \
}
MOVES(4)
MOVES(8)

static void movsxd_rr(struct x86_ctx *c)
{
	uint64_t *g = c->cpu->gpr;

	g[c->i->reg] = (uint64_t)(int64_t)(int32_t)g[c->i->rm];
}

static void movsxd_load(struct x86_ctx *c)
{
	const struct x86_insn *i = c->i;

	c->cpu->gpr[i->reg] = (uint64_t)(int64_t)(int32_t)x86_read(c, i->seg, c->ea, 4);
}

/* MOVZX/MOVSX from a word or from a low byte register (no AH..BH: REX forms only) */
#define MOVX(name, expr_r, expr_m, srcsz) \
static void name##_r(struct x86_ctx *c) \
{ \
	uint64_t *g = c->cpu->gpr; \
	uint64_t v = g[c->i->rm]; \
	g[c->i->reg] = opsz_trunc((expr_r), c->i->opsize); \
} \
static void name##_m(struct x86_ctx *c) \
{ \
	const struct x86_insn *i = c->i; \
	uint64_t v = x86_read(c, i->seg, c->ea, srcsz); \
	c->cpu->gpr[i->reg] = opsz_trunc((expr_m), i->opsize); \
}
MOVX(movzb, (uint8_t)v, v, 1)
MOVX(movzw, (uint16_t)v, v, 2)
MOVX(movsb, (uint64_t)(int64_t)(int8_t)v, (uint64_t)(int64_t)(int8_t)v, 1)
MOVX(movsw, (uint64_t)(int64_t)(int16_t)v, (uint64_t)(int64_t)(int16_t)v, 2)

/* ---- multiply, shifts, inc/dec ---- */

static void imul_rr8(struct x86_ctx *c)
{
	const struct x86_insn *i = c->i;
	uint64_t *g = c->cpu->gpr;
	__int128 p = (__int128)(int64_t)g[i->rm] * (int64_t)g[i->reg];
	uint64_t lo = (uint64_t)p;
	uint64_t fl = x86_flags_szp(lo, 8) & ~(uint64_t)X86_FL_ZF;

	if (p != (__int128)(int64_t)lo)
		fl |= X86_FL_CF | X86_FL_OF;
	g[i->reg] = lo;
	x86_set_arith(c->cpu, fl);
}

/* SHL/SHR/SAR r, imm8 (count already masked, non-zero: the selector checks) */
#define SHIFT_RI(SZ) \
static void shift_ri##SZ(struct x86_ctx *c) \
{ \
	const struct x86_insn *i = c->i; \
	uint64_t *g = c->cpu->gpr, fl; \
	uint64_t r = x86_shift(c, i->reg & 7, g[i->rm], i->imm, SZ, &fl); \
	g[i->rm] = r; \
	x86_set_arith(c->cpu, fl); \
}
SHIFT_RI(4)
SHIFT_RI(8)

#define INCDEC(SZ) \
static void inc_r##SZ(struct x86_ctx *c) \
{ \
	uint64_t *g = c->cpu->gpr, fl, cf = c->cpu->rflags & X86_FL_CF; \
	uint64_t r = x86_alu(c, X86_ALU_ADD, g[c->i->rm], 1, SZ, &fl); \
	g[c->i->rm] = opsz_trunc(r, SZ); \
	x86_set_arith(c->cpu, (fl & ~(uint64_t)X86_FL_CF) | cf); \
} \
static void dec_r##SZ(struct x86_ctx *c) \
{ \
	uint64_t *g = c->cpu->gpr, fl, cf = c->cpu->rflags & X86_FL_CF; \
	uint64_t r = x86_alu(c, X86_ALU_SUB, g[c->i->rm], 1, SZ, &fl); \
	g[c->i->rm] = opsz_trunc(r, SZ); \
	x86_set_arith(c->cpu, (fl & ~(uint64_t)X86_FL_CF) | cf); \
}
INCDEC(4)
INCDEC(8)

/* ---- stack and branches (64-bit stack: SS base 0, no limit) ---- */

static void push_r(struct x86_ctx *c)
{
	uint64_t *g = c->cpu->gpr, sp = g[X86_RSP] - 8;

	x86_write(c, X86_SS, sp, 8, g[c->i->rm]);
	g[X86_RSP] = sp;
}

static void pop_r(struct x86_ctx *c)
{
	uint64_t *g = c->cpu->gpr, v = x86_read(c, X86_SS, g[X86_RSP], 8);

	g[X86_RSP] += 8;
	g[c->i->rm] = v;	/* after the increment: POP RSP loads the popped value */
}

static void call_rel(struct x86_ctx *c)
{
	uint64_t *g = c->cpu->gpr, sp = g[X86_RSP] - 8;

	x86_write(c, X86_SS, sp, 8, c->next_rip);
	g[X86_RSP] = sp;
	c->next_rip += c->i->imm;
}

static void ret_near(struct x86_ctx *c)
{
	uint64_t *g = c->cpu->gpr, t = x86_read(c, X86_SS, g[X86_RSP], 8);

	g[X86_RSP] += 8;
	c->next_rip = t;
}

static void jmp_rel(struct x86_ctx *c)
{
	c->next_rip += c->i->imm;
}

#define JCC(cc) \
static void jcc_##cc(struct x86_ctx *c) \
{ \
	if (x86_cond(c->cpu->rflags, cc)) { \
		c->next_rip += c->i->imm; \
		c->stop |= X86_STOP_BRANCH; \
	} \
}
JCC(0) JCC(1) JCC(2) JCC(3) JCC(4) JCC(5) JCC(6) JCC(7)
JCC(8) JCC(9) JCC(10) JCC(11) JCC(12) JCC(13) JCC(14) JCC(15)
static const x86_fn jcc[16] = {
	jcc_0, jcc_1, jcc_2, jcc_3, jcc_4, jcc_5, jcc_6, jcc_7,
	jcc_8, jcc_9, jcc_10, jcc_11, jcc_12, jcc_13, jcc_14, jcc_15,
};

/* ---- selection ---- */

static void swap_reg_rm(struct x86_insn *i)
{
	uint8_t t = i->reg;

	i->reg = i->rm;
	i->rm = t;
}

void x86_fast_select(struct x86_insn *i)
{
	bool mem = i->flags & F_MEM;
	unsigned sz = i->opsize, w = sz == 8;

	if (i->lock || i->map > 1)
		return;
	if (i->fn == op_jcc) {
		i->imm = i->map == 0 ? (uint64_t)(int64_t)(int8_t)i->imm : i->imm;
		i->fn = jcc[i->opcode & 15];
		return;
	}
	if (i->fn == op_jmp) {
		i->imm = i->opcode == 0xeb ? (uint64_t)(int64_t)(int8_t)i->imm : i->imm;
		i->fn = jmp_rel;
		return;
	}
	if (sz != 4 && sz != 8)
		return;
	if (i->fn == op_push_r && sz == 8) {
		i->rm = i->arg | ((i->rex & 1) << 3);
		i->fn = push_r;
	} else if (i->fn == op_pop_r && sz == 8) {
		i->rm = i->arg | ((i->rex & 1) << 3);
		i->fn = pop_r;
	} else if (i->fn == op_call && sz == 8) {
		i->fn = call_rel;
	} else if (i->fn == op_ret && !i->arg && sz == 8) {
		i->fn = ret_near;
	} else if (i->fn == op_alu) {
		if (!mem && (i->opcode & 2))
			swap_reg_rm(i);
		if (!mem)
			i->fn = alu_rr[w][i->arg];
		else if (i->opcode & 2)
			i->fn = alu_rm[w][i->arg];
	} else if (i->fn == op_grp1 && !mem) {
		if (i->flags & F_IMM8)
			i->imm = (uint64_t)(int64_t)(int8_t)i->imm;
		i->fn = alu_ri[w][i->reg & 7];
	} else if (i->fn == op_test && !mem) {
		i->fn = w ? test_rr8 : test_rr4;
	} else if (i->fn == op_mov) {
		if (!mem) {
			if (i->opcode & 2)
				swap_reg_rm(i);
			i->fn = w ? mov_rr8 : mov_rr4;
		} else {
			i->fn = (i->opcode & 2) ? (w ? mov_load8 : mov_load4) : (w ? mov_store8 : mov_store4);
		}
	} else if (i->fn == op_mov_r_imm) {
		i->rm = i->arg | ((i->rex & 1) << 3);
		i->fn = w ? mov_ri8 : mov_ri4;
	} else if (i->fn == op_mov_rm_imm && !(i->reg & 7)) {
		if (mem) {
			i->fn = w ? mov_mi8 : mov_mi4;
		} else {
			i->fn = w ? mov_ri8 : mov_ri4;
		}
	} else if (i->fn == op_lea && mem) {
		i->fn = w ? lea8 : lea4;
	} else if (i->fn == op_movsxd && sz == 8) {
		i->fn = mem ? movsxd_load : movsxd_rr;
	} else if (i->fn == op_movx) {
		static const x86_fn movx_r[4] = { movzb_r, movzw_r, movsb_r, movsw_r };
		static const x86_fn movx_m[4] = { movzb_m, movzw_m, movsb_m, movsw_m };

		if (!mem && !(i->arg & 1) && i->rm >= 4 && i->rm < 8 && !i->rex)
			return;		/* AH..BH */
		i->fn = mem ? movx_m[i->arg & 3] : movx_r[i->arg & 3];
	} else if (i->fn == op_imul2 && !mem && sz == 8) {
		i->fn = imul_rr8;
	} else if (i->fn == op_shift && !mem && i->arg == 2) {
		unsigned op = i->reg & 7, cnt = i->imm & (w ? 63 : 31);

		if ((op == 4 || op == 5 || op == 7) && cnt) {
			i->imm = cnt;
			i->fn = w ? shift_ri8 : shift_ri4;
		}
	} else if (i->fn == op_grp45 && !mem && (i->reg & 7) <= 1) {
		i->fn = (i->reg & 7) ? (w ? dec_r8 : dec_r4) : (w ? inc_r8 : inc_r4);
	}
}
