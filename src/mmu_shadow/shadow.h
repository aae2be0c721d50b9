/*
 * mmu_shadow: a software shadow MMU modelled on Linux KVM's
 * (Documentation/virt/kvm/x86/mmu.rst), and the "shadow" vCPU backend that
 * runs guests on the x86 interpreter through it.
 *
 * Why a shadow MMU in an interpreter at all: the interpreter asks for a
 * translation on every memory access.  Walking the guest tables each time
 * costs four dependent guest loads plus A/D updates; the shadow tables cache
 * the finished gva->host translation per guest page table, keep it coherent
 * by write-protecting guest page tables (KVM's scheme), and a small
 * direct-mapped front TLB answers most accesses without any lock.
 *
 * Names follow KVM: struct shadow_page ~ kvm_mmu_page, role, spt, parent_ptes,
 * rmap, unsync, sync_page, disallow_lpage, write tracking, MMIO generation.
 *
 * Sharing (SMP): shadow pages, rmaps and write-tracking live in one
 * struct shadow_vm per VM, under one mutex; each vCPU has a struct
 * shadow_mmu with its own roots (CR3/PDPTRs are per-CPU state) and its own
 * lock-free front TLB.  Any change that removes a permission from an spte
 * (write-protect, zap, drop) bumps shadow_vm.tlb_gen; every vCPU compares it
 * on each translate and flushes its front TLB when it moved, so a page that
 * became a page table on vCPU A stops being writable through vCPU B's TLB.
 * One shared shadow (not one per vCPU) is what KVM does too: guest page
 * tables are shared between CPUs, and per-vCPU shadows would each need their
 * own write protection of the same gfns.  Known limit: the flush is
 * asynchronous (KVM waits for remote vCPUs to acknowledge); an access already
 * in flight on another vCPU may complete with the old permission.
 */
/*
 * Differences from KVM, and known limits:
 * - A guest store to a shadowed non-leaf table is not emulated (there is no
 *   emulator between the interpreter and memory): the table's shadow pages
 *   are zapped and the store goes through.  When the table is on the walk of
 *   its own store, or is a PAE root that the PDPTRs shadow again at once,
 *   that one translation is handed out uncached (no spte, no TLB entry).
 *   If an instruction translates such a store and then, before storing,
 *   makes another access that walks through the table, the table is shadowed
 *   again before the store lands and its shadow goes stale until the next
 *   write to it; no guest seen so far does that.
 * - INVLPG drops the one spte (it is re-made from the gpte on next use)
 *   rather than resyncing it; a TLB flush syncs every unsync page, not only
 *   those reachable from the new root.  No write-flooding heuristic.
 * - SMEP is modelled (and the smep_andnot_wp role); SMAP/PKU/LA57/PCID are
 *   not (the CPU model lacks them).
 * - Writes by the host (loaders, devices) to guest page tables that already
 *   have shadows are not seen, as with KVM; call shadow__zap_all then.
 */
#ifndef MVM_SHADOW_H
#define MVM_SHADOW_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../mem/mem.h"
#include "../vcpu/vcpu.h"
#include "../x86/x86.h"

/* ---- translation API ------------------------------------------------------ */

/* Access kinds: the same values as the interpreter's X86_ACC_* (asserted). */
#define SHADOW_ACC_READ		1u
#define SHADOW_ACC_WRITE	2u
#define SHADOW_ACC_FETCH	4u
#define SHADOW_ACC_USER		8u	/* CPL-3 access: needs U/S=1 everywhere */

/* #PF error code bits (Intel SDM vol. 3, 4.7). */
#define SHADOW_PFERR_P		(1u << 0)	/* protection (entry was present) */
#define SHADOW_PFERR_W		(1u << 1)
#define SHADOW_PFERR_U		(1u << 2)
#define SHADOW_PFERR_RSVD	(1u << 3)
#define SHADOW_PFERR_I		(1u << 4)	/* fetch, with PAE paging and EFER.NXE, or CR4.SMEP */

/* Guest control state a translation depends on. */
struct shadow_mode {
	uint64_t cr0, cr3, cr4, efer;
};

