/*
 * x86 run loop: instruction boundaries, interrupts, exceptions (#DF, triple
 * fault), the restart of reads and the reporting of buffered writes.
 */
#include <stdio.h>

#include "x86_internal.h"

__attribute__((noreturn)) void x86_raise(struct x86_ctx *c, unsigned vec, uint32_t err)
{
	c->exc_vec = vec;
	c->exc_has_err = true;
	c->exc_err = err;
	longjmp(c->jb, ABORT_EXC);
}

__attribute__((noreturn)) void x86_raise_noerr(struct x86_ctx *c, unsigned vec)
{
	c->exc_vec = vec;
	c->exc_has_err = false;
	c->exc_err = 0;
	longjmp(c->jb, ABORT_EXC);
}

__attribute__((noreturn)) void x86_abort_exit(struct x86_ctx *c)
{
	longjmp(c->jb, ABORT_EXIT);
}

__attribute__((noreturn)) void x86_internal_error(struct x86_ctx *c, uint32_t code)
{
	struct x86_exit *e = c->exit;

	c->cpu->wq_n = c->cpu->wq_pos = 0;
	if (c->code_page) {	/* in a block: the bytes are on the block's page */
		c->fetch = (const uint8_t *)c->code_page + (c->blk->lin & 0xfff) + c->i->ofs;
		c->fetch_avail = 4096 - ((c->blk->lin & 0xfff) + c->i->ofs);
	}
	x86_block_sync(c);
	e->ev = X86_EV_INTERNAL_ERROR;
	e->internal.code = code;
	e->internal.rip = c->cpu->rip;
	e->internal.len = c->fetch ? (c->fetch_avail < 15 ? c->fetch_avail : 15) : 0;
	memset(e->internal.insn, 0, sizeof(e->internal.insn));
	if (c->fetch)
		memcpy(e->internal.insn, c->fetch, e->internal.len);
	longjmp(c->jb, ABORT_EXIT);
}

void x86_update_mode(struct x86_cpu *cpu)
{
	if (!(cpu->cr0 & X86_CR0_PE)) {
		cpu->mode = X86_MODE_REAL;
		cpu->cpl = 0;
		cpu->l64 = 0;
		return;
	}
	cpu->mode = (cpu->efer & X86_EFER_LMA) ? X86_MODE_LONG : X86_MODE_PROT;
	cpu->cpl = (cpu->rflags & X86_FL_VM) ? 3 : cpu->seg[X86_CS].dpl;
	cpu->l64 = cpu->mode == X86_MODE_LONG && cpu->seg[X86_CS].l;
}

void x86__state_changed(struct x86_cpu *cpu)
{
	x86_update_mode(cpu);
}

static const char *const event_names[X86_NR_EVENTS] = {
	[X86_EV_NONE] = "NONE", [X86_EV_IO] = "IO", [X86_EV_MMIO] = "MMIO", [X86_EV_HLT] = "HLT",
	[X86_EV_SHUTDOWN] = "SHUTDOWN", [X86_EV_HYPERCALL] = "HYPERCALL", [X86_EV_BUDGET] = "BUDGET",
	[X86_EV_INTERNAL_ERROR] = "INTERNAL_ERROR",
};
_Static_assert(ARRAY_SIZE_X(event_names) == X86_NR_EVENTS, "event names");

const char *x86__event_name(enum x86_event ev)
{
	if ((unsigned)ev >= X86_NR_EVENTS || !event_names[ev])
		return "?";
	return event_names[ev];
}

void x86__inject_nmi(struct x86_cpu *cpu)
{
	cpu->nmi_pending = true;
}

void x86__tlb_flush(struct x86_cpu *cpu)
{
	cpu->tlb_gen_seen = cpu->tlb_gen ? __atomic_load_n(cpu->tlb_gen, __ATOMIC_ACQUIRE) : 0;
	memset(cpu->tlb, 0, sizeof(cpu->tlb));
}

void x86_notify_flush(struct x86_ctx *c, unsigned why)
{
	c->fpage_tag = 0;
	x86__tlb_flush(c->cpu);
	if (c->ops->flush)
		c->ops->flush(c->env, c->cpu, why);
}

