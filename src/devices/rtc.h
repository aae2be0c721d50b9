/*
 * rtc: the MC146818 CMOS clock at ports 0x70 (index; bit 7 masks NMI) and
 * 0x71 (data), with its 128 bytes of CMOS RAM.
 *
 * Time is the host's UTC clock plus a whole-second offset the guest may
 * change by writing the time registers, in BCD or binary and 12- or 24-hour
 * form as register B says; the century lives at 0x32.  Register A's UIP bit
 * is set only in the last 244 us of each second, as on the chip, so a guest
 * waiting for it to clear waits that long at most.  Register D always
 * reports valid RAM and time.
 *
 * Not modelled: the periodic, alarm and update-ended interrupts (IRQ 8) --
 * register C always reads 0 and the ACPI node lists no IRQ, so Linux's
 * rtc-cmos runs without alarms and hwclock falls back to polling.
 */
#ifndef MVM_RTC_H
#define MVM_RTC_H

#include <stdint.h>
#include <time.h>

struct vm;
struct rtc;

#define RTC_PORT_BASE	0x70
#define RTC_NR_PORTS	2
#define RTC_CMOS_SIZE	128

/* CMOS indices of the clock. */
enum {
	RTC_SECONDS = 0x00, RTC_SECONDS_ALARM = 0x01,
	RTC_MINUTES = 0x02, RTC_MINUTES_ALARM = 0x03,
	RTC_HOURS = 0x04, RTC_HOURS_ALARM = 0x05,
	RTC_DAY_OF_WEEK = 0x06, RTC_DAY_OF_MONTH = 0x07,
	RTC_MONTH = 0x08, RTC_YEAR = 0x09,
	RTC_REG_A = 0x0a, RTC_REG_B = 0x0b, RTC_REG_C = 0x0c, RTC_REG_D = 0x0d,
	RTC_CENTURY = 0x32,
};

#define RTC_A_UIP	0x80
#define RTC_B_SET	0x80
#define RTC_B_DM_BINARY	0x04
#define RTC_B_24H	0x02
#define RTC_D_VRT	0x80

/*
 * Register the clock on vm->pio and an "rtc" device (ACPI PNP0B00 node)
 * that frees it.  0 or -errno (-EEXIST: ports taken).
 */
int rtc__init(struct vm *vm, struct rtc **out) __attribute__((warn_unused_result));

/* Tests: read "now" from @fn instead of CLOCK_REALTIME. */
void rtc__set_clock(struct rtc *r, void (*fn)(struct timespec *now));

#endif
