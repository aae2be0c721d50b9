/*
 * Blocks: straight-line code decoded once and run as a unit - 64-bit code,
 * and 32-bit code under a flat CS (x86_block_mode()).
 *
 * Per instruction, the single-step path pays for a fetch-window setup, a
 * decoded-cache lookup, a register save for the abort rule, and the
 * interrupt, budget and event checks of the run loop.  A block pays those
 * once: it is found by its address, checked against the code bytes it was
 * decoded from (so writes by anyone - this vCPU, another one, a device -
 * simply make it miss), and its instructions then run back to back.
 *
 * Only "simple" instructions run inside the loop: ones that fall through or
 * branch, that change no mode, interrupt or single-step state, and that
 * write registers only after their last possible fault or read exit, so the
 * abort rule needs no register save for them.  The first other instruction
 * ends the block and runs through x86_step() with the full bookkeeping.  A
 * simple instruction that writes the block's own code page, or queues an
 * MMIO/port write, ends the block after itself (ctx.stop).
 */
#include <sys/mman.h>

#include "x86_fast.h"

/*
 * A set-associative table of arena offsets (+1; 0 = empty) and a bump
 * arena, emptied whole when it fills.  Pages are touched as blocks are
 * made, so a guest that runs little code costs little memory.
 */
#define BCACHE_SETS	8192
#define BCACHE_WAYS	4
#define BCACHE_ARENA	(16u << 20)
struct x86_bcache {
	uint32_t top;
	uint32_t set[BCACHE_SETS][BCACHE_WAYS];
	uint64_t arena[BCACHE_ARENA / 8];
};

/* Handlers whose instructions may run inside a block; branches end it. */
static const struct {
	x86_fn fn;
	bool branch;
} simple_ops[] = {
	{ op_alu, false }, { op_alu_acc, false }, { op_grp1, false }, { op_test, false }, { op_test_acc, false }, { op_grp3, false },
	{ op_incdec_r, false }, { op_mov, false }, { op_mov_rm_imm, false }, { op_mov_r_imm, false }, { op_mov_moffs, false },
	{ op_lea, false }, { op_movx, false }, { op_movsxd, false }, { op_xchg, false }, { op_xchg_acc, false }, { op_nop90, false },
	{ op_nopm, false }, { op_cbw, false }, { op_cwd, false }, { op_shift, false }, { op_shld, false }, { op_imul2, false }, { op_imul3, false },
	{ op_setcc, false }, { op_cmovcc, false }, { op_bt, false }, { op_bt_grp, false }, { op_bsf, false }, { op_bswap, false },
	{ op_xadd, false }, { op_cmpxchg, false }, { op_push_r, false }, { op_pop_r, false }, { op_push_imm, false }, { op_leave, false },
	{ op_lahf, false }, { op_sahf, false }, { op_cmc, false }, { op_flagop, false }, { op_popcnt, false },
	{ op_jcc, false }, { op_jmp, true }, { op_call, true }, { op_ret, true },
};

enum kind { COMPLEX, SIMPLE, SIMPLE_BRANCH };

static enum kind classify(const struct x86_insn *i)
{
	if (i->lock && !(i->flags & F_MEM))
		return COMPLEX;		/* #UD, raised by x86_step() */
	if (i->fn == op_grp45) {
		switch (i->reg & 7) {
		case 0: case 1: case 6: return SIMPLE;	/* INC, DEC, PUSH */
		case 2: case 4: return SIMPLE_BRANCH;	/* near CALL/JMP indirect */
		default: return COMPLEX;		/* far transfers, #UD */
		}
	}
	for (unsigned k = 0; k < ARRAY_SIZE_X(simple_ops); k++)
		if (simple_ops[k].fn == i->fn)
			return simple_ops[k].branch ? SIMPLE_BRANCH : SIMPLE;
	return COMPLEX;
}

static void block_flush(struct x86_bcache *bc)
{
	memset(bc->set, 0, sizeof(bc->set));
	bc->top = 0;
}

void x86_block_reset(struct x86_cpu *cpu)
{
	if (cpu->bc)
		block_flush(cpu->bc);
}

void x86__release(struct x86_cpu *cpu)
{
	if (cpu->bc)
		munmap(cpu->bc, sizeof(*cpu->bc));
	cpu->bc = NULL;
}

