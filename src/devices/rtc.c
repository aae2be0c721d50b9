#include "rtc.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../acpi/acpi.h"
#include "../util/util.h"
#include "../vm/vm.h"
#include "device.h"

#define RTC_INDEX_MASK	0x7f
#define RTC_NMI_MASKED	0x80
#define RTC_A_DIVIDER	0x70
#define RTC_A_DV_32K	0x20	/* the normal 32.768 kHz time base */
/* The update cycle the UIP bit announces lasts 1984 us; UIP rises 244 us before it. */
#define RTC_UIP_NS	244000L

struct rtc {
	struct device dev;
	struct vm *vm;
	pthread_mutex_t lock;	/* several vCPUs may use the index/data pair */
	uint8_t index;
	bool nmi_masked;	/* no NMI source to mask; kept for the record */
	uint8_t cmos[RTC_CMOS_SIZE];
	int64_t offset;		/* guest time = host UTC seconds + offset */
	void (*clock)(struct timespec *now);
};

static void rtc__host_clock(struct timespec *now)
{
	clock_gettime(CLOCK_REALTIME, now);
}

static bool is_time_reg(unsigned idx)
{
	switch (idx) {
	case RTC_SECONDS: case RTC_MINUTES: case RTC_HOURS: case RTC_DAY_OF_WEEK:
	case RTC_DAY_OF_MONTH: case RTC_MONTH: case RTC_YEAR: case RTC_CENTURY:
		return true;
	default:
		return false;
	}
}

static uint8_t to_reg(uint8_t b, unsigned v)
{
	v %= 100;
	return (b & RTC_B_DM_BINARY) ? (uint8_t)v : (uint8_t)(((v / 10) << 4) | (v % 10));
}

/* Garbage BCD from a guest decodes to something; timegm normalises it. */
static unsigned from_reg(uint8_t b, uint8_t v)
{
	return (b & RTC_B_DM_BINARY) ? v : (unsigned)(v >> 4) * 10 + (v & 0x0f);
}

static uint8_t hour_to_reg(uint8_t b, unsigned h)
{
	if (b & RTC_B_24H)
		return to_reg(b, h);
	/* 12-hour: 12, 1..11 with bit 7 for PM. */
	return to_reg(b, h % 12 ? h % 12 : 12) | (h >= 12 ? 0x80 : 0);
}

static unsigned hour_from_reg(uint8_t b, uint8_t v)
{
	if (b & RTC_B_24H)
		return from_reg(b, v);
	return from_reg(b, v & 0x7f) % 12 + ((v & 0x80) ? 12 : 0);
}

/* The clock's fields for guest time @t, in register B's format @b. */
static void encode_time(struct rtc *r, uint8_t b, time_t t)
{
	struct tm tm;
	unsigned year;

	gmtime_r(&t, &tm);
	year = (unsigned)tm.tm_year + 1900;
	r->cmos[RTC_SECONDS] = to_reg(b, (unsigned)tm.tm_sec);
	r->cmos[RTC_MINUTES] = to_reg(b, (unsigned)tm.tm_min);
	r->cmos[RTC_HOURS] = hour_to_reg(b, (unsigned)tm.tm_hour);
	r->cmos[RTC_DAY_OF_WEEK] = to_reg(b, (unsigned)tm.tm_wday + 1);
	r->cmos[RTC_DAY_OF_MONTH] = to_reg(b, (unsigned)tm.tm_mday);
	r->cmos[RTC_MONTH] = to_reg(b, (unsigned)tm.tm_mon + 1);
	r->cmos[RTC_YEAR] = to_reg(b, year % 100);
	r->cmos[RTC_CENTURY] = to_reg(b, year / 100);
}

static time_t decode_time(const struct rtc *r, uint8_t b)
{
	struct tm tm = {
		.tm_sec = (int)from_reg(b, r->cmos[RTC_SECONDS]),
		.tm_min = (int)from_reg(b, r->cmos[RTC_MINUTES]),
		.tm_hour = (int)hour_from_reg(b, r->cmos[RTC_HOURS]),
		.tm_mday = (int)from_reg(b, r->cmos[RTC_DAY_OF_MONTH]),
		.tm_mon = (int)from_reg(b, r->cmos[RTC_MONTH]) - 1,
		.tm_year = (int)(from_reg(b, r->cmos[RTC_CENTURY]) * 100 +
				 from_reg(b, r->cmos[RTC_YEAR])) - 1900,
	};
	/* Day of week is derived, as Linux and every other reader do. */
	return timegm(&tm);
}

static time_t guest_now(struct rtc *r, long *nsec)
{
	struct timespec now;

	r->clock(&now);
	if (nsec)
		*nsec = now.tv_nsec;
	return (time_t)((int64_t)now.tv_sec + r->offset);
}

/* The guest set the clock to the latched fields. */
static void commit_time(struct rtc *r, uint8_t b)
{
	struct timespec now;

	r->clock(&now);
	r->offset = (int64_t)decode_time(r, b) - (int64_t)now.tv_sec;
}

static uint8_t reg_a(struct rtc *r)
{
	long nsec;
	uint8_t a = r->cmos[RTC_REG_A];

	guest_now(r, &nsec);
	if (!(r->cmos[RTC_REG_B] & RTC_B_SET) && (a & RTC_A_DIVIDER) == RTC_A_DV_32K &&
	    nsec >= 1000000000L - RTC_UIP_NS)
		a |= RTC_A_UIP;
	return a;
}