void x86_notify_invlpg(struct x86_ctx *c, uint64_t lin)
{
	c->fpage_tag = 0;
	for (unsigned w = 0; w < 2; w++)
		for (unsigned u = 0; u < 2; u++) {
			struct x86_tlb_ent *e = &c->cpu->tlb[w][u][(lin >> 12) & (X86_TLB_ENTRIES - 1)];

			if (e->tag == ((lin & ~0xfffull) | 1))
				e->tag = 0;
		}
	if (c->ops->invlpg)
		c->ops->invlpg(c->env, c->cpu, lin);
}

/* ---- decoded-instruction cache ---- */

struct x86_dce {
	uint64_t lin;
	uint64_t raw[2], mask[2];
	uint8_t mode;
	struct x86_insn insn;
};
_Static_assert(sizeof(struct x86_dce) <= X86_DCACHE_ENTRY_BYTES, "dcache entry size");

static inline struct x86_dce *dce_of(struct x86_cpu *cpu, uint64_t lin)
{
	unsigned idx = (lin ^ (lin >> 10)) & (X86_DCACHE_ENTRIES - 1);

	return (struct x86_dce *)((uint8_t *)cpu->dcache + idx * X86_DCACHE_ENTRY_BYTES);
}

/* Decode, or reuse a cached decode of the same bytes at the same address and mode. */
static void decode_cached(struct x86_ctx *c)
{
	struct x86_cpu *cpu = c->cpu;
	uint8_t mode = x86_code_mode(cpu);
	uint64_t b[2];

	if (__builtin_expect(c->fetch_avail < 16, 0)) {
		c->dec = &c->scratch;
		x86_decode(c);
		c->i = &c->scratch;
		return;
	}
	memcpy(b, c->fetch, 16);
	struct x86_dce *e = dce_of(cpu, c->fetch_lin);

	if (e->lin == c->fetch_lin && e->mode == mode &&
	    !((b[0] ^ e->raw[0]) & e->mask[0]) && !((b[1] ^ e->raw[1]) & e->mask[1])) {
		c->i = &e->insn;
		return;
	}
	/* decode into the scratch first: a fault must not leave a half-written entry */
	c->dec = &c->scratch;
	x86_decode(c);
	unsigned len = c->scratch.len;

	e->lin = c->fetch_lin;
	e->mode = mode;
	e->mask[0] = len >= 8 ? ~0ull : (1ull << (8 * len)) - 1;
	e->mask[1] = len <= 8 ? 0 : (1ull << (8 * (len - 8))) - 1;
	e->raw[0] = b[0] & e->mask[0];
	e->raw[1] = b[1] & e->mask[1];
	e->insn = c->scratch;
	c->i = &e->insn;
}

static void complete(struct x86_cpu *cpu, const void *data, unsigned len)
{
	if (!cpu->pending_restart || cpu->replay_n >= X86_REPLAY_MAX)
		return;
	struct x86_replay_ent *e = &cpu->replay[cpu->replay_n];

	memset(e->data, 0, sizeof(e->data));
	memcpy(e->data, data, len < e->len ? len : e->len);
	cpu->replay_n++;
	cpu->pending_restart = 0;
}

void x86__complete_io(struct x86_cpu *cpu, const void *data, unsigned len)
{
	complete(cpu, data, len);
}

void x86__complete_mmio(struct x86_cpu *cpu, const void *data, unsigned len)
{
	complete(cpu, data, len);
}

/* Report one buffered write (OUT/OUTS/MMIO store) of a retired instruction. */
static enum x86_event emit_write(struct x86_cpu *cpu, struct x86_exit *e)
{
	struct x86_wq_ent *w = &cpu->wq[cpu->wq_pos++];

	if (w->is_io) {
		e->ev = X86_EV_IO;
		e->io.port = w->addr;
		e->io.size = w->len;
		e->io.is_write = 1;
		e->io.count = 1;
		memset(e->io.data, 0, sizeof(e->io.data));
		memcpy(e->io.data, w->data, w->len);
		cpu->stats.io_exits++;
	} else {
		e->ev = X86_EV_MMIO;
		e->mmio.gpa = w->addr;
		e->mmio.len = w->len;
		e->mmio.is_write = 1;
		memcpy(e->mmio.data, w->data, sizeof(e->mmio.data));
		cpu->stats.mmio_exits++;
	}
	if (cpu->wq_pos >= cpu->wq_n)
		cpu->wq_pos = cpu->wq_n = 0;
	return e->ev;
}

