/*
 * x86 memory access: segmentation, linear accesses through env_ops.translate,
 * page-crossing splits, MMIO/port I/O with the restart-and-replay rule, the
 * instruction fetch window, register operands and the stack.
 */
#include "x86_internal.h"

__attribute__((noreturn)) void x86_page_fault(struct x86_ctx *c, uint64_t lin, uint32_t pfec)
{
	c->cpu->cr2 = lin;
	x86_raise(c, X86_EXC_PF, pfec);
}

/* ---- segmentation ---- */

uint64_t x86_seg_lin(struct x86_ctx *c, unsigned seg, uint64_t off, unsigned size, unsigned acc)
{
	struct x86_cpu *cpu = c->cpu;
	const struct x86_seg *s = &cpu->seg[seg];
	unsigned exc = seg == X86_SS ? X86_EXC_SS : X86_EXC_GP;

	if (x86_long64(c)) {
		uint64_t lin = off + (seg >= X86_FS ? s->base : 0);

		if (__builtin_expect(!x86_canonical(lin) || !x86_canonical(lin + size - 1), 0))
			x86_raise(c, exc, 0);
		return lin;
	}
	if (cpu->mode != X86_MODE_REAL) {
		if (s->unusable || !s->present)
			x86_raise(c, exc, 0);
		if (s->type & 8) {	/* code: read needs R, never writable */
			if ((acc & X86_ACC_WRITE) || !(s->type & 2))
				x86_raise(c, exc, 0);
		} else if ((acc & X86_ACC_WRITE) && !(s->type & 2)) {
			x86_raise(c, exc, 0);
		}
	}
	uint64_t last = off + size - 1;

	if (!(s->type & 8) && (s->type & 4) && cpu->mode != X86_MODE_REAL) {
		uint64_t top = s->db ? 0xffffffffull : 0xffffull;

		if (off <= s->limit || last > top)
			x86_raise(c, exc, 0);
	} else if (last > s->limit) {
		x86_raise(c, exc, 0);
	}
	return (uint32_t)(s->base + off);
}

/* ---- MMIO / IO with replay ---- */

static void replay_or_exit(struct x86_ctx *c, bool io, uint64_t addr, unsigned len, void *buf)
{
	struct x86_cpu *cpu = c->cpu;

	if (cpu->replay_pos < cpu->replay_n) {
		struct x86_replay_ent *e = &cpu->replay[cpu->replay_pos++];

		if (e->is_io != io || e->addr != addr || e->len != len)
			x86_internal_error(c, X86_IERR_REPLAY_MISMATCH);
		memcpy(buf, e->data, len);
		return;
	}
	if (cpu->replay_n >= X86_REPLAY_MAX)
		x86_internal_error(c, X86_IERR_STATE);
	struct x86_replay_ent *e = &cpu->replay[cpu->replay_n];

	e->is_io = io;
	e->addr = addr;
	e->len = len;
	cpu->pending_restart = 1;
	cpu->wq_n = 0;	/* writes of this instruction are redone after the restart */
	if (io) {
		c->exit->ev = X86_EV_IO;
		c->exit->io.port = addr;
		c->exit->io.size = len;
		c->exit->io.is_write = 0;
		c->exit->io.count = 1;
		memset(c->exit->io.data, 0, sizeof(c->exit->io.data));
		cpu->stats.io_exits++;
	} else {
		c->exit->ev = X86_EV_MMIO;
		c->exit->mmio.gpa = addr;
		c->exit->mmio.len = len;
		c->exit->mmio.is_write = 0;
		memset(c->exit->mmio.data, 0, sizeof(c->exit->mmio.data));
		cpu->stats.mmio_exits++;
	}
	x86_abort_exit(c);
}

static void queue_write(struct x86_ctx *c, bool io, uint64_t addr, unsigned len, const void *buf)
{
	struct x86_cpu *cpu = c->cpu;

	if (cpu->wq_n >= X86_WQUEUE_MAX)
		x86_internal_error(c, X86_IERR_STATE);
	struct x86_wq_ent *e = &cpu->wq[cpu->wq_n++];

	c->stop |= X86_STOP_EVENT;	/* run() reports it after this instruction */
	e->is_io = io;
	e->addr = addr;
	e->len = len;
	memcpy(e->data, buf, len);
}

