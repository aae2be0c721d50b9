/*
 * Debugging aids of the shadow backend: --trace insn (one line per retired
 * instruction), the explanation of a guest-virtual address written to a file
 * descriptor, the triple-fault report and the SIGUSR2 state dump.
 *
 * Everything is written with util__fdprintf: the vCPU threads run under a
 * seccomp filter that forbids the fstat glibc's stdio does on a real fd.
 */
#include "shadow.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "../util/util.h"
#include "../x86/x86.h"

#define TRACE_DEFAULT_COUNT	10000
#define INSN_MAX		15

/* ---- --trace insn[=COUNT][@START-END] ------------------------------------------ */

static int parse_u64(const char *s, const char *end, int base, uint64_t *out)
{
	char buf[32], *e;
	size_t n = (size_t)(end - s);

	if (n == 0 || n >= sizeof(buf) || *s == '-' || *s == '+')
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = 0;
	errno = 0;
	*out = strtoull(buf, &e, base);
	return *e || errno ? -EINVAL : 0;
}

int shadow__trace_parse(const char *spec, struct shadow_trace *t)
{
	const char *p = spec + 4, *at, *dash;
	uint64_t count = TRACE_DEFAULT_COUNT;

	memset(t, 0, sizeof(*t));
	t->end = UINT64_MAX;
	if (strncmp(spec, "insn", 4))
		return -EINVAL;
	at = strchr(p, '@');
	if (*p == '=') {
		if (parse_u64(p + 1, at ? at : p + strlen(p), 0, &count) || count == 0 ||
		    count > INT64_MAX)
			return -EINVAL;
	} else if (*p && *p != '@') {
		return -EINVAL;
	}
	if (at) {
		dash = strchr(at + 1, '-');
		if (!dash || parse_u64(at + 1, dash, 16, &t->start) ||
		    parse_u64(dash + 1, dash + 1 + strlen(dash + 1), 16, &t->end) ||
		    t->start > t->end)
			return -EINVAL;
	}
	t->left = (int64_t)count;
	return 0;
}

/*
 * Length of the instruction in @b (@n bytes readable), 0 when @n is too
 * short.  The interpreter has no public disassembler, so the trace finds the
 * bytes to show from the opcode maps: prefixes, REX/VEX, ModRM/SIB/disp and
 * immediates.  Instructions the CPU model lacks get a plausible length.
 */
enum { I_NONE, I_B, I_W, I_Z, I_V, I_MOFFS, I_FAR, I_WB };
#define M 0x10	/* has ModRM */

/* One-byte map: ModRM flag | immediate kind. */
static const uint8_t map1[256] = {
	/* 00-3f: ALU ops; x6/x7/xe/xf are push/pop seg, prefixes, BCD, 0F escape */
#define ALU M, M, M, M, I_B, I_Z, 0, 0, M, M, M, M, I_B, I_Z, 0, 0
	ALU, ALU, ALU, ALU,
#undef ALU
	[0x62] = M, [0x63] = M, [0x68] = I_Z, [0x69] = M | I_Z, [0x6a] = I_B, [0x6b] = M | I_B,
	[0x70 ... 0x7f] = I_B,
	[0x80] = M | I_B, [0x81] = M | I_Z, [0x82] = M | I_B, [0x83] = M | I_B,
	[0x84 ... 0x8f] = M,
	[0x9a] = I_FAR, [0xa0 ... 0xa3] = I_MOFFS, [0xa8] = I_B, [0xa9] = I_Z,
	[0xb0 ... 0xb7] = I_B, [0xb8 ... 0xbf] = I_V,
	[0xc0] = M | I_B, [0xc1] = M | I_B, [0xc2] = I_W, [0xc4] = M, [0xc5] = M,
	[0xc6] = M | I_B, [0xc7] = M | I_Z, [0xc8] = I_WB, [0xca] = I_W, [0xcd] = I_B,
	[0xd0 ... 0xd3] = M, [0xd4] = I_B, [0xd5] = I_B, [0xd8 ... 0xdf] = M,
	[0xe0 ... 0xe7] = I_B, [0xe8] = I_Z, [0xe9] = I_Z, [0xea] = I_FAR, [0xeb] = I_B,
	[0xf6] = M, [0xf7] = M, [0xfe] = M, [0xff] = M,
};

