/* The machine object's resource allocators, stop protocol and IRQ helpers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "util/util.h"
#include "vm/vm.h"

static int levels[8], nlevels;

static int record_line(struct vm *vm, uint32_t gsi, int level)
{
	(void)vm;
	if (gsi != 9)
		return -EINVAL;
	levels[nlevels++ % 8] = level;
	return 0;
}

static const struct vcpu_backend fake = { .name = "fake", .irq_line = record_line };

static void gsi_allocation(void **state)
{
	struct vm vm = { 0 };
	uint32_t gsi, seen = 0;
	(void)state;
	for (int i = 0; i < 15; i++) {
		assert_int_equal(vm__alloc_gsi(&vm, &gsi), 0);
		/* never a line legacy devices own: PIT, keyboard, cascade, COM, RTC, SCI, mouse, FPU */
		assert_true(gsi != 0 && gsi != 1 && gsi != 2 && gsi != 3 && gsi != 4 && gsi != 8 &&
			    gsi != 9 && gsi != 12 && gsi != 13);
		assert_true(gsi < 24);
		assert_false(seen & (1u << gsi));
		seen |= 1u << gsi;
	}
	assert_int_equal(vm__alloc_gsi(&vm, &gsi), -ENOSPC);
}

static void mmio_allocation(void **state)
{
	struct vm vm = { .next_virtio_mmio = MMIO_VIRTIO_BASE };
	uint64_t a, b;
	(void)state;
	assert_int_equal(vm__alloc_mmio(&vm, 0x200, &a), 0);
	assert_int_equal(vm__alloc_mmio(&vm, 0x1001, &b), 0);
	assert_int_equal(a, MMIO_VIRTIO_BASE);
	assert_int_equal(b, MMIO_VIRTIO_BASE + MMIO_VIRTIO_STRIDE);
	assert_int_equal(vm__alloc_mmio(&vm, 1, &a), 0);
	assert_int_equal(a, MMIO_VIRTIO_BASE + 3 * MMIO_VIRTIO_STRIDE);	/* b took two slots */
	/* never into the IOAPIC page */
	assert_int_equal(vm__alloc_mmio(&vm, MMIO_IOAPIC_BASE, &a), -ENOSPC);
}

static void first_stop_wins(void **state)
{
	struct vm vm = { .backend = &fake };
	(void)state;
	assert_false(vm__stopping(&vm));
	vm__request_stop(&vm, MVM_EXIT_REBOOT, "reset %d", 1);
	vm__request_stop(&vm, MVM_EXIT_POWEROFF, "later");
	assert_true(vm__stopping(&vm));
	assert_int_equal(vm.exit_status, MVM_EXIT_REBOOT);
	assert_string_equal(vm.stop_reason, "reset 1");
}

static void irq_pulse_is_an_edge(void **state)
{
	struct vm vm = { .backend = &fake };
	(void)state;
	nlevels = 0;
	assert_int_equal(vm__irq_pulse(&vm, 9), 0);
	assert_int_equal(nlevels, 2);
	assert_int_equal(levels[0], 1);
	assert_int_equal(levels[1], 0);
	assert_int_equal(vm__irq_pulse(&vm, 5), -EINVAL);	/* errors reach the caller */
	assert_int_equal(vm__thread_sandbox(&vm, VM_THREAD_IO), 0);	/* no sandbox armed */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(gsi_allocation),
		cmocka_unit_test(mmio_allocation),
		cmocka_unit_test(first_stop_wins),
		cmocka_unit_test(irq_pulse_is_an_edge),
	};
	return cmocka_run_group_tests_name("vm", tests, NULL, NULL);
}
