/*
 * The exit dispatcher: decode struct kvm_run, hand the access to a bus or
 * the OSI handler, and turn terminal exits into a stop request.  It never
 * calls the backend, so unit tests drive it with hand-made kvm_run records.
 */
#include "vcpu.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../util/util.h"
#include "../vm/vm.h"

static const char *const exit_names[] = {
	[KVM_EXIT_UNKNOWN] = "UNKNOWN",
	[KVM_EXIT_EXCEPTION] = "EXCEPTION",
	[KVM_EXIT_IO] = "IO",
	[KVM_EXIT_HYPERCALL] = "HYPERCALL",
	[KVM_EXIT_DEBUG] = "DEBUG",
	[KVM_EXIT_HLT] = "HLT",
	[KVM_EXIT_MMIO] = "MMIO",
	[KVM_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN",
	[KVM_EXIT_SHUTDOWN] = "SHUTDOWN",
	[KVM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY",
	[KVM_EXIT_INTR] = "INTR",
	[KVM_EXIT_SET_TPR] = "SET_TPR",
	[KVM_EXIT_TPR_ACCESS] = "TPR_ACCESS",
	[KVM_EXIT_S390_SIEIC] = "S390_SIEIC",
	[KVM_EXIT_S390_RESET] = "S390_RESET",
	[KVM_EXIT_DCR] = "DCR",
	[KVM_EXIT_NMI] = "NMI",
	[KVM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
	[KVM_EXIT_OSI] = "OSI",
	[KVM_EXIT_PAPR_HCALL] = "PAPR_HCALL",
	[KVM_EXIT_S390_UCONTROL] = "S390_UCONTROL",
	[KVM_EXIT_WATCHDOG] = "WATCHDOG",
	[KVM_EXIT_S390_TSCH] = "S390_TSCH",
	[KVM_EXIT_EPR] = "EPR",
	[KVM_EXIT_SYSTEM_EVENT] = "SYSTEM_EVENT",
};
_Static_assert(ARRAY_SIZE(exit_names) == KVM_EXIT_SYSTEM_EVENT + 1,
	       "exit name table out of step with the exits dispatch knows");

const char *vcpu__exit_name(uint32_t reason)
{
	if (reason < ARRAY_SIZE(exit_names) && exit_names[reason])
		return exit_names[reason];
	return "?";
}

static uint64_t le_value(const uint8_t *d, uint32_t len)
{
	uint64_t v = 0;

	memcpy(&v, d, len > 8 ? 8 : len);
	return v;
}

static void trace_exit(struct vcpu *v, const struct kvm_run *run)
{
	switch (run->exit_reason) {
	case KVM_EXIT_IO: {
		const uint8_t *d = (const uint8_t *)run + run->io.data_offset;
		util__fdprintf(2, "trace: vcpu%d IO %s port=0x%x size=%u count=%u data=0x%" PRIx64 "\n",
			v->id, run->io.direction == KVM_EXIT_IO_OUT ? "out" : "in", run->io.port,
			run->io.size, run->io.count,
			run->io.direction == KVM_EXIT_IO_OUT ? le_value(d, run->io.size) : 0);
		break;
	}
	case KVM_EXIT_MMIO:
		util__fdprintf(2, "trace: vcpu%d MMIO %s addr=0x%llx len=%u data=0x%" PRIx64 "\n", v->id,
			run->mmio.is_write ? "write" : "read", (unsigned long long)run->mmio.phys_addr,
			run->mmio.len, run->mmio.is_write ? le_value(run->mmio.data, run->mmio.len) : 0);
		break;
	default:
		util__fdprintf(2, "trace: vcpu%d %s\n", v->id, vcpu__exit_name(run->exit_reason));
		break;
	}
}

/* Reads are traced after the device answered, so the value is visible. */
static void trace_read_result(struct vcpu *v, const char *what, uint64_t addr, uint64_t val)
{
	util__fdprintf(2, "trace: vcpu%d %s read 0x%" PRIx64 " -> 0x%" PRIx64 "\n", v->id, what, addr, val);
}

static enum vcpu_action handle_io(struct vm *vm, struct vcpu *v, struct kvm_run *run)
{
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool out = run->io.direction == KVM_EXIT_IO_OUT;

	if (run->io.size != 1 && run->io.size != 2 && run->io.size != 4) {
		vm__request_stop(vm, MVM_EXIT_CRASH, "vCPU %d: IO exit with bad size %u", v->id,
				 run->io.size);
		return VCPU_STOP;
	}
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
		bus__access(&vm->pio, run->io.port, data, run->io.size, out);
		if (vm->trace_exits && !out)
			trace_read_result(v, "IO", run->io.port, le_value(data, run->io.size));
	}
	return vm__stopping(vm) ? VCPU_STOP : VCPU_CONTINUE;
}

static enum vcpu_action handle_mmio(struct vm *vm, struct vcpu *v, struct kvm_run *run)
{
	uint32_t len = run->mmio.len;

	if (len == 0 || len > sizeof(run->mmio.data)) {
		vm__request_stop(vm, MVM_EXIT_CRASH, "vCPU %d: MMIO exit with bad length %u", v->id,
				 len);
		return VCPU_STOP;
	}
	bus__access(&vm->mmio, run->mmio.phys_addr, run->mmio.data, len, run->mmio.is_write);
	if (vm->trace_exits && !run->mmio.is_write)
		trace_read_result(v, "MMIO", run->mmio.phys_addr, le_value(run->mmio.data, len));
	return vm__stopping(vm) ? VCPU_STOP : VCPU_CONTINUE;
}

static enum vcpu_action handle_system_event(struct vm *vm, struct vcpu *v, struct kvm_run *run)
{
	switch (run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		vm__request_stop(vm, MVM_EXIT_POWEROFF, "guest powered off (system event)");
		break;
	case KVM_SYSTEM_EVENT_RESET:
		vm__request_stop(vm, MVM_EXIT_REBOOT, "guest reset (system event)");
		break;
	default:
		vm__request_stop(vm, MVM_EXIT_CRASH, "vCPU %d: guest crashed (system event %u)",
				 v->id, run->system_event.type);
		break;
	}
	return VCPU_STOP;
}

enum vcpu_action vcpu__dispatch(struct vm *vm, struct vcpu *v)
{
	struct kvm_run *run = v->run;

	if (vm->trace_exits)
		trace_exit(v, run);
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		return handle_io(vm, v, run);
	case KVM_EXIT_MMIO:
		return handle_mmio(vm, v, run);
	case KVM_EXIT_OSI:
		return vm->osi ? vm->osi(vm, v, (uint64_t *)run->osi.gprs) : VCPU_CONTINUE;
	case KVM_EXIT_HLT:
		/* Only without an interrupt controller: nothing can ever wake it. */
		vm__request_stop(vm, MVM_EXIT_POWEROFF, "vCPU %d halted with no interrupt source",
				 v->id);
		return VCPU_STOP;
	case KVM_EXIT_SHUTDOWN:
		vm__request_stop(vm, MVM_EXIT_CRASH, "vCPU %d: guest triple fault (shutdown)", v->id);
		return VCPU_STOP;
	case KVM_EXIT_SYSTEM_EVENT:
		return handle_system_event(vm, v, run);
	case KVM_EXIT_INTERNAL_ERROR: {
		char bytes[3 * 16 + 1] = "";
		for (uint32_t i = 0; i < run->internal.ndata && i < 16; i++)
			snprintf(bytes + 3 * i, 4, " %02llx",
				 (unsigned long long)(run->internal.data[i] & 0xff));
		vm__request_stop(vm, MVM_EXIT_CRASH,
				 "vCPU %d: internal error, suberror %u, data:%s", v->id,
				 run->internal.suberror, bytes);
		return VCPU_STOP;
	}
	case KVM_EXIT_FAIL_ENTRY:
		vm__request_stop(vm, MVM_EXIT_CRASH,
				 "vCPU %d: VM entry failed, hardware reason 0x%llx", v->id,
				 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		return VCPU_STOP;
	case KVM_EXIT_INTR:
	case KVM_EXIT_IRQ_WINDOW_OPEN:
		return VCPU_CONTINUE;
	default:
		vm__request_stop(vm, MVM_EXIT_HOST, "vCPU %d: unexpected exit %u (%s)", v->id,
				 run->exit_reason, vcpu__exit_name(run->exit_reason));
		return VCPU_STOP;
	}
}
