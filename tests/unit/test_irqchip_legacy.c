/*
 * irqchip: the 8259 PIC pair (ICWs, OCWs, IRR/ISR reads, cascade, auto-EOI,
 * ELCR) and the 8254 PIT (modes 0/2/3, latch, read-back, port 0x61 and OUT2,
 * IRQ0 delivery), through their ports on a clock the test controls.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "irqchip/irqchip.h"

static uint64_t fake_ns;
static int wakes;

static uint64_t fake_now(void *opaque)
{
	(void)opaque;
	return fake_ns;
}

static void count_wake(void *opaque, int vcpu)
{
	(void)opaque;
	(void)vcpu;
	wakes++;
}

static const struct irqchip_ops ops = { .wake = count_wake, .now = fake_now };

static struct irqchip *chip_new(void)
{
	struct irqchip *c;

	fake_ns = 5000000000ull;
	wakes = 0;
	assert_int_equal(irqchip__create(&c, &ops, NULL), 0);
	assert_int_equal(irqchip__vcpu_init(c, 0), 0);
	return c;
}

static void out(struct irqchip *c, uint16_t port, uint8_t v)
{
	assert_true(irqchip__pio(c, port, &v, 1, true));
}

static uint8_t in(struct irqchip *c, uint16_t port)
{
	uint8_t v = 0x5a;

	assert_true(irqchip__pio(c, port, &v, 1, false));
	return v;
}

/* Linux's init_8259A: vectors 0x30/0x38, slave on IRQ2, 8086 mode. */
static void pic_init(struct irqchip *c, bool auto_eoi)
{
	out(c, 0x20, 0x11);
	out(c, 0x21, 0x30);
	out(c, 0x21, 0x04);
	out(c, 0x21, auto_eoi ? 0x03 : 0x01);
	out(c, 0xa0, 0x11);
	out(c, 0xa1, 0x38);
	out(c, 0xa1, 0x02);
	out(c, 0xa1, auto_eoi ? 0x03 : 0x01);
}

/* LINT0 in ExtINT mode so the PIC reaches the CPU, as Linux's virtual wire. */
static void lint0_extint(struct irqchip *c)
{
	uint32_t v = 0x1ff;

	assert_true(irqchip__mmio(c, 0, IRQCHIP_LAPIC_BASE + 0xf0, (uint8_t *)&v, 4, true));
	v = 7u << 8;
	assert_true(irqchip__mmio(c, 0, IRQCHIP_LAPIC_BASE + 0x350, (uint8_t *)&v, 4, true));
}

static int take(struct irqchip *c)
{
	int v = irqchip__pending(c, 0);

	if (v >= 0)
		irqchip__ack(c, 0, v);
	return v;
}

static void pic_icw_irr_isr(void **state)
{
	struct irqchip *c = chip_new();
	(void)state;

	pic_init(c, false);
	out(c, 0x21, 0xf7);		/* only IRQ3 unmasked */
	assert_int_equal(in(c, 0x21), 0xf7);
	irqchip__set_irq(c, 3, 1);
	irqchip__set_irq(c, 3, 0);
	out(c, 0x20, 0x0a);		/* OCW3: read IRR */
	assert_int_equal(in(c, 0x20), 0x08);
	/* LINT0 masked: the PIC's INTR does not reach the CPU. */
	assert_int_equal(irqchip__pending(c, 0), -1);
	lint0_extint(c);
	assert_int_equal(take(c), 0x33);
	assert_int_equal(in(c, 0x20), 0x00);	/* IRR: edge request taken */
	out(c, 0x20, 0x0b);		/* OCW3: read ISR */
	assert_int_equal(in(c, 0x20), 0x08);
	assert_int_equal(irqchip__pending(c, 0), -1);
	out(c, 0x20, 0x20);		/* non-specific EOI */
	assert_int_equal(in(c, 0x20), 0x00);
	/* A masked line is latched in IRR but not signalled. */
	irqchip__set_irq(c, 5, 1);
	assert_int_equal(irqchip__pending(c, 0), -1);
	out(c, 0x20, 0x0a);
	assert_int_equal(in(c, 0x20) & 0x20, 0x20);
	irqchip__set_irq(c, 5, 0);
	out(c, 0x21, 0xdf);		/* unmask 5: the latched edge is delivered */
	assert_int_equal(take(c), 0x35);
	out(c, 0x20, 0x65);		/* specific EOI for 5 */
	out(c, 0x20, 0x0b);
	assert_int_equal(in(c, 0x20), 0);

	/* Slave IRQ10 through the cascade. */
	out(c, 0x21, 0xfb);		/* master: only the cascade */
	out(c, 0xa1, 0xfb);		/* slave: only IRQ10 */
	irqchip__set_irq(c, 10, 1);
	irqchip__set_irq(c, 10, 0);
	assert_true(wakes > 0);
	assert_int_equal(take(c), 0x3a);
	out(c, 0xa0, 0x0b);
	assert_int_equal(in(c, 0xa0), 0x04);
	out(c, 0xa0, 0x20);
	out(c, 0x20, 0x20);
	assert_int_equal(in(c, 0xa0), 0);
	irqchip__destroy(c);
}

