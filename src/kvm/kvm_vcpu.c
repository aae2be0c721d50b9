/*
 * kvm: per-vCPU half of the /dev/kvm backend: creation and the architectural
 * state a freshly created vCPU needs (CPUID, MSRs, LAPIC LINT pins, FPU, MP
 * state), KVM_RUN and the kick, register accessors.
 */
#include "kvm.h"

#include "../util/util.h"
#include "../vm/vm.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

/* Room for the leaves kvm__cpuid_fixup may add (0xB, 0x1F: 3 each; KVM: 2). */
#define CPUID_SPARE_NENT 16

#define MSR_IA32_TSC			0x00000010
#define MSR_IA32_SYSENTER_CS		0x00000174
#define MSR_IA32_SYSENTER_ESP		0x00000175
#define MSR_IA32_SYSENTER_EIP		0x00000176
#define MSR_IA32_MISC_ENABLE		0x000001a0
#define MSR_MTRR_DEF_TYPE		0x000002ff
#define MSR_STAR			0xc0000081
#define MSR_LSTAR			0xc0000082
#define MSR_CSTAR			0xc0000083
#define MSR_SYSCALL_MASK		0xc0000084
#define MSR_KERNEL_GS_BASE		0xc0000102

#define MISC_ENABLE_FAST_STRING		(1ULL << 0)
#define MTRR_DEF_TYPE_E			(1ULL << 11)
#define MTRR_TYPE_WB			6ULL

/* Local APIC register offsets in struct kvm_lapic_state.regs. */
#define APIC_LVT_LINT0			0x350
#define APIC_LVT_LINT1			0x360
#define APIC_DM_MASK			(7u << 8)
#define APIC_DM_NMI			(4u << 8)
#define APIC_DM_EXTINT			(7u << 8)

/*
 * Boot values as kvmtool and Firecracker set them: fast strings on (the
 * guest's memcpy relies on it), syscall MSRs cleared, TSC at 0 on every vCPU
 * (KVM treats equal writes close together as a synchronised TSC) and MTRRs
 * enabled with write-back default so Linux does not map all RAM uncached.
 */
static const struct {
	uint32_t index;
	uint64_t data;
} boot_msrs[] = {
	{ MSR_IA32_SYSENTER_CS, 0 },
	{ MSR_IA32_SYSENTER_ESP, 0 },
	{ MSR_IA32_SYSENTER_EIP, 0 },
	{ MSR_STAR, 0 },
	{ MSR_CSTAR, 0 },
	{ MSR_KERNEL_GS_BASE, 0 },
	{ MSR_SYSCALL_MASK, 0 },
	{ MSR_LSTAR, 0 },
	{ MSR_IA32_TSC, 0 },
	{ MSR_IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING },
	{ MSR_MTRR_DEF_TYPE, MTRR_DEF_TYPE_E | MTRR_TYPE_WB },
};

struct kvm_vcpu_priv {
	int fd;
	size_t run_size;
};

static int vcpu_fd(const struct vcpu *v)
{
	return ((const struct kvm_vcpu_priv *)v->priv)->fd;
}

static int vcpu_ioctl(struct vcpu *v, unsigned long req, const void *arg)
{
	return ioctl(vcpu_fd(v), req, arg) < 0 ? -errno : 0;
}

static int setup_cpuid(struct vcpu *v)
{
	const struct kvm_vm_priv *vp = v->vm->backend_priv;
	uint32_t cap = vp->cpuid->nent + CPUID_SPARE_NENT;
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + cap * sizeof(c->entries[0]));
	int r;

	if (!c)
		return -ENOMEM;
	memcpy(c, vp->cpuid, sizeof(*c) + vp->cpuid->nent * sizeof(c->entries[0]));
	r = kvm__cpuid_fixup(c, cap, (uint32_t)v->id, (uint32_t)kvm__vm_nr_cpus(v->vm));
	if (r < 0) {
		pr_err("vCPU %d: CPUID set-up for %d vCPUs failed: %s: lower --cpus", v->id,
		       kvm__vm_nr_cpus(v->vm), strerror(-r));
		goto out;
	}
	r = vcpu_ioctl(v, KVM_SET_CPUID2, c);
	if (r < 0)
		pr_err("vCPU %d: KVM_SET_CPUID2: %s: report this as an mvm bug", v->id,
		       strerror(-r));