static inline uint32_t *set_of(struct x86_bcache *bc, uint64_t lin)
{
	return bc->set[(lin ^ (lin >> 11) ^ (lin >> 21)) & (BCACHE_SETS - 1)];
}

static inline struct x86_block *block_at(struct x86_bcache *bc, uint32_t ref)
{
	return (struct x86_block *)((uint8_t *)bc->arena + ref - 1);
}

static inline const uint8_t *block_bytes(const struct x86_block *b)
{
	return (const uint8_t *)&b->insn[b->n + 1];
}

/*
 * Decode an instruction that is not the block's first.  Its faults are not
 * architectural (nothing has run it yet): on one the block ends before it,
 * and the instruction later decodes again as a block's first, for real.
 */
static bool try_decode(struct x86_ctx *c)
{
	jmp_buf saved;
	struct x86_stats st = c->cpu->stats;
	bool ok;

	memcpy(saved, c->jb, sizeof(saved));
	if (setjmp(c->jb) == 0) {
		x86_decode(c);
		ok = true;
	} else {
		c->cpu->stats = st;	/* an opcode #UD counted nothing yet */
		ok = false;
	}
	memcpy(c->jb, saved, sizeof(saved));
	return ok;
}

#define BLOCK_WORST (sizeof(struct x86_block) + (X86_BLOCK_MAX + 1) * sizeof(struct x86_insn) + X86_BLOCK_MAX * 15)

/* Equal code bytes; @n is at most a page, both ranges are readable. */
static inline bool same_bytes(const uint8_t *a, const uint8_t *b, unsigned n)
{
	uint64_t x, y;

	if (n >= 8) {
		for (unsigned k = 0; k + 8 <= n; k += 8) {
			memcpy(&x, a + k, 8);
			memcpy(&y, b + k, 8);
			if (x != y)
				return false;
		}
		memcpy(&x, a + n - 8, 8);
		memcpy(&y, b + n - 8, 8);
		return x == y;
	}
	for (unsigned k = 0; k < n; k++)
		if (a[k] != b[k])
			return false;
	return true;
}

/* What may have changed code since a block was checked: see struct x86_codemap. */
static inline uint64_t code_epoch(const struct x86_cpu *cpu)
{
	return __atomic_load_n(cpu->codemap->epoch, __ATOMIC_ACQUIRE) + cpu->code_serial;
}

/*
 * Does memory still hold @b's bytes at @code?  With a codemap the bytes are
 * read again only when something may have written code since they were
 * last, or the address now maps another page.  The epoch is read and the
 * page marked before the bytes are: a write after the check bumps it.
 */
static __attribute__((noinline)) bool block_recheck(struct x86_cpu *cpu, struct x86_block *b,
						     const uint8_t *code, uint64_t now)
{
	uintptr_t page = (uintptr_t)code & ~(uintptr_t)0xfff;
	bool tracked = x86_code_mark(cpu, page);

	if (!same_bytes(block_bytes(b), code, b->nbytes))
		return false;
	b->seen = tracked ? now : ~0ull;
	b->page = page;
	return true;
}

/* @now: code_epoch() when the chain started (a code write by this vCPU ends the chain) */
static inline __attribute__((always_inline)) bool block_current(struct x86_cpu *cpu, struct x86_block *b,
								 const uint8_t *code, uint64_t now)
{
	if (!cpu->codemap)
		return same_bytes(block_bytes(b), code, b->nbytes);
	if (b->seen == now && b->page == ((uintptr_t)code & ~(uintptr_t)0xfff))
		return true;
	return block_recheck(cpu, b, code, now);
}

static inline bool block_fits(struct x86_cpu *cpu, struct x86_block *b, uint64_t rip,
			      const uint8_t *code, uint8_t mode, uint64_t now)
{
	return b->lin == rip && b->mode == mode && block_current(cpu, b, code, now);
}

/* Decode a block at @rip, whose bytes are at @code, into the arena; NULL if none fits. */
static struct x86_block *build(struct x86_ctx *c, uint64_t rip, const uint8_t *code, uint8_t mode)
{
	struct x86_bcache *bc = c->cpu->bc;
	unsigned off = rip & 0xfff, pos = 0, n = 0, nsimple = 0;

