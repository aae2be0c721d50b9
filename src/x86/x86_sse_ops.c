/*
 * SSE/SSE2/MMX arithmetic, integer half, and the dispatch between it and
 * the floating-point half (x86_sse_fp.c).  Element-wise work is done by the
 * host's SSE2 units (the host is x86-64); an MMX form runs the same 128-bit
 * host instruction with its operands in the low 64 bits.
 */
#include "x86_sse.h"

/* dst = op(dst, src) for the packed-integer opcodes; false if @op is not one. */
static bool int_binop(uint8_t op, __m128i a, __m128i b, __m128i *r)
{
	switch (op) {
	case 0x60: *r = _mm_unpacklo_epi8(a, b); break;
	case 0x61: *r = _mm_unpacklo_epi16(a, b); break;
	case 0x62: *r = _mm_unpacklo_epi32(a, b); break;
	case 0x63: *r = _mm_packs_epi16(a, b); break;
	case 0x64: *r = _mm_cmpgt_epi8(a, b); break;
	case 0x65: *r = _mm_cmpgt_epi16(a, b); break;
	case 0x66: *r = _mm_cmpgt_epi32(a, b); break;
	case 0x67: *r = _mm_packus_epi16(a, b); break;
	case 0x68: *r = _mm_unpackhi_epi8(a, b); break;
	case 0x69: *r = _mm_unpackhi_epi16(a, b); break;
	case 0x6a: *r = _mm_unpackhi_epi32(a, b); break;
	case 0x6b: *r = _mm_packs_epi32(a, b); break;
	case 0x6c: *r = _mm_unpacklo_epi64(a, b); break;
	case 0x6d: *r = _mm_unpackhi_epi64(a, b); break;
	case 0x74: *r = _mm_cmpeq_epi8(a, b); break;
	case 0x75: *r = _mm_cmpeq_epi16(a, b); break;
	case 0x76: *r = _mm_cmpeq_epi32(a, b); break;
	case 0xd1: *r = _mm_srl_epi16(a, b); break;
	case 0xd2: *r = _mm_srl_epi32(a, b); break;
	case 0xd3: *r = _mm_srl_epi64(a, b); break;
	case 0xd4: *r = _mm_add_epi64(a, b); break;
	case 0xd5: *r = _mm_mullo_epi16(a, b); break;
	case 0xd8: *r = _mm_subs_epu8(a, b); break;
	case 0xd9: *r = _mm_subs_epu16(a, b); break;
	case 0xda: *r = _mm_min_epu8(a, b); break;
	case 0xdb: *r = _mm_and_si128(a, b); break;
	case 0xdc: *r = _mm_adds_epu8(a, b); break;
	case 0xdd: *r = _mm_adds_epu16(a, b); break;
	case 0xde: *r = _mm_max_epu8(a, b); break;
	case 0xdf: *r = _mm_andnot_si128(a, b); break;
	case 0xe0: *r = _mm_avg_epu8(a, b); break;
	case 0xe1: *r = _mm_sra_epi16(a, b); break;
	case 0xe2: *r = _mm_sra_epi32(a, b); break;
	case 0xe3: *r = _mm_avg_epu16(a, b); break;
	case 0xe4: *r = _mm_mulhi_epu16(a, b); break;
	case 0xe5: *r = _mm_mulhi_epi16(a, b); break;
	case 0xe8: *r = _mm_subs_epi8(a, b); break;
	case 0xe9: *r = _mm_subs_epi16(a, b); break;
	case 0xea: *r = _mm_min_epi16(a, b); break;
	case 0xeb: *r = _mm_or_si128(a, b); break;
	case 0xec: *r = _mm_adds_epi8(a, b); break;
	case 0xed: *r = _mm_adds_epi16(a, b); break;
	case 0xee: *r = _mm_max_epi16(a, b); break;
	case 0xef: *r = _mm_xor_si128(a, b); break;
	case 0xf1: *r = _mm_sll_epi16(a, b); break;
	case 0xf2: *r = _mm_sll_epi32(a, b); break;
	case 0xf3: *r = _mm_sll_epi64(a, b); break;
	case 0xf4: *r = _mm_mul_epu32(a, b); break;
	case 0xf5: *r = _mm_madd_epi16(a, b); break;
	case 0xf6: *r = _mm_sad_epu8(a, b); break;
	case 0xf8: *r = _mm_sub_epi8(a, b); break;
	case 0xf9: *r = _mm_sub_epi16(a, b); break;
	case 0xfa: *r = _mm_sub_epi32(a, b); break;
	case 0xfb: *r = _mm_sub_epi64(a, b); break;
	case 0xfc: *r = _mm_add_epi8(a, b); break;
	case 0xfd: *r = _mm_add_epi16(a, b); break;
	case 0xfe: *r = _mm_add_epi32(a, b); break;
	default: return false;
	}
	return true;
}

