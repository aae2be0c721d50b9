/*
 * The 8259A pair (master at 0x20, slave at 0xa0 cascaded on IRQ2) and the
 * ELCR (0x4d0/0x4d1), with the semantics of KVM's i8259.c: edge lines latch
 * on a rising edge, ELCR lines follow their level, priority rotates with
 * priority_add, and the slave's request is passed to master IRQ2 as a pulse.
 *
 * The master's output (INTR) reaches the CPU through LINT0 in ExtINT mode.
 * The vector an INTA would return is published in chip->pic_vector so the
 * vCPU's pending check needs no lock; the INTA itself (pic_ack) takes it.
 */
#include "irqchip.h"

#include <string.h>

static struct pic8259 *master(struct irqchip *chip)
{
	return &chip->pic[0];
}

/* Level/edge latch of one input; KVM's pic_set_irq1. */
static void set_irq1(struct pic8259 *s, int irq, int level)
{
	uint8_t mask = 1u << irq;

	if (s->elcr & mask) {
		if (level) {
			s->irr |= mask;
			s->last_irr |= mask;
		} else {
			s->irr &= ~mask;
			s->last_irr &= ~mask;
		}
	} else if (level) {
		if (!(s->last_irr & mask))
			s->irr |= mask;
		s->last_irr |= mask;
	} else {
		s->last_irr &= ~mask;
	}
}

/* 0 = highest priority, 8 = none in @mask. */
static int get_priority(const struct pic8259 *s, uint8_t mask)
{
	int prio = 0;

	if (!mask)
		return 8;
	while (!(mask & (1u << ((prio + s->priority_add) & 7))))
		prio++;
	return prio;
}

static int get_irq(struct irqchip *chip, struct pic8259 *s)
{
	uint8_t mask = s->irr & ~s->imr;
	int prio = get_priority(s, mask), cur;

	if (prio == 8)
		return -1;
	mask = s->isr;
	/* Special fully nested: the slave's in-service line does not block it. */
	if (s->special_fully_nested && s == master(chip))
		mask &= ~(1u << 2);
	cur = get_priority(s, mask);
	return prio < cur ? (prio + s->priority_add) & 7 : -1;
}

static bool accepts_extint(const struct lapic *l)
{
	uint32_t lvt0 = __atomic_load_n(&l->lvt0, __ATOMIC_RELAXED);

	if (!__atomic_load_n(&l->hw_enabled, __ATOMIC_RELAXED))
		return true;
	return !(lvt0 & (1u << 16)) && ((lvt0 >> 8) & 7) == 7;
}

/* Recompute INTR and publish the vector an INTA would return. */
static void pic_update(struct irqchip *chip)
{
	struct pic8259 *m = master(chip), *sl = &chip->pic[1];
	int irq2 = get_irq(chip, sl), irq, vec = -1, old;

	if (irq2 >= 0) {
		set_irq1(m, 2, 1);
		set_irq1(m, 2, 0);
	}
	irq = get_irq(chip, m);
	if (irq == 2) {
		irq2 = get_irq(chip, sl);
		vec = sl->irq_base + (irq2 >= 0 ? irq2 : 7);
	} else if (irq >= 0) {
		vec = m->irq_base + irq;
	}
	old = __atomic_exchange_n(&chip->pic_vector, vec, __ATOMIC_ACQ_REL);
	if (vec >= 0 && old < 0) {
		for (int i = 0; i < chip->max_vcpu; i++)
			if (chip->lapic[i].present && accepts_extint(&chip->lapic[i]))
				chip->ops->wake(chip->opaque, i);
	}
}

static void clear_isr(struct pic8259 *s, int irq)
{
	s->isr &= ~(1u << irq);
}

static void intack(struct pic8259 *s, int irq)
{
	s->isr |= 1u << irq;
	if (!(s->elcr & (1u << irq)))	/* a level line stays requested */
		s->irr &= ~(1u << irq);
	if (s->auto_eoi) {
		if (s->rotate_on_auto_eoi)
			s->priority_add = (irq + 1) & 7;
		clear_isr(s, irq);
	}
}

static void reset1(struct pic8259 *s)
{
	uint8_t elcr = s->elcr, mask = s->elcr_mask;

	memset(s, 0, sizeof(*s));
	s->elcr = elcr;
	s->elcr_mask = mask;
}

void pic_reset(struct irqchip *chip)
{
	memset(chip->pic, 0, sizeof(chip->pic));
	chip->pic[0].elcr_mask = 0xf8;	/* IRQ0-2 are always edge */
	chip->pic[1].elcr_mask = 0xde;	/* IRQ8 and IRQ13 too */
	__atomic_store_n(&chip->pic_vector, -1, __ATOMIC_RELEASE);
}