	if (off > 4096 - 15)
		return NULL;	/* may cross the page: the single-step path decodes it */
	if (bc->top + BLOCK_WORST > sizeof(bc->arena)) {
		block_flush(bc);
		c->blk = c->last_blk = NULL;	/* no successor link into the emptied arena */
	}
	struct x86_block *b = (struct x86_block *)((uint8_t *)bc->arena + bc->top);
	struct x86_cpu *cpu = c->cpu;

	b->page = (uintptr_t)code & ~(uintptr_t)0xfff;
	b->seen = ~0ull;
	if (cpu->codemap) {
		uint64_t now = code_epoch(cpu);

		if (x86_code_mark(cpu, b->page))	/* before the bytes are read */
			b->seen = now;
	}
	c->fetch_lin = rip;
	while (n < X86_BLOCK_MAX && off + pos <= 4096 - 15) {
		c->fetch = code + pos;
		c->fetch_avail = 4096 - (off + pos);
		c->dec = &b->insn[n];
		if (n == 0)
			x86_decode(c);		/* its faults are real */
		else if (!try_decode(c))
			break;
		enum kind k = classify(&b->insn[n]);

		b->insn[n].ofs = pos;
		pos += b->insn[n++].len;
		if (k == COMPLEX) {
			b->insn[n - 1].bfn = x86_fast_end;	/* the chain stops before it */
			break;
		}
		struct x86_insn *in = &b->insn[n - 1];

		if (in->ea_base == X86_EA_RIP) {	/* the block knows its RIP: make it absolute */
			in->disp += rip + pos;
			in->ea_base = X86_EA_NONE;
		}
		x86_fast_select(in, (rip + pos) & (c->cpu->l64 ? ~0ull : 0xffffffffull), c->cpu->l64);
		nsimple++;
		/* a Jcc goes on with its fall-through: its handler stops the block when taken */
		if (k == SIMPLE_BRANCH || (in->fn == op_jcc && in->bfn == x86_fast_generic))
			break;
	}
	/* the code bytes follow the last instruction slot actually used */
	b->lin = rip;
	b->mode = mode;
	b->n = n;
	b->nsimple = nsimple;
	b->nbytes = pos;
	b->succ_lin[0] = b->succ_lin[1] = 0;
	b->succ[0] = b->succ[1] = NULL;
	memset(&b->insn[n], 0, sizeof(b->insn[n]));
	b->insn[n].ofs = pos;
	b->insn[n].bfn = x86_fast_end;
	memcpy((uint8_t *)block_bytes(b), code, pos);
	size_t size = sizeof(*b) + (n + 1) * sizeof(struct x86_insn) + pos;

	bc->top += (size + 7) & ~(size_t)7;
	/* most recent first; the oldest of the set's ways is dropped (it stays in the arena until a flush) */
	uint32_t *set = set_of(bc, rip);

	memmove(set + 1, set, (BCACHE_WAYS - 1) * sizeof(*set));
	set[0] = (uint32_t)((uint8_t *)b - (uint8_t *)bc->arena) + 1;
	return b;
}

static struct x86_block *lookup(struct x86_cpu *cpu, uint64_t rip, const uint8_t *code, uint8_t mode,
				uint64_t now)
{
	struct x86_bcache *bc = cpu->bc;
	uint32_t *set = set_of(bc, rip);

	for (unsigned w = 0; w < BCACHE_WAYS && set[w]; w++) {
		struct x86_block *b = block_at(bc, set[w]);

		if (b->lin == rip && b->mode == mode)
			return block_current(cpu, b, code, now) ? b : NULL;
	}
	return NULL;
}

/*
 * An abort (exception, read exit, internal error) inside a block: make RIP
 * and the retired count those of the instruction that aborted.  The block
 * loop keeps both in locals and writes them back only at its end.
 */
void x86_block_sync(struct x86_ctx *c)
{
	x86_lf_flush(c);
	if (!c->code_page)
		return;
	c->cpu->rip = c->blk->lin + c->i->ofs;
	c->cpu->stats.insns += c->i - c->blk->insn;
	c->code_page = 0;
}

/* Blocks run back to back before the run loop looks at interrupts and budget again. */
#define CHAIN_MAX 16

