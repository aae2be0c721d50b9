/*
 * Shared by the virtio fuzz targets: a 16 MiB guest whose host mapping is
 * fenced by PROT_NONE pages, so a device that computes a host pointer a few
 * bytes past guest RAM faults at once instead of scribbling on the slack
 * mem__init keeps for huge-page alignment (ASan cannot see into an mmap).
 */
#ifndef MVM_FUZZ_GUEST_H
#define MVM_FUZZ_GUEST_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "mem/mem.h"
#include "util/util.h"

#define FG_RAM		(16ULL << 20)

static inline void fg_init(struct guest_mem *m)
{
	uint8_t *map, *lo, *hi, *end;

	if (mem__init(m, FG_RAM))
		abort();
	map = m->map;
	lo = m->slot[0].hva;
	hi = lo + m->slot[0].size;
	end = map + m->map_len;
	if (lo > map && mprotect(map, lo - map, PROT_NONE))
		abort();
	if (end > hi && mprotect(hi, end - hi, PROT_NONE))
		abort();
}

/* true when [p, p+len) lies inside guest RAM's host mapping. */
static inline bool fg_inside(const struct guest_mem *m, const void *p, uint64_t len)
{
	const uint8_t *lo = m->slot[0].hva, *b = p;

	return b >= lo && len <= m->slot[0].size && (uint64_t)(b - lo) <= m->slot[0].size - len;
}

/* A little-endian reader over the fuzzer's bytes; zeros once they run out. */
struct fg_in {
	const uint8_t *p;
	size_t n;
};

static inline uint64_t fg_take(struct fg_in *in, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes; i++) {
		uint8_t b = 0;
		if (in->n) {
			b = *in->p++;
			in->n--;
		}
		v |= (uint64_t)b << (8 * i);
	}
	return v;
}

#endif
