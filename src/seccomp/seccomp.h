/*
 * seccomp: one syscall filter per thread kind (main, vCPU, I/O), built with
 * libseccomp.  Every thread installs its own filter as its first action (via
 * vm__thread_sandbox), so a thread never runs guest-driven code unfiltered;
 * main installs its own last, once every other thread exists, so none of them
 * inherits the main thread's list.
 */
#ifndef MVM_SECCOMP_H
#define MVM_SECCOMP_H

#include "../config/config.h"
#include "../vm/vm.h"

/*
 * Arm the sandbox for @mode: sets vm->sandbox so threads started from now on
 * filter themselves.  SECCOMP_OFF leaves vm->sandbox NULL.
 */
void seccomp__setup(struct vm *vm, enum seccomp_mode mode);

/* Install the filter for @kind on the calling thread.  0 or -errno. */
int seccomp__install(struct vm *vm, enum vm_thread_kind kind);

/* Name of a thread kind, for messages. */
const char *seccomp__kind_name(enum vm_thread_kind kind);

#endif
