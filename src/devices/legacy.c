#include "legacy.h"

#include <string.h>

#include "../util/util.h"
#include "../vm/vm.h"

static void postcode__io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
			 bool is_write)
{
	if (!is_write)
		memset(data, 0xff, len);
}

int postcode__init(struct vm *vm)
{
	/* Stateless: no struct device, nothing to free. */
	int ret = bus__register(&vm->pio, POSTCODE_PORT, 1, postcode__io, NULL, "postcode");

	if (ret)
		pr_err("bus__register(postcode at 0x%x) failed: %s; another device claims it",
		       POSTCODE_PORT, strerror(-ret));
	return ret;
}
