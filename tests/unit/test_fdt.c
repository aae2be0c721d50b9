/*
 * Unit tests for src/fdt: the tree fdt__build writes, read back with libfdt.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/device.h"
#include "fdt/fdt.h"
#include "mem/mem.h"
#include "util/util.h"
#include "vm/vm.h"

#define BUF_SIZE (64 * 1024)

struct fixture {
	struct vm vm;
	struct config cfg;
	uint8_t buf[BUF_SIZE];
};

static int setup_mem(void **state, uint64_t mem)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->cfg.cpus = 2;
	f->cfg.mem_size = mem;
	f->cfg.append = "console=ttyS0 quiet";
	f->vm.cfg = &f->cfg;
	if (mem__init(&f->vm.mem, mem)) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int setup_small(void **state) { return setup_mem(state, 64ULL << 20); }
/* RAM above the hole: two slots.  MAP_NORESERVE, so no real memory is used. */
static int setup_big(void **state) { return setup_mem(state, MEM_HOLE_START + (16ULL << 20)); }

static int teardown(void **state)
{
	struct fixture *f = *state;

	mem__exit(&f->vm.mem);
	free(f);
	return 0;
}

static uint32_t prop_u32(const void *fdt, int node, const char *name, int idx)
{
	int len;
	const fdt32_t *p = fdt_getprop(fdt, node, name, &len);

	assert_non_null(p);
	assert_true((idx + 1) * 4 <= len);
	return fdt32_to_cpu(p[idx]);
}

static uint64_t cells64(const void *fdt, int node, const char *name, int idx)
{
	return (uint64_t)prop_u32(fdt, node, name, idx) << 32 | prop_u32(fdt, node, name, idx + 1);
}

static void assert_prop_str(const void *fdt, int node, const char *name, const char *want)
{
	int len;
	const char *p = fdt_getprop(fdt, node, name, &len);

	assert_non_null(p);
	assert_int_equal(len, strlen(want) + 1);
	assert_string_equal(p, want);
}

static void test_fixed_nodes(void **state)
{
	struct fixture *f = *state;
	const void *fdt = f->buf;
	int node, n = 0, sub;

	assert_int_equal(fdt__build(&f->vm, f->buf, sizeof(f->buf)), 0);
	assert_int_equal(fdt_check_header(fdt), 0);
	assert_int_equal(prop_u32(fdt, 0, "#address-cells", 0), 2);
	assert_int_equal(prop_u32(fdt, 0, "#size-cells", 0), 2);

	node = fdt_path_offset(fdt, "/chosen");
	assert_true(node >= 0);
	assert_prop_str(fdt, node, "bootargs", "console=ttyS0 quiet");

	node = fdt_path_offset(fdt, "/memory@0");
	assert_true(node >= 0);
	assert_prop_str(fdt, node, "device_type", "memory");
	assert_int_equal(cells64(fdt, node, "reg", 0), 0);
	assert_int_equal(cells64(fdt, node, "reg", 2), 64ULL << 20);
	assert_true(fdt_path_offset(fdt, "/memory@100000000") < 0);

	node = fdt_path_offset(fdt, "/cpus");
	assert_true(node >= 0);
	assert_int_equal(prop_u32(fdt, node, "#address-cells", 0), 1);
	fdt_for_each_subnode(sub, fdt, node) {
		assert_prop_str(fdt, sub, "device_type", "cpu");
		assert_int_equal(prop_u32(fdt, sub, "reg", 0), n);
		n++;
	}
	assert_int_equal(n, 2);

	/* The root's interrupt-parent is the IOAPIC. */
	node = fdt_node_offset_by_phandle(fdt, prop_u32(fdt, 0, "interrupt-parent", 0));
	assert_true(node >= 0);
	assert_int_equal(fdt_node_check_compatible(fdt, node, "intel,ce4100-ioapic"), 0);
	assert_int_equal(prop_u32(fdt, node, "#interrupt-cells", 0), 2);
	assert_non_null(fdt_getprop(fdt, node, "interrupt-controller", NULL));
	assert_int_equal(cells64(fdt, node, "reg", 0), MMIO_IOAPIC_BASE);

	node = fdt_node_offset_by_compatible(fdt, -1, "intel,ce4100-lapic");
	assert_true(node >= 0);
	assert_int_equal(cells64(fdt, node, "reg", 0), MMIO_LAPIC_BASE);
}

static void test_two_memory_slots(void **state)
{
	struct fixture *f = *state;
	int node;

	assert_int_equal(fdt__build(&f->vm, f->buf, sizeof(f->buf)), 0);
	node = fdt_path_offset(f->buf, "/memory@0");
	assert_true(node >= 0);
	assert_int_equal(cells64(f->buf, node, "reg", 2), MEM_HOLE_START);
	node = fdt_path_offset(f->buf, "/memory@100000000");
	assert_true(node >= 0);
	assert_int_equal(cells64(f->buf, node, "reg", 0), MEM_HOLE_END);
	assert_int_equal(cells64(f->buf, node, "reg", 2), 16ULL << 20);
}

struct fake {
	struct device dev;
	uint64_t base;
	uint32_t irq;
	int serial;
	int fail;
};

static int fake_fdt(struct device *d, void *fdt)
{
	struct fake *x = d->opaque;

	if (x->fail)
		return x->fail;
	if (x->serial)
		return fdt__isa_serial_node(fdt, x->base, x->irq);
	return fdt__virtio_mmio_node(fdt, x->base, 0x200, x->irq);
}

static void add_fake(struct vm *vm, struct fake *x, const char *name)
{
	x->dev = (struct device){ .name = name, .opaque = x, .fdt_node = fake_fdt };
	device__register(vm, &x->dev);
}