static uint8_t rtc__read(struct rtc *r, unsigned idx)
{
	uint8_t b = r->cmos[RTC_REG_B];

	switch (idx) {
	case RTC_REG_A:
		return reg_a(r);
	case RTC_REG_C:
		return 0;	/* no interrupt sources modelled */
	case RTC_REG_D:
		return RTC_D_VRT;
	default:
		break;
	}
	/* While SET holds the clock, the fields read back as written. */
	if (is_time_reg(idx) && !(b & RTC_B_SET))
		encode_time(r, b, guest_now(r, NULL));
	return r->cmos[idx];
}

static void rtc__write(struct rtc *r, unsigned idx, uint8_t v)
{
	uint8_t b = r->cmos[RTC_REG_B];

	switch (idx) {
	case RTC_REG_A:
		r->cmos[idx] = v & ~RTC_A_UIP;		/* UIP is read-only */
		return;
	case RTC_REG_B:
		if ((v & RTC_B_SET) && !(b & RTC_B_SET)) {
			/* Freeze: latch the running time in the new format. */
			encode_time(r, v, guest_now(r, NULL));
		} else if (!(v & RTC_B_SET) && (b & RTC_B_SET)) {
			/* Release: the fields were written in the old format. */
			commit_time(r, b);
		}
		r->cmos[idx] = v;
		return;
	case RTC_REG_C:
	case RTC_REG_D:
		return;		/* read-only */
	default:
		break;
	}
	if (is_time_reg(idx) && !(b & RTC_B_SET)) {
		/* A running clock takes one field at a time. */
		encode_time(r, b, guest_now(r, NULL));
		r->cmos[idx] = v;
		commit_time(r, b);
		return;
	}
	r->cmos[idx] = v;
}

static void rtc__io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
		    bool is_write)
{
	struct rtc *r = opaque;

	pthread_mutex_lock(&r->lock);
	for (uint32_t i = 0; i < len; i++) {
		if ((offset + i) % RTC_NR_PORTS == 0) {
			/* The index port is write-only on the chip: reads float. */
			if (is_write) {
				r->index = data[i] & RTC_INDEX_MASK;
				r->nmi_masked = data[i] & RTC_NMI_MASKED;
			} else {
				data[i] = 0xff;
			}
		} else if (is_write) {
			rtc__write(r, r->index, data[i]);
		} else {
			data[i] = rtc__read(r, r->index);
		}
	}
	pthread_mutex_unlock(&r->lock);
}

/* Device(RTC) { _HID EISAID("PNP0B00"), _CRS { IO(Decode16, 0x70, 0x70, 1, 2) } } */
static int rtc__acpi(struct device *d, struct aml *aml)
{
	struct aml res;
	size_t dev;

	acpi__aml_init(&res);
	acpi__res_io(&res, RTC_PORT_BASE, RTC_PORT_BASE, 1, RTC_NR_PORTS);
	dev = acpi__aml_device(aml, "RTC");
	acpi__aml_name(aml, "_HID");
	acpi__aml_eisaid(aml, "PNP0B00");
	acpi__aml_name(aml, "_CRS");
	acpi__aml_restemplate(aml, &res);
	acpi__aml_end(aml, dev);
	if (!aml->err && res.err)
		aml->err = res.err;
	acpi__aml_free(&res);
	return acpi__aml_err(aml);
}

static void rtc__destroy(struct device *d)
{
	struct rtc *r = d->opaque;

	pthread_mutex_destroy(&r->lock);
	free(r);
}

void rtc__set_clock(struct rtc *r, void (*fn)(struct timespec *now))
{
	pthread_mutex_lock(&r->lock);
	r->clock = fn ? fn : rtc__host_clock;
	pthread_mutex_unlock(&r->lock);
}

int rtc__init(struct vm *vm, struct rtc **out)
{
	struct rtc *r = calloc(1, sizeof(*r));
	int ret;

	/*
	 * glibc's gmtime_r loads the time zone (opens /etc/localtime) on first
	 * use; do it now, before the vCPU threads' syscall filters forbid open.
	 */
	tzset();
	if (!r)
		return -ENOMEM;
	r->vm = vm;
	r->clock = rtc__host_clock;
	pthread_mutex_init(&r->lock, NULL);
	/* What PC firmware leaves: 32.768 kHz, 1024 Hz rate, 24-hour BCD. */
	r->cmos[RTC_REG_A] = RTC_A_DV_32K | 0x06;
	r->cmos[RTC_REG_B] = RTC_B_24H;

	r->dev = (struct device){ .name = "rtc", .opaque = r, .acpi_aml = rtc__acpi,
				  .destroy = rtc__destroy };
	device__register(vm, &r->dev);
	ret = bus__register(&vm->pio, RTC_PORT_BASE, RTC_NR_PORTS, rtc__io, r, "rtc");
	if (ret) {
		pr_err("bus__register(rtc at 0x%x) failed: %s; another device claims those "
		       "ports", RTC_PORT_BASE, strerror(-ret));
		return ret;
	}
	if (out)
		*out = r;
	return 0;
}