enum shadow_result_kind { SHADOW_RAM, SHADOW_MMIO, SHADOW_FAULT };

struct shadow_result {
	enum shadow_result_kind kind;
	uint8_t *hva;		/* RAM: host address of the linear address, valid to page end */
	uint64_t gpa;		/* RAM and MMIO */
	uint32_t error_code;	/* FAULT: SHADOW_PFERR_* */
	/*
	 * RAM: the translation is in the front TLB, so a caller may keep it
	 * as well until a flush/invlpg of this vCPU or until vm->tlb_gen moves
	 * (write-protected page-table pages are never cacheable).
	 */
	bool cacheable;
};

struct shadow_stats {
	uint64_t translates, tlb_hits, spte_hits;
	uint64_t faults;		/* slow path: guest walk + shadow fix-up */
	uint64_t guest_faults;		/* #PF reflected to the guest */
	uint64_t mmio;			/* MMIO results */
	uint64_t sp_created, sp_live, zaps, unsyncs, syncs;
	uint64_t wrprots;		/* gfns write-protected on becoming page tables */
	uint64_t unprotects;		/* guest writes that had to zap page-table shadows */
	uint64_t lpage_refused;		/* large guest pages split because of disallow_lpage */
	uint64_t mmio_gen_stale;	/* MMIO sptes dropped for an old generation */
	uint64_t roots_loaded, flushes, invlpgs, zap_alls;
};

/* ---- shadow structures (module internal, exposed for embedding) ---------- */

/* KVM's ACC_* bits: execute is positive. */
#define SHADOW_ACC_X_MASK	1u
#define SHADOW_ACC_W_MASK	2u
#define SHADOW_ACC_U_MASK	4u
#define SHADOW_ACC_ALL		7u

union shadow_role {
	uint32_t word;
	struct {
		unsigned level:3;		/* 1 = 4 KiB sptes, 2 = 2 MiB, ... */
		unsigned has_4_byte_gpte:1;	/* 32-bit guest tables */
		unsigned quadrant:2;		/* which part of a 32-bit table this page shadows */
		unsigned direct:1;		/* linear range of gfns, no guest table */
		unsigned access:3;		/* SHADOW_ACC_*_MASK inherited from parents */
		unsigned invalid:1;		/* zapped root still held by a vCPU */
		unsigned cr0_wp:1;
		unsigned efer_nx:1;
		unsigned guest_global:1;	/* direct pages: leaf gpte had G with CR4.PGE */
		unsigned smep_andnot_wp:1;	/* CR4.SMEP && !CR0.WP (see mmu.rst) */
	};
};

/* KVM pte_list: 0, one pointer (bit 0 clear), or a descriptor (bit 0 set). */
typedef uintptr_t shadow_pte_list;

struct shadow_page {
	struct shadow_page *hash_next;
	struct shadow_page *prev, *next;	/* vm->active_pages */
	struct shadow_page *unsync_next;	/* vm->unsync_pages when unsync */
	uint64_t gfn;
	union shadow_role role;
	uint64_t *spt;				/* 512 sptes, one host page */
	shadow_pte_list parent_ptes;
	int root_count;
	bool unsync;
};

#define SHADOW_HASH_BITS 12

/* Per guest memory slot: reverse maps and tracking counters, indexed by gfn. */
struct shadow_slot {
	uint64_t base_gfn, npages;
	uint8_t *hva;
	shadow_pte_list *rmap;		/* 4 KiB sptes mapping each gfn */
	shadow_pte_list *rmap_2m;	/* 2 MiB sptes, per 2 MiB frame */
	uint16_t *write_track;		/* indirect shadow pages per gfn */
	uint32_t *disallow_lpage;	/* per 2 MiB frame */
};

