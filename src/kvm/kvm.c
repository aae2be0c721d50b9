/*
 * kvm: VM-wide half of the /dev/kvm backend (system and VM file
 * descriptors, capabilities, irqchip, memory slots, interrupt routing).
 * The per-vCPU half is in vcpu.c.
 */
#include "kvm.h"

#include "../util/util.h"
#include "../vm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define KVM_DEV "/dev/kvm"
/* KVM_GET_SUPPORTED_CPUID fails with E2BIG until the buffer is big enough. */
#define CPUID_INITIAL_NENT 128
#define CPUID_MAX_NENT 4096

bool kvm__available(void)
{
	int fd = open(KVM_DEV, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

#define CAP(c) { KVM_CAP_##c, "KVM_CAP_" #c }
static const struct {
	long cap;
	const char *name;
} required_caps[] = {
	CAP(USER_MEMORY),
	CAP(IRQCHIP),
	CAP(PIT2),
	CAP(IOEVENTFD),
	CAP(IRQFD),
	CAP(SET_TSS_ADDR),
	CAP(SET_IDENTITY_MAP_ADDR),
	CAP(IMMEDIATE_EXIT),
	CAP(EXT_CPUID),
	CAP(MP_STATE),
	CAP(IRQ_ROUTING),	/* default GSI routing for IOAPIC pins 16..23 */
	CAP(NR_MEMSLOTS),
};
#undef CAP

int kvm__vm_nr_cpus(const struct vm *vm)
{
	int n = vm->cfg && vm->cfg->cpus > 0 ? vm->cfg->cpus : vm->nr_vcpus;

	return n > 0 ? n : 1;
}

static int check_caps(struct vm *vm, int kvm_fd)
{
	int r, nr = kvm__vm_nr_cpus(vm);

	for (size_t i = 0; i < ARRAY_SIZE(required_caps); i++) {
		r = ioctl(kvm_fd, KVM_CHECK_EXTENSION, required_caps[i].cap);
		if (r <= 0) {
			pr_err("KVM lacks %s, which mvm needs: use a newer host kernel or --accel shadow",
			       required_caps[i].name);
			return -ENOTSUP;
		}
	}
	r = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
	if (r < vm->mem.nr_slots) {
		pr_err("KVM offers %d memory slots, mvm needs %d: use a newer host kernel",
		       r, vm->mem.nr_slots);
		return -ENOTSUP;
	}
	r = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (r <= 0)
		r = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (r <= 0)
		r = 4;	/* the API document's default when neither is reported */
	if (nr > r) {
		pr_err("KVM allows %d vCPUs per VM, %d requested: lower --cpus", r, nr);
		return -EINVAL;
	}
	return 0;
}

static int get_supported_cpuid(struct kvm_vm_priv *p)
{
	for (uint32_t n = CPUID_INITIAL_NENT; n <= CPUID_MAX_NENT; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));

		if (!c)
			return -ENOMEM;
		c->nent = n;
		if (ioctl(p->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			p->cpuid = c;
			return 0;
		}
		free(c);
		if (errno != E2BIG) {
			int e = errno;
			pr_err("KVM_GET_SUPPORTED_CPUID: %s: the host KVM is unusable, use --accel shadow",
			       strerror(e));
			return -e;
		}
	}
	pr_err("KVM_GET_SUPPORTED_CPUID: more than %d leaves: report this as an mvm bug",
	       CPUID_MAX_NENT);
	return -E2BIG;
}

/* ioctl that returns -errno, retrying EINTR (KVM_CREATE_VM may see one). */
static int xioctl(int fd, unsigned long req, unsigned long arg)
{
	int r;

	do
		r = ioctl(fd, req, arg);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

static int set_memory(struct vm *vm, struct kvm_vm_priv *p)
{
	for (int i = 0; i < vm->mem.nr_slots; i++) {
		const struct mem_slot *s = &vm->mem.slot[i];
		struct kvm_userspace_memory_region r = {
			.slot = (uint32_t)i,
			.guest_phys_addr = s->gpa,
			.memory_size = s->size,
			.userspace_addr = (uintptr_t)s->hva,
		};
		int e = xioctl(p->vm_fd, KVM_SET_USER_MEMORY_REGION, (unsigned long)&r);

		if (e < 0) {
			pr_err("KVM_SET_USER_MEMORY_REGION slot %d (0x%llx+0x%llx): %s: lower --mem",
			       i, (unsigned long long)s->gpa, (unsigned long long)s->size,
			       strerror(-e));
			return e;
		}
	}
	return 0;
}

static int create_vm(struct vm *vm, struct kvm_vm_priv *p)
{
	uint64_t ident = KVM_IDENTITY_MAP_ADDR;
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	int r;

	r = xioctl(p->kvm_fd, KVM_CREATE_VM, 0);
	if (r < 0) {
		pr_err("KVM_CREATE_VM: %s: check ulimit -l and free host memory", strerror(-r));
		return r;
	}
	p->vm_fd = r;
	/* Both must precede the first vCPU (VMX real-mode support). */
	r = xioctl(p->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, (unsigned long)&ident);
	if (r < 0) {
		pr_err("KVM_SET_IDENTITY_MAP_ADDR 0x%llx: %s: report this as an mvm bug",
		       (unsigned long long)ident, strerror(-r));
		return r;
	}
	r = xioctl(p->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR);
	if (r < 0) {
		pr_err("KVM_SET_TSS_ADDR 0x%llx: %s: report this as an mvm bug",
		       KVM_TSS_ADDR, strerror(-r));
		return r;
	}
	r = xioctl(p->vm_fd, KVM_CREATE_IRQCHIP, 0);
	if (r < 0) {
		pr_err("KVM_CREATE_IRQCHIP: %s: the host KVM cannot emulate the APICs, use --accel shadow",
		       strerror(-r));
		return r;
	}
	r = xioctl(p->vm_fd, KVM_CREATE_PIT2, (unsigned long)&pit);
	if (r < 0) {
		pr_err("KVM_CREATE_PIT2: %s: the host KVM cannot emulate the PIT, use --accel shadow",
		       strerror(-r));
		return r;
	}
	return set_memory(vm, p);
}

static void kvm_vm_exit(struct vm *vm)
{
	struct kvm_vm_priv *p = vm->backend_priv;

	if (!p)
		return;
	if (p->vm_fd >= 0)
		close(p->vm_fd);
	if (p->kvm_fd >= 0)
		close(p->kvm_fd);
	free(p->cpuid);
	free(p);
	vm->backend_priv = NULL;
}

static int kvm_vm_init(struct vm *vm)
{
	struct kvm_vm_priv *p = calloc(1, sizeof(*p));
	int r;

	if (!p)
		return -ENOMEM;
	p->vm_fd = -1;
	vm->backend_priv = p;

	p->kvm_fd = open(KVM_DEV, O_RDWR | O_CLOEXEC);
	if (p->kvm_fd < 0) {
		r = -errno;
		pr_err("open %s: %s: load kvm-intel or kvm-amd, check its permissions, or use --accel shadow",
		       KVM_DEV, strerror(-r));
		goto fail;
	}
	r = ioctl(p->kvm_fd, KVM_GET_API_VERSION, 0);
	if (r != KVM_EXPECTED_API) {
		pr_err("KVM_GET_API_VERSION is %d, mvm needs %d: use a supported host kernel",
		       r, KVM_EXPECTED_API);
		r = -ENOTSUP;
		goto fail;
	}
	r = check_caps(vm, p->kvm_fd);
	if (r < 0)
		goto fail;
	r = ioctl(p->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (r < (int)sizeof(struct kvm_run)) {
		pr_err("KVM_GET_VCPU_MMAP_SIZE returned %d: the host KVM is unusable, use --accel shadow", r);
		r = -EINVAL;
		goto fail;
	}
	p->run_size = r;
	r = get_supported_cpuid(p);
	if (r < 0)
		goto fail;
	r = create_vm(vm, p);
	if (r < 0)
		goto fail;
	return 0;
fail:
	kvm_vm_exit(vm);
	return r;
}

static int kvm_irq_line(struct vm *vm, uint32_t gsi, int level)
{
	struct kvm_vm_priv *p = vm->backend_priv;
	struct kvm_irq_level l = { .irq = gsi, .level = (uint32_t)!!level };

	return ioctl(p->vm_fd, KVM_IRQ_LINE, &l) < 0 ? -errno : 0;
}

static int kvm_irqfd(struct vm *vm, uint32_t gsi, int fd)
{
	struct kvm_vm_priv *p = vm->backend_priv;
	struct kvm_irqfd irqfd = { .fd = (uint32_t)fd, .gsi = gsi };

	if (ioctl(p->vm_fd, KVM_IRQFD, &irqfd) < 0) {
		int e = errno;
		pr_err("KVM_IRQFD gsi %u: %s", gsi, strerror(e));
		return -e;
	}
	return 0;
}

/* MMIO only: every device that wants a doorbell here is virtio-mmio. */
static int kvm_ioeventfd(struct vm *vm, uint64_t addr, uint32_t len, int fd)
{
	struct kvm_vm_priv *p = vm->backend_priv;
	struct kvm_ioeventfd ev = { .addr = addr, .len = len, .fd = fd };

	if (ioctl(p->vm_fd, KVM_IOEVENTFD, &ev) < 0) {
		int e = errno;
		pr_err("KVM_IOEVENTFD 0x%llx/%u: %s", (unsigned long long)addr, len, strerror(e));
		return -e;
	}
	return 0;
}

const struct vcpu_backend kvm__backend = {
	.name = "kvm",
	.vm_init = kvm_vm_init,
	.vm_exit = kvm_vm_exit,
	.irq_line = kvm_irq_line,
	.irqfd = kvm_irqfd,
	.ioeventfd = kvm_ioeventfd,
	.vcpu_init = kvm__vcpu_init,
	.vcpu_exit = kvm__vcpu_exit,
	.run = kvm__run,
	.kick = kvm__kick,
	.get_regs = kvm__get_regs,
	.set_regs = kvm__set_regs,
	.get_sregs = kvm__get_sregs,
	.set_sregs = kvm__set_sregs,
	.get_fpu = kvm__get_fpu,
	.set_fpu = kvm__set_fpu,
	.get_msrs = kvm__get_msrs,
	.set_msrs = kvm__set_msrs,
	.set_mp_state = kvm__set_mp_state,
};
