/*
 * The 8250 register file is driven by the guest: any sequence of reads and
 * writes of any width, mixed with host input, must keep the model in bounds
 * (FIFO indices, IIR state) and never crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/device.h"
#include "devices/serial8250.h"
#include "util/util.h"
#include "vm/vm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fake_irq_line(struct vm *vm, uint32_t gsi, int level)
{
	(void)vm; (void)gsi; (void)level;
	return 0;
}

static const struct vcpu_backend fake = { .name = "fuzz", .irq_line = fake_irq_line };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vm vm;
	struct config cfg = { .cpus = 1 };
	struct serial8250 *uart;

	memset(&vm, 0, sizeof(vm));
	vm.cfg = &cfg;
	vm.backend = &fake;
	bus__init(&vm.pio, "pio");
	bus__init(&vm.mmio, "mmio");
	if (serial8250__init(&vm, 0x3f8, 4, -1, &uart))
		abort();
	/* Each op: [kind, offset, value]; kind bit 0 write, bit 1 host input, bits 2-3 width. */
	for (size_t i = 0; i + 3 <= size; i += 3) {
		uint8_t kind = data[i], off = data[i + 1] & 7, val = data[i + 2];
		uint8_t buf[4] = { val, val, val, val };
		uint32_t len = 1u << ((kind >> 2) & 3);
		if (len > 4)
			len = 4;
		if (kind & 2)
			serial8250__rx(uart, buf, 1 + (val & 3));
		else
			bus__access(&vm.pio, 0x3f8 + off, buf, len, kind & 1);
	}
	device__destroy_all(&vm);
	bus__exit(&vm.pio);
	bus__exit(&vm.mmio);
	return 0;
}
