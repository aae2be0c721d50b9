/* The CMOS clock, through ports 0x70/0x71, on a clock the test controls. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "acpi/acpi.h"
#include "devices/rtc.h"
#include "dev_fixture.h"

/* 2024-02-29 13:45:07 UTC, a Thursday. */
#define T0 1709214307

static struct timespec fake_now;

static void fake_clock(struct timespec *now)
{
	*now = fake_now;
}

struct fixture {
	struct vm vm;
	struct config cfg;
	struct rtc *r;
};

static uint8_t cmos_read(struct fixture *f, uint8_t idx)
{
	dev_vm__outb(&f->vm, 0x70, idx);
	return dev_vm__inb(&f->vm, 0x71);
}

static void cmos_write(struct fixture *f, uint8_t idx, uint8_t v)
{
	dev_vm__outb(&f->vm, 0x70, idx);
	dev_vm__outb(&f->vm, 0x71, v);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	dev_vm__init(&f->vm, &f->cfg);
	assert_int_equal(rtc__init(&f->vm, &f->r), 0);
	fake_now = (struct timespec){ .tv_sec = T0, .tv_nsec = 500000000 };
	rtc__set_clock(f->r, fake_clock);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	/* The CMOS clock has no interrupt wired: it must never have driven one. */
	assert_int_equal(irq_calls, 0);
	dev_vm__exit(&f->vm);
	free(f);
	return 0;
}

static void bcd_24h(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cmos_read(f, RTC_REG_B), RTC_B_24H);
	assert_int_equal(cmos_read(f, RTC_SECONDS), 0x07);
	assert_int_equal(cmos_read(f, RTC_MINUTES), 0x45);
	assert_int_equal(cmos_read(f, RTC_HOURS), 0x13);
	assert_int_equal(cmos_read(f, RTC_DAY_OF_WEEK), 5);
	assert_int_equal(cmos_read(f, RTC_DAY_OF_MONTH), 0x29);
	assert_int_equal(cmos_read(f, RTC_MONTH), 0x02);
	assert_int_equal(cmos_read(f, RTC_YEAR), 0x24);
	assert_int_equal(cmos_read(f, RTC_CENTURY), 0x20);
	/* The clock runs. */
	fake_now.tv_sec += 60 + 3;
	assert_int_equal(cmos_read(f, RTC_SECONDS), 0x10);
	assert_int_equal(cmos_read(f, RTC_MINUTES), 0x46);
}

static void binary_and_12h(void **state)
{
	struct fixture *f = *state;

	cmos_write(f, RTC_REG_B, RTC_B_24H | RTC_B_DM_BINARY);
	assert_int_equal(cmos_read(f, RTC_SECONDS), 7);
	assert_int_equal(cmos_read(f, RTC_MINUTES), 45);
	assert_int_equal(cmos_read(f, RTC_HOURS), 13);
	assert_int_equal(cmos_read(f, RTC_DAY_OF_MONTH), 29);
	assert_int_equal(cmos_read(f, RTC_YEAR), 24);
	assert_int_equal(cmos_read(f, RTC_CENTURY), 20);
	cmos_write(f, RTC_REG_B, 0);			/* 12-hour BCD */
	assert_int_equal(cmos_read(f, RTC_HOURS), 0x81);	/* 1 PM */
	fake_now.tv_sec -= 13 * 3600;			/* 00:45 -> 12 AM */
	assert_int_equal(cmos_read(f, RTC_HOURS), 0x12);
	fake_now.tv_sec += 12 * 3600;			/* 12:45 -> 12 PM */
	assert_int_equal(cmos_read(f, RTC_HOURS), 0x92);
}

static void set_time_with_set_bit(void **state)
{
	struct fixture *f = *state;

	/* hwclock --systohc: hold the clock, write fields, release. */
	cmos_write(f, RTC_REG_B, RTC_B_SET | RTC_B_24H);
	assert_int_equal(cmos_read(f, RTC_SECONDS), 0x07);	/* latched */
	fake_now.tv_sec += 5;
	assert_int_equal(cmos_read(f, RTC_SECONDS), 0x07);	/* frozen */
	cmos_write(f, RTC_SECONDS, 0x30);
	cmos_write(f, RTC_MINUTES, 0x59);
	cmos_write(f, RTC_HOURS, 0x23);
	cmos_write(f, RTC_DAY_OF_MONTH, 0x31);
	cmos_write(f, RTC_MONTH, 0x12);
	cmos_write(f, RTC_YEAR, 0x99);
	cmos_write(f, RTC_CENTURY, 0x19);
	assert_int_equal(cmos_read(f, RTC_MINUTES), 0x59);
	cmos_write(f, RTC_REG_B, RTC_B_24H);
	/* 1999-12-31 23:59:30, then 31 s later the century rolls over. */
	assert_int_equal(cmos_read(f, RTC_YEAR), 0x99);
	fake_now.tv_sec += 31;
	assert_int_equal(cmos_read(f, RTC_SECONDS), 0x01);
	assert_int_equal(cmos_read(f, RTC_HOURS), 0x00);
	assert_int_equal(cmos_read(f, RTC_MONTH), 0x01);
	assert_int_equal(cmos_read(f, RTC_YEAR), 0x00);
	assert_int_equal(cmos_read(f, RTC_CENTURY), 0x20);
	assert_int_equal(cmos_read(f, RTC_DAY_OF_WEEK), 7);	/* 2000-01-01: Saturday */
}

