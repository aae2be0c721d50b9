/*
 * A bare machine for device tests: a config, the two buses, and a backend
 * whose interrupt line only records what the device drove it to.  No RAM, no
 * vCPUs: a device under test is reached through bus__access, as a vCPU's
 * port exit would reach it.  vm_fixture.h adds guest RAM on top of this.
 */
#ifndef MVM_TEST_DEV_FIXTURE_H
#define MVM_TEST_DEV_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "devices/device.h"
#include "util/util.h"
#include "vm/vm.h"

/* What the devices did to their lines since dev_vm__init. */
static int irq_level[24], irq_calls, irq_last_gsi;

static inline int dev_vm__irq_line(struct vm *vm, uint32_t gsi, int level)
{
	/* A device driving a GSI the fake has no slot for is a test failure, not UB. */
	if (gsi >= ARRAY_SIZE(irq_level))
		fail_msg("irq_line(gsi %u): beyond the %zu lines the fixture records",
			 gsi, ARRAY_SIZE(irq_level));
	irq_level[gsi] = level;
	irq_last_gsi = (int)gsi;
	irq_calls++;
	return 0;
}

static const struct vcpu_backend dev_vm__backend = {
	.name = "fake",
	.irq_line = dev_vm__irq_line,
};

/* The machine's state outside any device; cfg must outlive vm. */
static inline void dev_vm__init(struct vm *vm, struct config *cfg)
{
	vm->backend = &dev_vm__backend;
	vm->cfg = cfg;
	bus__init(&vm->pio, "pio");
	bus__init(&vm->mmio, "mmio");
	memset(irq_level, 0, sizeof(irq_level));
	irq_calls = 0;
	irq_last_gsi = -1;
}

static inline void dev_vm__exit(struct vm *vm)
{
	device__destroy_all(vm);
	bus__exit(&vm->pio);
	bus__exit(&vm->mmio);
}

/* One-byte port accesses that must reach a registered device. */
static inline void dev_vm__outb(struct vm *vm, uint16_t port, uint8_t v)
{
	assert_true(bus__access(&vm->pio, port, &v, 1, true));
}

static inline uint8_t dev_vm__inb(struct vm *vm, uint16_t port)
{
	uint8_t v = 0;

	assert_true(bus__access(&vm->pio, port, &v, 1, false));
	return v;
}

#endif
