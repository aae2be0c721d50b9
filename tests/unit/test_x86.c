/*
 * Targeted tests of the x86 interpreter: exceptions and their delivery
 * (long mode IDT with IST and RSP0, real-mode IVT, #DF, triple fault), mode
 * switches, the IO/MMIO restart protocol, the STI shadow, SYSCALL/SYSRET,
 * SYSENTER/SYSEXIT, FXSAVE/FXRSTOR and hypercalls.  REP strings and LOCK are
 * in test_x86_memops.c, blocks in test_x86_block.c.
 *
 * Machine code below was assembled with GNU as (source in the comments).
 */
#include "x86_env.h"

static const uint8_t code_de[] = { 0x31, 0xc9, 0xb8, 0x05, 0x00, 0x00, 0x00, 0xf7, 0xf1 };
static const uint8_t code_gp_sel[] = { 0x66, 0xb8, 0x00, 0x01, 0x8e, 0xd8 };
static const uint8_t code_gp_canon[] = { 0x48, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x48, 0x8b, 0x18 };
static const uint8_t code_pf_write[] = { 0xb8, 0x10, 0x00, 0x30, 0x00, 0xc7, 0x00, 0x01, 0x00, 0x00, 0x00 };
static const uint8_t code_pf_fetch[] = { 0xb8, 0x00, 0x00, 0x30, 0x00, 0xff, 0xe0 };
static const uint8_t code_user_int3[] = { 0xcc };
static const uint8_t code_in[] = { 0x66, 0xba, 0xf8, 0x03, 0xec, 0x88, 0xc3, 0xf4 };
static const uint8_t code_out[] = { 0x66, 0xba, 0xf8, 0x03, 0xb0, 0x41, 0xee, 0xf4 };
static const uint8_t code_outs[] = { 0x66, 0xba, 0xf8, 0x03, 0xbe, 0x00, 0x00, 0x02, 0x00, 0xb9, 0x03, 0x00, 0x00, 0x00, 0xf3, 0x6e, 0xf4 };
static const uint8_t code_ins[] = { 0x66, 0xba, 0x60, 0x00, 0xbf, 0x00, 0x00, 0x02, 0x00, 0xb9, 0x02, 0x00, 0x00, 0x00, 0x66, 0xf3, 0x6d, 0xf4 };
static const uint8_t code_mmio[] = { 0xb8, 0x10, 0x00, 0x00, 0xd0, 0x8b, 0x08, 0x83, 0xc1, 0x01, 0x89, 0x48, 0x04, 0x83, 0x00, 0x05, 0xf4 };
static const uint8_t code_sti[] = { 0xfb, 0x90, 0xf4 };
static const uint8_t code_sti_hlt[] = { 0xfb, 0xf4 };
static const uint8_t code_syscall[] = { 0xb8, 0x07, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xf4 };
static const uint8_t code_sysret[] = { 0xb8, 0x09, 0x00, 0x00, 0x00, 0x48, 0x0f, 0x07 };
static const uint8_t code_vmcall[] = { 0xb8, 0x34, 0x12, 0x00, 0x00, 0x0f, 0x01, 0xc1, 0xf4 };
static const uint8_t code_loop[] = { 0xeb, 0xfe };
static const uint8_t code_rdmsr_bad[] = { 0xb9, 0x45, 0x23, 0x01, 0x00, 0x0f, 0x32 };
static const uint8_t code_modes[] = { 0xfa, 0x0f, 0x01, 0x16, 0x00, 0x11, 0x0f, 0x20, 0xc0, 0x66, 0x83, 0xc8, 0x01, 0x0f, 0x22, 0xc0, 0xea, 0x15, 0x7c, 0x18, 0x00, 0x66, 0xb8, 0x10, 0x00, 0x8e, 0xd8, 0x8e, 0xd0, 0xbc, 0x00, 0x70, 0x00, 0x00, 0x6a, 0x55, 0x5b, 0x0f, 0x20, 0xe0, 0x83, 0xc8, 0x20, 0x0f, 0x22, 0xe0, 0xb9, 0x80, 0x00, 0x00, 0xc0, 0x0f, 0x32, 0x0d, 0x00, 0x01, 0x00, 0x00, 0x0f, 0x30, 0xb8, 0x00, 0x90, 0x00, 0x00, 0x0f, 0x22, 0xd8, 0x0f, 0x20, 0xc0, 0x0d, 0x00, 0x00, 0x00, 0x80, 0x0f, 0x22, 0xc0, 0xea, 0x56, 0x7c, 0x00, 0x00, 0x08, 0x00, 0x48, 0xb8, 0x89, 0x67, 0x45, 0x23, 0x01, 0x00, 0x00, 0x00, 0x50, 0x59, 0xf4 };
static const uint8_t code_real[] = { 0xb8, 0x34, 0x12, 0xcd, 0x10, 0xbb, 0x00, 0x00, 0xb8, 0x07, 0x00, 0xf6, 0xf3, 0xf4 };

