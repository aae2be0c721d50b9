/*
 * debug_exit: QEMU's isa-debug-exit at port 0xf4 plus the parts of QEMU's
 * pc-testdev that test guests use to check I/O and MMIO exits.  Both are
 * wire-compatible with QEMU (-device isa-debug-exit,iobase=0xf4,iosize=0x04
 * -device pc-testdev), so the firmware tests run unchanged under QEMU as an
 * oracle.
 *
 *   port 0xf4-0xf7   write v (any width): the VM stops, mvm exits with
 *                    status (v << 1) | 1 (the shell sees the low 8 bits)
 *   port 0xe0-0xe3   32-bit echo register; an access of width w at offset o
 *                    reads/writes byte lanes o..o+w-1; misaligned accesses
 *                    are dropped and read 0, as QEMU's memory core does
 *   port 0xe4-0xe7   "flush page" (accepted and ignored)
 *   port 0xe8-0xeb   the same echo register, accessed bytewise
 *   MMIO 0xff000000  64 KiB of device memory: writes are stored, reads return
 *                    what was stored (any width 1, 2, 4, 8)
 */
#ifndef MVM_DEBUG_EXIT_H
#define MVM_DEBUG_EXIT_H

#include <stdint.h>

struct vm;

#define DEBUG_EXIT_PORT		0xf4
#define DEBUG_EXIT_LEN		4
#define TESTDEV_ECHO_PORT	0xe0
#define TESTDEV_FLUSH_PORT	0xe4
#define TESTDEV_BYTE_PORT	0xe8
#define TESTDEV_IOMEM_BASE	0xff000000ULL
#define TESTDEV_IOMEM_LEN	0x10000ULL

/* Exit status a debug-exit write of @v produces. */
static inline int debug_exit__status(uint32_t v)
{
	return (int)((v << 1) | 1);
}

/* Register the exit port and the test device on vm->pio / vm->mmio. */
int debug_exit__init(struct vm *vm) __attribute__((warn_unused_result));

#endif
