/* fw_cfg legacy I/O interface: items encoded as QEMU encodes them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devices/device.h"
#include "devices/fw_cfg.h"
#include "vm/vm.h"

struct fix {
	struct vm vm;
	struct config cfg;
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	f->cfg.cpus = 3;
	f->vm.cfg = &f->cfg;
	bus__init(&f->vm.pio, "pio");
	bus__init(&f->vm.mmio, "mmio");
	assert_int_equal(mem__init(&f->vm.mem, 5ULL << 30), 0);	/* spans the hole */
	assert_int_equal(fw_cfg__init(&f->vm), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	device__destroy_all(&f->vm);
	bus__exit(&f->vm.pio);
	bus__exit(&f->vm.mmio);
	mem__exit(&f->vm.mem);
	free(f);
	return 0;
}

static void sel(struct fix *f, uint16_t key)
{
	uint8_t d[2] = { key & 0xff, key >> 8 };

	assert_true(bus__access(&f->vm.pio, FW_CFG_PORT_SEL, d, 2, true));
}

static void rd(struct fix *f, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		assert_true(bus__access(&f->vm.pio, FW_CFG_PORT_DATA, &out[i], 1, false));
}

static void test_signature_and_id(void **state)
{
	struct fix *f = *state;
	uint8_t b[8];

	sel(f, FW_CFG_SIGNATURE);
	rd(f, b, 6);
	assert_memory_equal(b, "QEMU\0\0", 6);
	sel(f, FW_CFG_ID);
	rd(f, b, 4);
	assert_memory_equal(b, "\x01\0\0\0", 4);
	/* Reselecting rewinds. */
	sel(f, FW_CFG_SIGNATURE);
	rd(f, b, 2);
	sel(f, FW_CFG_SIGNATURE);
	rd(f, b, 1);
	assert_int_equal(b[0], 'Q');
}

static void test_ram_and_cpus(void **state)
{
	struct fix *f = *state;
	uint8_t b[10];
	uint64_t ram = 0;
	uint16_t cpus = 0;

	sel(f, FW_CFG_RAM_SIZE);
	rd(f, b, 10);
	memcpy(&ram, b, 8);
	assert_int_equal(ram, 5ULL << 30);
	assert_int_equal(b[8] | b[9], 0);
	sel(f, FW_CFG_NB_CPUS);
	rd(f, b, 3);
	memcpy(&cpus, b, 2);
	assert_int_equal(cpus, 3);
	assert_int_equal(b[2], 0);
	/* The write and arch-local bits do not change the item. */
	sel(f, FW_CFG_NB_CPUS | 0x4000);
	rd(f, b, 2);
	assert_int_equal(b[0], 3);
	sel(f, FW_CFG_FILE_DIR);
	memset(b, 0xee, 4);
	rd(f, b, 4);
	assert_memory_equal(b, "\0\0\0\0", 4);
}

static void test_unknown_and_bad_widths(void **state)
{
	struct fix *f = *state;
	uint8_t b[4] = { 0xee, 0xee, 0xee, 0xee };

	sel(f, 0x1234);
	rd(f, b, 2);
	assert_int_equal(b[0] | b[1], 0);
	/* A byte write to the selector is ignored: still on the unknown item. */
	sel(f, FW_CFG_SIGNATURE);
	b[0] = FW_CFG_ID;
	assert_true(bus__access(&f->vm.pio, FW_CFG_PORT_SEL, b, 1, true));
	rd(f, b, 1);
	assert_int_equal(b[0], 'Q');
	/* Data-port writes are ignored. */
	b[0] = 0;
	assert_true(bus__access(&f->vm.pio, FW_CFG_PORT_DATA, b, 1, true));
	rd(f, b, 1);
	assert_int_equal(b[0], 'E');
	/* Wide access that straddles the range end is not claimed. */
	assert_false(bus__access(&f->vm.pio, FW_CFG_PORT_DATA, b, 2, false));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_signature_and_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ram_and_cpus, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_and_bad_widths, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
