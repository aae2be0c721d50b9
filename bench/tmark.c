/*
 * tmark: time a VMM from its start until a marker line shows up on its output.
 *
 *   tmark [-t TIMEOUT_S] [-g GRACE_MS] [-G GUEST_MIB] [-l LOG] MARKER CMD [ARG...]
 *
 * Prints one line of key=value pairs:
 *   marker_ms   from just before fork() to the read() that completed MARKER (-1: never)
 *   total_ms    from the same start until the VMM was reaped
 *   maxrss_kb   the VMM's peak resident set (wait4's ru_maxrss, all threads)
 *   guest_kb    resident pages of its guest-RAM mappings when the marker appeared
 *               (mappings at least GUEST_MIB large; only with -G)
 *   vmm_kb      maxrss_kb - guest_kb: what the VMM costs beyond the guest's memory
 *   rc          exit status, 128+N for signal N, 124 when TIMEOUT_S hit
 * -g GRACE_MS: SIGKILL the VMM that long after the marker (default: let it exit).
 * The VMM's stdout and stderr go to LOG (default /dev/null); stdin is inherited.
 * Built static so it runs in the nested-KVM L1 initramfs without libraries.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_MARKER 256
#define CHUNK 65536

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/*
 * Sum the Rss of every mapping of PID at least MIN_BYTES long.  Guest RAM is
 * one big anonymous mapping in every VMM measured here; nothing else a VMM
 * maps comes close to the guest size.
 */
static long guest_rss_kb(pid_t pid, uint64_t min_bytes)
{
	char path[64], line[512];
	uint64_t lo, hi;
	long kb, sum = 0;
	int big = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
			big = hi - lo >= min_bytes;
		else if (big && sscanf(line, "Rss: %ld kB", &kb) == 1)
			sum += kb;
	}
	fclose(f);
	return sum;
}

static void usage(void)
{
	fputs("usage: tmark [-t TIMEOUT_S] [-g GRACE_MS] [-G GUEST_MIB] [-l LOG] MARKER CMD [ARG...]\n", stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	double timeout_ms = 600e3, grace_ms = -1, t0, t_mark = -1, t_end;
	const char *log_path = "/dev/null", *marker;
	static char buf[MAX_MARKER + CHUNK];
	uint64_t guest_min = 0;
	long guest_kb = -1;
	size_t mlen, carry = 0;
	int opt, pipefd[2], logfd, status = 0, timed_out = 0, rc;
	struct rusage ru;
	pid_t pid;

	while ((opt = getopt(argc, argv, "+t:g:G:l:")) != -1) {
		switch (opt) {
		case 't': timeout_ms = atof(optarg) * 1e3; break;
		case 'g': grace_ms = atof(optarg); break;
		case 'G': guest_min = strtoull(optarg, NULL, 0) << 20; break;
		case 'l': log_path = optarg; break;
		default: usage();
		}
	}
	if (argc - optind < 2)
		usage();
	marker = argv[optind];
	mlen = strlen(marker);
	if (mlen == 0 || mlen > MAX_MARKER) {
		fprintf(stderr, "tmark: the marker must be 1-%d bytes\n", MAX_MARKER);
		return 2;
	}
	logfd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (logfd < 0 || pipe2(pipefd, O_CLOEXEC) < 0) {
		fprintf(stderr, "tmark: open %s / pipe2: %s\n", log_path, strerror(errno));
		return 2;
	}

	t0 = now_ms();
	pid = fork();
	if (pid < 0) {
		perror("tmark: fork");
		return 2;
	}
	if (pid == 0) {
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		execvp(argv[optind + 1], argv + optind + 1);
		fprintf(stderr, "tmark: exec %s: %s\n", argv[optind + 1], strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);

	for (;;) {
		double now = now_ms() - t0, left = timeout_ms - now;
		struct pollfd pfd = { .fd = pipefd[0], .events = POLLIN };
		ssize_t n;
		size_t total, keep;

		if (t_mark >= 0 && grace_ms >= 0) {
			if (now >= t_mark + grace_ms) {
				kill(pid, SIGKILL);
				break;
			}
			if (t_mark + grace_ms - now < left)
				left = t_mark + grace_ms - now;
		}
		if (now >= timeout_ms) {
			kill(pid, SIGKILL);
			timed_out = 1;
			break;
		}
		if (poll(&pfd, 1, (int)left + 1) <= 0)
			continue;
		n = read(pipefd[0], buf + carry, CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;	/* every writer (the VMM and its children) is gone */
		total = carry + n;
		if (t_mark < 0 && memmem(buf, total, marker, mlen)) {
			t_mark = now_ms() - t0;
			if (guest_min)
				guest_kb = guest_rss_kb(pid, guest_min);
		}
		if (write(logfd, buf + carry, n) != n) {
			/* the log is a convenience; timing matters more */
		}
		/* keep a marker-sized tail so a marker split across reads is found */
		keep = total < mlen - 1 ? total : mlen - 1;
		memmove(buf, buf + total - keep, keep);
		carry = keep;
	}
	memset(&ru, 0, sizeof(ru));
	while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR)
		;
	t_end = now_ms() - t0;
	rc = timed_out ? 124 : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	printf("marker_ms=%.1f total_ms=%.1f maxrss_kb=%ld guest_kb=%ld vmm_kb=%ld rc=%d\n",
	       t_mark, t_end, ru.ru_maxrss, guest_kb,
	       guest_kb >= 0 ? ru.ru_maxrss - guest_kb : -1, rc);
	return 0;
}
