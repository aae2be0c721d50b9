/*
 * Flattened device tree builder (layout in fdt.h).  The fixed part is
 * written with libfdt's sequential-write API; device nodes are built one
 * scratch tree per device and merged in with the read-write API.
 */
#include "fdt.h"

#include "../devices/device.h"
#include "../util/util.h"
#include "../vm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SETUP_DTB		2	/* Linux's asm/bootparam.h */
#define SCRATCH_SIZE		(64 * 1024)
#define MAX_SUBNODES		256
#define DUMP_MAX		(4u << 20)
#define UART_CLOCK_HZ		1843200

struct setup_data_hdr {
	uint64_t next;
	uint32_t type;
	uint32_t len;
} __attribute__((packed));
_Static_assert(sizeof(struct setup_data_hdr) == 16, "struct setup_data header");

int fdt__errno(int fdt_err)
{
	if (fdt_err >= 0)
		return 0;
	return fdt_err == -FDT_ERR_NOSPACE ? -ENOSPC : -EINVAL;
}

/* 64-bit address and size as two cells each, for the root's 2/2 cells. */
static int prop_reg64(void *fdt, uint64_t addr, uint64_t size)
{
	fdt64_t reg[2] = { cpu_to_fdt64(addr), cpu_to_fdt64(size) };

	return fdt_property(fdt, "reg", reg, sizeof(reg));
}

static int prop_cells(void *fdt, const char *name, const uint32_t *v, int n)
{
	fdt32_t c[8];

	for (int i = 0; i < n; i++)
		c[i] = cpu_to_fdt32(v[i]);
	return fdt_property(fdt, name, c, n * sizeof(c[0]));
}

/* Return the first negative result (libfdt error or -errno, never mixed). */
#define TRY(x) do { int __r = (x); if (__r < 0) return __r; } while (0)

static int node_interrupt_controller(void *fdt, const char *compat, uint64_t base,
				     uint32_t phandle, int virtual_wire)
{
	char name[48];

	snprintf(name, sizeof(name), "interrupt-controller@%llx", (unsigned long long)base);
	TRY(fdt_begin_node(fdt, name));
	TRY(fdt_property_string(fdt, "compatible", compat));
	TRY(prop_reg64(fdt, base, 0x1000));
	TRY(fdt_property(fdt, "interrupt-controller", NULL, 0));
	TRY(fdt_property_u32(fdt, "#interrupt-cells", 2));
	/* dtc expects #address-cells in every interrupt provider. */
	TRY(fdt_property_u32(fdt, "#address-cells", 0));
	if (virtual_wire)	/* as MP tables of KVM machines say: no IMCR */
		TRY(fdt_property(fdt, "intel,virtual-wire-mode", NULL, 0));
	TRY(fdt_property_u32(fdt, "phandle", phandle));
	return fdt_end_node(fdt);
}

/* Root properties: written first, sequentially, into the final buffer. */
static int build_root(void *fdt, size_t size)
{
	TRY(fdt_create(fdt, size));
	TRY(fdt_finish_reservemap(fdt));
	TRY(fdt_begin_node(fdt, ""));
	TRY(fdt_property_string(fdt, "compatible", "mvm,x86"));
	TRY(fdt_property_string(fdt, "model", "mvm"));
	TRY(fdt_property_u32(fdt, "#address-cells", 2));
	TRY(fdt_property_u32(fdt, "#size-cells", 2));
	TRY(fdt_property_u32(fdt, "interrupt-parent", FDT_PHANDLE_IOAPIC));
	TRY(fdt_end_node(fdt));
	return fdt_finish(fdt);
}

/* The machine's own nodes, written at root level of a scratch tree. */
static int build_fixed(struct vm *vm, void *fdt, int ncpus)
{
	const char *bootargs = vm->cfg && vm->cfg->append ? vm->cfg->append : "";
	char name[40];

	TRY(fdt_begin_node(fdt, "chosen"));
	TRY(fdt_property_string(fdt, "bootargs", bootargs));
	TRY(fdt_end_node(fdt));

	for (int i = 0; i < vm->mem.nr_slots; i++) {
		snprintf(name, sizeof(name), "memory@%llx", (unsigned long long)vm->mem.slot[i].gpa);
		TRY(fdt_begin_node(fdt, name));
		TRY(fdt_property_string(fdt, "device_type", "memory"));
		TRY(prop_reg64(fdt, vm->mem.slot[i].gpa, vm->mem.slot[i].size));
		TRY(fdt_end_node(fdt));
	}

	/* One cell of APIC id: Linux's dtb_cpu_setup() reads it as the hwid. */
	TRY(fdt_begin_node(fdt, "cpus"));
	TRY(fdt_property_u32(fdt, "#address-cells", 1));
	TRY(fdt_property_u32(fdt, "#size-cells", 0));
	for (int i = 0; i < ncpus; i++) {
		snprintf(name, sizeof(name), "cpu@%x", i);
		TRY(fdt_begin_node(fdt, name));
		TRY(fdt_property_string(fdt, "device_type", "cpu"));
		TRY(fdt_property_u32(fdt, "reg", i));
		TRY(fdt_end_node(fdt));
	}
	TRY(fdt_end_node(fdt));

	TRY(node_interrupt_controller(fdt, "intel,ce4100-lapic", MMIO_LAPIC_BASE,
				      FDT_PHANDLE_LAPIC, 1));
	return node_interrupt_controller(fdt, "intel,ce4100-ioapic", MMIO_IOAPIC_BASE,
					 FDT_PHANDLE_IOAPIC, 0);
}

