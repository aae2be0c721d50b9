/*
 * The 8254 PIT (ports 0x40-0x43) and port 0x61, with the semantics of KVM's
 * i8254.c: counters are not stepped, they are computed from the time the
 * count was loaded, on the chip's nanosecond clock at PIT_FREQ_HZ.  Because
 * the interpreter's TSC is the same clock scaled to tsc_khz, Linux's PIT
 * calibration of the TSC (channel 2 gated by port 0x61, OUT2 in bit 5)
 * measures exactly the advertised TSC frequency.
 *
 * Channel 0 drives IRQ0 (IOAPIC pin 2 through the MADT override, PIC IRQ0)
 * with one pulse per period; channel 1 exists only as registers.
 */
#include "irqchip.h"

#include <string.h>

enum { RW_LATCH = 0, RW_LSB = 1, RW_MSB = 2, RW_WORD = 3 };
/* read/write_state for RW_WORD: which byte comes next */
enum { ST_LSB = 1, ST_MSB = 2, ST_WORD0 = 3, ST_WORD1 = 4 };

static uint64_t ticks_since(const struct pit_channel *c, uint64_t now)
{
	uint64_t ns = now > c->load_ns ? now - c->load_ns : 0;

	return (uint64_t)((unsigned __int128)ns * PIT_FREQ_HZ / 1000000000ull);
}

/* The counter value now; KVM's pit_get_count. */
static uint16_t get_count(const struct pit_channel *c, uint64_t now)
{
	uint64_t d = ticks_since(c, now);

	switch (c->mode) {
	case 0: case 1: case 4: case 5:
		return (uint16_t)(c->count - d);
	case 3:
		return (uint16_t)(c->count - ((2 * d) % c->count));
	default:	/* 2 */
		return (uint16_t)(c->count - (d % c->count));
	}
}

/* The OUT pin now; KVM's pit_get_out. */
static int get_out(const struct pit_channel *c, uint64_t now)
{
	uint64_t d = ticks_since(c, now);

	switch (c->mode) {
	default:
	case 0:
		return d >= c->count;
	case 1:
		return d < c->count;
	case 2:
		return (d % c->count) != 0 || d == 0;
	case 3:
		return (d % c->count) < ((c->count + 1) >> 1);
	case 4:
	case 5:
		return d != c->count;
	}
}

static uint64_t ticks_to_ns(uint64_t ticks)
{
	return (uint64_t)((unsigned __int128)ticks * 1000000000ull / PIT_FREQ_HZ);
}

/* Channel 0: when the next IRQ0 edge happens (or never). */
static void arm_ch0(struct irqchip *chip)
{
	struct pit_channel *c = &chip->pit.ch[0];
	uint64_t dl = IRQCHIP_NO_DEADLINE;

	switch (c->mode) {
	case 0: case 4:		/* one edge at terminal count */
		dl = c->load_ns + ticks_to_ns(c->count);
		break;
	case 2: case 3:		/* periodic */
		dl = c->load_ns + ticks_to_ns(c->count);
		break;
	default:
		break;
	}
	c->next_irq_ns = dl;
	__atomic_store_n(&chip->pit_deadline, dl, __ATOMIC_RELEASE);
}

static void load_count(struct irqchip *chip, int ch, uint32_t val)
{
	struct pit_channel *c = &chip->pit.ch[ch];

	c->count = val ? val : 0x10000;
	c->load_ns = irqchip__now(chip);
	if (ch == 0)
		arm_ch0(chip);
}

void pit_reset(struct irqchip *chip)
{
	memset(&chip->pit, 0, sizeof(chip->pit));
	for (int i = 0; i < 3; i++) {
		struct pit_channel *c = &chip->pit.ch[i];

		c->mode = 0xff;	/* not programmed: no IRQ0 until the OS sets a mode */
		c->gate = i != 2;
		c->count = 0x10000;
	}
	chip->pit.ch[0].next_irq_ns = IRQCHIP_NO_DEADLINE;
	__atomic_store_n(&chip->pit_deadline, IRQCHIP_NO_DEADLINE, __ATOMIC_RELEASE);
}

void pit_poll(struct irqchip *chip, uint64_t now)
{
	struct pit_channel *c = &chip->pit.ch[0];
	uint64_t period;

	if (now < c->next_irq_ns)
		return;
	/* One pulse per expiry; missed periods coalesce (the guest's clocksource catches up). */
	ioapic_set_irq(chip, 2, 1);
	pic_set_irq(chip, 0, 1);
	ioapic_set_irq(chip, 2, 0);
	pic_set_irq(chip, 0, 0);
	if (c->mode == 2 || c->mode == 3) {
		period = ticks_to_ns(c->count);
		if (period < 10000)
			period = 10000;	/* a hostile 1-tick period must not starve the vCPU */
		c->next_irq_ns += period;
		if (c->next_irq_ns <= now)
			c->next_irq_ns = now + period;
	} else {
		c->next_irq_ns = IRQCHIP_NO_DEADLINE;
	}
	__atomic_store_n(&chip->pit_deadline, c->next_irq_ns, __ATOMIC_RELEASE);
}

