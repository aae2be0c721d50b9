/*
 * x86 string instructions: MOVS CMPS STOS LODS SCAS INS OUTS with REP/REPE/REPNE.
 *
 * A REP instruction runs up to REP_CHUNK iterations per step and then leaves
 * RIP on itself, so interrupts and the instruction budget are honoured between
 * chunks.  Every iteration commits its register progress, so a fault or a
 * read-exit in iteration k resumes at k.  I/O and MMIO end the chunk after one
 * iteration so each access is reported on its own.
 */
#include "x86_internal.h"

#define REP_CHUNK 4096

static inline uint64_t str_reg(struct x86_ctx *c, unsigned r)
{
	return c->cpu->gpr[r] & x86_mask(c->i->addrsize);
}

static inline void str_adv(struct x86_ctx *c, unsigned r, int64_t delta)
{
	x86_set_reg(c, r, c->i->addrsize, c->cpu->gpr[r] + delta);
}

/* Bulk MOVS/STOS forward within single RAM pages: the hot path of memcpy/memset. */
static uint64_t fast_chunk(struct x86_ctx *c, unsigned op, unsigned size, uint64_t count)
{
	const struct x86_insn *i = c->i;
	uint64_t di = str_reg(c, X86_RDI);
	unsigned n = 4096 - (di & 0xfff);

	if (c->cpu->rflags & X86_FL_DF)
		return 0;
	n /= size;
	if (n > count)
		n = count;
	if (op == 0xa4 || op == 0xa5) {
		uint64_t si = str_reg(c, X86_RSI);
		unsigned sn = (4096 - (si & 0xfff)) / size;

		if (sn < n)
			n = sn;
		if (n == 0)
			return 0;
		uint8_t *src = x86_ptr(c, i->seg, si, n * size, X86_ACC_READ);
		uint8_t *dst = src ? x86_ptr(c, X86_ES, di, n * size, X86_ACC_WRITE) : NULL;

		if (!dst)
			return 0;
		/*
		 * Overlap with the destination ahead of the source: a forward
		 * byte copy equals the element-by-element one only when the
		 * distance is at least an element; closer ones take the slow path.
		 */
		if (dst > src && dst < src + size)
			return 0;
		if (dst > src && dst < src + (uint64_t)n * size) {
			for (uint64_t k = 0; k < (uint64_t)n * size; k++)
				dst[k] = src[k];
		} else {
			memmove(dst, src, (size_t)n * size);
		}
		str_adv(c, X86_RSI, (int64_t)n * size);
	} else {
		if (n == 0)
			return 0;
		uint8_t *dst = x86_ptr(c, X86_ES, di, n * size, X86_ACC_WRITE);
		uint64_t v = c->cpu->gpr[X86_RAX];

		if (!dst)
			return 0;
		if (size == 1) {
			memset(dst, (uint8_t)v, n);
		} else {
			for (unsigned k = 0; k < n; k++)
				memcpy(dst + k * size, &v, size);
		}
	}
	str_adv(c, X86_RDI, (int64_t)n * size);
	return n;
}

