/* util: logging, fatal set-up errors, size parsing, whole-file reads. */
#ifndef MVM_UTIL_H
#define MVM_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Process exit status contract (documented in man/mvm.1, EXIT STATUS). */
enum mvm_exit_status {
	MVM_EXIT_POWEROFF = 0,	/* guest powered off */
	MVM_EXIT_HOST = 1,	/* host set-up or run-time failure */
	MVM_EXIT_USAGE = 2,	/* bad command line or input files */
	MVM_EXIT_REBOOT = 3,	/* guest asked for a reboot */
	MVM_EXIT_CRASH = 4,	/* guest crashed: triple fault, internal error */
};

enum log_level { LOG_QUIET = -1, LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };
extern enum log_level util__log_level;

void util__log(enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define pr_err(...) util__log(LOG_ERROR, __VA_ARGS__)
#define pr_warn(...) util__log(LOG_WARN, __VA_ARGS__)
#define pr_info(...) util__log(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) util__log(LOG_DEBUG, __VA_ARGS__)

/*
 * Set-up only: print "mvm: <msg>" on one line and exit with @status.
 * Never call once vCPUs run; return -errno instead.
 */
__attribute__((noreturn, format(printf, 2, 3)))
void die(int status, const char *fmt, ...);

/*
 * printf to a file descriptor with one write(): safe under the seccomp
 * filters (glibc's dprintf probes the fd with fstat) and lines from several
 * threads never interleave.  Output longer than 1 KiB is cut.
 */
void util__fdprintf(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "256M", "1G", "4096", "64k" -> bytes. -EINVAL on junk, -ERANGE on overflow. */
int util__parse_size(const char *s, uint64_t *out);

/*
 * Read a whole regular file into a malloc'd buffer (caller frees).
 * -EISDIR for directories, -EFBIG above @max bytes, other -errno from open/read.
 */
int util__read_file(const char *path, size_t max, uint8_t **buf, size_t *len);

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a) (((x) + (a) - 1) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define __must_check __attribute__((warn_unused_result))

#endif
