/* The keyboard controller: reset, and the answers Linux's probe needs. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "devices/i8042.h"
#include "devices/legacy.h"
#include "dev_fixture.h"

struct fixture {
	struct vm vm;
	struct config cfg;
};

static void outb(struct fixture *f, uint16_t port, uint8_t v)
{
	dev_vm__outb(&f->vm, port, v);
}

static uint8_t inb(struct fixture *f, uint16_t port)
{
	return dev_vm__inb(&f->vm, port);
}

/* Linux's i8042_command: a command, optional data, optional answer. */
static int command(struct fixture *f, uint8_t cmd, int param, uint8_t *answer)
{
	assert_int_equal(inb(f, 0x64) & I8042_STR_IBF, 0);
	outb(f, 0x64, cmd);
	if (param >= 0) {
		assert_int_equal(inb(f, 0x64) & I8042_STR_IBF, 0);
		outb(f, 0x60, (uint8_t)param);
	}
	if (!answer)
		return 0;
	uint8_t st = inb(f, 0x64);
	if (!(st & I8042_STR_OBF))
		return -ETIMEDOUT;
	*answer = inb(f, 0x60);
	return st & I8042_STR_AUXDATA ? 1 : 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	dev_vm__init(&f->vm, &f->cfg);
	assert_int_equal(i8042__init(&f->vm, NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	dev_vm__exit(&f->vm);
	free(f);
	return 0;
}

static void idle_status(void **state)
{
	struct fixture *f = *state;

	/* Empty, not busy, POST passed, unlocked: nothing to spin on. */
	assert_int_equal(inb(f, 0x64), I8042_STR_SYS | I8042_STR_UNLOCKED);
	assert_false(vm__stopping(&f->vm));
	assert_int_equal(f->vm.pio.unclaimed, 0);
	/* 0x61 (PIT gate / speaker) is not ours. */
	uint8_t v;
	assert_false(bus__access(&f->vm.pio, 0x61, &v, 1, false));
}

static void reset_command_reboots(void **state)
{
	struct fixture *f = *state;

	/* Linux's kb_wait() + outb(0xfe, 0x64). */
	assert_int_equal(inb(f, 0x64) & I8042_STR_IBF, 0);
	outb(f, 0x64, 0xfe);
	assert_true(vm__stopping(&f->vm));
	assert_int_equal(f->vm.exit_status, MVM_EXIT_REBOOT);
	assert_string_equal(f->vm.stop_reason, "guest reset (i8042)");
}

static void pulse_without_reset_bit_is_harmless(void **state)
{
	struct fixture *f = *state;

	outb(f, 0x64, 0xff);		/* pulse nothing */
	outb(f, 0x64, 0xfd);		/* pulse line 1 (A20), not reset */
	assert_false(vm__stopping(&f->vm));
}

static void output_port_reset(void **state)
{
	struct fixture *f = *state;
	uint8_t v;

	assert_int_equal(command(f, 0xd0, -1, &v), 0);
	assert_int_equal(v & 0x03, 0x03);
	assert_int_equal(command(f, 0xd1, 0x03, NULL), 0);
	assert_false(vm__stopping(&f->vm));
	assert_int_equal(command(f, 0xd1, 0x02, NULL), 0);
	assert_true(vm__stopping(&f->vm));
	assert_int_equal(f->vm.exit_status, MVM_EXIT_REBOOT);
}

/* The order of Linux's i8042_controller_check/selftest/init and aux checks. */
static void linux_probe(void **state)
{
	struct fixture *f = *state;
	uint8_t v, ctr;

	/* i8042_flush */
	assert_int_equal(inb(f, 0x64) & I8042_STR_OBF, 0);
	/* i8042_controller_selftest */
	assert_int_equal(command(f, 0xaa, -1, &v), 0);
	assert_int_equal(v, 0x55);
	/* i8042_controller_init: a stable CTR read, then write it back */
	assert_int_equal(command(f, 0x20, -1, &ctr), 0);
	assert_int_equal(command(f, 0x20, -1, &v), 0);
	assert_int_equal(v, ctr);
	ctr = (ctr | I8042_CTR_KBDDIS) & ~I8042_CTR_KBDINT;
	assert_int_equal(command(f, 0x60, ctr, NULL), 0);
	assert_int_equal(command(f, 0x20, -1, &v), 0);
	assert_int_equal(v, ctr);
	assert_int_equal(inb(f, 0x64) & I8042_STR_OBF, 0);
	assert_int_equal(irq_level[1], 0);
	irq_calls = 0;
	/* i8042_check_mux / check_aux: the loopback answers without AUXDATA... */
	assert_int_equal(command(f, 0xd3, 0xf0, &v), 0);
	assert_int_equal(command(f, 0xd3, 0x5a, &v), 0);
	/* ...and the external AUX test reports an error: no AUX port. */
	assert_int_equal(command(f, 0xa9, -1, &v), 0);
	assert_true(v != 0 && v != 0xfa && v != 0xff);
	/* Keyboard port test passes. */
	assert_int_equal(command(f, 0xab, -1, &v), 0);
	assert_int_equal(v, 0x00);
	assert_int_equal(inb(f, 0x64) & I8042_STR_OBF, 0);
	assert_int_equal(irq_calls, 0);		/* KBDINT is off now */
	assert_false(vm__stopping(&f->vm));
}

static void keyboard_bytes_get_resend_with_irq(void **state)
{
	struct fixture *f = *state;
	uint8_t ctr;

	assert_int_equal(command(f, 0x20, -1, &ctr), 0);
	/* Reading the CTR with KBDINT on (firmware default) raised and dropped IRQ 1. */
	assert_int_equal(irq_calls, 2);
	assert_int_equal(irq_level[1], 0);
	assert_true(ctr & I8042_CTR_KBDINT);
	/* atkbd: GETID (0xf2) to the keyboard; the answer comes with IRQ 1. */
	outb(f, 0x60, 0xf2);
	assert_int_equal(irq_level[1], 1);
	assert_int_equal(inb(f, 0x64) & (I8042_STR_OBF | I8042_STR_AUXDATA), I8042_STR_OBF);
	assert_int_equal(inb(f, 0x60), 0xfe);
	assert_int_equal(irq_level[1], 0);
	assert_int_equal(irq_level[12], 0);
	/* An empty buffer repeats the last byte; OBF stays clear. */
	assert_int_equal(inb(f, 0x60), 0xfe);
	assert_int_equal(inb(f, 0x64) & I8042_STR_OBF, 0);
	/* A byte for the (absent) mouse answers on IRQ 12 when enabled. */
	assert_int_equal(command(f, 0x60, ctr | I8042_CTR_AUXINT, NULL), 0);
	outb(f, 0x64, 0xd4);
	outb(f, 0x60, 0xff);
	assert_int_equal(irq_level[12], 1);
	assert_int_equal(irq_level[1], 0);
	assert_int_equal(inb(f, 0x64) & I8042_STR_AUXDATA, I8042_STR_AUXDATA);
	assert_int_equal(inb(f, 0x60), 0xfe);
	assert_int_equal(irq_level[12], 0);
}

static void cmd_flag_tracks_last_port(void **state)
{
	struct fixture *f = *state;

	outb(f, 0x64, 0xad);
	assert_true(inb(f, 0x64) & I8042_STR_CMD);
	outb(f, 0x64, 0xd2);
	outb(f, 0x60, 0x42);
	assert_false(inb(f, 0x64) & I8042_STR_CMD);
	assert_int_equal(inb(f, 0x60), 0x42);
}

static void postcode_port(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(postcode__init(&f->vm), 0);
	assert_int_equal(postcode__init(&f->vm), -EEXIST);
	outb(f, 0x80, 0x12);
	assert_int_equal(inb(f, 0x80), 0xff);
	assert_int_equal(f->vm.pio.unclaimed, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(idle_status, setup, teardown),
		cmocka_unit_test_setup_teardown(reset_command_reboots, setup, teardown),
		cmocka_unit_test_setup_teardown(pulse_without_reset_bit_is_harmless, setup, teardown),
		cmocka_unit_test_setup_teardown(output_port_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(linux_probe, setup, teardown),
		cmocka_unit_test_setup_teardown(keyboard_bytes_get_resend_with_irq, setup, teardown),
		cmocka_unit_test_setup_teardown(cmd_flag_tracks_last_port, setup, teardown),
		cmocka_unit_test_setup_teardown(postcode_port, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
