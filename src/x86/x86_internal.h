/* x86 interpreter internals shared by the files in src/x86. Not a public API. */
#ifndef MVM_X86_INTERNAL_H
#define MVM_X86_INTERNAL_H

#include <setjmp.h>
#include <string.h>

#include "x86.h"

#define ARRAY_SIZE_X(a) (sizeof(a) / sizeof((a)[0]))

enum x86_mode { X86_MODE_REAL, X86_MODE_PROT, X86_MODE_LONG };

/* Opcode table flags */
#define F_MODRM		(1u << 0)
#define F_BYTE		(1u << 1)	/* operand size is 1 */
#define F_IMM8		(1u << 2)
#define F_IMMZ		(1u << 3)	/* imm16/32 by operand size (imm32 sign-extended for 64) */
#define F_IMMV		(1u << 4)	/* imm16/32/64 by operand size (MOV r, imm64) */
#define F_IMM16		(1u << 5)
#define F_MOFFS		(1u << 6)	/* moffs by address size */
#define F_FARPTR	(1u << 7)	/* ptr16:16/32 */
#define F_DEF64		(1u << 8)	/* operand size defaults to 64 in long mode */
#define F_INV64		(1u << 9)	/* #UD in 64-bit mode */
#define F_GRP		(1u << 10)	/* handler looks at ModRM.reg */
#define F_IMM16_8	(1u << 11)	/* ENTER: imm16 then imm8 */
#define F_SSE		(1u << 12)	/* 66/F2/F3 select the operation, not size/rep */
#define F_F64		(1u << 13)	/* operand size forced to 64 in long mode */
#define F_MEM		(1u << 14)	/* set by the decoder: ModRM names a memory operand */

struct x86_ctx;
struct x86_insn;
typedef void (*x86_fn)(struct x86_ctx *c);
/* Handlers of instructions in a block: run, then tail-call the next one (NEXT). */
typedef void (*x86_bfn)(struct x86_ctx *c, const struct x86_insn *i);

struct x86_op {
	x86_fn fn;
	uint16_t flags;
	uint8_t arg;
};

struct x86_insn {
	x86_fn fn;
	x86_bfn bfn;		/* in a block: specialised, generic() or x86_fast_end() */
	uint8_t len;
	uint8_t opsize;		/* 1, 2, 4, 8 */
	uint8_t addrsize;	/* 2, 4, 8 */
	uint8_t rep;		/* 0, 0xf2, 0xf3 (last of them wins) */
	uint8_t lock;
	uint8_t pfx66;		/* operand-size prefix seen (SSE mandatory prefix) */
	uint8_t seg;		/* effective segment of the memory operand */
	uint8_t seg_ovr;	/* segment override or 0xff */
	uint8_t rex;
	uint8_t map;		/* 0: 1-byte, 1: 0F, 2: 0F38, 3: 0F3A */
	uint8_t opcode;
	uint8_t modrm, mod, reg, rm;	/* reg/rm include REX.R/REX.B */
	uint8_t arg;		/* from the table */
	uint16_t flags;
	uint8_t ea_base, ea_index, ea_scale;	/* address form; X86_EA_* or a GPR */
	uint16_t ofs;		/* offset in its block */
	int64_t disp;
	uint64_t imm, imm2;
};

/*
 * A block: straight-line 64-bit code decoded once, run by x86_block_exec()
 * without per-instruction fetch, decode or register save.  Its leading
 * nsimple instructions are "simple" (see x86_block.c); a last, other
 * instruction (n == nsimple + 1) runs through the full single-step path.
 * The code bytes follow insn[]: a block is reused only while guest memory
 * still holds exactly those bytes at its address.
 */
#define X86_BLOCK_MAX 32
struct x86_block {
	uint64_t lin;
	uint16_t nbytes;
	uint8_t n, nsimple;
	uint8_t mode;
	/* blocks run next before (a cache of the lookup; still checked in full) */
	uint64_t succ_lin[2];
	struct x86_block *succ[2];
	/* with a codemap: the host page the bytes were last checked on, and when */
	uintptr_t page;
	uint64_t seen;
	struct x86_insn insn[];	/* n instructions, then an end marker (len 0) */
};

