/*
 * The "shadow" vcpu_backend: the x86 interpreter plus the shadow MMU,
 * reporting exits in a struct kvm_run exactly as KVM would, so the vCPU loop
 * and the exit dispatcher cannot tell it from the KVM backend.
 */
#include "backend_internal.h"

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

static const struct x86_env_ops env_ops = {
	.translate = env_translate,
	.invlpg = env_invlpg,
	.flush = env_flush,
	.pending_irq = shadow__env_pending_irq,
	.ack_irq = shadow__env_ack_irq,
	.cpuid = shadow__env_cpuid,
	.rdmsr = shadow__env_rdmsr,
	.wrmsr = shadow__env_wrmsr,
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
	p->codemap.base = vm->mem.map;
	p->codemap.pages = vm->mem.map_len >> 12;
	p->codemap.bits = calloc((p->codemap.pages + 63) / 64, sizeof(uint64_t));
	p->codemap.epoch = vm->mem.write_epoch;
	p->codemap.tlb_gen = &p->svm.tlb_gen;
	p->codemap.smp = !vm->cfg || vm->cfg->cpus != 1;
	if (!p->codemap.bits || !p->codemap.epoch) {
		pr_err("shadow backend: no memory for the code-page map: give mvm more host memory");
		free(p->codemap.bits);
		shadow__vm_exit(&p->svm);
		free(p);
		return -ENOMEM;
	}
	pthread_mutex_init(&p->irq.lock, NULL);
	/* irqchip: halts wait for timer deadlines on CLOCK_MONOTONIC, the timers' clock. */
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->irq.cond, &ca);
	pthread_condattr_destroy(&ca);
	struct irqchip *ic;
	ret = irqchip__create(&ic, &shadow__ic_ops, p);
	if (ret) {
		pr_err("irqchip__create: %s: give mvm more host memory", strerror(-ret));
		shadow__vm_exit(&p->svm);
		free(p->codemap.bits);
		free(p);
		return ret;
	}
	p->irq.opaque = ic;
	p->irq.pending_irq = shadow__ic_pending;
	p->irq.ack_irq = shadow__ic_ack;
	vm->backend_priv = p;
	if (!vm->tsc_khz)
		vm->tsc_khz = DEFAULT_TSC_KHZ;
	return 0;
}

static void shadow_vm_exit(struct vm *vm)
{
	struct shadow_backend_vm *p = shadow__bvm(vm);

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
	free(p->codemap.bits);
	free(p);
	vm->backend_priv = NULL;
}

/*
 * GSIs go into the IOAPIC, ISA lines also into the PIC, as with KVM's
 * in-kernel irqchip; the controller wakes the vCPUs an interrupt targets.
 */
static int shadow_irq_line(struct vm *vm, uint32_t gsi, int level)
{
	return irqchip__set_irq(shadow__bvm(vm)->irq.opaque, gsi, level);
}

/* ---- vCPU ---------------------------------------------------------------------- */

static void shadow_vcpu_exit(struct vcpu *v)
{
	struct shadow_vcpu *sv = v->priv;

	if (!sv)
		return;
	shadow__exit(&sv->mmu);
	x86__release(&sv->cpu);
	if (v->run)
		munmap(v->run, sv->run_size);
	v->run = NULL;
	free(sv);
	v->priv = NULL;
}

static int shadow_vcpu_init(struct vcpu *v)
{
	struct shadow_backend_vm *p = shadow__bvm(v->vm);
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
	sv->cpu.codemap = &p->codemap;
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
	       (irqchip__peek_events(shadow__ic_of(sv), sv->v->id) & (IRQCHIP_EV_INIT | IRQCHIP_EV_SIPI));
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
	shadow__ic_events(sv);
	if (__atomic_load_n(&sv->mp_state, __ATOMIC_ACQUIRE) == KVM_MP_STATE_UNINITIALIZED) {
		/* Wait-for-SIPI: sleep until a LAPIC sends INIT/SIPI, or a kick. */
		wait_event(sv, mp_runnable);
		take_kick(sv);
		return -EINTR;
	}
	for (;;) {
		/* irqchip: fire due timers, take INIT/SIPI/NMI, between slices. */
		irqchip__poll(shadow__ic_of(sv), v->id);
		irqchip__kvmclock_refresh(shadow__ic_of(sv), v->id, &v->vm->mem, sv->cpu.tsc_khz,
					  sv->cpu.msr.tsc_offset);
		shadow__ic_events(sv);
		if (__atomic_load_n(&sv->mp_state, __ATOMIC_ACQUIRE) == KVM_MP_STATE_UNINITIALIZED)
			return -EINTR;
		ev = run_slice(sv, SLICE_INSNS, &e);
		if (shadow__ic_handle(sv, ev, &e)) {
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