struct shadow_vm {
	pthread_mutex_t lock;
	struct guest_mem *mem;
	struct shadow_slot slot[MEM_MAX_SLOTS];
	int nr_slots;
	struct shadow_page *hash[1u << SHADOW_HASH_BITS];
	struct shadow_page active_pages;	/* list head */
	struct shadow_page *unsync_pages;
	struct shadow_page *invalid_roots;	/* zapped, still pinned (root_count) */
	uint64_t nr_pages, max_pages;
	uint32_t mmio_gen;			/* generation MMIO sptes were made with */
	unsigned maxphyaddr;			/* guest MAXPHYADDR (reserved bits) */
	bool gbpages;				/* 1 GiB guest pages allowed */
	uint64_t tlb_gen;			/* atomic: bumped on every permission loss */
	struct shadow_stats stats;		/* under lock, except tlb counters per mmu */
};

/* Front TLB: direct-mapped per access kind (R/W/X) and privilege (S/U). */
#define SHADOW_TLB_BITS 8
#define SHADOW_TLB_SIZE (1u << SHADOW_TLB_BITS)
struct shadow_tlb_entry {
	uint64_t page;			/* linear page address */
	uint8_t *hva;			/* host page */
	uint64_t gpa;			/* guest page */
	uint32_t epoch;			/* mmu->tlb_epoch or tlb_gepoch (global) at fill */
	bool global;
};

enum shadow_root_kind { SHADOW_ROOT_NONE, SHADOW_ROOT_4LEVEL, SHADOW_ROOT_PAE };

struct shadow_mmu {
	struct shadow_vm *vm;
	struct shadow_mode mode;		/* what the roots were built for */
	bool root_valid;
	enum shadow_root_kind root_kind;
	uint64_t root_spte;			/* 4-level and direct: -> level-4 page */
	uint64_t pae_root[4];			/* PAE and 32-bit: -> level-2 pages */
	uint64_t pdptr[4];			/* PAE: PDPTEs cached at CR3 load, as the CPU does */
	uint64_t tlb_gen_seen;
	uint32_t tlb_epoch, tlb_gepoch;
	struct shadow_tlb_entry tlb[3][2][SHADOW_TLB_SIZE];
	uint64_t tlb_hits, translates;
};

/*
 * Per-VM shadow state over @mem (which must outlive it).  -ENOMEM.
 * maxphyaddr defaults to 40 (the interpreter's CPUID), gbpages to false.
 */
int shadow__vm_init(struct shadow_vm *svm, struct guest_mem *mem) __attribute__((warn_unused_result));
void shadow__vm_exit(struct shadow_vm *svm);

/* Per-vCPU MMU context on @svm. */
void shadow__init(struct shadow_mmu *mmu, struct shadow_vm *svm);
void shadow__exit(struct shadow_mmu *mmu);

/*
 * Translate @linear for @access (SHADOW_ACC_*) under @mode: fills @res and
 * returns its kind.  Sets guest accessed/dirty bits like the CPU.  A change of
 * CR3 or of a paging bit in @mode is noticed here even without a flush call.
 */
enum shadow_result_kind shadow__translate(struct shadow_mmu *mmu, const struct shadow_mode *mode,
					  uint64_t linear, unsigned access,
					  struct shadow_result *res);

/* INVLPG: drop the translation of @linear (and sync it if its page is unsync). */
void shadow__invlpg(struct shadow_mmu *mmu, uint64_t linear);

/*
 * TLB flush (MOV CR3, paging-bit changes): resync unsync pages, reload the
 * roots on next use; @global also drops front-TLB entries for global pages.
 */
void shadow__flush(struct shadow_mmu *mmu, bool global);

/* Drop every shadow page (e.g. after restoring guest memory). */
void shadow__zap_all(struct shadow_vm *svm);

/* Debug: the guest walk for @linear, the shadow path and leaf spte. */
void shadow__explain(struct shadow_mmu *mmu, const struct shadow_mode *mode, uint64_t linear,
		     FILE *out);

/* Snapshot of the counters (VM-wide plus this vCPU's TLB counters). */
void shadow__get_stats(struct shadow_mmu *mmu, struct shadow_stats *st);

/* ---- module-internal (the mmu_shadow .c files only) ------------------------------- */

