/*
 * Regressions from fuzzing the interpreter (tests/fuzz/fuzz_x86_decode.c).
 * Run under UBSan (make check-asan) these fail loudly if the bug returns.
 *
 * x86_canonical() shifted a negative int64_t left, which is undefined: any
 * guest address with bit 47 set (every kernel-half pointer, or a wild one)
 * tripped -fsanitize=undefined and killed an instrumented mvm.  Found by
 * fuzz_x86_decode on "xor ecx,ecx; mov eax,5; div ecx" in long mode with
 * exception handlers in the fuzzed code (corpus seed de-10).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "x86/x86_internal.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canonical),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
