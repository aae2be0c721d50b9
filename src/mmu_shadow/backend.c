/*
 * The "shadow" vcpu_backend: the x86 interpreter plus the shadow MMU,
 * reporting exits in a struct kvm_run exactly as KVM would, so the vCPU loop
 * and the exit dispatcher cannot tell it from the KVM backend.
 */
#include "shadow.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "../irqchip/irqchip.h"
#include "../util/util.h"
#include "../vm/vm.h"
#include "../x86/x86.h"

_Static_assert(SHADOW_ACC_READ == X86_ACC_READ && SHADOW_ACC_WRITE == X86_ACC_WRITE &&
	       SHADOW_ACC_FETCH == X86_ACC_FETCH && SHADOW_ACC_USER == X86_ACC_USER,
	       "shadow and interpreter access bits must agree");
_Static_assert(SHADOW_PFERR_P == X86_PFEC_P && SHADOW_PFERR_W == X86_PFEC_W &&
	       SHADOW_PFERR_U == X86_PFEC_U && SHADOW_PFERR_RSVD == X86_PFEC_RSVD &&
	       SHADOW_PFERR_I == X86_PFEC_I, "#PF error code bits must agree");

/* Instructions per x86__run slice: bounds the latency of a kick. */
#define SLICE_INSNS	65536
#define RUN_PAGES	2		/* kvm_run, then the PIO data page (KVM_PIO_PAGE_OFFSET) */
#define DEFAULT_TSC_KHZ	2000000ull
#define KVM_ENOSYS	1000		/* unknown hypercall: RAX = -KVM_ENOSYS, as KVM */

enum pending { PENDING_NONE, PENDING_IO_IN, PENDING_MMIO_READ, PENDING_OSI };

struct shadow_vcpu {
	struct x86_cpu cpu;
	struct shadow_mmu mmu;
	struct vcpu *v;
	struct shadow_irqchip *irq;
	size_t run_size;
	enum pending pending;
	uint32_t mp_state;
	int kicked;			/* atomic */
	/* irqchip: the IA32_APIC_BASE and CR8 values the LAPIC was last told about */
	uint64_t apic_base_seen, cr8_seen;
	/* trace.c: --trace insn (or NULL), SIGUSR2 dumps done, report after a triple fault */
	struct shadow_trace *trace;
	unsigned dump_seen;
	bool dump_ready, explain_shutdown;
};

static struct shadow_backend_vm *bvm(struct vm *vm)
{
	return vm->backend_priv;
}

/* ---- environment for the interpreter ------------------------------------- */

static int env_translate(void *ctx, struct x86_cpu *cpu, uint64_t linear, unsigned access,
			 struct x86_xlate *out)
{
	struct shadow_vcpu *sv = ctx;
	const struct shadow_mode m = { cpu->cr0, cpu->cr3, cpu->cr4, cpu->efer };
	struct shadow_result r;

	out->flags = 0;
	switch (shadow__translate(&sv->mmu, &m, linear, access, &r)) {
	case SHADOW_RAM:
		/* revocations reach the interpreter's copy through cpu->tlb_gen */
		if (r.cacheable)
			out->flags = X86_XLATE_F_CACHEABLE;
		out->hva = r.hva;
		out->gpa = r.gpa;
		return X86_XLATE_RAM;
	case SHADOW_MMIO:
		out->hva = NULL;
		out->gpa = r.gpa;
		return X86_XLATE_MMIO;
	case SHADOW_FAULT:
	default:
		out->pfec = r.error_code;
		return X86_XLATE_FAULT;
	}
}

static void env_invlpg(void *ctx, struct x86_cpu *cpu, uint64_t linear)
{
	struct shadow_vcpu *sv = ctx;

	shadow__invlpg(&sv->mmu, linear);
}

static void env_flush(void *ctx, struct x86_cpu *cpu, unsigned why)
{
	struct shadow_vcpu *sv = ctx;

	/* Only a plain MOV CR3 keeps global pages; paging-bit changes drop all. */
	shadow__flush(&sv->mmu, (why & ~X86_FLUSH_CR3) != 0);
}

/*
 * ---- irqchip: the emulated LAPIC/IOAPIC/PIC/PIT (src/irqchip) -------------------
 * They take KVM's in-kernel irqchip and PIT's place: their MMIO pages and
 * ports are served here and never exit to userspace.
 */
