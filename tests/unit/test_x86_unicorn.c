/*
 * Differential test of the x86 interpreter against unicorn (QEMU's TCG).
 *
 * Random and targeted instruction sequences run in 64-bit mode in both, one
 * instruction at a time over identical flat memory.  After every instruction
 * the GPRs, RIP, the arithmetic flags (minus the flags the SDM leaves
 * undefined for that instruction) and a data window are compared; then the
 * interpreter is re-synchronised to unicorn so an undefined flag cannot
 * cascade.  A coverage table of the opcodes exercised is printed at the end.
 *
 * X86_UNICORN_SEED=<n> and X86_UNICORN_ITERS=<n> change the random run.
 */
#include "x86_unicorn_gen.h"
#include "x86_unicorn_rig.h"

static void run_random(int mode)
{
	g_mode = mode;
	const char *s = getenv("X86_UNICORN_SEED");
	const char *it = getenv("X86_UNICORN_ITERS");
	unsigned long iters = it ? strtoul(it, NULL, 0) : 3000;

	rng_state = s ? strtoull(s, NULL, 0) : 0x9e3779b97f4a7c15ull;
	rig_open();
	for (unsigned long k = 0; k < iters; k++) {
		setup_state();
		for (unsigned j = 0; j < 16; j++) {
			uint8_t insn[16];
			uint32_t undef;
			unsigned len = gen(insn, &undef);

			step_both(insn, len, undef, true);
		}
	}
	print_coverage();
	printf("random %d-bit: %lu instructions compared (%lu faulted in both), %lu mismatches\n",
	       mode, R.compared, R.faulted, R.mismatches);
	unsigned long bad = R.mismatches, faulted = R.faulted, compared = R.compared;

	rig_close();
	g_mode = 64;
	assert_int_equal(bad, 0);
	/* a fault in both compares no state: most of the random code must run */
	assert_true(faulted * 10 < compared);
}

static void test_random(void **state)
{
	(void)state;
	run_random(64);
}

static void test_random32(void **state)
{
	(void)state;
	run_random(32);
}

static void test_random16(void **state)
{
	(void)state;
	run_random(16);
}

static void test_sse_random(void **state)
{
	(void)state;
	const char *s = getenv("X86_UNICORN_SEED");
	const char *it = getenv("X86_UNICORN_ITERS");
	unsigned long iters = it ? strtoul(it, NULL, 0) : 3000;

	rng_state = (s ? strtoull(s, NULL, 0) : 0x9e3779b97f4a7c15ull) ^ 0x5555;
	rig_open();
	for (unsigned long k = 0; k < iters; k++) {
		setup_state();
		for (unsigned j = 0; j < 16; j++) {
			uint8_t insn[16];
			uint32_t undef;
			unsigned len = gen_sse(insn, &undef);

			step_both(insn, len, undef, true);
		}
	}
	print_coverage();
	printf("sse random: %lu instructions compared (%lu faulted in both), %lu mismatches\n",
	       R.compared, R.faulted, R.mismatches);
	unsigned long bad = R.mismatches, faulted = R.faulted, compared = R.compared;

	rig_close();
	assert_int_equal(bad, 0);
	assert_true(faulted * 10 < compared);
}

/* Targeted sequences with edge values that random data rarely hits. */
struct targeted {
	const char *name;
	uint8_t bytes[15];
	uint8_t len;
	uint32_t undef;
	uint64_t rax, rcx, rdx;
};

