/*
 * fdt: a flattened device tree describing the machine, for --dump-dtb and
 * for --dtb (handed to Linux as a SETUP_DTB setup_data entry).
 *
 * Layout (root #address-cells = #size-cells = 2):
 *   /                     compatible "mvm,x86", interrupt-parent = IOAPIC
 *   /chosen               bootargs = --append
 *   /memory@<gpa>         one per RAM slot
 *   /cpus/cpu@<n>         reg = APIC id (= vCPU index)
 *   /interrupt-controller@fee00000   "intel,ce4100-lapic"
 *   /interrupt-controller@fec00000   "intel,ce4100-ioapic", #interrupt-cells 2
 *   device nodes from each device's fdt_node hook, in registration order
 *   /isa@i0               I/O-port devices: #address-cells 2 (1 = I/O
 *                         space, port), #size-cells 1, ranges mapping port
 *                         space 0-0xffff 1:1, which is how Linux's OF code
 *                         turns it into IORESOURCE_IO.
 *
 * Device hooks write with the libfdt sequential-write API at root level, as
 * device.h says.  Each hook writes into a scratch tree of its own that is
 * then merged in, so two hooks that both emit "isa@i0" share one node.
 * Hooks return 0 or -errno (fdt__errno converts a libfdt error).
 *
 * IOAPIC interrupt specifiers are <pin type>, and the type index is what
 * arch/x86/kernel/devicetree.c's of_ioapic_type[] table means, not what the
 * old text binding says: 0 edge falling, 1 level high, 2 level low, 3 edge
 * rising.  Our lines are edge, active high: FDT_IRQ_EDGE_RISING.
 */
#ifndef MVM_FDT_H
#define MVM_FDT_H

#include <stddef.h>
#include <stdint.h>

struct vm;

#define FDT_PHANDLE_IOAPIC	1
#define FDT_PHANDLE_LAPIC	2
#define FDT_IRQ_EDGE_FALLING	0
#define FDT_IRQ_LEVEL_HIGH	1
#define FDT_IRQ_LEVEL_LOW	2
#define FDT_IRQ_EDGE_RISING	3

/* A libfdt error code as -errno: -ENOSPC for FDT_ERR_NOSPACE, else -EINVAL. */
int fdt__errno(int fdt_err);

/*
 * Build the tree into @buf (@size bytes), packed.  0, -ENOSPC when it does
 * not fit, -EINVAL on a libfdt error, or a hook's error.
 */
int fdt__build(struct vm *vm, void *buf, size_t size) __attribute__((warn_unused_result));

/* --dump-dtb: build and write the blob to @path.  0 or -errno. */
int fdt__dump(struct vm *vm, const char *path) __attribute__((warn_unused_result));

/*
 * --dtb: write struct setup_data { next 0, type SETUP_DTB, len } and the blob
 * at BOOT_SETUP_DATA; *gpa = BOOT_SETUP_DATA for boot_params.hdr.setup_data.
 * 0, -ENOSPC (more than BOOT_SETUP_DATA_MAX bytes), -EFAULT, -EINVAL.
 */
int fdt__setup_data(struct vm *vm, uint64_t *gpa) __attribute__((warn_unused_result));

/* --- One-line nodes for device owners' fdt_node hooks -------------------- */

/* virtio_mmio@<base> { compatible "virtio,mmio"; reg; interrupts <gsi 3> }. */
int fdt__virtio_mmio_node(void *fdt, uint64_t base, uint64_t size, uint32_t gsi);
/*
 * isa@i0 { serial@i<port> { compatible "ns16550a"; reg <1 port 8>;
 * interrupts <irq 3>; clock-frequency 1843200 } }.
 */
int fdt__isa_serial_node(void *fdt, uint16_t port, uint32_t irq);

#endif
