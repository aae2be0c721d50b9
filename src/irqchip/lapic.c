/*
 * Local APIC, xAPIC mode only (x2APIC and TSC-deadline are not advertised).
 *
 * Ownership: everything but irr/tmr/dirty/events/sipi_vector belongs to the
 * vCPU thread that owns the APIC; senders on other threads set IRR/TMR bits
 * and event bits with atomics, mark the APIC dirty and wake its vCPU (KVM's
 * posted-interrupt model).  The owner recomputes the deliverable vector only
 * when dirty, so the per-instruction pending check is a few loads.
 * ID, LDR, DFR, SVR-enable and LINT0 are stored atomically because senders
 * match destinations against them.
 */
#include "irqchip.h"

#include <string.h>

enum {
	APIC_ID = 0x20, APIC_LVR = 0x30, APIC_TPR = 0x80, APIC_APR = 0x90, APIC_PPR = 0xa0,
	APIC_EOI = 0xb0, APIC_RRR = 0xc0, APIC_LDR = 0xd0, APIC_DFR = 0xe0, APIC_SVR = 0xf0,
	APIC_ISR = 0x100, APIC_TMR = 0x180, APIC_IRR = 0x200, APIC_ESR = 0x280,
	APIC_LVTCMCI = 0x2f0, APIC_ICR = 0x300, APIC_ICR2 = 0x310, APIC_LVTT = 0x320,
	APIC_LVTTHMR = 0x330, APIC_LVTPC = 0x340, APIC_LVT0 = 0x350, APIC_LVT1 = 0x360,
	APIC_LVTERR = 0x370, APIC_TMICT = 0x380, APIC_TMCCT = 0x390, APIC_TDCR = 0x3e0,
};

#define APIC_VERSION		0x00050014u	/* version 0x14, 6 LVT entries */
#define LVT_MASKED		(1u << 16)
#define LVT_PERIODIC		(1u << 17)
#define LVT_BASE_MASK		(LVT_MASKED | 0xffu)
#define LVT_MODE_MASK		(7u << 8)
#define LINT_MASK		(LVT_BASE_MASK | LVT_MODE_MASK | (7u << 13))
#define SVR_ENABLED		(1u << 8)
#define MIN_PERIOD_NS		100000ull	/* periodic timer floor, as KVM's min_timer_period_us */

enum { DM_FIXED = 0, DM_LOWEST = 1, DM_SMI = 2, DM_NMI = 4, DM_INIT = 5, DM_SIPI = 6,
       DM_EXTINT = 7 };

static int highest_bit(const uint32_t *reg, bool atomic)
{
	for (int w = 7; w >= 0; w--) {
		uint32_t v = atomic ? __atomic_load_n(&reg[w], __ATOMIC_ACQUIRE) : reg[w];

		if (v)
			return w * 32 + 31 - __builtin_clz(v);
	}
	return -1;
}

static bool test_bit(const uint32_t *reg, unsigned v)
{
	return __atomic_load_n(&reg[v / 32], __ATOMIC_RELAXED) & (1u << (v % 32));
}

static void mark_dirty(struct lapic *l)
{
	__atomic_store_n(&l->dirty, 1, __ATOMIC_RELEASE);
}

static uint32_t ppr(const struct lapic *l)
{
	int isrv = highest_bit(l->isr, false);
	uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & 0xf0;

	return (l->tpr & 0xf0) >= isr_class ? l->tpr & 0xff : isr_class;
}

void lapic_reset(struct lapic *l)
{
	memset(l->irr, 0, sizeof(l->irr));
	memset(l->tmr, 0, sizeof(l->tmr));
	memset(l->isr, 0, sizeof(l->isr));
	l->tpr = l->esr = l->esr_pending = l->icr_lo = l->icr_hi = 0;
	__atomic_store_n(&l->ldr, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&l->dfr, 0xffffffffu, __ATOMIC_RELAXED);
	l->svr = 0xff;
	__atomic_store_n(&l->sw_enabled, 0, __ATOMIC_RELAXED);
	l->lvt_timer = l->lvt_thermal = l->lvt_perf = l->lvt1 = l->lvt_err = LVT_MASKED;
	__atomic_store_n(&l->lvt0, LVT_MASKED, __ATOMIC_RELAXED);
	l->tdcr = l->tmict = 0;
	l->timer_start = 0;
	l->timer_deadline = IRQCHIP_NO_DEADLINE;
	l->last_extint = false;
	l->cached = -1;
	mark_dirty(l);
}

void lapic_init(struct lapic *l, struct irqchip *chip, int vcpu)
{
	memset(l, 0, sizeof(*l));
	l->chip = chip;
	l->vcpu = vcpu;
	l->id = (uint32_t)vcpu << 24;
	l->apic_base = IRQCHIP_LAPIC_BASE | (1u << 11) | (vcpu == 0 ? 1u << 8 : 0);
	l->hw_enabled = 1;
	lapic_reset(l);
	l->present = true;
}

