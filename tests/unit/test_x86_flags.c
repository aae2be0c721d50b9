/*
 * Lazy arithmetic flags (x86_fast.c) as guest code sees them.  Inside a
 * block the specialised handlers only record an operation; a flag is
 * computed when something reads it: a Jcc, SETcc, CMOVcc or ADC/SBB/INC/DEC
 * straight from the record, a generic handler, the block's end or an abort
 * after the record is written back into RFLAGS.  Every reader must see the
 * architectural flags.
 *
 * test_flag_cases runs each operation below with every kind of reader after
 * it; the expected flags were worked out by hand and checked by running the
 * same bytes on an x86-64 host.  test_flag_sequences has carry chains and
 * INC/DEC keeping CF across instructions.  Random code, run in blocks and
 * an instruction at a time, is compared in test_x86_block_rand.c.
 *
 * Machine code below was assembled with GNU as (source in the comments).
 */
#include "x86_env.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define CF_ X86_FL_CF
#define PF_ X86_FL_PF
#define AF_ X86_FL_AF
#define ZF_ X86_FL_ZF
#define SF_ X86_FL_SF
#define OF_ X86_FL_OF
/* the flags each kind of operation defines */
#define DEF X86_FL_ARITH
#define LOGIC_M (DEF & ~AF_)
#define SHIFT1_M (DEF & ~AF_)
#define SHIFTN_M (DEF & ~AF_ & ~OF_)
#define MUL_M (CF_ | OF_)
/* the flags going in, lazily: add rdx, rsi (rdx = -1, rsi = 1: CF=1) or xor edi, edi (CF=0) */
#define PRE_CF1 3, { 0x48, 0x01, 0xf2 }
#define PRE_CF0 2, { 0x31, 0xff }
#define NOPRE 0, { 0 }

/* Operation on rax (and rcx), its result and flags. */
struct fcase {
	const char *name;
	uint8_t prelen, pre[3];
	uint8_t oplen, op[7];
	uint64_t rax, rcx, res;
	uint32_t flags, mask;
};

