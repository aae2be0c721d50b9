/*
 * device: how devices describe themselves.  Each device registers one of
 * these; the ACPI, FDT and command-line builders walk the list instead of
 * keeping their own tables.
 */
#ifndef MVM_DEVICE_H
#define MVM_DEVICE_H

#include <stddef.h>

struct vm;
struct aml;

struct device {
	const char *name;		/* "serial8250", "virtio-blk", ... */
	void *opaque;
	/* Add this device's node to the DSDT (inside \_SB). NULL: none. */
	int (*acpi_aml)(struct device *d, struct aml *aml);
	/* Add this device's node under the FDT root (libfdt, sequential-write). */
	int (*fdt_node)(struct device *d, void *fdt);
	/* Append a kernel command-line fragment ("virtio_mmio.device=..."). */
	int (*cmdline)(struct device *d, char *buf, size_t len);
	/* Start worker threads etc., after all devices exist. NULL: nothing. */
	int (*start)(struct device *d);
	/* Free everything; called once in reverse registration order. */
	void (*destroy)(struct device *d);
	struct device *next;
};

/* Append @d to vm->devices. */
void device__register(struct vm *vm, struct device *d);
int device__start_all(struct vm *vm) __attribute__((warn_unused_result));
void device__destroy_all(struct vm *vm);

#endif