/* 0F 71/72/73: shifts by immediate; @grp is ModRM.reg */
static bool shift_imm(uint8_t op, unsigned grp, __m128i a, unsigned n, bool xmm, __m128i *r)
{
	__m128i cnt = _mm_cvtsi32_si128(n);

	switch ((op << 4) | grp) {
	case 0x712: *r = _mm_srl_epi16(a, cnt); break;
	case 0x714: *r = _mm_sra_epi16(a, cnt); break;
	case 0x716: *r = _mm_sll_epi16(a, cnt); break;
	case 0x722: *r = _mm_srl_epi32(a, cnt); break;
	case 0x724: *r = _mm_sra_epi32(a, cnt); break;
	case 0x726: *r = _mm_sll_epi32(a, cnt); break;
	case 0x732: *r = _mm_srl_epi64(a, cnt); break;
	case 0x736: *r = _mm_sll_epi64(a, cnt); break;
	case 0x733:	/* PSRLDQ */
	case 0x737: {	/* PSLLDQ */
		if (!xmm)
			return false;
		union x86_xmm s, d;

		s.vi = a;
		memset(&d, 0, sizeof(d));
		if (n < 16)
			for (unsigned k = 0; k < 16; k++) {
				int from = grp == 3 ? (int)(k + n) : (int)k - (int)n;

				if (from >= 0 && from < 16)
					d.b[k] = s.b[from];
			}
		*r = d.vi;
		break;
	}
	default:
		return false;
	}
	return true;
}

static unsigned pmovmskb(__m128i v)
{
	return (unsigned)_mm_movemask_epi8(v);
}

/* PSHUFD/PSHUFHW/PSHUFLW/PSHUFW */
static __m128i pshuf(unsigned pfx, union x86_xmm s, unsigned imm)
{
	union x86_xmm d = s;

	if (pfx == 0x66) {
		for (unsigned k = 0; k < 4; k++)
			d.d[k] = s.d[(imm >> (2 * k)) & 3];
	} else if (pfx == 0xf3) {
		for (unsigned k = 0; k < 4; k++)
			d.w[4 + k] = s.w[4 + ((imm >> (2 * k)) & 3)];
	} else {	/* F2, and PSHUFW on the low 64 bits */
		for (unsigned k = 0; k < 4; k++)
			d.w[k] = s.w[(imm >> (2 * k)) & 3];
	}
	return d.vi;
}

