/*
 * bus: one registry for port-I/O and MMIO ranges.
 *
 * Ranges are kept sorted and never overlap; registration happens during
 * set-up only, so lookups from vCPU threads need no lock.  A handler sees the
 * offset into its own range, never the absolute address, and does its own
 * locking because several vCPUs may call it at once.
 */
#ifndef MVM_BUS_H
#define MVM_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* @data holds @len bytes (1, 2, 4 or 8), little-endian as on the wire. */
typedef void (*bus_fn)(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
		       bool is_write);

struct bus_range {
	uint64_t base, len;
	bus_fn fn;
	void *opaque;
	const char *name;
};

struct bus {
	const char *name;		/* "pio" or "mmio", for messages */
	struct bus_range *ranges;
	size_t nr, cap;
	uint64_t unclaimed;		/* accesses no range claimed */
};

void bus__init(struct bus *b, const char *name);
void bus__exit(struct bus *b);

/* 0, -EINVAL for an empty or wrapping range, -EEXIST on overlap, -ENOMEM. */
int bus__register(struct bus *b, uint64_t base, uint64_t len, bus_fn fn, void *opaque,
		  const char *name) __attribute__((warn_unused_result));

const struct bus_range *bus__find(const struct bus *b, uint64_t addr);

/*
 * Deliver one access.  An access no range claims is counted; a read of it
 * returns all ones.  An access that straddles the end of a range is treated as
 * unclaimed.  Returns true when a device claimed it.
 */
bool bus__access(struct bus *b, uint64_t addr, uint8_t *data, uint32_t len, bool is_write);

#endif
