/* Drives the pure exit dispatcher with hand-made kvm_run records. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util/util.h"
#include "vm/vm.h"

static const struct vcpu_backend fake_backend = { .name = "fake" };

struct fixture {
	struct vm vm;
	struct vcpu v;
	struct config cfg;
	union {
		struct kvm_run run;
		uint8_t page[8192];
	} r;
};

static uint8_t last_out[64];
static int out_calls, in_calls;

static void port_dev(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	(void)opaque;
	if (is_write) {
		memcpy(last_out + (out_calls * len) % 32, data, len);
		out_calls++;
	} else {
		memset(data, 0x40 + (int)off, len);
		in_calls++;
	}
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->vm.backend = &fake_backend;
	f->vm.cfg = &f->cfg;
	bus__init(&f->vm.pio, "pio");
	bus__init(&f->vm.mmio, "mmio");
	assert_int_equal(bus__register(&f->vm.pio, 0x3f8, 8, port_dev, NULL, "uart"), 0);
	assert_int_equal(bus__register(&f->vm.mmio, 0xd0000000, 0x200, port_dev, NULL, "virtio"), 0);
	f->v.vm = &f->vm;
	f->v.run = &f->r.run;
	f->vm.vcpus[0] = &f->v;
	f->vm.nr_vcpus = 1;
	memset(last_out, 0, sizeof(last_out));
	out_calls = in_calls = 0;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	bus__exit(&f->vm.pio);
	bus__exit(&f->vm.mmio);
	free(f);
	return 0;
}

static void io_string_out(void **state)
{
	struct fixture *f = *state;
	struct kvm_run *run = &f->r.run;
	run->exit_reason = KVM_EXIT_IO;
	run->io.direction = KVM_EXIT_IO_OUT;
	run->io.port = 0x3f8;
	run->io.size = 1;
	run->io.count = 3;
	run->io.data_offset = 4096;
	memcpy(f->r.page + 4096, "abc", 3);
	assert_int_equal(vcpu__dispatch(&f->vm, &f->v), VCPU_CONTINUE);
	assert_int_equal(out_calls, 3);
	assert_memory_equal(last_out, "abc", 3);
}

static void io_in_sizes(void **state)
{
	struct fixture *f = *state;
	struct kvm_run *run = &f->r.run;
	run->exit_reason = KVM_EXIT_IO;
	run->io.direction = KVM_EXIT_IO_IN;
	run->io.port = 0x3fa;
	run->io.size = 4;
	run->io.count = 2;
	run->io.data_offset = 4096;
	assert_int_equal(vcpu__dispatch(&f->vm, &f->v), VCPU_CONTINUE);
	assert_int_equal(in_calls, 2);
	assert_int_equal(f->r.page[4096 + 7], 0x42);
	/* unclaimed port reads as all ones and is counted */
	run->io.port = 0x60;
	run->io.size = 2;
	run->io.count = 1;
	assert_int_equal(vcpu__dispatch(&f->vm, &f->v), VCPU_CONTINUE);
	assert_int_equal(f->r.page[4096], 0xff);
	assert_int_equal(f->vm.pio.unclaimed, 1);
	/* a size no CPU produces stops the VM instead of overrunning */
	run->io.size = 3;
	assert_int_equal(vcpu__dispatch(&f->vm, &f->v), VCPU_STOP);
	assert_int_equal(f->vm.exit_status, MVM_EXIT_CRASH);
}

static void mmio(void **state)
{
	struct fixture *f = *state;
	struct kvm_run *run = &f->r.run;
	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.phys_addr = 0xd0000004;
	run->mmio.len = 8;
	run->mmio.is_write = 0;
	assert_int_equal(vcpu__dispatch(&f->vm, &f->v), VCPU_CONTINUE);
	assert_int_equal(run->mmio.data[7], 0x44);
	run->mmio.phys_addr = 0xfee00000;	/* nothing there */
	run->mmio.len = 4;
	assert_int_equal(vcpu__dispatch(&f->vm, &f->v), VCPU_CONTINUE);
	assert_int_equal(run->mmio.data[0], 0xff);
	run->mmio.len = 9;
	assert_int_equal(vcpu__dispatch(&f->vm, &f->v), VCPU_STOP);
}

static void terminal_exits(void **state)
{
	static const struct { uint32_t reason, type; int status; } cases[] = {
		{ KVM_EXIT_SHUTDOWN, 0, MVM_EXIT_CRASH },
		{ KVM_EXIT_INTERNAL_ERROR, 0, MVM_EXIT_CRASH },
		{ KVM_EXIT_FAIL_ENTRY, 0, MVM_EXIT_CRASH },
		{ KVM_EXIT_SYSTEM_EVENT, KVM_SYSTEM_EVENT_SHUTDOWN, MVM_EXIT_POWEROFF },
		{ KVM_EXIT_SYSTEM_EVENT, KVM_SYSTEM_EVENT_RESET, MVM_EXIT_REBOOT },
		{ KVM_EXIT_SYSTEM_EVENT, KVM_SYSTEM_EVENT_CRASH, MVM_EXIT_CRASH },
		{ KVM_EXIT_HLT, 0, MVM_EXIT_POWEROFF },
		{ KVM_EXIT_DCR, 0, MVM_EXIT_HOST },
	};
	struct fixture *f = *state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		f->vm.stopping = 0;
		f->r.run.exit_reason = cases[i].reason;
		f->r.run.system_event.type = cases[i].type;
		assert_int_equal(vcpu__dispatch(&f->vm, &f->v), VCPU_STOP);
		assert_int_equal(f->vm.exit_status, cases[i].status);
		assert_true(vm__stopping(&f->vm));
	}
	/* only the first stop request counts */
	vm__request_stop(&f->vm, 99, "late");
	assert_int_equal(f->vm.exit_status, MVM_EXIT_HOST);
}

static enum vcpu_action osi_double(struct vm *vm, struct vcpu *v, uint64_t *gprs)
{
	(void)vm; (void)v;
	gprs[0] *= 2;
	return VCPU_CONTINUE;
}

static void osi(void **state)
{
	struct fixture *f = *state;
	f->r.run.exit_reason = KVM_EXIT_OSI;
	f->r.run.osi.gprs[0] = 21;
	assert_int_equal(vcpu__dispatch(&f->vm, &f->v), VCPU_CONTINUE);	/* no handler */
	assert_int_equal(f->r.run.osi.gprs[0], 21);
	f->vm.osi = osi_double;
	assert_int_equal(vcpu__dispatch(&f->vm, &f->v), VCPU_CONTINUE);
	assert_int_equal(f->r.run.osi.gprs[0], 42);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(io_string_out, setup, teardown),
		cmocka_unit_test_setup_teardown(io_in_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(mmio, setup, teardown),
		cmocka_unit_test_setup_teardown(terminal_exits, setup, teardown),
		cmocka_unit_test_setup_teardown(osi, setup, teardown),
	};
	return cmocka_run_group_tests_name("vcpu_dispatch", tests, NULL, NULL);
}
