/*
 * A small x87 subset: the register stack, loads and stores of every memory
 * format, constants, FXCH/FCHS/FABS/FFREE, and the basic arithmetic.  The
 * host is x86-64, so `long double` is the same 80-bit format and the host FPU
 * does the arithmetic (in its default precision and rounding; the guest's
 * FCW only steers FIST rounding).  Exceptions are treated as masked.
 *
 * Linux needs FILD after FNCLEX/EMMS (the AMD FXSAVE-leak workaround in
 * restore_fpregs_from_fpstate); glibc uses x87 for long double.
 */
#include "x86_internal.h"

/* Host x87 helpers: no libm (the build does not link it). */
static long double round_mode(long double v, unsigned rc)
{
	uint16_t old, cw;

	__asm__ volatile("fnstcw %0" : "=m"(old));
	cw = (old & ~0xc00) | ((rc & 3) << 10);
	__asm__ volatile("fldcw %1\n\tfrndint\n\tfldcw %2" : "+t"(v) : "m"(cw), "m"(old));
	return v;
}

static long double fsqrt(long double v)
{
	__asm__("fsqrt" : "+t"(v));
	return v;
}

static unsigned top(const struct x86_fpu *f)
{
	return (f->fsw >> 11) & 7;
}

static void set_top(struct x86_fpu *f, unsigned t)
{
	f->fsw = (f->fsw & ~0x3800) | ((t & 7) << 11);
}

static long double st_get(const struct x86_fpu *f, unsigned i)
{
	long double v = 0;

	memcpy(&v, f->st[(top(f) + i) & 7], 10);
	return v;
}

static void st_set(struct x86_fpu *f, unsigned i, long double v)
{
	unsigned p = (top(f) + i) & 7;

	memset(f->st[p], 0, 16);
	memcpy(f->st[p], &v, 10);
	f->ftw |= 1u << p;
}

static void push(struct x86_fpu *f, long double v)
{
	set_top(f, top(f) - 1);
	st_set(f, 0, v);
}

static void pop(struct x86_fpu *f)
{
	f->ftw &= ~(1u << top(f));
	set_top(f, top(f) + 1);
}

static int64_t to_int(const struct x86_fpu *f, long double v, unsigned bits)
{
	long double r = round_mode(v, (f->fcw >> 10) & 3);
	long double lim = (long double)(1ull << (bits - 1));

	if (__builtin_isnan(r) || r >= lim || r < -lim)
		return (int64_t)(~0ull << (bits - 1));	/* integer indefinite */
	return (int64_t)r;
}

static long double load_mem(struct x86_ctx *c, unsigned kind)
{
	const struct x86_insn *i = c->i;

	switch (kind) {
	case 0: { uint32_t v = x86_read(c, i->seg, c->ea, 4); float f; memcpy(&f, &v, 4); return f; }
	case 1: { uint64_t v = x86_read(c, i->seg, c->ea, 8); double d; memcpy(&d, &v, 8); return d; }
	case 2: { long double v = 0; x86_read_buf(c, i->seg, c->ea, &v, 10); return v; }
	case 3: return (int16_t)x86_read(c, i->seg, c->ea, 2);
	case 4: return (int32_t)x86_read(c, i->seg, c->ea, 4);
	default: return (int64_t)x86_read(c, i->seg, c->ea, 8);
	}
}

static void store_mem(struct x86_ctx *c, unsigned kind, long double v)
{
	const struct x86_insn *i = c->i;
	struct x86_fpu *f = &c->cpu->fpu;

	switch (kind) {
	case 0: { float s = (float)v; uint32_t w; memcpy(&w, &s, 4); x86_write(c, i->seg, c->ea, 4, w); break; }
	case 1: { double d = (double)v; uint64_t w; memcpy(&w, &d, 8); x86_write(c, i->seg, c->ea, 8, w); break; }
	case 2: x86_write_buf(c, i->seg, c->ea, &v, 10); break;
	case 3: x86_write(c, i->seg, c->ea, 2, to_int(f, v, 16)); break;
	case 4: x86_write(c, i->seg, c->ea, 4, to_int(f, v, 32)); break;
	default: x86_write(c, i->seg, c->ea, 8, to_int(f, v, 64)); break;
	}
}

/* FADD FMUL FCOM FCOMP FSUB FSUBR FDIV FDIVR: reg-field order */
static long double arith(unsigned op, long double a, long double b)
{
	switch (op) {
	case 0: return a + b;
	case 1: return a * b;
	case 4: return a - b;
	case 5: return b - a;
	case 6: return a / b;
	default: return b / a;
	}
}

static void compare(struct x86_fpu *f, long double a, long double b)
{
	unsigned cc;

	if (__builtin_isunordered(a, b))
		cc = 0x4500;	/* C3 C2 C0 */
	else if (a < b)
		cc = 0x0100;
	else if (a == b)
		cc = 0x4000;
	else
		cc = 0;
	f->fsw = (f->fsw & ~0x4700) | cc;
}

static void fcomi(struct x86_ctx *c, long double a, long double b)
{
	uint64_t fl;

	if (__builtin_isunordered(a, b))
		fl = X86_FL_ZF | X86_FL_PF | X86_FL_CF;
	else
		fl = (a < b ? X86_FL_CF : 0) | (a == b ? X86_FL_ZF : 0);
	x86_set_arith(c->cpu, fl);
}