static void pic_auto_eoi_elcr_poll(void **state)
{
	struct irqchip *c = chip_new();
	(void)state;

	pic_init(c, true);
	lint0_extint(c);
	out(c, 0x21, 0x00);
	irqchip__set_irq(c, 4, 1);
	irqchip__set_irq(c, 4, 0);
	assert_int_equal(take(c), 0x34);
	out(c, 0x20, 0x0b);
	assert_int_equal(in(c, 0x20), 0);	/* auto-EOI: never in service */

	/* ELCR: IRQ0-2 are edge-only; IRQ9 level stays requested while high. */
	out(c, 0x4d0, 0xff);
	assert_int_equal(in(c, 0x4d0), 0xf8);
	out(c, 0x4d1, 0x02);
	assert_int_equal(in(c, 0x4d1), 0x02);
	irqchip__set_irq(c, 9, 1);
	assert_int_equal(take(c), 0x39);
	assert_int_equal(take(c), 0x39);	/* auto-EOI and still high */
	irqchip__set_irq(c, 9, 0);
	out(c, 0xa0, 0x0a);
	assert_int_equal(in(c, 0xa0), 0);	/* a level line leaves IRR when it drops */
	/*
	 * The master latched the cascade once more before the drop (KVM's
	 * model pulses IRQ2 on every update): that INTA finds nothing on the
	 * slave and gets the slave's spurious IRQ7, as on real 8259As.
	 */
	assert_int_equal(take(c), 0x3f);
	assert_int_equal(irqchip__pending(c, 0), -1);

	/* OCW3 poll: the read is the acknowledge. */
	out(c, 0x21, 0xff);
	irqchip__set_irq(c, 6, 1);
	out(c, 0x21, 0xbf);
	out(c, 0x20, 0x0c);
	assert_int_equal(in(c, 0x20), 0x86);
	out(c, 0x20, 0x0c);
	assert_int_equal(in(c, 0x20), 0x07);	/* nothing left */
	irqchip__destroy(c);
}

/* PIT ticks -> ns, rounded up so the tick has certainly happened. */
static uint64_t ticks_ns(uint64_t t)
{
	return (t * 1000000000ull + PIT_FREQ_HZ - 1) / PIT_FREQ_HZ;
}

static uint16_t read_word(struct irqchip *c, uint16_t port)
{
	uint8_t lo = in(c, port);

	return lo | (uint16_t)in(c, port) << 8;
}

static void pit_mode0_channel2_port61(void **state)
{
	struct irqchip *c = chip_new();
	uint64_t t0;
	(void)state;

	/* Linux's pit_calibrate_tsc: gate high, mode 0, count 11932 (10 ms). */
	out(c, 0x61, (in(c, 0x61) & ~0x02) | 0x01);
	out(c, 0x43, 0xb0);
	out(c, 0x42, 11932 & 0xff);
	out(c, 0x42, 11932 >> 8);
	t0 = fake_ns;
	assert_int_equal(in(c, 0x61) & 0x21, 0x01);	/* gate up, OUT2 low */
	fake_ns = t0 + ticks_ns(1000);
	assert_int_equal(read_word(c, 0x42), 11932 - 1000);
	fake_ns = t0 + ticks_ns(11931);
	assert_int_equal(in(c, 0x61) & 0x20, 0);
	fake_ns = t0 + ticks_ns(11932);
	assert_int_equal(in(c, 0x61) & 0x20, 0x20);	/* terminal count: OUT2 high */
	/* The refresh bit toggles with time (Linux's udelay loops watch it). */
	uint8_t a = in(c, 0x61) & 0x10;
	fake_ns += 1u << 14;
	assert_int_not_equal(in(c, 0x61) & 0x10, a);

	/* Latch: the value stays until read, whatever time does. */
	out(c, 0x43, 0xb0);
	out(c, 0x42, 0xff);
	out(c, 0x42, 0xff);
	t0 = fake_ns;
	fake_ns = t0 + ticks_ns(0x100);
	out(c, 0x43, 0x80);		/* latch channel 2 */
	fake_ns += ticks_ns(0x300);
	assert_int_equal(read_word(c, 0x42), 0xffff - 0x100);
	assert_int_equal(read_word(c, 0x42), 0xffff - 0x400);	/* live again */

	/* Read-back: status then count of channel 2. */
	out(c, 0x43, 0xc0 | (1u << 3));	/* latch count and status of ch 2 */
	uint8_t st = in(c, 0x42);
	assert_int_equal(st & 0x3f, (3u << 4) | (0u << 1));	/* lo/hi, mode 0, binary */
	assert_int_equal(st & 0x80, 0);				/* OUT still low */
	assert_int_equal(read_word(c, 0x42), 0xffff - 0x400);
	irqchip__destroy(c);
}