static const struct fcase cases[] = {
	/* add rax, rcx */
	{ "add r64", NOPRE, 3, { 0x48, 0x01, 0xc8 },
	  -1ull, 1, 0, CF_|ZF_|PF_|AF_, DEF },
	/* add eax, ecx */
	{ "add r32 overflow", NOPRE, 2, { 0x01, 0xc8 },
	  0xdeadbeef7fffffffull, 1, 0x80000000, OF_|SF_|PF_|AF_, DEF },
	/* sub eax, ecx */
	{ "sub r32 borrow", NOPRE, 2, { 0x29, 0xc8 },
	  5, 7, 0xfffffffe, CF_|SF_|AF_, DEF },
	/* cmp rax, rcx */
	{ "cmp r64 overflow", NOPRE, 3, { 0x48, 0x39, 0xc8 },
	  0x8000000000000000ull, 1, 0x8000000000000000ull, OF_|PF_|AF_, DEF },
	/* cmp eax, 7 */
	{ "cmp r32 imm8 equal", NOPRE, 3, { 0x83, 0xf8, 0x07 },
	  7, 0, 7, ZF_|PF_, DEF },
	/* test rax, rcx */
	{ "test r64 zero", NOPRE, 3, { 0x48, 0x85, 0xc8 },
	  0xf0, 0x0f, 0xf0, ZF_|PF_, LOGIC_M },
	/* xor eax, ecx */
	{ "xor r32", NOPRE, 2, { 0x31, 0xc8 },
	  0xffffffff80000000ull, 1, 0x80000001, SF_, LOGIC_M },
	/* and rax, rcx */
	{ "and r64", NOPRE, 3, { 0x48, 0x21, 0xc8 },
	  -1ull, 0x8000000000000080ull, 0x8000000000000080ull, SF_, LOGIC_M },
	/* or eax, ecx */
	{ "or r32 zero", NOPRE, 2, { 0x09, 0xc8 },
	  0xffffffff00000000ull, 0, 0, ZF_|PF_, LOGIC_M },
	/* shl eax, 1 (C1 form) */
	{ "shl r32 1", NOPRE, 3, { 0xc1, 0xe0, 0x01 },
	  0x80000001, 0, 2, CF_|OF_, SHIFT1_M },
	/* shl rax, 4 */
	{ "shl r64 4", NOPRE, 4, { 0x48, 0xc1, 0xe0, 0x04 },
	  0x1800000000000000ull, 0, 0x8000000000000000ull, CF_|SF_|PF_, SHIFTN_M },
	/* shr eax, 1 (C1 form) */
	{ "shr r32 1", NOPRE, 3, { 0xc1, 0xe8, 0x01 },
	  0x80000001, 0, 0x40000000, CF_|OF_|PF_, SHIFT1_M },
	/* shr rax, 63 */
	{ "shr r64 63", NOPRE, 4, { 0x48, 0xc1, 0xe8, 0x3f },
	  0x8000000000000000ull, 0, 1, 0, SHIFTN_M },
	/* sar rax, 1 (C1 form) */
	{ "sar r64 1", NOPRE, 4, { 0x48, 0xc1, 0xf8, 0x01 },
	  0x8000000000000003ull, 0, 0xc000000000000001ull, CF_|SF_, SHIFT1_M },
	/* sar eax, 31 */
	{ "sar r32 31", NOPRE, 3, { 0xc1, 0xf8, 0x1f },
	  0x80000000, 0, 0xffffffff, SF_|PF_, SHIFTN_M },
	/* sar eax, 4 */
	{ "sar r32 4 to zero", NOPRE, 3, { 0xc1, 0xf8, 0x04 },
	  0xf, 0, 0, CF_|ZF_|PF_, SHIFTN_M },
	/* shl eax, 1 (D1 form) */
	{ "shl r32 1 (generic form)", NOPRE, 2, { 0xd1, 0xe0 },
	  0x80000001, 0, 2, CF_|OF_, SHIFT1_M },
	/* imul rax, rcx */
	{ "imul r64 overflow", NOPRE, 4, { 0x48, 0x0f, 0xaf, 0xc1 },
	  0x4000000000000000ull, 4, 0, CF_|OF_, MUL_M },
	/* imul rax, rcx */
	{ "imul r64", NOPRE, 4, { 0x48, 0x0f, 0xaf, 0xc1 },
	  -3ull, 5, -15ull, 0, MUL_M },
	/* inc rax */
	{ "inc r64 keeps CF=1", PRE_CF1, 3, { 0x48, 0xff, 0xc0 },
	  0x7fffffffffffffffull, 0, 0x8000000000000000ull, CF_|OF_|SF_|PF_|AF_, DEF },
	/* dec eax */
	{ "dec r32 keeps CF=0", PRE_CF0, 2, { 0xff, 0xc8 },
	  0x80000000, 0, 0x7fffffff, OF_|PF_|AF_, DEF },
	/* dec rax */
	{ "dec r64 to zero, CF=1", PRE_CF1, 3, { 0x48, 0xff, 0xc8 },
	  1, 0, 0, CF_|ZF_|PF_, DEF },
	/* inc eax */
	{ "inc r32 to zero, CF=0", PRE_CF0, 2, { 0xff, 0xc0 },
	  0xffffffff, 0, 0, ZF_|PF_|AF_, DEF },
	/* adc rax, rcx */
	{ "adc r64 carry in", PRE_CF1, 3, { 0x48, 0x11, 0xc8 },
	  -1ull, 0, 0, CF_|ZF_|PF_|AF_, DEF },
	/* adc eax, ecx */
	{ "adc r32 no carry in", PRE_CF0, 2, { 0x11, 0xc8 },
	  0x7fffffff, 0, 0x7fffffff, PF_, DEF },
	/* sbb rax, rcx */
	{ "sbb r64 borrow in", PRE_CF1, 3, { 0x48, 0x19, 0xc8 },
	  0, 0, -1ull, CF_|SF_|PF_|AF_, DEF },
	/* adc rax, 0 */
	{ "adc r64 imm8 carry in", PRE_CF1, 4, { 0x48, 0x83, 0xd0, 0x00 },
	  0x7fffffffffffffffull, 0, 0x8000000000000000ull, OF_|SF_|PF_|AF_, DEF },
	/* sbb eax, eax */
	{ "sbb r32 self, borrow in", PRE_CF1, 2, { 0x19, 0xc0 },
	  0x1234, 0, 0xffffffff, CF_|SF_|PF_|AF_, DEF },
	/* neg rax */
	{ "neg r64 (generic)", NOPRE, 3, { 0x48, 0xf7, 0xd8 },
	  1, 0, -1ull, CF_|SF_|PF_|AF_, DEF },
	/* bt rax, 5 */
	{ "bt r64 imm (generic)", NOPRE, 5, { 0x48, 0x0f, 0xba, 0xe0, 0x05 },
	  0x20, 0, 0x20, CF_, CF_ },
	/* cmp al, cl */
	{ "cmp r8 (generic)", NOPRE, 2, { 0x38, 0xc8 },
	  0x80, 1, 0x80, OF_|AF_, DEF },
	/* add ax, cx */
	{ "add r16 (generic)", NOPRE, 3, { 0x66, 0x01, 0xc8 },
	  0x1234ffff, 1, 0x12340000, CF_|ZF_|PF_|AF_, DEF },
	/* sub rax, 1 (acc form) */
	{ "sub rax imm32 (generic)", NOPRE, 6, { 0x48, 0x2d, 0x01, 0x00, 0x00, 0x00 },
	  0, 0, -1ull, CF_|SF_|PF_|AF_, DEF },
	/* add al, cl */
	{ "add r8", NOPRE, 2, { 0x00, 0xc8 },
	  0x12345678000000ffull, 1, 0x1234567800000000ull, CF_|ZF_|PF_|AF_, DEF },
	/* cmp al, 0x7f */
	{ "cmp al, imm8", NOPRE, 2, { 0x3c, 0x7f },
	  0x80, 0, 0x80, OF_|AF_, DEF },
	/* test al, 0x80 */
	{ "test al, imm8", NOPRE, 2, { 0xa8, 0x80 },
	  0x80, 0, 0x80, SF_, LOGIC_M },
	/* test eax, 0x80000000 */
	{ "test eax, imm32", NOPRE, 5, { 0xa9, 0x00, 0x00, 0x00, 0x80 },
	  0x80000000, 0, 0x80000000, SF_|PF_, LOGIC_M },
	/* rol eax, 1 */
	{ "rol r32 1", NOPRE, 2, { 0xd1, 0xc0 },
	  0x80000000, 0, 1, CF_|OF_, CF_|OF_ },
	/* ror rax, 1 */
	{ "ror r64 1", NOPRE, 3, { 0x48, 0xd1, 0xc8 },
	  1, 0, 0x8000000000000000ull, CF_|OF_, CF_|OF_ },
	/* rol eax, 4 */
	{ "rol r32 4", NOPRE, 3, { 0xc1, 0xc0, 0x04 },
	  0xf0000000, 0, 0xf, CF_, CF_ },
	/* shl eax, cl   (cl = 0: the flags going in stay, EAX is zero-extended) */
	{ "shl r32 cl=0 keeps flags", PRE_CF1, 2, { 0xd3, 0xe0 },
	  0xffffffff00000005ull, 0, 5, CF_|ZF_|PF_|AF_, DEF },
	/* rol eax, cl   (cl = 0) */
	{ "rol r32 cl=0 keeps flags", PRE_CF1, 2, { 0xd3, 0xc0 },
	  0xffffffff00000005ull, 0, 5, CF_|ZF_|PF_|AF_, DEF },
	/* sar rax, cl   (cl = 0; AF after the XOR going in is undefined) */
	{ "sar r64 cl=0 keeps flags", PRE_CF0, 3, { 0x48, 0xd3, 0xf8 },
	  0x8000000000000000ull, 0, 0x8000000000000000ull, ZF_|PF_, DEF & ~AF_ },
	/* shr rax, cl   (cl = 4) */
	{ "shr r64 cl", NOPRE, 3, { 0x48, 0xd3, 0xe8 },
	  0x18, 4, 1, CF_, SHIFTN_M },
	/* shl rax, 1   (D1 form) */
	{ "shl r64 1 (D1 form)", NOPRE, 3, { 0x48, 0xd1, 0xe0 },
	  0x4000000000000000ull, 0, 0x8000000000000000ull, OF_|SF_|PF_, SHIFT1_M },
};