/* fxsave; clobber xmm0/1 and MXCSR.RC; cvtsd2si under RZ; fxrstor; cvtsd2si under RN;
 * fnstcw; fninit; fnstsw; stmxcsr; then a misaligned fxsave (#GP) */
static const uint8_t code_fx[] = { 0xbb, 0x00, 0x00, 0x02, 0x00, 0x0f, 0xae, 0x03, 0x66, 0x0f, 0xef, 0xc0, 0x66, 0x0f, 0x6f, 0xc8, 0x0f, 0xae, 0x9b, 0x00, 0x02, 0x00, 0x00, 0xc7, 0x83, 0x04, 0x02, 0x00, 0x00, 0x80, 0x7f, 0x00, 0x00, 0x0f, 0xae, 0x93, 0x04, 0x02, 0x00, 0x00, 0xf2, 0x0f, 0x2d, 0xc2, 0x0f, 0xae, 0x0b, 0xf2, 0x0f, 0x2d, 0xca, 0xd9, 0xbb, 0x08, 0x02, 0x00, 0x00, 0xdb, 0xe3, 0xdd, 0xbb, 0x0a, 0x02, 0x00, 0x00, 0x0f, 0xae, 0x9b, 0x0c, 0x02, 0x00, 0x00, 0x0f, 0xae, 0x43, 0x08 };
/* mov edx, 0x10100; mov ecx, 0x6800; sysenter */
static const uint8_t code_sysenter[] = { 0xba, 0x00, 0x01, 0x01, 0x00, 0xb9, 0x00, 0x68, 0x00, 0x00, 0x0f, 0x34 };
/* mov eax, 0x77; sysexitq */
static const uint8_t code_sysexit[] = { 0xb8, 0x77, 0x00, 0x00, 0x00, 0x48, 0x0f, 0x35 };

static void test_de(void **st)
{
	struct x86_cpu cpu;
	struct x86_exit ex;
	struct env *e = long_mode(&cpu, code_de, sizeof(code_de));
	enum x86_event ev = run(&cpu, e, &ex);

	(void)st;
	assert_in_handler(&cpu, ev, X86_EXC_DE);
	/* frame: RIP of the faulting DIV (no error code), CS, RFLAGS, RSP, SS */
	uint64_t sp = cpu.gpr[X86_RSP];

	assert_int_equal(sp, STACK - 40);
	assert_int_equal(get64(e->ram, sp), CODE + 7);
	assert_int_equal(get64(e->ram, sp + 8), 0x08);
	assert_int_equal(get64(e->ram, sp + 24), STACK);
	assert_int_equal(cpu.gpr[X86_RAX], 5);	/* nothing of DIV committed */
	assert_int_equal(cpu.stats.exceptions, 1);
	env_free(e);
}

static void test_ud(void **st)
{
	static const uint8_t ud2[] = { 0x0f, 0x0b };
	static const uint8_t pshufb[] = { 0x66, 0x0f, 0x38, 0x00, 0xc1 };	/* SSSE3: not advertised */
	struct x86_cpu cpu;
	struct x86_exit ex;
	struct env *e = long_mode(&cpu, ud2, sizeof(ud2));

	(void)st;
	assert_in_handler(&cpu, run(&cpu, e, &ex), X86_EXC_UD);
	assert_int_equal(cpu.stats.ud, 0);	/* UD2 is architectural, not "unimplemented" */
	assert_int_equal(get64(e->ram, cpu.gpr[X86_RSP]), CODE);
	env_free(e);
	e = long_mode(&cpu, pshufb, sizeof(pshufb));
	assert_in_handler(&cpu, run(&cpu, e, &ex), X86_EXC_UD);
	assert_int_equal(cpu.stats.ud, 1);
	assert_int_equal(cpu.stats.last_ud_rip, CODE);
	env_free(e);
}

