/*
 * x86: an x86-64 instruction interpreter for the in-process "shadow" backend.
 *
 * The interpreter owns the architectural CPU state (struct x86_cpu) and runs
 * guest instructions until something the environment must handle happens
 * (I/O, MMIO, HLT, hypercall, triple fault, budget).  It knows nothing about
 * KVM or the shadow MMU: paging, MSRs it does not own, and the interrupt
 * controller are reached through struct x86_env_ops.  Segmentation, privilege
 * checks, exceptions and their delivery are done here.
 *
 * Completion rule (as KVM): for reads (IN, INS, MMIO loads) x86__run returns
 * BEFORE the instruction commits any state; the caller supplies the value with
 * x86__complete_io / x86__complete_mmio and the next x86__run restarts the
 * instruction, which then consumes the value.  Writes (OUT, OUTS, MMIO stores)
 * are reported after the instruction retired.
 *
 * Exceptions never leave the interpreter: they are delivered to the guest
 * (IVT in real mode, IDT in protected/long mode with IST and TSS stack
 * switches), escalate to #DF, and a fault while delivering #DF ends the run
 * with X86_EV_SHUTDOWN.  Opcodes outside the implemented set raise #UD and
 * are counted in stats.ud (with the address and bytes of the last one).
 *
 * Threading: one x86_cpu belongs to one thread.  LOCK-prefixed RMW on RAM uses
 * host atomics so it stays atomic against other vCPU threads.  struct x86_cpu
 * embeds a decoded-instruction cache (~112 KiB): allocate it, don't put it on
 * small stacks.  The cache validates entries against the instruction bytes,
 * so self-modifying code and remapping need no notification.
 */
#ifndef MVM_X86_H
#define MVM_X86_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

/* General-purpose registers, in encoding order (== struct kvm_regs order is different). */
enum x86_gpr {
	X86_RAX, X86_RCX, X86_RDX, X86_RBX, X86_RSP, X86_RBP, X86_RSI, X86_RDI,
	X86_R8, X86_R9, X86_R10, X86_R11, X86_R12, X86_R13, X86_R14, X86_R15,
	X86_NR_GPRS
};

/* Segment registers, in encoding order (Sreg field of ModRM). */
enum x86_sreg { X86_ES, X86_CS, X86_SS, X86_DS, X86_FS, X86_GS, X86_NR_SREGS };

/* Same fields as struct kvm_segment: selector plus the hidden descriptor cache. */
struct x86_seg {
	uint64_t base;
	uint32_t limit;		/* byte granular (already scaled by G) */
	uint16_t sel;
	uint8_t type, present, dpl, db, s, l, g, avl, unusable;
};

struct x86_dtable {
	uint64_t base;
	uint16_t limit;
};

/* RFLAGS bits */
#define X86_FL_CF	(1u << 0)
#define X86_FL_FIXED1	(1u << 1)
#define X86_FL_PF	(1u << 2)
#define X86_FL_AF	(1u << 4)
#define X86_FL_ZF	(1u << 6)
#define X86_FL_SF	(1u << 7)
#define X86_FL_TF	(1u << 8)
#define X86_FL_IF	(1u << 9)
#define X86_FL_DF	(1u << 10)
#define X86_FL_OF	(1u << 11)
#define X86_FL_IOPL	(3u << 12)
#define X86_FL_NT	(1u << 14)
#define X86_FL_RF	(1u << 16)
#define X86_FL_VM	(1u << 17)
#define X86_FL_AC	(1u << 18)
#define X86_FL_VIF	(1u << 19)
#define X86_FL_VIP	(1u << 20)
#define X86_FL_ID	(1u << 21)
#define X86_FL_ARITH	(X86_FL_CF | X86_FL_PF | X86_FL_AF | X86_FL_ZF | X86_FL_SF | X86_FL_OF)

