/*
 * VM glue for virtio-mmio devices: a 4 KiB slot and an edge GSI, the MMIO
 * window on vm->mmio, the fast paths when the backend has them (ioeventfd on
 * QueueNotify, irqfd for the interrupt), and a struct device that describes
 * the device to ACPI, the FDT and the kernel command line.
 */
#include "virtio.h"

#include <errno.h>
#include <linux/virtio_mmio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../../acpi/acpi.h"
#include "../../fdt/fdt.h"
#include "../../vm/vm.h"
#include "../term.h"

static void vm_irq(struct virtio_mmio *t)
{
	uint64_t one = 1;

	if (t->irq_fd >= 0) {
		if (write(t->irq_fd, &one, sizeof(one)) == sizeof(one) || errno == EAGAIN)
			return;
	}
	vm__irq_pulse(t->vm, t->gsi);
}

static int dev_acpi(struct device *d, struct aml *aml)
{
	struct virtio_mmio *t = d->opaque;

	return acpi__aml_virtio_mmio(aml, (t->base - MMIO_VIRTIO_BASE) / MMIO_VIRTIO_STRIDE,
				     t->base, VIRTIO_MMIO_WINDOW, t->gsi);
}

static int dev_fdt(struct device *d, void *fdt)
{
	struct virtio_mmio *t = d->opaque;

	return fdt__virtio_mmio_node(fdt, t->base, VIRTIO_MMIO_WINDOW, t->gsi);
}

/* Appends to the string already in @buf, space-separated. 0 or -ENOSPC. */
static int dev_cmdline(struct device *d, char *buf, size_t len)
{
	struct virtio_mmio *t = d->opaque;
	size_t used = strnlen(buf, len);
	int n;

	if (used == len)
		return -ENOSPC;
	n = snprintf(buf + used, len - used, "%svirtio_mmio.device=%u@0x%llx:%u",
		     used ? " " : "", VIRTIO_MMIO_WINDOW, (unsigned long long)t->base, t->gsi);
	if (n < 0 || (size_t)n >= len - used) {
		buf[used] = '\0';
		return -ENOSPC;
	}
	return 0;
}

static int io_sandbox(void *opaque)
{
	return vm__thread_sandbox(opaque, VM_THREAD_IO);
}

static int dev_start(struct device *d)
{
	struct virtio_mmio *t = d->opaque;
	int ret;

	t->io.on_start = io_sandbox;
	t->io.start_opaque = t->vm;
	ret = virtio__iothread_start(&t->io);
	if (ret)
		pr_err("%s: cannot start the I/O thread: %s", t->name, strerror(-ret));
	return ret;
}

static void dev_destroy(struct device *d)
{
	struct virtio_mmio *t = d->opaque;

	t->ops->destroy(t);
}

/* Fast paths are optional: on failure the MMIO handler path still works. */
static void attach_eventfds(struct vm *vm, struct virtio_mmio *t)
{
	const struct vcpu_backend *be = vm->backend;
	int ret;

	if (be->irqfd) {
		t->irq_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		ret = t->irq_fd < 0 ? -errno : be->irqfd(vm, t->gsi, t->irq_fd);
		if (ret) {
			pr_warn("%s: irqfd for GSI %u failed (%s); interrupting through the "
				"irq line instead", t->name, t->gsi, strerror(-ret));
			if (t->irq_fd >= 0)
				close(t->irq_fd);
			t->irq_fd = -1;
		}
	}
	if (be->ioeventfd) {
		/* One doorbell per device: a notify looks at every queue. */
		ret = be->ioeventfd(vm, t->base + VIRTIO_MMIO_QUEUE_NOTIFY, 4, t->notify_fd);
		if (ret)
			pr_warn("%s: ioeventfd at 0x%llx failed (%s); QueueNotify exits to "
				"userspace instead", t->name,
				(unsigned long long)(t->base + VIRTIO_MMIO_QUEUE_NOTIFY),
				strerror(-ret));
	}
}

int virtio__attach(struct vm *vm, struct virtio_mmio *t)
{
	int ret;

	/* On the device list first so destroy_all frees it whatever fails below. */
	t->vm = vm;
	t->device = (struct device){ .name = t->ops->name, .opaque = t,
				     .acpi_aml = dev_acpi, .fdt_node = dev_fdt,
				     .cmdline = dev_cmdline, .start = dev_start,
				     .destroy = dev_destroy };
	device__register(vm, &t->device);
	ret = vm__alloc_mmio(vm, MMIO_VIRTIO_STRIDE, &t->base);
	if (ret) {
		pr_err("%s: no virtio-mmio window left (%s)", t->name, strerror(-ret));
		return ret;
	}
	ret = vm__alloc_gsi(vm, &t->gsi);
	if (ret) {
		pr_err("%s: no free interrupt line left; use fewer devices", t->name);
		return ret;
	}
	snprintf(t->name, sizeof(t->name), "%s@%llx", t->ops->name, (unsigned long long)t->base);
	ret = bus__register(&vm->mmio, t->base, VIRTIO_MMIO_WINDOW, virtio__mmio_access, t,
			    t->ops->name);
	if (ret) {
		pr_err("bus__register(%s) failed: %s", t->name, strerror(-ret));
		return ret;
	}
	t->irq = vm_irq;
	attach_eventfds(vm, t);
	pr_debug("%s: GSI %u", t->name, t->gsi);
	return 0;
}

int virtio_blk__create(struct vm *vm, const struct disk_config *disk, int index)
{
	const char *name = getenv("MVM_BLK_ENGINE");
	const struct blk_engine_ops *eng = virtio_blk__engine_by_name(name);
	struct virtio_mmio *t;
	int ret;

	if (!eng) {
		pr_err("MVM_BLK_ENGINE=%s: unknown disk engine; use libaio or pread", name);
		return -EINVAL;
	}
	ret = virtio_blk__new(disk, index, &vm->mem, eng, &t);
	return ret ? ret : virtio__attach(vm, t);
}

int virtio_net__create(struct vm *vm, const struct net_config *nc, int index)
{
	struct virtio_mmio *t;
	int ret = virtio_net__new(nc, index, &vm->mem, &t);

	return ret ? ret : virtio__attach(vm, t);
}

int virtio_console__create(struct vm *vm, int out_fd, struct virtio_mmio **out)
{
	struct virtio_mmio *t;
	int ret = virtio_console__new(out_fd, &vm->mem, &t);

	if (ret)
		return ret;
	virtio_console__set_rx_notify(t, term__kick, NULL);
	ret = virtio__attach(vm, t);
	if (!ret && out)
		*out = t;
	return ret;
}

int virtio_rng__create(struct vm *vm)
{
	struct virtio_mmio *t;
	int ret = virtio_rng__new(&vm->mem, &t);

	return ret ? ret : virtio__attach(vm, t);
}

int virtio__create_all(struct vm *vm)
{
	const struct config *cfg = vm->cfg;
	int ret;

	for (int i = 0; i < cfg->nr_disks; i++) {
		ret = virtio_blk__create(vm, &cfg->disks[i], i);
		if (ret)
			return ret;
	}
	for (int i = 0; i < cfg->nr_nets; i++) {
		ret = virtio_net__create(vm, &cfg->nets[i], i);
		if (ret)
			return ret;
	}
	return virtio_rng__create(vm);
}