static void test_device_nodes(void **state)
{
	struct fixture *f = *state;
	struct fake v0 = { .base = 0xd0000000, .irq = 5 }, v1 = { .base = 0xd0001000, .irq = 6 };
	struct fake com1 = { .base = 0x3f8, .irq = 4, .serial = 1 };
	struct fake com2 = { .base = 0x2f8, .irq = 3, .serial = 1 };
	const void *fdt = f->buf;
	int node, isa, sub, prev = -1;
	const char *names[2];
	int n = 0;

	add_fake(&f->vm, &v0, "virtio0");
	add_fake(&f->vm, &com1, "com1");
	add_fake(&f->vm, &v1, "virtio1");
	add_fake(&f->vm, &com2, "com2");
	assert_int_equal(fdt__build(&f->vm, f->buf, sizeof(f->buf)), 0);

	node = fdt_path_offset(fdt, "/virtio_mmio@d0000000");
	assert_true(node >= 0);
	assert_int_equal(fdt_node_check_compatible(fdt, node, "virtio,mmio"), 0);
	assert_int_equal(cells64(fdt, node, "reg", 0), 0xd0000000);
	assert_int_equal(cells64(fdt, node, "reg", 2), 0x200);
	assert_int_equal(prop_u32(fdt, node, "interrupts", 0), 5);
	assert_int_equal(prop_u32(fdt, node, "interrupts", 1), FDT_IRQ_EDGE_RISING);
	/* Registration order survives the merge. */
	assert_true(node < fdt_path_offset(fdt, "/virtio_mmio@d0001000"));

	/* Both UARTs share one ISA bridge. */
	isa = fdt_path_offset(fdt, "/isa@i0");
	assert_true(isa >= 0);
	assert_int_equal(fdt_subnode_offset(fdt, 0, "isa@i0"), isa);
	assert_int_equal(prop_u32(fdt, isa, "#address-cells", 0), 2);
	assert_int_equal(prop_u32(fdt, isa, "#size-cells", 0), 1);
	assert_int_equal(prop_u32(fdt, isa, "ranges", 0), 1);		/* I/O space ... */
	assert_int_equal(prop_u32(fdt, isa, "ranges", 4), 0x10000);	/* ... all of it */
	fdt_for_each_subnode(sub, fdt, isa) {
		assert_true(n < 2);
		names[n++] = fdt_get_name(fdt, sub, NULL);
		assert_true(sub > prev);
		prev = sub;
	}
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "serial@i3f8");
	assert_string_equal(names[1], "serial@i2f8");
	node = fdt_path_offset(fdt, "/isa@i0/serial@i3f8");
	assert_int_equal(fdt_node_check_compatible(fdt, node, "ns16550a"), 0);
	assert_int_equal(prop_u32(fdt, node, "reg", 0), 1);
	assert_int_equal(prop_u32(fdt, node, "reg", 1), 0x3f8);
	assert_int_equal(prop_u32(fdt, node, "reg", 2), 8);
	assert_int_equal(prop_u32(fdt, node, "interrupts", 0), 4);
	assert_int_equal(prop_u32(fdt, node, "clock-frequency", 0), 1843200);
	/* Exactly one isa node at the root. */
	n = 0;
	fdt_for_each_subnode(sub, fdt, 0)
		n += !strncmp(fdt_get_name(fdt, sub, NULL), "isa", 3);
	assert_int_equal(n, 1);
}

static void test_errors(void **state)
{
	struct fixture *f = *state;
	struct fake bad = { .fail = -EIO };

	assert_int_equal(fdt__build(&f->vm, f->buf, 256), -ENOSPC);
	add_fake(&f->vm, &bad, "bad");
	assert_int_equal(fdt__build(&f->vm, f->buf, sizeof(f->buf)), -EIO);
	f->vm.devices = NULL;
	f->cfg.cpus = 0;
	assert_int_equal(fdt__build(&f->vm, f->buf, sizeof(f->buf)), -EINVAL);
}

static void test_setup_data(void **state)
{
	struct fixture *f = *state;
	const uint8_t *p;
	uint64_t gpa = 0, next;
	uint32_t type, len;

	assert_int_equal(fdt__setup_data(&f->vm, &gpa), 0);
	assert_int_equal(gpa, BOOT_SETUP_DATA);
	p = mem__gpa_to_hva(&f->vm.mem, gpa, 16);
	memcpy(&next, p, 8);
	memcpy(&type, p + 8, 4);
	memcpy(&len, p + 12, 4);
	assert_int_equal(next, 0);
	assert_int_equal(type, 2);				/* SETUP_DTB */
	assert_int_equal(fdt_check_header(p + 16), 0);
	assert_int_equal(len, fdt_totalsize(p + 16));
	assert_true(fdt_path_offset(p + 16, "/cpus/cpu@1") >= 0);
}

static void test_dump(void **state)
{
	struct fixture *f = *state;
	char path[] = "/tmp/mvm-test-fdt-XXXXXX";
	uint8_t *blob = NULL;
	size_t len = 0;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(fdt__dump(&f->vm, path), 0);
	assert_int_equal(util__read_file(path, 1 << 20, &blob, &len), 0);
	unlink(path);
	assert_int_equal(fdt_check_header(blob), 0);
	assert_int_equal(len, fdt_totalsize(blob));
	assert_prop_str(blob, fdt_path_offset(blob, "/chosen"), "bootargs", "console=ttyS0 quiet");
	free(blob);

	assert_true(fdt__dump(&f->vm, "/nonexistent-dir/x.dtb") < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fixed_nodes, setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_two_memory_slots, setup_big, teardown),
		cmocka_unit_test_setup_teardown(test_device_nodes, setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_setup_data, setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_dump, setup_small, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