static void test_gp(void **st)
{
	struct x86_cpu cpu;
	struct x86_exit ex;
	struct env *e = long_mode(&cpu, code_gp_sel, sizeof(code_gp_sel));

	(void)st;
	assert_in_handler(&cpu, run(&cpu, e, &ex), X86_EXC_GP);
	assert_int_equal(get64(e->ram, cpu.gpr[X86_RSP]), 0x100);	/* error code: selector */
	assert_int_equal(get64(e->ram, cpu.gpr[X86_RSP] + 8), CODE + 4);
	assert_int_equal(cpu.gpr[X86_RSP], STACK - 48);
	env_free(e);

	e = long_mode(&cpu, code_gp_canon, sizeof(code_gp_canon));
	assert_in_handler(&cpu, run(&cpu, e, &ex), X86_EXC_GP);
	assert_int_equal(get64(e->ram, cpu.gpr[X86_RSP]), 0);
	assert_int_equal(get64(e->ram, cpu.gpr[X86_RSP] + 8), CODE + 10);
	env_free(e);

	e = long_mode(&cpu, code_rdmsr_bad, sizeof(code_rdmsr_bad));
	assert_in_handler(&cpu, run(&cpu, e, &ex), X86_EXC_GP);
	assert_int_equal(get64(e->ram, cpu.gpr[X86_RSP] + 8), CODE + 5);
	env_free(e);
}

static void test_pf(void **st)
{
	struct x86_cpu cpu;
	struct x86_exit ex;
	struct env *e = long_mode(&cpu, code_pf_write, sizeof(code_pf_write));

	(void)st;
	assert_in_handler(&cpu, run(&cpu, e, &ex), X86_EXC_PF);
	assert_int_equal(cpu.cr2, 0x300010);
	assert_int_equal(get64(e->ram, cpu.gpr[X86_RSP]), X86_PFEC_W);
	assert_int_equal(get64(e->ram, cpu.gpr[X86_RSP] + 8), CODE + 5);
	env_free(e);

	e = long_mode(&cpu, code_pf_fetch, sizeof(code_pf_fetch));
	assert_in_handler(&cpu, run(&cpu, e, &ex), X86_EXC_PF);
	assert_int_equal(cpu.cr2, 0x300000);
	assert_int_equal(get64(e->ram, cpu.gpr[X86_RSP]), X86_PFEC_I);
	assert_int_equal(get64(e->ram, cpu.gpr[X86_RSP] + 8), 0x300000);	/* faulting RIP */
	env_free(e);
}

/* INT3 from CPL 3 through a DPL-3 gate: stack switch to TSS.RSP0. */
static void test_user_to_kernel(void **st)
{
	struct x86_cpu cpu;
	struct x86_exit ex;
	struct env *e = long_mode(&cpu, code_user_int3, sizeof(code_user_int3));

	(void)st;
	set_gate(e->ram, 3, HANDLERS + 3 * 16, 3, 0, true);
	seg(&cpu.seg[X86_CS], 0x2b, true, 3);
	seg(&cpu.seg[X86_SS], 0x23, false, 3);
	cpu.gpr[X86_RSP] = 0x6ff8;
	x86__state_changed(&cpu);
	assert_in_handler(&cpu, run(&cpu, e, &ex), X86_EXC_BP);
	assert_int_equal(cpu.gpr[X86_RSP], RSP0 - 40);
	assert_int_equal(get64(e->ram, RSP0 - 40), CODE + 1);	/* trap: after INT3 */
	assert_int_equal(get64(e->ram, RSP0 - 32), 0x2b);
	assert_int_equal(get64(e->ram, RSP0 - 16), 0x6ff8);
	assert_int_equal(get64(e->ram, RSP0 - 8), 0x23);
	assert_int_equal(cpu.seg[X86_CS].sel, 0x08);
	assert_int_equal(cpu.seg[X86_SS].sel, 0);	/* null SS at CPL 0 */
	env_free(e);

	/* the same from CPL 3 through a DPL-0 gate: #GP(vector*8+2) */
	e = long_mode(&cpu, code_user_int3, sizeof(code_user_int3));
	seg(&cpu.seg[X86_CS], 0x2b, true, 3);
	seg(&cpu.seg[X86_SS], 0x23, false, 3);
	x86__state_changed(&cpu);
	assert_in_handler(&cpu, run(&cpu, e, &ex), X86_EXC_GP);
	assert_int_equal(get64(e->ram, cpu.gpr[X86_RSP]), 3 * 8 + 2);
	env_free(e);
}