/*
 * spte encoding (a software format: nothing but this module reads it).
 *   0                       not present
 *   bit 63 set              non-leaf: low 52 bits are the struct shadow_page *
 *   else leaf:  P W U X G LARGE MMIO in bits 0-6,
 *               bits 12-51  host page address (RAM) or gfn (MMIO),
 *               bits 52-62  MMIO: low bits of the memslot generation.
 */
#define SPTE_P		(1ull << 0)
#define SPTE_W		(1ull << 1)
#define SPTE_U		(1ull << 2)
#define SPTE_X		(1ull << 3)
#define SPTE_G		(1ull << 4)
#define SPTE_LARGE	(1ull << 5)
#define SPTE_MMIO	(1ull << 6)
#define SPTE_FRAME	0x000ffffffffff000ull
#define SPTE_GEN_SHIFT	52
#define SPTE_GEN_MASK	0x7ffull
#define SPTE_NONLEAF	(1ull << 63)

static inline struct shadow_page *spte_to_sp(uint64_t spte)
{
	return (struct shadow_page *)(uintptr_t)(spte & ~SPTE_NONLEAF);
}

/*
 * A leaf spte: RAM at host @frame (writable unless @host_wp: the gfn holds a
 * shadowed guest table), or, when @frame is NULL, an MMIO spte for @gfn
 * tagged with memslot generation @gen.  @acc: SHADOW_ACC_*_MASK.
 */
static inline uint64_t shadow_leaf_spte(const uint8_t *frame, uint64_t gfn, unsigned acc, bool host_wp,
					bool global, uint32_t gen)
{
	uint64_t spte;

	if (frame) {
		spte = (uintptr_t)frame | SPTE_P;
		if ((acc & SHADOW_ACC_W_MASK) && !host_wp)
			spte |= SPTE_W;
	} else {
		spte = (gfn << 12) | SPTE_P | SPTE_MMIO | ((uint64_t)(gen & SPTE_GEN_MASK) << SPTE_GEN_SHIFT);
		if (acc & SHADOW_ACC_W_MASK)
			spte |= SPTE_W;
	}
	if (acc & SHADOW_ACC_U_MASK)
		spte |= SPTE_U;
	if (acc & SHADOW_ACC_X_MASK)
		spte |= SPTE_X;
	if (global)
		spte |= SPTE_G;
	return spte;
}

/* Guest walk result (KVM's guest_walker). */
struct shadow_walker {
	int level;			/* guest leaf level: 1, 2 (2M/4M) or 3 (1G) */
	int root_level;
	uint64_t gfn;			/* 4 KiB frame of the linear address */
	uint64_t table_gfn[6];		/* guest table read at level L */
	uint64_t pte[6];		/* gpte read at level L */
	unsigned pt_access[6];		/* access accumulated through the entry at level L */
	unsigned pte_access;		/* final access of the leaf */
	bool global;			/* leaf G with CR4.PGE */
	uint32_t error_code;
};

/* shadow_walk() flag: no A/D updates, no permission check (explain). */
#define SHADOW_WALK_PEEK	(1u << 8)

/* page.c */
bool shadow_hva_to_gfn(struct shadow_vm *svm, const uint8_t *hva, uint64_t *gfn);
struct shadow_slot *shadow_slot_of_gfn(struct shadow_vm *svm, uint64_t gfn);
uint8_t *shadow_gfn_to_hva(struct shadow_vm *svm, uint64_t gfn);
struct shadow_page *shadow_get_page(struct shadow_vm *svm, uint64_t gfn, union shadow_role role);
void shadow_link_page(struct shadow_vm *svm, uint64_t *sptep, struct shadow_page *child);
void shadow_drop_spte(struct shadow_vm *svm, uint64_t *sptep);
void shadow_set_leaf(struct shadow_vm *svm, uint64_t *sptep, uint64_t spte);
void shadow_zap_page(struct shadow_vm *svm, struct shadow_page *sp);
void shadow_put_root(struct shadow_vm *svm, struct shadow_page *sp);
bool shadow_gfn_write_protected(struct shadow_vm *svm, uint64_t gfn);
int shadow_try_unsync(struct shadow_vm *svm, uint64_t gfn);
int shadow_unprotect_gfn(struct shadow_vm *svm, uint64_t gfn);
bool shadow_lpage_allowed(struct shadow_vm *svm, uint64_t base_gfn);
void shadow_flush_remote(struct shadow_vm *svm);
void shadow_write_protect_gfn(struct shadow_vm *svm, uint64_t gfn);
void shadow_unsync_list_remove(struct shadow_vm *svm, struct shadow_page *sp);

