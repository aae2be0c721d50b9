/*
 * SSE/SSE2/MMX arithmetic.  Element-wise work is done by the host's SSE2
 * units (the host is x86-64), with the guest MXCSR loaded around floating
 * point so rounding, DAZ/FTZ and NaN results are the hardware's own.  All
 * SIMD exceptions are treated as masked: their flags accumulate in MXCSR
 * but #XM is never raised (documented limitation).
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

/* ---- floating point ---- */

struct csr_guard {
	uint32_t host;
};

/*
 * The compiler does not know that MXCSR steers the arithmetic, so it could
 * move a computation across the LDMXCSR/STMXCSR pair.  Passing the operands
 * through an empty volatile asm right after fp_enter() and the result right
 * before fp_leave() pins the computation between them.
 */
#define PIN_X(v) __asm__ volatile("" : "+x"(v))
#define PIN_R(v) __asm__ volatile("" : "+r"(v))

static void fp_enter(struct x86_cpu *cpu, struct csr_guard *g)
{
	g->host = _mm_getcsr();
	_mm_setcsr((cpu->fpu.mxcsr & ~0x3fu) | 0x1f80);	/* guest modes, all exceptions masked */
}

static void fp_leave(struct x86_cpu *cpu, struct csr_guard *g)
{
	cpu->fpu.mxcsr |= _mm_getcsr() & 0x3f;
	_mm_setcsr(g->host);
}

static __m128 cmp_ps(__m128 a, __m128 b, unsigned p)
{
	switch (p & 7) {
	case 0: return _mm_cmpeq_ps(a, b);
	case 1: return _mm_cmplt_ps(a, b);
	case 2: return _mm_cmple_ps(a, b);
	case 3: return _mm_cmpunord_ps(a, b);
	case 4: return _mm_cmpneq_ps(a, b);
	case 5: return _mm_cmpnlt_ps(a, b);
	case 6: return _mm_cmpnle_ps(a, b);
	default: return _mm_cmpord_ps(a, b);
	}
}

static __m128d cmp_pd(__m128d a, __m128d b, unsigned p)
{
	switch (p & 7) {
	case 0: return _mm_cmpeq_pd(a, b);
	case 1: return _mm_cmplt_pd(a, b);
	case 2: return _mm_cmple_pd(a, b);
	case 3: return _mm_cmpunord_pd(a, b);
	case 4: return _mm_cmpneq_pd(a, b);
	case 5: return _mm_cmpnlt_pd(a, b);
	case 6: return _mm_cmpnle_pd(a, b);
	default: return _mm_cmpord_pd(a, b);
	}
}

/* 0F 51-5F and C2 on packed (none/66) or scalar (F3/F2) operands. */
static bool fp_binop(uint8_t op, unsigned pfx, union x86_xmm *a, const union x86_xmm *b, unsigned imm)
{
	bool dbl = pfx == 0x66 || pfx == 0xf2;
	union x86_xmm r;

	if (!dbl) {
		__m128 x = a->vf, y = b->vf;

		switch (op) {
		case 0x51: r.vf = _mm_sqrt_ps(y); break;
		case 0x58: r.vf = _mm_add_ps(x, y); break;
		case 0x59: r.vf = _mm_mul_ps(x, y); break;
		case 0x5c: r.vf = _mm_sub_ps(x, y); break;
		case 0x5d: r.vf = _mm_min_ps(x, y); break;
		case 0x5e: r.vf = _mm_div_ps(x, y); break;
		case 0x5f: r.vf = _mm_max_ps(x, y); break;
		case 0xc2: r.vf = cmp_ps(x, y, imm); break;
		default: return false;
		}
		if (pfx == 0xf3)
			a->f[0] = r.f[0];
		else
			*a = r;
		return true;
	}
	__m128d x = a->vd, y = b->vd;

	switch (op) {
	case 0x51: r.vd = _mm_sqrt_pd(y); break;
	case 0x58: r.vd = _mm_add_pd(x, y); break;
	case 0x59: r.vd = _mm_mul_pd(x, y); break;
	case 0x5c: r.vd = _mm_sub_pd(x, y); break;
	case 0x5d: r.vd = _mm_min_pd(x, y); break;
	case 0x5e: r.vd = _mm_div_pd(x, y); break;
	case 0x5f: r.vd = _mm_max_pd(x, y); break;
	case 0xc2: r.vd = cmp_pd(x, y, imm); break;
	default: return false;
	}
	if (pfx == 0xf2)
		a->g[0] = r.g[0];
	else
		*a = r;
	return true;
}