void pic_set_irq(struct irqchip *chip, int irq, int level)
{
	if (irq < 0 || irq >= IRQCHIP_NR_ISA)
		return;
	set_irq1(&chip->pic[irq >> 3], irq & 7, level);
	pic_update(chip);
}

int pic_ack(struct irqchip *chip)
{
	struct pic8259 *m = master(chip), *sl = &chip->pic[1];
	int irq = get_irq(chip, m), irq2, vec;

	if (irq >= 0) {
		intack(m, irq);
		if (irq == 2) {
			irq2 = get_irq(chip, sl);
			if (irq2 >= 0)
				intack(sl, irq2);
			else
				irq2 = 7;	/* spurious on the slave */
			vec = sl->irq_base + irq2;
		} else {
			vec = m->irq_base + irq;
		}
	} else {
		vec = m->irq_base + 7;		/* spurious on the master */
	}
	pic_update(chip);
	return vec;
}

/* OCW3 poll mode: the read is the INTA. */
static uint8_t poll_read(struct irqchip *chip, struct pic8259 *s, bool slave)
{
	int irq = get_irq(chip, s);

	if (irq < 0) {
		pic_update(chip);
		return 0x07;
	}
	if (slave) {
		chip->pic[0].isr &= ~(1u << 2);
		chip->pic[0].irr &= ~(1u << 2);
	}
	s->irr &= ~(1u << irq);
	clear_isr(s, irq);
	pic_update(chip);
	return 0x80 | irq;
}

uint8_t pic_read(struct irqchip *chip, uint16_t port)
{
	struct pic8259 *s;

	if (port == 0x4d0 || port == 0x4d1)
		return chip->pic[port & 1].elcr;
	s = &chip->pic[port >= 0xa0];
	if (s->poll) {
		s->poll = 0;
		return poll_read(chip, s, port >= 0xa0);
	}
	if (!(port & 1))
		return s->read_reg_select ? s->isr : s->irr;
	return s->imr;
}

static void write_cmd(struct irqchip *chip, struct pic8259 *s, uint8_t val)
{
	int prio, irq;

	if (val & 0x10) {		/* ICW1 */
		reset1(s);
		s->init4 = val & 1;
		s->single_mode = (val >> 1) & 1;
		s->init_state = 1;
		pic_update(chip);
		return;
	}
	if (val & 0x08) {		/* OCW3 */
		if (val & 0x04)
			s->poll = 1;
		if (val & 0x02)
			s->read_reg_select = val & 1;
		if (val & 0x40)
			s->special_mask = (val >> 5) & 1;
		return;
	}
	switch (val >> 5) {		/* OCW2 */
	case 0:
	case 4:
		s->rotate_on_auto_eoi = val >> 7;
		break;
	case 1:				/* non-specific EOI */
	case 5:				/* ... and rotate */
		prio = get_priority(s, s->isr);
		if (prio != 8) {
			irq = (prio + s->priority_add) & 7;
			if (val >> 5 == 5)
				s->priority_add = (irq + 1) & 7;
			clear_isr(s, irq);
			pic_update(chip);
		}
		break;
	case 3:				/* specific EOI */
		clear_isr(s, val & 7);
		pic_update(chip);
		break;
	case 6:				/* set priority */
		s->priority_add = (val + 1) & 7;
		pic_update(chip);
		break;
	case 7:				/* specific EOI and rotate */
		irq = val & 7;
		s->priority_add = (irq + 1) & 7;
		clear_isr(s, irq);
		pic_update(chip);
		break;
	default:
		break;
	}
}

static void write_data(struct irqchip *chip, struct pic8259 *s, uint8_t val)
{
	switch (s->init_state) {
	case 0:				/* OCW1: the mask */
		s->imr = val;
		pic_update(chip);
		break;
	case 1:				/* ICW2: vector base */
		s->irq_base = val & 0xf8;
		s->init_state = s->single_mode ? (s->init4 ? 3 : 0) : 2;
		break;
	case 2:				/* ICW3: cascade wiring, fixed here */
		s->init_state = s->init4 ? 3 : 0;
		break;
	case 3:				/* ICW4 */
		s->special_fully_nested = (val >> 4) & 1;
		s->auto_eoi = (val >> 1) & 1;
		s->init_state = 0;
		break;
	}
}

void pic_write(struct irqchip *chip, uint16_t port, uint8_t val)
{
	struct pic8259 *s;

	if (port == 0x4d0 || port == 0x4d1) {
		s = &chip->pic[port & 1];
		s->elcr = val & s->elcr_mask;
		return;
	}
	s = &chip->pic[port >= 0xa0];
	if (!(port & 1))
		write_cmd(chip, s, val);
	else
		write_data(chip, s, val);
}
