/*
 * irqchip: local APIC (timer, priorities, IPIs, INIT/SIPI), IOAPIC (edge,
 * level + remote IRR + EOI) and kvm-clock, on a clock the test controls.
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
#include "mem/mem.h"

static uint64_t fake_ns;
static int wakes[4];

static uint64_t fake_now(void *opaque)
{
	(void)opaque;
	return fake_ns;
}

static void count_wake(void *opaque, int vcpu)
{
	(void)opaque;
	if (vcpu >= 0 && vcpu < 4)
		wakes[vcpu]++;
}

static const struct irqchip_ops ops = { .wake = count_wake, .now = fake_now };

static struct irqchip *chip_new(int nr_vcpus)
{
	struct irqchip *c;

	fake_ns = 1000000;
	memset(wakes, 0, sizeof(wakes));
	assert_int_equal(irqchip__create(&c, &ops, NULL), 0);
	for (int i = 0; i < nr_vcpus; i++)
		assert_int_equal(irqchip__vcpu_init(c, i), 0);
	return c;
}

static void apic_w(struct irqchip *c, int vcpu, uint32_t reg, uint32_t val)
{
	assert_true(irqchip__mmio(c, vcpu, IRQCHIP_LAPIC_BASE + reg, (uint8_t *)&val, 4, true));
}

static uint32_t apic_r(struct irqchip *c, int vcpu, uint32_t reg)
{
	uint32_t v = 0xdeadbeef;

	assert_true(irqchip__mmio(c, vcpu, IRQCHIP_LAPIC_BASE + reg, (uint8_t *)&v, 4, false));
	return v;
}

static void ioapic_w(struct irqchip *c, uint32_t reg, uint32_t val)
{
	assert_true(irqchip__mmio(c, 0, IRQCHIP_IOAPIC_BASE, (uint8_t *)&reg, 4, true));
	assert_true(irqchip__mmio(c, 0, IRQCHIP_IOAPIC_BASE + 0x10, (uint8_t *)&val, 4, true));
}

static uint32_t ioapic_r(struct irqchip *c, uint32_t reg)
{
	uint32_t v;

	assert_true(irqchip__mmio(c, 0, IRQCHIP_IOAPIC_BASE, (uint8_t *)&reg, 4, true));
	assert_true(irqchip__mmio(c, 0, IRQCHIP_IOAPIC_BASE + 0x10, (uint8_t *)&v, 4, false));
	return v;
}

/* Software-enable the APIC with spurious vector 0xff; LINT0 masked. */
static void apic_enable(struct irqchip *c, int vcpu)
{
	apic_w(c, vcpu, 0xf0, 0x1ff);
}

/* Take the interrupt the CPU would take now, as the interpreter does. */
static int take(struct irqchip *c, int vcpu)
{
	int v = irqchip__pending(c, vcpu);

	if (v >= 0)
		irqchip__ack(c, vcpu, v);
	return v;
}

static void eoi(struct irqchip *c, int vcpu)
{
	apic_w(c, vcpu, 0xb0, 0);
}

static void registers_after_reset(void **state)
{
	struct irqchip *c = chip_new(2);
	(void)state;

	assert_int_equal(apic_r(c, 0, 0x20), 0);		/* ID */
	assert_int_equal(apic_r(c, 1, 0x20), 1u << 24);	/* same gpa, other vCPU */
	assert_int_equal(apic_r(c, 0, 0x30) & 0xff, 0x14);	/* version */
	assert_int_equal(apic_r(c, 0, 0xf0), 0xff);		/* SVR: disabled */
	assert_int_equal(apic_r(c, 0, 0xe0), 0xffffffffu);	/* DFR: flat */
	assert_int_equal(apic_r(c, 0, 0x350), 1u << 16);	/* LINT0 masked */
	/* IOAPIC: ID = number of vCPUs, 24 pins, every pin masked */
	assert_int_equal(ioapic_r(c, 0) >> 24, 2);
	assert_int_equal(ioapic_r(c, 1), (23u << 16) | 0x11);
	assert_int_equal(ioapic_r(c, 0x10 + 2 * 5) & (1u << 16), 1u << 16);
	/* A byte read of the ID's top byte, as some code does. */
	uint8_t b = 0;
	assert_true(irqchip__mmio(c, 1, IRQCHIP_LAPIC_BASE + 0x23, &b, 1, false));
	assert_int_equal(b, 1);
	/* Outside both pages: not ours. */
	assert_false(irqchip__mmio(c, 0, 0xfed00000, &b, 1, false));
	irqchip__destroy(c);
}