static void mmio_read(struct x86_ctx *c, uint64_t gpa, void *buf, unsigned len)
{
	while (len) {
		unsigned n = len > 8 ? 8 : len;

		replay_or_exit(c, false, gpa, n, buf);
		gpa += n;
		buf = (uint8_t *)buf + n;
		len -= n;
	}
}

static void mmio_write(struct x86_ctx *c, uint64_t gpa, const void *buf, unsigned len)
{
	while (len) {
		unsigned n = len > 8 ? 8 : len;

		queue_write(c, false, gpa, n, buf);
		gpa += n;
		buf = (const uint8_t *)buf + n;
		len -= n;
	}
}

uint64_t x86_io_in(struct x86_ctx *c, uint16_t port, unsigned size)
{
	uint64_t v = 0;

	replay_or_exit(c, true, port, size, &v);
	return v;
}

void x86_io_out(struct x86_ctx *c, uint16_t port, unsigned size, uint64_t val)
{
	queue_write(c, true, port, size, &val);
}

bool x86_io_allowed(struct x86_ctx *c, uint16_t port, unsigned size)
{
	struct x86_cpu *cpu = c->cpu;

	if (cpu->mode == X86_MODE_REAL)
		return true;
	if (cpu->cpl <= ((cpu->rflags & X86_FL_IOPL) >> 12))
		return true;
	/* I/O permission bitmap in the TSS */
	if (cpu->tr.unusable || cpu->tr.limit < 0x67)
		return false;
	uint16_t base = x86_sys_read(c, cpu->tr.base + 0x66, 2);
	uint64_t byte = base + port / 8;

	if (byte + 1 > cpu->tr.limit)
		return false;
	uint16_t bits = x86_sys_read(c, cpu->tr.base + byte, 2);

	return !((bits >> (port & 7)) & ((1u << size) - 1));
}

/* ---- codemap: pages blocks were decoded from ---- */

static inline uint64_t *code_bit(const struct x86_codemap *cm, uintptr_t hva, uint64_t *mask)
{
	uint64_t off = hva - (uintptr_t)cm->base;

	if (off >= cm->pages << 12)
		return NULL;
	*mask = 1ull << ((off >> 12) & 63);
	return &cm->bits[off >> 18];
}

/* Blocks trust @page from now on: revoke every vCPU's cached write access to it. */
bool x86_code_mark(struct x86_cpu *cpu, uintptr_t page)
{
	struct x86_codemap *cm = cpu->codemap;
	uint64_t mask, *w = code_bit(cm, page, &mask);

	if (!w)
		return false;
	if (!(__atomic_load_n(w, __ATOMIC_RELAXED) & mask)) {
		__atomic_fetch_or(w, mask, __ATOMIC_SEQ_CST);
		__atomic_fetch_add(cm->tlb_gen, 1, __ATOMIC_SEQ_CST);
	}
	return true;
}

/*
 * A write is about to go to @hva: if blocks trust its page, they must look
 * again; this vCPU's block chain ends after the instruction, as it holds
 * the epoch it started with.
 */
static inline void code_write(struct x86_ctx *c, const uint8_t *hva)
{
	struct x86_codemap *cm = c->cpu->codemap;
	uint64_t mask, *w;

	if (!cm || !(w = code_bit(cm, (uintptr_t)hva, &mask)))
		return;
	if (__atomic_load_n(w, __ATOMIC_RELAXED) & mask) {
		__atomic_fetch_and(w, ~mask, __ATOMIC_SEQ_CST);
		__atomic_fetch_add(cm->epoch, 1, __ATOMIC_SEQ_CST);
		c->stop |= X86_STOP_EVENT;
	}
}

/* ---- linear accesses ---- */