/* ---- timer --------------------------------------------------------------------- */

static uint64_t divide(const struct lapic *l)
{
	uint32_t v = ((l->tdcr & 3) | ((l->tdcr & 8) >> 1)) + 1;

	return 1ull << (v & 7);
}

static uint64_t period_ns(const struct lapic *l)
{
	uint64_t p = (uint64_t)l->tmict * divide(l) * APIC_BUS_NS;

	if ((l->lvt_timer & LVT_PERIODIC) && p < MIN_PERIOD_NS)
		p = MIN_PERIOD_NS;
	return p;
}

static void timer_start(struct lapic *l, uint64_t now)
{
	l->timer_start = now;
	l->timer_deadline = l->tmict ? now + period_ns(l) : IRQCHIP_NO_DEADLINE;
}

uint32_t lapic_timer_current(struct lapic *l, uint64_t now)
{
	uint64_t elapsed, p, ticks;

	if (l->timer_deadline == IRQCHIP_NO_DEADLINE || !l->tmict)
		return 0;
	p = period_ns(l);
	elapsed = now > l->timer_start ? now - l->timer_start : 0;
	if (elapsed >= p) {
		if (!(l->lvt_timer & LVT_PERIODIC))
			return 0;
		elapsed %= p;
	}
	ticks = elapsed / (divide(l) * APIC_BUS_NS);
	return ticks >= l->tmict ? 0 : l->tmict - (uint32_t)ticks;
}

void lapic_poll(struct lapic *l, uint64_t now)
{
	uint64_t p;

	if (now < l->timer_deadline)
		return;
	if (!(l->lvt_timer & LVT_MASKED))
		lapic_accept(l, DM_FIXED, l->lvt_timer & 0xff, false);
	if (l->lvt_timer & LVT_PERIODIC) {
		p = period_ns(l);
		l->timer_start = l->timer_deadline;
		l->timer_deadline += p;
		if (l->timer_deadline <= now) {	/* fell behind: skip, don't storm */
			l->timer_start = now;
			l->timer_deadline = now + p;
		}
	} else {
		l->timer_deadline = IRQCHIP_NO_DEADLINE;
	}
}

/* ---- acceptance and delivery ------------------------------------------------------ */

void lapic_accept(struct lapic *l, unsigned mode, unsigned vector, bool level_trig)
{
	struct irqchip *chip = l->chip;
	uint32_t bit = 1u << (vector % 32);

	switch (mode) {
	case DM_FIXED:
	case DM_LOWEST:
		if (!__atomic_load_n(&l->sw_enabled, __ATOMIC_ACQUIRE) ||
		    !__atomic_load_n(&l->hw_enabled, __ATOMIC_ACQUIRE) || vector < 16)
			return;
		if (level_trig)
			__atomic_fetch_or(&l->tmr[vector / 32], bit, __ATOMIC_RELAXED);
		else
			__atomic_fetch_and(&l->tmr[vector / 32], ~bit, __ATOMIC_RELAXED);
		__atomic_fetch_or(&l->irr[vector / 32], bit, __ATOMIC_RELEASE);
		mark_dirty(l);
		break;
	case DM_NMI:
		__atomic_fetch_or(&l->events, IRQCHIP_EV_NMI, __ATOMIC_RELEASE);
		break;
	case DM_INIT:
		__atomic_fetch_or(&l->events, IRQCHIP_EV_INIT, __ATOMIC_RELEASE);
		break;
	case DM_SIPI:
		__atomic_store_n(&l->sipi_vector, vector & 0xff, __ATOMIC_RELAXED);
		__atomic_fetch_or(&l->events, IRQCHIP_EV_SIPI, __ATOMIC_RELEASE);
		break;
	default:	/* SMI, ExtINT through a message: not modelled */
		return;
	}
	chip->ops->wake(chip->opaque, l->vcpu);
}

static bool match_dest(const struct lapic *l, uint32_t dest, bool logical)
{
	uint32_t ldr, dfr;

	if (!logical)
		return dest == 0xff || dest == __atomic_load_n(&l->id, __ATOMIC_RELAXED) >> 24;
	ldr = __atomic_load_n(&l->ldr, __ATOMIC_RELAXED) >> 24;
	dfr = __atomic_load_n(&l->dfr, __ATOMIC_RELAXED) >> 28;
	if (dfr == 0xf)			/* flat */
		return (ldr & dest) != 0;
	if (dest == 0xff)		/* cluster broadcast */
		return true;
	return (ldr >> 4) == (dest >> 4) && (ldr & dest & 0xf) != 0;
}

