/*
 * The interpreter's decoder and executor on arbitrary bytes, in 16-bit real
 * mode, 32-bit protected mode and 64-bit long mode (CPL 0 or 3), for a
 * bounded instruction budget.  Memory is a 1 MiB heap buffer (ASan sees
 * every access past it); linear addresses above it are MMIO (reads answered
 * from the input) except one window that page-faults.  Exceptions go
 * through real GDT/IDT/TSS set-ups to handlers that either halt or run more
 * fuzzer bytes.  It must never crash, touch memory outside the buffer, or
 * run past the budget.
 *
 * Input: [mode u8][mmio fill u8][code...]
 *   mode & 3: 0 real, 1 protected 32-bit, 2/3 long 64-bit
 *   mode & 4: start at CPL 3 (protected/long)
 *   mode & 8: exception handlers are the code itself (else HLT)
 *   mode & 16: an external interrupt (vector 0x20) is pending, IF set
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"
#include "x86/x86.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM_SIZE	(1u << 20)
#define GDT		0x1000u
#define IDT		0x2000u
#define TSS		0x4000u
#define HANDLERS	0x5000u		/* 16 bytes per vector */
#define STACK		0x8000u
#define RSP0		0xa000u
#define CODE		0x10000u
#define FAULT_LO	0x100000ull	/* just past RAM: #PF */
#define FAULT_HI	0x140000ull
#define BUDGET		4096
#define MAX_EXITS	1024
#define REP_CHUNK_MAX	4096

struct env {
	uint8_t *ram;
	uint8_t fill;
	int irq;
	uint64_t budget_exits, internal;
};

static int e_translate(void *ctx, struct x86_cpu *cpu, uint64_t lin, unsigned acc,
		       struct x86_xlate *out)
{
	struct env *e = ctx;

	(void)cpu;
	if (lin < RAM_SIZE) {
		out->hva = e->ram + lin;
		out->gpa = lin;
		return X86_XLATE_RAM;
	}
	if (lin >= FAULT_LO && lin < FAULT_HI) {
		out->pfec = ((acc & X86_ACC_WRITE) ? X86_PFEC_W : 0) |
			    ((acc & X86_ACC_USER) ? X86_PFEC_U : 0) |
			    ((acc & X86_ACC_FETCH) ? X86_PFEC_I : 0);
		return X86_XLATE_FAULT;
	}
	out->gpa = lin;
	return X86_XLATE_MMIO;
}

static void e_flush(void *ctx, struct x86_cpu *cpu, unsigned why) { (void)ctx; (void)cpu; (void)why; }
static void e_invlpg(void *ctx, struct x86_cpu *cpu, uint64_t l) { (void)ctx; (void)cpu; (void)l; }
static bool e_rdmsr(void *ctx, struct x86_cpu *cpu, uint32_t msr, uint64_t *v)
{
	(void)ctx; (void)cpu;
	*v = msr;
	return (msr & 1) == 0;	/* half the unknown MSRs exist, half #GP */
}
static bool e_wrmsr(void *ctx, struct x86_cpu *cpu, uint32_t msr, uint64_t v)
{
	(void)ctx; (void)cpu; (void)v;
	return (msr & 1) == 0;
}
static int e_pending(void *ctx, struct x86_cpu *cpu)
{
	(void)cpu;
	return ((struct env *)ctx)->irq;
}
static void e_ack(void *ctx, struct x86_cpu *cpu, int v)
{
	(void)cpu; (void)v;
	((struct env *)ctx)->irq = -1;
}
static uint64_t e_tsc(void *ctx, struct x86_cpu *cpu)
{
	(void)ctx;
	return cpu->stats.insns * 10;	/* deterministic: inputs must replay */
}

static const struct x86_env_ops ops = {
	.translate = e_translate, .flush = e_flush, .invlpg = e_invlpg,
	.rdmsr = e_rdmsr, .wrmsr = e_wrmsr, .pending_irq = e_pending, .ack_irq = e_ack,
	.read_tsc = e_tsc,
};

static void put64(uint8_t *ram, uint64_t a, uint64_t v) { memcpy(ram + a, &v, 8); }

static void seg(struct x86_seg *s, uint16_t sel, bool code, unsigned dpl, bool l64)
{
	memset(s, 0, sizeof(*s));
	s->sel = sel | dpl;
	s->type = code ? 0xb : 0x3;
	s->s = s->present = s->g = 1;
	s->limit = 0xffffffff;
	s->l = code && l64;
	s->db = !(code && l64);
	s->dpl = dpl;
}

static void tables(uint8_t *ram, bool l64, bool fuzz_handlers)
{
	/* 0x08 code0 0x10 data0 0x18 code3 0x20 data3 0x28 code3-64 0x30 TSS (16 bytes). */
	put64(ram, GDT + 0x08, l64 ? 0x00af9b000000ffffull : 0x00cf9b000000ffffull);
	put64(ram, GDT + 0x10, 0x00cf93000000ffffull);
	put64(ram, GDT + 0x18, 0x00cffb000000ffffull);
	put64(ram, GDT + 0x20, 0x00cff3000000ffffull);
	put64(ram, GDT + 0x28, 0x00affb000000ffffull);
	put64(ram, GDT + 0x30, 0x0000890000000067ull | ((uint64_t)TSS << 16));
	for (unsigned v = 0; v < 256; v++) {
		uint32_t target = fuzz_handlers ? CODE + v : HANDLERS + v * 16;
		uint64_t lo = (target & 0xffff) | (0x08ull << 16) |
			      ((uint64_t)(l64 ? 0xe : 0xe) << 40) | (3ull << 45) | (1ull << 47) |
			      ((uint64_t)(target >> 16) << 48);

		if (l64) {
			put64(ram, IDT + v * 16, lo);
			put64(ram, IDT + v * 16 + 8, 0);
		} else {
			put64(ram, IDT + v * 8, lo);
		}
		/* Real-mode IVT entry at v*4: segment HANDLERS>>4, offset v*16. */
		ram[HANDLERS + v * 16] = 0xf4;
	}
	/* 64-bit TSS: RSP0 at 4; 32-bit TSS: ESP0 at 4, SS0 at 8. */
	put64(ram, TSS + 4, RSP0);
	if (!l64)
		put64(ram, TSS + 8, 0x10);
}