int x86_xlate_data(struct x86_ctx *c, uint64_t lin, unsigned acc, struct x86_xlate *x)
{
	struct x86_cpu *cpu = c->cpu;
	uint64_t gen = cpu->tlb_gen ? __atomic_load_n(cpu->tlb_gen, __ATOMIC_ACQUIRE) : 0;

	if (gen != cpu->tlb_gen_seen)
		x86__tlb_flush(cpu);	/* records @gen: fills below are at least that new */
	x->flags = 0;
	int r = c->ops->translate(c->env, cpu, lin, acc, x);

	/* Pages with trusted blocks never get a cached write entry (x86_code_mark): this is their only write path. */
	if (r == X86_XLATE_RAM && (acc & X86_ACC_WRITE))
		code_write(c, x->hva);
	if (r == X86_XLATE_RAM && (x->flags & X86_XLATE_F_CACHEABLE) && !(acc & X86_ACC_FETCH)) {
		struct x86_tlb_ent *e =
			&cpu->tlb[!!(acc & X86_ACC_WRITE)][!!(acc & X86_ACC_USER)][(lin >> 12) & (X86_TLB_ENTRIES - 1)];

		e->tag = (lin & ~0xfffull) | 1;
		e->hva = x->hva - (lin & 0xfff);
	}
	return r;
}

static inline int xlate(struct x86_ctx *c, uint64_t lin, unsigned acc, struct x86_xlate *x)
{
	uint8_t *p = (acc & X86_ACC_FETCH) ? NULL : x86_tlb_get(c->cpu, lin, acc);

	if (p) {
		if (acc & X86_ACC_WRITE)
			x86_note_write(c, p);
		x->hva = p;
		x->flags = X86_XLATE_F_CACHEABLE;
		return X86_XLATE_RAM;
	}
	int r = x86_xlate_data(c, lin, acc, x);

	if (__builtin_expect(r == X86_XLATE_FAULT, 0))
		x86_page_fault(c, lin, x->pfec);
	if ((acc & X86_ACC_WRITE) && r == X86_XLATE_RAM)
		x86_note_write(c, x->hva);
	return r;
}


void x86_read_lin_buf(struct x86_ctx *c, uint64_t lin, void *buf, unsigned size, unsigned acc)
{
	struct x86_xlate x[2];
	int r[2];
	unsigned first = 4096 - (lin & 0xfff);

	if (first > size)
		first = size;
	r[0] = xlate(c, lin, acc, &x[0]);
	if (first < size)
		r[1] = xlate(c, lin + first, acc, &x[1]);
	for (unsigned k = 0, done = 0; done < size; k++) {
		unsigned n = k == 0 ? first : size - first;

		if (r[k] == X86_XLATE_RAM)
			memcpy((uint8_t *)buf + done, x[k].hva, n);
		else
			mmio_read(c, x[k].gpa, (uint8_t *)buf + done, n);
		done += n;
	}
}

void x86_write_lin_buf(struct x86_ctx *c, uint64_t lin, const void *buf, unsigned size, unsigned acc)
{
	struct x86_xlate x[2];
	int r[2];
	unsigned first = 4096 - (lin & 0xfff);

	if (first > size)
		first = size;
	/* both pages are checked before any byte is written */
	r[0] = xlate(c, lin, acc, &x[0]);
	if (first < size)
		r[1] = xlate(c, lin + first, acc, &x[1]);
	for (unsigned k = 0, done = 0; done < size; k++) {
		unsigned n = k == 0 ? first : size - first;

		if (r[k] == X86_XLATE_RAM)
			memcpy(x[k].hva, (const uint8_t *)buf + done, n);
		else
			mmio_write(c, x[k].gpa, (const uint8_t *)buf + done, n);
		done += n;
	}
}

uint64_t x86_read_lin(struct x86_ctx *c, uint64_t lin, unsigned size, unsigned acc)
{
	if (__builtin_expect((lin & 0xfff) + size <= 4096, 1)) {
		struct x86_xlate x;

		if (__builtin_expect(xlate(c, lin, acc, &x) == X86_XLATE_RAM, 1))
			return x86_load_n(x.hva, size);
		uint64_t v = 0;

		mmio_read(c, x.gpa, &v, size);
		return v;
	}
	uint64_t v = 0;

	x86_read_lin_buf(c, lin, &v, size, acc);
	return v;
}