static const struct targeted tcases[] = {
	{ "div r64", { 0x48, 0xf7, 0xf1 }, 3, ALL, 100, 7, 0 },
	{ "div r32", { 0xf7, 0xf1 }, 2, ALL, 0xffffffff, 0x10, 0xf },
	{ "idiv r64 neg", { 0x48, 0xf7, 0xf9 }, 3, ALL, (uint64_t)-100, 7, (uint64_t)-1 },
	{ "idiv r8", { 0xf6, 0xf9 }, 2, ALL, 0xff9c, 7, 0 },
	{ "div r16", { 0x66, 0xf7, 0xf1 }, 3, ALL, 0x1234, 0x100, 0x12 },
	{ "shl 0", { 0x48, 0xd3, 0xe0 }, 3, AF, 0x8000000000000001ull, 0, 0 },
	{ "shl 64 masked", { 0x48, 0xd3, 0xe0 }, 3, AF | OF, 0x8000000000000001ull, 64, 0 },
	{ "sar 63", { 0x48, 0xd3, 0xf8 }, 3, AF | OF, 0x8000000000000001ull, 63, 0 },
	{ "shr 1", { 0x48, 0xd1, 0xe8 }, 3, AF, 0x8000000000000001ull, 0, 0 },
	{ "rcl 8 9", { 0xd2, 0xd0 }, 2, OF, 0x81, 9, 0 },
	{ "rcr 16 17", { 0x66, 0xd3, 0xd8 }, 3, OF, 0x8001, 17, 0 },
	{ "rol 8 8", { 0xd2, 0xc0 }, 2, OF, 0x81, 8, 0 },
	{ "shld 31", { 0x0f, 0xa5, 0xd0 }, 3, AF | OF, 0x12345678, 31, 0x9abcdef0 },
	{ "shrd 64", { 0x48, 0x0f, 0xad, 0xd0 }, 4, AF | OF, 0x12345678, 63, 0x9abcdef0 },
	{ "imul ovf", { 0x48, 0xf7, 0xe9 }, 3, SZAP, 0x4000000000000000ull, 4, 0 },
	{ "mul r8", { 0xf6, 0xe1 }, 2, SZAP, 0xff, 0xff, 0 },
	{ "neg min", { 0x48, 0xf7, 0xd8 }, 3, 0, 0x8000000000000000ull, 0, 0 },
	{ "adc carry chain", { 0xf9, 0x48, 0x11, 0xc8 }, 4, 0, ~0ull, 0, 0 },
	{ "sbb borrow", { 0xf9, 0x48, 0x19, 0xc8 }, 4, 0, 0, 0, 0 },
	{ "bsf zero", { 0x48, 0x0f, 0xbc, 0xc1 }, 4, ALL & ~X86_FL_ZF, 55, 0, 0 },
	{ "bsr", { 0x48, 0x0f, 0xbd, 0xc1 }, 4, ALL & ~X86_FL_ZF, 55, 0x10001, 0 },
	{ "rep bsf", { 0xf3, 0x48, 0x0f, 0xbc, 0xc1 }, 5, ALL & ~X86_FL_ZF, 55, 0x100, 0 },
	{ "cqo", { 0x48, 0x99 }, 2, 0, 0x8000000000000000ull, 0, 0 },
	{ "cdqe", { 0x48, 0x98 }, 2, 0, 0x80000000, 0, 0 },
	{ "cmpxchg16b-free xadd", { 0x48, 0x0f, 0xc1, 0xc8 }, 4, 0, 5, 7, 0 },
	{ "bswap32", { 0x0f, 0xc8 }, 2, 0, 0x1122334455667788ull, 0, 0 },
	{ "movsxd", { 0x48, 0x63, 0xc1 }, 3, 0, 0, 0x80000000, 0 },
	{ "lea rip", { 0x48, 0x8d, 0x05, 0x10, 0x00, 0x00, 0x00 }, 7, 0, 0, 0, 0 },
	{ "xchg ah", { 0x86, 0xe1 }, 2, 0, 0x1234, 0x5678, 0 },
	{ "sahf", { 0x9e }, 1, 0, 0xd500, 0, 0 },
	{ "cmovl 32 untaken zero-ext", { 0x0f, 0x4c, 0xc1 }, 3, 0, 0xffffffff00000001ull, 2, 0 },
	{ "setcc ch", { 0x0f, 0x94, 0xc5 }, 3, 0, 0, 0x1234, 0 },
	{ "jrcxz", { 0xe3, 0x02, 0x90, 0x90 }, 4, 0, 0, 0, 0 },
	{ "loop", { 0xe2, 0x02, 0x90, 0x90 }, 4, 0, 0, 2, 0 },
	{ "push imm8", { 0x6a, 0xff }, 2, 0, 0, 0, 0 },
	{ "call/ret pair", { 0xe8, 0x00, 0x00, 0x00, 0x00 }, 5, 0, 0, 0, 0 },
	{ "enter", { 0xc8, 0x10, 0x00, 0x00 }, 4, 0, 0, 0, 0 },
	{ "leave", { 0xc9 }, 1, 0, 0, 0, 0 },
	{ "xlat", { 0xd7 }, 1, 0, 3, 0, 0 },
	{ "cmpxchg8b", { 0x41, 0x0f, 0xc7, 0x4f, 0x08 }, 5, 0, 0, 0, 0 },
	{ "lock add mem", { 0xf0, 0x49, 0x01, 0x47, 0x10 }, 5, 0, 0x77, 0, 0 },
	{ "bt mem reg offset", { 0x49, 0x0f, 0xab, 0x4f, 0x20 }, 5, ALLBUTCF, 0, 200, 0 },
	{ "bt mem neg offset", { 0x49, 0x0f, 0xa3, 0x4f, 0x40 }, 5, ALLBUTCF, 0, (uint64_t)-9, 0 },
};

