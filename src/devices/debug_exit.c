#include "debug_exit.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../util/util.h"
#include "../vm/vm.h"
#include "device.h"

struct testdev {
	struct device dev;
	struct vm *vm;
	pthread_mutex_t lock;	/* several vCPUs may poke the echo state at once */
	uint32_t ioport_data;
	uint8_t iomem[TESTDEV_IOMEM_LEN];
};

static void debug_exit__io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
			   bool is_write)
{
	struct testdev *t = opaque;
	uint32_t v = 0;

	if (!is_write) {
		memset(data, 0xff, len);
		return;
	}
	memcpy(&v, data, MIN(len, (uint32_t)sizeof(v)));
	vm__request_stop(t->vm, debug_exit__status(v), "guest wrote 0x%x to isa-debug-exit", v);
}

/*
 * Byte lanes of one 32-bit register, as QEMU's pc-testdev keeps them.  QEMU's
 * memory core drops misaligned accesses (reads give 0); so do we, so that
 * the firmware tests mean the same thing under both.
 */
static void debug_exit__echo(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
			     bool is_write)
{
	struct testdev *t = opaque;
	unsigned shift = (offset & 3) * 8;

	if (len > 4 || (offset & (len - 1))) {
		if (!is_write)
			memset(data, 0, len);
		return;
	}
	pthread_mutex_lock(&t->lock);
	for (uint32_t i = 0; i < len; i++, shift += 8) {
		if (is_write)
			t->ioport_data = (t->ioport_data & ~(0xffu << shift)) |
					 ((uint32_t)data[i] << shift);
		else
			data[i] = (uint8_t)(t->ioport_data >> shift);
	}
	pthread_mutex_unlock(&t->lock);
}

static void debug_exit__flush(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
			      bool is_write)
{
	if (!is_write)
		memset(data, 0, len);
}

static void debug_exit__iomem(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
			      bool is_write)
{
	struct testdev *t = opaque;

	/* The bus never delivers an access that straddles the range end. */
	pthread_mutex_lock(&t->lock);
	if (is_write)
		memcpy(t->iomem + offset, data, len);
	else
		memcpy(data, t->iomem + offset, len);
	pthread_mutex_unlock(&t->lock);
}

static void debug_exit__destroy(struct device *d)
{
	struct testdev *t = d->opaque;

	pthread_mutex_destroy(&t->lock);
	free(t);
}

static const struct {
	bool mmio;
	uint64_t base, len;
	bus_fn fn;
	const char *name;
} ranges[] = {
	{ false, DEBUG_EXIT_PORT, DEBUG_EXIT_LEN, debug_exit__io, "isa-debug-exit" },
	{ false, TESTDEV_ECHO_PORT, 4, debug_exit__echo, "pc-testdev-ioport" },
	{ false, TESTDEV_FLUSH_PORT, 4, debug_exit__flush, "pc-testdev-flush-page" },
	{ false, TESTDEV_BYTE_PORT, 4, debug_exit__echo, "pc-testdev-ioport-byte" },
	{ true, TESTDEV_IOMEM_BASE, TESTDEV_IOMEM_LEN, debug_exit__iomem, "pc-testdev-iomem" },
};

int debug_exit__init(struct vm *vm)
{
	struct testdev *t = calloc(1, sizeof(*t));
	int ret;

	if (!t)
		return -ENOMEM;
	t->vm = vm;
	pthread_mutex_init(&t->lock, NULL);
	/* On the device list first: ranges registered before a failure keep @t. */
	t->dev = (struct device){ .name = "isa-debug-exit", .opaque = t,
				  .destroy = debug_exit__destroy };
	device__register(vm, &t->dev);
	for (size_t i = 0; i < ARRAY_SIZE(ranges); i++) {
		ret = bus__register(ranges[i].mmio ? &vm->mmio : &vm->pio, ranges[i].base,
				    ranges[i].len, ranges[i].fn, t, ranges[i].name);
		if (ret) {
			pr_err("bus__register(%s at 0x%llx) failed: %s; another device claims it",
			       ranges[i].name, (unsigned long long)ranges[i].base, strerror(-ret));
			return ret;
		}
	}
	return 0;
}
