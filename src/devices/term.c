#include "term.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <termios.h>
#include <unistd.h>

#include "../util/util.h"
#include "../vm/vm.h"
#include "device.h"

/* Signals whose default action ends the process; crashes included. */
static const int fatal_signals[] = {
	SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT,
};

/*
 * One console per process: the terminal and the signal handlers are
 * process-wide, so the state is too.
 */
static struct {
	bool inited;
	struct vm *vm;
	int in_fd;
	term_sink_fn sink;
	void *opaque;
	bool is_tty;

	struct termios saved;
	int raw;		/* atomic: 1 while the saved settings need restoring */
	bool handlers_armed;	/* atexit and signal handlers: once per process */

	struct device dev;	/* start/destroy run the thread with the machine */
	int wake_fd;		/* eventfd: kick and stop */
	pthread_t thread;
	bool started;
	int stop;		/* atomic */

	/* Input-thread only from here on. */
	struct term_esc esc;
	bool eof;
	bool quit_queued;	/* a pipe's Ctrl-A x, once what preceded it is delivered */
	uint8_t pending[TERM_PENDING_MAX];
	size_t pend_off, pend_len;
} term = { .in_fd = -1, .wake_fd = -1 };

size_t term__filter(struct term_esc *e, const uint8_t *in, size_t n, uint8_t *out,
		    size_t *consumed, enum term_cmd *cmd)
{
	size_t o = 0, i;

	*cmd = TERM_CMD_NONE;
	for (i = 0; i < n; i++) {
		uint8_t c = in[i];

		if (!e->escaped) {
			if (c == TERM_ESCAPE)
				e->escaped = true;
			else
				out[o++] = c;
			continue;
		}
		e->escaped = false;
		if (c == TERM_ESCAPE) {
			out[o++] = c;
		} else if (c == 'x' || c == 'X') {
			*cmd = TERM_CMD_QUIT;
			i++;
			break;
		} else if (c == 'h' || c == 'H' || c == '?') {
			*cmd = TERM_CMD_HELP;
			i++;
			break;
		}
		/* Anything else after the escape is swallowed, as QEMU does. */
	}
	*consumed = i;
	return o;
}

void term__restore(void)
{
	/* Only async-signal-safe calls: this runs from signal handlers. */
	if (__atomic_exchange_n(&term.raw, 0, __ATOMIC_ACQ_REL))
		tcsetattr(term.in_fd, TCSANOW, &term.saved);
}

static void term__on_signal(int sig)
{
	int saved_errno = errno;

	term__restore();
	/* SA_RESETHAND put the default action back; deliver it now. */
	raise(sig);
	errno = saved_errno;
}

static void term__atexit(void)
{
	term__restore();
}

static void term__arm_handlers(void)
{
	if (term.handlers_armed)
		return;
	term.handlers_armed = true;
	atexit(term__atexit);
	for (size_t i = 0; i < ARRAY_SIZE(fatal_signals); i++) {
		struct sigaction old, sa = { .sa_handler = term__on_signal,
					     .sa_flags = SA_RESETHAND | SA_NODEFER };

		/* Whoever installed a handler first (main.c, ASan) keeps it. */
		if (sigaction(fatal_signals[i], NULL, &old) || old.sa_handler != SIG_DFL ||
		    (old.sa_flags & SA_SIGINFO))
			continue;
		sigemptyset(&sa.sa_mask);
		sigaction(fatal_signals[i], &sa, NULL);
	}
}

/* Like cfmakeraw, but output processing stays as the user had it. */
static int term__make_raw(int fd)
{
	struct termios t;

	if (tcgetattr(fd, &term.saved))
		return -errno;
	t = term.saved;
	t.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL |
				 IXON);
	t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
	t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
	t.c_cflag |= CS8;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	term__arm_handlers();
	/* Armed before the switch: there is no moment left unrestorable. */
	__atomic_store_n(&term.raw, 1, __ATOMIC_RELEASE);
	if (tcsetattr(fd, TCSANOW, &t)) {
		int err = errno;
		__atomic_store_n(&term.raw, 0, __ATOMIC_RELEASE);
		return -err;
	}
	return 0;
}

