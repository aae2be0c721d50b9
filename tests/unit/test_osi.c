/* OSI hypercall service: call set, bounds checks, exit status. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "devices/osi.h"
#include "vm/vm.h"

#define RAM (32ULL << 20)

static int setup(void **state)
{
	struct vm *vm = calloc(1, sizeof(*vm));

	assert_int_equal(mem__init(&vm->mem, RAM), 0);
	osi__init(vm);
	assert_ptr_equal(vm->osi, osi__handle);
	*state = vm;
	return 0;
}

static int teardown(void **state)
{
	struct vm *vm = *state;

	mem__exit(&vm->mem);
	free(vm);
	return 0;
}

static enum vcpu_action call(struct vm *vm, uint64_t *g, uint64_t rbx, uint64_t rcx, uint64_t rdx)
{
	memset(g, 0, 32 * sizeof(*g));
	g[OSI_GPR_RAX] = OSI_MAGIC;
	g[OSI_GPR_RBX] = rbx;
	g[OSI_GPR_RCX] = rcx;
	g[OSI_GPR_RDX] = rdx;
	g[OSI_GPR_RSI] = 0x5151;
	return vm->osi(vm, NULL, g);
}

static void test_probe_and_unknown(void **state)
{
	struct vm *vm = *state;
	uint64_t g[32];

	assert_int_equal(call(vm, g, OSI_CALL_PROBE, 0, 0), VCPU_CONTINUE);
	assert_int_equal(g[OSI_GPR_RAX], 0);
	assert_int_equal(g[OSI_GPR_RCX], OSI_VERSION);
	assert_int_equal(g[OSI_GPR_RSI], 0x5151);	/* untouched */
	assert_int_equal(call(vm, g, 99, 0, 0), VCPU_CONTINUE);
	assert_int_equal((int64_t)g[OSI_GPR_RAX], -ENOSYS);
	/* Wrong magic: refused even if a backend forwarded it. */
	memset(g, 0, sizeof(g));
	g[OSI_GPR_RAX] = 0x1234;
	assert_int_equal(vm->osi(vm, NULL, g), VCPU_CONTINUE);
	assert_int_equal((int64_t)g[OSI_GPR_RAX], -ENOSYS);
	assert_false(vm__stopping(vm));
}

static void test_write(void **state)
{
	struct vm *vm = *state;
	uint64_t g[32];
	char out[64] = { 0 };
	int pipefd[2], saved = dup(STDOUT_FILENO);

	assert_int_equal(mem__write(&vm->mem, 0x5000, "hello, osi\n", 11), 0);
	assert_int_equal(pipe(pipefd), 0);
	dup2(pipefd[1], STDOUT_FILENO);
	call(vm, g, OSI_CALL_WRITE, 0x5000, 11);
	dup2(saved, STDOUT_FILENO);
	close(pipefd[1]);
	assert_int_equal(g[OSI_GPR_RAX], 11);
	assert_int_equal(read(pipefd[0], out, sizeof(out)), 11);
	assert_string_equal(out, "hello, osi\n");
	close(pipefd[0]);
	close(saved);
}

static void test_write_bounds(void **state)
{
	struct vm *vm = *state;
	uint64_t g[32];

	call(vm, g, OSI_CALL_WRITE, RAM - 4, 8);
	assert_int_equal((int64_t)g[OSI_GPR_RAX], -EFAULT);
	call(vm, g, OSI_CALL_WRITE, UINT64_MAX - 2, 8);
	assert_int_equal((int64_t)g[OSI_GPR_RAX], -EFAULT);
	call(vm, g, OSI_CALL_WRITE, MEM_HOLE_START, 1);
	assert_int_equal((int64_t)g[OSI_GPR_RAX], -EFAULT);
	call(vm, g, OSI_CALL_WRITE, 0, OSI_WRITE_MAX + 1);
	assert_int_equal((int64_t)g[OSI_GPR_RAX], -EINVAL);
	call(vm, g, OSI_CALL_WRITE, 0, 0);
	assert_int_equal(g[OSI_GPR_RAX], 0);
}

static void test_exit(void **state)
{
	struct vm *vm = *state;
	uint64_t g[32];

	assert_int_equal(call(vm, g, OSI_CALL_EXIT, 0, 0), VCPU_STOP);
	assert_true(vm__stopping(vm));
	assert_int_equal(vm->exit_status, 1);
	assert_int_equal(g[OSI_GPR_RAX], 0);
}

static void test_exit_code(void **state)
{
	struct vm *vm = *state;
	uint64_t g[32];

	assert_int_equal(call(vm, g, OSI_CALL_EXIT, 3, 0), VCPU_STOP);
	assert_int_equal(vm->exit_status, 7);
}

static void test_clock(void **state)
{
	struct vm *vm = *state;
	uint64_t g[32], a, b;
	struct timespec ts;

	call(vm, g, OSI_CALL_CLOCK, 0, 0);
	a = g[OSI_GPR_RAX];
	ts = (struct timespec){ 0, 2000000 };
	nanosleep(&ts, NULL);
	call(vm, g, OSI_CALL_CLOCK, 0, 0);
	b = g[OSI_GPR_RAX];
	assert_true(b >= a + 2000000);
	assert_true(b - a < 10ULL * 1000000000ULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_probe_and_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exit_code, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clock, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