#define X86_EA_NONE 0xff
#define X86_EA_RIP 16

enum { ABORT_NONE, ABORT_EXC, ABORT_EXIT };

struct x86_ctx {
	struct x86_cpu *cpu;
	const struct x86_env_ops *ops;
	void *env;
	struct x86_exit *exit;
	jmp_buf jb;
	const struct x86_insn *i;	/* the instruction being run (block slot, cache entry or scratch) */
	struct x86_insn *dec;		/* where x86_decode() writes */
	struct x86_insn scratch;
	uint64_t ea;		/* effective address (offset within seg) of a memory operand */
	uint64_t next_rip;
	uint8_t bytes[16];	/* raw instruction bytes */
	const uint8_t *fetch;	/* host pointer for instruction bytes */
	unsigned fetch_avail;	/* bytes valid at fetch */
	uint64_t fetch_lin;
	/* code page translation reused within this run (see env_ops.translate) */
	uint64_t fpage_tag;	/* linear page | user << 1 | 1, 0 = none */
	uint8_t *fpage_hva;
	/* pending exception */
	uint8_t exc_vec;
	bool exc_has_err;
	uint32_t exc_err;
	/* delivery state for #DF / triple fault */
	bool delivering;
	uint8_t delivering_vec;
	bool ext_event;		/* delivering an interrupt (EXT bit of error codes) */
	bool sti_shadow_set;	/* instruction set a fresh interrupt shadow */
	bool rep_again;		/* REP not finished: keep rip */
	bool event_done;	/* instruction asks run() to return exit->ev after commit */
	uint8_t irq_wait;	/* boundaries left before asking pending_irq again */
	/*
	 * Registers at instruction start, restored when it aborts (exception,
	 * read exit) if regs_saved.  Simple instructions in a block skip the
	 * save: they change registers only after their last fault point.
	 */
	bool regs_saved;
	uint64_t save_gpr[X86_NR_GPRS];
	uint64_t save_rflags;
	/* block being run and its code page (host address), 0 = none */
	const struct x86_block *blk;
	struct x86_block *last_blk;	/* the last block run in this x86__run, NULL after a flush */
	uintptr_t code_page;
	uint8_t stop;		/* X86_STOP_*: end the block after this instruction */
	/* lazy arithmetic flags (x86_fast.c); lf_op 0 = RFLAGS holds them */
	uint8_t lf_op, lf_size;
	uint64_t lf_a, lf_b, lf_res;
};
#define X86_STOP_EVENT	1	/* a queued write to report, or a write to the block's code page */
#define X86_STOP_BRANCH	2	/* a branch, to ctx.next_rip: go on with the target's block */
#define X86_STOP_ONE	4	/* run one instruction only (budget) */

/* A write through host pointer @p: writes to the running block's code page end the block. */
static inline void x86_note_write(struct x86_ctx *c, const void *p)
{
	if (__builtin_expect((((uintptr_t)p ^ c->code_page) & ~(uintptr_t)0xfff) == 0, 0))
		c->stop |= X86_STOP_EVENT;
}

