#include "vm.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../devices/device.h"
#include "../util/util.h"

int vm__init(struct vm *vm, const struct config *cfg, const struct vcpu_backend *backend)
{
	int ret;

	memset(vm, 0, sizeof(*vm));
	vm->cfg = cfg;
	vm->backend = backend;
	vm->next_virtio_mmio = MMIO_VIRTIO_BASE;
	bus__init(&vm->pio, "pio");
	bus__init(&vm->mmio, "mmio");
	ret = mem__init(&vm->mem, cfg->mem_size);
	if (ret)
		goto err_bus;
	ret = backend->vm_init(vm);
	if (ret)
		goto err_mem;
	return 0;
err_mem:
	mem__exit(&vm->mem);
err_bus:
	bus__exit(&vm->mmio);
	bus__exit(&vm->pio);
	return ret;
}

void vm__exit(struct vm *vm)
{
	device__destroy_all(vm);
	if (vm->backend && vm->backend->vm_exit)
		vm->backend->vm_exit(vm);
	mem__exit(&vm->mem);
	bus__exit(&vm->mmio);
	bus__exit(&vm->pio);
}

void vm__request_stop(struct vm *vm, int status, const char *fmt, ...)
{
	va_list ap;
	int expected = 0;

	/*
	 * The first request wins.  Status and reason are read only after the
	 * vCPU threads are joined, which orders them after these writes.
	 */
	if (!__atomic_compare_exchange_n(&vm->stopping, &expected, 1, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return;
	vm->exit_status = status;
	va_start(ap, fmt);
	vsnprintf(vm->stop_reason, sizeof(vm->stop_reason), fmt, ap);
	va_end(ap);
	for (int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = vm->vcpus[i];
		if (v && v->thread_started && vm->backend->kick)
			vm->backend->kick(v);
	}
}

bool vm__stopping(const struct vm *vm)
{
	return __atomic_load_n(&vm->stopping, __ATOMIC_ACQUIRE) != 0;
}

int vm__thread_sandbox(struct vm *vm, enum vm_thread_kind kind)
{
	return vm->sandbox ? vm->sandbox(vm, kind) : 0;
}

int vm__irq_line(struct vm *vm, uint32_t gsi, int level)
{
	return vm->backend->irq_line(vm, gsi, level);
}

int vm__irq_pulse(struct vm *vm, uint32_t gsi)
{
	int ret = vm__irq_line(vm, gsi, 1);
	return ret ? ret : vm__irq_line(vm, gsi, 0);
}

/*
 * ISA lines nothing legacy uses (0 PIT, 1 kbd, 2 cascade, 3/4 COM, 8 RTC,
 * 9 SCI, 12 mouse, 13 FPU) first, then the IOAPIC-only pins.
 */
static const uint8_t free_gsis[] = { 5, 6, 7, 10, 11, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23 };

int vm__alloc_gsi(struct vm *vm, uint32_t *gsi)
{
	if (vm->next_gsi >= ARRAY_SIZE(free_gsis))
		return -ENOSPC;
	*gsi = free_gsis[vm->next_gsi++];
	return 0;
}

int vm__alloc_mmio(struct vm *vm, uint64_t size, uint64_t *base)
{
	uint64_t b = ALIGN_UP(vm->next_virtio_mmio, MMIO_VIRTIO_STRIDE);

	size = ALIGN_UP(size, MMIO_VIRTIO_STRIDE);
	if (b + size > MMIO_IOAPIC_BASE)
		return -ENOSPC;
	vm->next_virtio_mmio = b + size;
	*base = b;
	return 0;
}
