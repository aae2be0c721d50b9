/*
 * The rig of the unicorn differential test (test_x86_unicorn.c): one flat
 * memory image for the interpreter and one for unicorn, random machine
 * state, and step_both(), which runs one instruction in both and compares
 * GPRs, RIP, the defined arithmetic flags, XMM registers and a data window.
 */
#ifndef MVM_TESTS_X86_UNICORN_RIG_H
#define MVM_TESTS_X86_UNICORN_RIG_H


#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <unicorn/unicorn.h>

#include "x86/x86.h"

#define MEM_SIZE	(2u << 20)
/* 64-bit, 32-bit protected (flat) or 16-bit real mode for the integer tests */
static int g_mode = 64;

#define CODE_ADDR	0x1000u
#define DATA_ADDR	(g_mode == 64 ? 0x100000u : 0xa000u)
#define DATA_LEN	512u
#define STACK_TOP	(g_mode == 64 ? 0x1f0000u : 0xf000u)
/* register holding DATA_ADDR for memory operands: R15, or EDI/DI */
#define DATA_REG	(g_mode == 64 ? 15 : 7)

static const int uc_gpr32[8] = {
	UC_X86_REG_EAX, UC_X86_REG_ECX, UC_X86_REG_EDX, UC_X86_REG_EBX,
	UC_X86_REG_ESP, UC_X86_REG_EBP, UC_X86_REG_ESI, UC_X86_REG_EDI,
};

static const int uc_gpr[16] = {
	UC_X86_REG_RAX, UC_X86_REG_RCX, UC_X86_REG_RDX, UC_X86_REG_RBX,
	UC_X86_REG_RSP, UC_X86_REG_RBP, UC_X86_REG_RSI, UC_X86_REG_RDI,
	UC_X86_REG_R8, UC_X86_REG_R9, UC_X86_REG_R10, UC_X86_REG_R11,
	UC_X86_REG_R12, UC_X86_REG_R13, UC_X86_REG_R14, UC_X86_REG_R15,
};

struct rig {
	uc_engine *uc;
	uint8_t *mem;		/* interpreter memory */
	uint8_t *ucmem;		/* scratch for reading unicorn memory */
	struct x86_cpu cpu;
	uint64_t cov[4][256];
	unsigned long compared, mismatches, faulted;
};

static struct rig R;

static inline int flat_translate(void *ctx, struct x86_cpu *cpu, uint64_t lin, unsigned acc, struct x86_xlate *out)
{
	(void)ctx; (void)cpu;
	if (lin >= MEM_SIZE) {
		out->pfec = ((acc & X86_ACC_WRITE) ? X86_PFEC_W : 0) | ((acc & X86_ACC_FETCH) ? X86_PFEC_I : 0);
		return X86_XLATE_FAULT;
	}
	out->hva = R.mem + lin;
	out->gpa = lin;
	return X86_XLATE_RAM;
}

static const struct x86_env_ops flat_ops = { .translate = flat_translate };

static uint64_t rng_state;

