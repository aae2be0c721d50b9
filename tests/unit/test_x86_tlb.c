/*
 * The interpreter's private data TLB (X86_XLATE_F_CACHEABLE): translations
 * the environment marks cacheable are reused within a run, others are asked
 * for on every access, and invlpg, flushes and a move of cpu->tlb_gen (a
 * revocation on another vCPU) make the interpreter ask again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "x86/x86.h"

#define RAM_SIZE	(1u << 20)
#define CODE		0x10000u
#define DATA		0x20000u

struct env {
	uint8_t *ram;
	bool cacheable;
	unsigned data_calls;	/* translate() calls for the DATA page, not fetches */
	uint64_t gen;		/* cpu->tlb_gen points here */
	bool bump_on_first;	/* "remote" revocation right after the first data translation */
};

static int t_translate(void *ctx, struct x86_cpu *cpu, uint64_t lin, unsigned acc, struct x86_xlate *out)
{
	struct env *e = ctx;

	(void)cpu;
	if (lin >= RAM_SIZE) {
		out->pfec = 0;
		return X86_XLATE_FAULT;
	}
	if (!(acc & X86_ACC_FETCH) && (lin & ~0xfffull) == DATA) {
		if (e->bump_on_first && e->data_calls == 0)
			__atomic_add_fetch(&e->gen, 1, __ATOMIC_RELEASE);
		e->data_calls++;
	}
	out->hva = e->ram + lin;
	out->gpa = lin;
	out->flags = e->cacheable ? X86_XLATE_F_CACHEABLE : 0;
	return X86_XLATE_RAM;
}

static const struct x86_env_ops ops = { .translate = t_translate };

/* mov eax,[DATA]; mov eax,[DATA+4]; mov [DATA+8],eax; mov [DATA+12],eax; hlt */
static const uint8_t code_rw[] = {
	0x8b, 0x04, 0x25, 0x00, 0x00, 0x02, 0x00, 0x8b, 0x04, 0x25, 0x04, 0x00, 0x02, 0x00,
	0x89, 0x04, 0x25, 0x08, 0x00, 0x02, 0x00, 0x89, 0x04, 0x25, 0x0c, 0x00, 0x02, 0x00, 0xf4,
};
/* mov eax,[DATA]; invlpg [DATA]; mov eax,[DATA+4]; hlt */
static const uint8_t code_invlpg[] = {
	0x8b, 0x04, 0x25, 0x00, 0x00, 0x02, 0x00, 0x0f, 0x01, 0x3c, 0x25, 0x00, 0x00, 0x02, 0x00,
	0x8b, 0x04, 0x25, 0x04, 0x00, 0x02, 0x00, 0xf4,
};

static struct env *setup(struct x86_cpu *cpu, const uint8_t *code, size_t len, bool cacheable)
{
	struct env *e = calloc(1, sizeof(*e));

	e->ram = calloc(1, RAM_SIZE);
	e->cacheable = cacheable;
	memcpy(e->ram + CODE, code, len);
	memset(cpu, 0, sizeof(*cpu));
	x86__reset(cpu);
	cpu->cr0 = X86_CR0_PE | X86_CR0_PG | X86_CR0_ET | X86_CR0_NE;
	cpu->cr4 = X86_CR4_PAE;
	cpu->efer = X86_EFER_LME | X86_EFER_LMA;
	for (unsigned s = 0; s < X86_NR_SREGS; s++) {
		struct x86_seg *g = &cpu->seg[s];

		memset(g, 0, sizeof(*g));
		g->sel = s == X86_CS ? 0x08 : 0x10;
		g->type = s == X86_CS ? 0xb : 0x3;
		g->s = g->present = g->g = 1;
		g->limit = 0xffffffff;
		g->l = s == X86_CS;
		g->db = s != X86_CS;
	}
	cpu->rip = CODE;
	cpu->gpr[X86_RSP] = 0x8000;
	cpu->tlb_gen = &e->gen;
	x86__state_changed(cpu);
	return e;
}

static unsigned run_count(const uint8_t *code, size_t len, bool cacheable, bool bump)
{
	struct x86_cpu *cpu = calloc(1, sizeof(*cpu));
	struct x86_exit ex;
	struct env *e = setup(cpu, code, len, cacheable);
	unsigned n;

	e->bump_on_first = bump;
	assert_int_equal(x86__run(cpu, &ops, e, 1000, &ex), X86_EV_HLT);
	assert_int_equal(cpu->rip, CODE + len);
	n = e->data_calls;
	free(e->ram);
	free(e);
	free(cpu);
	return n;
}

static void test_cacheable_reused(void **st)
{
	(void)st;
	/* one read and one write translation for four accesses */
	assert_int_equal(run_count(code_rw, sizeof(code_rw), true, false), 2);
}

static void test_uncacheable_asked_each_time(void **st)
{
	(void)st;
	assert_int_equal(run_count(code_rw, sizeof(code_rw), false, false), 4);
}

static void test_generation_revokes(void **st)
{
	(void)st;
	/* the first read's entry is stale at once: the second read asks again */
	assert_int_equal(run_count(code_rw, sizeof(code_rw), true, true), 3);
}

static void test_invlpg_drops(void **st)
{
	(void)st;
	assert_int_equal(run_count(code_invlpg, sizeof(code_invlpg), true, false), 2);
}

/* A guest store through a cached write translation lands in RAM. */
static void test_cached_store_lands(void **st)
{
	struct x86_cpu *cpu = calloc(1, sizeof(*cpu));
	struct x86_exit ex;
	struct env *e = setup(cpu, code_rw, sizeof(code_rw), true);
	uint32_t v = 0x12345678, got;

	(void)st;
	memcpy(e->ram + DATA + 4, &v, 4);
	assert_int_equal(x86__run(cpu, &ops, e, 1000, &ex), X86_EV_HLT);
	memcpy(&got, e->ram + DATA + 12, 4);
	assert_int_equal(got, v);
	memcpy(&got, e->ram + DATA + 8, 4);
	assert_int_equal(got, v);
	free(e->ram);
	free(e);
	free(cpu);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cacheable_reused),
		cmocka_unit_test(test_uncacheable_asked_each_time),
		cmocka_unit_test(test_generation_revokes),
		cmocka_unit_test(test_invlpg_drops),
		cmocka_unit_test(test_cached_store_lands),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