/* Control register bits the interpreter acts on. */
#define X86_CR0_PE	(1ull << 0)
#define X86_CR0_MP	(1ull << 1)
#define X86_CR0_EM	(1ull << 2)
#define X86_CR0_TS	(1ull << 3)
#define X86_CR0_ET	(1ull << 4)
#define X86_CR0_NE	(1ull << 5)
#define X86_CR0_WP	(1ull << 16)
#define X86_CR0_AM	(1ull << 18)
#define X86_CR0_NW	(1ull << 29)
#define X86_CR0_CD	(1ull << 30)
#define X86_CR0_PG	(1ull << 31)
#define X86_CR4_VME	(1ull << 0)
#define X86_CR4_PVI	(1ull << 1)
#define X86_CR4_TSD	(1ull << 2)
#define X86_CR4_DE	(1ull << 3)
#define X86_CR4_PSE	(1ull << 4)
#define X86_CR4_PAE	(1ull << 5)
#define X86_CR4_MCE	(1ull << 6)
#define X86_CR4_PGE	(1ull << 7)
#define X86_CR4_PCE	(1ull << 8)
#define X86_CR4_OSFXSR	(1ull << 9)
#define X86_CR4_OSXMMEXCPT (1ull << 10)
#define X86_EFER_SCE	(1ull << 0)
#define X86_EFER_LME	(1ull << 8)
#define X86_EFER_LMA	(1ull << 10)
#define X86_EFER_NXE	(1ull << 11)

/* MSR numbers the interpreter owns (others go to env_ops.rdmsr/wrmsr). */
#define X86_MSR_TSC		0x00000010
#define X86_MSR_APIC_BASE	0x0000001b
#define X86_MSR_SYSENTER_CS	0x00000174
#define X86_MSR_SYSENTER_ESP	0x00000175
#define X86_MSR_SYSENTER_EIP	0x00000176
#define X86_MSR_MISC_ENABLE	0x000001a0
#define X86_MSR_PAT		0x00000277
#define X86_MSR_EFER		0xc0000080
#define X86_MSR_STAR		0xc0000081
#define X86_MSR_LSTAR		0xc0000082
#define X86_MSR_CSTAR		0xc0000083
#define X86_MSR_SFMASK		0xc0000084
#define X86_MSR_FS_BASE		0xc0000100
#define X86_MSR_GS_BASE		0xc0000101
#define X86_MSR_KERNEL_GS_BASE	0xc0000102
#define X86_MSR_TSC_AUX		0xc0000103

/* Exception vectors. */
enum x86_vector {
	X86_EXC_DE = 0, X86_EXC_DB = 1, X86_EXC_NMI = 2, X86_EXC_BP = 3,
	X86_EXC_OF = 4, X86_EXC_BR = 5, X86_EXC_UD = 6, X86_EXC_NM = 7,
	X86_EXC_DF = 8, X86_EXC_TS = 10, X86_EXC_NP = 11, X86_EXC_SS = 12,
	X86_EXC_GP = 13, X86_EXC_PF = 14, X86_EXC_MF = 16, X86_EXC_AC = 17,
	X86_EXC_MC = 18, X86_EXC_XM = 19,
};

/* #PF error code bits (env_ops.translate fills them). */
#define X86_PFEC_P	(1u << 0)
#define X86_PFEC_W	(1u << 1)
#define X86_PFEC_U	(1u << 2)
#define X86_PFEC_RSVD	(1u << 3)
#define X86_PFEC_I	(1u << 4)

/* Interrupt shadow (one instruction after STI / MOV SS / POP SS). */
#define X86_SHADOW_STI		1u
#define X86_SHADOW_MOV_SS	2u

/* Legacy x87/SSE state, laid out like the FXSAVE image fields. */
struct x86_fpu {
	uint8_t st[8][16];	/* ST(i)/MMi as 80-bit values, physical register order */
	uint16_t fcw, fsw;
	uint8_t ftw;		/* abridged tag word (1 bit per register, 1 = valid) */
	uint16_t fop;
	uint64_t fip, fdp;
	uint32_t mxcsr;
	uint8_t xmm[16][16];
};

/* MSRs the interpreter owns; FS/GS base live in seg[].base. */
struct x86_msrs {
	uint64_t star, lstar, cstar, sfmask, kernel_gs_base;
	uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
	uint64_t apic_base, pat, misc_enable, tsc_aux;
	uint64_t tsc_offset;	/* guest TSC = scaled host clock + tsc_offset */
};

struct x86_stats {
	uint64_t insns;		/* retired instructions */
	uint64_t exceptions;	/* exceptions delivered to the guest */
	uint64_t irqs;		/* external interrupts delivered */
	uint64_t ud;		/* #UD raised for opcodes the interpreter lacks */
	uint64_t last_ud_rip;	/* where the last unimplemented opcode was */
	uint8_t last_ud_bytes[15];
	uint64_t io_exits, mmio_exits;
};