static inline uint64_t rnd(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

static inline uint64_t rnd_val(void)
{
	switch (rnd() % 6) {
	case 0: return 0;
	case 1: return rnd() & 0xff;
	case 2: return -(rnd() & 0xff);
	case 3: return 0x8000000000000000ull >> (rnd() % 64);
	case 4: return (uint32_t)rnd();
	default: return rnd();
	}
}

/* Lanes of interesting floats and integers. */
static inline void rnd_xmm(uint8_t *x)
{
	static const uint32_t f32[] = { 0x3f800000, 0xbf800000, 0x7f800000, 0xff800000, 0x7fc00000,
					0x00000001, 0x80000000, 0x4f000000, 0xcf000001, 0x3effffff };
	static const uint64_t f64[] = { 0x3ff0000000000000ull, 0xbff8000000000000ull, 0x7ff0000000000000ull,
					0x7ff8000000000000ull, 0x0000000000000001ull, 0x43e0000000000000ull,
					0xc1e0000000200000ull, 0x4000000000000001ull };

	for (unsigned k = 0; k < 4; k++) {
		uint32_t v;

		switch (rnd() % 4) {
		case 0: v = f32[rnd() % 10]; break;
		case 1: v = (rnd() % 2000) * 0x00800000u / 16 + 0x3c000000u; break;
		default: v = rnd(); break;
		}
		memcpy(x + 4 * k, &v, 4);
	}
	if (rnd() % 2) {
		for (unsigned k = 0; k < 2; k++) {
			uint64_t v = rnd() % 3 ? f64[rnd() % 8] : (0x3fe0000000000000ull | (rnd() >> 12)) ^ (rnd() % 2 ? 1ull << 63 : 0);

			memcpy(x + 8 * k, &v, 8);
		}
	}
}

static inline void set_long_mode(struct x86_cpu *cpu)
{
	x86__reset(cpu);
	cpu->cr0 = X86_CR0_PE | X86_CR0_PG | X86_CR0_ET | X86_CR0_NE;
	cpu->cr4 = X86_CR4_PAE | X86_CR4_OSFXSR;
	cpu->efer = X86_EFER_LME | X86_EFER_LMA | X86_EFER_SCE | X86_EFER_NXE;
	for (unsigned s = 0; s < X86_NR_SREGS; s++) {
		struct x86_seg *g = &cpu->seg[s];

		memset(g, 0, sizeof(*g));
		g->sel = s == X86_CS ? 0x8 : 0x10;
		g->type = s == X86_CS ? 0xb : 0x3;
		g->s = g->present = g->g = 1;
		g->limit = 0xffffffff;
		g->l = s == X86_CS;
		g->db = s != X86_CS;
	}
	cpu->tr.type = 0xb;
	cpu->tr.present = 1;
	cpu->tr.limit = 0x67;
	x86__state_changed(cpu);
}

static inline void uc_sync_to_interp(void)
{
	for (unsigned r = 0; r < 16; r++) {
		R.cpu.gpr[r] = 0;
		if (g_mode == 64)
			uc_reg_read(R.uc, uc_gpr[r], &R.cpu.gpr[r]);
		else if (r < 8)
			uc_reg_read(R.uc, uc_gpr32[r], &R.cpu.gpr[r]);
	}
	uint64_t fl = 0;

	uc_reg_read(R.uc, UC_X86_REG_EFLAGS, &fl);
	R.cpu.rflags = fl | 2;
	for (unsigned r = 0; r < 16 && g_mode == 64; r++)
		uc_reg_read(R.uc, UC_X86_REG_XMM0 + r, R.cpu.fpu.xmm[r]);
	uint64_t csr = 0;

	uc_reg_read(R.uc, UC_X86_REG_MXCSR, &csr);
	R.cpu.fpu.mxcsr = csr;
	uc_mem_read(R.uc, DATA_ADDR, R.mem + DATA_ADDR, DATA_LEN);
	uc_mem_read(R.uc, STACK_TOP - 4096, R.mem + STACK_TOP - 4096, 8192);
}

static inline void set_legacy_mode(struct x86_cpu *cpu)
{
	x86__reset(cpu);
	for (unsigned s = 0; s < X86_NR_SREGS; s++) {
		struct x86_seg *g = &cpu->seg[s];

		g->sel = 0;
		g->base = 0;
		if (g_mode == 32) {
			g->sel = s == X86_CS ? 0x8 : 0x10;
			g->limit = 0xffffffff;
			g->g = g->db = 1;
		}
	}
	if (g_mode == 32)
		cpu->cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE;
	cpu->cr4 = X86_CR4_OSFXSR;
	x86__state_changed(cpu);
}

static inline void setup_state(void)
{
	if (g_mode == 64)
		set_long_mode(&R.cpu);
	else
		set_legacy_mode(&R.cpu);
	for (unsigned r = 0; r < (g_mode == 64 ? 16u : 8u); r++) {
		uint64_t v = rnd_val();

		if (g_mode != 64)
			v = (uint32_t)v;
		if (r == X86_RSP)
			v = STACK_TOP;
		if (r == DATA_REG)
			v = DATA_ADDR;
		uc_reg_write(R.uc, g_mode == 64 ? uc_gpr[r] : uc_gpr32[r], &v);
	}
	uint64_t fl = 2 | (rnd() & (X86_FL_ARITH));

	uc_reg_write(R.uc, UC_X86_REG_EFLAGS, &fl);
	for (unsigned r = 0; r < 16 && g_mode == 64; r++) {
		uint8_t x[16];

		rnd_xmm(x);
		uc_reg_write(R.uc, UC_X86_REG_XMM0 + r, x);
	}
	for (unsigned k = 0; k < DATA_LEN; k++)
		R.mem[DATA_ADDR + k] = rnd();
	uc_mem_write(R.uc, DATA_ADDR, R.mem + DATA_ADDR, DATA_LEN);
}

/* flags step_both() does not compare ("undef" masks) */
#define AF X86_FL_AF
#define OF X86_FL_OF
#define SZAP (X86_FL_SF | X86_FL_ZF | X86_FL_AF | X86_FL_PF)
#define ALLBUTCF (X86_FL_OF | SZAP)
#define ALL X86_FL_ARITH
/*
 * QEMU 5 (unicorn 2.0) writes EAX even when a 32-bit CMPXCHG succeeds, which
 * zero-extends RAX; the SDM writes the accumulator only on failure.
 */
#define RAX_LO (1u << 31)
/* AX holds an x87 status word: compare TOP and C0/C2/C3 only (no exception flags are kept) */
#define RAX_FSW (1u << 30)

/* ---- stepping and comparison ---- */

static inline bool nan32(uint32_t v) { return (v & 0x7f800000) == 0x7f800000 && (v & 0x7fffff); }
static inline bool nan64(uint64_t v) { return (v & 0x7ff0000000000000ull) == 0x7ff0000000000000ull && (v & 0xfffffffffffffull); }

/*
 * Equal, or NaN in the same lanes.  The interpreter computes on the host's
 * SSE units, so its NaN payloads are the hardware's; unicorn 2.0 (QEMU 5)
 * picks the second operand's NaN where hardware returns the first.
 */
static inline bool xmm_same(const uint8_t *a, const uint8_t *b)
{
	for (unsigned q = 0; q < 2; q++) {
		uint64_t x, y;

		memcpy(&x, a + 8 * q, 8);
		memcpy(&y, b + 8 * q, 8);
		if (x == y || (nan64(x) && nan64(y)))
			continue;
		for (unsigned h = 0; h < 2; h++) {
			uint32_t u = x >> (32 * h), v = y >> (32 * h);

			if (u != v && !(nan32(u) && nan32(v)))
				return false;
		}
	}
	return true;
}



static inline int step_both(const uint8_t *insn, unsigned len, uint32_t undef, bool quiet_mismatch)
{
	/* a fresh address each time: unicorn caches translated blocks */
	static unsigned slot;
	uint64_t code = CODE_ADDR + (slot++ % (g_mode == 64 ? 2048 : 256)) * 32;
	uint64_t rip = code;
	struct x86_exit ex;
	uint8_t pad[32];

	memset(pad, 0xf4, sizeof(pad));
	memcpy(pad, insn, len);
	memcpy(R.mem + code, pad, sizeof(pad));
	uc_mem_write(R.uc, code, pad, sizeof(pad));
	uc_ctl_remove_cache(R.uc, code, code + 32);
	uc_reg_write(R.uc, g_mode == 64 ? UC_X86_REG_RIP : UC_X86_REG_EIP, &rip);
	uc_sync_to_interp();
	R.cpu.rip = code;
	R.cpu.stats.exceptions = 0;

	uc_err ue = uc_emu_start(R.uc, code, code + 0x100000, 0, 1);
	enum x86_event ev = x86__run(&R.cpu, &flat_ops, NULL, 1, &ex);

	/* coverage */
	unsigned p = 0;

	while (insn[p] == 0x66 || insn[p] == 0xf0 || insn[p] == 0xf3 || insn[p] == 0xf2 || (insn[p] & 0xf0) == 0x40)
		p++;
	if (insn[p] == 0x0f)
		R.cov[1][insn[p + 1]]++;
	else
		R.cov[0][insn[p]]++;

	int bad = 0;
	char msg[2048];
	int m = 0;

	if (ue != UC_ERR_OK) {
		/* unicorn refused (e.g. #DE, #UD): the interpreter must have delivered an exception */
		/* e.g. #UD or an access outside memory: the interpreter must not retire it */
		if (ev == X86_EV_BUDGET && R.cpu.stats.exceptions == 0 && R.cpu.rip == code + len) {
			m += snprintf(msg + m, sizeof(msg) - m, "unicorn error %d, interpreter ok\n", ue);
			bad = 1;
		}
		R.cpu.stats.exceptions = 0;
		R.faulted++;
		goto out;
	}
	if (ev != X86_EV_BUDGET) {
		m += snprintf(msg + m, sizeof(msg) - m, "interpreter event %s\n", x86__event_name(ev));
		bad = 1;
		goto out;
	}
	for (unsigned r = 0; r < (g_mode == 64 ? 16u : 8u); r++) {
		uint64_t v = 0;

		uc_reg_read(R.uc, g_mode == 64 ? uc_gpr[r] : uc_gpr32[r], &v);
		if ((undef & RAX_LO) && r == 0 && (uint32_t)v == (uint32_t)R.cpu.gpr[r])
			continue;
		if ((undef & RAX_FSW) && r == 0 && ((v ^ R.cpu.gpr[r]) & 0x7d00) == 0)
			continue;
		if (v != R.cpu.gpr[r]) {
			m += snprintf(msg + m, sizeof(msg) - m, "  gpr%u uc=%016llx interp=%016llx\n", r,
				      (unsigned long long)v, (unsigned long long)R.cpu.gpr[r]);
			bad = 1;
		}
	}
	rip = 0;
	uc_reg_read(R.uc, g_mode == 64 ? UC_X86_REG_RIP : UC_X86_REG_EIP, &rip);
	if (rip != R.cpu.rip) {
		m += snprintf(msg + m, sizeof(msg) - m, "  rip uc=%llx interp=%llx\n",
			      (unsigned long long)rip, (unsigned long long)R.cpu.rip);
		bad = 1;
	}
	uint64_t fl = 0, mask = X86_FL_ARITH & ~(uint64_t)undef;

	uc_reg_read(R.uc, UC_X86_REG_EFLAGS, &fl);
	if ((fl & mask) != (R.cpu.rflags & mask)) {
		m += snprintf(msg + m, sizeof(msg) - m, "  flags uc=%03llx interp=%03llx mask=%03llx\n",
			      (unsigned long long)(fl & X86_FL_ARITH), (unsigned long long)(R.cpu.rflags & X86_FL_ARITH),
			      (unsigned long long)mask);
		bad = 1;
	}
	for (unsigned r = 0; r < 16 && g_mode == 64; r++) {
		uint8_t x[16];

		uc_reg_read(R.uc, UC_X86_REG_XMM0 + r, x);
		if (!xmm_same(x, R.cpu.fpu.xmm[r])) {
			uint64_t u[2], v[2];

			memcpy(u, x, 16);
			memcpy(v, R.cpu.fpu.xmm[r], 16);
			m += snprintf(msg + m, sizeof(msg) - m, "  xmm%u uc=%016llx:%016llx interp=%016llx:%016llx\n", r,
				      (unsigned long long)u[1], (unsigned long long)u[0],
				      (unsigned long long)v[1], (unsigned long long)v[0]);
			bad = 1;
		}
	}
	uc_mem_read(R.uc, DATA_ADDR, R.ucmem, DATA_LEN);
	if (memcmp(R.ucmem, R.mem + DATA_ADDR, DATA_LEN)) {
		m += snprintf(msg + m, sizeof(msg) - m, "  data memory differs\n");
		bad = 1;
	}
out:
	R.compared++;
	if (bad) {
		R.mismatches++;
		if (!quiet_mismatch || R.mismatches <= 30) {
			printf("MISMATCH:");
			for (unsigned k = 0; k < len; k++)
				printf(" %02x", insn[k]);
			printf("\n%s", msg);
		}
	}
	return bad;
}

static inline void rig_open(void)
{
	memset(&R, 0, sizeof(R));
	R.mem = calloc(1, MEM_SIZE);
	R.ucmem = calloc(1, MEM_SIZE);
	assert_non_null(R.mem);
	assert_int_equal(uc_open(UC_ARCH_X86, g_mode == 64 ? UC_MODE_64 : g_mode == 32 ? UC_MODE_32 : UC_MODE_16,
				 &R.uc), UC_ERR_OK);
	assert_int_equal(uc_mem_map(R.uc, 0, MEM_SIZE, UC_PROT_ALL), UC_ERR_OK);
}

static inline void rig_close(void)
{
	uc_close(R.uc);
	free(R.mem);
	free(R.ucmem);
}

static inline void print_coverage(void)
{
	unsigned n = 0;

	printf("coverage (opcode:count), one-byte map:\n ");
	for (unsigned op = 0; op < 256; op++)
		if (R.cov[0][op]) {
			printf(" %02x:%llu", op, (unsigned long long)R.cov[0][op]);
			if (++n % 12 == 0)
				printf("\n ");
		}
	n = 0;
	printf("\ncoverage, 0F map:\n ");
	for (unsigned op = 0; op < 256; op++)
		if (R.cov[1][op]) {
			printf(" 0f%02x:%llu", op, (unsigned long long)R.cov[1][op]);
			if (++n % 10 == 0)
				printf("\n ");
		}
	unsigned d0 = 0, d1 = 0;

	for (unsigned op = 0; op < 256; op++) {
		d0 += !!R.cov[0][op];
		d1 += !!R.cov[1][op];
	}
	printf("\ndistinct opcodes: %u one-byte, %u 0F\n", d0, d1);
}

#endif
