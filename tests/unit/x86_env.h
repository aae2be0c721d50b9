/*
 * A flat 64-bit test machine for the x86 interpreter: 4 MiB of RAM, an
 * unmapped window (FAULT_LO..FAULT_HI and everything above RAM), one MMIO
 * page at MMIO_BASE, a GDT, an IDT whose every vector points at a HLT, and
 * a TSS with RSP0 and IST1.  Shared by the test_x86*.c unit tests.
 */
#ifndef MVM_TESTS_X86_ENV_H
#define MVM_TESTS_X86_ENV_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "x86/x86.h"

#define RAM_SIZE	(4u << 20)
#define MMIO_BASE	0xd0000000ull
#define FAULT_LO	0x300000ull
#define FAULT_HI	0x301000ull
#define GDT		0x1000u
#define IDT		0x2000u
#define HANDLERS	0x3000u
#define TSS		0x5000u
#define CODE		0x10000u
#define STACK		0x7000u
#define RSP0		0x8000u
#define IST1		0x9000u

struct env {
	uint8_t *ram;
	unsigned flushes, last_why, invlpgs;
	int irq;		/* vector pending_irq returns, -1 none */
	int acked;
};

static inline int t_translate(void *ctx, struct x86_cpu *cpu, uint64_t lin, unsigned acc, struct x86_xlate *out)
{
	struct env *e = ctx;

	(void)cpu;
	if ((lin >= FAULT_LO && lin < FAULT_HI) || (lin >= RAM_SIZE && (lin < MMIO_BASE || lin >= MMIO_BASE + 0x1000))) {
		out->pfec = ((acc & X86_ACC_WRITE) ? X86_PFEC_W : 0) | ((acc & X86_ACC_USER) ? X86_PFEC_U : 0) |
			    ((acc & X86_ACC_FETCH) ? X86_PFEC_I : 0);
		return X86_XLATE_FAULT;
	}
	if (lin >= MMIO_BASE) {
		out->gpa = lin;
		return X86_XLATE_MMIO;
	}
	out->hva = e->ram + lin;
	out->gpa = lin;
	return X86_XLATE_RAM;
}

static inline void t_flush(void *ctx, struct x86_cpu *cpu, unsigned why)
{
	struct env *e = ctx;

	(void)cpu;
	e->flushes++;
	e->last_why = why;
}

static inline void t_invlpg(void *ctx, struct x86_cpu *cpu, uint64_t lin)
{
	(void)cpu; (void)lin;
	((struct env *)ctx)->invlpgs++;
}

static inline int t_pending(void *ctx, struct x86_cpu *cpu)
{
	(void)cpu;
	return ((struct env *)ctx)->irq;
}

static inline void t_ack(void *ctx, struct x86_cpu *cpu, int v)
{
	struct env *e = ctx;

	(void)cpu;
	e->acked = v;
	e->irq = -1;
}

/* the test machine's callbacks */
__attribute__((unused)) static const struct x86_env_ops ops = {
	.translate = t_translate, .flush = t_flush, .invlpg = t_invlpg,
	.pending_irq = t_pending, .ack_irq = t_ack,
};

static inline void put64(uint8_t *ram, uint64_t a, uint64_t v) { memcpy(ram + a, &v, 8); }
static inline uint64_t get64(const uint8_t *ram, uint64_t a) { uint64_t v; memcpy(&v, ram + a, 8); return v; }
static inline uint32_t get32(const uint8_t *ram, uint64_t a) { uint32_t v; memcpy(&v, ram + a, 4); return v; }
static inline uint16_t get16(const uint8_t *ram, uint64_t a) { uint16_t v; memcpy(&v, ram + a, 2); return v; }

static inline void seg(struct x86_seg *s, uint16_t sel, bool code, unsigned dpl)
{
	memset(s, 0, sizeof(*s));
	s->sel = sel;
	s->type = code ? 0xb : 0x3;
	s->s = s->present = s->g = 1;
	s->limit = 0xffffffff;
	s->l = code;
	s->db = !code;
	s->dpl = dpl;
}