void x86_write_lin(struct x86_ctx *c, uint64_t lin, unsigned size, uint64_t val, unsigned acc)
{
	if (__builtin_expect((lin & 0xfff) + size <= 4096, 1)) {
		struct x86_xlate x;

		if (__builtin_expect(xlate(c, lin, acc, &x) == X86_XLATE_RAM, 1)) {
			x86_store_n(x.hva, size, val);
			return;
		}
		mmio_write(c, x.gpa, &val, size);
		return;
	}
	x86_write_lin_buf(c, lin, &val, size, acc);
}

uint64_t x86_read_miss(struct x86_ctx *c, unsigned seg, uint64_t off, unsigned size)
{
	uint64_t lin;

	if (x86_fast_lin(c, seg, off, size, &lin)) {
		unsigned acc = X86_ACC_READ | x86_acc_user(c);
		struct x86_xlate x;

		if (x86_xlate_data(c, lin, acc, &x) == X86_XLATE_RAM)
			return x86_load_n(x.hva, size);
	}
	return x86_read_slow(c, seg, off, size);
}

void x86_write_miss(struct x86_ctx *c, unsigned seg, uint64_t off, unsigned size, uint64_t val)
{
	uint64_t lin;

	if (x86_fast_lin(c, seg, off, size, &lin)) {
		unsigned acc = X86_ACC_WRITE | x86_acc_user(c);
		struct x86_xlate x;

		if (x86_xlate_data(c, lin, acc, &x) == X86_XLATE_RAM) {
			x86_note_write(c, x.hva);
			x86_store_n(x.hva, size, val);
			return;
		}
	}
	x86_write_slow(c, seg, off, size, val);
}

uint64_t x86_read_slow(struct x86_ctx *c, unsigned seg, uint64_t off, unsigned size)
{
	unsigned acc = X86_ACC_READ | x86_acc_user(c);

	return x86_read_lin(c, x86_seg_lin(c, seg, off, size, acc), size, acc);
}

void x86_write_slow(struct x86_ctx *c, unsigned seg, uint64_t off, unsigned size, uint64_t val)
{
	unsigned acc = X86_ACC_WRITE | x86_acc_user(c);

	x86_write_lin(c, x86_seg_lin(c, seg, off, size, acc), size, val, acc);
}

void x86_read_buf(struct x86_ctx *c, unsigned seg, uint64_t off, void *buf, unsigned size)
{
	unsigned acc = X86_ACC_READ | x86_acc_user(c);

	x86_read_lin_buf(c, x86_seg_lin(c, seg, off, size, acc), buf, size, acc);
}

void x86_write_buf(struct x86_ctx *c, unsigned seg, uint64_t off, const void *buf, unsigned size)
{
	unsigned acc = X86_ACC_WRITE | x86_acc_user(c);

	x86_write_lin_buf(c, x86_seg_lin(c, seg, off, size, acc), buf, size, acc);
}

void *x86_ptr(struct x86_ctx *c, unsigned seg, uint64_t off, unsigned size, unsigned acc)
{
	acc |= x86_acc_user(c);
	uint64_t lin = x86_seg_lin(c, seg, off, size, acc);

	if ((lin & 0xfff) + size > 4096)
		return NULL;
	struct x86_xlate x;

	if (xlate(c, lin, acc, &x) != X86_XLATE_RAM)
		return NULL;
	return x.hva;
}

void x86_check_write(struct x86_ctx *c, unsigned seg, uint64_t off, unsigned size)
{
	unsigned acc = X86_ACC_WRITE | x86_acc_user(c);
	uint64_t lin = x86_seg_lin(c, seg, off, size, acc);
	struct x86_xlate x;

	xlate(c, lin, acc, &x);
	if ((lin & 0xfff) + size > 4096)
		xlate(c, (lin | 0xfff) + 1, acc, &x);
}

uint64_t x86_sys_read(struct x86_ctx *c, uint64_t lin, unsigned size)
{
	return x86_read_lin(c, lin, size, X86_ACC_READ);
}

void x86_sys_write(struct x86_ctx *c, uint64_t lin, unsigned size, uint64_t val)
{
	x86_write_lin(c, lin, size, val, X86_ACC_WRITE);
}

/* ---- instruction fetch ---- */