static void test_targeted(void **state)
{
	(void)state;
	unsigned long bad = 0;

	rng_state = 12345;
	rig_open();
	for (unsigned k = 0; k < sizeof(tcases) / sizeof(tcases[0]); k++) {
		const struct targeted *t = &tcases[k];

		for (unsigned pass = 0; pass < 4; pass++) {
			setup_state();
			uint64_t v[3] = { t->rax, t->rcx, t->rdx };
			uint64_t fl = 2 | (pass & 1 ? X86_FL_CF : 0) | (pass & 2 ? X86_FL_ZF | X86_FL_OF : 0);

			uc_reg_write(R.uc, UC_X86_REG_RAX, &v[0]);
			uc_reg_write(R.uc, UC_X86_REG_RCX, &v[1]);
			uc_reg_write(R.uc, UC_X86_REG_RDX, &v[2]);
			uc_reg_write(R.uc, UC_X86_REG_EFLAGS, &fl);
			/* run multi-instruction cases one instruction at a time */
			if (t->bytes[0] == 0xf9 && t->len == 4) {
				bad += step_both(t->bytes, 1, 0, false);
				bad += step_both(t->bytes + 1, 3, t->undef, false);
			} else {
				bad += step_both(t->bytes, t->len, t->undef, false);
			}
			if (bad)
				printf("  (targeted case '%s' pass %u)\n", t->name, pass);
			if (bad)
				break;
		}
	}
	printf("targeted: %zu cases, %lu mismatches\n", sizeof(tcases) / sizeof(tcases[0]), bad);
	rig_close();
	assert_int_equal(bad, 0);
}

/* x87 subset: one instruction at a time from FNINIT, results compared through memory and AX */
struct x87_insn {
	uint8_t len, b[8];
};

