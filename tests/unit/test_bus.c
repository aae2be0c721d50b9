#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "bus/bus.h"

struct rec {
	uint64_t off;
	uint32_t len;
	bool write;
	int calls;
};

static void handler(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct rec *r = opaque;
	r->off = off;
	r->len = len;
	r->write = is_write;
	r->calls++;
	if (!is_write)
		memset(data, 0x5a, len);
}

static void overlap_rejected(void **state)
{
	struct bus b;
	struct rec r = { 0 };
	(void)state;
	bus__init(&b, "pio");
	assert_int_equal(bus__register(&b, 0x3f8, 8, handler, &r, "a"), 0);
	assert_int_equal(bus__register(&b, 0x3f8, 8, handler, &r, "dup"), -EEXIST);
	assert_int_equal(bus__register(&b, 0x3f0, 9, handler, &r, "tail"), -EEXIST);
	assert_int_equal(bus__register(&b, 0x3ff, 1, handler, &r, "head"), -EEXIST);
	assert_int_equal(bus__register(&b, 0x3f0, 8, handler, &r, "before"), 0);
	assert_int_equal(bus__register(&b, 0x400, 1, handler, &r, "after"), 0);
	assert_int_equal(bus__register(&b, 0x10, 0, handler, &r, "empty"), -EINVAL);
	assert_int_equal(bus__register(&b, UINT64_MAX, 2, handler, &r, "wrap"), -EINVAL);
	assert_int_equal(b.nr, 3);
	/* sorted */
	assert_true(b.ranges[0].base < b.ranges[1].base && b.ranges[1].base < b.ranges[2].base);
	bus__exit(&b);
}

static void offsets_and_unclaimed(void **state)
{
	struct bus b;
	struct rec r = { 0 };
	uint8_t d[8];
	(void)state;
	bus__init(&b, "mmio");
	/* many ranges so the binary search is exercised */
	for (uint64_t i = 0; i < 40; i++)
		assert_int_equal(bus__register(&b, 0x1000 * (40 - i), 0x100, handler, &r, "x"), 0);
	assert_true(bus__access(&b, 0x5010, d, 4, false));
	assert_int_equal(r.off, 0x10);
	assert_int_equal(r.len, 4);
	assert_false(r.write);
	assert_int_equal(d[0], 0x5a);
	memset(d, 0, sizeof(d));
	assert_false(bus__access(&b, 0x5100, d, 2, false));	/* just past the end */
	assert_int_equal(d[0], 0xff);
	assert_int_equal(d[1], 0xff);
	assert_false(bus__access(&b, 0x50fe, d, 4, true));	/* straddles the end */
	assert_false(bus__access(&b, 0x10, d, 1, true));	/* below everything */
	assert_int_equal(b.unclaimed, 3);
	assert_int_equal(r.calls, 1);
	bus__exit(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(overlap_rejected),
		cmocka_unit_test(offsets_and_unclaimed),
	};
	return cmocka_run_group_tests_name("bus", tests, NULL, NULL);
}
