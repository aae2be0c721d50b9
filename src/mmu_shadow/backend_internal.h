/*
 * Private to the shadow backend (backend.c, backend_irq.c): the per-vCPU
 * state and the interrupt-controller glue backend.c calls.
 */
#ifndef MVM_SHADOW_BACKEND_INTERNAL_H
#define MVM_SHADOW_BACKEND_INTERNAL_H

#include "shadow.h"
#include "../irqchip/irqchip.h"
#include "../vm/vm.h"
#include "../x86/x86.h"

enum pending { PENDING_NONE, PENDING_IO_IN, PENDING_MMIO_READ, PENDING_OSI };

struct shadow_vcpu {
	struct x86_cpu cpu;
	struct shadow_mmu mmu;
	struct vcpu *v;
	struct shadow_irqchip *irq;
	size_t run_size;
	enum pending pending;
	uint32_t mp_state;
	int kicked;			/* atomic */
	/* irqchip: the IA32_APIC_BASE and CR8 values the LAPIC was last told about */
	uint64_t apic_base_seen, cr8_seen;
	/* trace.c: --trace insn (or NULL), SIGUSR2 dumps done, report after a triple fault */
	struct shadow_trace *trace;
	unsigned dump_seen;
	bool dump_ready, explain_shutdown;
};

static inline struct shadow_backend_vm *shadow__bvm(struct vm *vm)
{
	return vm->backend_priv;
}


/* backend_irq.c: the emulated LAPIC/IOAPIC/PIC/PIT and kvm-clock. */
struct irqchip *shadow__ic_of(struct shadow_vcpu *sv);
void shadow__env_cpuid(void *ctx, struct x86_cpu *cpu, uint32_t leaf, uint32_t subleaf,
		      uint32_t out[4]);
bool shadow__env_rdmsr(void *ctx, struct x86_cpu *cpu, uint32_t msr, uint64_t *val);
bool shadow__env_wrmsr(void *ctx, struct x86_cpu *cpu, uint32_t msr, uint64_t val);
int shadow__ic_pending(struct shadow_irqchip *chip, int vcpu_id);
void shadow__ic_ack(struct shadow_irqchip *chip, int vcpu_id, int vector);
extern const struct irqchip_ops shadow__ic_ops;
int shadow__env_pending_irq(void *ctx, struct x86_cpu *cpu);
void shadow__env_ack_irq(void *ctx, struct x86_cpu *cpu, int vector);
void shadow__ic_events(struct shadow_vcpu *sv);
bool shadow__ic_handle(struct shadow_vcpu *sv, enum x86_event ev, const struct x86_exit *e);

#endif