static int term__dev_start(struct device *d)
{
	return term__start();
}

/* Destroyed before the sink's device, which was registered earlier. */
static void term__dev_destroy(struct device *d)
{
	term__stop();
}

int term__init(struct vm *vm, int in_fd, term_sink_fn fn, void *opaque)
{
	int ret;

	if (term.inited)
		return -EBUSY;
	if (in_fd >= 0 && !fn)
		return -EINVAL;
	term.vm = vm;
	term.sink = fn;
	term.opaque = opaque;
	term.in_fd = in_fd;
	term.is_tty = in_fd >= 0 && isatty(in_fd);
	term.esc = (struct term_esc){ 0 };
	term.eof = false;
	term.quit_queued = false;
	term.pend_off = term.pend_len = 0;
	__atomic_store_n(&term.stop, 0, __ATOMIC_RELEASE);

	/* tcgetpgrp fails for a terminal that is not our controlling one: no job control. */
	pid_t fg = term.is_tty ? tcgetpgrp(in_fd) : -1;
	if (fg >= 0 && fg != getpgrp()) {
		pr_info("console: stdin is a terminal this process does not own (background "
			"job); not reading it -- run mvm in the foreground to type to the guest");
		term.in_fd = -1;
		term.is_tty = false;
	}
	if (term.is_tty) {
		ret = term__make_raw(in_fd);
		if (ret) {
			pr_err("console: tcsetattr(raw) on fd %d failed: %s", in_fd,
			       strerror(-ret));
			return ret;
		}
	}
	/*
	 * Never closed: a late term__kick from a vCPU thread must not write
	 * into whatever file would reuse the number.
	 */
	if (term.in_fd >= 0 && term.wake_fd < 0) {
		int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (fd < 0) {
			ret = -errno;
			pr_err("console: eventfd failed: %s", strerror(-ret));
			term__restore();
			return ret;
		}
		__atomic_store_n(&term.wake_fd, fd, __ATOMIC_RELEASE);
	}
	if (term.wake_fd >= 0) {
		uint64_t cnt;
		if (read(term.wake_fd, &cnt, sizeof(cnt)) < 0) {
			/* EAGAIN: nothing stale to drain */
		}
	}
	term.inited = true;
	term.dev = (struct device){ .name = "term", .start = term__dev_start,
				    .destroy = term__dev_destroy };
	device__register(vm, &term.dev);
	return 0;
}

void term__kick(void *unused)
{
	uint64_t one = 1;
	int fd = __atomic_load_n(&term.wake_fd, __ATOMIC_ACQUIRE);

	/* EAGAIN means the counter is saturated: a wake-up is pending anyway. */
	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0) {
	}
}

static void term__help(void)
{
	static const char help[] =
		"\nmvm console escapes:\n"
		"  Ctrl-A x       stop the VM and exit\n"
		"  Ctrl-A Ctrl-A  send Ctrl-A to the guest\n"
		"  Ctrl-A h       this help\n";
	if (write(STDERR_FILENO, help, sizeof(help) - 1) < 0) {
	}
}

/* Compact the pending buffer; returns the free room at its end. */
static size_t pending_room(void)
{
	if (term.pend_off) {
		memmove(term.pending, term.pending + term.pend_off,
			term.pend_len - term.pend_off);
		term.pend_len -= term.pend_off;
		term.pend_off = 0;
	}
	return sizeof(term.pending) - term.pend_len;
}

