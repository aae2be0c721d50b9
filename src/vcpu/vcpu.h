/*
 * vcpu: the backend interface both accelerators implement, the per-vCPU
 * thread loop, and the pure exit dispatcher.
 *
 * A backend reports every exit in a struct kvm_run exactly as KVM does (the
 * shadow backend fills its own copy), so device code and tests never know
 * which backend runs.  The dispatcher only decodes the exit and delegates to
 * the buses and the OSI handler; it never calls the backend, so tests can feed
 * it fake exits.
 */
#ifndef MVM_VCPU_H
#define MVM_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct vm;

struct vcpu {
	struct vm *vm;
	int id;
	struct kvm_run *run;	/* exit record, owned by the backend */
	void *priv;		/* backend state */
	pthread_t thread;
	bool thread_started;
	uint64_t nr_exits;
};

struct vcpu_backend {
	const char *name;

	/* VM-wide.  vm_init runs after guest memory exists (vm->mem). */
	int (*vm_init)(struct vm *vm);
	void (*vm_exit)(struct vm *vm);
	int (*irq_line)(struct vm *vm, uint32_t gsi, int level);
	/* Optional fast paths; NULL when the backend has none. */
	int (*irqfd)(struct vm *vm, uint32_t gsi, int fd);
	int (*ioeventfd)(struct vm *vm, uint64_t addr, uint32_t len, int fd);

	/* Per vCPU. */
	int (*vcpu_init)(struct vcpu *v);
	void (*vcpu_exit)(struct vcpu *v);
	/* 0: v->run describes an exit; -EINTR: kicked or immediate_exit; else -errno. */
	int (*run)(struct vcpu *v);
	/* From any thread: make run() return -EINTR soon. */
	void (*kick)(struct vcpu *v);
	int (*get_regs)(struct vcpu *v, struct kvm_regs *r);
	int (*set_regs)(struct vcpu *v, const struct kvm_regs *r);
	int (*get_sregs)(struct vcpu *v, struct kvm_sregs *s);
	int (*set_sregs)(struct vcpu *v, const struct kvm_sregs *s);
	int (*get_fpu)(struct vcpu *v, struct kvm_fpu *f);
	int (*set_fpu)(struct vcpu *v, const struct kvm_fpu *f);
	int (*get_msrs)(struct vcpu *v, struct kvm_msrs *m);	/* returns count read */
	int (*set_msrs)(struct vcpu *v, const struct kvm_msrs *m);
	/* KVM_MP_STATE_*: APs start UNINITIALIZED and wait for INIT/SIPI. */
	int (*set_mp_state)(struct vcpu *v, uint32_t state);
};

enum vcpu_action {
	VCPU_CONTINUE,	/* re-enter the guest */
	VCPU_STOP,	/* the VM is stopping: vm->exit_status says why */
};

/* Decode one exit in v->run and delegate it.  Pure apart from device state. */
enum vcpu_action vcpu__dispatch(struct vm *vm, struct vcpu *v);

/* Create, start and join vCPU threads (see vm.h for stop requests). */
int vcpu__create_all(struct vm *vm) __attribute__((warn_unused_result));
int vcpu__start_all(struct vm *vm) __attribute__((warn_unused_result));
void vcpu__join_all(struct vm *vm);
void vcpu__destroy_all(struct vm *vm);

/* One line per register, for INTERNAL_ERROR, FAIL_ENTRY and SHUTDOWN reports. */
void vcpu__dump(struct vcpu *v);

/* Human name of a KVM_EXIT_* reason ("IO", "MMIO", ...). */
const char *vcpu__exit_name(uint32_t reason);

#endif