/*
 * Merge node @soff of @src into node @doff of @dst: properties are set
 * (overwriting), subnodes with an existing name are merged recursively,
 * others added.  libfdt adds a subnode before its existing siblings, so
 * subnodes are visited last to first to keep their order.
 */
static int merge_node(void *dst, int doff, const void *src, int soff, int depth)
{
	int prop, child, n = 0, ret = 0;
	int *kids;

	if (depth > 16)
		return -FDT_ERR_BADSTRUCTURE;
	kids = malloc(MAX_SUBNODES * sizeof(*kids));
	if (!kids)
		return -FDT_ERR_INTERNAL;
	/* New properties are inserted first too: same reversal. */
	fdt_for_each_property_offset(prop, src, soff) {
		if (n == MAX_SUBNODES) {
			ret = -FDT_ERR_BADSTRUCTURE;
			goto out;
		}
		kids[n++] = prop;
	}
	while (n-- > 0) {
		const char *pname;
		int len;
		const void *val = fdt_getprop_by_offset(src, kids[n], &pname, &len);
		ret = val ? fdt_setprop(dst, doff, pname, val, len) : len;
		if (ret < 0)
			goto out;
	}
	n = 0;
	fdt_for_each_subnode(child, src, soff) {
		if (n == MAX_SUBNODES) {
			ret = -FDT_ERR_BADSTRUCTURE;
			goto out;
		}
		kids[n++] = child;
	}
	while (n-- > 0 && ret >= 0) {
		const char *cname = fdt_get_name(src, kids[n], NULL);
		int d = fdt_subnode_offset(dst, doff, cname);
		if (d == -FDT_ERR_NOTFOUND)
			d = fdt_add_subnode(dst, doff, cname);
		ret = d < 0 ? d : merge_node(dst, d, src, kids[n], depth + 1);
	}
out:
	free(kids);
	return ret < 0 ? ret : 0;
}

/*
 * A scratch tree whose root holds what @d's hook writes, or the fixed
 * nodes when @d is NULL.  -errno.
 */
static int scratch_tree(struct vm *vm, struct device *d, void *scratch, int ncpus)
{
	int ret;

	TRY(fdt__errno(fdt_create(scratch, SCRATCH_SIZE)));
	TRY(fdt__errno(fdt_finish_reservemap(scratch)));
	TRY(fdt__errno(fdt_begin_node(scratch, "")));
	if (d) {
		ret = d->fdt_node(d, scratch);
		if (ret) {
			pr_err("FDT: the node of device %s failed: error %d", d->name, ret);
			return ret < 0 ? ret : -EINVAL;
		}
	} else {
		TRY(fdt__errno(build_fixed(vm, scratch, ncpus)));
	}
	TRY(fdt__errno(fdt_end_node(scratch)));
	return fdt__errno(fdt_finish(scratch));
}

static int ncpus_of(const struct vm *vm)
{
	if (vm->nr_vcpus > 0)
		return vm->nr_vcpus;
	return vm->cfg ? vm->cfg->cpus : 0;
}

#define MAX_TREES 65	/* the fixed nodes + one per device */

int fdt__build(struct vm *vm, void *buf, size_t size)
{
	struct device *devs[MAX_TREES] = { NULL }, *d;
	void *scratch[MAX_TREES] = { NULL };
	int n = 0, ret, ncpus = ncpus_of(vm);

	if (ncpus < 1 || ncpus > VM_MAX_VCPUS || size > INT32_MAX)
		return -EINVAL;
	ret = build_root(buf, size);
	if (ret >= 0)
		ret = fdt_open_into(buf, buf, size);
	if (ret < 0)
		return fdt__errno(ret);

	/* Tree 0: the fixed nodes; then one per device, in registration order. */
	d = NULL;
	do {
		if (d && !d->fdt_node)
			continue;
		if (n == MAX_TREES) {
			pr_err("FDT: more than %d devices have nodes", MAX_TREES - 1);
			ret = -E2BIG;
			goto out;
		}
		devs[n] = d;
		scratch[n] = malloc(SCRATCH_SIZE);
		if (!scratch[n]) {
			ret = -ENOMEM;
			goto out;
		}
		ret = scratch_tree(vm, d, scratch[n++], ncpus);
		if (ret)
			goto out;
	} while ((d = d ? d->next : vm->devices));

	/* Last tree first: each merge inserts before what is already there. */
	for (int i = n - 1; i >= 0; i--) {
		ret = merge_node(buf, 0, scratch[i], 0, 0);
		if (ret < 0) {
			if (ret != -FDT_ERR_NOSPACE)	/* callers say what did not fit */
				pr_err("FDT: cannot merge the nodes of %s: %s",
				       devs[i] ? devs[i]->name : "the machine", fdt_strerror(ret));
			ret = fdt__errno(ret);
			goto out;
		}
	}
	ret = fdt__errno(fdt_pack(buf));
out:
	for (int i = 0; i < n; i++)
		free(scratch[i]);
	return ret < 0 ? ret : 0;
}

