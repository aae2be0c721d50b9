/*
 * kvm-clock for the shadow backend: the paravirtual clock the same guest
 * gets from KVM (CPUID 0x40000001 CLOCKSOURCE/CLOCKSOURCE2/STABLE_BIT and
 * the MSRs 0x11/0x12, 0x4b564d00/01).
 *
 * Why: with hardware-reduced ACPI Linux has no legacy PIC, so it skips the
 * slow PIT calibration of the TSC and only tries the quick one, which fails
 * as soon as the host deschedules the vCPU thread for ~200 us.  Without a
 * TSC frequency and without a PIT clockevent it cannot calibrate the LAPIC
 * timer and spins forever.  kvm-clock hands it the exact frequency.
 *
 * The interpreter's TSC is CLOCK_MONOTONIC scaled to tsc_khz plus the
 * vCPU's tsc_offset, so one pvclock record stays exact until tsc_offset
 * changes (a guest TSC write); the backend then calls kvmclock refresh.
 */
#include "irqchip.h"

#include <string.h>
#include <time.h>

#define MSR_KVM_WALL_CLOCK	0x11u
#define MSR_KVM_SYSTEM_TIME	0x12u
#define MSR_KVM_WALL_CLOCK_NEW	0x4b564d00u
#define MSR_KVM_SYSTEM_TIME_NEW	0x4b564d01u
#define PVCLOCK_TSC_STABLE_BIT	1u

struct pvclock_vcpu_time_info {
	uint32_t version, pad0;
	uint64_t tsc_timestamp, system_time;
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags, pad[2];
} __attribute__((packed));
_Static_assert(sizeof(struct pvclock_vcpu_time_info) == 32, "pvclock ABI");

struct pvclock_wall_clock {
	uint32_t version, sec, nsec;
} __attribute__((packed));
_Static_assert(sizeof(struct pvclock_wall_clock) == 12, "pvclock ABI");

/* ns = (tsc << shift or >> -shift) * mul >> 32; KVM's kvm_get_time_scale. */
static void time_scale(uint64_t scaled_hz, uint64_t base_hz, int8_t *pshift, uint32_t *pmul)
{
	uint64_t tps64 = base_hz, scaled64 = scaled_hz;
	uint32_t tps32;
	int32_t shift = 0;

	while (tps64 > scaled64 * 2 || (tps64 & 0xffffffff00000000ull)) {
		tps64 >>= 1;
		shift--;
	}
	tps32 = (uint32_t)tps64;
	while (tps32 <= scaled64 || (scaled64 & 0xffffffff00000000ull)) {
		if ((scaled64 & 0xffffffff00000000ull) || (tps32 & 0x80000000u))
			scaled64 >>= 1;
		else
			tps32 <<= 1;
		shift++;
	}
	*pshift = (int8_t)shift;
	*pmul = (uint32_t)((scaled64 << 32) / tps32);
}

/* The guest TSC at @ts exactly as x86_rdtsc computes it. */
static uint64_t tsc_at(const struct timespec *ts, uint64_t khz, uint64_t offset)
{
	return (uint64_t)ts->tv_sec * khz * 1000 + (uint64_t)ts->tv_nsec * khz / 1000000 + offset;
}

static void write_time_info(struct guest_mem *mem, uint64_t gpa, uint64_t khz, uint64_t offset)
{
	struct pvclock_vcpu_time_info *p = mem__gpa_to_hva(mem, gpa, sizeof(*p));
	struct timespec ts;
	uint32_t ver, mul;
	int8_t shift;

	if (!p)
		return;		/* not RAM: a hostile or confused guest gets no clock */
	ver = __atomic_load_n(&p->version, __ATOMIC_RELAXED);
	/* Odd version while updating, as KVM: readers retry. */
	__atomic_store_n(&p->version, ver | 1, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	p->tsc_timestamp = tsc_at(&ts, khz, offset);
	p->system_time = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	time_scale(1000000000ull, khz * 1000, &shift, &mul);
	p->tsc_shift = shift;
	p->tsc_to_system_mul = mul;
	p->flags = PVCLOCK_TSC_STABLE_BIT;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&p->version, (ver | 1) + 1, __ATOMIC_RELEASE);
}

/* Wall-clock time at system_time 0 (our system_time is CLOCK_MONOTONIC). */
static void write_wall_clock(struct guest_mem *mem, uint64_t gpa)
{
	struct pvclock_wall_clock *w = mem__gpa_to_hva(mem, gpa, sizeof(*w));
	struct timespec rt, mono;
	int64_t ns;
	uint32_t ver;

	if (!w)
		return;
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	ns = ((int64_t)rt.tv_sec - mono.tv_sec) * 1000000000ll + (rt.tv_nsec - mono.tv_nsec);
	ver = __atomic_load_n(&w->version, __ATOMIC_RELAXED);
	__atomic_store_n(&w->version, ver | 1, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	w->sec = (uint32_t)(ns / 1000000000ll);
	w->nsec = (uint32_t)(ns % 1000000000ll);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&w->version, (ver | 1) + 1, __ATOMIC_RELEASE);
}

bool irqchip__kvmclock_rdmsr(struct irqchip *chip, int vcpu, uint32_t msr, uint64_t *val)
{
	struct lapic *l = irqchip__lapic_of(chip, vcpu);

	if (!l)
		return false;
	switch (msr) {
	case MSR_KVM_SYSTEM_TIME:
	case MSR_KVM_SYSTEM_TIME_NEW:
		*val = l->kvmclock_msr;
		return true;
	case MSR_KVM_WALL_CLOCK:
	case MSR_KVM_WALL_CLOCK_NEW:
		*val = l->wallclock_msr;
		return true;
	default:
		return false;
	}
}

bool irqchip__kvmclock_wrmsr(struct irqchip *chip, int vcpu, struct guest_mem *mem, uint32_t msr,
			     uint64_t val, uint64_t tsc_khz, uint64_t tsc_offset)
{
	struct lapic *l = irqchip__lapic_of(chip, vcpu);

	if (!l)
		return false;
	switch (msr) {
	case MSR_KVM_SYSTEM_TIME:
	case MSR_KVM_SYSTEM_TIME_NEW:
		l->kvmclock_msr = val;
		l->kvmclock_offset = tsc_offset;
		if (val & 1)
			write_time_info(mem, val & ~1ull, tsc_khz, tsc_offset);
		return true;
	case MSR_KVM_WALL_CLOCK:
	case MSR_KVM_WALL_CLOCK_NEW:
		l->wallclock_msr = val;
		write_wall_clock(mem, val);
		return true;
	default:
		return false;
	}
}

void irqchip__kvmclock_refresh(struct irqchip *chip, int vcpu, struct guest_mem *mem,
			       uint64_t tsc_khz, uint64_t tsc_offset)
{
	struct lapic *l = irqchip__lapic_of(chip, vcpu);

	if (!l || !(l->kvmclock_msr & 1) || l->kvmclock_offset == tsc_offset)
		return;
	l->kvmclock_offset = tsc_offset;
	write_time_info(mem, l->kvmclock_msr & ~1ull, tsc_khz, tsc_offset);
}
