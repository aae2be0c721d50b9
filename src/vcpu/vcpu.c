/* vCPU objects and their threads: one host thread per vCPU. */
#include "vcpu.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/util.h"
#include "../vm/vm.h"

static void kick_handler(int sig)
{
	(void)sig;	/* only here to interrupt KVM_RUN with EINTR */
}

int vcpu__create_all(struct vm *vm)
{
	int ret;

	for (int i = 0; i < vm->cfg->cpus; i++) {
		struct vcpu *v = calloc(1, sizeof(*v));
		if (!v)
			return -ENOMEM;
		v->vm = vm;
		v->id = i;
		vm->vcpus[i] = v;
		vm->nr_vcpus = i + 1;
		ret = vm->backend->vcpu_init(v);
		if (ret) {
			vm->vcpus[i] = NULL;
			vm->nr_vcpus = i;
			free(v);
			return ret;
		}
	}
	return 0;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;
	const struct vcpu_backend *b = vm->backend;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	if (vm__thread_sandbox(vm, VM_THREAD_VCPU)) {
		vm__request_stop(vm, MVM_EXIT_HOST, "vCPU %d: cannot install its seccomp filter", v->id);
		return NULL;
	}

	for (;;) {
		/*
		 * Clear before checking: a kick sets immediate_exit after
		 * setting vm->stopping, so either we see the stop here or
		 * KVM_RUN returns at once.
		 */
		__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
		if (vm__stopping(vm))
			break;
		int r = b->run(v);
		if (r == -EINTR)
			continue;
		if (r < 0) {
			vm__request_stop(vm, MVM_EXIT_HOST, "vCPU %d: KVM_RUN failed: %s", v->id,
					 strerror(-r));
			break;
		}
		v->nr_exits++;
		if (vcpu__dispatch(vm, v) == VCPU_STOP) {
			uint32_t why = v->run->exit_reason;
			if (why == KVM_EXIT_SHUTDOWN || why == KVM_EXIT_INTERNAL_ERROR ||
			    why == KVM_EXIT_FAIL_ENTRY)
				vcpu__dump(v);
			break;
		}
	}
	/*
	 * KVM completes an IO, MMIO or OSI exit only when userspace re-enters
	 * KVM_RUN; do that once with immediate_exit so the guest state we leave
	 * behind (and any snapshot or dump taken from it) is consistent.
	 */
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	b->run(v);
	return NULL;
}

int vcpu__start_all(struct vm *vm)
{
	struct sigaction sa = { .sa_handler = kick_handler };	/* no SA_RESTART */
	sigset_t set, old;
	int ret;

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) < 0)
		return -errno;
	/* Only vCPU threads take the kick signal. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	for (int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = vm->vcpus[i];
		ret = -pthread_create(&v->thread, NULL, vcpu_thread, v);
		if (ret) {
			vm__request_stop(vm, MVM_EXIT_HOST, "cannot start vCPU thread %d", i);
			return ret;
		}
		v->thread_started = true;
	}
	return 0;
}

void vcpu__join_all(struct vm *vm)
{
	for (int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = vm->vcpus[i];
		if (v && v->thread_started) {
			pthread_join(v->thread, NULL);
			v->thread_started = false;
		}
	}
}

void vcpu__destroy_all(struct vm *vm)
{
	for (int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = vm->vcpus[i];
		if (!v)
			continue;
		if (vm->backend->vcpu_exit)
			vm->backend->vcpu_exit(v);
		free(v);
		vm->vcpus[i] = NULL;
	}
	vm->nr_vcpus = 0;
}

void vcpu__dump(struct vcpu *v)
{
	const struct vcpu_backend *b = v->vm->backend;
	struct kvm_regs r;
	struct kvm_sregs s;

	if (b->get_regs(v, &r) == 0) {
		util__fdprintf(2, "mvm: vcpu%d rip=%016llx rsp=%016llx rflags=%08llx\n", v->id, r.rip,
			r.rsp, r.rflags);
		util__fdprintf(2, "mvm: vcpu%d rax=%016llx rbx=%016llx rcx=%016llx rdx=%016llx\n", v->id,
			r.rax, r.rbx, r.rcx, r.rdx);
		util__fdprintf(2, "mvm: vcpu%d rsi=%016llx rdi=%016llx rbp=%016llx r8 =%016llx\n", v->id,
			r.rsi, r.rdi, r.rbp, r.r8);
	}
	if (b->get_sregs(v, &s) == 0) {
		util__fdprintf(2, "mvm: vcpu%d cr0=%08llx cr2=%016llx cr3=%016llx cr4=%08llx efer=%llx\n",
			v->id, s.cr0, s.cr2, s.cr3, s.cr4, s.efer);
		util__fdprintf(2, "mvm: vcpu%d cs=%04x base=%llx l=%u db=%u ss=%04x\n", v->id,
			s.cs.selector, s.cs.base, s.cs.l, s.cs.db, s.ss.selector);
	}
}