static void timer_one_shot(void **state)
{
	struct irqchip *c = chip_new(1);
	(void)state;

	apic_enable(c, 0);
	apic_w(c, 0, 0x3e0, 0xb);		/* divide by 1 */
	apic_w(c, 0, 0x320, 0x40);		/* one-shot, vector 0x40 */
	apic_w(c, 0, 0x380, 1000);		/* 1000 bus cycles = 1000 ns */
	assert_int_equal(irqchip__next_deadline(c, 0), fake_ns + 1000);
	fake_ns += 400;
	assert_int_equal(apic_r(c, 0, 0x390), 600);
	irqchip__poll(c, 0);
	assert_int_equal(irqchip__pending(c, 0), -1);
	fake_ns += 600;
	irqchip__poll(c, 0);
	assert_int_equal(take(c, 0), 0x40);
	assert_int_equal(apic_r(c, 0, 0x390), 0);	/* one-shot: stays at 0 */
	assert_int_equal(irqchip__next_deadline(c, 0), IRQCHIP_NO_DEADLINE);
	eoi(c, 0);
	fake_ns += 100000;
	irqchip__poll(c, 0);
	assert_int_equal(irqchip__pending(c, 0), -1);	/* fired once only */

	/* Masked LVT: the count runs out, no interrupt. */
	apic_w(c, 0, 0x320, 0x40 | (1u << 16));
	apic_w(c, 0, 0x380, 10);
	fake_ns += 10;
	irqchip__poll(c, 0);
	assert_int_equal(irqchip__pending(c, 0), -1);
	irqchip__destroy(c);
}

static void timer_periodic(void **state)
{
	struct irqchip *c = chip_new(1);
	uint64_t t0;
	(void)state;

	apic_enable(c, 0);
	apic_w(c, 0, 0x3e0, 0x0);		/* divide by 2 */
	apic_w(c, 0, 0x320, 0x41 | (1u << 17));	/* periodic */
	apic_w(c, 0, 0x380, 100000);		/* 200 us period */
	t0 = fake_ns;
	fake_ns = t0 + 50000;
	assert_int_equal(apic_r(c, 0, 0x390), 75000);
	fake_ns = t0 + 200000;
	irqchip__poll(c, 0);
	assert_int_equal(take(c, 0), 0x41);
	eoi(c, 0);
	assert_int_equal(irqchip__next_deadline(c, 0), t0 + 400000);
	fake_ns = t0 + 300000;			/* mid second period */
	assert_int_equal(apic_r(c, 0, 0x390), 50000);
	irqchip__poll(c, 0);
	assert_int_equal(irqchip__pending(c, 0), -1);
	fake_ns = t0 + 400000;
	irqchip__poll(c, 0);
	assert_int_equal(take(c, 0), 0x41);
	eoi(c, 0);
	/* Writing 0 to the initial count stops it. */
	apic_w(c, 0, 0x380, 0);
	fake_ns += 10000000;
	irqchip__poll(c, 0);
	assert_int_equal(irqchip__pending(c, 0), -1);
	assert_int_equal(apic_r(c, 0, 0x390), 0);
	irqchip__destroy(c);
}