void irqchip_deliver(struct irqchip *chip, int src, uint32_t dest, bool logical, unsigned mode,
		     unsigned vector, bool level, unsigned shorthand)
{
	for (int i = 0; i < chip->max_vcpu; i++) {
		struct lapic *l = &chip->lapic[i];
		bool hit;

		if (!l->present)
			continue;
		switch (shorthand) {
		case 1: hit = i == src; break;
		case 2: hit = true; break;
		case 3: hit = i != src; break;
		default: hit = match_dest(l, dest, logical); break;
		}
		if (!hit)
			continue;
		if (mode == DM_LOWEST && !__atomic_load_n(&l->sw_enabled, __ATOMIC_RELAXED))
			continue;
		lapic_accept(l, mode, vector, level);
		/* Lowest priority: one target, the first enabled match (no arbitration). */
		if (mode == DM_LOWEST)
			return;
	}
}

/* ---- the CPU interface ------------------------------------------------------------- */

int lapic_pending(struct lapic *l)
{
	int v;

	if (!__atomic_exchange_n(&l->dirty, 0, __ATOMIC_ACQ_REL))
		return l->cached;
	v = highest_bit(l->irr, true);
	l->cached = v >= 0 && ((uint32_t)v & 0xf0) > (ppr(l) & 0xf0) ? v : -1;
	return l->cached;
}

void lapic_ack(struct lapic *l, int vector)
{
	unsigned v = (unsigned)vector & 0xff;

	__atomic_fetch_and(&l->irr[v / 32], ~(1u << (v % 32)), __ATOMIC_ACQ_REL);
	l->isr[v / 32] |= 1u << (v % 32);
	mark_dirty(l);
}

static void eoi(struct lapic *l)
{
	int v = highest_bit(l->isr, false);

	if (v < 0)
		return;
	l->isr[v / 32] &= ~(1u << (v % 32));
	mark_dirty(l);
	if (test_bit(l->tmr, v)) {
		pthread_mutex_lock(&l->chip->lock);
		ioapic_eoi(l->chip, v);
		pthread_mutex_unlock(&l->chip->lock);
	}
}

static void write_icr(struct lapic *l, uint32_t lo)
{
	unsigned mode = (lo >> 8) & 7, shorthand = (lo >> 18) & 3;
	bool level_assert = lo & (1u << 14), level_trig = lo & (1u << 15);

	l->icr_lo = lo & ~(1u << 12);	/* delivery is instantaneous: never "send pending" */
	/* INIT level de-assert only resynchronises arbitration IDs: nothing to do. */
	if (mode == DM_INIT && !level_assert && level_trig)
		return;
	irqchip_deliver(l->chip, l->vcpu, l->icr_hi >> 24, lo & (1u << 11), mode, lo & 0xff,
			false, shorthand);
}

static uint32_t read_reg(struct lapic *l, uint32_t reg)
{
	switch (reg) {
	case APIC_ID: return __atomic_load_n(&l->id, __ATOMIC_RELAXED);
	case APIC_LVR: return APIC_VERSION;
	case APIC_TPR: return l->tpr;
	case APIC_APR: return 0;
	case APIC_PPR: return ppr(l);
	case APIC_LDR: return __atomic_load_n(&l->ldr, __ATOMIC_RELAXED);
	case APIC_DFR: return __atomic_load_n(&l->dfr, __ATOMIC_RELAXED);
	case APIC_SVR: return l->svr;
	case APIC_ESR: return l->esr;
	case APIC_ICR: return l->icr_lo;
	case APIC_ICR2: return l->icr_hi;
	case APIC_LVTT: return l->lvt_timer;
	case APIC_LVTTHMR: return l->lvt_thermal;
	case APIC_LVTPC: return l->lvt_perf;
	case APIC_LVT0: return __atomic_load_n(&l->lvt0, __ATOMIC_RELAXED);
	case APIC_LVT1: return l->lvt1;
	case APIC_LVTERR: return l->lvt_err;
	case APIC_TMICT: return l->tmict;
	case APIC_TMCCT: return lapic_timer_current(l, irqchip__now(l->chip));
	case APIC_TDCR: return l->tdcr;
	default:
		if (reg >= APIC_ISR && reg < APIC_ISR + 0x80)
			return l->isr[(reg - APIC_ISR) / 16];
		if (reg >= APIC_TMR && reg < APIC_TMR + 0x80)
			return __atomic_load_n(&l->tmr[(reg - APIC_TMR) / 16], __ATOMIC_RELAXED);
		if (reg >= APIC_IRR && reg < APIC_IRR + 0x80)
			return __atomic_load_n(&l->irr[(reg - APIC_IRR) / 16], __ATOMIC_RELAXED);
		return 0;
	}
}