static inline void set_gate(uint8_t *ram, unsigned vec, uint64_t target, unsigned dpl, unsigned ist, bool present)
{
	uint64_t lo = (target & 0xffff) | (0x08ull << 16) | ((uint64_t)ist << 32) | (0xeull << 40) |
		      ((uint64_t)dpl << 45) | ((uint64_t)present << 47) | ((target >> 16) << 48);

	put64(ram, IDT + vec * 16, lo);
	put64(ram, IDT + vec * 16 + 8, target >> 32);
}

/* Flat 64-bit machine: GDT, IDT with a HLT handler per vector, TSS. */
static inline struct env *long_mode(struct x86_cpu *cpu, const uint8_t *code, size_t len)
{
	struct env *e = calloc(1, sizeof(*e));

	/* page-aligned like a backend's RAM (a struct x86_codemap counts host pages from it) */
	e->ram = aligned_alloc(4096, RAM_SIZE);
	memset(e->ram, 0, RAM_SIZE);
	e->irq = -1;
	put64(e->ram, GDT + 0x08, 0x00af9b000000ffffull);
	put64(e->ram, GDT + 0x10, 0x00cf93000000ffffull);
	put64(e->ram, GDT + 0x18, 0x00cf9b000000ffffull);
	put64(e->ram, GDT + 0x20, 0x00cff3000000ffffull);
	put64(e->ram, GDT + 0x28, 0x00affb000000ffffull);
	put64(e->ram, GDT + 0x30, 0x0000890000000067ull | ((uint64_t)TSS << 16));
	for (unsigned v = 0; v < 256; v++) {
		set_gate(e->ram, v, HANDLERS + v * 16, 0, 0, true);
		e->ram[HANDLERS + v * 16] = 0xf4;
	}
	put64(e->ram, TSS + 4, RSP0);
	put64(e->ram, TSS + 0x24, IST1);
	memcpy(e->ram + CODE, code, len);

	memset(cpu, 0, sizeof(*cpu));
	x86__reset(cpu);
	cpu->cr0 = X86_CR0_PE | X86_CR0_PG | X86_CR0_ET | X86_CR0_NE;
	cpu->cr4 = X86_CR4_PAE | X86_CR4_OSFXSR;
	cpu->efer = X86_EFER_LME | X86_EFER_LMA | X86_EFER_SCE | X86_EFER_NXE;
	for (unsigned s = 0; s < X86_NR_SREGS; s++)
		seg(&cpu->seg[s], s == X86_CS ? 0x08 : 0x10, s == X86_CS, 0);
	cpu->gdtr.base = GDT;
	cpu->gdtr.limit = 0x3f;
	cpu->idtr.base = IDT;
	cpu->idtr.limit = 0xfff;
	memset(&cpu->tr, 0, sizeof(cpu->tr));
	cpu->tr.sel = 0x30;
	cpu->tr.type = 0xb;
	cpu->tr.present = 1;
	cpu->tr.base = TSS;
	cpu->tr.limit = 0x67;
	cpu->rip = CODE;
	cpu->gpr[X86_RSP] = STACK;
	x86__state_changed(cpu);
	return e;
}

static inline void env_free(struct env *e)
{
	free(e->ram);
	free(e);
}

/* env_free() plus the interpreter's own allocations for @cpu (its block cache). */
static inline void env_done(struct x86_cpu *cpu, struct env *e)
{
	x86__release(cpu);
	env_free(e);
}

static inline enum x86_event run(struct x86_cpu *cpu, struct env *e, struct x86_exit *ex)
{
	return x86__run(cpu, &ops, e, 1000000, ex);
}

/* Handler for @vec reached and halted. */
static inline void assert_in_handler(struct x86_cpu *cpu, enum x86_event ev, unsigned vec)
{
	assert_int_equal(ev, X86_EV_HLT);
	assert_int_equal(cpu->rip, HANDLERS + vec * 16 + 1);
}

#endif