static struct irqchip *ic_of(struct shadow_vcpu *sv)
{
	return sv->irq->opaque;
}

/* The interpreter owns IA32_APIC_BASE and CR8; tell the LAPIC when they moved. */
static void ic_sync(struct shadow_vcpu *sv)
{
	struct x86_cpu *cpu = &sv->cpu;

	if (cpu->msr.apic_base != sv->apic_base_seen) {
		sv->apic_base_seen = cpu->msr.apic_base;
		irqchip__set_apic_base(ic_of(sv), sv->v->id, cpu->msr.apic_base);
	}
	if (cpu->cr8 != sv->cr8_seen) {
		sv->cr8_seen = cpu->cr8;
		irqchip__set_cr8(ic_of(sv), sv->v->id, cpu->cr8);
	}
}

/* The model has a local APIC (xAPIC only) whose ID is the vCPU index. */
static void env_cpuid(void *ctx, struct x86_cpu *cpu, uint32_t leaf, uint32_t subleaf,
		      uint32_t out[4])
{
	struct shadow_vcpu *sv = ctx;

	if (leaf == 1) {
		out[3] |= 1u << 9;
		out[1] = (out[1] & 0x00ffffffu) | ((uint32_t)sv->v->id << 24);
	} else if (leaf == 0x80000001) {
		out[3] |= 1u << 9;
	} else if (leaf == 6) {
		/*
		 * ARAT: the emulated LAPIC timer never stops in idle.  Without
		 * it Linux needs a broadcast timer for one-shot mode and, having
		 * none, keeps a periodic tick on every idle vCPU.
		 */
		out[0] |= 1u << 2;
	} else if (leaf == 0x40000001) {
		out[0] |= IRQCHIP_KVM_FEATURES;	/* kvm-clock, as the guest gets from KVM */
	}
}

/* MSRs the interpreter does not own: kvm-clock's. */
static bool env_rdmsr(void *ctx, struct x86_cpu *cpu, uint32_t msr, uint64_t *val)
{
	struct shadow_vcpu *sv = ctx;

	return irqchip__kvmclock_rdmsr(ic_of(sv), sv->v->id, msr, val);
}

static bool env_wrmsr(void *ctx, struct x86_cpu *cpu, uint32_t msr, uint64_t val)
{
	struct shadow_vcpu *sv = ctx;

	return irqchip__kvmclock_wrmsr(ic_of(sv), sv->v->id, &sv->v->vm->mem, msr, val,
				       cpu->tsc_khz, cpu->msr.tsc_offset);
}

static int ic_pending(struct shadow_irqchip *chip, int vcpu_id)
{
	return irqchip__pending(chip->opaque, vcpu_id);
}

static void ic_ack(struct shadow_irqchip *chip, int vcpu_id, int vector)
{
	irqchip__ack(chip->opaque, vcpu_id, vector);
}

/* A LAPIC got an interrupt or INIT/SIPI/NMI for @vcpu: wake it if it sleeps. */
static void ic_wake(void *opaque, int vcpu)
{
	struct shadow_irqchip *chip = &((struct shadow_backend_vm *)opaque)->irq;

	(void)vcpu;
	pthread_mutex_lock(&chip->lock);
	pthread_cond_broadcast(&chip->cond);
	pthread_mutex_unlock(&chip->lock);
}

static const struct irqchip_ops ic_ops = { .wake = ic_wake };

static int env_pending_irq(void *ctx, struct x86_cpu *cpu)
{
	struct shadow_vcpu *sv = ctx;
	struct shadow_irqchip *chip = sv->irq;

	if (chip->opaque)
		ic_sync(sv);
	return chip->pending_irq ? chip->pending_irq(chip, sv->v->id) : -1;
}

static void env_ack_irq(void *ctx, struct x86_cpu *cpu, int vector)
{
	struct shadow_vcpu *sv = ctx;
	struct shadow_irqchip *chip = sv->irq;

	if (chip->ack_irq)
		chip->ack_irq(chip, sv->v->id, vector);
}

static const struct x86_env_ops env_ops = {
	.translate = env_translate,
	.invlpg = env_invlpg,
	.flush = env_flush,
	.pending_irq = env_pending_irq,
	.ack_irq = env_ack_irq,
	.cpuid = env_cpuid,
	.rdmsr = env_rdmsr,
	.wrmsr = env_wrmsr,
};

/* ---- VM ------------------------------------------------------------------------ */

