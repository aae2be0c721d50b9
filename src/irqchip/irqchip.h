/*
 * irqchip: the PC interrupt controllers and timers the in-process shadow
 * backend emulates where KVM has its in-kernel irqchip and PIT: one local
 * APIC per vCPU (xAPIC MMIO at 0xfee00000), the IOAPIC (0xfec00000, 24
 * pins), the 8259 PIC pair with ELCR, and the 8254 PIT with port 0x61.
 *
 * Only the shadow backend calls this module.  It serves the MMIO pages and
 * ports itself, asks irqchip__pending()/irqchip__ack() for the interpreter's
 * interrupt hooks, and calls irqchip__poll() between instruction slices and
 * irqchip__next_deadline() to bound a halt.
 *
 * Time: every timer runs on one nanosecond clock, CLOCK_MONOTONIC unless a
 * test supplies its own.  The interpreter's RDTSC is CLOCK_MONOTONIC scaled
 * to tsc_khz, so PIT-based TSC calibration in the guest measures exactly the
 * advertised frequency.  The APIC bus runs at 1 GHz, as KVM's.
 *
 * Locking: one VM-wide mutex covers the PIC, IOAPIC and PIT.  Each local
 * APIC belongs to its vCPU thread; other threads touch only its IRR/TMR and
 * event bits, with atomics (KVM's posted-interrupt scheme), then call the
 * wake hook.  irqchip__pending() never takes the mutex, so the backend may
 * call it under its own wait lock; the wake hook is called with the mutex
 * held, so it must not call back into this module.
 */
#ifndef MVM_IRQCHIP_H
#define MVM_IRQCHIP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "../mem/mem.h"

#define IRQCHIP_MAX_VCPUS	64
#define IRQCHIP_NR_PINS		24	/* IOAPIC pins = GSIs */
#define IRQCHIP_NR_ISA		16
#define IRQCHIP_LAPIC_BASE	0xfee00000ull
#define IRQCHIP_IOAPIC_BASE	0xfec00000ull
#define IRQCHIP_PAGE		0x1000ull
#define IRQCHIP_NO_DEADLINE	UINT64_MAX

#define PIT_FREQ_HZ		1193182ull
#define APIC_BUS_NS		1ull		/* 1 GHz APIC bus, as KVM */

/* Hooks the backend supplies. */
struct irqchip_ops {
	/* @vcpu may be halted or waiting for SIPI: make it re-check events. */
	void (*wake)(void *opaque, int vcpu);
	/* Nanosecond clock; NULL: CLOCK_MONOTONIC. */
	uint64_t (*now)(void *opaque);
};

/* Per-vCPU event bits, set by any thread, taken by the vCPU's own thread. */
#define IRQCHIP_EV_NMI		(1u << 0)
#define IRQCHIP_EV_INIT		(1u << 1)
#define IRQCHIP_EV_SIPI		(1u << 2)	/* vector in lapic.sipi_vector */

/* ---- local APIC ----------------------------------------------------------- */

struct lapic {
	struct irqchip *chip;
	int vcpu;
	bool present;
	/* Written by the owner, read by senders: atomic 32-bit accesses. */
	uint32_t id;			/* APIC ID register (id << 24) */
	uint32_t ldr, dfr;
	uint32_t hw_enabled;		/* IA32_APIC_BASE.EN */
	uint32_t sw_enabled;		/* SVR bit 8 */
	uint32_t lvt0;			/* LINT0: read by the PIC path */
	/* Set by anyone (atomics), cleared by the owner. */
	uint32_t irr[8], tmr[8];
	uint32_t dirty;			/* IRR or priority changed: recompute */
	uint32_t events;		/* IRQCHIP_EV_* */
	uint32_t sipi_vector;
	/* Owner thread only. */
	uint64_t apic_base;
	uint32_t isr[8];
	uint32_t tpr, svr, esr, esr_pending, icr_lo, icr_hi;
	uint32_t lvt_timer, lvt_thermal, lvt_perf, lvt1, lvt_err;
	uint32_t tdcr, tmict;
	uint64_t timer_start;		/* ns when the count was loaded (or re-armed) */
	uint64_t timer_deadline;	/* ns, IRQCHIP_NO_DEADLINE when idle */
	int cached;			/* vector to deliver, -1: none (valid when !dirty) */
	bool last_extint;		/* the vector pending_irq gave came from the PIC */
	/* kvm-clock MSRs of this vCPU (kvmclock.c) */
	uint64_t kvmclock_msr, wallclock_msr, kvmclock_offset;
};

