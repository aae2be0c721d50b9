/*
 * x86 arithmetic flags: eager and exact.  Undefined flags follow what current
 * Intel parts (and QEMU) produce where the tests compare them; elsewhere the
 * differential test masks them.
 */
#include "x86_internal.h"

const uint8_t x86_pf_table[256] = {
#define P2(n) n, n ^ 4, n ^ 4, n
#define P4(n) P2(n), P2(n ^ 4), P2(n ^ 4), P2(n)
#define P6(n) P4(n), P4(n ^ 4), P4(n ^ 4), P4(n)
	P6(4), P6(0), P6(0), P6(4)
#undef P2
#undef P4
#undef P6
};

/*
 * Shifts and rotates.  @op is the ModRM.reg group-2 index: ROL ROR RCL RCR
 * SHL SHR SAL SAR.  @cnt is already masked (5 or 6 bits).  Count 0 leaves
 * the flags alone (caller keeps *flp = current arith flags).
 */
uint64_t x86_shift(struct x86_ctx *c, unsigned op, uint64_t a, unsigned cnt, unsigned size, uint64_t *flp)
{
	unsigned bits = size * 8;
	uint64_t m = x86_mask(size);
	uint64_t fl = c->cpu->rflags & X86_FL_ARITH;
	uint64_t res, cf;

	a &= m;
	if (cnt == 0) {
		*flp = fl;
		return a;
	}
	switch (op) {
	case 0: {	/* ROL */
		unsigned r = cnt & (bits - 1);

		res = r ? ((a << r) | (a >> (bits - r))) & m : a;
		cf = res & 1;
		fl &= ~(uint64_t)(X86_FL_CF | X86_FL_OF);
		fl |= cf ? X86_FL_CF : 0;
		fl |= (((res >> (bits - 1)) ^ cf) & 1) ? X86_FL_OF : 0;
		break;
	}
	case 1: {	/* ROR */
		unsigned r = cnt & (bits - 1);

		res = r ? ((a >> r) | (a << (bits - r))) & m : a;
		cf = (res >> (bits - 1)) & 1;
		fl &= ~(uint64_t)(X86_FL_CF | X86_FL_OF);
		fl |= cf ? X86_FL_CF : 0;
		fl |= (((res >> (bits - 1)) ^ (res >> (bits - 2))) & 1) ? X86_FL_OF : 0;
		break;
	}
	case 2:		/* RCL */
	case 3: {	/* RCR */
		unsigned r = size == 8 ? cnt : size == 4 ? cnt : cnt % (bits + 1);
		uint64_t cin = (c->cpu->rflags & X86_FL_CF) ? 1 : 0;

		res = a;
		cf = cin;
		if (r == 0) {
			*flp = fl;
			return a;
		}
		for (unsigned k = 0; k < r; k++) {
			if (op == 2) {
				uint64_t out = (res >> (bits - 1)) & 1;

				res = ((res << 1) | cf) & m;
				cf = out;
			} else {
				uint64_t out = res & 1;

				res = (res >> 1) | (cf << (bits - 1));
				cf = out;
			}
		}
		fl &= ~(uint64_t)(X86_FL_CF | X86_FL_OF);
		fl |= cf ? X86_FL_CF : 0;
		if (op == 2)
			fl |= (((res >> (bits - 1)) ^ cf) & 1) ? X86_FL_OF : 0;
		else
			fl |= (((res >> (bits - 1)) ^ (res >> (bits - 2))) & 1) ? X86_FL_OF : 0;
		break;
	}
	case 4:
	case 6:		/* SHL/SAL */
		res = cnt >= 64 ? 0 : (a << cnt) & m;
		cf = cnt > bits ? 0 : (a >> (bits - cnt)) & 1;
		fl = x86_flags_szp(res, size) | (cf ? X86_FL_CF : 0);
		fl |= ((((res >> (bits - 1)) & 1) ^ cf)) ? X86_FL_OF : 0;
		break;
	case 5:		/* SHR */
		res = cnt >= 64 ? 0 : a >> cnt;
		cf = cnt > bits ? 0 : (a >> (cnt - 1)) & 1;
		fl = x86_flags_szp(res, size) | (cf ? X86_FL_CF : 0);
		fl |= ((a >> (bits - 1)) & 1) ? X86_FL_OF : 0;
		break;
	default: {	/* SAR */
		int64_t s = x86_sext(a, size);

		res = (uint64_t)(s >> (cnt >= bits ? bits - 1 : cnt)) & m;
		cf = (uint64_t)(s >> (cnt - 1 >= bits ? bits - 1 : cnt - 1)) & 1;
		fl = x86_flags_szp(res, size) | (cf ? X86_FL_CF : 0);
		break;
	}
	}
	*flp = fl;
	return res;
}

