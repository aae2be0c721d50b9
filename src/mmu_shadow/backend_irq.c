/*
 * The shadow backend's side of the emulated interrupt controllers and
 * timers (src/irqchip): what KVM's in-kernel irqchip, PIT and kvm-clock do
 * for the KVM backend.
 */
#include "backend_internal.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "../util/util.h"

/*
 * ---- irqchip: the emulated LAPIC/IOAPIC/PIC/PIT (src/irqchip) -------------------
 * They take KVM's in-kernel irqchip and PIT's place: their MMIO pages and
 * ports are served here and never exit to userspace.
 */
struct irqchip *shadow__ic_of(struct shadow_vcpu *sv)
{
	return sv->irq->opaque;
}

/* The interpreter owns IA32_APIC_BASE and CR8; tell the LAPIC when they moved. */
static void ic_sync(struct shadow_vcpu *sv)
{
	struct x86_cpu *cpu = &sv->cpu;

	if (cpu->msr.apic_base != sv->apic_base_seen) {
		sv->apic_base_seen = cpu->msr.apic_base;
		irqchip__set_apic_base(shadow__ic_of(sv), sv->v->id, cpu->msr.apic_base);
	}
	if (cpu->cr8 != sv->cr8_seen) {
		sv->cr8_seen = cpu->cr8;
		irqchip__set_cr8(shadow__ic_of(sv), sv->v->id, cpu->cr8);
	}
}

/* The model has a local APIC (xAPIC only) whose ID is the vCPU index. */
void shadow__env_cpuid(void *ctx, struct x86_cpu *cpu, uint32_t leaf, uint32_t subleaf,
		      uint32_t out[4])
{
	struct shadow_vcpu *sv = ctx;

	if (leaf == 1) {
		out[3] |= 1u << 9;
		out[1] = (out[1] & 0x00ffffffu) | ((uint32_t)sv->v->id << 24);
	} else if (leaf == 0x80000001) {
		out[3] |= 1u << 9;
	} else if (leaf == 6) {
		/*
		 * ARAT: the emulated LAPIC timer never stops in idle.  Without
		 * it Linux needs a broadcast timer for one-shot mode and, having
		 * none, keeps a periodic tick on every idle vCPU.
		 */
		out[0] |= 1u << 2;
	} else if (leaf == 0x40000001) {
		out[0] |= IRQCHIP_KVM_FEATURES;	/* kvm-clock, as the guest gets from KVM */
	}
}

/* MSRs the interpreter does not own: kvm-clock's. */
bool shadow__env_rdmsr(void *ctx, struct x86_cpu *cpu, uint32_t msr, uint64_t *val)
{
	struct shadow_vcpu *sv = ctx;

	return irqchip__kvmclock_rdmsr(shadow__ic_of(sv), sv->v->id, msr, val);
}

bool shadow__env_wrmsr(void *ctx, struct x86_cpu *cpu, uint32_t msr, uint64_t val)
{
	struct shadow_vcpu *sv = ctx;

	return irqchip__kvmclock_wrmsr(shadow__ic_of(sv), sv->v->id, &sv->v->vm->mem, msr, val,
				       cpu->tsc_khz, cpu->msr.tsc_offset);
}

int shadow__ic_pending(struct shadow_irqchip *chip, int vcpu_id)
{
	return irqchip__pending(chip->opaque, vcpu_id);
}

void shadow__ic_ack(struct shadow_irqchip *chip, int vcpu_id, int vector)
{
	irqchip__ack(chip->opaque, vcpu_id, vector);
}

/* A LAPIC got an interrupt or INIT/SIPI/NMI for @vcpu: wake it if it sleeps. */
static void ic_wake(void *opaque, int vcpu)
{
	struct shadow_irqchip *chip = &((struct shadow_backend_vm *)opaque)->irq;

	(void)vcpu;
	pthread_mutex_lock(&chip->lock);
	pthread_cond_broadcast(&chip->cond);
	pthread_mutex_unlock(&chip->lock);
}

const struct irqchip_ops shadow__ic_ops = { .wake = ic_wake };

int shadow__env_pending_irq(void *ctx, struct x86_cpu *cpu)
{
	struct shadow_vcpu *sv = ctx;
	struct shadow_irqchip *chip = sv->irq;

	if (chip->opaque)
		ic_sync(sv);
	return chip->pending_irq ? chip->pending_irq(chip, sv->v->id) : -1;
}

void shadow__env_ack_irq(void *ctx, struct x86_cpu *cpu, int vector)
{
	struct shadow_vcpu *sv = ctx;
	struct shadow_irqchip *chip = sv->irq;

	if (chip->ack_irq)
		chip->ack_irq(chip, sv->v->id, vector);
}

/* ---- irqchip: events, in-process devices, halts ---------------------------------- */

