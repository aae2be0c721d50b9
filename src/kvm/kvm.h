/*
 * kvm: the hardware accelerator backend (/dev/kvm).
 *
 * The VM gets KVM's in-kernel irqchip (PIC + IOAPIC + one local APIC per
 * vCPU) and PIT, so interrupt lines go to KVM_IRQ_LINE / KVM_IRQFD and HLT,
 * APIC and timer traffic never reach userspace.
 *
 * Kick protocol (stopping or pausing a vCPU from another thread):
 *   1. the requester publishes its reason first (vm->stopping, atomically);
 *   2. kick() sets run->immediate_exit = 1, then pthread_kill(SIGUSR1);
 *   3. the vCPU thread has a no-op SIGUSR1 handler installed WITHOUT
 *      SA_RESTART, so a KVM_RUN in progress returns EINTR, and one about to
 *      start returns at once because of immediate_exit; run() reports both as
 *      -EINTR;
 *   4. on -EINTR the vCPU loop clears run->immediate_exit, then re-checks the
 *      reason from step 1 before it re-enters.  Because the reason is written
 *      before immediate_exit, no kick can be lost.
 */
#ifndef MVM_KVM_H
#define MVM_KVM_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

#include "../vcpu/vcpu.h"

/*
 * Intel VMX needs three pages for a real-mode TSS and one page for an
 * identity-mapped page table, both in guest-physical space that is NOT RAM.
 * They sit at the top of the MMIO hole, above the LAPIC page (0xfee00000)
 * and below the 4 GiB boundary, where no device window is ever allocated:
 *   0xfeffc000  identity map page (1 page)
 *   0xfeffd000  TSS (3 pages, up to 0xff000000)
 */
#define KVM_IDENTITY_MAP_ADDR	0xfeffc000ULL
#define KVM_TSS_ADDR		0xfeffd000ULL

/* The KVM ABI this backend is written against (KVM_GET_API_VERSION). */
#define KVM_EXPECTED_API	12

extern const struct vcpu_backend kvm__backend;

/* true when /dev/kvm can be opened read-write (for --accel auto). */
bool kvm__available(void);

/*
 * Fix up a KVM_GET_SUPPORTED_CPUID table for one vCPU: hypervisor bit, APIC
 * ids, a topology of @nr_vcpus cores with one thread each in one package
 * (leaves 1, 4, 0xB, 0x1F, 0x80000008, 0x8000001D, 0x8000001E) and the KVM
 * signature leaves.  @cap is how many entries c->entries can hold; leaves
 * that must be added make c->nent grow.  Pure: exposed for the unit tests.
 * 0, or -ENOSPC when @cap is too small, -EINVAL for a bad id/count.
 */
int kvm__cpuid_fixup(struct kvm_cpuid2 *c, uint32_t cap, uint32_t vcpu_id, uint32_t nr_vcpus);

/* The entry for (@function, @index), or NULL.  Index is ignored for leaves without one. */
struct kvm_cpuid_entry2 *kvm__cpuid_find(struct kvm_cpuid2 *c, uint32_t function,
					 uint32_t index);

/* ---- internal to src/kvm: shared by kvm.c (VM) and vcpu.c ---- */

struct kvm_vm_priv {
	int kvm_fd, vm_fd;
	int run_size;			/* KVM_GET_VCPU_MMAP_SIZE */
	struct kvm_cpuid2 *cpuid;	/* KVM_GET_SUPPORTED_CPUID, read-only after vm_init */
};

/* vCPU count the guest topology describes (--cpus). */
int kvm__vm_nr_cpus(const struct vm *vm);
int kvm__vcpu_init(struct vcpu *v);
void kvm__vcpu_exit(struct vcpu *v);
int kvm__run(struct vcpu *v);
void kvm__kick(struct vcpu *v);
int kvm__get_regs(struct vcpu *v, struct kvm_regs *r);
int kvm__set_regs(struct vcpu *v, const struct kvm_regs *r);
int kvm__get_sregs(struct vcpu *v, struct kvm_sregs *s);
int kvm__set_sregs(struct vcpu *v, const struct kvm_sregs *s);
int kvm__get_fpu(struct vcpu *v, struct kvm_fpu *f);
int kvm__set_fpu(struct vcpu *v, const struct kvm_fpu *f);
int kvm__get_msrs(struct vcpu *v, struct kvm_msrs *m);
int kvm__set_msrs(struct vcpu *v, const struct kvm_msrs *m);
int kvm__set_mp_state(struct vcpu *v, uint32_t state);

#endif