static void term__read_input(void)
{
	uint8_t raw[256], out[sizeof(raw)];
	size_t want = sizeof(raw), pos = 0;
	ssize_t n;

	/* A pipe or file is back-pressured; a terminal is read to see escapes. */
	if (!term.is_tty)
		want = MIN(want, pending_room());
	if (!want)
		return;
	n = read(term.in_fd, raw, want);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		/* EOF, or EIO from a hung-up terminal: stop reading, keep the VM. */
		if (n < 0)
			pr_info("console: read from fd %d failed: %s; no more input",
				term.in_fd, strerror(errno));
		term.eof = true;
		return;
	}
	while (pos < (size_t)n) {
		enum term_cmd cmd;
		size_t used, o = term__filter(&term.esc, raw + pos, (size_t)n - pos, out, &used,
					      &cmd);
		size_t room = pending_room();

		/* Only a terminal can overflow (see term.h): drop, like an overrun. */
		memcpy(term.pending + term.pend_len, out, MIN(o, room));
		term.pend_len += MIN(o, room);
		pos += used;
		if (cmd == TERM_CMD_QUIT) {
			/*
			 * A person wants out now, whatever is still queued; a
			 * script wants its earlier input to reach the guest first.
			 */
			if (term.is_tty)
				vm__request_stop(term.vm, MVM_EXIT_POWEROFF, "console: Ctrl-A x");
			else
				term.quit_queued = true;
			term.eof = true;	/* nothing after the escape is read */
			return;
		}
		if (cmd == TERM_CMD_HELP)
			term__help();
	}
}

static void term__deliver(void)
{
	while (term.pend_off < term.pend_len && !__atomic_load_n(&term.stop, __ATOMIC_ACQUIRE)) {
		size_t k = term.sink(term.opaque, term.pending + term.pend_off,
				     term.pend_len - term.pend_off);
		if (!k)
			break;
		term.pend_off += MIN(k, term.pend_len - term.pend_off);
	}
	if (term.pend_off == term.pend_len) {
		term.pend_off = term.pend_len = 0;
		if (term.quit_queued) {
			term.quit_queued = false;
			vm__request_stop(term.vm, MVM_EXIT_POWEROFF, "console: Ctrl-A x");
		}
	}
}

static void *term__thread(void *arg)
{
	if (vm__thread_sandbox(term.vm, VM_THREAD_IO)) {
		vm__request_stop(term.vm, MVM_EXIT_HOST, "console input: cannot install its seccomp filter");
		return NULL;
	}
	while (!__atomic_load_n(&term.stop, __ATOMIC_ACQUIRE)) {
		struct pollfd fds[2] = { { .fd = term.wake_fd, .events = POLLIN } };
		nfds_t nfds = 1;
		bool waiting = term.pend_off < term.pend_len;
		bool want = !term.eof &&
			    (term.is_tty || term.pend_len - term.pend_off < sizeof(term.pending));
		uint64_t cnt;

		if (want)
			fds[nfds++] = (struct pollfd){ .fd = term.in_fd, .events = POLLIN };
		/* The tick only covers a sink that forgot to kick; idle waits forever. */
		int r = poll(fds, nfds, waiting ? 100 : -1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			pr_err("console: poll failed: %s; console input stops", strerror(errno));
			break;
		}
		if (fds[0].revents && read(term.wake_fd, &cnt, sizeof(cnt)) < 0) {
		}
		if (__atomic_load_n(&term.stop, __ATOMIC_ACQUIRE))
			break;
		if (want && fds[1].revents)
			term__read_input();
		term__deliver();
	}
	return NULL;
}

int term__start(void)
{
	int ret;

	if (!term.inited || term.in_fd < 0 || term.started)
		return 0;
	ret = -pthread_create(&term.thread, NULL, term__thread, NULL);
	if (ret) {
		pr_err("console: pthread_create failed: %s", strerror(-ret));
		return ret;
	}
	term.started = true;
	return 0;
}

void term__stop(void)
{
	if (!term.inited)
		return;
	__atomic_store_n(&term.stop, 1, __ATOMIC_RELEASE);
	if (term.started) {
		term__kick(NULL);
		pthread_join(term.thread, NULL);
		term.started = false;
	}
	term__restore();
	term.inited = false;
}