out:
	free(c);
	return r;
}

static int setup_msrs(struct vcpu *v)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[ARRAY_SIZE(boot_msrs)];
	} m;
	int r;

	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = ARRAY_SIZE(boot_msrs);
	for (size_t i = 0; i < ARRAY_SIZE(boot_msrs); i++) {
		m.e[i].index = boot_msrs[i].index;
		m.e[i].data = boot_msrs[i].data;
	}
	r = ioctl(vcpu_fd(v), KVM_SET_MSRS, &m);
	if (r < 0) {
		r = -errno;
		pr_err("vCPU %d: KVM_SET_MSRS: %s: report this as an mvm bug", v->id, strerror(-r));
		return r;
	}
	if ((size_t)r < ARRAY_SIZE(boot_msrs)) {
		/* KVM stops at the first MSR it refuses: name it. */
		pr_err("vCPU %d: KVM_SET_MSRS refused MSR 0x%x: use a newer host kernel", v->id,
		       boot_msrs[r].index);
		return -EINVAL;
	}
	return 0;
}

/*
 * LINT0 as ExtINT and LINT1 as NMI, as the MP spec's virtual-wire mode
 * wants, so a guest that still routes the PIC through the BSP's LAPIC (early
 * boot, noapic) gets its interrupts.  The mask bits stay as KVM reset them.
 */
static int setup_lapic(struct vcpu *v)
{
	struct kvm_lapic_state l = { 0 };
	uint32_t lint0, lint1;
	int r;

	r = vcpu_ioctl(v, KVM_GET_LAPIC, &l);
	if (r < 0)
		goto fail;
	memcpy(&lint0, &l.regs[APIC_LVT_LINT0], 4);
	memcpy(&lint1, &l.regs[APIC_LVT_LINT1], 4);
	lint0 = (lint0 & ~APIC_DM_MASK) | APIC_DM_EXTINT;
	lint1 = (lint1 & ~APIC_DM_MASK) | APIC_DM_NMI;
	memcpy(&l.regs[APIC_LVT_LINT0], &lint0, 4);
	memcpy(&l.regs[APIC_LVT_LINT1], &lint1, 4);
	r = vcpu_ioctl(v, KVM_SET_LAPIC, &l);
	if (r < 0)
		goto fail;
	return 0;
fail:
	pr_err("vCPU %d: KVM_GET/SET_LAPIC: %s: report this as an mvm bug", v->id, strerror(-r));
	return r;
}

static int setup_fpu(struct vcpu *v)
{
	struct kvm_fpu f;
	int r;

	memset(&f, 0, sizeof(f));
	f.fcw = 0x37f;		/* FNINIT value */
	f.mxcsr = 0x1f80;	/* all SSE exceptions masked */
	r = vcpu_ioctl(v, KVM_SET_FPU, &f);
	if (r < 0)
		pr_err("vCPU %d: KVM_SET_FPU: %s: report this as an mvm bug", v->id, strerror(-r));
	return r;
}

