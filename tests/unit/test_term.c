/* Console input: the escape parser, the input thread, back-pressure, raw mode. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices/device.h"
#include "devices/serial8250.h"
#include "devices/term.h"
#include "util/util.h"
#include "vm/vm.h"

/* --- the parser ------------------------------------------------------------ */

static void filter_plain_and_literal(void **state)
{
	struct term_esc e = { 0 };
	uint8_t out[16];
	size_t used;
	enum term_cmd cmd;
	const uint8_t in[] = { 'a', 0x01, 0x01, 'b', 0x01, 'z', 'c', 0x03 };

	size_t n = term__filter(&e, in, sizeof(in), out, &used, &cmd);
	assert_int_equal(cmd, TERM_CMD_NONE);
	assert_int_equal(used, sizeof(in));
	/* Ctrl-A Ctrl-A -> one Ctrl-A; Ctrl-A z swallowed; Ctrl-C passes. */
	assert_int_equal(n, 5);
	assert_memory_equal(out, "a\001bc\003", 5);
}

static void filter_quit_stops_the_run(void **state)
{
	struct term_esc e = { 0 };
	uint8_t out[16];
	size_t used;
	enum term_cmd cmd;

	size_t n = term__filter(&e, (const uint8_t *)"ls\001xrest", 9, out, &used, &cmd);
	assert_int_equal(cmd, TERM_CMD_QUIT);
	assert_int_equal(n, 2);
	assert_int_equal(used, 4);
	/* The escape state spans reads: Ctrl-A at the end of one, x in the next. */
	n = term__filter(&e, (const uint8_t *)"q\001", 2, out, &used, &cmd);
	assert_int_equal(cmd, TERM_CMD_NONE);
	assert_int_equal(n, 1);
	assert_true(e.escaped);
	n = term__filter(&e, (const uint8_t *)"x", 1, out, &used, &cmd);
	assert_int_equal(cmd, TERM_CMD_QUIT);
	assert_int_equal(n, 0);
	n = term__filter(&e, (const uint8_t *)"\001hz", 3, out, &used, &cmd);
	assert_int_equal(cmd, TERM_CMD_HELP);
	assert_int_equal(used, 2);
	assert_int_equal(n, 0);
}

/* --- the input thread ---------------------------------------------------- */

static const struct vcpu_backend fake_backend = { .name = "fake" };

static pthread_mutex_t sink_lock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t got[65536];
static size_t got_len, budget, sink_calls;

static size_t test_sink(void *opaque, const uint8_t *buf, size_t n)
{
	pthread_mutex_lock(&sink_lock);
	size_t k = MIN(n, budget);
	memcpy(got + got_len, buf, k);
	got_len += k;
	budget -= k;
	sink_calls++;
	pthread_mutex_unlock(&sink_lock);
	return k;
}

static size_t sink_total(void)
{
	pthread_mutex_lock(&sink_lock);
	size_t n = got_len;
	pthread_mutex_unlock(&sink_lock);
	return n;
}

static void set_budget(size_t b)
{
	pthread_mutex_lock(&sink_lock);
	budget = b;
	pthread_mutex_unlock(&sink_lock);
}

/* Wait up to 2 s for the sink to hold @n bytes. */
static bool wait_for(size_t n)
{
	for (int i = 0; i < 2000; i++) {
		if (sink_total() >= n)
			return true;
		usleep(1000);
	}
	return false;
}

struct fixture {
	struct vm vm;
	struct config cfg;
	int in[2];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->vm.backend = &fake_backend;
	f->vm.cfg = &f->cfg;
	bus__init(&f->vm.pio, "pio");
	bus__init(&f->vm.mmio, "mmio");
	assert_int_equal(pipe(f->in), 0);
	got_len = sink_calls = 0;
	budget = SIZE_MAX;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	term__stop();
	device__destroy_all(&f->vm);
	bus__exit(&f->vm.pio);
	bus__exit(&f->vm.mmio);
	close(f->in[0]);
	if (f->in[1] >= 0)
		close(f->in[1]);
	free(f);
	return 0;
}

static void start(struct fixture *f, term_sink_fn fn, void *opaque)
{
	assert_int_equal(term__init(&f->vm, f->in[0], fn, opaque), 0);
	assert_int_equal(term__start(), 0);
}

static void pipe_input_reaches_sink(void **state)
{
	struct fixture *f = *state;

	/* Started and stopped through the device list, as main.c does. */
	assert_int_equal(term__init(&f->vm, f->in[0], test_sink, NULL), 0);
	assert_non_null(f->vm.devices);
	assert_string_equal(f->vm.devices->name, "term");
	assert_int_equal(device__start_all(&f->vm), 0);
	assert_int_equal(write(f->in[1], "echo hi\n", 8), 8);
	assert_true(wait_for(8));
	assert_memory_equal(got, "echo hi\n", 8);
	assert_false(vm__stopping(&f->vm));
	/* A second console is refused while one runs. */
	assert_int_equal(term__init(&f->vm, f->in[0], test_sink, NULL), -EBUSY);
}