static const struct x87_insn x87_seq[] = {
	{ 2, { 0xdb, 0xe3 } },	/* fninit */
	{ 3, { 0x41, 0xdb, 0x07 } },	/* fild dword ptr [r15] */
	{ 4, { 0x41, 0xdd, 0x47, 0x08 } },	/* fld qword ptr [r15+8] */
	{ 2, { 0xde, 0xc1 } },	/* faddp st(1), st */
	{ 2, { 0xd9, 0xe8 } },	/* fld1 */
	{ 4, { 0x41, 0xdc, 0x4f, 0x08 } },	/* fmul qword ptr [r15+8] */
	{ 2, { 0xd8, 0xe1 } },	/* fsub st, st(1) */
	{ 4, { 0x41, 0xdc, 0x7f, 0x10 } },	/* fdivr qword ptr [r15+16] */
	{ 4, { 0x41, 0xdd, 0x57, 0x18 } },	/* fst qword ptr [r15+24] */
	{ 4, { 0x41, 0xdb, 0x5f, 0x20 } },	/* fistp dword ptr [r15+32] */
	{ 4, { 0x41, 0xdf, 0x6f, 0x28 } },	/* fild qword ptr [r15+40] */
	{ 2, { 0xd9, 0xe0 } },	/* fchs */
	{ 2, { 0xd9, 0xe1 } },	/* fabs */
	{ 2, { 0xd9, 0xfa } },	/* fsqrt */
	{ 4, { 0x41, 0xdd, 0x5f, 0x30 } },	/* fstp qword ptr [r15+48] */
	{ 4, { 0x41, 0xd9, 0x47, 0x38 } },	/* fld dword ptr [r15+56] */
	{ 4, { 0x41, 0xdd, 0x47, 0x08 } },	/* fld qword ptr [r15+8] */
	{ 2, { 0xdb, 0xf1 } },	/* fcomi st, st(1) */
	{ 2, { 0xdf, 0xe9 } },	/* fucomip st, st(1) */
	{ 2, { 0xd9, 0xc9 } },	/* fxch st(1) */
	{ 4, { 0x41, 0xd9, 0x5f, 0x3c } },	/* fstp dword ptr [r15+60] */
	{ 2, { 0xdf, 0xe0 } },	/* fnstsw ax */
	{ 4, { 0x41, 0xdb, 0x6f, 0x40 } },	/* fld tbyte ptr [r15+64] */
	{ 4, { 0x41, 0xdf, 0x47, 0x50 } },	/* fild word ptr [r15+80] */
	{ 2, { 0xde, 0xc9 } },	/* fmulp st(1), st */
	{ 2, { 0xd9, 0xee } },	/* fldz */
	{ 4, { 0x41, 0xdc, 0x57, 0x08 } },	/* fcom qword ptr [r15+8] */
	{ 2, { 0xdf, 0xe0 } },	/* fnstsw ax */
	{ 4, { 0x41, 0xdb, 0x7f, 0x60 } },	/* fstp tbyte ptr [r15+96] */
	{ 4, { 0x41, 0xdd, 0x47, 0x10 } },	/* fld qword ptr [r15+16] */
	{ 4, { 0x41, 0xdf, 0x7f, 0x70 } },	/* fistp qword ptr [r15+112] */
	{ 4, { 0x41, 0xdd, 0x47, 0x10 } },	/* fld qword ptr [r15+16] */
	{ 4, { 0x41, 0xdf, 0x57, 0x78 } },	/* fist word ptr [r15+120] */
	{ 2, { 0xd8, 0xf0 } },	/* fdiv st, st(0) */
	{ 7, { 0x41, 0xdd, 0x9f, 0x80, 0x00, 0x00, 0x00 } },	/* fstp qword ptr [r15+128] */
	{ 2, { 0xdf, 0xe0 } },	/* fnstsw ax */
};

static void test_x87(void **state)
{
	static const double dv[] = { 1.5, -2.25, 1e300, 0.1, -0.0, 3.0e-310, 7.0, 65536.5 };
	unsigned long bad = 0;

	(void)state;
	rng_state = 4242;
	g_mode = 64;
	rig_open();
	for (unsigned pass = 0; pass < 16; pass++) {
		setup_state();
		uint8_t *d = R.mem + DATA_ADDR;
		int32_t i32 = (int32_t)rnd();
		int64_t i64 = (int64_t)rnd() >> (rnd() % 40);
		float f32 = (float)dv[rnd() % 8];
		long double ld = (long double)dv[rnd() % 8] * 3;
		int16_t i16 = rnd();

		memcpy(d, &i32, 4);
		memcpy(d + 8, &dv[pass % 8], 8);
		memcpy(d + 16, &dv[(pass + 3) % 8], 8);
		memcpy(d + 40, &i64, 8);
		memcpy(d + 56, &f32, 4);
		memset(d + 64, 0, 16);
		memcpy(d + 64, &ld, 10);
		memcpy(d + 80, &i16, 2);
		uc_mem_write(R.uc, DATA_ADDR, d, DATA_LEN);
		for (unsigned k = 0; k < sizeof(x87_seq) / sizeof(x87_seq[0]); k++) {
			const struct x87_insn *x = &x87_seq[k];
			bool fnstsw = x->b[0] == 0xdf && x->b[1] == 0xe0;
			/* FCOMI: QEMU keeps OF/SF/AF, the interpreter clears them like COMISD */
			bool fcomi = (x->b[0] == 0xdb || x->b[0] == 0xdf) && x->b[1] >= 0xe8;

			bad += step_both(x->b, x->len, fnstsw ? RAX_FSW : fcomi ? (X86_FL_OF | X86_FL_SF | X86_FL_AF) : 0,
					 false);
		}
	}
	printf("x87: %lu instructions compared, %lu mismatches\n", R.compared, R.mismatches);
	rig_close();
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_targeted),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_random32),
		cmocka_unit_test(test_random16),
		cmocka_unit_test(test_sse_random),
		cmocka_unit_test(test_x87),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
