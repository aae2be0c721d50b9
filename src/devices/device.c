#include "device.h"

#include "../util/util.h"
#include "../vm/vm.h"

void device__register(struct vm *vm, struct device *d)
{
	struct device **p = &vm->devices;

	while (*p)
		p = &(*p)->next;
	d->next = NULL;
	*p = d;
}

int device__start_all(struct vm *vm)
{
	for (struct device *d = vm->devices; d; d = d->next) {
		if (!d->start)
			continue;
		int ret = d->start(d);
		if (ret) {
			pr_err("cannot start device %s: error %d", d->name, ret);
			return ret;
		}
	}
	return 0;
}

/* Reverse order: later devices may use earlier ones (a console on the terminal). */
static void destroy_from(struct device *d)
{
	if (!d)
		return;
	destroy_from(d->next);
	if (d->destroy)
		d->destroy(d);
}

void device__destroy_all(struct vm *vm)
{
	struct device *head = vm->devices;

	vm->devices = NULL;
	destroy_from(head);
}