/* Returns false when the instruction is not in the subset. */
bool x86_x87_exec(struct x86_ctx *c)
{
	const struct x86_insn *i = c->i;
	struct x86_fpu *f = &c->cpu->fpu;
	unsigned op = i->opcode, r = i->reg & 7, sti = i->modrm & 7;

	if (i->mod != 3) {
		static const int8_t load_kind[8][8] = {
			/* D8 */ { -1 }, /* D9 */ { 0 }, /* DA */ { -1 }, /* DB */ { 4, -1, -1, -1, -1, 2 },
			/* DC */ { -1 }, /* DD */ { 1 }, /* DE */ { -1 }, /* DF */ { 3, -1, -1, -1, -1, 5 },
		};
		unsigned row = op - 0xd8;

		if (op == 0xd8 || op == 0xdc || op == 0xda || op == 0xde) {
			/* arithmetic with m32fp/m64fp/m32int/m16int */
			long double m = load_mem(c, op == 0xd8 ? 0 : op == 0xdc ? 1 : op == 0xda ? 4 : 3);

			if (r == 2 || r == 3) {
				compare(f, st_get(f, 0), m);
				if (r == 3)
					pop(f);
			} else {
				st_set(f, 0, arith(r, st_get(f, 0), m));
			}
			return true;
		}
		if (r == 0 && load_kind[row][0] >= 0) {
			push(f, load_mem(c, load_kind[row][0]));
			return true;
		}
		if (r == 5 && (op == 0xdb || op == 0xdf)) {
			push(f, load_mem(c, load_kind[row][5]));
			return true;
		}
		/* stores: D9 /2 /3 m32, DD /2 /3 m64, DB /7 m80, DB /2 /3 m32int, DF /2 /3 m16int, DF /7 m64int */
		int kind = -1;
		bool popit = false;

		if (op == 0xd9 && (r == 2 || r == 3)) { kind = 0; popit = r == 3; }
		else if (op == 0xdd && (r == 2 || r == 3)) { kind = 1; popit = r == 3; }
		else if (op == 0xdb && r == 7) { kind = 2; popit = true; }
		else if (op == 0xdb && (r == 2 || r == 3)) { kind = 4; popit = r == 3; }
		else if (op == 0xdf && (r == 2 || r == 3)) { kind = 3; popit = r == 3; }
		else if (op == 0xdf && r == 7) { kind = 5; popit = true; }
		if (kind < 0)
			return false;
		store_mem(c, kind, st_get(f, 0));
		if (popit)
			pop(f);
		return true;
	}
	switch (op) {
	case 0xd8:		/* FOP ST(0), ST(i) */
		if (r == 2 || r == 3) {
			compare(f, st_get(f, 0), st_get(f, sti));
			if (r == 3)
				pop(f);
		} else {
			st_set(f, 0, arith(r, st_get(f, 0), st_get(f, sti)));
		}
		return true;
	case 0xdc:		/* FOP ST(i), ST(0): SUB/SUBR and DIV/DIVR swap roles */
	case 0xde:		/* ... and pop */
		if (r == 2 || r == 3)
			return false;
		st_set(f, sti, arith(r ^ ((r >= 4) ? 1 : 0), st_get(f, sti), st_get(f, 0)));
		if (op == 0xde)
			pop(f);
		return true;
	case 0xd9:
		if (r == 0) {		/* FLD ST(i) */
			push(f, st_get(f, sti));
			return true;
		}
		if (r == 1) {		/* FXCH */
			long double a = st_get(f, 0), b = st_get(f, sti);

			st_set(f, 0, b);
			st_set(f, sti, a);
			return true;
		}
		switch (i->modrm) {
		case 0xe0: st_set(f, 0, -st_get(f, 0)); return true;		/* FCHS */
		case 0xe1: st_set(f, 0, __builtin_fabsl(st_get(f, 0))); return true;	/* FABS */
		case 0xe8: push(f, 1.0L); return true;				/* FLD1 */
		case 0xee: push(f, 0.0L); return true;				/* FLDZ */
		case 0xf6: set_top(f, top(f) - 1); return true;			/* FDECSTP */
		case 0xf7: set_top(f, top(f) + 1); return true;			/* FINCSTP */
		case 0xfa: st_set(f, 0, fsqrt(st_get(f, 0))); return true;	/* FSQRT */
		case 0xfc: st_set(f, 0, round_mode(st_get(f, 0), (f->fcw >> 10) & 3)); return true;	/* FRNDINT */
		default: return false;
		}
	case 0xdd:
		if (r == 0) {		/* FFREE */
			f->ftw &= ~(1u << ((top(f) + sti) & 7));
			return true;
		}
		if (r == 2 || r == 3) {	/* FST/FSTP ST(i) */
			st_set(f, sti, st_get(f, 0));
			if (r == 3)
				pop(f);
			return true;
		}
		if (r == 4 || r == 5) {	/* FUCOM/FUCOMP */
			compare(f, st_get(f, 0), st_get(f, sti));
			if (r == 5)
				pop(f);
			return true;
		}
		return false;
	case 0xdb:
	case 0xdf:
		if (r == 5 || r == 6) {	/* FUCOMI / FCOMI (+P in DF) */
			fcomi(c, st_get(f, 0), st_get(f, sti));
			if (op == 0xdf)
				pop(f);
			return true;
		}
		return false;
	default:
		return false;
	}
}
