/*
 * The ACPI power-management ports of a hardware-reduced machine: the
 * FADT's sleep control/status registers and its reset register.
 *
 * Linux powers off with acpi_hw_extended_sleep(): it writes WAK_STS to the
 * status register, then SLP_TYP << 2 | SLP_EN to the control register, then
 * polls the status register for WAK_STS.  It reboots (reboot_type
 * BOOT_ACPI, the x86 default) by writing RESET_VALUE to RESET_REG, and only
 * then falls back to the keyboard controller and a triple fault.
 */
#include "acpi.h"

#include "../devices/device.h"
#include "../util/util.h"
#include "../vm/vm.h"

#include <errno.h>
#include <stdlib.h>

#define SLP_TYP_SHIFT	2
#define SLP_TYP_MASK	0x1c
#define SLP_EN		0x20
#define WAK_STS		0x80

#define PM_PORT_BASE	ACPI_PM_SLEEP_CONTROL
#define PM_PORT_COUNT	3
_Static_assert(ACPI_PM_SLEEP_STATUS == PM_PORT_BASE + 1 && ACPI_PM_RESET == PM_PORT_BASE + 2,
	       "the PM ports must stay one contiguous range");

struct acpi_pm {
	struct device dev;
	struct vm *vm;
	uint8_t wak_sts;	/* atomic; WAK_STS once a sleep we do not do "ended" */
};

static void pm_sleep_control(struct acpi_pm *pm, uint8_t v)
{
	unsigned typ = (v & SLP_TYP_MASK) >> SLP_TYP_SHIFT;

	if (!(v & SLP_EN))
		return;
	if (typ == ACPI_S5_SLP_TYP) {
		vm__request_stop(pm->vm, MVM_EXIT_POWEROFF, "guest powered off (ACPI S5)");
		return;
	}
	/*
	 * The DSDT offers no other sleep state, so this is a confused guest.
	 * Wake it at once instead of letting it spin on WAK_STS forever.
	 */
	pr_warn("ACPI: guest asked for sleep type %u, which mvm does not implement; ignored",
		typ);
	__atomic_store_n(&pm->wak_sts, WAK_STS, __ATOMIC_RELEASE);
}

static void pm_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct acpi_pm *pm = opaque;
	uint64_t port = PM_PORT_BASE + offset;

	/* The registers are 8 bits wide (the FADT says so); wider reads see zeros. */
	if (!is_write) {
		for (uint32_t i = 0; i < len; i++)
			data[i] = 0;
		if (port == ACPI_PM_SLEEP_STATUS)
			data[0] = __atomic_load_n(&pm->wak_sts, __ATOMIC_ACQUIRE);
		return;
	}
	switch (port) {
	case ACPI_PM_SLEEP_CONTROL:
		pm_sleep_control(pm, data[0]);
		break;
	case ACPI_PM_SLEEP_STATUS:
		if (data[0] & WAK_STS)	/* write one to clear */
			__atomic_store_n(&pm->wak_sts, 0, __ATOMIC_RELEASE);
		break;
	case ACPI_PM_RESET:
		if (data[0] == ACPI_RESET_VALUE)
			vm__request_stop(pm->vm, MVM_EXIT_REBOOT, "guest rebooted (ACPI reset register)");
		break;
	}
}

static void pm_destroy(struct device *d)
{
	free(d->opaque);
}

int acpi__pm_init(struct vm *vm)
{
	struct acpi_pm *pm = calloc(1, sizeof(*pm));
	int ret;

	if (!pm)
		return -ENOMEM;
	pm->vm = vm;
	ret = bus__register(&vm->pio, PM_PORT_BASE, PM_PORT_COUNT, pm_io, pm, "acpi-pm");
	if (ret) {
		pr_err("ACPI: cannot claim I/O ports %#x-%#x for power management: error %d "
		       "(another device uses them)", PM_PORT_BASE, PM_PORT_BASE + PM_PORT_COUNT - 1,
		       ret);
		free(pm);
		return ret;
	}
	pm->dev = (struct device){ .name = "acpi-pm", .opaque = pm, .destroy = pm_destroy };
	device__register(vm, &pm->dev);
	return 0;
}