static void pit_mode2_mode3_counting(void **state)
{
	struct irqchip *c = chip_new();
	uint64_t t0;
	(void)state;

	out(c, 0x61, 0x01);
	out(c, 0x43, 0xb4);		/* ch 2, lo/hi, mode 2 */
	out(c, 0x42, 100);
	out(c, 0x42, 0);
	t0 = fake_ns;
	fake_ns = t0 + ticks_ns(30);
	assert_int_equal(read_word(c, 0x42), 70);
	fake_ns = t0 + ticks_ns(130);	/* reloads every 100 */
	assert_int_equal(read_word(c, 0x42), 70);

	out(c, 0x43, 0xb6);		/* mode 3: counts down by two */
	out(c, 0x42, 100);
	out(c, 0x42, 0);
	t0 = fake_ns;
	fake_ns = t0 + ticks_ns(10);
	assert_int_equal(read_word(c, 0x42), 80);
	assert_int_equal(in(c, 0x61) & 0x20, 0x20);	/* first half: OUT high */
	fake_ns = t0 + ticks_ns(60);
	assert_int_equal(in(c, 0x61) & 0x20, 0);	/* second half: low */

	/* LSB-only access mode. */
	out(c, 0x43, 0x94);		/* ch 2, LSB only, mode 2 */
	out(c, 0x42, 50);
	t0 = fake_ns;
	fake_ns = t0 + ticks_ns(20);
	assert_int_equal(in(c, 0x42), 30);
	assert_int_equal(in(c, 0x42), 30);
	irqchip__destroy(c);
}

static void pit_irq0(void **state)
{
	struct irqchip *c = chip_new();
	uint32_t v;
	uint64_t t0;
	(void)state;

	/* IOAPIC pin 2 (ISA IRQ0 per the MADT override) -> vector 0x30 on APIC 0. */
	v = 0x1ff;
	assert_true(irqchip__mmio(c, 0, IRQCHIP_LAPIC_BASE + 0xf0, (uint8_t *)&v, 4, true));
	v = 0x14;
	assert_true(irqchip__mmio(c, 0, IRQCHIP_IOAPIC_BASE, (uint8_t *)&v, 4, true));
	v = 0x30;
	assert_true(irqchip__mmio(c, 0, IRQCHIP_IOAPIC_BASE + 0x10, (uint8_t *)&v, 4, true));
	assert_int_equal(irqchip__next_deadline(c, 0), IRQCHIP_NO_DEADLINE);

	out(c, 0x43, 0x34);		/* ch 0, lo/hi, mode 2: periodic */
	out(c, 0x40, 1193 & 0xff);
	out(c, 0x40, 1193 >> 8);
	t0 = fake_ns;
	assert_int_equal(irqchip__next_deadline(c, 0), t0 + 1193ull * 1000000000 / PIT_FREQ_HZ);
	fake_ns = t0 + 500000;
	irqchip__poll(c, 0);
	assert_int_equal(irqchip__pending(c, 0), -1);
	fake_ns = t0 + 1000000;
	irqchip__poll(c, 0);
	assert_int_equal(take(c), 0x30);
	v = 0;
	assert_true(irqchip__mmio(c, 0, IRQCHIP_LAPIC_BASE + 0xb0, (uint8_t *)&v, 4, true));
	fake_ns = t0 + 2000000;
	irqchip__poll(c, 0);
	assert_int_equal(take(c), 0x30);
	assert_true(irqchip__mmio(c, 0, IRQCHIP_LAPIC_BASE + 0xb0, (uint8_t *)&v, 4, true));

	/* Mode 0 one-shot: one IRQ at terminal count, then silence. */
	out(c, 0x43, 0x30);
	out(c, 0x40, 100);
	out(c, 0x40, 0);
	t0 = fake_ns;
	fake_ns = t0 + ticks_ns(100);
	irqchip__poll(c, 0);
	assert_int_equal(take(c), 0x30);
	assert_true(irqchip__mmio(c, 0, IRQCHIP_LAPIC_BASE + 0xb0, (uint8_t *)&v, 4, true));
	fake_ns += 1000000000;
	irqchip__poll(c, 0);
	assert_int_equal(irqchip__pending(c, 0), -1);
	assert_int_equal(irqchip__next_deadline(c, 0), IRQCHIP_NO_DEADLINE);
	/* Unrelated ports are not the chip's. */
	uint8_t b;
	assert_false(irqchip__pio(c, 0x60, &b, 1, false));
	irqchip__destroy(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pic_icw_irr_isr),
		cmocka_unit_test(pic_auto_eoi_elcr_poll),
		cmocka_unit_test(pit_mode0_channel2_port61),
		cmocka_unit_test(pit_mode2_mode3_counting),
		cmocka_unit_test(pit_irq0),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
