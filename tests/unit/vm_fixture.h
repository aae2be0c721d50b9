/*
 * A machine with guest RAM and buses but no vCPUs, for tests of the table
 * builders and of devices that only need ports and memory.
 */
#ifndef MVM_TEST_VM_FIXTURE_H
#define MVM_TEST_VM_FIXTURE_H

#include <stdlib.h>

#include "dev_fixture.h"
#include "mem/mem.h"

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
	dev_vm__init(&f->vm, &f->cfg);
	if (mem__init(&f->vm.mem, MEM_MIN_SIZE)) {
		dev_vm__exit(&f->vm);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown_vm(void **state)
{
	struct fixture *f = *state;

	dev_vm__exit(&f->vm);
	mem__exit(&f->vm.mem);
	free(f);
	return 0;
}

#endif
