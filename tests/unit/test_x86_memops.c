/*
 * Targeted tests of the x86 interpreter's memory-heavy instructions: REP
 * string operations against a reference model, REP MOVS overlapping closer
 * than one element, a REP STOSB running into a page fault, and LOCK
 * atomicity between threads sharing one guest memory.
 *
 * Machine code below was assembled with GNU as (source in the comments).
 */
#include <pthread.h>

#include "x86_env.h"

static const uint8_t code_lock[] = { 0xb9, 0xa0, 0x86, 0x01, 0x00, 0xf0, 0x48, 0xff, 0x03, 0xba, 0x01, 0x00, 0x00, 0x00, 0xf0, 0x48, 0x0f, 0xc1, 0x53, 0x08, 0xff, 0xc9, 0x75, 0xed, 0xf4 };
static const uint8_t code_rep[] = { 0xfc, 0xbe, 0xf0, 0x0f, 0x02, 0x00, 0xbf, 0xf8, 0x0f, 0x04, 0x00, 0xb9, 0x00, 0x20, 0x00, 0x00, 0xf3, 0xa4, 0xbf, 0x00, 0x00, 0x05, 0x00, 0xb8, 0x44, 0x33, 0x22, 0x11, 0xb9, 0x00, 0x03, 0x00, 0x00, 0xf3, 0x48, 0xab, 0xfd, 0xbe, 0xff, 0x0f, 0x02, 0x00, 0xbf, 0xff, 0x0f, 0x06, 0x00, 0xb9, 0x00, 0x01, 0x00, 0x00, 0xf3, 0xa4, 0xfc, 0xbe, 0x00, 0x00, 0x02, 0x00, 0xbf, 0xf8, 0x0f, 0x04, 0x00, 0xb9, 0x00, 0x30, 0x00, 0x00, 0xf3, 0xa6, 0x49, 0x89, 0xc8, 0x49, 0x89, 0xf1, 0xbf, 0x00, 0x00, 0x02, 0x00, 0xb0, 0x77, 0xb9, 0x00, 0x40, 0x00, 0x00, 0xf2, 0xae, 0xf4 };
static const uint8_t code_rep_fault[] = { 0xbf, 0x00, 0xff, 0x2f, 0x00, 0xb9, 0x00, 0x10, 0x00, 0x00, 0xb0, 0xab, 0xf3, 0xaa, 0xf4 };
/* rep movsq with the destination 4 bytes ahead; rep movsw 3 bytes ahead */
static const uint8_t code_movsq_overlap[] = { 0xfc, 0xbe, 0x00, 0x00, 0x02, 0x00, 0xbf, 0x04, 0x00, 0x02, 0x00, 0xb9, 0x08, 0x00, 0x00, 0x00, 0xf3, 0x48, 0xa5, 0xbe, 0x00, 0x10, 0x02, 0x00, 0xbf, 0x03, 0x10, 0x02, 0x00, 0xb9, 0x09, 0x00, 0x00, 0x00, 0x66, 0xf3, 0xa5, 0xf4 };

/* Reference model of code_rep, element by element. */
static void rep_reference(uint8_t *m, uint64_t *r8, uint64_t *r9, uint64_t *rcx, uint64_t *rdi)
{
	for (unsigned k = 0; k < 0x2000; k++)
		m[0x40ff8 + k] = m[0x20ff0 + k];
	for (unsigned k = 0; k < 0x300; k++)
		put64(m, 0x50000 + 8 * k, 0x11223344);
	for (unsigned k = 0; k < 0x100; k++)
		m[0x60fff - k] = m[0x20fff - k];
	uint64_t si = 0x20000, di = 0x40ff8, cx = 0x3000;

	while (cx) {
		bool eq = m[si] == m[di];

		si++, di++, cx--;
		if (!eq)
			break;
	}
	*r8 = cx;
	*r9 = si;
	di = 0x20000;
	cx = 0x4000;
	while (cx) {
		bool eq = m[di] == 0x77;

		di++, cx--;
		if (eq)
			break;
	}
	*rcx = cx;
	*rdi = di;
}