/* ---- IOAPIC ----------------------------------------------------------------- */

struct ioapic {
	uint32_t id, regsel;
	uint64_t redir[IRQCHIP_NR_PINS];
	uint32_t irr;			/* line asserted (bit per pin) */
};

/* ---- 8259 PIC ----------------------------------------------------------------- */

struct pic8259 {
	uint8_t irr, imr, isr, elcr, elcr_mask;
	uint8_t last_irr;		/* edge detection */
	uint8_t priority_add;		/* rotation: highest priority line */
	uint8_t irq_base, read_reg_select, poll, special_mask;
	uint8_t init_state, init4, auto_eoi, rotate_on_auto_eoi;
	uint8_t special_fully_nested, single_mode;
};

/* ---- 8254 PIT --------------------------------------------------------------- */

struct pit_channel {
	uint32_t count;			/* 1..0x10000 */
	uint16_t latched_count;
	uint8_t count_latched;		/* rw mode of the latch, 0: none */
	uint8_t status_latched, status;
	uint8_t read_state, write_state, write_latch;
	uint8_t rw_mode, mode, bcd, gate;
	uint64_t load_ns;		/* when counting began */
	uint64_t next_irq_ns;		/* channel 0: next IRQ0 edge */
};

struct pit8254 {
	struct pit_channel ch[3];
	uint8_t speaker_data_on;
};

/* ---- the VM-wide chip -------------------------------------------------------- */

struct irqchip {
	pthread_mutex_t lock;
	const struct irqchip_ops *ops;
	void *opaque;
	struct ioapic ioapic;
	struct pic8259 pic[2];
	struct pit8254 pit;
	uint32_t line_level;		/* GSI input levels, for edge detection */
	int pic_vector;			/* atomic: vector the PIC would give, -1 none */
	uint64_t pit_deadline;		/* atomic: next channel-0 IRQ, ns */
	int nr_ioapic_id;		/* IOAPIC ID (= number of vCPUs in the MADT) */
	struct lapic lapic[IRQCHIP_MAX_VCPUS];
	int max_vcpu;			/* highest present index + 1 */
};

/* The vCPU's LAPIC, or NULL when @vcpu is out of range or not created yet. */
static inline struct lapic *irqchip__lapic_of(struct irqchip *chip, int vcpu)
{
	if (vcpu < 0 || vcpu >= IRQCHIP_MAX_VCPUS || !chip->lapic[vcpu].present)
		return NULL;
	return &chip->lapic[vcpu];
}

/* ---- API for the backend ------------------------------------------------------ */

/* Allocate the chip: -ENOMEM. */
int irqchip__create(struct irqchip **out, const struct irqchip_ops *ops, void *opaque)
	__attribute__((warn_unused_result));
void irqchip__destroy(struct irqchip *chip);

/* A vCPU comes into existence (index = APIC ID); vCPU 0 is the BSP. -EINVAL. */
int irqchip__vcpu_init(struct irqchip *chip, int vcpu);

uint64_t irqchip__now(struct irqchip *chip);

/* Input line @gsi (0..23) goes to @level; ISA lines 0-15 also feed the PIC. */
int irqchip__set_irq(struct irqchip *chip, uint32_t gsi, int level);

/* Ports and MMIO the chip owns: true when served (reads fill @data). */
bool irqchip__pio(struct irqchip *chip, uint16_t port, uint8_t *data, unsigned len, bool is_write);
bool irqchip__mmio(struct irqchip *chip, int vcpu, uint64_t gpa, uint8_t *data, unsigned len,
		   bool is_write);

/* Interpreter hooks: vector or -1 (no side effect), then the CPU took it. */
int irqchip__pending(struct irqchip *chip, int vcpu);
void irqchip__ack(struct irqchip *chip, int vcpu, int vector);

