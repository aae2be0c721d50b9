/*
 * The filters really stop what they forbid: each case forks a child that
 * installs one thread kind's filter and then makes a syscall.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "seccomp/seccomp.h"

enum probe { PROBE_WRITE, PROBE_OPENAT, PROBE_SOCKET, PROBE_EXECVE, PROBE_GETRANDOM };

/* Runs @probe in a child under @kind's filter; returns its exit status (or 128+signal). */
static int run_child(enum seccomp_mode mode, enum vm_thread_kind kind, enum probe probe,
		     char *err, size_t errlen)
{
	int pipefd[2];
	pid_t pid;
	int status;
	struct vm vm;

	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(pipefd[1], 2);
		memset(&vm, 0, sizeof(vm));
		seccomp__setup(&vm, mode);
		if (vm__thread_sandbox(&vm, kind))
			_exit(99);
		switch (probe) {
		case PROBE_WRITE: _exit(write(2, "", 0) == 0 ? 0 : 98);
		case PROBE_OPENAT: _exit(syscall(SYS_openat, AT_FDCWD, "/etc/hostname", O_RDONLY) >= 0 ? 0 : 97);
		case PROBE_SOCKET: _exit(syscall(SYS_socket, AF_INET, SOCK_STREAM, 0) >= 0 ? 0 : 97);
		case PROBE_EXECVE: syscall(SYS_execve, "/bin/true", NULL, NULL); _exit(97);
		case PROBE_GETRANDOM: { char b[4]; _exit(syscall(SYS_getrandom, b, 4, 0) == 4 ? 0 : 97); }
		}
		_exit(96);
	}
	close(pipefd[1]);
	ssize_t n = read(pipefd[0], err, errlen - 1);
	err[n > 0 ? n : 0] = 0;
	close(pipefd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/*
 * Sanitizer runtimes make syscalls of their own (from interceptors and the
 * SIGSYS path) that the production filters rightly forbid, so the filters
 * are only exercised in normal builds.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SKIP_UNDER_SANITIZER() do { print_message("seccomp filters are not tested under sanitizers\n"); skip(); } while (0)
#else
#define SKIP_UNDER_SANITIZER() do { } while (0)
#endif

static void vcpu_forbidden_syscalls_stop(void **state)
{
	char err[512];
	(void)state;
	SKIP_UNDER_SANITIZER();
	assert_int_equal(run_child(SECCOMP_ON, VM_THREAD_VCPU, PROBE_OPENAT, err, sizeof(err)), 1);
	assert_non_null(strstr(err, "the vCPU thread made forbidden syscall 257"));
	assert_int_equal(run_child(SECCOMP_ON, VM_THREAD_VCPU, PROBE_SOCKET, err, sizeof(err)), 1);
	assert_int_equal(run_child(SECCOMP_ON, VM_THREAD_VCPU, PROBE_EXECVE, err, sizeof(err)), 1);
	assert_int_equal(run_child(SECCOMP_ON, VM_THREAD_VCPU, PROBE_GETRANDOM, err, sizeof(err)), 1);
}

static void allowed_syscalls_pass(void **state)
{
	char err[512];
	(void)state;
	SKIP_UNDER_SANITIZER();
	assert_int_equal(run_child(SECCOMP_ON, VM_THREAD_VCPU, PROBE_WRITE, err, sizeof(err)), 0);
	assert_int_equal(run_child(SECCOMP_ON, VM_THREAD_IO, PROBE_GETRANDOM, err, sizeof(err)), 0);
	assert_int_equal(run_child(SECCOMP_ON, VM_THREAD_IO, PROBE_OPENAT, err, sizeof(err)), 1);
	assert_int_equal(run_child(SECCOMP_ON, VM_THREAD_MAIN, PROBE_SOCKET, err, sizeof(err)), 1);
}

static void log_and_off_modes(void **state)
{
	char err[512];
	(void)state;
	SKIP_UNDER_SANITIZER();
	/* log: the call goes through (the kernel logs it) */
	assert_int_equal(run_child(SECCOMP_LOG, VM_THREAD_VCPU, PROBE_OPENAT, err, sizeof(err)), 0);
	/* off: execve really runs /bin/true, which exits 0 */
	assert_int_equal(run_child(SECCOMP_OFF, VM_THREAD_VCPU, PROBE_EXECVE, err, sizeof(err)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(vcpu_forbidden_syscalls_stop),
		cmocka_unit_test(allowed_syscalls_pass),
		cmocka_unit_test(log_and_off_modes),
	};
	return cmocka_run_group_tests_name("seccomp", tests, NULL, NULL);
}