int kvm__vcpu_init(struct vcpu *v)
{
	struct kvm_vm_priv *vp = v->vm->backend_priv;
	struct kvm_vcpu_priv *p = calloc(1, sizeof(*p));
	void *run;
	int r;

	if (!p)
		return -ENOMEM;
	p->fd = ioctl(vp->vm_fd, KVM_CREATE_VCPU, (unsigned long)v->id);
	if (p->fd < 0) {
		r = -errno;
		pr_err("vCPU %d: KVM_CREATE_VCPU: %s: lower --cpus or free host memory", v->id,
		       strerror(-r));
		free(p);
		return r;
	}
	v->priv = p;
	p->run_size = (size_t)vp->run_size;
	run = mmap(NULL, p->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, p->fd, 0);
	if (run == MAP_FAILED) {
		r = -errno;
		pr_err("vCPU %d: mmap of kvm_run: %s: free host memory", v->id, strerror(-r));
		goto fail;
	}
	v->run = run;

	if ((r = setup_cpuid(v)) < 0 || (r = setup_msrs(v)) < 0 || (r = setup_lapic(v)) < 0 ||
	    (r = setup_fpu(v)) < 0)
		goto fail;
	/* Only the BSP runs; APs wait for INIT/SIPI from the guest. */
	r = kvm__set_mp_state(v, v->id == 0 ? KVM_MP_STATE_RUNNABLE : KVM_MP_STATE_UNINITIALIZED);
	if (r < 0) {
		pr_err("vCPU %d: KVM_SET_MP_STATE: %s: report this as an mvm bug", v->id,
		       strerror(-r));
		goto fail;
	}
	if (v->id == 0 && !v->vm->tsc_khz) {
		int khz = ioctl(p->fd, KVM_GET_TSC_KHZ, 0);
		if (khz > 0)
			v->vm->tsc_khz = (uint64_t)khz;
	}
	return 0;
fail:
	kvm__vcpu_exit(v);
	return r;
}

void kvm__vcpu_exit(struct vcpu *v)
{
	struct kvm_vcpu_priv *p = v->priv;

	if (!p)
		return;
	if (v->run)
		munmap(v->run, p->run_size);
	v->run = NULL;
	close(p->fd);
	free(p);
	v->priv = NULL;
}

int kvm__run(struct vcpu *v)
{
	if (ioctl(vcpu_fd(v), KVM_RUN, 0) == 0)
		return 0;
	return errno == EINTR || errno == EAGAIN ? -EINTR : -errno;
}

void kvm__kick(struct vcpu *v)
{
	if (!v->run)
		return;		/* never initialised: nothing can be running */
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&v->thread_started, __ATOMIC_ACQUIRE))
		pthread_kill(v->thread, SIGUSR1);
}

int kvm__get_regs(struct vcpu *v, struct kvm_regs *r)
{
	return vcpu_ioctl(v, KVM_GET_REGS, r);
}

int kvm__set_regs(struct vcpu *v, const struct kvm_regs *r)
{
	return vcpu_ioctl(v, KVM_SET_REGS, r);
}

int kvm__get_sregs(struct vcpu *v, struct kvm_sregs *s)
{
	return vcpu_ioctl(v, KVM_GET_SREGS, s);
}

int kvm__set_sregs(struct vcpu *v, const struct kvm_sregs *s)
{
	return vcpu_ioctl(v, KVM_SET_SREGS, s);
}

int kvm__get_fpu(struct vcpu *v, struct kvm_fpu *f)
{
	return vcpu_ioctl(v, KVM_GET_FPU, f);
}

int kvm__set_fpu(struct vcpu *v, const struct kvm_fpu *f)
{
	return vcpu_ioctl(v, KVM_SET_FPU, f);
}

int kvm__get_msrs(struct vcpu *v, struct kvm_msrs *m)
{
	int r = ioctl(vcpu_fd(v), KVM_GET_MSRS, m);

	return r < 0 ? -errno : r;
}

/* 0 when every MSR was written; -EINVAL when KVM refused one of them. */
int kvm__set_msrs(struct vcpu *v, const struct kvm_msrs *m)
{
	int r = ioctl(vcpu_fd(v), KVM_SET_MSRS, m);

	if (r < 0)
		return -errno;
	return (uint32_t)r == m->nmsrs ? 0 : -EINVAL;
}

int kvm__set_mp_state(struct vcpu *v, uint32_t state)
{
	struct kvm_mp_state mp = { .mp_state = state };

	return vcpu_ioctl(v, KVM_SET_MP_STATE, &mp);
}