/* ---- helpers ---- */
static inline uint64_t x86_mask(unsigned size)
{
	return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

static inline int64_t x86_sext(uint64_t v, unsigned size)
{
	switch (size) {
	case 1: return (int8_t)v;
	case 2: return (int16_t)v;
	case 4: return (int32_t)v;
	default: return (int64_t)v;
	}
}

static inline bool x86_canonical(uint64_t a)
{
	/* Shift as unsigned: a signed left shift of a negative value is undefined. */
	return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

static inline bool x86_long64(const struct x86_ctx *c)
{
	return c->cpu->l64;	/* kept by x86_update_mode() */
}

/* x86_run.c */
__attribute__((noreturn)) void x86_raise(struct x86_ctx *c, unsigned vec, uint32_t err);
__attribute__((noreturn)) void x86_raise_noerr(struct x86_ctx *c, unsigned vec);
__attribute__((noreturn)) void x86_abort_exit(struct x86_ctx *c);
__attribute__((noreturn)) void x86_internal_error(struct x86_ctx *c, uint32_t code);
#define X86_UD(c) x86_raise_noerr((c), X86_EXC_UD)
#define X86_GP0(c) x86_raise((c), X86_EXC_GP, 0)
void x86_update_mode(struct x86_cpu *cpu);

/* x86_run.c: notifications that also drop the fetch-page cache */
void x86_notify_flush(struct x86_ctx *c, unsigned why);
void x86_notify_invlpg(struct x86_ctx *c, uint64_t lin);

/* x86_run.c: one instruction with full bookkeeping; @pre = decoded already, or NULL */
void x86_step(struct x86_ctx *c, const struct x86_insn *pre);

/* x86_mem.c: codemap (see x86.h) */
bool x86_code_mark(struct x86_cpu *cpu, uintptr_t page);

/* The decode mode a cached decode or block was made in (never 0: 0 = empty entry). */
static inline uint8_t x86_code_mode(const struct x86_cpu *cpu)
{
	return 0x80 | cpu->l64 | (cpu->seg[X86_CS].db << 1);
}

/* x86_block.c: code that runs as blocks - 64-bit, or 32-bit with a flat CS (base 0, 4 GiB) */
static inline bool x86_block_mode(const struct x86_cpu *cpu)
{
	const struct x86_seg *cs = &cpu->seg[X86_CS];

	if (cpu->l64)
		return true;
	return cpu->mode != X86_MODE_REAL && !(cpu->rflags & X86_FL_VM) && cs->db &&
	       cs->base == 0 && cs->limit == 0xffffffffu;
}
void x86_block_exec(struct x86_ctx *c, uint64_t budget);
void x86_block_sync(struct x86_ctx *c);
void x86_block_reset(struct x86_cpu *cpu);	/* x86__reset(): forget every block */
/* x86_fast.c: set a simple instruction's bfn (64-bit or flat 32-bit code); false if it got the generic one */
bool x86_fast_select(struct x86_insn *i, uint64_t next_rip, bool l64);
/* x86_fast.c: bfn of a block's end marker and of its last, non-simple instruction */
void x86_fast_end(struct x86_ctx *c, const struct x86_insn *i);
/* x86_fast.c: write pending lazy flags into RFLAGS */
void x86_lf_flush(struct x86_ctx *c);

/* x86_decode.c: decodes the instruction at c->fetch into *c->dec */
void x86_decode(struct x86_ctx *c);
static inline void x86_calc_ea(struct x86_ctx *c)
{
	const struct x86_insn *i = c->i;
	const uint64_t *g = c->cpu->gpr;
	uint64_t ea = i->disp;

	if (i->ea_base != X86_EA_NONE)
		ea += i->ea_base == X86_EA_RIP ? c->next_rip : g[i->ea_base];
	if (i->ea_index != X86_EA_NONE)
		ea += g[i->ea_index] << i->ea_scale;
	c->ea = ea & x86_mask(i->addrsize);
}
void x86_op_ud(struct x86_ctx *c);
extern const struct x86_op x86_ops_1b[256], x86_ops_0f[256];

/* x86_mem.c: segment offset -> linear -> RAM/MMIO */
uint64_t x86_seg_lin(struct x86_ctx *c, unsigned seg, uint64_t off, unsigned size, unsigned acc);
uint64_t x86_read_lin(struct x86_ctx *c, uint64_t lin, unsigned size, unsigned acc);
void x86_write_lin(struct x86_ctx *c, uint64_t lin, unsigned size, uint64_t val, unsigned acc);
void x86_read_lin_buf(struct x86_ctx *c, uint64_t lin, void *buf, unsigned size, unsigned acc);
void x86_write_lin_buf(struct x86_ctx *c, uint64_t lin, const void *buf, unsigned size, unsigned acc);
uint64_t x86_read_slow(struct x86_ctx *c, unsigned seg, uint64_t off, unsigned size);
void x86_write_slow(struct x86_ctx *c, unsigned seg, uint64_t off, unsigned size, uint64_t val);
void x86_read_buf(struct x86_ctx *c, unsigned seg, uint64_t off, void *buf, unsigned size);
void x86_write_buf(struct x86_ctx *c, unsigned seg, uint64_t off, const void *buf, unsigned size);
/* RAM host pointer for a whole access that stays in one page and is RAM, else NULL
 * (write access also checks writability up front). */
void *x86_ptr(struct x86_ctx *c, unsigned seg, uint64_t off, unsigned size, unsigned acc);
void x86_check_write(struct x86_ctx *c, unsigned seg, uint64_t off, unsigned size);
/* system (supervisor) linear accesses */
uint64_t x86_sys_read(struct x86_ctx *c, uint64_t lin, unsigned size);
void x86_sys_write(struct x86_ctx *c, uint64_t lin, unsigned size, uint64_t val);
void x86_fetch_setup(struct x86_ctx *c);
uint8_t x86_fetch_slow(struct x86_ctx *c, unsigned idx);
/* IO */
uint64_t x86_io_in(struct x86_ctx *c, uint16_t port, unsigned size);
void x86_io_out(struct x86_ctx *c, uint16_t port, unsigned size, uint64_t val);
bool x86_io_allowed(struct x86_ctx *c, uint16_t port, unsigned size);

/* operand helpers (x86_mem.c) */
uint64_t x86_get_rm(struct x86_ctx *c, unsigned size);
void x86_set_rm(struct x86_ctx *c, unsigned size, uint64_t val);
void x86_push(struct x86_ctx *c, unsigned size, uint64_t val);
uint64_t x86_pop(struct x86_ctx *c, unsigned size);
uint64_t x86_stack_peek(struct x86_ctx *c, unsigned off, unsigned size);
unsigned x86_stack_size(struct x86_ctx *c);
void x86_set_rsp_delta(struct x86_ctx *c, int64_t delta);
__attribute__((noreturn)) void x86_page_fault(struct x86_ctx *c, uint64_t lin, uint32_t pfec);
static inline unsigned x86_acc_user(const struct x86_ctx *c)
{
	return c->cpu->cpl == 3 ? X86_ACC_USER : 0;
}
/* Keep the register progress of a partly done instruction (REP iterations). */
static inline void x86_commit_regs(struct x86_ctx *c)
{
	memcpy(c->save_gpr, c->cpu->gpr, sizeof(c->save_gpr));
	c->save_rflags = c->cpu->rflags;
	c->regs_saved = true;
}

/* x86_alu.c */
uint64_t x86_shift(struct x86_ctx *c, unsigned op, uint64_t a, unsigned cnt, unsigned size, uint64_t *fl);
extern const uint8_t x86_pf_table[256];
#define X86_ALU_ADD 0
#define X86_ALU_OR 1
#define X86_ALU_ADC 2
#define X86_ALU_SBB 3
#define X86_ALU_AND 4
#define X86_ALU_SUB 5
#define X86_ALU_XOR 6
#define X86_ALU_CMP 7
static inline void x86_set_arith(struct x86_cpu *cpu, uint64_t fl)
{
	cpu->rflags = (cpu->rflags & ~(uint64_t)X86_FL_ARITH) | fl;
}

/* x86_except.c */
void x86_deliver(struct x86_ctx *c, unsigned vec, bool has_err, uint32_t err,
		 bool soft, uint64_t ret_rip);
void x86_load_seg(struct x86_ctx *c, unsigned sreg, uint16_t sel);
void x86_load_seg_real(struct x86_cpu *cpu, unsigned sreg, uint16_t sel);
void x86_read_desc(struct x86_ctx *c, uint16_t sel, uint64_t desc[2], unsigned exc, bool sys16);
void x86_desc_to_seg(uint64_t d, struct x86_seg *s, uint16_t sel);
void x86_far_jmp(struct x86_ctx *c, uint16_t sel, uint64_t off, bool call, unsigned opsize);
void x86_far_ret(struct x86_ctx *c, unsigned opsize, unsigned pop_extra);
void x86_iret(struct x86_ctx *c, unsigned opsize);

/* x86_system.c */
void x86_write_cr(struct x86_ctx *c, unsigned cr, uint64_t val);
bool x86_msr_read(struct x86_ctx *c, uint32_t msr, uint64_t *val);
bool x86_msr_write(struct x86_ctx *c, uint32_t msr, uint64_t val);
uint64_t x86_rdtsc(struct x86_ctx *c);
uint64_t x86_host_tsc(const struct x86_cpu *cpu);
void x86_set_rflags(struct x86_ctx *c, uint64_t val, unsigned opsize);

static inline uint64_t x86_load_n(const void *p, unsigned size)
{
	switch (size) {
	case 1: return *(const uint8_t *)p;
	case 2: { uint16_t v; memcpy(&v, p, 2); return v; }
	case 4: { uint32_t v; memcpy(&v, p, 4); return v; }
	default: { uint64_t v; memcpy(&v, p, 8); return v; }
	}
}

static inline void x86_store_n(void *p, unsigned size, uint64_t v)
{
	switch (size) {
	case 1: *(uint8_t *)p = v; break;
	case 2: { uint16_t w = v; memcpy(p, &w, 2); break; }
	case 4: { uint32_t w = v; memcpy(p, &w, 4); break; }
	default: memcpy(p, &v, 8); break;
	}
}

/*
 * Data access fast path: 64-bit mode, RAM, within one page.  Anything else
 * (segmentation checks, faults, MMIO, page splits) goes to the _slow
 * versions, which redo the access from the start.
 */
static inline bool x86_fast_lin(struct x86_ctx *c, unsigned seg, uint64_t off, unsigned size, uint64_t *lin)
{
	const struct x86_cpu *cpu = c->cpu;

	if (!cpu->l64)
		return false;
	*lin = off + (seg >= X86_FS ? cpu->seg[seg].base : 0);
	return x86_canonical(*lin) && (*lin & 0xfff) + size <= 4096;
}

/*
 * Private data TLB (RAM pages the MMU flagged cacheable).  A hit costs one
 * tag compare plus a load of the MMU's revocation counter; anything else
 * goes through env_ops.translate (x86_xlate_data), which refills it.
 */
static inline uint8_t *x86_tlb_get(struct x86_cpu *cpu, uint64_t lin, unsigned acc)
{
	const struct x86_tlb_ent *e =
		&cpu->tlb[!!(acc & X86_ACC_WRITE)][!!(acc & X86_ACC_USER)][(lin >> 12) & (X86_TLB_ENTRIES - 1)];

	if (__builtin_expect(e->tag != ((lin & ~0xfffull) | 1), 0))
		return NULL;
	if (__builtin_expect(cpu->tlb_gen && __atomic_load_n(cpu->tlb_gen, __ATOMIC_ACQUIRE) != cpu->tlb_gen_seen, 0)) {
		x86__tlb_flush(cpu);
		return NULL;
	}
	return e->hva + (lin & 0xfff);
}

/* The host pointer of a whole access through x86_fast_lin() and the private TLB, or NULL. */
static inline __attribute__((always_inline)) uint8_t *x86_tlb_ptr(struct x86_ctx *c, unsigned seg,
								  uint64_t off, unsigned size, unsigned acc)
{
	uint64_t lin;

	if (__builtin_expect(!x86_fast_lin(c, seg, off, size, &lin), 0))
		return NULL;
	return x86_tlb_get(c->cpu, lin, acc | x86_acc_user(c));
}

/* env_ops.translate for a data access, filling the private TLB; never raises. */
int x86_xlate_data(struct x86_ctx *c, uint64_t lin, unsigned acc, struct x86_xlate *x);

/* x86_mem.c: the rest of x86_read/x86_write after a private TLB miss (out of line: the
 * handlers' fast paths then need no saved registers) */
uint64_t x86_read_miss(struct x86_ctx *c, unsigned seg, uint64_t off, unsigned size);
void x86_write_miss(struct x86_ctx *c, unsigned seg, uint64_t off, unsigned size, uint64_t val);

static inline __attribute__((always_inline)) uint64_t x86_read(struct x86_ctx *c, unsigned seg,
							       uint64_t off, unsigned size)
{
	uint8_t *p = x86_tlb_ptr(c, seg, off, size, X86_ACC_READ);

	if (__builtin_expect(p != NULL, 1))
		return x86_load_n(p, size);
	return x86_read_miss(c, seg, off, size);
}

static inline __attribute__((always_inline)) void x86_write(struct x86_ctx *c, unsigned seg,
							    uint64_t off, unsigned size, uint64_t val)
{
	uint8_t *p = x86_tlb_ptr(c, seg, off, size, X86_ACC_WRITE);

	if (__builtin_expect(p != NULL, 1)) {
		x86_note_write(c, p);
		x86_store_n(p, size, val);
		return;
	}
	x86_write_miss(c, seg, off, size, val);
}

/* ---- hot helpers, inline ---- */

static inline uint64_t x86_get_reg(struct x86_ctx *c, unsigned reg, unsigned size)
{
	const uint64_t *g = c->cpu->gpr;

	switch (size) {
	case 1:
		if (reg >= 4 && reg < 8 && !c->i->rex)
			return (g[reg - 4] >> 8) & 0xff;
		return g[reg] & 0xff;
	case 2: return g[reg] & 0xffff;
	case 4: return (uint32_t)g[reg];
	default: return g[reg];
	}
}

static inline void x86_set_reg(struct x86_ctx *c, unsigned reg, unsigned size, uint64_t val)
{
	uint64_t *g = c->cpu->gpr;

	switch (size) {
	case 1:
		if (reg >= 4 && reg < 8 && !c->i->rex)
			g[reg - 4] = (g[reg - 4] & ~0xff00ull) | ((val & 0xff) << 8);
		else
			g[reg] = (g[reg] & ~0xffull) | (val & 0xff);
		break;
	case 2: g[reg] = (g[reg] & ~0xffffull) | (val & 0xffff); break;
	case 4: g[reg] = (uint32_t)val; break;
	default: g[reg] = val; break;
	}
}

static inline __attribute__((always_inline)) uint64_t x86_flags_szp(uint64_t res, unsigned size)
{
	uint64_t m = x86_mask(size);
	uint64_t fl = x86_pf_table[res & 0xff];

	if (!(res & m))
		fl |= X86_FL_ZF;
	if ((res >> (size * 8 - 1)) & 1)
		fl |= X86_FL_SF;
	return fl;
}

static inline uint64_t x86_flags_logic(uint64_t res, unsigned size)
{
	return x86_flags_szp(res, size);
}

static inline __attribute__((always_inline)) uint64_t x86_alu(struct x86_ctx *c, unsigned op, uint64_t a, uint64_t b, unsigned size, uint64_t *flp)
{
	uint64_t m = x86_mask(size);
	unsigned top = size * 8 - 1;
	uint64_t res, cin = c->cpu->rflags & X86_FL_CF, fl;

	a &= m;
	b &= m;
	switch (op) {
	case X86_ALU_ADD:
		cin = 0;
		/* fallthrough */
	case X86_ALU_ADC:
		res = (a + b + cin) & m;
		fl = x86_flags_szp(res, size);
		fl |= (((a & b) | ((a | b) & ~res)) >> top) & 1 ? X86_FL_CF : 0;
		fl |= (((a ^ res) & (b ^ res)) >> top) & 1 ? X86_FL_OF : 0;
		fl |= (a ^ b ^ res) & X86_FL_AF;
		break;
	case X86_ALU_SUB:
	case X86_ALU_CMP:
		cin = 0;
		/* fallthrough */
	case X86_ALU_SBB:
		res = (a - b - cin) & m;
		fl = x86_flags_szp(res, size);
		fl |= (((~a & b) | ((~a | b) & res)) >> top) & 1 ? X86_FL_CF : 0;
		fl |= (((a ^ b) & (a ^ res)) >> top) & 1 ? X86_FL_OF : 0;
		fl |= (a ^ b ^ res) & X86_FL_AF;
		break;
	case X86_ALU_AND: res = a & b; fl = x86_flags_logic(res, size); break;
	case X86_ALU_OR: res = a | b; fl = x86_flags_logic(res, size); break;
	default: res = a ^ b; fl = x86_flags_logic(res, size); break;
	}
	*flp = fl;
	return res;
}

static inline bool x86_cond(uint64_t fl, unsigned cc)
{
	bool r;

	switch (cc >> 1) {
	case 0: r = fl & X86_FL_OF; break;
	case 1: r = fl & X86_FL_CF; break;
	case 2: r = fl & X86_FL_ZF; break;
	case 3: r = fl & (X86_FL_CF | X86_FL_ZF); break;
	case 4: r = fl & X86_FL_SF; break;
	case 5: r = fl & X86_FL_PF; break;
	case 6: r = !(fl & X86_FL_SF) != !(fl & X86_FL_OF); break;
	default: r = (fl & X86_FL_ZF) || (!(fl & X86_FL_SF) != !(fl & X86_FL_OF)); break;
	}
	return r ^ (cc & 1);
}

/* x86_x87.c */
bool x86_x87_exec(struct x86_ctx *c);

/* per-file handler tables: handlers declared where used */
#define H(name) void name(struct x86_ctx *c)
/* x86_exec.c / x86_exec2.c */
H(op_alu); H(op_alu_acc); H(op_grp1); H(op_test); H(op_test_acc); H(op_grp3); H(op_grp45);
H(op_incdec_r); H(op_push_r); H(op_pop_r); H(op_push_imm); H(op_pop_rm); H(op_push_sreg); H(op_pop_sreg);
H(op_mov); H(op_mov_rm_imm); H(op_mov_r_imm); H(op_mov_moffs); H(op_mov_sreg); H(op_lea);
H(op_xchg); H(op_xchg_acc); H(op_nop90); H(op_jcc); H(op_jmp); H(op_call); H(op_ret); H(op_retf);
H(op_jmpf); H(op_callf); H(op_shift); H(op_shld); H(op_imul3); H(op_imul2); H(op_movx); H(op_movsxd);
H(op_cbw); H(op_cwd); H(op_lahf); H(op_sahf); H(op_pushf); H(op_popf); H(op_flagop); H(op_cmc);
H(op_setcc); H(op_cmovcc); H(op_bt); H(op_bt_grp); H(op_bsf); H(op_bswap); H(op_xadd); H(op_cmpxchg);
H(op_grp9); H(op_enter); H(op_leave); H(op_loop); H(op_jcxz); H(op_xlat); H(op_int3); H(op_int);
H(op_into); H(op_iret); H(op_hlt); H(op_in); H(op_out); H(op_cpuid); H(op_rdtsc); H(op_rdmsr);
H(op_wrmsr); H(op_grp6); H(op_grp7); H(op_mov_cr); H(op_mov_dr); H(op_clts); H(op_nop); H(op_ud2);
H(op_invd); H(op_syscall); H(op_sysret); H(op_sysenter); H(op_sysexit); H(op_popcnt); H(op_string);
H(op_salc); H(op_cli_sti); H(op_lsl_lar); H(op_pusha); H(op_popa); H(op_les); H(op_aam);
H(op_rdpmc); H(op_x87); H(op_fxgrp); H(op_sse); H(op_nopm);
#undef H

#endif