static void priorities(void **state)
{
	struct irqchip *c = chip_new(1);
	(void)state;

	apic_enable(c, 0);
	/* Self IPIs (shorthand self, fixed) put vectors in IRR. */
	apic_w(c, 0, 0x80, 0x40);		/* TPR class 4 */
	apic_w(c, 0, 0x300, (1u << 18) | 0x35);
	assert_int_equal(apic_r(c, 0, 0x200 + 0x10), 1u << (0x35 - 32));	/* IRR */
	assert_int_equal(irqchip__pending(c, 0), -1);	/* class 3 <= TPR class 4 */
	apic_w(c, 0, 0x80, 0x20);
	assert_int_equal(apic_r(c, 0, 0xa0), 0x20);	/* PPR = TPR */
	assert_int_equal(take(c, 0), 0x35);
	assert_int_equal(apic_r(c, 0, 0xa0), 0x30);	/* PPR = ISR class */
	assert_int_equal(apic_r(c, 0, 0x100 + 0x10), 1u << (0x35 - 32));	/* ISR */
	/* In service 0x35 blocks 0x31 (same class) but not 0x45. */
	apic_w(c, 0, 0x300, (1u << 18) | 0x31);
	assert_int_equal(irqchip__pending(c, 0), -1);
	apic_w(c, 0, 0x300, (1u << 18) | 0x45);
	assert_int_equal(take(c, 0), 0x45);
	eoi(c, 0);				/* ends 0x45, the highest in service */
	assert_int_equal(irqchip__pending(c, 0), -1);
	eoi(c, 0);				/* ends 0x35 */
	assert_int_equal(take(c, 0), 0x31);
	eoi(c, 0);
	/* CR8 is TPR[7:4]. */
	irqchip__set_cr8(c, 0, 5);
	assert_int_equal(apic_r(c, 0, 0x80), 0x50);
	apic_w(c, 0, 0x300, (1u << 18) | 0x52);
	assert_int_equal(irqchip__pending(c, 0), -1);
	apic_w(c, 0, 0x80, 0x10);
	assert_int_equal(irqchip__get_cr8(c, 0), 1);
	assert_int_equal(take(c, 0), 0x52);
	/* A software-disabled APIC accepts nothing. */
	apic_w(c, 0, 0xf0, 0xff);
	apic_w(c, 0, 0x300, (1u << 18) | 0x60);
	assert_int_equal(apic_r(c, 0, 0x200 + 0x30), 0);
	irqchip__destroy(c);
}

static void init_sipi_and_ipis(void **state)
{
	struct irqchip *c = chip_new(3);
	uint32_t vec = 0;
	(void)state;

	/* INIT assert to APIC 1, physical. */
	apic_w(c, 0, 0x310, 1u << 24);
	apic_w(c, 0, 0x300, (5u << 8) | (1u << 14) | (1u << 15));
	assert_int_equal(irqchip__peek_events(c, 1), IRQCHIP_EV_INIT);
	assert_int_equal(irqchip__peek_events(c, 2), 0);
	assert_true(wakes[1] > 0);
	assert_int_equal(irqchip__take_events(c, 1, &vec), IRQCHIP_EV_INIT);
	/* INIT level de-assert: nothing. */
	apic_w(c, 0, 0x300, (5u << 8) | (1u << 15));
	assert_int_equal(irqchip__peek_events(c, 1), 0);
	/* SIPI, vector 0x9a; ICR never shows "send pending". */
	apic_w(c, 0, 0x300, (6u << 8) | 0x9a);
	assert_int_equal(apic_r(c, 0, 0x300) & (1u << 12), 0);
	assert_int_equal(irqchip__take_events(c, 1, &vec), IRQCHIP_EV_SIPI);
	assert_int_equal(vec, 0x9a);

	/* Fixed IPI to all but self reaches only enabled APICs. */
	apic_enable(c, 1);
	apic_w(c, 0, 0x300, (3u << 18) | 0x50);
	assert_int_equal(irqchip__pending(c, 1), 0x50);
	assert_int_equal(irqchip__pending(c, 2), -1);	/* software-disabled */
	assert_int_equal(irqchip__pending(c, 0), -1);	/* excluded */
	assert_int_equal(take(c, 1), 0x50);
	eoi(c, 1);

	/* Logical flat: LDR bits select APICs 1 and 2. */
	apic_enable(c, 2);
	apic_w(c, 1, 0xd0, 0x02u << 24);
	apic_w(c, 2, 0xd0, 0x04u << 24);
	apic_w(c, 0, 0x310, 0x06u << 24);
	apic_w(c, 0, 0x300, (1u << 11) | 0x61);
	assert_int_equal(take(c, 1), 0x61);
	assert_int_equal(take(c, 2), 0x61);
	eoi(c, 1);
	eoi(c, 2);
	/* Logical lowest priority: exactly one target. */
	apic_w(c, 0, 0x300, (1u << 11) | (1u << 8) | 0x62);
	assert_int_equal((irqchip__pending(c, 1) == 0x62) + (irqchip__pending(c, 2) == 0x62), 1);

	/* NMI to physical broadcast 0xff reaches every APIC, even disabled ones. */
	apic_w(c, 1, 0x310, 0xffu << 24);
	apic_w(c, 1, 0x300, 4u << 8);
	for (int i = 0; i < 3; i++)
		assert_int_equal(irqchip__take_events(c, i, NULL), IRQCHIP_EV_NMI);
	irqchip__destroy(c);
}