/* INIT, SIPI and NMI sent to this vCPU by a LAPIC or the IOAPIC. */
void shadow__ic_events(struct shadow_vcpu *sv)
{
	struct irqchip *ic = shadow__ic_of(sv);
	uint32_t vec, ev;

	if (!irqchip__peek_events(ic, sv->v->id))
		return;
	ev = irqchip__take_events(ic, sv->v->id, &vec);
	if (ev & IRQCHIP_EV_INIT) {
		/* INIT: the CPU and its LAPIC go to their INIT state and wait for SIPI. */
		uint64_t base = sv->cpu.msr.apic_base;

		x86__reset(&sv->cpu);
		sv->cpu.msr.apic_base = base;
		sv->cr8_seen = 0;
		irqchip__lapic_reset(ic, sv->v->id);
		shadow__flush(&sv->mmu, true);
		__atomic_store_n(&sv->mp_state, KVM_MP_STATE_UNINITIALIZED, __ATOMIC_RELEASE);
	}
	if ((ev & IRQCHIP_EV_SIPI) && sv->mp_state == KVM_MP_STATE_UNINITIALIZED) {
		/* SIPI only starts a CPU in wait-for-SIPI: real mode at vector << 12. */
		sv->cpu.seg[X86_CS].sel = (uint16_t)(vec << 8);
		sv->cpu.seg[X86_CS].base = (uint64_t)vec << 12;
		sv->cpu.rip = 0;
		sv->cpu.halted = false;
		x86__state_changed(&sv->cpu);
		__atomic_store_n(&sv->mp_state, KVM_MP_STATE_RUNNABLE, __ATOMIC_RELEASE);
	}
	if ((ev & IRQCHIP_EV_NMI) && sv->mp_state != KVM_MP_STATE_UNINITIALIZED)
		x86__inject_nmi(&sv->cpu);
}

static bool halt_ready(struct shadow_vcpu *sv)
{
	struct irqchip *ic = shadow__ic_of(sv);

	if (irqchip__peek_events(ic, sv->v->id))
		return true;
	return (sv->cpu.rflags & X86_FL_IF) && irqchip__pending(ic, sv->v->id) >= 0;
}

/*
 * HLT: sleep until an interrupt, NMI/INIT/SIPI, the next timer deadline or a
 * kick, as KVM's in-kernel LAPIC blocks the vCPU; never busy-waits.
 */
static void halt_wait(struct shadow_vcpu *sv)
{
	struct shadow_irqchip *chip = sv->irq;
	struct irqchip *ic = shadow__ic_of(sv);
	uint64_t dl;
	struct timespec ts;

	irqchip__poll(ic, sv->v->id);
	dl = irqchip__next_deadline(ic, sv->v->id);
	ts.tv_sec = (time_t)(dl / 1000000000ull);
	ts.tv_nsec = (long)(dl % 1000000000ull);
	pthread_mutex_lock(&chip->lock);
	while (!__atomic_load_n(&sv->kicked, __ATOMIC_ACQUIRE) && !halt_ready(sv)) {
		if (dl == IRQCHIP_NO_DEADLINE)
			pthread_cond_wait(&chip->cond, &chip->lock);
		else if (pthread_cond_timedwait(&chip->cond, &chip->lock, &ts) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&chip->lock);
}

/* Serve what the in-kernel irqchip would: true when @ev needs no exit. */
bool shadow__ic_handle(struct shadow_vcpu *sv, enum x86_event ev, const struct x86_exit *e)
{
	struct irqchip *ic = shadow__ic_of(sv);
	uint8_t data[8];

	switch (ev) {
	case X86_EV_MMIO:
		memcpy(data, e->mmio.data, sizeof(data));
		ic_sync(sv);
		if (!irqchip__mmio(ic, sv->v->id, e->mmio.gpa, data, e->mmio.len, e->mmio.is_write))
			return false;
		if (!e->mmio.is_write)
			x86__complete_mmio(&sv->cpu, data, e->mmio.len);
		else	/* a TPR write shows in CR8 */
			sv->cpu.cr8 = sv->cr8_seen = irqchip__get_cr8(ic, sv->v->id);
		return true;
	case X86_EV_IO:
		if (e->io.count != 1 || e->io.size > sizeof(data))
			return false;
		memcpy(data, e->io.data, e->io.size);
		if (!irqchip__pio(ic, e->io.port, data, e->io.size, e->io.is_write))
			return false;
		if (!e->io.is_write)
			x86__complete_io(&sv->cpu, data, e->io.size);
		return true;
	case X86_EV_HLT:
		/*
		 * HLT with IF=0 waits for NMI/INIT like KVM's in-kernel LAPIC,
		 * except on a lone vCPU where nothing could ever wake it: that
		 * one exits as without an irqchip, so "cli; hlt" ends a test.
		 */
		if (!(sv->cpu.rflags & X86_FL_IF) && sv->v->vm->nr_vcpus <= 1)
			return false;
		halt_wait(sv);
		return true;
	default:
		return false;
	}
}