/* Completed-read replay log for one restarted instruction (see completion rule). */
#define X86_REPLAY_MAX 4
struct x86_replay_ent {
	uint64_t addr;		/* gpa for MMIO, port for IO */
	uint8_t len, is_io;
	uint8_t data[8];
};

/* Buffered write events waiting to be reported, one per x86__run return. */
#define X86_WQUEUE_MAX 4
struct x86_wq_ent {
	uint64_t addr;
	uint8_t len, is_io;
	uint8_t data[8];
};

/*
 * Optional, shared by a VM's vCPUs (the backend sets cpu->codemap): lets
 * the block cache skip re-reading code bytes while no write can have
 * changed them.  A page gets its bit when blocks are decoded from it; the
 * interpreter then keeps write translations for it out of its private TLB,
 * so every store there takes the slow path, which drops the bit and bumps
 * *epoch.  Writes by anything else (devices) bump *epoch too (guest_mem).
 */
struct x86_codemap {
	uint8_t *base;		/* host address of guest RAM's reservation, page-aligned */
	uint64_t pages;		/* 4 KiB pages in it */
	uint64_t *bits;		/* one per page: blocks were decoded from it (atomic) */
	uint64_t *epoch;	/* atomic */
	uint64_t *tlb_gen;	/* cpu->tlb_gen, bumped to revoke private TLB entries */
	/*
	 * More than one vCPU: a store racing with x86_code_mark() can land
	 * unseen, so serializing instructions (IRET, CPUID) make this vCPU's
	 * blocks read their bytes again, as cross-modifying code requires.
	 */
	bool smp;
};

struct x86_cpu {
	uint64_t gpr[X86_NR_GPRS];
	uint64_t rip, rflags;
	struct x86_seg seg[X86_NR_SREGS];
	struct x86_seg ldtr, tr;
	struct x86_dtable gdtr, idtr;
	uint64_t cr0, cr2, cr3, cr4, cr8;
	uint64_t efer;
	uint64_t dr[8];		/* DR0-3, DR6 at [6], DR7 at [7]; [4],[5] unused */
	struct x86_msrs msr;
	struct x86_fpu fpu;

	/* Event state. */
	bool halted;
	uint8_t int_shadow;	/* X86_SHADOW_* */
	bool nmi_pending;	/* set by x86__inject_nmi */
	bool nmi_masked;	/* in an NMI handler until IRET */
	int16_t inject_irq;	/* pending external interrupt (KVM_SET_SREGS interrupt_bitmap), -1 = none */

	/* TSC: host CLOCK_MONOTONIC scaled to tsc_khz (set by the backend). */
	uint64_t tsc_khz;
	/*
	 * Optional (backend sets it, x86__reset keeps it): a counter the MMU
	 * bumps (atomically) whenever any translation loses a permission, on
	 * any vCPU.  The private data TLB (see X86_XLATE_F_CACHEABLE) compares
	 * it on every access and empties itself when it moved.
	 */
	const uint64_t *tlb_gen;
	/* Optional (backend sets it, x86__reset keeps it): see struct x86_codemap. */
	struct x86_codemap *codemap;
	/* Serializing instructions (IRET, CPUID) make blocks re-read their bytes. */
	uint64_t code_serial;

	struct x86_stats stats;

	/* ---- private to the interpreter below this line ---- */
	uint8_t cpl;		/* cached: CS.dpl (or 0 in real mode, 3 in v86) */
	uint8_t mode;		/* cached enum x86_mode, recomputed on CR0/EFER/CS changes */
	uint8_t l64;		/* cached: 64-bit code segment in long mode */
	uint8_t replay_n, replay_pos;
	struct x86_replay_ent replay[X86_REPLAY_MAX];
	uint8_t wq_n, wq_pos;
	struct x86_wq_ent wq[X86_WQUEUE_MAX];
	uint8_t pending_restart; /* an IN/MMIO read waits for its completion */
	/* private data TLB: [write][user] direct-mapped, tag = linear page | 1 */
#define X86_TLB_ENTRIES	256
	uint64_t tlb_gen_seen;
	struct x86_tlb_ent {
		uint64_t tag;
		uint8_t *hva;		/* host address of the page */
	} tlb[2][2][X86_TLB_ENTRIES];
	/* decoded-instruction cache, validated against the instruction bytes on every use */
#define X86_DCACHE_ENTRIES	1024
#define X86_DCACHE_ENTRY_BYTES	112
	uint64_t dcache[X86_DCACHE_ENTRIES * X86_DCACHE_ENTRY_BYTES / 8];
	/*
	 * Block cache (x86_block.c): mapped on first use, kept by
	 * x86__reset(), unmapped by x86__release().
	 */
	struct x86_bcache *bc;
};