static void setup(struct x86_cpu *cpu, struct env *e, uint8_t mode)
{
	unsigned m = mode & 3, cpl = (mode & 4) ? 3 : 0;
	bool l64 = m >= 2;

	x86__reset(cpu);
	cpu->tsc_khz = 1000000;
	if (m == 0) {
		/* IVT at 0 overlaps nothing else: GDT/IDT are at 0x1000+. */
		for (unsigned v = 0; v < 256; v++) {
			uint16_t off = (mode & 8) ? (uint16_t)v : (uint16_t)(v * 16);
			uint16_t sg = (mode & 8) ? CODE >> 4 : HANDLERS >> 4;
			memcpy(e->ram + v * 4, &off, 2);
			memcpy(e->ram + v * 4 + 2, &sg, 2);
		}
		tables(e->ram, false, mode & 8);
		cpu->seg[X86_CS].sel = CODE >> 4;
		cpu->seg[X86_CS].base = CODE;
		cpu->rip = 0;
		cpu->gpr[X86_RSP] = STACK;
	} else {
		tables(e->ram, l64, mode & 8);
		cpu->cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE | (l64 ? X86_CR0_PG : 0);
		cpu->cr4 = X86_CR4_OSFXSR | (l64 ? X86_CR4_PAE : 0);
		cpu->efer = l64 ? X86_EFER_LME | X86_EFER_LMA | X86_EFER_SCE | X86_EFER_NXE : 0;
		for (unsigned s = 0; s < X86_NR_SREGS; s++) {
			bool code = s == X86_CS;
			uint16_t sel = cpl ? (code ? (l64 ? 0x28 : 0x18) : 0x20) : (code ? 0x08 : 0x10);
			seg(&cpu->seg[s], sel, code, cpl, l64);
		}
		cpu->gdtr.base = GDT;
		cpu->gdtr.limit = 0x3f;
		cpu->idtr.base = IDT;
		cpu->idtr.limit = l64 ? 0xfff : 0x7ff;
		memset(&cpu->tr, 0, sizeof(cpu->tr));
		cpu->tr.sel = 0x30;
		cpu->tr.type = 0xb;
		cpu->tr.present = 1;
		cpu->tr.base = TSS;
		cpu->tr.limit = 0x67;
		cpu->rip = CODE;
		cpu->gpr[X86_RSP] = STACK;
	}
	if (mode & 16) {
		cpu->rflags |= X86_FL_IF;
		e->irq = 0x20;
	} else {
		e->irq = -1;
	}
	x86__state_changed(cpu);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct x86_cpu *cpu;
	static uint8_t *ram;
	struct env e;
	struct x86_exit ex;
	uint64_t left = BUDGET, start;
	uint8_t mode, fill;

	if (size < 2)
		return 0;
	if (!cpu) {
		cpu = calloc(1, sizeof(*cpu));
		ram = aligned_alloc(4096, RAM_SIZE);
		if (!cpu || !ram)
			abort();
	}
	mode = data[0];
	fill = data[1];
	data += 2;
	size -= 2;
	memset(ram, 0, RAM_SIZE);
	memcpy(ram + CODE, data, MIN(size, (size_t)(RAM_SIZE - CODE)));
	e = (struct env){ .ram = ram, .fill = fill };
	x86__release(cpu);	/* the block cache: a fresh CPU per input */
	memset(cpu, 0, sizeof(*cpu));
	setup(cpu, &e, mode);

	for (int exits = 0; exits < MAX_EXITS && left; exits++) {
		uint8_t buf[8];

		start = cpu->stats.insns;
		enum x86_event ev = x86__run(cpu, &ops, &e, left, &ex);
		uint64_t ran = cpu->stats.insns - start;

		/*
		 * A REP instruction runs in chunks of up to 4096 iterations
		 * (x86_string.c REP_CHUNK) and the budget is checked between
		 * chunks, so one call may overshoot by less than a chunk.
		 */
		if (ran > left + REP_CHUNK_MAX) {
			fprintf(stderr, "x86__run retired %llu instructions on a budget of %llu\n",
				(unsigned long long)ran, (unsigned long long)left);
			abort();
		}
		left -= MIN(ran, left);
		switch (ev) {
		case X86_EV_IO:
			if (ex.io.size != 1 && ex.io.size != 2 && ex.io.size != 4)
				abort();
			if (!ex.io.is_write) {
				memset(buf, e.fill, sizeof(buf));
				x86__complete_io(cpu, buf, ex.io.size);
			}
			continue;
		case X86_EV_MMIO:
			if (ex.mmio.len < 1 || ex.mmio.len > 8)
				abort();
			if (!ex.mmio.is_write) {
				memset(buf, e.fill ^ (uint8_t)ex.mmio.gpa, sizeof(buf));
				x86__complete_mmio(cpu, buf, ex.mmio.len);
			}
			continue;
		case X86_EV_HYPERCALL:
			continue;
		case X86_EV_INTERNAL_ERROR:
			e.internal++;
			break;
		default:
			break;
		}
		break;
	}
	return 0;
}
