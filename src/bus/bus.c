#include "bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void bus__init(struct bus *b, const char *name)
{
	memset(b, 0, sizeof(*b));
	b->name = name;
}

void bus__exit(struct bus *b)
{
	free(b->ranges);
	b->ranges = NULL;
	b->nr = b->cap = 0;
}

/* Index of the first range whose base is above @addr. */
static size_t upper_bound(const struct bus *b, uint64_t addr)
{
	size_t lo = 0, hi = b->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (b->ranges[mid].base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int bus__register(struct bus *b, uint64_t base, uint64_t len, bus_fn fn, void *opaque,
		  const char *name)
{
	size_t i;

	if (!len || !fn || base + len - 1 < base)
		return -EINVAL;
	i = upper_bound(b, base);
	if (i > 0) {
		const struct bus_range *prev = &b->ranges[i - 1];
		if (prev->base + prev->len - 1 >= base)
			return -EEXIST;
	}
	if (i < b->nr && b->ranges[i].base <= base + len - 1)
		return -EEXIST;
	if (b->nr == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		struct bus_range *r = realloc(b->ranges, cap * sizeof(*r));
		if (!r)
			return -ENOMEM;
		b->ranges = r;
		b->cap = cap;
	}
	memmove(&b->ranges[i + 1], &b->ranges[i], (b->nr - i) * sizeof(*b->ranges));
	b->ranges[i] = (struct bus_range){ base, len, fn, opaque, name };
	b->nr++;
	return 0;
}

const struct bus_range *bus__find(const struct bus *b, uint64_t addr)
{
	size_t i = upper_bound(b, addr);

	if (i == 0)
		return NULL;
	const struct bus_range *r = &b->ranges[i - 1];
	return addr - r->base < r->len ? r : NULL;
}

bool bus__access(struct bus *b, uint64_t addr, uint8_t *data, uint32_t len, bool is_write)
{
	const struct bus_range *r = bus__find(b, addr);

	if (!r || len == 0 || addr - r->base + len > r->len) {
		__atomic_add_fetch(&b->unclaimed, 1, __ATOMIC_RELAXED);
		if (!is_write)
			memset(data, 0xff, len);
		return false;
	}
	r->fn(r->opaque, addr - r->base, data, len, is_write);
	return true;
}
