/*
 * SSE/SSE2 floating point: packed and scalar arithmetic, compares,
 * conversions, logic and shuffles (0F 14/15, 2A-2F, 50-5F, C2, C6, E6).  The
 * host's SSE2 units do the work with the guest MXCSR loaded around it, so
 * rounding, DAZ/FTZ and NaN results are the hardware's own.  All SIMD
 * exceptions are treated as masked: their flags accumulate in MXCSR but #XM
 * is never raised (documented limitation).
 */
#include "x86_sse.h"

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

/*
 * The single- and double-precision forms differ only in the intrinsics'
 * _ps/_pd suffix, so one body serves both.  0F 51-5F and C2: *r = op(x, y),
 * false if @op is not one of them; C2's predicate is imm & 7.
 */
#define FP_ARITH(S, T)								\
static T cmp_##S(T a, T b, unsigned p)						\
{										\
	switch (p & 7) {							\
	case 0: return _mm_cmpeq_##S(a, b);					\
	case 1: return _mm_cmplt_##S(a, b);					\
	case 2: return _mm_cmple_##S(a, b);					\
	case 3: return _mm_cmpunord_##S(a, b);					\
	case 4: return _mm_cmpneq_##S(a, b);					\
	case 5: return _mm_cmpnlt_##S(a, b);					\
	case 6: return _mm_cmpnle_##S(a, b);					\
	default: return _mm_cmpord_##S(a, b);					\
	}									\
}										\
										\
static bool arith_##S(uint8_t op, T x, T y, unsigned imm, T *r)		\
{										\
	switch (op) {								\
	case 0x51: *r = _mm_sqrt_##S(y); return true;				\
	case 0x58: *r = _mm_add_##S(x, y); return true;				\
	case 0x59: *r = _mm_mul_##S(x, y); return true;				\
	case 0x5c: *r = _mm_sub_##S(x, y); return true;				\
	case 0x5d: *r = _mm_min_##S(x, y); return true;				\
	case 0x5e: *r = _mm_div_##S(x, y); return true;				\
	case 0x5f: *r = _mm_max_##S(x, y); return true;				\
	case 0xc2: *r = cmp_##S(x, y, imm); return true;			\
	default: return false;							\
	}									\
}

FP_ARITH(ps, __m128)
FP_ARITH(pd, __m128d)
#undef FP_ARITH

/* 0F 51-5F and C2 on packed (none/66) or scalar (F3/F2) operands. */
static bool fp_binop(uint8_t op, unsigned pfx, union x86_xmm *a, const union x86_xmm *b, unsigned imm)
{
	bool dbl = pfx == 0x66 || pfx == 0xf2;
	union x86_xmm r;

	if (dbl ? !arith_pd(op, a->vd, b->vd, imm, &r.vd) : !arith_ps(op, a->vf, b->vf, imm, &r.vf))
		return false;
	if (pfx == 0xf3)
		a->f[0] = r.f[0];
	else if (pfx == 0xf2)
		a->g[0] = r.g[0];
	else
		*a = r;
	return true;
}

/* 0F 2A/2C/2D: conversions between GPR/MMX and scalar FP */
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

void x86_sse_fp(struct x86_ctx *c, unsigned pfx)
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