static void latch_count(struct irqchip *chip, struct pit_channel *c)
{
	if (c->count_latched)
		return;		/* the first latch holds until read */
	c->latched_count = get_count(c, irqchip__now(chip));
	c->count_latched = c->rw_mode;
}

static void latch_status(struct irqchip *chip, struct pit_channel *c)
{
	if (c->status_latched)
		return;
	c->status = (get_out(c, irqchip__now(chip)) << 7) | (c->rw_mode << 4) |
		    ((c->mode & 7) << 1) | c->bcd;
	c->status_latched = 1;
}

static void write_control(struct irqchip *chip, uint8_t val)
{
	int ch = val >> 6;
	struct pit_channel *c;

	if (ch == 3) {			/* read-back */
		for (int i = 0; i < 3; i++) {
			if (!(val & (2u << i)))
				continue;
			c = &chip->pit.ch[i];
			if (!(val & 0x20))
				latch_count(chip, c);
			if (!(val & 0x10))
				latch_status(chip, c);
		}
		return;
	}
	c = &chip->pit.ch[ch];
	if (((val >> 4) & 3) == RW_LATCH) {
		latch_count(chip, c);
		return;
	}
	c->rw_mode = (val >> 4) & 3;
	c->read_state = c->write_state = c->rw_mode == RW_WORD ? ST_WORD0 : c->rw_mode;
	c->mode = (val >> 1) & 7;
	if (c->mode > 5)
		c->mode -= 4;		/* 6 and 7 alias 2 and 3 */
	c->bcd = val & 1;
	c->count_latched = 0;
	c->status_latched = 0;
	if (ch == 0) {
		/* A new mode stops the old period until a count is written. */
		c->next_irq_ns = IRQCHIP_NO_DEADLINE;
		__atomic_store_n(&chip->pit_deadline, IRQCHIP_NO_DEADLINE, __ATOMIC_RELEASE);
	}
}

static void write_counter(struct irqchip *chip, int ch, uint8_t val)
{
	struct pit_channel *c = &chip->pit.ch[ch];

	switch (c->write_state) {
	default:
	case ST_LSB:
		load_count(chip, ch, val);
		break;
	case ST_MSB:
		load_count(chip, ch, (uint32_t)val << 8);
		break;
	case ST_WORD0:
		c->write_latch = val;
		c->write_state = ST_WORD1;
		break;
	case ST_WORD1:
		load_count(chip, ch, c->write_latch | ((uint32_t)val << 8));
		c->write_state = ST_WORD0;
		break;
	}
}

static uint8_t read_counter(struct irqchip *chip, int ch)
{
	struct pit_channel *c = &chip->pit.ch[ch];
	uint16_t count;
	uint8_t ret;

	if (c->status_latched) {
		c->status_latched = 0;
		return c->status;
	}
	if (c->count_latched) {
		switch (c->count_latched) {
		default:
		case RW_LSB:
			c->count_latched = 0;
			return c->latched_count & 0xff;
		case RW_MSB:
			c->count_latched = 0;
			return c->latched_count >> 8;
		case RW_WORD:
			c->count_latched = RW_MSB;	/* the MSB comes next */
			return c->latched_count & 0xff;
		}
	}
	count = get_count(c, irqchip__now(chip));
	switch (c->read_state) {
	default:
	case ST_LSB:
		return count & 0xff;
	case ST_MSB:
		return count >> 8;
	case ST_WORD0:
		ret = count & 0xff;
		c->read_state = ST_WORD1;
		return ret;
	case ST_WORD1:
		c->read_state = ST_WORD0;
		return count >> 8;
	}
}

uint8_t pit_read(struct irqchip *chip, uint16_t port)
{
	struct pit_channel *c2 = &chip->pit.ch[2];
	uint64_t now;

	if (port == 0x61) {
		now = irqchip__now(chip);
		/* Bit 4 toggles with DRAM refresh (every 15 us); Linux's udelay loops on it. */
		return (chip->pit.speaker_data_on << 1) | c2->gate | (get_out(c2, now) << 5) |
		       (((now >> 14) & 1) << 4);
	}
	if (port >= 0x40 && port <= 0x42)
		return read_counter(chip, port - 0x40);
	return 0xff;		/* 0x43 is write-only */
}

void pit_write(struct irqchip *chip, uint16_t port, uint8_t val)
{
	struct pit_channel *c2 = &chip->pit.ch[2];

	if (port == 0x61) {
		uint8_t gate = val & 1;

		/* A rising gate restarts the count in modes 1, 2, 3 and 5 (as KVM). */
		if (gate && !c2->gate && c2->mode != 0 && c2->mode != 4)
			c2->load_ns = irqchip__now(chip);
		c2->gate = gate;
		chip->pit.speaker_data_on = (val >> 1) & 1;
		return;
	}
	if (port == 0x43)
		write_control(chip, val);
	else if (port >= 0x40 && port <= 0x42)
		write_counter(chip, port - 0x40, val);
}