void x86_step(struct x86_ctx *c, const struct x86_insn *pre)
{
	struct x86_cpu *cpu = c->cpu;

	x86_commit_regs(c);
	cpu->replay_pos = 0;
	c->sti_shadow_set = false;
	c->rep_again = false;
	c->event_done = false;
	if (pre) {
		c->i = pre;
	} else {
		/* fetch window: the common case (64-bit code, same page as before) inline */
		uint64_t rip = cpu->rip;

		if (__builtin_expect(cpu->l64 && c->fpage_tag == ((rip & ~0xfffull) | (cpu->cpl == 3 ? 2 : 0) | 1) &&
				     x86_canonical(rip), 1)) {
			c->fetch_lin = rip;
			c->fetch = c->fpage_hva + (rip & 0xfff);
			c->fetch_avail = 4096 - (rip & 0xfff);
		} else {
			c->fetch = NULL;
			x86_fetch_setup(c);
		}
		decode_cached(c);
	}
	const struct x86_insn *i = c->i;

	c->next_rip = cpu->rip + i->len;
	if (!cpu->l64)
		c->next_rip &= cpu->seg[X86_CS].db ? 0xffffffffull : 0xffffull;
	if (i->flags & F_MEM)
		x86_calc_ea(c);
	else if (i->lock)
		X86_UD(c);
	i->fn(c);
	if (!c->rep_again)
		cpu->rip = c->next_rip;
	cpu->rflags &= ~(uint64_t)X86_FL_RF;
	cpu->replay_n = cpu->replay_pos = 0;
	cpu->pending_restart = 0;
	cpu->stats.insns++;
	if (c->sti_shadow_set)
		cpu->int_shadow = X86_SHADOW_STI;
	if (c->save_rflags & X86_FL_TF) {
		/* single-step trap after the instruction */
		x86_commit_regs(c);
		cpu->dr[6] |= 1u << 14;
		x86_deliver(c, X86_EXC_DB, false, 0, false, cpu->rip);
	}
}

static bool contributory(unsigned v)
{
	return v == X86_EXC_DE || (v >= X86_EXC_TS && v <= X86_EXC_GP);
}

/* Deliver the exception in c->exc_*; false on triple fault. May longjmp. */
static bool handle_exception(struct x86_ctx *c)
{
	struct x86_cpu *cpu = c->cpu;
	unsigned vec = c->exc_vec;
	bool has_err = c->exc_has_err;
	uint32_t err = c->exc_err;

	if (c->delivering) {
		unsigned prev = c->delivering_vec;

		if (prev == X86_EXC_DF)
			return false;
		if ((contributory(prev) && contributory(vec)) ||
		    (prev == X86_EXC_PF && (contributory(vec) || vec == X86_EXC_PF))) {
			vec = X86_EXC_DF;
			has_err = true;
			err = 0;
		}
	}
	c->delivering = true;
	c->delivering_vec = vec;
	if (vec == X86_EXC_DB || vec == X86_EXC_BP || vec == X86_EXC_NMI || vec == X86_EXC_UD)
		has_err = false;
	x86_deliver(c, vec, has_err, err, false, cpu->rip);
	c->delivering = false;
	cpu->stats.exceptions++;
	return true;
}

#define IRQ_POLL 64

static bool take_event(struct x86_ctx *c)
{
	struct x86_cpu *cpu = c->cpu;

	if (cpu->int_shadow)
		return false;
	if (cpu->nmi_pending && !cpu->nmi_masked) {
		cpu->nmi_pending = false;
		cpu->nmi_masked = true;
		cpu->halted = false;
		x86_commit_regs(c);
		x86_deliver(c, X86_EXC_NMI, false, 0, false, cpu->rip);
		return true;
	}
	if (!(cpu->rflags & X86_FL_IF)) {
		c->irq_wait = 0;	/* ask the controller as soon as IF is set again */
		return false;
	}
	int v = -1;

	if (cpu->inject_irq >= 0) {
		v = cpu->inject_irq;
		cpu->inject_irq = -1;
	} else if (c->ops->pending_irq) {
		/*
		 * The controller is asked every IRQ_POLL boundaries rather than
		 * at each one: an interrupt that arrives meanwhile is taken a few
		 * instructions later, which hardware latency allows too.
		 */
		if (c->irq_wait && !cpu->halted) {
			c->irq_wait--;
			return false;
		}
		c->irq_wait = IRQ_POLL - 1;
		v = c->ops->pending_irq(c->env, cpu);
		if (v >= 0 && c->ops->ack_irq)
			c->ops->ack_irq(c->env, cpu, v);
	}
	if (v < 0)
		return false;
	cpu->halted = false;
	cpu->stats.irqs++;
	x86_commit_regs(c);
	c->ext_event = true;
	x86_deliver(c, v & 0xff, false, 0, false, cpu->rip);
	c->ext_event = false;
	return true;
}

