/* isa-debug-exit and the pc-testdev echo port / MMIO window, through the buses. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devices/debug_exit.h"
#include "devices/device.h"
#include "vm/vm.h"

static int setup(void **state)
{
	struct vm *vm = calloc(1, sizeof(*vm));

	bus__init(&vm->pio, "pio");
	bus__init(&vm->mmio, "mmio");
	assert_int_equal(debug_exit__init(vm), 0);
	*state = vm;
	return 0;
}

static int teardown(void **state)
{
	struct vm *vm = *state;

	device__destroy_all(vm);
	bus__exit(&vm->pio);
	bus__exit(&vm->mmio);
	free(vm);
	return 0;
}

static uint64_t io(struct bus *b, uint64_t addr, uint32_t len, bool write, uint64_t v)
{
	uint8_t d[8] = { 0 };

	memcpy(d, &v, len);
	assert_true(bus__access(b, addr, d, len, write));
	v = 0;
	memcpy(&v, d, len);
	return v;
}

static void test_exit_status(void **state)
{
	struct vm *vm = *state;

	assert_false(vm__stopping(vm));
	io(&vm->pio, DEBUG_EXIT_PORT, 1, true, 0);
	assert_true(vm__stopping(vm));
	assert_int_equal(vm->exit_status, 1);
	/* Only the first request counts. */
	io(&vm->pio, DEBUG_EXIT_PORT, 1, true, 5);
	assert_int_equal(vm->exit_status, 1);
}

static void test_exit_widths(void **state)
{
	static const struct { uint32_t port, len; uint64_t v; int status; } cases[] = {
		{ DEBUG_EXIT_PORT, 1, 0x41, 0x83 },
		{ DEBUG_EXIT_PORT, 2, 0x1234, 0x2469 },
		{ DEBUG_EXIT_PORT, 4, 0x3fffffff, 0x7fffffff },
		{ DEBUG_EXIT_PORT + 3, 1, 2, 5 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vm *vm;

		setup((void **)&vm);
		io(&vm->pio, cases[i].port, cases[i].len, true, cases[i].v);
		assert_int_equal(vm->exit_status, cases[i].status);
		assert_int_equal(debug_exit__status((uint32_t)cases[i].v), cases[i].status);
		teardown((void **)&vm);
	}
}

static void test_exit_read_is_harmless(void **state)
{
	struct vm *vm = *state;

	assert_int_equal(io(&vm->pio, DEBUG_EXIT_PORT, 1, false, 0), 0xff);
	assert_false(vm__stopping(vm));
}

static void test_echo_lanes(void **state)
{
	struct vm *vm = *state;
	struct bus *p = &vm->pio;

	io(p, 0xe0, 4, true, 0x12345678);
	assert_int_equal(io(p, 0xe0, 4, false, 0), 0x12345678);
	assert_int_equal(io(p, 0xe0, 1, false, 0), 0x78);
	assert_int_equal(io(p, 0xe1, 1, false, 0), 0x56);
	assert_int_equal(io(p, 0xe2, 2, false, 0), 0x1234);
	io(p, 0xe2, 2, true, 0xbeef);
	assert_int_equal(io(p, 0xe0, 4, false, 0), 0xbeef5678);
	io(p, 0xe1, 1, true, 0xef);
	io(p, 0xe3, 1, true, 0xaa);
	assert_int_equal(io(p, 0xe0, 4, false, 0), 0xaaefef78);
	/* Misaligned: dropped, reads 0. */
	io(p, 0xe1, 2, true, 0x1111);
	assert_int_equal(io(p, 0xe1, 2, false, 0), 0);
	assert_int_equal(io(p, 0xe0, 4, false, 0), 0xaaefef78);
	assert_int_equal(io(p, 0xe2, 2, false, 0), 0xaaef);
	io(p, 0xe0, 4, true, 0xaabeef78);
	/* The byte port shares the register. */
	assert_int_equal(io(p, 0xe8, 4, false, 0), 0xaabeef78);
	io(p, 0xea, 2, true, 0x0102);
	assert_int_equal(io(p, 0xe0, 4, false, 0), 0x0102ef78);
	/* Flush port: accepted, reads zero, does not touch the echo. */
	io(p, 0xe4, 4, true, 0x1000);
	assert_int_equal(io(p, 0xe4, 4, false, 0), 0);
	assert_int_equal(io(p, 0xe0, 4, false, 0), 0x0102ef78);
}

static void test_iomem(void **state)
{
	struct vm *vm = *state;
	struct bus *m = &vm->mmio;
	uint8_t d[8];

	io(m, TESTDEV_IOMEM_BASE, 8, true, 0x0123456789abcdefULL);
	assert_int_equal(io(m, TESTDEV_IOMEM_BASE, 8, false, 0), 0x0123456789abcdefULL);
	assert_int_equal(io(m, TESTDEV_IOMEM_BASE + 1, 2, false, 0), 0xabcd);
	assert_int_equal(io(m, TESTDEV_IOMEM_BASE + 4, 4, false, 0), 0x01234567);
	io(m, TESTDEV_IOMEM_BASE + 3, 1, true, 0x5a);
	assert_int_equal(io(m, TESTDEV_IOMEM_BASE, 4, false, 0), 0x5aabcdef);
	io(m, TESTDEV_IOMEM_BASE + TESTDEV_IOMEM_LEN - 8, 8, true, 0x1122334455667788ULL);
	assert_int_equal(io(m, TESTDEV_IOMEM_BASE + TESTDEV_IOMEM_LEN - 8, 8, false, 0),
			 0x1122334455667788ULL);
	/* Straddling the end is not the device's. */
	memset(d, 0, sizeof(d));
	assert_false(bus__access(m, TESTDEV_IOMEM_BASE + TESTDEV_IOMEM_LEN - 4, d, 8, false));
}

static void test_double_init_refused(void **state)
{
	struct vm *vm = *state;

	assert_int_equal(debug_exit__init(vm), -EEXIST);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_exit_status, setup, teardown),
		cmocka_unit_test(test_exit_widths),
		cmocka_unit_test_setup_teardown(test_exit_read_is_harmless, setup, teardown),
		cmocka_unit_test_setup_teardown(test_echo_lanes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iomem, setup, teardown),
		cmocka_unit_test_setup_teardown(test_double_init_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
