#include "mem.h"

#include "../util/util.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define HUGE_2M (2ULL << 20)

int mem__init(struct guest_mem *m, uint64_t ram_size)
{
	uint64_t low, high, span;
	uint8_t *map, *base;

	memset(m, 0, sizeof(*m));
	if (ram_size < MEM_MIN_SIZE || (ram_size & 0xfff))
		return -EINVAL;
	low = ram_size < MEM_HOLE_START ? ram_size : MEM_HOLE_START;
	high = ram_size - low;
	/* Contiguous host layout mirrors the guest's; the hole is never mapped. */
	span = low + high;
	map = mmap(NULL, span + HUGE_2M, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (map == MAP_FAILED)
		return -ENOMEM;
	base = (uint8_t *)ALIGN_UP((uintptr_t)map, HUGE_2M);
	madvise(base, span, MADV_HUGEPAGE);
	m->map = map;
	m->map_len = span + HUGE_2M;
	m->ram_size = ram_size;
	m->slot[0] = (struct mem_slot){ 0, low, base };
	m->nr_slots = 1;
	if (high) {
		m->slot[1] = (struct mem_slot){ MEM_HOLE_END, high, base + low };
		m->nr_slots = 2;
	}
	m->generation = 1;
	m->write_epoch = &m->write_epoch_storage;
	return 0;
}

void mem__exit(struct guest_mem *m)
{
	if (m->map)
		munmap(m->map, m->map_len);
	memset(m, 0, sizeof(*m));
}

void *mem__gpa_to_hva(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	for (int i = 0; i < m->nr_slots; i++) {
		const struct mem_slot *s = &m->slot[i];
		if (gpa >= s->gpa && gpa - s->gpa < s->size && len <= s->size - (gpa - s->gpa))
			return s->hva + (gpa - s->gpa);
	}
	return NULL;
}

bool mem__is_ram(const struct guest_mem *m, uint64_t gpa)
{
	return mem__gpa_to_hva(m, gpa, 1) != NULL;
}

int mem__read(const struct guest_mem *m, uint64_t gpa, void *dst, uint64_t len)
{
	void *p = mem__gpa_to_hva(m, gpa, len);
	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

int mem__write(const struct guest_mem *m, uint64_t gpa, const void *src, uint64_t len)
{
	void *p = mem__gpa_to_hva(m, gpa, len);
	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	mem__note_write(m);
	return 0;
}

void mem__note_write(const struct guest_mem *m)
{
	if (m && m->write_epoch)
		__atomic_fetch_add(m->write_epoch, 1, __ATOMIC_RELEASE);
}