/* 0F 2A/2C/2D: conversions between GPR/MMX and scalar FP */
static void fp_enter(struct x86_cpu *cpu, struct csr_guard *g);
static void fp_leave(struct x86_cpu *cpu, struct csr_guard *g);

static void cvt_scalar(struct x86_ctx *c, unsigned pfx, union x86_xmm *a)
{
	const struct x86_insn *i = c->i;
	struct x86_cpu *cpu = c->cpu;
	bool w = i->rex & 8;
	union x86_xmm b;
	struct csr_guard g;

	if (i->opcode == 0x2a) {
		if (pfx == 0xf3 || pfx == 0xf2) {
			int64_t v = w ? (int64_t)x86_get_rm(c, 8) : (int32_t)x86_get_rm(c, 4);

			__m128i x = a->vi;

			fp_enter(cpu, &g);
			PIN_R(v);
			PIN_X(x);
			if (pfx == 0xf3)
				x = _mm_castps_si128(w ? _mm_cvtsi64_ss(_mm_castsi128_ps(x), v)
						       : _mm_cvtsi32_ss(_mm_castsi128_ps(x), (int)v));
			else
				x = _mm_castpd_si128(w ? _mm_cvtsi64_sd(_mm_castsi128_pd(x), v)
						       : _mm_cvtsi32_sd(_mm_castsi128_pd(x), (int)v));
			PIN_X(x);
			fp_leave(cpu, &g);
			a->vi = x;
			return;
		}
		/* CVTPI2PS / CVTPI2PD from mm/m64 */
		uint64_t m = x86_mmx_src(c);
		int32_t lo = (int32_t)m, hi = (int32_t)(m >> 32);

		if (pfx == 0x66) {
			a->g[0] = lo;	/* exact: no rounding, no flags */
			a->g[1] = hi;
		} else {
			__m128i x = _mm_set_epi32(0, 0, hi, lo);

			fp_enter(cpu, &g);
			PIN_X(x);
			x = _mm_castps_si128(_mm_cvtepi32_ps(x));
			PIN_X(x);
			fp_leave(cpu, &g);
			union x86_xmm t;

			t.vi = x;
			a->f[0] = t.f[0];
			a->f[1] = t.f[1];
		}
		return;
	}
	bool trunc = i->opcode == 0x2c;

	if (pfx == 0xf3 || pfx == 0xf2) {
		x86_sse_src(c, &b, pfx == 0xf3 ? 4 : 8, false);
		int64_t v;

		__m128i x = b.vi;

		fp_enter(cpu, &g);
		PIN_X(x);
		if (pfx == 0xf3)
			v = w ? (trunc ? _mm_cvttss_si64(_mm_castsi128_ps(x)) : _mm_cvtss_si64(_mm_castsi128_ps(x)))
			      : (trunc ? _mm_cvttss_si32(_mm_castsi128_ps(x)) : _mm_cvtss_si32(_mm_castsi128_ps(x)));
		else
			v = w ? (trunc ? _mm_cvttsd_si64(_mm_castsi128_pd(x)) : _mm_cvtsd_si64(_mm_castsi128_pd(x)))
			      : (trunc ? _mm_cvttsd_si32(_mm_castsi128_pd(x)) : _mm_cvtsd_si32(_mm_castsi128_pd(x)));
		PIN_R(v);
		fp_leave(cpu, &g);
		x86_set_reg(c, i->reg, w ? 8 : 4, (uint64_t)v);
		return;
	}
	/* CVT(T)PS2PI / CVT(T)PD2PI to mm */
	x86_sse_src(c, &b, pfx == 0x66 ? 16 : 8, pfx == 0x66);
	__m128i x = b.vi;

	fp_enter(cpu, &g);
	PIN_X(x);
	__m128i r = pfx == 0x66 ? (trunc ? _mm_cvttpd_epi32(_mm_castsi128_pd(x)) : _mm_cvtpd_epi32(_mm_castsi128_pd(x)))
				: (trunc ? _mm_cvttps_epi32(_mm_castsi128_ps(x)) : _mm_cvtps_epi32(_mm_castsi128_ps(x)));
	union x86_xmm rr;

	PIN_X(r);
	fp_leave(cpu, &g);
	rr.vi = r;
	x86_mmx_set(cpu, i->reg, rr.q[0]);
}

