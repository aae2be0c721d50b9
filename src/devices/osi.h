/*
 * osi: a tiny hypercall service for test guests.
 *
 * A guest executes `vmcall` (or `vmmcall`) with RAX = OSI_MAGIC.  The shadow
 * backend turns that into KVM_EXIT_OSI with kvm_run.osi.gprs holding the
 * general registers in x86 encoding order (RAX, RCX, RDX, RBX, RSP, RBP,
 * RSI, RDI, R8..R15: the OSI_GPR_* indexes) and copies them back afterwards.
 * Under KVM, `vmcall` is handled in the kernel and never reaches mvm: an
 * unknown hypercall returns RAX = -1000 (-KVM_ENOSYS), which is how a guest
 * learns the service is absent and falls back to the serial and exit ports.
 * Under QEMU TCG it raises #UD.
 *
 * Calls, selected by RBX; the status comes back in RAX (0 or a value >= 0
 * on success, -errno as a 64-bit two's complement on failure):
 *
 *   OSI_CALL_PROBE  0  RAX = 0, RCX = OSI_VERSION
 *   OSI_CALL_WRITE  1  write RDX bytes at guest physical RCX to mvm's
 *                      standard output.  RDX <= OSI_WRITE_MAX.
 *                      RAX = bytes written, -EINVAL (too long),
 *                      -EFAULT (range not in guest RAM), -EIO
 *   OSI_CALL_EXIT   2  stop the VM; mvm exits with (RCX << 1) | 1, the same
 *                      status an isa-debug-exit write of RCX gives.  RAX = 0
 *   OSI_CALL_CLOCK  3  RAX = host CLOCK_MONOTONIC in nanoseconds
 *   anything else      RAX = -ENOSYS
 *
 * In 32-bit guests only the low 32 bits of each register are meaningful;
 * the handler reads RCX/RDX as the guest left them, so a 32-bit guest keeps
 * the upper halves zero (they are zero at multiboot entry and 32-bit
 * instructions clear them).
 */
#ifndef MVM_OSI_H
#define MVM_OSI_H

#include <stdint.h>

#include "../vcpu/vcpu.h"

struct vm;

#define OSI_MAGIC	0x4d564d00ULL	/* "MVM\0" */
#define OSI_VERSION	1
#define OSI_WRITE_MAX	65536
#define OSI_KVM_ENOSYS	1000		/* KVM's own hypercall errno base */

enum osi_gpr {
	OSI_GPR_RAX, OSI_GPR_RCX, OSI_GPR_RDX, OSI_GPR_RBX,
	OSI_GPR_RSP, OSI_GPR_RBP, OSI_GPR_RSI, OSI_GPR_RDI,
	OSI_GPR_R8, OSI_GPR_R9, OSI_GPR_R10, OSI_GPR_R11,
	OSI_GPR_R12, OSI_GPR_R13, OSI_GPR_R14, OSI_GPR_R15,
	OSI_NR_GPRS,
};

enum osi_call {
	OSI_CALL_PROBE = 0,
	OSI_CALL_WRITE = 1,
	OSI_CALL_EXIT = 2,
	OSI_CALL_CLOCK = 3,
};

/* Install the handler: vm->osi = osi__handle. */
void osi__init(struct vm *vm);

/* The vm_osi_fn; exposed for the dispatcher's tests. */
enum vcpu_action osi__handle(struct vm *vm, struct vcpu *v, uint64_t *gprs);

#endif
