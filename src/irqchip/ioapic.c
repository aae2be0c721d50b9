/*
 * The IOAPIC at 0xfec00000: 24 pins, version 0x11 (no EOI register, as
 * KVM's), IOREGSEL at 0x00 and IOWIN at 0x10.  An edge pin delivers on a
 * rising edge; a level pin delivers while asserted and not waiting for an
 * EOI (remote IRR), and the local APIC's EOI of its vector clears remote IRR
 * and re-delivers if the line is still up.  Line polarity is ignored, as in
 * KVM: irq_line levels are logical.  All functions run under chip->lock.
 */
#include "irqchip.h"

#include <string.h>

#define IOAPIC_VERSION		0x11
#define RTE_VECTOR(e)		((unsigned)(e) & 0xff)
#define RTE_MODE(e)		(((unsigned)(e) >> 8) & 7)
#define RTE_LOGICAL		(1ull << 11)
#define RTE_STATUS		(1ull << 12)
#define RTE_REMOTE_IRR		(1ull << 14)
#define RTE_LEVEL		(1ull << 15)
#define RTE_MASKED		(1ull << 16)
#define RTE_DEST(e)		((uint32_t)((e) >> 56))
#define RTE_RO_BITS		(RTE_STATUS | RTE_REMOTE_IRR)

void ioapic_reset(struct ioapic *io)
{
	uint32_t id = io->id;

	memset(io, 0, sizeof(*io));
	io->id = id;
	for (int i = 0; i < IRQCHIP_NR_PINS; i++)
		io->redir[i] = RTE_MASKED;
}

static void deliver(struct irqchip *chip, int pin)
{
	struct ioapic *io = &chip->ioapic;
	uint64_t e = io->redir[pin];

	if (e & RTE_MASKED)
		return;
	if (e & RTE_LEVEL) {
		if (e & RTE_REMOTE_IRR)
			return;
		io->redir[pin] |= RTE_REMOTE_IRR;
	}
	irqchip_deliver(chip, -1, RTE_DEST(e), e & RTE_LOGICAL, RTE_MODE(e), RTE_VECTOR(e),
			e & RTE_LEVEL, 0);
}

void ioapic_set_irq(struct irqchip *chip, int pin, int level)
{
	struct ioapic *io = &chip->ioapic;
	uint32_t mask, old;

	if (pin < 0 || pin >= IRQCHIP_NR_PINS)
		return;
	mask = 1u << pin;
	old = io->irr & mask;
	if (level)
		io->irr |= mask;
	else
		io->irr &= ~mask;
	if (!level)
		return;
	if ((io->redir[pin] & RTE_LEVEL) || !old)
		deliver(chip, pin);
}

void ioapic_eoi(struct irqchip *chip, unsigned vector)
{
	struct ioapic *io = &chip->ioapic;

	for (int pin = 0; pin < IRQCHIP_NR_PINS; pin++) {
		uint64_t e = io->redir[pin];

		if (RTE_VECTOR(e) != vector || !(e & RTE_LEVEL) || !(e & RTE_REMOTE_IRR))
			continue;
		io->redir[pin] &= ~RTE_REMOTE_IRR;
		if (io->irr & (1u << pin))
			deliver(chip, pin);
	}
}

static uint32_t read_window(struct ioapic *io)
{
	unsigned reg = io->regsel & 0xff;

	switch (reg) {
	case 0x00:
		return (io->id & 0xf) << 24;
	case 0x01:
		return ((IRQCHIP_NR_PINS - 1) << 16) | IOAPIC_VERSION;
	case 0x02:
		return (io->id & 0xf) << 24;	/* arbitration ID */
	default:
		if (reg >= 0x10 && reg < 0x10 + 2 * IRQCHIP_NR_PINS) {
			uint64_t e = io->redir[(reg - 0x10) / 2];
			return reg & 1 ? (uint32_t)(e >> 32) : (uint32_t)e;
		}
		return 0xffffffff;
	}
}

static void write_window(struct irqchip *chip, uint32_t val)
{
	struct ioapic *io = &chip->ioapic;
	unsigned reg = io->regsel & 0xff, pin;
	uint64_t e, old;

	if (reg == 0x00) {
		io->id = (val >> 24) & 0xf;
		return;
	}
	if (reg < 0x10 || reg >= 0x10 + 2 * IRQCHIP_NR_PINS)
		return;
	pin = (reg - 0x10) / 2;
	old = e = io->redir[pin];
	if (reg & 1)
		e = (e & 0xffffffffull) | ((uint64_t)val << 32);
	else
		e = (e & ~0xffffffffull) | (val & ~(uint32_t)RTE_RO_BITS) | (old & RTE_RO_BITS);
	/* Remote IRR means nothing for an edge pin (KVM clears it too). */
	if (!(e & RTE_LEVEL))
		e &= ~RTE_REMOTE_IRR;
	io->redir[pin] = e;
	/* Unmasking a level pin whose line is up delivers it now. */
	if ((e & RTE_LEVEL) && !(e & RTE_MASKED) && (io->irr & (1u << pin)))
		deliver(chip, pin);
}

void ioapic_mmio(struct irqchip *chip, uint32_t off, uint8_t *data, unsigned len, bool is_write)
{
	struct ioapic *io = &chip->ioapic;
	uint32_t val = 0;

	if (is_write) {
		for (unsigned i = 0; i < len && i < 4; i++)
			val |= (uint32_t)data[i] << (8 * i);
		if (off == 0x00)
			io->regsel = val & 0xff;
		else if (off == 0x10)
			write_window(chip, val);
		return;
	}
	if (off == 0x00)
		val = io->regsel;
	else if (off == 0x10)
		val = read_window(io);
	else
		val = 0;
	for (unsigned i = 0; i < len; i++)
		data[i] = i < 4 ? val >> (8 * i) : 0;
}