/* NMI through an IST gate, then IRETQ back. */
static void test_nmi_ist_iret(void **st)
{
	static const uint8_t code[] = { 0x90, 0x90, 0xf4 };
	static const uint8_t iretq[] = { 0x48, 0xcf };
	struct x86_cpu cpu;
	struct x86_exit ex;
	struct env *e = long_mode(&cpu, code, sizeof(code));

	(void)st;
	set_gate(e->ram, 2, HANDLERS + 2 * 16, 0, 1, true);
	memcpy(e->ram + HANDLERS + 2 * 16, iretq, sizeof(iretq));
	x86__inject_nmi(&cpu);
	assert_int_equal(x86__run(&cpu, &ops, e, 1, &ex), X86_EV_BUDGET);
	/* delivered before the first instruction, on the IST stack; IRETQ retired */
	assert_int_equal(cpu.rip, CODE);
	assert_int_equal(cpu.gpr[X86_RSP], STACK);
	assert_false(cpu.nmi_masked);
	assert_int_equal(get64(e->ram, IST1 - 40), CODE);
	assert_int_equal(run(&cpu, e, &ex), X86_EV_HLT);
	assert_int_equal(cpu.rip, CODE + 3);
	env_free(e);
}

static void test_double_and_triple_fault(void **st)
{
	struct x86_cpu cpu;
	struct x86_exit ex;
	struct env *e = long_mode(&cpu, code_gp_sel, sizeof(code_gp_sel));

	(void)st;
	/* #GP with a not-present #GP gate -> #NP while delivering -> #DF */
	set_gate(e->ram, X86_EXC_GP, HANDLERS + 13 * 16, 0, 0, false);
	assert_in_handler(&cpu, run(&cpu, e, &ex), X86_EXC_DF);
	assert_int_equal(get64(e->ram, cpu.gpr[X86_RSP]), 0);	/* #DF error code */
	env_free(e);

	/* #PF with a #PF gate whose stack faults -> #DF, on IST1 */
	e = long_mode(&cpu, code_pf_write, sizeof(code_pf_write));
	set_gate(e->ram, X86_EXC_DF, HANDLERS + 8 * 16, 0, 1, true);
	cpu.gpr[X86_RSP] = FAULT_HI;	/* pushes land in the fault window */
	assert_in_handler(&cpu, run(&cpu, e, &ex), X86_EXC_DF);
	assert_true(cpu.gpr[X86_RSP] < IST1 && cpu.gpr[X86_RSP] >= IST1 - 48);
	env_free(e);

	/* no usable IDT at all -> triple fault */
	e = long_mode(&cpu, code_de, sizeof(code_de));
	cpu.idtr.limit = 0;
	assert_int_equal(run(&cpu, e, &ex), X86_EV_SHUTDOWN);
	env_free(e);
}

static void test_real_mode_ivt(void **st)
{
	struct x86_cpu cpu;
	struct x86_exit ex;
	struct env *e = calloc(1, sizeof(*e));

	(void)st;
	e->ram = calloc(1, RAM_SIZE);
	e->irq = -1;
	memset(&cpu, 0, sizeof(cpu));
	x86__reset(&cpu);
	memcpy(e->ram + 0x7c00, code_real, sizeof(code_real));
	/* IVT[0x10] = 0060:0000 -> IRET; IVT[0] = 0000:0700 -> HLT */
	e->ram[0x600] = 0xcf;
	e->ram[0x700] = 0xf4;
	put64(e->ram, 0x10 * 4, 0x00600000);
	put64(e->ram, 0, 0x00000700);
	cpu.seg[X86_CS].sel = 0;
	cpu.seg[X86_CS].base = 0;
	cpu.rip = 0x7c00;
	cpu.gpr[X86_RSP] = 0x7000;
	cpu.rflags |= X86_FL_IF;
	assert_int_equal(run(&cpu, e, &ex), X86_EV_HLT);
	/* INT 10h went there and came back; DIV BL by zero -> IVT[0] */
	assert_int_equal(cpu.seg[X86_CS].sel, 0);
	assert_int_equal(cpu.rip, 0x701);
	assert_int_equal(cpu.gpr[X86_RSP], 0x7000 - 6);
	assert_int_equal(get16(e->ram, 0x7000 - 6), 0x7c0b);	/* fault IP: the DIV */
	assert_int_equal(get16(e->ram, 0x7000 - 4), 0);
	assert_true(get16(e->ram, 0x7000 - 2) & X86_FL_IF);
	assert_false(cpu.rflags & X86_FL_IF);
	assert_int_equal(cpu.gpr[X86_RAX] & 0xffff, 7);
	env_free(e);
}

