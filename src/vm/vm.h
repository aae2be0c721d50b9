/*
 * vm: the machine object that ties memory, buses, devices, vCPUs and the
 * chosen backend together, and the stop protocol every exit path uses.
 */
#ifndef MVM_VM_H
#define MVM_VM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "../bus/bus.h"
#include "../config/config.h"
#include "../mem/mem.h"
#include "../vcpu/vcpu.h"

#define VM_MAX_VCPUS 64

struct device;

/* Kinds of threads mvm runs; each gets its own syscall filter. */
enum vm_thread_kind { VM_THREAD_MAIN, VM_THREAD_VCPU, VM_THREAD_IO, VM_THREAD_KINDS };

/*
 * OSI hypercall handler: @gprs is kvm_run.osi.gprs (RAX..R15 in KVM register
 * order, then zeros); it may change them.  Returns VCPU_CONTINUE or VCPU_STOP.
 */
typedef enum vcpu_action (*vm_osi_fn)(struct vm *vm, struct vcpu *v, uint64_t *gprs);

struct vm {
	const struct config *cfg;
	const struct vcpu_backend *backend;
	void *backend_priv;

	struct guest_mem mem;
	struct bus pio, mmio;
	struct device *devices;		/* registration order */
	vm_osi_fn osi;
	bool trace_exits;		/* --trace exits: one stderr line per exit */
	/* Installs the calling thread's sandbox; set by seccomp__setup. */
	int (*sandbox)(struct vm *vm, enum vm_thread_kind kind);

	struct vcpu *vcpus[VM_MAX_VCPUS];
	int nr_vcpus;

	/* Stop protocol: the first request wins; every vCPU is kicked. */
	int stopping;			/* atomic */
	int exit_status;		/* enum mvm_exit_status or debug-exit code */
	char stop_reason[128];

	uint32_t next_gsi;		/* see vm__alloc_gsi */
	uint64_t next_virtio_mmio;	/* see vm__alloc_mmio */
	uint64_t tsc_khz;		/* advertised TSC frequency */
};

/* Set-up: memory and backend; devices register afterwards. */
int vm__init(struct vm *vm, const struct config *cfg, const struct vcpu_backend *backend)
	__attribute__((warn_unused_result));
void vm__exit(struct vm *vm);

/*
 * Ask every vCPU to stop; the VM ends with @status.  Safe from any thread
 * and any context that may run on a vCPU thread (device handlers).  Only the
 * first request counts.
 */
void vm__request_stop(struct vm *vm, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool vm__stopping(const struct vm *vm);

/*
 * Every thread mvm starts calls this first thing, before it touches guest
 * state: it installs the syscall filter for its kind (no-op without one).
 */
int vm__thread_sandbox(struct vm *vm, enum vm_thread_kind kind) __attribute__((warn_unused_result));

/* Interrupt lines, through the backend (in-kernel irqchip or emulated one). */
int vm__irq_line(struct vm *vm, uint32_t gsi, int level);
/* Edge: raise then lower. */
int vm__irq_pulse(struct vm *vm, uint32_t gsi);

/*
 * Resource allocation for self-describing devices: a free edge-triggered GSI
 * (ISA lines 5, 6, 7, 10, 11, then 16..23) and a 4 KiB virtio-mmio window in
 * the MMIO hole.  -ENOSPC when none are left.
 */
int vm__alloc_gsi(struct vm *vm, uint32_t *gsi);
int vm__alloc_mmio(struct vm *vm, uint64_t size, uint64_t *base);

#endif