/* Two-byte (0F) map. */
static const uint8_t map2[256] = {
	[0x00 ... 0x03] = M, [0x0d] = M, [0x0f] = M | I_B, [0x10 ... 0x1f] = M,
	[0x20 ... 0x27] = M, [0x28 ... 0x2f] = M, [0x40 ... 0x6f] = M,
	[0x70 ... 0x73] = M | I_B, [0x74 ... 0x76] = M, [0x78 ... 0x7f] = M,	/* 77: EMMS */
	[0x80 ... 0x8f] = I_Z, [0x90 ... 0x9f] = M,
	[0xa3] = M, [0xa4] = M | I_B, [0xa5] = M, [0xab] = M, [0xac] = M | I_B,
	[0xad ... 0xaf] = M, [0xb0 ... 0xb9] = M, [0xba] = M | I_B, [0xbb ... 0xbf] = M,
	[0xc0] = M, [0xc1] = M, [0xc2] = M | I_B, [0xc3] = M, [0xc4 ... 0xc6] = M | I_B,
	[0xc7] = M, [0xd0 ... 0xff] = M,
};

static unsigned modrm_len(const uint8_t *b, unsigned n, unsigned i, unsigned asz, bool crdr)
{
	unsigned mod, rm;

	if (i >= n)
		return 0;
	mod = b[i] >> 6;
	rm = b[i] & 7;
	i++;
	if (mod == 3 || crdr)	/* MOV CR/DR ignore mod: always a register */
		return i;
	if (asz == 2) {
		if (mod == 0 && rm == 6)
			return i + 2;
		return i + (mod == 1 ? 1 : mod == 2 ? 2 : 0);
	}
	if (rm == 4) {
		if (i >= n)
			return 0;
		if (mod == 0 && (b[i] & 7) == 5)
			return i + 1 + 4;
		i++;
	} else if (mod == 0 && rm == 5) {
		return i + 4;
	}
	return i + (mod == 1 ? 1 : mod == 2 ? 4 : 0);
}

static unsigned insn_len(const uint8_t *b, unsigned n, bool l64, bool def32)
{
	unsigned i = 0, osz = def32 || l64 ? 4 : 2, asz = l64 ? 8 : def32 ? 4 : 2;
	bool rexw = false;
	unsigned map, op, f, imm = 0, end;

	for (; i < n && i < INSN_MAX; i++) {
		uint8_t c = b[i];

		if (c == 0x66)
			osz = def32 || l64 ? 2 : 4;
		else if (c == 0x67)
			asz = l64 ? 4 : def32 ? 2 : 4;
		else if (c == 0xf0 || c == 0xf2 || c == 0xf3 || c == 0x26 || c == 0x2e ||
			 c == 0x36 || c == 0x3e || c == 0x64 || c == 0x65)
			;
		else
			break;
	}
	if (l64 && i < n && (b[i] & 0xf0) == 0x40)
		rexw = b[i++] & 8;
	if (l64 && rexw)
		osz = 8;
	if (i >= n)
		return 0;
	op = b[i++];
	/* map: 0 one-byte, 1 0F, 2 0F38, 3 0F3A. */
	/* VEX: always in 64-bit mode, else only when it cannot be LES/LDS (mod == 3). */
	if ((op == 0xc4 || op == 0xc5) && i < n && (l64 || (b[i] >> 6) == 3)) {
		map = 1;
		if (op == 0xc5) {
			i++;
		} else {
			map = b[i] & 0x1f;
			i += 2;
		}
		if (i >= n)
			return 0;
		op = b[i++];
	} else if (op == 0x0f) {
		if (i >= n)
			return 0;
		op = b[i++];
		map = 1;
		if (op == 0x38 || op == 0x3a) {
			map = op == 0x38 ? 2 : 3;
			if (i >= n)
				return 0;
			op = b[i++];
		}
	} else {
		map = 0;
	}
	if (map == 0)
		f = map1[op];
	else if (map == 1)
		f = map2[op];
	else
		f = M | (map == 3 ? I_B : 0);
	end = (f & M) ? modrm_len(b, n, i, asz, map == 1 && op >= 0x20 && op <= 0x27) : i;
	if (!end)
		return 0;
	if (map == 0 && (op == 0xf6 || op == 0xf7) && ((b[i] >> 3) & 7) < 2)
		f |= op == 0xf6 ? I_B : I_Z;
	switch (f & 0x0f) {
	case I_B: imm = 1; break;
	case I_W: imm = 2; break;
	case I_WB: imm = 3; break;
	/* near branches keep a 32-bit displacement in 64-bit mode whatever 66 says */
	case I_Z: imm = osz == 2 && !(l64 && (op == 0xe8 || op == 0xe9 || map == 1)) ? 2 : 4; break;
	case I_V: imm = osz == 8 ? 8 : osz == 2 ? 2 : 4; break;
	case I_MOFFS: imm = asz; break;
	case I_FAR: imm = 2 + (osz == 2 ? 2 : 4); break;
	default: break;
	}
	end += imm;
	return end <= n && end <= INSN_MAX ? end : 0;
}
#undef M