/* sync.c */
void shadow_sync_page(struct shadow_vm *svm, struct shadow_page *sp);
void shadow_sync_all(struct shadow_vm *svm);
void shadow_check_mmio_gen(struct shadow_vm *svm);

/* mmu.c */
uint64_t *shadow_root_entry(struct shadow_mmu *mmu, uint64_t linear, int *level);
unsigned shadow_spte_index(uint64_t linear, int level);
bool shadow_mode_differs(const struct shadow_mode *a, const struct shadow_mode *b, bool *only_cr3);

/* walk.c */
int shadow_walk(struct shadow_vm *svm, const struct shadow_mmu *mmu, const struct shadow_mode *m,
		uint64_t linear, unsigned access, struct shadow_walker *w);
uint64_t shadow_gpte_rsvd(const struct shadow_vm *svm, const struct shadow_mode *m,
			  uint64_t gpte, int level, bool pae_fmt);
unsigned shadow_gpte_access(const struct shadow_mode *m, uint64_t gpte, bool pae_fmt);
bool shadow_mode_nx(const struct shadow_mode *m);

/* trace.c */
struct shadow_trace;
struct x86_cpu;
struct x86_env_ops;
struct x86_exit;
/* x86__run with --trace insn: returns an enum x86_event. */
int shadow_trace_run(struct shadow_trace *t, struct shadow_mmu *mmu, int vcpu,
		     struct x86_cpu *cpu, const struct x86_env_ops *ops, void *ctx,
		     uint64_t max_insns, struct x86_exit *e);
/* "mvm: vcpu<V> <why>: rip ..." and the explanation of RIP (and of CR2). */
void shadow_report_cpu(struct shadow_mmu *mmu, const struct x86_cpu *cpu, int vcpu,
		       const char *why, bool with_cr2);
extern unsigned shadow_dump_gen;		/* atomic: SIGUSR2s received */
void shadow_dump_thread_init(void);		/* vCPU thread: take SIGUSR2 */

/* ---- the vCPU backend ---------------------------------------------------- */

/*
 * "shadow" backend: every vcpu_backend op on the x86 interpreter.  Exits are
 * reported in a struct kvm_run the backend allocates (with the I/O data page
 * at run->io.data_offset, as KVM lays it out).
 *
 * Hypercall convention (KVM_EXIT_OSI): the guest executes VMCALL (or
 * VMMCALL) with RAX = SHADOW_HYPERCALL_MAGIC; the exit carries the GPRs in
 * run->osi.gprs in KVM register order (RAX, RCX, RDX, RBX, RSP, RBP, RSI,
 * RDI, R8..R15); whatever the handler leaves there is copied back into the
 * guest registers when the vCPU re-enters run().  VMCALL with another RAX
 * value raises #UD in the guest, as on a CPU without a hypervisor.
 */
#define SHADOW_HYPERCALL_MAGIC 0x4d564d00u	/* "MVM\0" */

extern const struct vcpu_backend shadow__backend;

