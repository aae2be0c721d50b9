/* SSE internals shared by x86_sse.c, x86_sse_ops.c and x86_sse_fp.c. */
#ifndef MVM_X86_SSE_H
#define MVM_X86_SSE_H

#include <emmintrin.h>

#include "x86_internal.h"

union x86_xmm {
	uint8_t b[16];
	uint16_t w[8];
	uint32_t d[4];
	uint64_t q[2];
	float f[4];
	double g[2];
	__m128i vi;
	__m128 vf;
	__m128d vd;
};

void x86_sse_check(struct x86_ctx *c, bool mmx);
uint64_t x86_mmx_get(struct x86_cpu *cpu, unsigned r);
void x86_mmx_set(struct x86_cpu *cpu, unsigned r, uint64_t v);
uint64_t x86_mmx_src(struct x86_ctx *c);
void x86_sse_src(struct x86_ctx *c, union x86_xmm *out, unsigned msize, bool align);
void x86_sse_store(struct x86_ctx *c, const void *src, unsigned msize, bool align);
void x86_sse_arith(struct x86_ctx *c, unsigned pfx, bool mmx);
/* The floating-point opcodes x86_sse_arith hands on (never MMX forms). */
void x86_sse_fp(struct x86_ctx *c, unsigned pfx);

#endif
