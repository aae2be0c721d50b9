#include "seccomp.h"

#include <errno.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "../util/util.h"

struct rule {
	int nr;
	const char *why;
};

/* Every thread, whatever its kind. */
static const struct rule common_rules[] = {
	{ SCMP_SYS(futex), "mutexes, condition variables, pthread_join" },
	{ SCMP_SYS(write), "console output and one-line log messages" },
	{ SCMP_SYS(rt_sigreturn), "return from the kick and SIGSYS handlers" },
	{ SCMP_SYS(rt_sigprocmask), "glibc masks signals around thread exit" },
	{ SCMP_SYS(exit), "a thread ends" },
	{ SCMP_SYS(exit_group), "the process ends (die, _exit in the SIGSYS handler)" },
	{ SCMP_SYS(mmap), "malloc arenas" },
	{ SCMP_SYS(munmap), "free of large blocks, thread stacks" },
	{ SCMP_SYS(mprotect), "malloc arena growth" },
	{ SCMP_SYS(madvise), "glibc releases a finished thread's stack" },
	{ SCMP_SYS(brk), "malloc" },
	{ SCMP_SYS(clock_gettime), "time stamps when the vDSO falls back" },
	{ SCMP_SYS(gettid), "thread identity for signals" },
	{ SCMP_SYS(getpid), "pthread_kill, raise" },
	{ SCMP_SYS(tgkill), "kicking vCPU threads out of KVM_RUN on stop" },
	{ SCMP_SYS(sched_yield), "spin-wait back-off" },
	{ SCMP_SYS(restart_syscall), "the kernel restarts an interrupted sleep" },
};

static const struct rule vcpu_rules[] = {
	{ SCMP_SYS(read), "eventfd reads by device models run on exits" },
	{ SCMP_SYS(poll), "the UART waits for a slow stdout reader, bounded" },
	{ SCMP_SYS(clock_nanosleep), "the shadow backend's timed HLT waits" },
	{ SCMP_SYS(nanosleep), "the shadow backend's timed HLT waits" },
};

static const struct rule io_rules[] = {
	{ SCMP_SYS(read), "eventfds, tap, terminal input" },
	{ SCMP_SYS(readv), "tap receive into guest buffers" },
	{ SCMP_SYS(writev), "tap transmit from guest buffers" },
	{ SCMP_SYS(pread64), "virtio-blk synchronous engine" },
	{ SCMP_SYS(pwrite64), "virtio-blk synchronous engine" },
	{ SCMP_SYS(preadv), "virtio-blk synchronous engine, scattered requests" },
	{ SCMP_SYS(pwritev), "virtio-blk synchronous engine, scattered requests" },
	{ SCMP_SYS(io_submit), "virtio-blk libaio engine" },
	{ SCMP_SYS(io_getevents), "virtio-blk libaio completions" },
	{ SCMP_SYS(fdatasync), "virtio-blk FLUSH" },
	{ SCMP_SYS(fsync), "virtio-blk FLUSH on files without fdatasync" },
	{ SCMP_SYS(fallocate), "virtio-blk DISCARD and WRITE_ZEROES" },
	{ SCMP_SYS(getrandom), "virtio-rng" },
	{ SCMP_SYS(epoll_wait), "I/O thread event loop" },
	{ SCMP_SYS(epoll_pwait), "I/O thread event loop" },
	{ SCMP_SYS(epoll_ctl), "queues become ready after the guest sets them up" },
	{ SCMP_SYS(poll), "terminal input thread" },
	{ SCMP_SYS(ppoll), "terminal input thread" },
	{ SCMP_SYS(clock_nanosleep), "back-off while the guest's RX queue is full" },
	{ SCMP_SYS(nanosleep), "back-off while the guest's RX queue is full" },
};

static const struct rule main_rules[] = {
	{ SCMP_SYS(close), "tear-down after the vCPUs stopped" },
	{ SCMP_SYS(rt_sigaction), "re-raising a fatal signal after restoring the terminal" },
	{ SCMP_SYS(kill), "re-raising a fatal signal after restoring the terminal" },
	{ SCMP_SYS(io_destroy), "tear-down of the libaio context" },
	{ SCMP_SYS(epoll_wait), "waiting for the stop request" },
	{ SCMP_SYS(read), "eventfd reads during tear-down" },
};

