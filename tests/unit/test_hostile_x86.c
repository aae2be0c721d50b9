/*
 * Regressions from fuzzing the interpreter (tests/fuzz/fuzz_x86_decode.c).
 * Run under UBSan (make check-asan) these fail loudly if the bug returns.
 *
 * x86_canonical() shifted a negative int64_t left, which is undefined: any
 * guest address with bit 47 set (every kernel-half pointer, or a wild one)
 * tripped -fsanitize=undefined and killed an instrumented mvm.  Found by
 * fuzz_x86_decode on "xor ecx,ecx; mov eax,5; div ecx" in long mode with
 * exception handlers in the fuzzed code (corpus seed de-10).
 *
 * x86__run counted only retired instructions against its budget, so a
 * guest whose #UD handler is itself an invalid opcode (each delivery
 * succeeds, nothing ever retires) kept x86__run from returning: the vCPU
 * thread never saw a kick or a stop request again.  Found by
 * fuzz_x86_decode (corpus seed exc-loop-cpl3); here in flat 32-bit mode.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "x86/x86_internal.h"

#define RAM_SIZE 0x20000u
static uint8_t ram[RAM_SIZE];

static int flat(void *ctx, struct x86_cpu *cpu, uint64_t lin, unsigned acc, struct x86_xlate *x)
{
	(void)ctx; (void)cpu; (void)acc;
	x->gpa = lin;
	if (lin >= RAM_SIZE)
		return X86_XLATE_MMIO;
	x->hva = ram + lin;
	return X86_XLATE_RAM;
}

static void test_canonical(void **state)
{
	static const struct { uint64_t a; bool canonical; } t[] = {
		{ 0, true },
		{ 0x00007fffffffffffull, true },
		{ 0x0000800000000000ull, false },
		{ 0x7fffffffffffffffull, false },
		{ 0x8000000000000000ull, false },
		{ 0xffff7fffffffffffull, false },
		{ 0xffff800000000000ull, true },
		{ 0xffffffff81000000ull, true },
		{ 0xffffffffffffffffull, true },
		{ 0x0001000000000000ull, false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_int_equal(x86_canonical(t[i].a), t[i].canonical);
}

static void put64(uint64_t a, uint64_t v) { memcpy(ram + a, &v, 8); }

/*
 * Flat 32-bit protected mode, CPL 0, #UD gate -> 0x1000, which holds ff ff
 * (group 5 /7, undefined): every delivery succeeds, nothing ever retires.
 */
static void test_exception_loop_returns(void **state)
{
	static const struct x86_env_ops ops = { .translate = flat };
	struct x86_cpu *cpu = calloc(1, sizeof(*cpu));
	struct x86_exit ex;

	(void)state;
	assert_non_null(cpu);
	memset(ram, 0, sizeof(ram));
	put64(0x108, 0x00cf9b000000ffffull);			/* 0x08: code */
	put64(0x110, 0x00cf93000000ffffull);			/* 0x10: data */
	put64(0x200 + 6 * 8, 0x00008e0000081000ull);		/* #UD: 0x08:0x1000 */
	ram[0x1000] = 0xff;					/* ff /7: undefined */
	ram[0x1001] = 0xff;
	x86__reset(cpu);
	cpu->cr0 = X86_CR0_PE | X86_CR0_ET;
	for (unsigned i = 0; i < X86_NR_SREGS; i++) {
		struct x86_seg *g = &cpu->seg[i];

		*g = (struct x86_seg){ .sel = i == X86_CS ? 0x08 : 0x10, .limit = 0xffffffff,
				       .type = i == X86_CS ? 0xb : 0x3, .present = 1, .s = 1,
				       .db = 1, .g = 1 };
	}
	/* A 16-bit stack at 0x10000: pushes wrap inside it and never reach the code. */
	cpu->seg[X86_SS].base = 0x10000;
	cpu->seg[X86_SS].limit = 0xffff;
	cpu->seg[X86_SS].db = 0;
	cpu->seg[X86_SS].g = 0;
	cpu->gdtr = (struct x86_dtable){ 0x100, 0x17 };
	cpu->idtr = (struct x86_dtable){ 0x200, 0x7ff };
	cpu->rip = 0x1000;
	cpu->gpr[X86_RSP] = 0x8000;
	x86__state_changed(cpu);
	alarm(20);	/* the bug hangs: SIGALRM then fails the test */
	assert_int_equal(x86__run(cpu, &ops, NULL, 1000, &ex), X86_EV_BUDGET);
	alarm(0);
	assert_true(cpu->stats.exceptions >= 1);
	assert_true(cpu->stats.insns + cpu->stats.exceptions <= 1000 + 1);
	free(cpu);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canonical),
		cmocka_unit_test(test_exception_loop_returns),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