/* ---- environment ---------------------------------------------------------- */

/* translate() access bits */
#define X86_ACC_READ	1u
#define X86_ACC_WRITE	2u
#define X86_ACC_FETCH	4u
#define X86_ACC_USER	8u	/* CPL 3 data/code access (not implicit system accesses) */

enum x86_xlate_result { X86_XLATE_RAM, X86_XLATE_MMIO, X86_XLATE_FAULT };

struct x86_xlate {
	uint8_t *hva;		/* RAM: host address of @linear, valid to the end of its 4 KiB page */
	uint64_t gpa;		/* RAM and MMIO */
	uint32_t pfec;		/* FAULT: #PF error code (X86_PFEC_*) */
	uint32_t flags;		/* X86_XLATE_F_* */
};
/*
 * The interpreter may keep this RAM translation in a private TLB until the
 * next invlpg/flush notification or x86__tlb_flush().  Set it only when the
 * MMU needs no per-access notification for the page (e.g. not a write-
 * protected guest page table).  The interpreter caches data (not fetch)
 * translations flagged so, per access kind (read / write) and user bit;
 * cpu->tlb_gen lets the MMU revoke them from any thread.
 */
#define X86_XLATE_F_CACHEABLE	1u

/* flush() reasons: what changed (the new value is already in @cpu). */
#define X86_FLUSH_CR3		1u	/* MOV CR3 (non-global entries) */
#define X86_FLUSH_CR0		2u	/* CR0.PG or CR0.WP changed */
#define X86_FLUSH_CR4		4u	/* CR4.PGE/PAE/PSE changed */
#define X86_FLUSH_EFER		8u	/* EFER.NXE or EFER.LMA changed */
#define X86_FLUSH_GLOBAL	16u	/* global entries go too */

struct x86_env_ops {
	/*
	 * Linear -> guest physical -> host.  @access is X86_ACC_*.  Must set
	 * accessed/dirty bits in guest page tables as the CPU would.  With
	 * paging off it is the identity on gpa.  Called per page fragment of
	 * every data access.  Instruction fetches are the exception: within
	 * one x86__run call the translation of the current code page is
	 * reused until invlpg/flush or a CPL change (a TLB may do that).
	 */
	int (*translate)(void *ctx, struct x86_cpu *cpu, uint64_t linear,
			 unsigned access, struct x86_xlate *out);
	void (*invlpg)(void *ctx, struct x86_cpu *cpu, uint64_t linear);
	void (*flush)(void *ctx, struct x86_cpu *cpu, unsigned why);
	/* MSRs the interpreter does not own; false => #GP. May be NULL. */
	bool (*rdmsr)(void *ctx, struct x86_cpu *cpu, uint32_t msr, uint64_t *val);
	bool (*wrmsr)(void *ctx, struct x86_cpu *cpu, uint32_t msr, uint64_t val);
	/*
	 * Interrupt controller.  pending_irq is asked only when the CPU can
	 * take an interrupt (IF=1, no shadow); it returns a vector or -1.
	 * ack_irq then tells the controller the CPU took it.  May be NULL.
	 */
	int (*pending_irq)(void *ctx, struct x86_cpu *cpu);
	void (*ack_irq)(void *ctx, struct x86_cpu *cpu, int vector);
	/* Optional: guest TSC before tsc_offset (e.g. a virtual icount clock).
	 * NULL: host CLOCK_MONOTONIC scaled to cpu->tsc_khz. */
	uint64_t (*read_tsc)(void *ctx, struct x86_cpu *cpu);
	/* Optional: adjust the model's CPUID result for this vCPU (APIC bit, APIC ID). */
	void (*cpuid)(void *ctx, struct x86_cpu *cpu, uint32_t leaf, uint32_t subleaf,
		      uint32_t out[4]);
};