static void fp_op(struct x86_ctx *c, unsigned pfx)
{
	const struct x86_insn *i = c->i;
	struct x86_cpu *cpu = c->cpu;
	uint8_t op = i->opcode;
	uint8_t *dst = cpu->fpu.xmm[i->reg];
	bool scalar = pfx == 0xf3 || pfx == 0xf2;
	unsigned msize = pfx == 0xf3 ? 4 : pfx == 0xf2 ? 8 : 16;
	union x86_xmm a, b;
	struct csr_guard g;

	memcpy(a.b, dst, 16);
	/* operands first: a fault must not leave the guest MXCSR on the host */
	switch (op) {
	case 0x14: case 0x15: case 0x54: case 0x55: case 0x56: case 0x57: case 0xc6:
	case 0x5b:
		if (scalar && !(op == 0x5b && pfx == 0xf3))
			x86_op_ud(c);
		x86_sse_src(c, &b, 16, true);
		break;
	case 0x2a: case 0x2c: case 0x2d:
		cvt_scalar(c, pfx, &a);
		memcpy(dst, a.b, 16);
		return;
	case 0x2e: case 0x2f:
		if (scalar)
			x86_op_ud(c);
		x86_sse_src(c, &b, pfx ? 8 : 4, false);
		break;
	case 0x50:
		if (scalar || i->mod != 3)
			x86_op_ud(c);
		memcpy(b.b, cpu->fpu.xmm[i->rm], 16);
		break;
	case 0x5a:
		x86_sse_src(c, &b, pfx == 0 ? 8 : msize, pfx == 0x66);
		break;
	case 0xe6:
		if (!pfx)
			x86_op_ud(c);
		x86_sse_src(c, &b, pfx == 0xf3 ? 8 : 16, pfx != 0xf3);
		break;
	default:
		x86_sse_src(c, &b, msize, !scalar);
		break;
	}
	fp_enter(cpu, &g);
	{
		__m128i xa = a.vi, xb = b.vi;

		PIN_X(xa);
		PIN_X(xb);
		a.vi = xa;
		b.vi = xb;
	}
	switch (op) {
	case 0x14: case 0x15: case 0x54: case 0x55: case 0x56: case 0x57: case 0xc6:
		if (op == 0x14)
			a.vi = pfx ? _mm_unpacklo_epi64(a.vi, b.vi) : _mm_unpacklo_epi32(a.vi, b.vi);
		else if (op == 0x15)
			a.vi = pfx ? _mm_unpackhi_epi64(a.vi, b.vi) : _mm_unpackhi_epi32(a.vi, b.vi);
		else if (op == 0x54)
			a.vi = _mm_and_si128(a.vi, b.vi);
		else if (op == 0x55)
			a.vi = _mm_andnot_si128(a.vi, b.vi);
		else if (op == 0x56)
			a.vi = _mm_or_si128(a.vi, b.vi);
		else if (op == 0x57)
			a.vi = _mm_xor_si128(a.vi, b.vi);
		else if (pfx) {	/* SHUFPD */
			union x86_xmm r;

			r.q[0] = a.q[i->imm & 1];
			r.q[1] = b.q[(i->imm >> 1) & 1];
			a = r;
		} else {	/* SHUFPS */
			union x86_xmm r;

			r.d[0] = a.d[i->imm & 3];
			r.d[1] = a.d[(i->imm >> 2) & 3];
			r.d[2] = b.d[(i->imm >> 4) & 3];
			r.d[3] = b.d[(i->imm >> 6) & 3];
			a = r;
		}
		break;
	case 0x2e: case 0x2f: {	/* (U)COMISS/SD */
		uint64_t fl;
		bool un, lt, eq;

		if (pfx) {
			un = _mm_movemask_pd(_mm_cmpunord_sd(a.vd, b.vd)) & 1;
			lt = _mm_movemask_pd(_mm_cmplt_sd(a.vd, b.vd)) & 1;
			eq = _mm_movemask_pd(_mm_cmpeq_sd(a.vd, b.vd)) & 1;
		} else {
			un = _mm_movemask_ps(_mm_cmpunord_ss(a.vf, b.vf)) & 1;
			lt = _mm_movemask_ps(_mm_cmplt_ss(a.vf, b.vf)) & 1;
			eq = _mm_movemask_ps(_mm_cmpeq_ss(a.vf, b.vf)) & 1;
		}
		PIN_R(un);
		PIN_R(lt);
		PIN_R(eq);
		if (un)
			fl = X86_FL_ZF | X86_FL_PF | X86_FL_CF;
		else
			fl = (lt ? X86_FL_CF : 0) | (eq ? X86_FL_ZF : 0);
		x86_set_arith(cpu, fl);
		fp_leave(cpu, &g);
		return;
	}
	case 0x50: {	/* MOVMSKPS/PD */
		fp_leave(cpu, &g);
		x86_set_reg(c, i->reg, 4, pfx ? _mm_movemask_pd(b.vd) : _mm_movemask_ps(b.vf));
		return;
	}
	case 0x5a:	/* CVTPS2PD, CVTPD2PS, CVTSS2SD, CVTSD2SS */
		if (pfx == 0)
			a.vd = _mm_cvtps_pd(b.vf);
		else if (pfx == 0x66)
			a.vf = _mm_cvtpd_ps(b.vd);
		else if (pfx == 0xf3)
			a.vd = _mm_cvtss_sd(a.vd, b.vf);
		else
			a.vf = _mm_cvtsd_ss(a.vf, b.vd);
		break;
	case 0x5b:	/* CVTDQ2PS, CVTPS2DQ (66), CVTTPS2DQ (F3) */
		a.vi = pfx == 0x66 ? _mm_cvtps_epi32(b.vf) : pfx == 0xf3 ? _mm_cvttps_epi32(b.vf) : a.vi;
		if (!pfx)
			a.vf = _mm_cvtepi32_ps(b.vi);
		break;
	case 0xe6:	/* CVTTPD2DQ (66), CVTDQ2PD (F3), CVTPD2DQ (F2) */
		a.vi = pfx == 0x66 ? _mm_cvttpd_epi32(b.vd) : pfx == 0xf2 ? _mm_cvtpd_epi32(b.vd) : a.vi;
		if (pfx == 0xf3)
			a.vd = _mm_cvtepi32_pd(b.vi);
		break;
	default:
		if (!fp_binop(op, pfx, &a, &b, i->imm))
			goto ud;
		break;
	}
	{
		__m128i xa = a.vi;

		PIN_X(xa);
		a.vi = xa;
	}
	fp_leave(cpu, &g);
	memcpy(dst, a.b, 16);
	return;
ud:
	fp_leave(cpu, &g);
	x86_op_ud(c);
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
		fp_op(c, pfx);
}