static void backpressure_and_kick(void **state)
{
	struct fixture *f = *state;

	set_budget(3);
	start(f, test_sink, NULL);
	assert_int_equal(write(f->in[1], "abcdefgh", 8), 8);
	assert_true(wait_for(3));
	usleep(20000);
	assert_int_equal(sink_total(), 3);	/* the rest waits in mvm, not lost */
	set_budget(100);
	term__kick(NULL);
	assert_true(wait_for(8));
	assert_memory_equal(got, "abcdefgh", 8);
}

static void pipe_is_not_drained_while_refused(void **state)
{
	struct fixture *f = *state;
	static uint8_t big[20000];
	int queued = 0;

	memset(big, 'z', sizeof(big));
	set_budget(0);
	assert_int_equal(fcntl(f->in[1], F_SETPIPE_SZ, 65536) >= 0, 1);
	assert_int_equal(write(f->in[1], big, sizeof(big)), (ssize_t)sizeof(big));
	start(f, test_sink, NULL);
	usleep(100000);
	/* mvm took at most its bounded buffer; the rest stays in the pipe. */
	assert_int_equal(ioctl(f->in[0], FIONREAD, &queued), 0);
	assert_true(queued >= (int)sizeof(big) - TERM_PENDING_MAX);
	set_budget(SIZE_MAX);
	term__kick(NULL);
	assert_true(wait_for(sizeof(big)));
	assert_memory_equal(got, big, sizeof(big));
}

static double cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void eof_does_not_spin_or_stop(void **state)
{
	struct fixture *f = *state;

	start(f, test_sink, NULL);
	assert_int_equal(write(f->in[1], "last", 4), 4);
	close(f->in[1]);
	f->in[1] = -1;
	assert_true(wait_for(4));
	double before = cpu_seconds();
	usleep(300000);
	/* A spinning thread would burn ~0.3 s here. */
	assert_true(cpu_seconds() - before < 0.05);
	assert_false(vm__stopping(&f->vm));
	/* EOF while the sink refuses: the 100 ms tick, not a spin. */
}

static void ctrl_a_x_stops_vm(void **state)
{
	struct fixture *f = *state;

	start(f, test_sink, NULL);
	assert_int_equal(write(f->in[1], "ok\001xnot-sent", 13), 13);
	for (int i = 0; i < 2000 && !vm__stopping(&f->vm); i++)
		usleep(1000);
	assert_true(vm__stopping(&f->vm));
	assert_int_equal(f->vm.exit_status, MVM_EXIT_POWEROFF);
	assert_string_equal(f->vm.stop_reason, "console: Ctrl-A x");
	assert_true(wait_for(2));
	usleep(20000);
	assert_int_equal(sink_total(), 2);
	assert_memory_equal(got, "ok", 2);
}

/* On a pipe the quit waits until the input before it was delivered. */
static void ctrl_a_x_in_order_on_a_pipe(void **state)
{
	struct fixture *f = *state;

	set_budget(2);
	start(f, test_sink, NULL);
	assert_int_equal(write(f->in[1], "poweroff\n\001x", 11), 11);
	assert_true(wait_for(2));
	usleep(150000);		/* past the fallback tick too */
	assert_false(vm__stopping(&f->vm));
	set_budget(100);
	term__kick(NULL);
	for (int i = 0; i < 2000 && !vm__stopping(&f->vm); i++)
		usleep(1000);
	assert_true(vm__stopping(&f->vm));
	assert_int_equal(sink_total(), 9);
	assert_memory_equal(got, "poweroff\n", 9);
}

static int irq_dummy(struct vm *vm, uint32_t gsi, int level)
{
	return 0;
}

static const struct vcpu_backend irq_backend = { .name = "fake", .irq_line = irq_dummy };

/* The whole chain: pipe -> thread -> 16550 FIFO -> guest reads -> kick -> more. */
static void serial_chain(void **state)
{
	struct fixture *f = *state;
	struct serial8250 *s;
	uint8_t msg[100], in[100];
	size_t n = 0;

	for (unsigned i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)('0' + i % 64);
	f->vm.backend = &irq_backend;
	assert_int_equal(serial8250__init(&f->vm, 0x3f8, 4, -1, &s), 0);
	serial8250__set_rx_notify(s, term__kick, NULL);
	uint8_t fcr = 0x01, dummy;
	assert_true(bus__access(&f->vm.pio, 0x3fa, &fcr, 1, true));
	/* A polling guest arms the receiver with one read of RBR (serial8250.h). */
	assert_true(bus__access(&f->vm.pio, 0x3f8, &dummy, 1, false));
	start(f, serial8250__term_sink, s);
	assert_int_equal(write(f->in[1], msg, sizeof(msg)), (ssize_t)sizeof(msg));
	/* The guest polls LSR.DR and reads RBR, as a polling driver does. */
	for (int spins = 0; n < sizeof(msg) && spins < 2000000; spins++) {
		uint8_t lsr;
		assert_true(bus__access(&f->vm.pio, 0x3fd, &lsr, 1, false));
		if (lsr & 0x01)
			assert_true(bus__access(&f->vm.pio, 0x3f8, &in[n++], 1, false));
		else if (spins % 64 == 0)
			usleep(100);
	}
	assert_int_equal(n, sizeof(msg));
	assert_memory_equal(in, msg, sizeof(msg));
}

