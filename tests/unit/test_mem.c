#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mem/mem.h"

static void small_one_slot(void **state)
{
	struct guest_mem m;
	uint8_t b[4] = { 1, 2, 3, 4 };
	(void)state;
	assert_int_equal(mem__init(&m, 64 << 20), 0);
	assert_int_equal(m.nr_slots, 1);
	/* host address shares the low 21 bits with the guest address */
	assert_int_equal((uintptr_t)m.slot[0].hva & ((2 << 20) - 1), 0);
	assert_non_null(mem__gpa_to_hva(&m, 0, 64 << 20));
	assert_null(mem__gpa_to_hva(&m, 0, (64 << 20) + 1));
	assert_null(mem__gpa_to_hva(&m, (64 << 20) - 2, 4));
	assert_null(mem__gpa_to_hva(&m, UINT64_MAX - 1, 4));	/* no wrap-around */
	assert_int_equal(mem__write(&m, 0x1000, b, 4), 0);
	assert_int_equal(mem__read(&m, 0x1000, b, 4), 0);
	assert_int_equal(mem__write(&m, 64 << 20, b, 1), -EFAULT);
	mem__exit(&m);
}

static void hole_splits_slots(void **state)
{
	struct guest_mem m;
	(void)state;
	assert_int_equal(mem__init(&m, 4ULL << 30), 0);
	assert_int_equal(m.nr_slots, 2);
	assert_int_equal(m.slot[0].size, MEM_HOLE_START);
	assert_int_equal(m.slot[1].gpa, MEM_HOLE_END);
	assert_int_equal(m.slot[1].size, (4ULL << 30) - MEM_HOLE_START);
	assert_false(mem__is_ram(&m, MEM_HOLE_START));
	assert_false(mem__is_ram(&m, MMIO_IOAPIC_BASE));
	assert_true(mem__is_ram(&m, MEM_HOLE_END));
	/* a range may not run from one slot across the hole into the next */
	assert_null(mem__gpa_to_hva(&m, MEM_HOLE_START - 4, 8));
	mem__exit(&m);
}

static void bad_sizes(void **state)
{
	struct guest_mem m;
	(void)state;
	assert_int_equal(mem__init(&m, 0), -EINVAL);
	assert_int_equal(mem__init(&m, 1 << 20), -EINVAL);
	assert_int_equal(mem__init(&m, (64 << 20) + 1), -EINVAL);
	assert_int_equal(mem__init(&m, 1ULL << 62), -ENOMEM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(small_one_slot),
		cmocka_unit_test(hole_splits_slots),
		cmocka_unit_test(bad_sizes),
	};
	return cmocka_run_group_tests_name("mem", tests, NULL, NULL);
}