/* Up to INSN_MAX bytes at @linear through the shadow MMU; stops at MMIO or a fault. */
static unsigned fetch_bytes(struct shadow_mmu *mmu, const struct x86_cpu *cpu, uint64_t linear,
			    uint8_t *buf)
{
	const struct shadow_mode m = { cpu->cr0, cpu->cr3, cpu->cr4, cpu->efer };
	unsigned got = 0;

	while (got < INSN_MAX) {
		struct shadow_result r;
		uint64_t lin = linear + got;
		unsigned chunk = MIN(INSN_MAX - got, 4096u - (unsigned)(lin & 0xfff));

		/* A read, not a fetch: no NX/SMEP check, so what faults later is still shown. */
		if (shadow__translate(mmu, &m, lin, SHADOW_ACC_READ, &r) != SHADOW_RAM)
			break;
		memcpy(buf + got, r.hva, chunk);
		got += chunk;
	}
	return got;
}

/* Where the CPU fetches from, and its default operand size. */
static uint64_t code_linear(const struct x86_cpu *cpu, bool *l64, bool *def32)
{
	const struct x86_seg *cs = &cpu->seg[X86_CS];
	bool pe = cpu->cr0 & X86_CR0_PE, v86 = cpu->rflags & X86_FL_VM;

	*l64 = (cpu->efer & X86_EFER_LMA) && cs->l && pe && !v86;
	*def32 = pe && !v86 && cs->db;
	if (*l64)
		return cpu->rip;
	return (cs->base + cpu->rip) & 0xffffffffu;
}

/* @b == NULL: an instruction whose address and bytes were never seen. */
static void print_insn(int vcpu, uint16_t cs, uint64_t rip, const uint8_t *b, unsigned len,
		       const struct x86_cpu *cpu, uint64_t iters)
{
	static const char *const names[X86_NR_GPRS] = {
		"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
		"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
	};
	char line[768], *p = line;
	const char *e = line + sizeof(line);

	if (b)
		p += snprintf(p, e - p, "insn%d %04x:%016" PRIx64 " ", vcpu, cs, rip);
	else
		p += snprintf(p, e - p, "insn%d ----:---------------- ", vcpu);
	for (unsigned i = 0; b && i < len; i++)
		p += snprintf(p, e - p, "%02x", b[i]);
	if (!b || !len)
		p += snprintf(p, e - p, "??");
	p += snprintf(p, e - p, "%*s", 2 * INSN_MAX - (int)(len ? 2 * len : 2), "");
	for (int r = 0; r < X86_NR_GPRS; r++)
		p += snprintf(p, e - p, " %s=%016" PRIx64, names[r], cpu->gpr[r]);
	p += snprintf(p, e - p, " fl=%08" PRIx64, cpu->rflags);
	if (iters > 1)
		p += snprintf(p, e - p, " x%" PRIu64, iters);
	util__fdprintf(STDERR_FILENO, "%s\n", line);
}

static bool take_line(struct shadow_trace *t)
{
	return __atomic_sub_fetch(&t->left, 1, __ATOMIC_RELAXED) >= 0;
}