static void test_mode_switch(void **st)
{
	struct x86_cpu cpu;
	struct x86_exit ex;
	struct env *e = long_mode(&cpu, code_de, 0);

	(void)st;
	memset(&cpu, 0, sizeof(cpu));
	x86__reset(&cpu);
	memcpy(e->ram + 0x7c00, code_modes, sizeof(code_modes));
	e->ram[0x1100] = 0x3f;	/* GDTR image: limit, base */
	e->ram[0x1102] = GDT & 0xff;
	e->ram[0x1103] = GDT >> 8;
	cpu.seg[X86_CS].sel = 0;
	cpu.seg[X86_CS].base = 0;
	cpu.rip = 0x7c00;
	cpu.cr0 = X86_CR0_ET;
	assert_int_equal(run(&cpu, e, &ex), X86_EV_HLT);
	assert_true(cpu.efer & X86_EFER_LMA);
	assert_true(cpu.seg[X86_CS].l);
	assert_int_equal(cpu.seg[X86_CS].sel, 0x08);
	assert_int_equal(cpu.gpr[X86_RCX], 0x123456789ull);
	assert_int_equal(cpu.gpr[X86_RBX], 0x55);
	assert_int_equal(cpu.cr3, 0x9000);
	assert_true(e->flushes >= 2);	/* CR0.PE, CR3, CR0.PG */
	assert_true(e->last_why & X86_FLUSH_CR0);
	assert_true(e->last_why & X86_FLUSH_EFER);
	struct kvm_sregs s;

	x86__get_sregs(&cpu, &s);
	assert_int_equal(s.cs.l, 1);
	assert_int_equal(s.gdt.base, GDT);
	env_free(e);
}

static void test_io_restart(void **st)
{
	struct x86_cpu cpu;
	struct x86_exit ex;
	struct env *e = long_mode(&cpu, code_in, sizeof(code_in));
	uint8_t v = 0x5a;

	(void)st;
	assert_int_equal(run(&cpu, e, &ex), X86_EV_IO);
	assert_int_equal(ex.io.port, 0x3f8);
	assert_int_equal(ex.io.size, 1);
	assert_int_equal(ex.io.is_write, 0);
	assert_int_equal(cpu.rip, CODE + 4);	/* not retired */
	/* an interrupt arriving now must not run before the completed IN */
	cpu.rflags |= X86_FL_IF;
	e->irq = 0x30;
	x86__complete_io(&cpu, &v, 1);
	assert_int_equal(x86__run(&cpu, &ops, e, 1, &ex), X86_EV_BUDGET);
	assert_int_equal(cpu.gpr[X86_RAX] & 0xff, 0x5a);
	assert_int_equal(cpu.rip, CODE + 5);
	assert_in_handler(&cpu, run(&cpu, e, &ex), 0x30);
	assert_int_equal(get64(e->ram, cpu.gpr[X86_RSP]), CODE + 5);
	env_free(e);

	e = long_mode(&cpu, code_out, sizeof(code_out));
	assert_int_equal(run(&cpu, e, &ex), X86_EV_IO);
	assert_int_equal(ex.io.is_write, 1);
	assert_int_equal(ex.io.data[0], 0x41);
	assert_int_equal(cpu.rip, CODE + 7);	/* retired */
	assert_int_equal(run(&cpu, e, &ex), X86_EV_HLT);
	env_free(e);

	e = long_mode(&cpu, code_outs, sizeof(code_outs));
	memcpy(e->ram + 0x20000, "abc", 3);
	for (unsigned k = 0; k < 3; k++) {
		assert_int_equal(run(&cpu, e, &ex), X86_EV_IO);
		assert_int_equal(ex.io.is_write, 1);
		assert_int_equal(ex.io.data[0], "abc"[k]);
	}
	assert_int_equal(run(&cpu, e, &ex), X86_EV_HLT);
	assert_int_equal(cpu.gpr[X86_RCX], 0);
	env_free(e);

	e = long_mode(&cpu, code_ins, sizeof(code_ins));
	for (unsigned k = 0; k < 2; k++) {
		uint16_t w = 0x1111 * (k + 1);

		assert_int_equal(run(&cpu, e, &ex), X86_EV_IO);
		assert_int_equal(ex.io.size, 2);
		assert_int_equal(ex.io.port, 0x60);
		x86__complete_io(&cpu, &w, 2);
	}
	assert_int_equal(run(&cpu, e, &ex), X86_EV_HLT);
	assert_int_equal(get32(e->ram, 0x20000), 0x22221111);
	assert_int_equal(cpu.gpr[X86_RDI], 0x20004);
	env_free(e);
}

