/*
 * A machine with guest RAM and buses but no backend or vCPUs, for tests of
 * the table builders and of devices that only need ports and memory.
 */
#ifndef MVM_TEST_VM_FIXTURE_H
#define MVM_TEST_VM_FIXTURE_H

#include <stdlib.h>

#include "devices/device.h"
#include "mem/mem.h"
#include "vm/vm.h"

struct fixture {
	struct vm vm;
	struct config cfg;
};

static int setup_vm(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->cfg.cpus = 1;
	f->cfg.mem_size = MEM_MIN_SIZE;
	f->vm.cfg = &f->cfg;
	bus__init(&f->vm.pio, "pio");
	bus__init(&f->vm.mmio, "mmio");
	if (mem__init(&f->vm.mem, MEM_MIN_SIZE)) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown_vm(void **state)
{
	struct fixture *f = *state;

	device__destroy_all(&f->vm);
	mem__exit(&f->vm.mem);
	bus__exit(&f->vm.pio);
	bus__exit(&f->vm.mmio);
	free(f);
	return 0;
}

#endif