int shadow_trace_run(struct shadow_trace *t, struct shadow_mmu *mmu, int vcpu,
		     struct x86_cpu *cpu, const struct x86_env_ops *ops, void *ctx,
		     uint64_t max_insns, struct x86_exit *e)
{
	uint64_t done = 0;

	while (done < max_insns) {
		uint8_t bytes[INSN_MAX];
		bool l64, def32;
		enum x86_event ev;

		if (__atomic_load_n(&t->left, __ATOMIC_RELAXED) <= 0)
			return x86__run(cpu, ops, ctx, max_insns - done, e);

		uint64_t rip = cpu->rip, insns = cpu->stats.insns;
		uint64_t exc = cpu->stats.exceptions, irqs = cpu->stats.irqs;
		uint16_t cs = cpu->seg[X86_CS].sel;
		bool nmi = cpu->nmi_pending, in_range = rip >= t->start && rip <= t->end;
		unsigned got = 0, len = 0;

		if (in_range) {
			got = fetch_bytes(mmu, cpu, code_linear(cpu, &l64, &def32), bytes);
			len = insn_len(bytes, got, l64, def32);
		}
		ev = x86__run(cpu, ops, ctx, 1, e);
		uint64_t retired = cpu->stats.insns - insns;
		bool event = cpu->stats.exceptions != exc || cpu->stats.irqs != irqs ||
			     (nmi && !cpu->nmi_pending);

		done += retired;
		if (event && in_range && take_line(t))
			util__fdprintf(STDERR_FILENO, "insn%d %04x:%016" PRIx64 " ! %s\n", vcpu, cs, rip,
				       cpu->stats.exceptions != exc ? "exception (did not retire)"
				       : cpu->stats.irqs != irqs ? "interrupt (before this instruction)"
				       : "NMI (before this instruction)");
		if (retired && event && (in_range || (cpu->rip >= t->start && cpu->rip <= t->end)) &&
		    take_line(t))
			/* the handler's first instruction: its address was never visible */
			print_insn(vcpu, 0, 0, NULL, 0, cpu, retired);
		else if (retired && !event && in_range && take_line(t))
			print_insn(vcpu, cs, rip, bytes, len ? len : got, cpu, retired);
		if (ev != X86_EV_BUDGET)
			return ev;
	}
	memset(e, 0, sizeof(*e));
	e->ev = X86_EV_BUDGET;
	return X86_EV_BUDGET;
}

/* ---- explaining an address, triple-fault report, SIGUSR2 ------------------------- */

void shadow__explain_fd(struct shadow_mmu *mmu, const struct shadow_mode *mode, uint64_t linear,
			int fd, const char *prefix)
{
	char buf[4096];
	/* fmemopen is a cookie stream: no fstat, unlike stdio on a real fd. */
	FILE *f = fmemopen(buf, sizeof(buf), "w");
	size_t n;

	if (!f) {
		util__fdprintf(fd, "%scannot explain %#" PRIx64 ": out of memory\n", prefix, linear);
		return;
	}
	shadow__explain(mmu, mode, linear, f);
	fflush(f);
	n = ftell(f) > 0 ? (size_t)ftell(f) : 0;
	fclose(f);
	buf[MIN(n, sizeof(buf) - 1)] = 0;
	for (char *line = buf; *line;) {
		char *nl = strchr(line, '\n');

		if (nl)
			*nl = 0;
		util__fdprintf(fd, "%s%s\n", prefix, line);
		if (!nl)
			break;
		line = nl + 1;
	}
}

void shadow_report_cpu(struct shadow_mmu *mmu, const struct x86_cpu *cpu, int vcpu,
		       const char *why, bool with_cr2)
{
	const struct shadow_mode m = { cpu->cr0, cpu->cr3, cpu->cr4, cpu->efer };
	char prefix[32];
	bool l64, def32;
	uint64_t lin = code_linear(cpu, &l64, &def32);

	snprintf(prefix, sizeof(prefix), "mvm: vcpu%d   ", vcpu);
	util__fdprintf(STDERR_FILENO, "mvm: vcpu%d %s: rip %04x:%016" PRIx64 " (%s, linear %#" PRIx64
		       "), %" PRIu64 " instructions retired\n", vcpu, why, cpu->seg[X86_CS].sel,
		       cpu->rip, l64 ? "64-bit" : def32 ? "32-bit" : "16-bit", lin, cpu->stats.insns);
	shadow__explain_fd(mmu, &m, lin, STDERR_FILENO, prefix);
	if (with_cr2) {
		util__fdprintf(STDERR_FILENO, "mvm: vcpu%d cr2 %#" PRIx64 ":\n", vcpu, cpu->cr2);
		shadow__explain_fd(mmu, &m, cpu->cr2, STDERR_FILENO, prefix);
	}
}

unsigned shadow_dump_gen;

static void usr2_handler(int sig)
{
	(void)sig;
	__atomic_add_fetch(&shadow_dump_gen, 1, __ATOMIC_RELAXED);
}

int shadow__dump_signal_init(void)
{
	struct sigaction sa = { .sa_handler = usr2_handler, .sa_flags = SA_RESTART };
	sigset_t set;

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR2, &sa, NULL) < 0)
		return -errno;
	/*
	 * Only vCPU threads take it (they unblock it on their first run): every
	 * thread created from here on inherits the block, so the dump never
	 * interrupts an I/O thread's epoll_wait.
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	return -pthread_sigmask(SIG_BLOCK, &set, NULL);
}

void shadow_dump_thread_init(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}