int fdt__dump(struct vm *vm, const char *path)
{
	size_t size = 64 * 1024;
	void *buf = NULL;
	int fd, ret;

	for (;;) {
		free(buf);
		buf = malloc(size);
		if (!buf)
			return -ENOMEM;
		ret = fdt__build(vm, buf, size);
		if (ret != -ENOSPC || size >= DUMP_MAX)
			break;
		size *= 2;
	}
	if (ret)
		goto out;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		ret = -errno;
		pr_err("--dump-dtb: cannot create %s: %s", path, strerror(errno));
		goto out;
	}
	size = fdt_totalsize(buf);
	for (size_t off = 0; off < size;) {
		ssize_t w = write(fd, (char *)buf + off, size - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			ret = w < 0 ? -errno : -EIO;
			pr_err("--dump-dtb: cannot write %s: %s", path, strerror(-ret));
			break;
		}
		off += w;
	}
	if (close(fd) && !ret)
		ret = -errno;
out:
	free(buf);
	return ret;
}

int fdt__setup_data(struct vm *vm, uint64_t *gpa)
{
	struct setup_data_hdr *h;
	uint8_t *p;
	int ret;

	_Static_assert(BOOT_SETUP_DATA + BOOT_SETUP_DATA_MAX <= BOOT_EBDA,
		       "setup_data must stay below the EBDA");
	p = mem__gpa_to_hva(&vm->mem, BOOT_SETUP_DATA, BOOT_SETUP_DATA_MAX);
	if (!p)
		return -EFAULT;
	ret = fdt__build(vm, p + sizeof(*h), BOOT_SETUP_DATA_MAX - sizeof(*h));
	if (ret) {
		if (ret == -ENOSPC)
			pr_err("--dtb: the device tree needs more than %llu bytes",
			       (unsigned long long)BOOT_SETUP_DATA_MAX);
		return ret;
	}
	h = (struct setup_data_hdr *)p;
	h->next = 0;
	h->type = SETUP_DTB;
	h->len = fdt_totalsize(p + sizeof(*h));
	*gpa = BOOT_SETUP_DATA;
	return 0;
}

int fdt__virtio_mmio_node(void *fdt, uint64_t base, uint64_t size, uint32_t gsi)
{
	uint32_t irq[2] = { gsi, FDT_IRQ_EDGE_RISING };
	char name[40];

	snprintf(name, sizeof(name), "virtio_mmio@%llx", (unsigned long long)base);
	TRY(fdt__errno(fdt_begin_node(fdt, name)));
	TRY(fdt__errno(fdt_property_string(fdt, "compatible", "virtio,mmio")));
	TRY(fdt__errno(prop_reg64(fdt, base, size)));
	TRY(fdt__errno(prop_cells(fdt, "interrupts", irq, 2)));
	return fdt__errno(fdt_end_node(fdt));
}

int fdt__isa_serial_node(void *fdt, uint16_t port, uint32_t irq)
{
	/* <space port> <cpu address: two cells> <size>: I/O space 1:1. */
	static const uint32_t ranges[] = { 1, 0, 0, 0, 0x10000 };
	uint32_t reg[3] = { 1, port, 8 };
	uint32_t irqs[2] = { irq, FDT_IRQ_EDGE_RISING };
	char name[24];

	TRY(fdt__errno(fdt_begin_node(fdt, "isa@i0")));
	TRY(fdt__errno(fdt_property_string(fdt, "compatible", "isa")));
	TRY(fdt__errno(fdt_property_string(fdt, "device_type", "isa")));
	TRY(fdt__errno(fdt_property_u32(fdt, "#address-cells", 2)));
	TRY(fdt__errno(fdt_property_u32(fdt, "#size-cells", 1)));
	TRY(fdt__errno(prop_cells(fdt, "ranges", ranges, ARRAY_SIZE(ranges))));
	/* ISA unit addresses: 'i' marks I/O space (IEEE 1275 ISA binding). */
	snprintf(name, sizeof(name), "serial@i%x", port);
	TRY(fdt__errno(fdt_begin_node(fdt, name)));
	TRY(fdt__errno(fdt_property_string(fdt, "compatible", "ns16550a")));
	TRY(fdt__errno(prop_cells(fdt, "reg", reg, 3)));
	TRY(fdt__errno(prop_cells(fdt, "interrupts", irqs, 2)));
	TRY(fdt__errno(fdt_property_u32(fdt, "clock-frequency", UART_CLOCK_HZ)));
	TRY(fdt__errno(fdt_end_node(fdt)));
	return fdt__errno(fdt_end_node(fdt));
}