/* Readers put after the operation; r8 collects one bit per flag a Jcc saw set. */
enum { O_CF = 1, O_ZF = 2, O_OF = 4, O_SF = 8, O_PF = 16 };

/* CF and ZF first: straight from the lazy record; then the flags that need it written back */
static const uint8_t rd_jcc_czosp[] = {
	0x73, 0x04, 0x4d, 0x8d, 0x40, 0x01,	/* jnc +4; lea r8, [r8 + 1] */
	0x75, 0x04, 0x4d, 0x8d, 0x40, 0x02,	/* jnz +4; lea r8, [r8 + 2] */
	0x71, 0x04, 0x4d, 0x8d, 0x40, 0x04,	/* jno +4; lea r8, [r8 + 4] */
	0x79, 0x04, 0x4d, 0x8d, 0x40, 0x08,	/* jns +4; lea r8, [r8 + 8] */
	0x7b, 0x04, 0x4d, 0x8d, 0x40, 0x10,	/* jnp +4; lea r8, [r8 + 16] */
	0xf4,					/* hlt */
};
/* the other order: the first Jcc writes the record back, the rest read RFLAGS */
static const uint8_t rd_jcc_psozc[] = {
	0x7b, 0x04, 0x4d, 0x8d, 0x40, 0x10,	/* jnp +4; lea r8, [r8 + 16] */
	0x79, 0x04, 0x4d, 0x8d, 0x40, 0x08,	/* jns +4; lea r8, [r8 + 8] */
	0x71, 0x04, 0x4d, 0x8d, 0x40, 0x04,	/* jno +4; lea r8, [r8 + 4] */
	0x75, 0x04, 0x4d, 0x8d, 0x40, 0x02,	/* jnz +4; lea r8, [r8 + 2] */
	0x73, 0x04, 0x4d, 0x8d, 0x40, 0x01,	/* jnc +4; lea r8, [r8 + 1] */
	0xf4,					/* hlt */
};
/* CMOVcc and SETcc, then PUSHF (a generic instruction: the block ends before it) */
static const uint8_t rd_setcc_pushf[] = {
	0x4c, 0x0f, 0x42, 0xfe,			/* cmovc r15, rsi   (rsi = 1) */
	0x41, 0x0f, 0x94, 0xc3,			/* setz r11b */
	0x41, 0x0f, 0x92, 0xc2,			/* setc r10b */
	0x41, 0x0f, 0x90, 0xc4,			/* seto r12b */
	0x41, 0x0f, 0x98, 0xc5,			/* sets r13b */
	0x41, 0x0f, 0x9a, 0xc6,			/* setp r14b */
	0x9c,					/* pushfq */
	0x41, 0x59,				/* pop r9 */
	0xf4,					/* hlt */
};
/* PUSHF right after the operation */
static const uint8_t rd_pushf[] = { 0x9c, 0x41, 0x59, 0xf4 };	/* pushfq; pop r9; hlt */