static int shadow_vm_init(struct vm *vm)
{
	struct shadow_backend_vm *p = calloc(1, sizeof(*p));
	int ret;

	if (!p)
		return -ENOMEM;
	/* trace.c: --trace insn, and the SIGUSR2 state dump (not fatal when refused). */
	if (vm->cfg && vm->cfg->trace && !strncmp(vm->cfg->trace, "insn", 4)) {
		if (shadow__trace_parse(vm->cfg->trace, &p->trace)) {
			pr_err("--trace %s: expected insn[=COUNT][@START-END] with COUNT >= 1 and "
			       "START-END in hex", vm->cfg->trace);
			free(p);
			return -EINVAL;
		}
		p->trace_insn = true;
	}
	if (shadow__dump_signal_init())
		pr_warn("cannot install the SIGUSR2 handler: no state dumps on SIGUSR2");
	ret = shadow__vm_init(&p->svm, &vm->mem);
	if (ret) {
		pr_err("shadow MMU set-up: %s: give mvm more host memory", strerror(-ret));
		free(p);
		return ret;
	}
	pthread_mutex_init(&p->irq.lock, NULL);
	/* irqchip: halts wait for timer deadlines on CLOCK_MONOTONIC, the timers' clock. */
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->irq.cond, &ca);
	pthread_condattr_destroy(&ca);
	struct irqchip *ic;
	ret = irqchip__create(&ic, &ic_ops, p);
	if (ret) {
		pr_err("irqchip__create: %s: give mvm more host memory", strerror(-ret));
		shadow__vm_exit(&p->svm);
		free(p);
		return ret;
	}
	p->irq.opaque = ic;
	p->irq.pending_irq = ic_pending;
	p->irq.ack_irq = ic_ack;
	vm->backend_priv = p;
	if (!vm->tsc_khz)
		vm->tsc_khz = DEFAULT_TSC_KHZ;
	return 0;
}

static void shadow_vm_exit(struct vm *vm)
{
	struct shadow_backend_vm *p = bvm(vm);

	if (!p)
		return;
	const struct shadow_stats *st = &p->svm.stats;
	pr_debug("shadow MMU: %llu faults (%llu to the guest), %llu shadow pages made, %llu zapped, "
		 "%llu unsyncs, %llu syncs, %llu unprotects, %llu zap-alls",
		 (unsigned long long)st->faults, (unsigned long long)st->guest_faults,
		 (unsigned long long)st->sp_created, (unsigned long long)st->zaps,
		 (unsigned long long)st->unsyncs, (unsigned long long)st->syncs,
		 (unsigned long long)st->unprotects, (unsigned long long)st->zap_alls);
	shadow__vm_exit(&p->svm);
	irqchip__destroy(p->irq.opaque);
	pthread_cond_destroy(&p->irq.cond);
	pthread_mutex_destroy(&p->irq.lock);
	free(p);
	vm->backend_priv = NULL;
}

/* The future interrupt controller reads line_level; waiters re-check on change. */
static int shadow_irq_line(struct vm *vm, uint32_t gsi, int level)
{
	struct shadow_irqchip *chip = &bvm(vm)->irq;

	if (gsi >= SHADOW_NR_GSIS)
		return -EINVAL;
	pthread_mutex_lock(&chip->lock);
	if (level)
		chip->line_level |= 1u << gsi;
	else
		chip->line_level &= ~(1u << gsi);
	pthread_cond_broadcast(&chip->cond);
	pthread_mutex_unlock(&chip->lock);
	/* irqchip: GSIs into the IOAPIC, ISA lines also into the PIC (outside our lock). */
	return irqchip__set_irq(chip->opaque, gsi, level);
}

/* ---- vCPU ---------------------------------------------------------------------- */

static void shadow_vcpu_exit(struct vcpu *v)
{
	struct shadow_vcpu *sv = v->priv;

	if (!sv)
		return;
	shadow__exit(&sv->mmu);
	if (v->run)
		munmap(v->run, sv->run_size);
	v->run = NULL;
	free(sv);
	v->priv = NULL;
}