/* Take (clear) the vCPU's IRQCHIP_EV_* bits; *sipi_vector for EV_SIPI. */
uint32_t irqchip__take_events(struct irqchip *chip, int vcpu, uint32_t *sipi_vector);
/* Non-destructive: any NMI/INIT/SIPI waiting? */
uint32_t irqchip__peek_events(struct irqchip *chip, int vcpu);

/* Fire expired timers (own LAPIC timer, PIT).  Call between slices. */
void irqchip__poll(struct irqchip *chip, int vcpu);
/* Earliest ns deadline this vCPU should wake for, IRQCHIP_NO_DEADLINE if none. */
uint64_t irqchip__next_deadline(struct irqchip *chip, int vcpu);

/* IA32_APIC_BASE as the guest wrote it (the interpreter owns the MSR). */
void irqchip__set_apic_base(struct irqchip *chip, int vcpu, uint64_t val);
/* INIT: the local APIC returns to its power-up state (ID kept). */
void irqchip__lapic_reset(struct irqchip *chip, int vcpu);
/* CR8 <-> TPR (CR8 = TPR[7:4]). */
void irqchip__set_cr8(struct irqchip *chip, int vcpu, uint64_t cr8);
uint64_t irqchip__get_cr8(struct irqchip *chip, int vcpu);

/*
 * kvm-clock (kvmclock.c): the KVM_FEATURE_CLOCKSOURCE{,2,_STABLE_BIT} MSRs.
 * rdmsr/wrmsr: true when @msr is one of them.  The pvclock records go to
 * guest RAM through @mem; a non-RAM address is ignored.  refresh: call when
 * the vCPU's tsc_offset may have changed (a guest TSC write).
 */
#define IRQCHIP_KVM_FEATURES	((1u << 0) | (1u << 3) | (1u << 24))
bool irqchip__kvmclock_rdmsr(struct irqchip *chip, int vcpu, uint32_t msr, uint64_t *val);
bool irqchip__kvmclock_wrmsr(struct irqchip *chip, int vcpu, struct guest_mem *mem, uint32_t msr,
			     uint64_t val, uint64_t tsc_khz, uint64_t tsc_offset);
void irqchip__kvmclock_refresh(struct irqchip *chip, int vcpu, struct guest_mem *mem,
			       uint64_t tsc_khz, uint64_t tsc_offset);

/* ---- module internal ------------------------------------------------------------- */

/* lapic.c */
void lapic_init(struct lapic *l, struct irqchip *chip, int vcpu);
void lapic_reset(struct lapic *l);
void lapic_mmio(struct lapic *l, uint32_t off, uint8_t *data, unsigned len, bool is_write);
int lapic_pending(struct lapic *l);
void lapic_ack(struct lapic *l, int vector);
void lapic_poll(struct lapic *l, uint64_t now);
uint32_t lapic_timer_current(struct lapic *l, uint64_t now);
/* Deliver from an IOAPIC/ICR/MSI message.  Call with or without chip->lock. */
void irqchip_deliver(struct irqchip *chip, int src_vcpu, uint32_t dest, bool logical,
		     unsigned mode, unsigned vector, bool level, unsigned shorthand);
void lapic_accept(struct lapic *l, unsigned mode, unsigned vector, bool level_trig);

/* ioapic.c (chip->lock held) */
void ioapic_reset(struct ioapic *io);
void ioapic_set_irq(struct irqchip *chip, int pin, int level);
void ioapic_eoi(struct irqchip *chip, unsigned vector);
void ioapic_mmio(struct irqchip *chip, uint32_t off, uint8_t *data, unsigned len, bool is_write);

/* pic.c (chip->lock held) */
void pic_reset(struct irqchip *chip);
void pic_set_irq(struct irqchip *chip, int irq, int level);
int pic_ack(struct irqchip *chip);		/* INTA: the vector */
uint8_t pic_read(struct irqchip *chip, uint16_t port);
void pic_write(struct irqchip *chip, uint16_t port, uint8_t val);

/* pit.c (chip->lock held) */
void pit_reset(struct irqchip *chip);
uint8_t pit_read(struct irqchip *chip, uint16_t port);
void pit_write(struct irqchip *chip, uint16_t port, uint8_t val);
void pit_poll(struct irqchip *chip, uint64_t now);

#endif