/* ioctl requests each kind may make; the rest are refused. */
static const unsigned long vcpu_ioctls[] = {
	KVM_RUN, KVM_GET_REGS, KVM_SET_REGS, KVM_GET_SREGS, KVM_SET_SREGS,
	KVM_IRQ_LINE, KVM_IRQ_LINE_STATUS, TCGETS, TCSETS, TCSETSW, TCSETSF,
};
static const unsigned long io_ioctls[] = {
	KVM_IRQ_LINE, KVM_IRQ_LINE_STATUS, TCGETS, TCSETS, TCSETSW, TCSETSF, FIONREAD,
	TUNSETOFFLOAD,	/* virtio-net: tap offloads follow the guest's features */
};
static const unsigned long main_ioctls[] = { TCGETS, TCSETS, TCSETSW, TCSETSF };

static const char *const kind_names[] = {
	[VM_THREAD_MAIN] = "main", [VM_THREAD_VCPU] = "vCPU", [VM_THREAD_IO] = "I/O",
};
_Static_assert(ARRAY_SIZE(kind_names) == VM_THREAD_KINDS, "thread kind names out of step");

static enum seccomp_mode armed_mode = SECCOMP_OFF;
static __thread enum vm_thread_kind my_kind;

const char *seccomp__kind_name(enum vm_thread_kind kind)
{
	return kind < VM_THREAD_KINDS ? kind_names[kind] : "?";
}

/* Async-signal-safe: formats by hand and ends the process. */
static void sigsys_handler(int sig, siginfo_t *si, void *uc)
{
	char buf[160];
	char num[16];
	int n = 0, nr = si->si_syscall;
	const char *kind = seccomp__kind_name(my_kind);

	(void)sig;
	(void)uc;
	int i = sizeof(num);
	do {
		num[--i] = (char)('0' + nr % 10);
		nr /= 10;
	} while (nr && i > 0);
	n += snprintf(buf, sizeof(buf), "mvm: seccomp: the %s thread made forbidden syscall ", kind);
	memcpy(buf + n, num + i, sizeof(num) - i);
	n += sizeof(num) - i;
	n += snprintf(buf + n, sizeof(buf) - n, "; this is a bug (run with --seccomp log to trace)\n");
	if (write(STDERR_FILENO, buf, n) < 0)
		_exit(MVM_EXIT_HOST);
	_exit(MVM_EXIT_HOST);
}

static int add_rules(scmp_filter_ctx ctx, const struct rule *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r[i].nr, 0);
		if (ret)
			return ret;
	}
	return 0;
}

static int add_ioctls(scmp_filter_ctx ctx, const unsigned long *cmds, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
					   SCMP_A1(SCMP_CMP_EQ, cmds[i]));
		if (ret)
			return ret;
	}
	return 0;
}

int seccomp__install(struct vm *vm, enum vm_thread_kind kind)
{
	uint32_t deny = armed_mode == SECCOMP_LOG ? SCMP_ACT_LOG : SCMP_ACT_TRAP;
	scmp_filter_ctx ctx;
	int ret;

	(void)vm;
	if (armed_mode == SECCOMP_OFF)
		return 0;
	my_kind = kind;
	ctx = seccomp_init(deny);
	if (!ctx)
		return -ENOMEM;
	ret = add_rules(ctx, common_rules, ARRAY_SIZE(common_rules));
	switch (kind) {
	case VM_THREAD_VCPU:
		ret = ret ?: add_rules(ctx, vcpu_rules, ARRAY_SIZE(vcpu_rules));
		ret = ret ?: add_ioctls(ctx, vcpu_ioctls, ARRAY_SIZE(vcpu_ioctls));
		break;
	case VM_THREAD_IO:
		ret = ret ?: add_rules(ctx, io_rules, ARRAY_SIZE(io_rules));
		ret = ret ?: add_ioctls(ctx, io_ioctls, ARRAY_SIZE(io_ioctls));
		break;
	case VM_THREAD_MAIN:
	default:
		ret = ret ?: add_rules(ctx, main_rules, ARRAY_SIZE(main_rules));
		ret = ret ?: add_ioctls(ctx, main_ioctls, ARRAY_SIZE(main_ioctls));
		break;
	}
	ret = ret ?: seccomp_load(ctx);
	seccomp_release(ctx);
	if (ret)
		pr_err("cannot install the %s thread's seccomp filter (%s); run with --seccomp off",
		       seccomp__kind_name(kind), strerror(-ret));
	return ret;
}

static int sandbox_hook(struct vm *vm, enum vm_thread_kind kind)
{
	return seccomp__install(vm, kind);
}

void seccomp__setup(struct vm *vm, enum seccomp_mode mode)
{
	struct sigaction sa = { .sa_sigaction = sigsys_handler, .sa_flags = SA_SIGINFO };

	armed_mode = mode;
	if (mode == SECCOMP_OFF) {
		vm->sandbox = NULL;
		return;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSYS, &sa, NULL);
	vm->sandbox = sandbox_hook;
}