static unsigned oracle_bits(uint64_t fl)
{
	return (fl & CF_ ? O_CF : 0) | (fl & ZF_ ? O_ZF : 0) | (fl & OF_ ? O_OF : 0) |
	       (fl & SF_ ? O_SF : 0) | (fl & PF_ ? O_PF : 0);
}

/* A machine running pre; op; @rd with the case's registers and the opposite of its flags. */
static struct env *case_machine(struct x86_cpu *cpu, const struct fcase *c, const uint8_t *rd, size_t rdlen)
{
	uint8_t code[64];
	size_t n = 0;

	memcpy(code + n, c->pre, c->prelen);
	n += c->prelen;
	memcpy(code + n, c->op, c->oplen);
	n += c->oplen;
	memcpy(code + n, rd, rdlen);
	n += rdlen;
	struct env *e = long_mode(cpu, code, n);

	cpu->gpr[X86_RAX] = c->rax;
	cpu->gpr[X86_RCX] = c->rcx;
	cpu->gpr[X86_RDX] = -1ull;
	cpu->gpr[X86_RSI] = 1;
	cpu->gpr[X86_RDI] = 0x1234;
	cpu->rflags = X86_FL_FIXED1 | (X86_FL_ARITH & ~c->flags);
	return e;
}

static void check_case(const struct fcase *c)
{
	struct x86_cpu cpu;
	struct x86_exit ex;
	struct env *e;
	unsigned om = oracle_bits(c->mask), want = oracle_bits(c->flags) & om;
	uint64_t fl = c->flags & c->mask;

	printf("  %s\n", c->name);
	/* Jcc, both orders */
	e = case_machine(&cpu, c, rd_jcc_czosp, sizeof(rd_jcc_czosp));
	assert_int_equal(run(&cpu, e, &ex), X86_EV_HLT);
	assert_int_equal(cpu.gpr[X86_RAX], c->res);
	assert_int_equal(cpu.gpr[X86_R8] & om, want);
	env_done(&cpu, e);
	e = case_machine(&cpu, c, rd_jcc_psozc, sizeof(rd_jcc_psozc));
	assert_int_equal(run(&cpu, e, &ex), X86_EV_HLT);
	assert_int_equal(cpu.gpr[X86_R8] & om, want);
	env_done(&cpu, e);
	/* CMOVcc, SETcc, then PUSHF */
	e = case_machine(&cpu, c, rd_setcc_pushf, sizeof(rd_setcc_pushf));
	assert_int_equal(run(&cpu, e, &ex), X86_EV_HLT);
	if (c->mask & CF_) {
		assert_int_equal(cpu.gpr[X86_R15], !!(fl & CF_));
		assert_int_equal(cpu.gpr[X86_R10] & 0xff, !!(fl & CF_));
	}
	if (c->mask & ZF_)
		assert_int_equal(cpu.gpr[X86_R11] & 0xff, !!(fl & ZF_));
	if (c->mask & OF_)
		assert_int_equal(cpu.gpr[X86_R12] & 0xff, !!(fl & OF_));
	if (c->mask & SF_)
		assert_int_equal(cpu.gpr[X86_R13] & 0xff, !!(fl & SF_));
	if (c->mask & PF_)
		assert_int_equal(cpu.gpr[X86_R14] & 0xff, !!(fl & PF_));
	assert_int_equal(cpu.gpr[X86_R9] & c->mask, fl);
	env_done(&cpu, e);
	/* PUSHF right after */
	e = case_machine(&cpu, c, rd_pushf, sizeof(rd_pushf));
	assert_int_equal(run(&cpu, e, &ex), X86_EV_HLT);
	assert_int_equal(cpu.gpr[X86_R9] & c->mask, fl);
	env_done(&cpu, e);
	/* the run ends right after the operation: RFLAGS holds its flags */
	e = case_machine(&cpu, c, rd_pushf, sizeof(rd_pushf));
	assert_int_equal(x86__run(&cpu, &ops, e, c->prelen ? 2 : 1, &ex), X86_EV_BUDGET);
	assert_int_equal(cpu.rflags & c->mask, fl);
	assert_int_equal(cpu.gpr[X86_RAX], c->res);
	env_done(&cpu, e);
}