enum x86_event x86__run(struct x86_cpu *cpu, const struct x86_env_ops *ops,
			void *ctx, uint64_t max_insns, struct x86_exit *exit)
{
	struct x86_ctx cs;
	struct x86_ctx *c = &cs;
	uint64_t start, events_start;

	memset(exit, 0, sizeof(*exit));
	if (cpu->wq_pos < cpu->wq_n)
		return emit_write(cpu, exit);
	cpu->wq_n = cpu->wq_pos = 0;
	c->cpu = cpu;
	c->ops = ops;
	c->env = ctx;
	c->exit = exit;
	c->delivering = false;
	c->ext_event = false;
	c->fetch = NULL;
	c->fetch_avail = 0;
	c->fpage_tag = 0;
	c->irq_wait = 0;
	if (!ops->translate) {
		exit->ev = X86_EV_INTERNAL_ERROR;
		exit->internal.code = X86_IERR_NO_TRANSLATE;
		return exit->ev;
	}
	x86_update_mode(cpu);
	/*
	 * Between runs the backend may have changed mappings behind our back
	 * (memory slots, host writes): start each run with an empty data TLB.
	 */
	x86__tlb_flush(cpu);
	x86_commit_regs(c);
	c->code_page = 0;
	c->last_blk = NULL;
	c->stop = 0;
	c->event_done = c->rep_again = c->sti_shadow_set = false;
	c->lf_op = 0;
	start = cpu->stats.insns;
	/*
	 * Deliveries count against the budget too: a handler that faults on
	 * its first instruction retires nothing, and without this a guest
	 * could keep x86__run (and its vCPU thread) from ever returning.
	 */
	events_start = cpu->stats.exceptions + cpu->stats.irqs;

	switch (setjmp(c->jb)) {
	case ABORT_NONE:
		break;
	case ABORT_EXC:
		x86_block_sync(c);
		if (c->regs_saved) {
			memcpy(cpu->gpr, c->save_gpr, sizeof(c->save_gpr));
			cpu->rflags = c->save_rflags;
		}
		cpu->replay_n = cpu->replay_pos = 0;
		cpu->pending_restart = 0;
		cpu->wq_n = cpu->wq_pos = 0;
		c->ext_event = false;
		x86_update_mode(cpu);
		x86_commit_regs(c);	/* a fault while delivering goes back to here */
		if (!handle_exception(c)) {
			exit->ev = X86_EV_SHUTDOWN;
			return exit->ev;
		}
		cpu->halted = false;
		break;
	default:	/* read exit or internal error: nothing of the instruction is kept */
		x86_block_sync(c);
		if (c->regs_saved) {
			memcpy(cpu->gpr, c->save_gpr, sizeof(c->save_gpr));
			cpu->rflags = c->save_rflags;
		}
		x86_update_mode(cpu);
		return exit->ev;
	}
	for (;;) {
		if (cpu->stats.insns - start +
		    (cpu->stats.exceptions + cpu->stats.irqs - events_start) >= max_insns) {
			exit->ev = X86_EV_BUDGET;
			return exit->ev;
		}
		/* a completed read belongs to the instruction at RIP: finish it first, as KVM does */
		if (!cpu->replay_n && take_event(c))
			continue;
		if (cpu->halted) {
			exit->ev = X86_EV_HLT;
			return exit->ev;
		}
		bool shadow = cpu->int_shadow;	/* one instruction, then interrupts are looked at */

		cpu->int_shadow = 0;
		uint64_t left = max_insns - (cpu->stats.insns - start) -
				(cpu->stats.exceptions + cpu->stats.irqs - events_start);

		c->stop = 0;
		if (!shadow && !cpu->replay_n && !(cpu->rflags & X86_FL_TF) && x86_block_mode(cpu))
			x86_block_exec(c, left);
		else
			x86_step(c, NULL);
		if (cpu->wq_n)
			return emit_write(cpu, exit);
		if (c->event_done)
			return exit->ev;
	}
}