/* An LVT write; a software-disabled APIC keeps every LVT masked. */
static uint32_t lvt_val(const struct lapic *l, uint32_t val, uint32_t mask)
{
	val &= mask;
	if (!(l->svr & SVR_ENABLED))
		val |= LVT_MASKED;
	return val;
}

static void write_svr(struct lapic *l, uint32_t val)
{
	l->svr = val & 0x3ff;
	__atomic_store_n(&l->sw_enabled, !!(val & SVR_ENABLED), __ATOMIC_RELEASE);
	if (!(val & SVR_ENABLED)) {
		l->lvt_timer |= LVT_MASKED;
		l->lvt_thermal |= LVT_MASKED;
		l->lvt_perf |= LVT_MASKED;
		l->lvt1 |= LVT_MASKED;
		l->lvt_err |= LVT_MASKED;
		__atomic_fetch_or(&l->lvt0, LVT_MASKED, __ATOMIC_RELAXED);
	}
	mark_dirty(l);
}

static void write_reg(struct lapic *l, uint32_t reg, uint32_t val)
{
	uint64_t now;

	switch (reg) {
	case APIC_ID:
		__atomic_store_n(&l->id, val & 0xff000000u, __ATOMIC_RELAXED);
		break;
	case APIC_TPR:
		l->tpr = val & 0xff;
		mark_dirty(l);
		break;
	case APIC_EOI:
		eoi(l);
		break;
	case APIC_LDR:
		__atomic_store_n(&l->ldr, val & 0xff000000u, __ATOMIC_RELAXED);
		break;
	case APIC_DFR:
		__atomic_store_n(&l->dfr, val | 0x0fffffffu, __ATOMIC_RELAXED);
		break;
	case APIC_SVR:
		write_svr(l, val);
		break;
	case APIC_ESR:
		l->esr = 0;	/* no error is ever detected */
		break;
	case APIC_ICR:
		write_icr(l, val);
		break;
	case APIC_ICR2:
		l->icr_hi = val & 0xff000000u;
		break;
	case APIC_LVTT: {
		uint32_t old = l->lvt_timer;

		l->lvt_timer = lvt_val(l, val, LVT_BASE_MASK | LVT_PERIODIC);
		/* A mode change stops the timer, as on KVM. */
		if ((old ^ l->lvt_timer) & LVT_PERIODIC) {
			l->tmict = 0;
			l->timer_deadline = IRQCHIP_NO_DEADLINE;
		}
		break;
	}
	case APIC_LVTTHMR:
		l->lvt_thermal = lvt_val(l, val, LVT_BASE_MASK | LVT_MODE_MASK);
		break;
	case APIC_LVTPC:
		l->lvt_perf = lvt_val(l, val, LVT_BASE_MASK | LVT_MODE_MASK);
		break;
	case APIC_LVT0:
		__atomic_store_n(&l->lvt0, lvt_val(l, val, LINT_MASK), __ATOMIC_RELEASE);
		break;
	case APIC_LVT1:
		l->lvt1 = lvt_val(l, val, LINT_MASK);
		break;
	case APIC_LVTERR:
		l->lvt_err = lvt_val(l, val, LVT_BASE_MASK);
		break;
	case APIC_TMICT:
		l->tmict = val;
		timer_start(l, irqchip__now(l->chip));
		break;
	case APIC_TDCR:
		/* Keep the current count across a divider change (rebase the start). */
		now = irqchip__now(l->chip);
		if (l->timer_deadline != IRQCHIP_NO_DEADLINE) {
			uint32_t cur = lapic_timer_current(l, now);

			l->tdcr = val & 0xb;
			l->timer_start = now - (uint64_t)(l->tmict - cur) * divide(l) * APIC_BUS_NS;
			l->timer_deadline = l->timer_start + period_ns(l);
		} else {
			l->tdcr = val & 0xb;
		}
		break;
	default:
		break;		/* read-only or reserved */
	}
}

void lapic_mmio(struct lapic *l, uint32_t off, uint8_t *data, unsigned len, bool is_write)
{
	uint32_t reg = off & 0xff0, shift = off & 0xf, val = 0;

	if (is_write) {
		/* Only aligned 32-bit stores reach a register (KVM drops the rest). */
		if (shift || len != 4)
			return;
		for (unsigned i = 0; i < 4; i++)
			val |= (uint32_t)data[i] << (8 * i);
		write_reg(l, reg, val);
		return;
	}
	val = shift < 4 ? read_reg(l, reg) >> (8 * shift) : 0;
	for (unsigned i = 0; i < len; i++)
		data[i] = i + shift < 4 ? (uint8_t)(val >> (8 * i)) : 0;
}