static void test_flag_cases(void **st)
{
	(void)st;
	for (unsigned k = 0; k < ARRAY_SIZE(cases); k++)
		check_case(&cases[k]);
}

static const uint8_t code_lahf[] = {
	0xb8, 0x10, 0x00, 0x00, 0x00,		/* mov eax, 0x10 */
	0x83, 0xe8, 0x11,			/* sub eax, 0x11   CF AF SF PF */
	0x9f,					/* lahf */
	0xf4,					/* hlt */
};

/* Carry and borrow chains: multi-word arithmetic, the SBB mask idiom, CF from a shift and across INC. */
static const uint8_t code_chains[] = {
	0x48, 0xc7, 0xc0, 0xff, 0xff, 0xff, 0xff,	/* 00: mov rax, -1 */
	0x48, 0xc7, 0xc3, 0xff, 0xff, 0xff, 0xff,	/* 07: mov rbx, -1 */
	0xb9, 0x05, 0x00, 0x00, 0x00,			/* 0e: mov ecx, 5 */
	0x48, 0x83, 0xc0, 0x01,				/* 13: add rax, 1   rax = 0, CF */
	0x48, 0x83, 0xd3, 0x00,				/* 17: adc rbx, 0   rbx = 0, CF */
	0x48, 0x83, 0xd1, 0x00,				/* 1b: adc rcx, 0   rcx = 6, no CF */
	0x48, 0x83, 0xd2, 0x00,				/* 1f: adc rdx, 0   rdx = -1 stays */
	0x45, 0x31, 0xd2,				/* 23: xor r10d, r10d */
	0x41, 0xbb, 0x01, 0x00, 0x00, 0x00,		/* 26: mov r11d, 1 */
	0x41, 0xbc, 0x01, 0x00, 0x00, 0x00,		/* 2c: mov r12d, 1 */
	0x4d, 0x29, 0xe2,				/* 32: sub r10, r12   r10 = -1, CF */
	0x4d, 0x19, 0xeb,				/* 35: sbb r11, r13   r11 = 0, no CF */
	0x4d, 0x19, 0xf6,				/* 38: sbb r14, r14   r14 = 0 */
	0x4d, 0x39, 0xe3,				/* 3b: cmp r11, r12   CF */
	0x4d, 0x19, 0xff,				/* 3e: sbb r15, r15   r15 = -1 */
	0xb8, 0x03, 0x00, 0x00, 0x00,			/* 41: mov eax, 3 */
	0xc1, 0xe8, 0x01,				/* 46: shr eax, 1   eax = 1, CF */
	0x83, 0xd6, 0x00,				/* 49: adc esi, 0   esi = 1 */
	0x49, 0x83, 0xc4, 0xff,				/* 4c: add r12, -1   r12 = 0, CF */
	0x48, 0xff, 0xc7,				/* 50: inc rdi   CF kept */
	0x48, 0x83, 0xd5, 0x00,				/* 53: adc rbp, 0   rbp = 1 */
	0xf4,						/* 57: hlt */
};