/* One iteration; returns false when a REPE/REPNE condition ends the loop. */
static bool one_iter(struct x86_ctx *c, unsigned op, unsigned size, int64_t d)
{
	const struct x86_insn *i = c->i;
	uint64_t fl;

	switch (op) {
	case 0xa4: case 0xa5: {
		uint64_t v = x86_read(c, i->seg, str_reg(c, X86_RSI), size);

		x86_write(c, X86_ES, str_reg(c, X86_RDI), size, v);
		str_adv(c, X86_RSI, d);
		str_adv(c, X86_RDI, d);
		return true;
	}
	case 0xa6: case 0xa7: {
		uint64_t a = x86_read(c, i->seg, str_reg(c, X86_RSI), size);
		uint64_t b = x86_read(c, X86_ES, str_reg(c, X86_RDI), size);

		x86_alu(c, X86_ALU_CMP, a, b, size, &fl);
		x86_set_arith(c->cpu, fl);
		str_adv(c, X86_RSI, d);
		str_adv(c, X86_RDI, d);
		break;
	}
	case 0xaa: case 0xab:
		x86_write(c, X86_ES, str_reg(c, X86_RDI), size, c->cpu->gpr[X86_RAX]);
		str_adv(c, X86_RDI, d);
		return true;
	case 0xac: case 0xad:
		x86_set_reg(c, X86_RAX, size, x86_read(c, i->seg, str_reg(c, X86_RSI), size));
		str_adv(c, X86_RSI, d);
		return true;
	case 0xae: case 0xaf: {
		uint64_t b = x86_read(c, X86_ES, str_reg(c, X86_RDI), size);

		x86_alu(c, X86_ALU_CMP, x86_get_reg(c, X86_RAX, size), b, size, &fl);
		x86_set_arith(c->cpu, fl);
		str_adv(c, X86_RDI, d);
		break;
	}
	case 0x6c: case 0x6d: {	/* INS: the port read comes first, then the store */
		uint16_t port = c->cpu->gpr[X86_RDX];

		if (!x86_io_allowed(c, port, size))
			X86_GP0(c);
		x86_check_write(c, X86_ES, str_reg(c, X86_RDI), size);
		uint64_t v = x86_io_in(c, port, size);

		x86_write(c, X86_ES, str_reg(c, X86_RDI), size, v);
		str_adv(c, X86_RDI, d);
		return true;
	}
	default: {		/* OUTS */
		uint16_t port = c->cpu->gpr[X86_RDX];

		if (!x86_io_allowed(c, port, size))
			X86_GP0(c);
		x86_io_out(c, port, size, x86_read(c, i->seg, str_reg(c, X86_RSI), size));
		str_adv(c, X86_RSI, d);
		return true;
	}
	}
	/* CMPS/SCAS: REPE (F3) continues while ZF=1, REPNE (F2) while ZF=0 */
	bool zf = c->cpu->rflags & X86_FL_ZF;

	return i->rep == 0xf3 ? zf : !zf;
}

void op_string(struct x86_ctx *c)
{
	const struct x86_insn *i = c->i;
	struct x86_cpu *cpu = c->cpu;
	unsigned op = i->arg;
	unsigned size = i->opsize;
	bool io = op >= 0x6c && op <= 0x6f;

	if (io)
		size = size == 1 ? 1 : size == 2 ? 2 : 4;
	int64_t d = (cpu->rflags & X86_FL_DF) ? -(int64_t)size : (int64_t)size;

	if (!i->rep) {
		one_iter(c, op, size, d);
		return;
	}
	unsigned as = i->addrsize;
	uint64_t done = 0;
	bool finished = false;

	while (done < REP_CHUNK) {
		uint64_t cnt = x86_get_reg(c, X86_RCX, as);

		if (cnt == 0) {
			finished = true;
			break;
		}
		if (op == 0xa4 || op == 0xa5 || op == 0xaa || op == 0xab) {
			/* Capped so one chunk stays within REP_CHUNK (the budget's granularity). */
			uint64_t n = fast_chunk(c, op, size,
						cnt < REP_CHUNK - done ? cnt : REP_CHUNK - done);

			if (n) {
				x86_set_reg(c, X86_RCX, as, cnt - n);
				x86_commit_regs(c);
				done += n;
				continue;
			}
		}
		bool more = one_iter(c, op, size, d);

		x86_set_reg(c, X86_RCX, as, cnt - 1);
		x86_commit_regs(c);
		done++;
		if (!more || cnt - 1 == 0) {
			finished = true;
			break;
		}
		if (cpu->wq_n || cpu->replay_n)
			break;	/* report this access before the next iteration */
		cpu->replay_pos = cpu->replay_n = 0;
	}
	c->rep_again = !finished;
	/* each iteration counts as an instruction; run() adds the last one */
	cpu->stats.insns += done > 1 ? done - 1 : 0;
}