static void test_rep_strings(void **st)
{
	struct x86_cpu cpu;
	struct x86_exit ex;
	struct env *e = long_mode(&cpu, code_rep, sizeof(code_rep));
	uint8_t *ref = malloc(RAM_SIZE);
	uint64_t r8, r9, rcx, rdi;

	(void)st;
	for (unsigned k = 0; k < 0x4000; k++)
		e->ram[0x20000 + k] = (k * 7) % 251;
	e->ram[0x20000 + 0x2345] = 0x77;
	memcpy(ref, e->ram, RAM_SIZE);
	rep_reference(ref, &r8, &r9, &rcx, &rdi);
	assert_int_equal(run(&cpu, e, &ex), X86_EV_HLT);
	assert_memory_equal(e->ram + 0x20000, ref + 0x20000, 0x50000);
	assert_int_equal(cpu.gpr[X86_R8], r8);
	assert_int_equal(cpu.gpr[X86_R9], r9);
	assert_int_equal(cpu.gpr[X86_RCX], rcx);
	assert_int_equal(cpu.gpr[X86_RDI], rdi);
	free(ref);
	env_free(e);

	/* REP STOSB running into a fault: progress kept, #PF at the boundary */
	e = long_mode(&cpu, code_rep_fault, sizeof(code_rep_fault));
	assert_in_handler(&cpu, run(&cpu, e, &ex), X86_EXC_PF);
	assert_int_equal(cpu.cr2, FAULT_LO);
	assert_int_equal(cpu.gpr[X86_RDI], FAULT_LO);
	assert_int_equal(cpu.gpr[X86_RCX], 0x1000 - 0x100);
	assert_int_equal(get64(e->ram, cpu.gpr[X86_RSP] + 8), CODE + 12);	/* RIP of the REP STOSB */
	assert_int_equal(e->ram[FAULT_LO - 1], 0xab);
	env_free(e);
}

/* Overlapping REP MOVS closer than one element: element-by-element semantics. */
static void test_rep_movs_overlap(void **st)
{
	struct x86_cpu cpu;
	struct x86_exit ex;
	struct env *e = long_mode(&cpu, code_movsq_overlap, sizeof(code_movsq_overlap));
	uint8_t ref[0x2000];

	(void)st;
	for (unsigned k = 0; k < 0x2000; k++)
		e->ram[0x20000 + k] = k * 13 + 1;
	memcpy(ref, e->ram + 0x20000, sizeof(ref));
	for (unsigned k = 0; k < 8; k++) {	/* each element is read whole, then written */
		uint8_t t[8];

		memcpy(t, ref + 8 * k, 8);
		memcpy(ref + 4 + 8 * k, t, 8);
	}
	for (unsigned k = 0; k < 9; k++) {
		uint8_t t[2];

		memcpy(t, ref + 0x1000 + 2 * k, 2);
		memcpy(ref + 0x1003 + 2 * k, t, 2);
	}
	assert_int_equal(run(&cpu, e, &ex), X86_EV_HLT);
	assert_memory_equal(e->ram + 0x20000, ref, sizeof(ref));
	env_free(e);
}

struct lock_arg {
	struct env *e;
	uint64_t insns;
	enum x86_event ev;
};

static void *lock_thread(void *p)
{
	struct lock_arg *a = p;
	struct x86_cpu cpu;
	struct x86_exit ex;
	struct env *e = a->e;

	memset(&cpu, 0, sizeof(cpu));
	x86__reset(&cpu);
	/* same machine view, private stack */
	struct env *mine = long_mode(&cpu, code_lock, sizeof(code_lock));

	free(mine->ram);
	mine->ram = e->ram;
	cpu.gpr[X86_RBX] = 0x70000;
	cpu.gpr[X86_RDX] = 1;
	a->ev = x86__run(&cpu, &ops, mine, 100000000, &ex);
	a->insns = cpu.stats.insns;
	free(mine);
	return NULL;
}

static void test_lock_atomic(void **st)
{
	struct x86_cpu cpu;
	struct env *e = long_mode(&cpu, code_lock, sizeof(code_lock));
	pthread_t t[4];
	struct lock_arg a[4];

	(void)st;
	for (unsigned k = 0; k < 4; k++) {
		a[k].e = e;
		assert_int_equal(pthread_create(&t[k], NULL, lock_thread, &a[k]), 0);
	}
	for (unsigned k = 0; k < 4; k++) {
		pthread_join(t[k], NULL);
		assert_int_equal(a[k].ev, X86_EV_HLT);
	}
	assert_int_equal(get64(e->ram, 0x70000), 400000);
	assert_int_equal(get64(e->ram, 0x70008), 400000);
	env_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rep_strings),
		cmocka_unit_test(test_rep_movs_overlap),
		cmocka_unit_test(test_lock_atomic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