/* Redirection entry for @pin: vector, flags, physical destination. */
static void route(struct irqchip *c, int pin, uint32_t lo, uint8_t dest)
{
	ioapic_w(c, 0x11 + 2 * pin, (uint32_t)dest << 24);
	ioapic_w(c, 0x10 + 2 * pin, lo);
}

static void ioapic_level_remote_irr(void **state)
{
	struct irqchip *c = chip_new(2);
	const uint32_t level = 1u << 15, remote_irr = 1u << 14;
	(void)state;

	apic_enable(c, 0);
	apic_enable(c, 1);
	route(c, 10, level | 0x61, 1);
	assert_int_equal(irqchip__set_irq(c, 10, 1), 0);
	assert_int_equal(ioapic_r(c, 0x10 + 20) & remote_irr, remote_irr);
	assert_int_equal(irqchip__pending(c, 0), -1);
	assert_int_equal(apic_r(c, 1, 0x180 + 0x30), 1u << 1);	/* TMR: level */
	assert_int_equal(take(c, 1), 0x61);
	/* Still asserted at EOI: delivered again. */
	eoi(c, 1);
	assert_int_equal(take(c, 1), 0x61);
	/* Lowered, then EOI: remote IRR clears, nothing new. */
	irqchip__set_irq(c, 10, 0);
	eoi(c, 1);
	assert_int_equal(ioapic_r(c, 0x10 + 20) & remote_irr, 0);
	assert_int_equal(irqchip__pending(c, 1), -1);
	/* While remote IRR is set, the line is not delivered again. */
	irqchip__set_irq(c, 10, 1);
	assert_int_equal(take(c, 1), 0x61);
	irqchip__set_irq(c, 10, 0);
	irqchip__set_irq(c, 10, 1);
	assert_int_equal(irqchip__pending(c, 1), -1);
	irqchip__set_irq(c, 10, 0);
	eoi(c, 1);

	/* Edge pin: one interrupt per rising edge, none while masked. */
	route(c, 4, 0x34, 0);
	irqchip__set_irq(c, 4, 1);
	irqchip__set_irq(c, 4, 1);
	assert_int_equal(take(c, 0), 0x34);
	eoi(c, 0);
	assert_int_equal(irqchip__pending(c, 0), -1);
	assert_int_equal(apic_r(c, 0, 0x180 + 0x20), 0);	/* TMR: edge */
	irqchip__set_irq(c, 4, 0);
	route(c, 4, (1u << 16) | 0x34, 0);
	irqchip__set_irq(c, 4, 1);
	assert_int_equal(irqchip__pending(c, 0), -1);
	/* Unmasking a level pin whose line is up delivers it. */
	irqchip__set_irq(c, 11, 1);
	route(c, 11, level | 0x66, 0);
	assert_int_equal(take(c, 0), 0x66);
	assert_int_equal(irqchip__set_irq(c, 24, 1), -EINVAL);
	irqchip__destroy(c);
}