/* INC/DEC keep CF; SETcc, Jcc and PUSHF after them */
static const uint8_t code_incdec_cf[] = {
	0x48, 0xc7, 0xc0, 0xff, 0xff, 0xff, 0xff,	/* 00: mov rax, -1 */
	0xbb, 0x05, 0x00, 0x00, 0x00,			/* 07: mov ebx, 5 */
	0x48, 0x83, 0xc0, 0x01,				/* 0c: add rax, 1   CF ZF */
	0x48, 0xff, 0xc3,				/* 10: inc rbx   rbx = 6, CF kept, not ZF */
	0x0f, 0x92, 0xc1,				/* 13: setc cl */
	0x0f, 0x94, 0xc2,				/* 16: setz dl */
	0x48, 0xff, 0xcb,				/* 19: dec rbx */
	0x48, 0xff, 0xcb,				/* 1c: dec rbx   rbx = 4, CF still kept */
	0x72, 0x01,					/* 1f: jc 22 */
	0xf4,						/* 21: hlt   (not reached) */
	0xf9,						/* 22: stc */
	0x48, 0xff, 0xc3,				/* 23: inc rbx   rbx = 5: CF PF */
	0x40, 0x0f, 0x92, 0xc6,				/* 26: setc sil */
	0x9c,						/* 2a: pushfq */
	0x41, 0x5a,					/* 2b: pop r10 */
	0xf4,						/* 2d: hlt */
};