static void mmx_int(struct x86_ctx *c)
{
	const struct x86_insn *i = c->i;
	struct x86_cpu *cpu = c->cpu;
	uint8_t op = i->opcode;
	union x86_xmm a, b, r;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.q[0] = x86_mmx_get(cpu, i->reg);
	if (op == 0x70) {
		b.q[0] = x86_mmx_src(c);
		r.vi = pshuf(0, b, i->imm);
		x86_mmx_set(cpu, i->reg, r.q[0]);
		return;
	}
	if (op >= 0x71 && op <= 0x73) {
		if (i->mod != 3)
			X86_UD(c);
		a.q[0] = x86_mmx_get(cpu, i->rm);
		if (!shift_imm(op, i->reg & 7, a.vi, i->imm & 0xff, false, &r.vi))
			x86_op_ud(c);
		x86_mmx_set(cpu, i->rm, r.q[0]);
		return;
	}
	if (op == 0xd7) {
		if (i->mod != 3)
			X86_UD(c);
		b.q[0] = x86_mmx_get(cpu, i->rm);
		x86_set_reg(c, i->reg, 4, pmovmskb(b.vi) & 0xff);
		return;
	}
	if (op == 0xf7) {	/* MASKMOVQ */
		if (i->mod != 3)
			X86_UD(c);
		uint64_t m = x86_mmx_get(cpu, i->rm), v = a.q[0];
		unsigned seg = i->seg_ovr != 0xff ? i->seg_ovr : X86_DS;

		for (unsigned k = 0; k < 8; k++)
			if ((m >> (8 * k + 7)) & 1)
				x86_write(c, seg, (cpu->gpr[X86_RDI] + k) & x86_mask(i->addrsize), 1, v >> (8 * k));
		return;
	}
	b.q[0] = x86_mmx_src(c);
	switch (op) {
	case 0x68: case 0x69: case 0x6a:	/* high halves of 64-bit registers */
		a.vi = _mm_srli_si128(a.vi, 4);
		b.vi = _mm_srli_si128(b.vi, 4);
		op -= 8;
		break;
	case 0x63: case 0x67: case 0x6b:	/* packs read both whole registers */
		a.vi = _mm_unpacklo_epi64(a.vi, b.vi);
		b.vi = a.vi;
		break;
	case 0x6c: case 0x6d:
		x86_op_ud(c);
		break;
	default:
		break;
	}
	if (!int_binop(op, a.vi, b.vi, &r.vi))
		x86_op_ud(c);
	x86_mmx_set(cpu, i->reg, r.q[0]);
}

static void xmm_int(struct x86_ctx *c, unsigned pfx)
{
	const struct x86_insn *i = c->i;
	struct x86_cpu *cpu = c->cpu;
	uint8_t op = i->opcode;
	uint8_t *dst = cpu->fpu.xmm[i->reg];
	union x86_xmm a, b, r;

	memcpy(a.b, dst, 16);
	if (op == 0x70) {
		x86_sse_src(c, &b, 16, true);
		r.vi = pshuf(pfx, b, i->imm);
		memcpy(dst, r.b, 16);
		return;
	}
	if (pfx != 0x66)
		x86_op_ud(c);
	if (op >= 0x71 && op <= 0x73) {
		if (i->mod != 3)
			X86_UD(c);
		memcpy(a.b, cpu->fpu.xmm[i->rm], 16);
		if (!shift_imm(op, i->reg & 7, a.vi, i->imm & 0xff, true, &r.vi))
			x86_op_ud(c);
		memcpy(cpu->fpu.xmm[i->rm], r.b, 16);
		return;
	}
	if (op == 0xd7) {
		if (i->mod != 3)
			X86_UD(c);
		memcpy(b.b, cpu->fpu.xmm[i->rm], 16);
		x86_set_reg(c, i->reg, 4, pmovmskb(b.vi));
		return;
	}
	if (op == 0xf7) {	/* MASKMOVDQU */
		if (i->mod != 3)
			X86_UD(c);
		unsigned seg = i->seg_ovr != 0xff ? i->seg_ovr : X86_DS;

		memcpy(b.b, cpu->fpu.xmm[i->rm], 16);
		for (unsigned k = 0; k < 16; k++)
			if (b.b[k] & 0x80)
				x86_write(c, seg, (cpu->gpr[X86_RDI] + k) & x86_mask(i->addrsize), 1, a.b[k]);
		return;
	}
	x86_sse_src(c, &b, 16, true);
	if (!int_binop(op, a.vi, b.vi, &r.vi))
		x86_op_ud(c);
	memcpy(dst, r.b, 16);
}

void x86_sse_arith(struct x86_ctx *c, unsigned pfx, bool mmx)
{
	uint8_t op = c->i->opcode;

	if (mmx) {
		mmx_int(c);
		return;
	}
	if ((op >= 0x60 && op <= 0x76) || (op >= 0xd1 && op != 0xe6))
		xmm_int(c, pfx);
	else
		x86_sse_fp(c, pfx);
}