static void apic_base_msr(void **state)
{
	struct irqchip *c = chip_new(1);
	uint32_t v = 0;
	(void)state;

	apic_enable(c, 0);
	/* Hardware-disabled: the page is no longer the APIC's, nothing is pending. */
	irqchip__set_apic_base(c, 0, IRQCHIP_LAPIC_BASE | (1u << 8));
	assert_false(irqchip__mmio(c, 0, IRQCHIP_LAPIC_BASE + 0x20, (uint8_t *)&v, 4, false));
	/* Re-enabled: power-up state (SVR disabled again). */
	irqchip__set_apic_base(c, 0, IRQCHIP_LAPIC_BASE | (1u << 8) | (1u << 11));
	assert_int_equal(apic_r(c, 0, 0xf0), 0xff);
	irqchip__destroy(c);
}

static void kvmclock(void **state)
{
	struct irqchip *c = chip_new(1);
	struct guest_mem mem;
	uint64_t v = 0;
	struct {
		uint32_t version, pad0;
		uint64_t tsc_timestamp, system_time;
		uint32_t mul;
		int8_t shift;
		uint8_t flags, pad[2];
	} __attribute__((packed)) pv;
	(void)state;

	assert_int_equal(mem__init(&mem, 16 << 20), 0);
	assert_true(irqchip__kvmclock_wrmsr(c, 0, &mem, 0x4b564d01, 0x5000 | 1, 2000000, 0));
	assert_true(irqchip__kvmclock_rdmsr(c, 0, 0x4b564d01, &v));
	assert_int_equal(v, 0x5001);
	assert_int_equal(mem__read(&mem, 0x5000, &pv, sizeof(pv)), 0);
	assert_int_equal(pv.version & 1, 0);
	assert_true(pv.version > 0);
	assert_int_equal(pv.flags, 1);
	/* Linux's pvclock_tsc_khz must get the advertised frequency back. */
	uint64_t khz = (1000000ull << 32) / pv.mul;
	khz = pv.shift < 0 ? khz << -pv.shift : khz >> pv.shift;
	assert_int_equal(khz, 2000000);
	/* 2 GHz: TSC = ns * 2 at the same instant. */
	assert_int_equal(pv.tsc_timestamp, pv.system_time * 2);
	/* A 3 GHz TSC with an offset after a guest TSC write. */
	assert_true(irqchip__kvmclock_wrmsr(c, 0, &mem, 0x4b564d01, 0x5000 | 1, 3000000, 0));
	irqchip__kvmclock_refresh(c, 0, &mem, 3000000, 1000);
	assert_int_equal(mem__read(&mem, 0x5000, &pv, sizeof(pv)), 0);
	khz = (1000000ull << 32) / pv.mul;
	khz = pv.shift < 0 ? khz << -pv.shift : khz >> pv.shift;
	assert_true(khz >= 2999999 && khz <= 3000000);
	assert_int_equal(pv.tsc_timestamp, pv.system_time * 3 + 1000);
	/* Outside RAM: accepted (as KVM) but nothing is written anywhere. */
	assert_true(irqchip__kvmclock_wrmsr(c, 0, &mem, 0x4b564d00, 0xfee00000, 2000000, 0));
	assert_false(irqchip__kvmclock_rdmsr(c, 0, 0x10, &v));
	mem__exit(&mem);
	irqchip__destroy(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(registers_after_reset),
		cmocka_unit_test(timer_one_shot),
		cmocka_unit_test(timer_periodic),
		cmocka_unit_test(priorities),
		cmocka_unit_test(init_sipi_and_ipis),
		cmocka_unit_test(ioapic_level_remote_irr),
		cmocka_unit_test(apic_base_msr),
		cmocka_unit_test(kvmclock),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