/* ---- running -------------------------------------------------------------- */

enum x86_event {
	X86_EV_NONE = 0,	/* internal */
	X86_EV_IO,		/* exit.io */
	X86_EV_MMIO,		/* exit.mmio */
	X86_EV_HLT,		/* halted with no interrupt to take */
	X86_EV_SHUTDOWN,	/* triple fault */
	X86_EV_HYPERCALL,	/* VMCALL/VMMCALL retired; args in gpr[] (OSI) */
	X86_EV_BUDGET,		/* max_insns retired */
	X86_EV_INTERNAL_ERROR,	/* exit.internal */
	X86_NR_EVENTS
};

#define X86_IO_DATA_MAX 8

struct x86_exit {
	enum x86_event ev;
	union {
		struct {
			uint16_t port;
			uint8_t size;		/* 1, 2, 4 */
			uint8_t is_write;	/* OUT/OUTS */
			uint32_t count;		/* items in data; 1 today */
			uint8_t data[X86_IO_DATA_MAX];
		} io;
		struct {
			uint64_t gpa;
			uint8_t len;		/* 1..8 */
			uint8_t is_write;
			uint8_t data[8];
		} mmio;
		struct {
			uint32_t code;		/* X86_IERR_* */
			uint8_t len;
			uint8_t insn[15];
			uint64_t rip;
		} internal;
	};
};

#define X86_IERR_REPLAY_MISMATCH 1	/* restarted instruction asked for a different access */
#define X86_IERR_NO_TRANSLATE	2	/* no env_ops.translate */
#define X86_IERR_STATE		3	/* impossible CPU state */

/*
 * Run until an event.  Returns the event and fills @exit.  An instruction
 * counts against @max_insns when it retires (REP iterations count each).
 * Pending external interrupts and NMIs are taken at instruction boundaries.
 */
enum x86_event x86__run(struct x86_cpu *cpu, const struct x86_env_ops *ops,
			void *ctx, uint64_t max_insns, struct x86_exit *exit);

/* Supply the data for the IN/INS read reported by the last X86_EV_IO. */
void x86__complete_io(struct x86_cpu *cpu, const void *data, unsigned len);
/* Supply the data for the MMIO read reported by the last X86_EV_MMIO. */
void x86__complete_mmio(struct x86_cpu *cpu, const void *data, unsigned len);

/* Power-on/RESET state (real mode at F000:FFF0). tsc_khz is kept. */
void x86__reset(struct x86_cpu *cpu);
/* Free what the interpreter allocated for @cpu (its block cache); @cpu may be run again. */
void x86__release(struct x86_cpu *cpu);
/* Recompute cached mode/CPL after the backend edited registers directly. */
void x86__state_changed(struct x86_cpu *cpu);

/* Queue an NMI (from the vCPU thread, like KVM_NMI). */
void x86__inject_nmi(struct x86_cpu *cpu);

/* Drop any cached translations (backend changed mappings on its own). */
void x86__tlb_flush(struct x86_cpu *cpu);

/* CPUID of the model the interpreter implements (see x86_cpuid.c). */
void x86__cpuid(const struct x86_cpu *cpu, uint32_t leaf, uint32_t subleaf, uint32_t out[4]);

/* Host-initiated MSR access (KVM_GET/SET_MSRS): no #GP, false if unknown here. */
bool x86__get_msr(const struct x86_cpu *cpu, uint32_t msr, uint64_t *val);
bool x86__set_msr(struct x86_cpu *cpu, uint32_t msr, uint64_t val);

/* KVM register-set conversions for the backend's get/set_*regs/fpu. */
void x86__get_regs(const struct x86_cpu *cpu, struct kvm_regs *r);
void x86__set_regs(struct x86_cpu *cpu, const struct kvm_regs *r);
void x86__get_sregs(const struct x86_cpu *cpu, struct kvm_sregs *s);
void x86__set_sregs(struct x86_cpu *cpu, const struct kvm_sregs *s);
void x86__get_fpu(const struct x86_cpu *cpu, struct kvm_fpu *f);
void x86__set_fpu(struct x86_cpu *cpu, const struct kvm_fpu *f);

/* Name of an event, for traces. */
const char *x86__event_name(enum x86_event ev);

#endif
