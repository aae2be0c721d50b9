/*
 * term: the host side of the guest console -- stdin (or any fd) read by one
 * input thread and fed to a sink (the 8250 now, virtio-console later).
 *
 * A terminal is put in raw mode so every key reaches the guest (Ctrl-C
 * included); output processing is left as it was so a guest that prints a
 * bare "\n" still gets a carriage return.  The saved settings come back on
 * every way out: term__restore (idempotent), atexit, and fatal signals
 * (SIGTERM/SIGINT/SIGHUP/SIGQUIT and crashes: restore, then re-raise with
 * the default action) -- a handler is only installed where none was.
 *
 * Escapes, as in QEMU: Ctrl-A x stops the VM with MVM_EXIT_POWEROFF and the
 * reason "console: Ctrl-A x" (the user asked to leave; not an error),
 * Ctrl-A Ctrl-A sends one Ctrl-A, Ctrl-A h or ? prints help on stderr, any
 * other character after Ctrl-A is dropped.  The escape works on a pipe too,
 * so a script can end a VM with printf '\001x'; there it takes effect once
 * everything before it has been handed to the guest's device (on a
 * terminal, at once).  Input after the escape is never read.
 *
 * Back-pressure: the thread offers bytes to the sink and keeps what it
 * refuses; it then waits for term__kick (the sink's "room again" hook)
 * with a 100 ms fallback tick.  A pipe or file is not read further while
 * 4 KiB wait (nothing lost); a terminal keeps being read so Ctrl-A x always
 * works, and keys typed beyond those 4 KiB while the guest reads nothing
 * are dropped, like a UART overrun.  EOF ends reading, never the VM.
 *
 * A terminal that is not in the foreground process group (mvm started with
 * '&') is neither switched to raw mode nor read: doing either would stop
 * the whole process with SIGTTOU/SIGTTIN.
 */
#ifndef MVM_TERM_H
#define MVM_TERM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;

/* Accept up to @n bytes and return how many were taken. */
typedef size_t (*term_sink_fn)(void *opaque, const uint8_t *buf, size_t n);

#define TERM_ESCAPE	0x01	/* Ctrl-A */
#define TERM_PENDING_MAX 4096

/*
 * Set up console input from @in_fd (usually STDIN_FILENO; -1: no input,
 * the calls below then do nothing), delivering to @fn(@opaque).  Switches a
 * terminal to raw mode at once and arms the restore paths.  Registers a
 * "term" device whose start hook is term__start and whose destroy hook is
 * term__stop, so call it after the sink's device exists: the reverse-order
 * destroy then stops the thread before the sink is freed.  One console per
 * process (-EBUSY).  0 or -errno.
 */
int term__init(struct vm *vm, int in_fd, term_sink_fn fn, void *opaque)
	__attribute__((warn_unused_result));
/* Start the input thread (device__start_all does it).  0 or -errno. */
int term__start(void) __attribute__((warn_unused_result));
/* Stop and join the input thread, restore the terminal.  Idempotent. */
void term__stop(void);
/* Restore the terminal's saved settings.  Idempotent, async-signal-safe. */
void term__restore(void);
/* The sink has room again.  Any thread; @unused lets it be a notify hook. */
void term__kick(void *unused);

/* --- the escape parser, exposed for tests -------------------------------- */

enum term_cmd { TERM_CMD_NONE, TERM_CMD_QUIT, TERM_CMD_HELP };

struct term_esc {
	bool escaped;	/* the previous byte was a lone Ctrl-A */
};

/*
 * Filter @n input bytes into @out (room for @n), stopping right after the
 * first escape command.  Returns the bytes written to @out; *@consumed says
 * how much of @in was used and *@cmd which command ended the run (NONE: all
 * of @in was used).  The escape state carries over between calls.
 */
size_t term__filter(struct term_esc *e, const uint8_t *in, size_t n, uint8_t *out,
		    size_t *consumed, enum term_cmd *cmd);

#endif