/* --- raw mode on a pseudo-terminal ------------------------------------- */

static int open_pty(int *slave)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY);
	assert_true(m >= 0);
	assert_int_equal(grantpt(m), 0);
	assert_int_equal(unlockpt(m), 0);
	*slave = open(ptsname(m), O_RDWR | O_NOCTTY);
	assert_true(*slave >= 0);
	return m;
}

static void raw_mode_and_restore(void **state)
{
	struct fixture *f = *state;
	struct termios before, during, after;
	int slave, master = open_pty(&slave);

	assert_int_equal(tcgetattr(slave, &before), 0);
	assert_true(before.c_lflag & ICANON);
	assert_int_equal(term__init(&f->vm, slave, test_sink, NULL), 0);
	assert_int_equal(tcgetattr(slave, &during), 0);
	assert_false(during.c_lflag & (ICANON | ECHO | ISIG));
	assert_false(during.c_iflag & (ICRNL | IXON));
	/* Output processing is left alone so a bare \n still returns the carriage. */
	assert_int_equal(during.c_oflag, before.c_oflag);
	assert_int_equal(term__start(), 0);
	/* Ctrl-C is a byte for the guest, not a signal. */
	assert_int_equal(write(master, "\003\r", 2), 2);
	assert_true(wait_for(2));
	assert_memory_equal(got, "\003\r", 2);
	term__stop();
	term__stop();		/* idempotent */
	term__restore();
	assert_int_equal(tcgetattr(slave, &after), 0);
	assert_int_equal(after.c_lflag, before.c_lflag);
	assert_int_equal(after.c_iflag, before.c_iflag);
	close(slave);
	close(master);
}

static void sigterm_restores_terminal(void **state)
{
	struct fixture *f = *state;
	struct termios before, after;
	int slave, master = open_pty(&slave), status;

	assert_int_equal(tcgetattr(slave, &before), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (term__init(&f->vm, slave, test_sink, NULL))
			_exit(10);
		if (term__start())
			_exit(11);
		for (;;)
			pause();
	}
	/* Wait for the child to switch the terminal to raw. */
	for (int i = 0; i < 2000; i++) {
		struct termios t;
		tcgetattr(slave, &t);
		if (!(t.c_lflag & ICANON))
			break;
		usleep(1000);
	}
	assert_int_equal(tcgetattr(slave, &after), 0);
	assert_false(after.c_lflag & ICANON);
	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	/* Restored, and the child still died of SIGTERM (re-raised). */
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGTERM);
	assert_int_equal(tcgetattr(slave, &after), 0);
	assert_int_equal(after.c_lflag, before.c_lflag);
	close(slave);
	close(master);
}

static void exit_restores_terminal(void **state)
{
	struct fixture *f = *state;
	struct termios before, after;
	int slave, master = open_pty(&slave), status;

	assert_int_equal(tcgetattr(slave, &before), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (term__init(&f->vm, slave, test_sink, NULL))
			_exit(10);
		exit(7);	/* a die() without term__stop: atexit restores */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 7);
	assert_int_equal(tcgetattr(slave, &after), 0);
	assert_int_equal(after.c_lflag, before.c_lflag);
	close(slave);
	close(master);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(filter_plain_and_literal),
		cmocka_unit_test(filter_quit_stops_the_run),
		cmocka_unit_test_setup_teardown(pipe_input_reaches_sink, setup, teardown),
		cmocka_unit_test_setup_teardown(backpressure_and_kick, setup, teardown),
		cmocka_unit_test_setup_teardown(pipe_is_not_drained_while_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(eof_does_not_spin_or_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(ctrl_a_x_stops_vm, setup, teardown),
		cmocka_unit_test_setup_teardown(ctrl_a_x_in_order_on_a_pipe, setup, teardown),
		cmocka_unit_test_setup_teardown(serial_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(raw_mode_and_restore, setup, teardown),
		cmocka_unit_test_setup_teardown(sigterm_restores_terminal, setup, teardown),
		cmocka_unit_test_setup_teardown(exit_restores_terminal, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