static void write_running_clock(void **state)
{
	struct fixture *f = *state;

	cmos_write(f, RTC_HOURS, 0x02);		/* 13:45:07 -> 02:45:07 */
	assert_int_equal(cmos_read(f, RTC_HOURS), 0x02);
	assert_int_equal(cmos_read(f, RTC_MINUTES), 0x45);
	assert_int_equal(cmos_read(f, RTC_DAY_OF_MONTH), 0x29);
	fake_now.tv_sec += 3600;
	assert_int_equal(cmos_read(f, RTC_HOURS), 0x03);
	/* Nonsense from the guest is absorbed, not trusted. */
	cmos_write(f, RTC_MONTH, 0xff);
	cmos_read(f, RTC_YEAR);
}

static void uip_window(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cmos_read(f, RTC_REG_A), 0x26);
	fake_now.tv_nsec = 999800000;		/* inside the last 244 us */
	assert_int_equal(cmos_read(f, RTC_REG_A), 0xa6);
	fake_now.tv_nsec = 999700000;
	assert_int_equal(cmos_read(f, RTC_REG_A), 0x26);
	/* Not while the clock is held or the divider is stopped. */
	fake_now.tv_nsec = 999900000;
	cmos_write(f, RTC_REG_B, RTC_B_SET | RTC_B_24H);
	assert_int_equal(cmos_read(f, RTC_REG_A), 0x26);
	cmos_write(f, RTC_REG_B, RTC_B_24H);
	cmos_write(f, RTC_REG_A, 0x76 | 0x80);	/* UIP itself is read-only */
	assert_int_equal(cmos_read(f, RTC_REG_A), 0x76);
}

static void c_d_ram_nmi(void **state)
{
	struct fixture *f = *state;
	uint8_t v, idx;

	assert_int_equal(cmos_read(f, RTC_REG_D), 0x80);
	cmos_write(f, RTC_REG_D, 0);
	assert_int_equal(cmos_read(f, RTC_REG_D), 0x80);
	assert_int_equal(cmos_read(f, RTC_REG_C), 0);
	for (unsigned i = 0x0e; i < 0x80; i++)
		if (i != RTC_CENTURY)
			cmos_write(f, (uint8_t)i, (uint8_t)(i ^ 0xa5));
	for (unsigned i = 0x0e; i < 0x80; i++)
		if (i != RTC_CENTURY)
			assert_int_equal(cmos_read(f, (uint8_t)i), i ^ 0xa5);
	/* Bit 7 of the index is the NMI mask, not part of the index. */
	assert_int_equal(cmos_read(f, 0x80 | RTC_SECONDS), 0x07);
	assert_int_equal(cmos_read(f, 0x80 | 0x40), 0x40 ^ 0xa5);
	/* The index port reads as floating; a 2-byte access reaches both. */
	assert_true(bus__access(&f->vm.pio, 0x70, &v, 1, false));
	assert_int_equal(v, 0xff);
	idx = RTC_MINUTES;
	assert_true(bus__access(&f->vm.pio, 0x70, &idx, 1, true));
	uint8_t w[2];
	assert_true(bus__access(&f->vm.pio, 0x70, w, 2, false));
	assert_int_equal(w[1], 0x45);
}

static void acpi_node(void **state)
{
	struct fixture *f = *state;
	struct device *d = f->vm.devices;
	struct aml aml;
	/* IO(Decode16, 0x70, 0x70, 1, 2) */
	static const uint8_t io[] = { 0x47, 0x01, 0x70, 0x00, 0x70, 0x00, 0x01, 0x02 };

	assert_string_equal(d->name, "rtc");
	acpi__aml_init(&aml);
	assert_int_equal(d->acpi_aml(d, &aml), 0);
	assert_non_null(memmem(aml.buf, aml.len, "RTC_", 4));
	assert_non_null(memmem(aml.buf, aml.len, io, sizeof(io)));
	/* EISAID("PNP0B00") = 0x000bd041 */
	assert_non_null(memmem(aml.buf, aml.len, "\x0c\x41\xd0\x0b\x00", 5));
	acpi__aml_free(&aml);
	struct rtc *dup;
	assert_int_equal(rtc__init(&f->vm, &dup), -EEXIST);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(bcd_24h, setup, teardown),
		cmocka_unit_test_setup_teardown(binary_and_12h, setup, teardown),
		cmocka_unit_test_setup_teardown(set_time_with_set_bit, setup, teardown),
		cmocka_unit_test_setup_teardown(write_running_clock, setup, teardown),
		cmocka_unit_test_setup_teardown(uip_window, setup, teardown),
		cmocka_unit_test_setup_teardown(c_d_ram_nmi, setup, teardown),
		cmocka_unit_test_setup_teardown(acpi_node, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
