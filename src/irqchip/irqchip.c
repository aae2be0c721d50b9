/*
 * The chip as a whole: creation, the clock, GSI routing (KVM's default
 * routing as QEMU sets it up: ISA lines feed the PIC and the IOAPIC pin of
 * the same number, IRQ0 of the PIT goes to IOAPIC pin 2 per the MADT
 * override), and the per-vCPU entry points the shadow backend calls.
 */
#include "irqchip.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

static uint64_t monotonic_ns(void *opaque)
{
	struct timespec ts;

	(void)opaque;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t irqchip__now(struct irqchip *chip)
{
	return chip->ops->now ? chip->ops->now(chip->opaque) : monotonic_ns(NULL);
}

int irqchip__create(struct irqchip **out, const struct irqchip_ops *ops, void *opaque)
{
	struct irqchip *chip = calloc(1, sizeof(*chip));

	if (!chip)
		return -ENOMEM;
	pthread_mutex_init(&chip->lock, NULL);
	chip->ops = ops;
	chip->opaque = opaque;
	ioapic_reset(&chip->ioapic);
	pic_reset(chip);
	pit_reset(chip);
	*out = chip;
	return 0;
}

void irqchip__destroy(struct irqchip *chip)
{
	if (!chip)
		return;
	pthread_mutex_destroy(&chip->lock);
	free(chip);
}

int irqchip__vcpu_init(struct irqchip *chip, int vcpu)
{
	if (vcpu < 0 || vcpu >= IRQCHIP_MAX_VCPUS)
		return -EINVAL;
	pthread_mutex_lock(&chip->lock);
	lapic_init(&chip->lapic[vcpu], chip, vcpu);
	if (vcpu + 1 > chip->max_vcpu)
		chip->max_vcpu = vcpu + 1;
	/* The MADT numbers the IOAPIC after the last CPU. */
	chip->ioapic.id = chip->max_vcpu;
	pthread_mutex_unlock(&chip->lock);
	return 0;
}

int irqchip__set_irq(struct irqchip *chip, uint32_t gsi, int level)
{
	if (gsi >= IRQCHIP_NR_PINS)
		return -EINVAL;
	pthread_mutex_lock(&chip->lock);
	if (level)
		chip->line_level |= 1u << gsi;
	else
		chip->line_level &= ~(1u << gsi);
	ioapic_set_irq(chip, gsi, level);
	/* PIC IRQ2 is the cascade: GSI 2 is ISA IRQ0 (the PIT's), which feeds PIC IRQ0. */
	if (gsi < IRQCHIP_NR_ISA)
		pic_set_irq(chip, gsi == 2 ? 0 : (int)gsi, level);
	pthread_mutex_unlock(&chip->lock);
	return 0;
}

static bool is_pic_port(uint16_t port)
{
	return port == 0x20 || port == 0x21 || port == 0xa0 || port == 0xa1 || port == 0x4d0 ||
	       port == 0x4d1;
}

static bool is_pit_port(uint16_t port)
{
	return (port >= 0x40 && port <= 0x43) || port == 0x61;
}

bool irqchip__pio(struct irqchip *chip, uint16_t port, uint8_t *data, unsigned len, bool is_write)
{
	if (!is_pic_port(port) && !is_pit_port(port))
		return false;
	pthread_mutex_lock(&chip->lock);
	/* Wider accesses hit consecutive ports, as on the ISA bus. */
	for (unsigned i = 0; i < len; i++) {
		uint16_t p = port + i;

		if (is_write) {
			if (is_pic_port(p))
				pic_write(chip, p, data[i]);
			else if (is_pit_port(p))
				pit_write(chip, p, data[i]);
		} else {
			data[i] = is_pic_port(p) ? pic_read(chip, p) :
				  is_pit_port(p) ? pit_read(chip, p) : 0xff;
		}
	}
	pthread_mutex_unlock(&chip->lock);
	return true;
}

bool irqchip__mmio(struct irqchip *chip, int vcpu, uint64_t gpa, uint8_t *data, unsigned len,
		   bool is_write)
{
	struct lapic *l = irqchip__lapic_of(chip, vcpu);
	uint64_t base;

	if (l && __atomic_load_n(&l->hw_enabled, __ATOMIC_RELAXED)) {
		base = l->apic_base & ~0xfffull;
		if (gpa >= base && gpa + len <= base + IRQCHIP_PAGE) {
			lapic_mmio(l, gpa - base, data, len, is_write);
			return true;
		}
	}
	if (gpa >= IRQCHIP_IOAPIC_BASE && gpa + len <= IRQCHIP_IOAPIC_BASE + IRQCHIP_PAGE) {
		pthread_mutex_lock(&chip->lock);
		ioapic_mmio(chip, (gpa - IRQCHIP_IOAPIC_BASE) & 0xff, data, len, is_write);
		pthread_mutex_unlock(&chip->lock);
		return true;
	}
	return false;
}

static bool accepts_pic(const struct lapic *l)
{
	uint32_t lvt0 = __atomic_load_n(&l->lvt0, __ATOMIC_RELAXED);

	if (!__atomic_load_n(&l->hw_enabled, __ATOMIC_RELAXED))
		return true;
	return !(lvt0 & (1u << 16)) && ((lvt0 >> 8) & 7) == 7;
}

int irqchip__pending(struct irqchip *chip, int vcpu)
{
	struct lapic *l = irqchip__lapic_of(chip, vcpu);
	int v;

	if (!l)
		return -1;
	/* ExtINT bypasses the APIC's priority logic, as in KVM. */
	v = __atomic_load_n(&chip->pic_vector, __ATOMIC_ACQUIRE);
	if (v >= 0 && accepts_pic(l)) {
		l->last_extint = true;
		return v;
	}
	l->last_extint = false;
	if (!__atomic_load_n(&l->hw_enabled, __ATOMIC_RELAXED))
		return -1;
	return lapic_pending(l);
}

void irqchip__ack(struct irqchip *chip, int vcpu, int vector)
{
	struct lapic *l = irqchip__lapic_of(chip, vcpu);

	if (!l)
		return;
	if (l->last_extint) {
		/* The INTA cycle; the vector it gives was already chosen by pending. */
		pthread_mutex_lock(&chip->lock);
		pic_ack(chip);
		pthread_mutex_unlock(&chip->lock);
		l->last_extint = false;
		return;
	}
	lapic_ack(l, vector);
}

uint32_t irqchip__take_events(struct irqchip *chip, int vcpu, uint32_t *sipi_vector)
{
	struct lapic *l = irqchip__lapic_of(chip, vcpu);
	uint32_t ev;

	if (!l)
		return 0;
	ev = __atomic_exchange_n(&l->events, 0, __ATOMIC_ACQ_REL);
	if (sipi_vector)
		*sipi_vector = __atomic_load_n(&l->sipi_vector, __ATOMIC_RELAXED);
	return ev;
}

uint32_t irqchip__peek_events(struct irqchip *chip, int vcpu)
{
	struct lapic *l = irqchip__lapic_of(chip, vcpu);

	return l ? __atomic_load_n(&l->events, __ATOMIC_ACQUIRE) : 0;
}

void irqchip__poll(struct irqchip *chip, int vcpu)
{
	struct lapic *l = irqchip__lapic_of(chip, vcpu);
	uint64_t now = irqchip__now(chip);

	if (l)
		lapic_poll(l, now);
	if (now >= __atomic_load_n(&chip->pit_deadline, __ATOMIC_ACQUIRE)) {
		pthread_mutex_lock(&chip->lock);
		pit_poll(chip, now);
		pthread_mutex_unlock(&chip->lock);
	}
}

uint64_t irqchip__next_deadline(struct irqchip *chip, int vcpu)
{
	struct lapic *l = irqchip__lapic_of(chip, vcpu);
	uint64_t dl = __atomic_load_n(&chip->pit_deadline, __ATOMIC_ACQUIRE);

	if (l && l->timer_deadline < dl)
		dl = l->timer_deadline;
	return dl;
}

void irqchip__set_apic_base(struct irqchip *chip, int vcpu, uint64_t val)
{
	struct lapic *l = irqchip__lapic_of(chip, vcpu);
	bool was, now_en = val & (1u << 11);

	if (!l)
		return;
	was = __atomic_load_n(&l->hw_enabled, __ATOMIC_RELAXED);
	l->apic_base = val;
	__atomic_store_n(&l->hw_enabled, now_en, __ATOMIC_RELEASE);
	/* Re-enabling starts from the power-up register state, as on hardware. */
	if (now_en && !was)
		lapic_reset(l);
	__atomic_store_n(&l->dirty, 1, __ATOMIC_RELEASE);
}

void irqchip__lapic_reset(struct irqchip *chip, int vcpu)
{
	struct lapic *l = irqchip__lapic_of(chip, vcpu);

	if (l)
		lapic_reset(l);
}

void irqchip__set_cr8(struct irqchip *chip, int vcpu, uint64_t cr8)
{
	struct lapic *l = irqchip__lapic_of(chip, vcpu);

	if (!l)
		return;
	l->tpr = (uint32_t)(cr8 & 15) << 4;
	__atomic_store_n(&l->dirty, 1, __ATOMIC_RELEASE);
}

uint64_t irqchip__get_cr8(struct irqchip *chip, int vcpu)
{
	struct lapic *l = irqchip__lapic_of(chip, vcpu);

	return l ? (l->tpr >> 4) & 15 : 0;
}