/* INC/DEC on memory keep CF too (the data sits on the code page: each store also ends the block) */
static const uint8_t code_incdec_mem_cf[] = {
	0x48, 0xc7, 0xc0, 0xff, 0xff, 0xff, 0xff,	/* 00: mov rax, -1 */
	0x48, 0x83, 0xc0, 0x01,				/* 07: add rax, 1   CF */
	0xff, 0x05, 0x19, 0x00, 0x00, 0x00,		/* 0b: inc dword [rip + data] */
	0x0f, 0x92, 0xc1,				/* 11: setc cl */
	0xfe, 0x0d, 0x10, 0x00, 0x00, 0x00,		/* 14: dec byte [rip + data] */
	0x0f, 0x92, 0xc2,				/* 1a: setc dl */
	0x31, 0xc0,					/* 1d: xor eax, eax   no CF */
	0x48, 0xff, 0x05, 0x04, 0x00, 0x00, 0x00,	/* 1f: inc qword [rip + data] */
	0x0f, 0x92, 0xc3,				/* 26: setc bl */
	0xf4,						/* 29: hlt */
	0xff, 0xff, 0xff, 0x7f, 0x00, 0x00, 0x00, 0x00,	/* 2a: data: dq 0x7fffffff */
};

static void test_flag_sequences(void **st)
{
	struct x86_cpu cpu;
	struct x86_exit ex;
	struct env *e = long_mode(&cpu, code_lahf, sizeof(code_lahf));

	(void)st;
	cpu.rflags = X86_FL_FIXED1 | X86_FL_ZF | X86_FL_OF;
	assert_int_equal(run(&cpu, e, &ex), X86_EV_HLT);
	/* AH = SF ZF 0 AF 0 PF 1 CF */
	assert_int_equal((cpu.gpr[X86_RAX] >> 8) & 0xff, 0x80 | 0x10 | 0x04 | 0x02 | 0x01);
	env_done(&cpu, e);

	e = long_mode(&cpu, code_chains, sizeof(code_chains));
	cpu.gpr[X86_RDX] = -1ull;	/* a stale CF would carry into it */
	assert_int_equal(run(&cpu, e, &ex), X86_EV_HLT);
	assert_int_equal(cpu.gpr[X86_RAX], 1);
	assert_int_equal(cpu.gpr[X86_RBX], 0);
	assert_int_equal(cpu.gpr[X86_RCX], 6);
	assert_int_equal(cpu.gpr[X86_RDX], (uint64_t)-1);
	assert_int_equal(cpu.gpr[X86_R10], (uint64_t)-1);
	assert_int_equal(cpu.gpr[X86_R11], 0);
	assert_int_equal(cpu.gpr[X86_R14], 0);
	assert_int_equal(cpu.gpr[X86_R15], (uint64_t)-1);
	assert_int_equal(cpu.gpr[X86_RSI], 1);
	assert_int_equal(cpu.gpr[X86_R12], 0);
	assert_int_equal(cpu.gpr[X86_RDI], 1);
	assert_int_equal(cpu.gpr[X86_RBP], 1);
	assert_int_equal(cpu.rip, CODE + 0x58);
	env_done(&cpu, e);

	e = long_mode(&cpu, code_incdec_cf, sizeof(code_incdec_cf));
	assert_int_equal(run(&cpu, e, &ex), X86_EV_HLT);
	assert_int_equal(cpu.rip, CODE + 0x2e);	/* the JC was taken */
	assert_int_equal(cpu.gpr[X86_RCX] & 0xff, 1);
	assert_int_equal(cpu.gpr[X86_RDX] & 0xff, 0);
	assert_int_equal(cpu.gpr[X86_RSI] & 0xff, 1);
	assert_int_equal(cpu.gpr[X86_RBX], 5);
	assert_int_equal(cpu.gpr[X86_R10] & X86_FL_ARITH, X86_FL_CF | X86_FL_PF);
	env_done(&cpu, e);

	e = long_mode(&cpu, code_incdec_mem_cf, sizeof(code_incdec_mem_cf));
	cpu.gpr[X86_RBX] = 0xff;
	assert_int_equal(run(&cpu, e, &ex), X86_EV_HLT);
	assert_int_equal(cpu.rip, CODE + 0x2a);
	assert_int_equal(cpu.gpr[X86_RCX] & 0xff, 1);
	assert_int_equal(cpu.gpr[X86_RDX] & 0xff, 1);
	assert_int_equal(cpu.gpr[X86_RBX] & 0xff, 0);
	assert_int_equal(get64(e->ram, CODE + 0x2a), 0x80000100);
	env_done(&cpu, e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flag_cases),
		cmocka_unit_test(test_flag_sequences),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