static void test_mmio_restart(void **st)
{
	struct x86_cpu cpu;
	struct x86_exit ex;
	struct env *e = long_mode(&cpu, code_mmio, sizeof(code_mmio));
	uint32_t v = 41;

	(void)st;
	assert_int_equal(run(&cpu, e, &ex), X86_EV_MMIO);
	assert_int_equal(ex.mmio.gpa, MMIO_BASE + 0x10);
	assert_int_equal(ex.mmio.len, 4);
	assert_int_equal(ex.mmio.is_write, 0);
	assert_int_equal(cpu.rip, CODE + 5);
	x86__complete_mmio(&cpu, &v, 4);
	assert_int_equal(run(&cpu, e, &ex), X86_EV_MMIO);	/* the store */
	assert_int_equal(ex.mmio.gpa, MMIO_BASE + 0x14);
	assert_int_equal(ex.mmio.is_write, 1);
	assert_int_equal(get32(ex.mmio.data, 0), 42);
	/* RMW: read exit first, nothing committed, then the write with the result */
	uint64_t fl = cpu.rflags;

	assert_int_equal(run(&cpu, e, &ex), X86_EV_MMIO);
	assert_int_equal(ex.mmio.is_write, 0);
	assert_int_equal(cpu.rflags, fl);
	v = 0xfffffffb;
	x86__complete_mmio(&cpu, &v, 4);
	assert_int_equal(run(&cpu, e, &ex), X86_EV_MMIO);
	assert_int_equal(ex.mmio.is_write, 1);
	assert_int_equal(get32(ex.mmio.data, 0), 0);
	assert_true(cpu.rflags & X86_FL_ZF);
	assert_true(cpu.rflags & X86_FL_CF);
	assert_int_equal(run(&cpu, e, &ex), X86_EV_HLT);
	env_free(e);
}

static void test_sti_shadow_and_irq(void **st)
{
	struct x86_cpu cpu;
	struct x86_exit ex;
	struct env *e = long_mode(&cpu, code_sti, sizeof(code_sti));

	(void)st;
	e->irq = 0x20;
	/* IF=0: nothing taken; STI; the interrupt comes after the NOP, not before */
	assert_in_handler(&cpu, run(&cpu, e, &ex), 0x20);
	assert_int_equal(e->acked, 0x20);
	assert_int_equal(get64(e->ram, cpu.gpr[X86_RSP]), CODE + 2);
	assert_true(get64(e->ram, cpu.gpr[X86_RSP] + 16) & X86_FL_IF);
	env_free(e);

	/* sti; hlt: the interrupt wakes the HLT and returns after it */
	e = long_mode(&cpu, code_sti_hlt, sizeof(code_sti_hlt));
	assert_int_equal(run(&cpu, e, &ex), X86_EV_HLT);
	assert_int_equal(cpu.rip, CODE + 2);
	assert_true(cpu.halted);
	e->irq = 0x21;
	assert_in_handler(&cpu, run(&cpu, e, &ex), 0x21);
	assert_int_equal(get64(e->ram, cpu.gpr[X86_RSP]), CODE + 2);
	env_free(e);
}

static void test_syscall_sysret(void **st)
{
	struct x86_cpu cpu;
	struct x86_exit ex;
	struct env *e = long_mode(&cpu, code_syscall, sizeof(code_syscall));

	(void)st;
	memcpy(e->ram + 0x30000, code_sysret, sizeof(code_sysret));
	/* STAR: kernel CS 0x08 (SS 0x10), user base 0x18 -> CS 0x2b, SS 0x23 */
	assert_true(x86__set_msr(&cpu, X86_MSR_STAR, (0x18ull << 48) | (0x08ull << 32)));
	assert_true(x86__set_msr(&cpu, X86_MSR_LSTAR, 0x30000));
	assert_true(x86__set_msr(&cpu, X86_MSR_SFMASK, X86_FL_IF | X86_FL_DF));
	seg(&cpu.seg[X86_CS], 0x2b, true, 3);
	seg(&cpu.seg[X86_SS], 0x23, false, 3);
	cpu.rflags |= X86_FL_IF;
	x86__state_changed(&cpu);
	assert_int_equal(x86__run(&cpu, &ops, e, 2, &ex), X86_EV_BUDGET);
	assert_int_equal(cpu.rip, 0x30000);
	assert_int_equal(cpu.gpr[X86_RCX], CODE + 7);
	assert_true(cpu.gpr[X86_R11] & X86_FL_IF);
	assert_false(cpu.rflags & X86_FL_IF);
	assert_int_equal(cpu.seg[X86_CS].sel, 0x08);
	assert_int_equal(cpu.seg[X86_SS].sel, 0x10);
	assert_int_equal(run(&cpu, e, &ex), X86_EV_HLT);	/* sysretq back to the user HLT... */
	env_free(e);
}