/* The block at @rip: through @prev's successor links when they know it. */
static struct x86_block *find(struct x86_ctx *c, struct x86_block *prev, uint64_t rip,
			      const uint8_t *code, uint8_t mode, uint64_t now)
{
	struct x86_block *b;

	if (prev) {
		for (unsigned k = 0; k < 2; k++)
			if (prev->succ[k] && prev->succ_lin[k] == rip &&
			    block_fits(c->cpu, prev->succ[k], rip, code, mode, now))
				return prev->succ[k];
	}
	b = lookup(c->cpu, rip, code, mode, now);
	if (!b) {
		b = build(c, rip, code, mode);
		if (!b)
			return NULL;
		if (!c->blk)
			prev = NULL;	/* the build emptied the arena */
	}
	if (prev) {
		unsigned k = prev->succ[0] ? 1 : 0;	/* (RIP 0 is an address like any other) */

		prev->succ_lin[k] = rip;
		prev->succ[k] = b;
	}
	return b;
}

void x86_block_exec(struct x86_ctx *c, uint64_t budget)
{
	struct x86_cpu *cpu = c->cpu;
	uint8_t mode = x86_code_mode(cpu);
	uint64_t ripmask = cpu->l64 ? ~0ull : 0xffffffffull;	/* 32-bit code: EIP wraps */
	struct x86_block *prev = c->last_blk;	/* the last block run: links survive returns to x86__run */
	uint64_t now;

	if (__builtin_expect(!cpu->bc, 0)) {
		void *m = mmap(NULL, sizeof(*cpu->bc), PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

		if (m == MAP_FAILED) {	/* no memory for blocks: instructions one by one */
			x86_step(c, NULL);
			return;
		}
		cpu->bc = m;
	}
	c->regs_saved = false;	/* simple instructions need no save: see the file comment */
	cpu->rflags &= ~(uint64_t)X86_FL_RF;
	now = cpu->codemap ? code_epoch(cpu) : 0;
	for (unsigned chain = 0; chain < CHAIN_MAX; chain++) {
		uint64_t rip = cpu->rip;

		if (!x86_canonical(rip) || c->fpage_tag != ((rip & ~0xfffull) | (cpu->cpl == 3 ? 2 : 0) | 1))
			x86_fetch_setup(c);	/* may fault: the fault belongs to the instruction at rip */
		const uint8_t *code = c->fpage_hva + (rip & 0xfff);

		c->blk = prev;
		struct x86_block *b = find(c, prev, rip, code, mode, now);

		if (!b) {
			x86_lf_flush(c);
			x86_step(c, NULL);
			return;
		}
		unsigned n = b->nsimple, k;

		if (n > budget)
			n = budget;
		c->blk = b;
		c->code_page = (uintptr_t)code & ~(uintptr_t)0xfff;
		if (__builtin_expect(n == b->nsimple, 1)) {
			/* the whole run: one chain of handler tail calls */
			const struct x86_insn *i = &b->insn[0];

			c->i = i;
			i->bfn(c, i);
			k = c->i - b->insn;
			if (c->stop) {
				k++;
				rip = (c->stop & X86_STOP_BRANCH) ? c->next_rip : (b->lin + c->i->ofs + c->i->len) & ripmask;
			} else {
				rip = (b->lin + c->i->ofs) & ripmask;	/* the end marker or the last instruction */
			}
		} else {
			/* the budget ends inside the run: one instruction at a time */
			for (k = 0; k < n; k++) {
				const struct x86_insn *i = &b->insn[k];

				c->i = i;
				c->stop |= X86_STOP_ONE;
				i->bfn(c, i);
				c->stop &= ~X86_STOP_ONE;
				rip = (c->stop & X86_STOP_BRANCH) ? c->next_rip : (b->lin + i->ofs + i->len) & ripmask;
				if (c->stop) {
					k++;
					break;
				}
			}
		}
		cpu->rip = rip;
		cpu->stats.insns += k;
		c->code_page = 0;
		budget -= k;
		prev = c->last_blk = b;
		if (c->stop) {
			if (c->stop & X86_STOP_EVENT) {
				x86_lf_flush(c);
				return;
			}
			c->stop = 0;	/* a taken branch */
		} else if (k < b->n) {
			x86_lf_flush(c);
			if (k == b->nsimple && budget) {
				c->fetch_lin = rip;	/* for the #UD and internal-error reports */
				c->fetch = code + (rip - b->lin);
				c->fetch_avail = 4096 - (rip & 0xfff);
				x86_step(c, &b->insn[k]);
			}
			return;
		}
		if (!budget)
			break;
	}
	x86_lf_flush(c);
}
