/* Unit tests for the ACPI power-management ports (src/acpi/pm.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "acpi/acpi.h"
#include "devices/device.h"
#include "mem/mem.h"
#include "util/util.h"
#include "vm/vm.h"
#include "vm_fixture.h"

static void pio_write8(struct vm *vm, uint16_t port, uint8_t v)
{
	assert_true(bus__access(&vm->pio, port, &v, 1, true));
}

static uint8_t pio_read8(struct vm *vm, uint16_t port)
{
	uint8_t v = 0x55;
	assert_true(bus__access(&vm->pio, port, &v, 1, false));
	return v;
}

static void test_pm_poweroff(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(acpi__pm_init(&f->vm), 0);
	/* What Linux does: clear WAK_STS, then SLP_TYP=5 | SLP_EN. */
	pio_write8(&f->vm, ACPI_PM_SLEEP_STATUS, 0x80);
	pio_write8(&f->vm, ACPI_PM_SLEEP_CONTROL, 5 << 2);	/* no SLP_EN: nothing */
	assert_false(vm__stopping(&f->vm));
	pio_write8(&f->vm, ACPI_PM_SLEEP_CONTROL, (5 << 2) | 0x20);
	assert_true(vm__stopping(&f->vm));
	assert_int_equal(f->vm.exit_status, MVM_EXIT_POWEROFF);
	assert_non_null(strstr(f->vm.stop_reason, "S5"));
}

static void test_pm_reset(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(acpi__pm_init(&f->vm), 0);
	pio_write8(&f->vm, ACPI_PM_RESET, ACPI_RESET_VALUE + 1);
	assert_false(vm__stopping(&f->vm));
	pio_write8(&f->vm, ACPI_PM_RESET, ACPI_RESET_VALUE);
	assert_true(vm__stopping(&f->vm));
	assert_int_equal(f->vm.exit_status, MVM_EXIT_REBOOT);
}

static void test_pm_other_sleep_wakes(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(acpi__pm_init(&f->vm), 0);
	assert_int_equal(pio_read8(&f->vm, ACPI_PM_SLEEP_STATUS), 0);
	pio_write8(&f->vm, ACPI_PM_SLEEP_CONTROL, (3 << 2) | 0x20);	/* S3 */
	assert_false(vm__stopping(&f->vm));
	assert_int_equal(pio_read8(&f->vm, ACPI_PM_SLEEP_STATUS), 0x80);
	pio_write8(&f->vm, ACPI_PM_SLEEP_STATUS, 0x80);
	assert_int_equal(pio_read8(&f->vm, ACPI_PM_SLEEP_STATUS), 0);
	/* A second instance cannot claim the same ports. */
	assert_int_equal(acpi__pm_init(&f->vm), -EEXIST);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pm_poweroff, setup_vm, teardown_vm),
		cmocka_unit_test_setup_teardown(test_pm_reset, setup_vm, teardown_vm),
		cmocka_unit_test_setup_teardown(test_pm_other_sleep_wakes, setup_vm, teardown_vm),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