/*
 * ---- debugging aids (trace.c) ----------------------------------------------------
 *
 * --trace insn[=COUNT][@START-END]: the backend runs the interpreter one
 * instruction at a time and writes one stderr line per retired instruction,
 * at most COUNT lines in all (default 10000; then the vCPUs run at full
 * speed again), only for instructions whose RIP is in [START, END] (hex,
 * inclusive) when a range is given.  Without --trace insn the backend is
 * unchanged (one pointer test per 65536-instruction slice).  Line format,
 * fields separated by one space, all numbers hex:
 *
 *   insn<V> <CS>:<RIP> <BYTES> rax=<16> rcx=<16> rdx=<16> rbx=<16> rsp=<16>
 *       rbp=<16> rsi=<16> rdi=<16> r8=<16> ... r15=<16> fl=<8>[ x<N>]
 *
 *   V      vCPU index (decimal); CS selector (4 digits), RIP (16 digits)
 *          before the instruction
 *   BYTES  the instruction's bytes, no spaces, padded with blanks to 30
 *          columns (the interpreter has no disassembler, so no mnemonic);
 *          "??" when they cannot be read (MMIO, not mapped)
 *   regs   the 16 GPRs (encoding order) and RFLAGS after the instruction
 *   xN     (decimal) a REP string instruction that retired N iterations
 *
 * An exception, interrupt or NMI taken during a step is shown as
 *   insn<V> <CS>:<RIP> ! exception (did not retire)     (or interrupt/NMI)
 * for the instruction that faulted or was interrupted, followed by the
 * handler's first instruction as "insn<V> ----:---------------- ??" and the
 * registers after it (its address is not visible to the backend).  A guest
 * single-stepping itself with RFLAGS.TF shows its #DB the same way.
 */
struct shadow_trace {
	uint64_t start, end;		/* RIP range, inclusive */
	int64_t left;			/* atomic: lines still to print */
};

/* Parse "insn[=COUNT][@START-END]" (COUNT decimal or 0x-hex, >= 1).  -EINVAL on junk. */
int shadow__trace_parse(const char *spec, struct shadow_trace *t);

/*
 * shadow__explain for @linear, one util__fdprintf line per line of it, each
 * starting with @prefix: usable under the seccomp filters.
 */
void shadow__explain_fd(struct shadow_mmu *mmu, const struct shadow_mode *mode, uint64_t linear,
			int fd, const char *prefix);

/*
 * State dump on SIGUSR2 (`kill -USR2 <mvm pid>`): each vCPU writes to stderr
 *   mvm: vcpu<V> SIGUSR2: rip <CS>:<RIP> (<mode>, linear <addr>), <N> instructions retired
 * and the explanation of that linear address (shadow__explain, lines
 * prefixed "mvm: vcpu<V>   ").  The handler only bumps a counter; each vCPU
 * prints at its next slice boundary (within 65536 instructions), so a vCPU
 * asleep in HLT prints when it next wakes.  Installed by the shadow
 * backend's vm_init, which also blocks SIGUSR2 in the calling thread (so in
 * every thread created after it); vCPU threads unblock it when they first run.
 * A triple fault (KVM_EXIT_SHUTDOWN) on this backend prints the same report
 * for RIP and then "mvm: vcpu<V> cr2 <addr>:" with the explanation of CR2,
 * after the dispatcher's register dump.
 */
int shadow__dump_signal_init(void) __attribute__((warn_unused_result));

/*
 * Where the emulated interrupt controllers (src/irqchip, glued in by
 * backend_irq.c) meet the vCPU loop: irq_line hands lines to the controller,
 * which wakes target vCPUs by broadcasting @cond under @lock (no lost
 * wake-ups); pending_irq/ack_irq are asked by the interpreter at instruction
 * boundaries.  HLT with IF=1 sleeps on @cond until pending_irq() >= 0, a timer
 * deadline or a kick.  pending_irq is called both with and without @lock
 * held, so it must not take @lock and must have no side effects (ack_irq has
 * them).
 */
struct shadow_irqchip {
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* signalled on an interrupt or a kick */
	int (*pending_irq)(struct shadow_irqchip *chip, int vcpu_id);	/* NULL: none */
	void (*ack_irq)(struct shadow_irqchip *chip, int vcpu_id, int vector);
	void *opaque;
};

/* Per-VM backend state (vm->backend_priv). */
struct shadow_backend_vm {
	struct shadow_vm svm;
	struct shadow_irqchip irq;
	struct x86_codemap codemap;	/* the vCPUs' block caches: pages code was decoded from */
	struct shadow_trace trace;	/* --trace insn, when trace_insn */
	bool trace_insn;
};

#endif