static void test_hypercall_budget_cpuid(void **st)
{
	struct x86_cpu cpu;
	struct x86_exit ex;
	struct env *e = long_mode(&cpu, code_vmcall, sizeof(code_vmcall));
	uint32_t r[4];

	(void)st;
	assert_int_equal(run(&cpu, e, &ex), X86_EV_HYPERCALL);
	assert_int_equal(cpu.gpr[X86_RAX], 0x1234);
	assert_int_equal(cpu.rip, CODE + 8);
	env_free(e);

	e = long_mode(&cpu, code_loop, sizeof(code_loop));
	assert_int_equal(x86__run(&cpu, &ops, e, 1000, &ex), X86_EV_BUDGET);
	assert_int_equal(cpu.stats.insns, 1000);
	env_free(e);

	x86__cpuid(&cpu, 0, 0, r);
	assert_memory_equal(&r[1], "Auth", 4);
	x86__cpuid(&cpu, 1, 0, r);
	assert_true(r[3] & (1u << 26));	/* SSE2 */
	assert_true(r[2] & (1u << 31));	/* hypervisor */
	assert_false(r[2] & (1u << 0));	/* no SSE3: not implemented */
	x86__cpuid(&cpu, 0x80000001, 0, r);
	assert_true(r[3] & (1u << 29));	/* LM */
	x86__cpuid(&cpu, 0x40000000, 0, r);
	assert_memory_equal(&r[1], "KVMKVMKVM", 9);
}

static void test_fxsave_mxcsr_x87(void **st)
{
	struct x86_cpu cpu;
	struct x86_exit ex;
	struct env *e = long_mode(&cpu, code_fx, sizeof(code_fx));
	double d = 2.75;

	(void)st;
	memset(cpu.fpu.xmm[0], 0x11, 16);
	memset(cpu.fpu.xmm[1], 0x22, 16);
	memcpy(cpu.fpu.xmm[2], &d, 8);
	cpu.fpu.fcw = 0x27f;
	cpu.fpu.fsw = 0x0081;
	assert_in_handler(&cpu, run(&cpu, e, &ex), X86_EXC_GP);	/* misaligned FXSAVE at the end */
	assert_int_equal(get64(e->ram, cpu.gpr[X86_RSP] + 8), CODE + sizeof(code_fx) - 4);
	uint8_t x[16];

	memset(x, 0x11, 16);
	assert_memory_equal(cpu.fpu.xmm[0], x, 16);	/* restored by FXRSTOR */
	memset(x, 0x22, 16);
	assert_memory_equal(cpu.fpu.xmm[1], x, 16);
	assert_int_equal(cpu.gpr[X86_RAX], 2);	/* round toward zero */
	assert_int_equal(cpu.gpr[X86_RCX], 3);	/* round to nearest after FXRSTOR */
	assert_int_equal(get32(e->ram, 0x20000 + 24), 0x1f80);	/* MXCSR in the image */
	assert_int_equal(get32(e->ram, 0x20000 + 512), 0x1f80);
	assert_int_equal(get16(e->ram, 0x20000 + 0), 0x27f);	/* FCW */
	assert_int_equal(get16(e->ram, 0x20000 + 520), 0x27f);	/* FNSTCW */
	assert_int_equal(get16(e->ram, 0x20000 + 522), 0);	/* FNSTSW after FNINIT */
	assert_int_equal(cpu.fpu.fcw, 0x37f);
	/* the inexact CVTSD2SI after FXRSTOR set the sticky precision flag */
	assert_int_equal(get32(e->ram, 0x20000 + 524), 0x1fa0);
	assert_int_equal(cpu.fpu.mxcsr, 0x1fa0);
	assert_memory_equal(e->ram + 0x20000 + 160 + 32, cpu.fpu.xmm[2], 16);
	env_free(e);

	/* CR0.TS: #NM */
	e = long_mode(&cpu, code_fx, sizeof(code_fx));
	cpu.cr0 |= X86_CR0_TS;
	assert_in_handler(&cpu, run(&cpu, e, &ex), X86_EXC_NM);
	assert_int_equal(get64(e->ram, cpu.gpr[X86_RSP]), CODE + 5);
	env_free(e);
}

