/*
 * The kernel loaders parse an untrusted file: bzImage header, multiboot
 * header, ELF program headers.  Whatever the bytes, they must either load
 * into guest RAM or fail with a reason, never read or write out of bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "loader/loader.h"
#include "mem/mem.h"
#include "util/util.h"
#include "vm/vm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vm vm;
static struct config cfg;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	static const char *const mods[] = { "/dev/null" };

	if (!vm.mem.nr_slots) {
		util__log_level = LOG_QUIET;	/* every input fails somehow */
		cfg.mem_size = 32 << 20;
		cfg.cpus = 2;
		vm.cfg = &cfg;
		if (mem__init(&vm.mem, cfg.mem_size))
			abort();
	}
	memset(&regs, 0, sizeof(regs));
	memset(&sregs, 0, sizeof(sregs));
	switch (loader__probe(data, size)) {
	case LOADER_BZIMAGE:
		(void)loader__bzimage(&vm, data, size, data, size / 4, "console=ttyS0", 0xe0000, 0,
				      &regs, &sregs);
		break;
	case LOADER_MULTIBOOT:
		(void)loader__multiboot(&vm, data, size, "fuzz.elf", "a b c", mods, 1, &regs,
					&sregs);
		break;
	default:
		break;
	}
	return 0;
}