static int shadow_vcpu_init(struct vcpu *v)
{
	struct shadow_backend_vm *p = bvm(v->vm);
	struct shadow_vcpu *sv = calloc(1, sizeof(*sv));
	void *run;

	if (!sv)
		return -ENOMEM;
	sv->run_size = RUN_PAGES * 4096;
	run = mmap(NULL, sv->run_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (run == MAP_FAILED) {
		int r = -errno;
		pr_err("vCPU %d: mmap of kvm_run: %s: free host memory", v->id, strerror(-r));
		free(sv);
		return r;
	}
	v->run = run;
	v->priv = sv;
	sv->v = v;
	sv->irq = &p->irq;
	sv->cpu.tsc_khz = v->vm->tsc_khz ? v->vm->tsc_khz : DEFAULT_TSC_KHZ;
	x86__reset(&sv->cpu);
	if (v->id == 0) {
		/* The MMU's reserved bits follow the CPU model the guest is shown. */
		uint32_t id[4];
		x86__cpuid(&sv->cpu, 0x80000000, 0, id);
		if (id[0] >= 0x80000008) {
			x86__cpuid(&sv->cpu, 0x80000008, 0, id);
			if ((id[0] & 0xff) >= 32 && (id[0] & 0xff) <= 52)
				p->svm.maxphyaddr = id[0] & 0xff;
		}
		x86__cpuid(&sv->cpu, 0x80000001, 0, id);
		p->svm.gbpages = id[3] & (1u << 26);	/* PDPE1GB */
	}
	shadow__init(&sv->mmu, &p->svm);
	sv->cpu.tlb_gen = &p->svm.tlb_gen;	/* the interpreter's data TLB follows revocations */
	/* irqchip: one LAPIC per vCPU, APIC ID = index; only vCPU 0 is the BSP. */
	if (irqchip__vcpu_init(p->irq.opaque, v->id)) {
		pr_err("vCPU %d: no local APIC for it (at most %d vCPUs)", v->id, IRQCHIP_MAX_VCPUS);
		shadow__exit(&sv->mmu);
		munmap(run, sv->run_size);
		v->run = NULL;
		v->priv = NULL;
		free(sv);
		return -EINVAL;
	}
	if (v->id)
		sv->cpu.msr.apic_base &= ~(1ull << 8);
	sv->apic_base_seen = sv->cpu.msr.apic_base;
	sv->trace = p->trace_insn ? &p->trace : NULL;
	sv->dump_seen = __atomic_load_n(&shadow_dump_gen, __ATOMIC_RELAXED);
	/* As with KVM's in-kernel LAPIC: only the BSP runs, APs wait for INIT/SIPI. */
	sv->mp_state = v->id == 0 ? KVM_MP_STATE_RUNNABLE : KVM_MP_STATE_UNINITIALIZED;
	return 0;
}

/* KVM completes a read exit when userspace re-enters KVM_RUN. */
static void complete_pending(struct shadow_vcpu *sv, struct kvm_run *run)
{
	switch (sv->pending) {
	case PENDING_IO_IN:
		x86__complete_io(&sv->cpu, (uint8_t *)run + run->io.data_offset,
				 run->io.size * run->io.count);
		break;
	case PENDING_MMIO_READ:
		x86__complete_mmio(&sv->cpu, run->mmio.data, run->mmio.len);
		break;
	case PENDING_OSI:
		for (int i = 0; i < X86_NR_GPRS; i++)
			sv->cpu.gpr[i] = run->osi.gprs[i];
		break;
	case PENDING_NONE:
		break;
	}
	sv->pending = PENDING_NONE;
}

static bool take_kick(struct shadow_vcpu *sv)
{
	return __atomic_exchange_n(&sv->kicked, 0, __ATOMIC_ACQ_REL);
}

/* Sleep until kicked or @ready says so (checked under the irqchip lock). */
static void wait_event(struct shadow_vcpu *sv, bool (*ready)(struct shadow_vcpu *))
{
	struct shadow_irqchip *chip = sv->irq;

	pthread_mutex_lock(&chip->lock);
	while (!__atomic_load_n(&sv->kicked, __ATOMIC_ACQUIRE) && !ready(sv))
		pthread_cond_wait(&chip->cond, &chip->lock);
	pthread_mutex_unlock(&chip->lock);
}

static bool mp_runnable(struct shadow_vcpu *sv)
{
	/* irqchip: an INIT or SIPI for this vCPU also ends the wait. */
	return __atomic_load_n(&sv->mp_state, __ATOMIC_ACQUIRE) != KVM_MP_STATE_UNINITIALIZED ||
	       (irqchip__peek_events(ic_of(sv), sv->v->id) & (IRQCHIP_EV_INIT | IRQCHIP_EV_SIPI));
}

static bool irq_pending(struct shadow_vcpu *sv)
{
	return sv->irq->pending_irq(sv->irq, sv->v->id) >= 0;
}

static void exit_io(struct shadow_vcpu *sv, struct kvm_run *run, const struct x86_exit *e)
{
	uint32_t bytes = e->io.size * e->io.count;

	run->exit_reason = KVM_EXIT_IO;
	run->io.direction = e->io.is_write ? KVM_EXIT_IO_OUT : KVM_EXIT_IO_IN;
	run->io.size = e->io.size;
	run->io.port = e->io.port;
	run->io.count = e->io.count;
	run->io.data_offset = 4096;
	if (bytes > X86_IO_DATA_MAX)
		bytes = X86_IO_DATA_MAX;
	if (e->io.is_write)
		memcpy((uint8_t *)run + run->io.data_offset, e->io.data, bytes);
	else
		sv->pending = PENDING_IO_IN;
}

static void exit_internal(struct kvm_run *run, const struct x86_exit *e)
{
	/* The dispatcher prints one instruction byte per data word. */
	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->internal.suberror = KVM_INTERNAL_ERROR_EMULATION;
	run->internal.ndata = MIN(e->internal.len, 15u);
	for (uint32_t i = 0; i < run->internal.ndata; i++)
		run->internal.data[i] = e->internal.insn[i];
}

/*
 * Turn one interpreter event into a KVM exit in @run: 1 when there is an
 * exit to report, 0 when the guest just goes on (budget, foreign hypercall).
 */
static int report(struct shadow_vcpu *sv, struct kvm_run *run, enum x86_event ev,
		  const struct x86_exit *ex)
{
	const struct x86_exit e = *ex;

	switch (ev) {
	case X86_EV_IO:
		exit_io(sv, run, &e);
		return 1;
	case X86_EV_MMIO:
		run->exit_reason = KVM_EXIT_MMIO;
		run->mmio.phys_addr = e.mmio.gpa;
		run->mmio.len = e.mmio.len;
		run->mmio.is_write = e.mmio.is_write;
		memset(run->mmio.data, 0, sizeof(run->mmio.data));
		if (e.mmio.is_write)
			memcpy(run->mmio.data, e.mmio.data, MIN(e.mmio.len, 8u));
		else
			sv->pending = PENDING_MMIO_READ;
		return 1;
	case X86_EV_HLT:
		run->exit_reason = KVM_EXIT_HLT;
		return 1;
	case X86_EV_SHUTDOWN:
		run->exit_reason = KVM_EXIT_SHUTDOWN;
		sv->explain_shutdown = true;
		return 1;
	case X86_EV_HYPERCALL:
		if (sv->cpu.gpr[X86_RAX] != SHADOW_HYPERCALL_MAGIC) {
			sv->cpu.gpr[X86_RAX] = (uint64_t)-KVM_ENOSYS;
			return 0;
		}
		run->exit_reason = KVM_EXIT_OSI;
		memset(run->osi.gprs, 0, sizeof(run->osi.gprs));
		for (int i = 0; i < X86_NR_GPRS; i++)
			run->osi.gprs[i] = sv->cpu.gpr[i];
		sv->pending = PENDING_OSI;
		return 1;
	case X86_EV_INTERNAL_ERROR:
		exit_internal(run, &e);
		return 1;
	case X86_EV_BUDGET:
	default:
		return 0;
	}
}

/* ---- irqchip: events, in-process devices, halts ---------------------------------- */

/* INIT, SIPI and NMI sent to this vCPU by a LAPIC or the IOAPIC. */
static void ic_events(struct shadow_vcpu *sv)
{
	struct irqchip *ic = ic_of(sv);
	uint32_t vec, ev;

	if (!irqchip__peek_events(ic, sv->v->id))
		return;
	ev = irqchip__take_events(ic, sv->v->id, &vec);
	if (ev & IRQCHIP_EV_INIT) {
		/* INIT: the CPU and its LAPIC go to their INIT state and wait for SIPI. */
		uint64_t base = sv->cpu.msr.apic_base;

		x86__reset(&sv->cpu);
		sv->cpu.msr.apic_base = base;
		sv->cr8_seen = 0;
		irqchip__lapic_reset(ic, sv->v->id);
		shadow__flush(&sv->mmu, true);
		__atomic_store_n(&sv->mp_state, KVM_MP_STATE_UNINITIALIZED, __ATOMIC_RELEASE);
	}
	if ((ev & IRQCHIP_EV_SIPI) && sv->mp_state == KVM_MP_STATE_UNINITIALIZED) {
		/* SIPI only starts a CPU in wait-for-SIPI: real mode at vector << 12. */
		sv->cpu.seg[X86_CS].sel = (uint16_t)(vec << 8);
		sv->cpu.seg[X86_CS].base = (uint64_t)vec << 12;
		sv->cpu.rip = 0;
		sv->cpu.halted = false;
		x86__state_changed(&sv->cpu);
		__atomic_store_n(&sv->mp_state, KVM_MP_STATE_RUNNABLE, __ATOMIC_RELEASE);
	}
	if ((ev & IRQCHIP_EV_NMI) && sv->mp_state != KVM_MP_STATE_UNINITIALIZED)
		x86__inject_nmi(&sv->cpu);
}

static bool halt_ready(struct shadow_vcpu *sv)
{
	struct irqchip *ic = ic_of(sv);

	if (irqchip__peek_events(ic, sv->v->id))
		return true;
	return (sv->cpu.rflags & X86_FL_IF) && irqchip__pending(ic, sv->v->id) >= 0;
}

/*
 * HLT: sleep until an interrupt, NMI/INIT/SIPI, the next timer deadline or a
 * kick, as KVM's in-kernel LAPIC blocks the vCPU; never busy-waits.
 */
static void halt_wait(struct shadow_vcpu *sv)
{
	struct shadow_irqchip *chip = sv->irq;
	struct irqchip *ic = ic_of(sv);
	uint64_t dl;
	struct timespec ts;

	irqchip__poll(ic, sv->v->id);
	dl = irqchip__next_deadline(ic, sv->v->id);
	ts.tv_sec = (time_t)(dl / 1000000000ull);
	ts.tv_nsec = (long)(dl % 1000000000ull);
	pthread_mutex_lock(&chip->lock);
	while (!__atomic_load_n(&sv->kicked, __ATOMIC_ACQUIRE) && !halt_ready(sv)) {
		if (dl == IRQCHIP_NO_DEADLINE)
			pthread_cond_wait(&chip->cond, &chip->lock);
		else if (pthread_cond_timedwait(&chip->cond, &chip->lock, &ts) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&chip->lock);
}

/* Serve what the in-kernel irqchip would: true when @ev needs no exit. */
static bool ic_handle(struct shadow_vcpu *sv, enum x86_event ev, const struct x86_exit *e)
{
	struct irqchip *ic = ic_of(sv);
	uint8_t data[8];

	switch (ev) {
	case X86_EV_MMIO:
		memcpy(data, e->mmio.data, sizeof(data));
		ic_sync(sv);
		if (!irqchip__mmio(ic, sv->v->id, e->mmio.gpa, data, e->mmio.len, e->mmio.is_write))
			return false;
		if (!e->mmio.is_write)
			x86__complete_mmio(&sv->cpu, data, e->mmio.len);
		else	/* a TPR write shows in CR8 */
			sv->cpu.cr8 = sv->cr8_seen = irqchip__get_cr8(ic, sv->v->id);
		return true;
	case X86_EV_IO:
		if (e->io.count != 1 || e->io.size > sizeof(data))
			return false;
		memcpy(data, e->io.data, e->io.size);
		if (!irqchip__pio(ic, e->io.port, data, e->io.size, e->io.is_write))
			return false;
		if (!e->io.is_write)
			x86__complete_io(&sv->cpu, data, e->io.size);
		return true;
	case X86_EV_HLT:
		/*
		 * HLT with IF=0 waits for NMI/INIT like KVM's in-kernel LAPIC,
		 * except on a lone vCPU where nothing could ever wake it: that
		 * one exits as without an irqchip, so "cli; hlt" ends a test.
		 */
		if (!(sv->cpu.rflags & X86_FL_IF) && sv->v->vm->nr_vcpus <= 1)
			return false;
		halt_wait(sv);
		return true;
	default:
		return false;
	}
}

/* ---- trace.c's debugging aids ------------------------------------------------------ */

/*
 * The vCPU loop enters run() once more after it dumped the registers of a
 * triple fault: explain RIP and CR2 then.  The first run() is on the vCPU
 * thread: it takes SIGUSR2 from there on.
 */
static void debug_entry(struct shadow_vcpu *sv)
{
	if (!sv->dump_ready) {
		shadow_dump_thread_init();
		sv->dump_ready = true;
	}
	if (sv->explain_shutdown) {
		sv->explain_shutdown = false;
		shadow_report_cpu(&sv->mmu, &sv->cpu, sv->v->id, "triple fault", true);
	}
}

/* One slice of guest code; costs one load and two tests when not debugging. */
static enum x86_event run_slice(struct shadow_vcpu *sv, uint64_t max, struct x86_exit *e)
{
	unsigned gen = __atomic_load_n(&shadow_dump_gen, __ATOMIC_RELAXED);

	if (__builtin_expect(gen != sv->dump_seen, 0)) {
		sv->dump_seen = gen;
		shadow_report_cpu(&sv->mmu, &sv->cpu, sv->v->id, "SIGUSR2", false);
	}
	if (__builtin_expect(sv->trace != NULL, 0))
		return shadow_trace_run(sv->trace, &sv->mmu, sv->v->id, &sv->cpu, &env_ops, sv, max, e);
	return x86__run(&sv->cpu, &env_ops, sv, max, e);
}

static int shadow_run(struct vcpu *v)
{
	struct shadow_vcpu *sv = v->priv;
	struct kvm_run *run = v->run;
	enum pending was = sv->pending;
	enum x86_event ev;
	struct x86_exit e;

	complete_pending(sv, run);
	if (__builtin_expect(sv->explain_shutdown || !sv->dump_ready, 0))
		debug_entry(sv);
	if (__atomic_load_n(&run->immediate_exit, __ATOMIC_ACQUIRE)) {
		/*
		 * KVM finishes the instruction that waited for the data before
		 * honouring immediate_exit; so do we: restart it alone.  If it
		 * has another exit to report (a store after the load) that is
		 * reported, as KVM does.
		 */
		if (was == PENDING_IO_IN || was == PENDING_MMIO_READ) {
			ev = run_slice(sv, 1, &e);
			if (ev != X86_EV_HLT && report(sv, run, ev, &e))
				return 0;
		}
		return -EINTR;
	}
	if (take_kick(sv))
		return -EINTR;
	ic_events(sv);
	if (__atomic_load_n(&sv->mp_state, __ATOMIC_ACQUIRE) == KVM_MP_STATE_UNINITIALIZED) {
		/* Wait-for-SIPI: sleep until a LAPIC sends INIT/SIPI, or a kick. */
		wait_event(sv, mp_runnable);
		take_kick(sv);
		return -EINTR;
	}
	for (;;) {
		/* irqchip: fire due timers, take INIT/SIPI/NMI, between slices. */
		irqchip__poll(ic_of(sv), v->id);
		irqchip__kvmclock_refresh(ic_of(sv), v->id, &v->vm->mem, sv->cpu.tsc_khz,
					  sv->cpu.msr.tsc_offset);
		ic_events(sv);
		if (__atomic_load_n(&sv->mp_state, __ATOMIC_ACQUIRE) == KVM_MP_STATE_UNINITIALIZED)
			return -EINTR;
		ev = run_slice(sv, SLICE_INSNS, &e);
		if (ic_handle(sv, ev, &e)) {
			if (take_kick(sv))
				return -EINTR;
			continue;
		}
		/*
		 * With an interrupt controller and IF=1 an interrupt can end a
		 * halt: wait for it here, as KVM's in-kernel LAPIC does.  Without
		 * one, HLT exits like KVM without an irqchip.
		 */
		if (ev == X86_EV_HLT && sv->irq->pending_irq && (sv->cpu.rflags & X86_FL_IF)) {
			wait_event(sv, irq_pending);
			if (take_kick(sv))
				return -EINTR;
			continue;
		}
		if (report(sv, run, ev, &e))
			return 0;
		if (take_kick(sv))
			return -EINTR;
	}
}

static void shadow_kick(struct vcpu *v)
{
	struct shadow_vcpu *sv = v->priv;
	struct shadow_irqchip *chip = sv->irq;

	__atomic_store_n(&sv->kicked, 1, __ATOMIC_RELEASE);
	pthread_mutex_lock(&chip->lock);
	pthread_cond_broadcast(&chip->cond);
	pthread_mutex_unlock(&chip->lock);
}

/* ---- register access ---------------------------------------------------------- */

static int shadow_get_regs(struct vcpu *v, struct kvm_regs *r)
{
	x86__get_regs(&((struct shadow_vcpu *)v->priv)->cpu, r);
	return 0;
}

static int shadow_set_regs(struct vcpu *v, const struct kvm_regs *r)
{
	struct shadow_vcpu *sv = v->priv;

	x86__set_regs(&sv->cpu, r);
	x86__state_changed(&sv->cpu);
	return 0;
}

static int shadow_get_sregs(struct vcpu *v, struct kvm_sregs *s)
{
	x86__get_sregs(&((struct shadow_vcpu *)v->priv)->cpu, s);
	return 0;
}

static int shadow_set_sregs(struct vcpu *v, const struct kvm_sregs *s)
{
	struct shadow_vcpu *sv = v->priv;

	x86__set_sregs(&sv->cpu, s);
	x86__state_changed(&sv->cpu);
	/* kvm_mmu_reset_context: new CR3/paging mode, PDPTRs re-read. */
	shadow__flush(&sv->mmu, true);
	return 0;
}

static int shadow_get_fpu(struct vcpu *v, struct kvm_fpu *f)
{
	x86__get_fpu(&((struct shadow_vcpu *)v->priv)->cpu, f);
	return 0;
}

static int shadow_set_fpu(struct vcpu *v, const struct kvm_fpu *f)
{
	x86__set_fpu(&((struct shadow_vcpu *)v->priv)->cpu, f);
	return 0;
}

/* KVM_GET_MSRS semantics: the number read, stopping at the first unknown one. */
static int shadow_get_msrs(struct vcpu *v, struct kvm_msrs *m)
{
	struct shadow_vcpu *sv = v->priv;
	uint32_t i;

	for (i = 0; i < m->nmsrs; i++)
		if (!x86__get_msr(&sv->cpu, m->entries[i].index, (uint64_t *)&m->entries[i].data))
			break;
	return (int)i;
}

static int shadow_set_msrs(struct vcpu *v, const struct kvm_msrs *m)
{
	struct shadow_vcpu *sv = v->priv;

	for (uint32_t i = 0; i < m->nmsrs; i++)
		if (!x86__set_msr(&sv->cpu, m->entries[i].index, m->entries[i].data))
			return -EINVAL;
	x86__state_changed(&sv->cpu);
	return 0;
}

static int shadow_set_mp_state(struct vcpu *v, uint32_t state)
{
	struct shadow_vcpu *sv = v->priv;

	if (state != KVM_MP_STATE_RUNNABLE && state != KVM_MP_STATE_UNINITIALIZED &&
	    state != KVM_MP_STATE_HALTED)
		return -EINVAL;
	pthread_mutex_lock(&sv->irq->lock);
	__atomic_store_n(&sv->mp_state,
			 state == KVM_MP_STATE_HALTED ? KVM_MP_STATE_RUNNABLE : state, __ATOMIC_RELEASE);
	sv->cpu.halted = state == KVM_MP_STATE_HALTED;
	pthread_cond_broadcast(&sv->irq->cond);
	pthread_mutex_unlock(&sv->irq->lock);
	return 0;
}

void shadow__vcpu_explain(struct vcpu *v, uint64_t linear, FILE *out)
{
	struct shadow_vcpu *sv = v->priv;
	const struct shadow_mode m = { sv->cpu.cr0, sv->cpu.cr3, sv->cpu.cr4, sv->cpu.efer };

	shadow__explain(&sv->mmu, &m, linear, out);
}

void shadow__vcpu_stats(struct vcpu *v, struct shadow_stats *st)
{
	shadow__get_stats(&((struct shadow_vcpu *)v->priv)->mmu, st);
}

const struct vcpu_backend shadow__backend = {
	.name = "shadow",
	.vm_init = shadow_vm_init,
	.vm_exit = shadow_vm_exit,
	.irq_line = shadow_irq_line,
	.irqfd = NULL,
	.ioeventfd = NULL,
	.vcpu_init = shadow_vcpu_init,
	.vcpu_exit = shadow_vcpu_exit,
	.run = shadow_run,
	.kick = shadow_kick,
	.get_regs = shadow_get_regs,
	.set_regs = shadow_set_regs,
	.get_sregs = shadow_get_sregs,
	.set_sregs = shadow_set_sregs,
	.get_fpu = shadow_get_fpu,
	.set_fpu = shadow_set_fpu,
	.get_msrs = shadow_get_msrs,
	.set_msrs = shadow_set_msrs,
	.set_mp_state = shadow_set_mp_state,
};