void x86_fetch_setup(struct x86_ctx *c)
{
	struct x86_cpu *cpu = c->cpu;
	uint64_t lin;

	if (x86_long64(c)) {
		lin = cpu->rip;
		if (!x86_canonical(lin))
			X86_GP0(c);
	} else {
		if (cpu->rip > cpu->seg[X86_CS].limit)
			X86_GP0(c);
		lin = (uint32_t)(cpu->seg[X86_CS].base + cpu->rip);
	}
	c->fetch_lin = lin;
	unsigned acc = X86_ACC_FETCH | x86_acc_user(c);
	uint64_t tag = (lin & ~0xfffull) | (acc & X86_ACC_USER ? 2 : 0) | 1;

	if (__builtin_expect(c->fpage_tag == tag, 1)) {
		c->fetch = c->fpage_hva + (lin & 0xfff);
	} else {
		struct x86_xlate x;

		if (xlate(c, lin, acc, &x) != X86_XLATE_RAM)
			x86_internal_error(c, X86_IERR_STATE);	/* executing from MMIO */
		c->fetch = x.hva;
		c->fpage_tag = tag;
		c->fpage_hva = x.hva - (lin & 0xfff);
	}
	c->fetch_avail = 4096 - (lin & 0xfff);
	if (!x86_long64(c) && cpu->seg[X86_CS].limit - cpu->rip + 1 < c->fetch_avail)
		c->fetch_avail = cpu->seg[X86_CS].limit - cpu->rip + 1;
}

uint8_t x86_fetch_slow(struct x86_ctx *c, unsigned idx)
{
	if (c->fetch == c->bytes || (c->fetch_lin & 0xfff) + idx < 4096)
		X86_GP0(c);	/* past the CS limit */
	unsigned have = c->fetch_avail;
	struct x86_xlate x;
	uint64_t next = c->fetch_lin + have;

	memcpy(c->bytes, c->fetch, have);
	if (xlate(c, next, X86_ACC_FETCH | x86_acc_user(c), &x) != X86_XLATE_RAM)
		x86_internal_error(c, X86_IERR_STATE);
	memcpy(c->bytes + have, x.hva, 15 - have);
	c->fetch = c->bytes;
	c->fetch_avail = 15;
	return c->bytes[idx];
}

/* ---- register operands ---- */

uint64_t x86_get_rm(struct x86_ctx *c, unsigned size)
{
	if (c->i->mod == 3)
		return x86_get_reg(c, c->i->rm, size);
	return x86_read(c, c->i->seg, c->ea, size);
}

void x86_set_rm(struct x86_ctx *c, unsigned size, uint64_t val)
{
	if (c->i->mod == 3)
		x86_set_reg(c, c->i->rm, size, val);
	else
		x86_write(c, c->i->seg, c->ea, size, val);
}

/* ---- stack ---- */

unsigned x86_stack_size(struct x86_ctx *c)
{
	if (x86_long64(c))
		return 8;
	return c->cpu->seg[X86_SS].db ? 4 : 2;
}

void x86_set_rsp_delta(struct x86_ctx *c, int64_t delta)
{
	unsigned ss = x86_stack_size(c);
	uint64_t *sp = &c->cpu->gpr[X86_RSP];
	uint64_t v = *sp + delta;

	if (ss == 8)
		*sp = v;
	else if (ss == 4)
		*sp = (uint32_t)v;
	else
		*sp = (*sp & ~0xffffull) | (v & 0xffff);
}

void x86_push(struct x86_ctx *c, unsigned size, uint64_t val)
{
	unsigned ss = x86_stack_size(c);
	uint64_t sp = (c->cpu->gpr[X86_RSP] - size) & x86_mask(ss);

	x86_write(c, X86_SS, sp, size, val);
	x86_set_rsp_delta(c, -(int64_t)size);
}

uint64_t x86_stack_peek(struct x86_ctx *c, unsigned off, unsigned size)
{
	unsigned ss = x86_stack_size(c);
	uint64_t sp = (c->cpu->gpr[X86_RSP] + off) & x86_mask(ss);

	return x86_read(c, X86_SS, sp, size);
}

uint64_t x86_pop(struct x86_ctx *c, unsigned size)
{
	uint64_t v = x86_stack_peek(c, 0, size);

	x86_set_rsp_delta(c, size);
	return v;
}