static void test_sysenter_sysexit(void **st)
{
	struct x86_cpu cpu;
	struct x86_exit ex;
	struct env *e = long_mode(&cpu, code_sysenter, sizeof(code_sysenter));

	(void)st;
	memcpy(e->ram + 0x30000, code_sysexit, sizeof(code_sysexit));
	e->ram[0x10100] = 0xf4;	/* user-mode HLT: #GP */
	assert_true(x86__set_msr(&cpu, X86_MSR_SYSENTER_CS, 0x08));
	assert_true(x86__set_msr(&cpu, X86_MSR_SYSENTER_EIP, 0x30000));
	assert_true(x86__set_msr(&cpu, X86_MSR_SYSENTER_ESP, 0x6000));
	cpu.rflags |= X86_FL_IF;
	assert_int_equal(x86__run(&cpu, &ops, e, 3, &ex), X86_EV_BUDGET);
	assert_int_equal(cpu.rip, 0x30000);
	assert_int_equal(cpu.gpr[X86_RSP], 0x6000);
	assert_int_equal(cpu.seg[X86_CS].sel, 0x08);
	assert_int_equal(cpu.seg[X86_SS].sel, 0x10);
	assert_false(cpu.rflags & X86_FL_IF);
	assert_int_equal(x86__run(&cpu, &ops, e, 2, &ex), X86_EV_BUDGET);
	assert_int_equal(cpu.rip, 0x10100);
	assert_int_equal(cpu.gpr[X86_RSP], 0x6800);
	assert_int_equal(cpu.seg[X86_CS].sel, 0x2b);
	assert_int_equal(cpu.seg[X86_SS].sel, 0x33);
	assert_int_equal(cpu.cpl, 3);
	assert_in_handler(&cpu, run(&cpu, e, &ex), X86_EXC_GP);
	assert_int_equal(get64(e->ram, RSP0 - 48 + 8), 0x10100);	/* HLT at CPL 3, on the RSP0 stack */
	env_free(e);
}

static void test_kvm_conversions(void **st)
{
	struct x86_cpu cpu, cpu2;
	struct kvm_regs r;
	struct kvm_sregs s;
	struct kvm_fpu f;
	struct env *e = long_mode(&cpu, code_loop, sizeof(code_loop));

	(void)st;
	cpu.gpr[X86_RBX] = 0xb;
	cpu.gpr[X86_R13] = 0xd;
	cpu.fpu.xmm[3][0] = 0x33;
	x86__get_regs(&cpu, &r);
	assert_int_equal(r.rbx, 0xb);
	assert_int_equal(r.r13, 0xd);
	assert_int_equal(r.rip, CODE);
	x86__get_sregs(&cpu, &s);
	x86__get_fpu(&cpu, &f);
	memset(&cpu2, 0, sizeof(cpu2));
	x86__reset(&cpu2);
	x86__set_regs(&cpu2, &r);
	x86__set_sregs(&cpu2, &s);
	x86__set_fpu(&cpu2, &f);
	assert_memory_equal(cpu.gpr, cpu2.gpr, sizeof(cpu.gpr));
	assert_memory_equal(cpu.seg, cpu2.seg, sizeof(cpu.seg));
	assert_int_equal(cpu2.fpu.xmm[3][0], 0x33);
	assert_int_equal(cpu2.efer, cpu.efer);
	struct x86_exit ex;

	assert_int_equal(x86__run(&cpu2, &ops, e, 10, &ex), X86_EV_BUDGET);
	env_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_de),
		cmocka_unit_test(test_ud),
		cmocka_unit_test(test_gp),
		cmocka_unit_test(test_pf),
		cmocka_unit_test(test_user_to_kernel),
		cmocka_unit_test(test_nmi_ist_iret),
		cmocka_unit_test(test_double_and_triple_fault),
		cmocka_unit_test(test_real_mode_ivt),
		cmocka_unit_test(test_mode_switch),
		cmocka_unit_test(test_io_restart),
		cmocka_unit_test(test_mmio_restart),
		cmocka_unit_test(test_sti_shadow_and_irq),
		cmocka_unit_test(test_syscall_sysret),
		cmocka_unit_test(test_hypercall_budget_cpuid),
		cmocka_unit_test(test_kvm_conversions),
		cmocka_unit_test(test_fxsave_mxcsr_x87),
		cmocka_unit_test(test_sysenter_sysexit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
