/*
 * A tiny virtio driver for the virtio unit tests: rings built by hand in a
 * 16 MiB fake guest, registers poked through virtio__mmio_access.
 */
#ifndef MVM_TEST_VIRTIO_UTIL_H
#define MVM_TEST_VIRTIO_UTIL_H

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <string.h>

#include "devices/virtio/virtio.h"

#define TV_MEM		(16ULL << 20)
#define TV_RING_BASE	0x10000ULL	/* queue i rings at TV_RING_BASE + i * 0x4000 */
#define TV_DATA		0x100000ULL	/* scratch buffers */

struct tv_ring {
	struct guest_mem *m;
	uint64_t desc, avail, used;
	uint16_t num, avail_idx, used_seen;
};

static inline void *tv_hva(struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	void *p = mem__gpa_to_hva(m, gpa, len);
	assert_non_null(p);
	return p;
}

static inline void tv_ring_init(struct tv_ring *r, struct guest_mem *m, unsigned qi,
				uint16_t num)
{
	r->m = m;
	r->num = num;
	r->desc = TV_RING_BASE + qi * 0x4000;
	r->avail = r->desc + 16 * num;
	r->used = ALIGN_UP(r->avail + 6 + 2 * num, 4);
	r->avail_idx = r->used_seen = 0;
	memset(tv_hva(m, r->desc, 0x4000), 0, 0x4000);
}

static inline void tv_desc(struct tv_ring *r, uint16_t i, uint64_t addr, uint32_t len,
			   uint16_t flags, uint16_t next)
{
	struct vring_desc *d = tv_hva(r->m, r->desc + 16ULL * i, 16);
	*d = (struct vring_desc){ addr, len, flags, next };
}

static inline struct vring_avail *tv_avail(struct tv_ring *r)
{
	return tv_hva(r->m, r->avail, 6 + 2 * r->num);
}

static inline struct vring_used *tv_used(struct tv_ring *r)
{
	return tv_hva(r->m, r->used, 6 + 8 * r->num);
}

static inline void tv_publish(struct tv_ring *r, uint16_t head)
{
	struct vring_avail *a = tv_avail(r);
	a->ring[r->avail_idx % r->num] = head;
	__atomic_store_n(&a->idx, ++r->avail_idx, __ATOMIC_RELEASE);
}

/* Next used element, if any. */
static inline bool tv_get_used(struct tv_ring *r, uint32_t *id, uint32_t *len)
{
	struct vring_used *u = tv_used(r);
	if (__atomic_load_n(&u->idx, __ATOMIC_ACQUIRE) == r->used_seen)
		return false;
	*id = u->ring[r->used_seen % r->num].id;
	*len = u->ring[r->used_seen % r->num].len;
	r->used_seen++;
	return true;
}

static inline uint32_t tv_rd(struct virtio_mmio *t, uint64_t off)
{
	uint32_t v;
	virtio__mmio_access(t, off, (uint8_t *)&v, 4, false);
	return v;
}

static inline void tv_wr(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	virtio__mmio_access(t, off, (uint8_t *)&v, 4, true);
}

/*
 * Driver bring-up per 3.1.1: features @feat (VERSION_1 added), one ring per
 * queue of @num entries.  Returns the final status register.
 */
static inline uint32_t tv_bringup(struct virtio_mmio *t, struct tv_ring *rings, unsigned nq,
				  uint16_t num, uint64_t feat)
{
	feat |= 1ULL << VIRTIO_F_VERSION_1;
	tv_wr(t, VIRTIO_MMIO_STATUS, 0);
	tv_wr(t, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	tv_wr(t, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	tv_wr(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	tv_wr(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)feat);
	tv_wr(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	tv_wr(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(feat >> 32));
	tv_wr(t, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
				     VIRTIO_CONFIG_S_FEATURES_OK);
	if (!(tv_rd(t, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK))
		return tv_rd(t, VIRTIO_MMIO_STATUS);
	for (unsigned i = 0; i < nq; i++) {
		tv_ring_init(&rings[i], (struct guest_mem *)t->mem, i, num);
		tv_wr(t, VIRTIO_MMIO_QUEUE_SEL, i);
		tv_wr(t, VIRTIO_MMIO_QUEUE_NUM, num);
		tv_wr(t, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)rings[i].desc);
		tv_wr(t, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
		tv_wr(t, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)rings[i].avail);
		tv_wr(t, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0);
		tv_wr(t, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)rings[i].used);
		tv_wr(t, VIRTIO_MMIO_QUEUE_USED_HIGH, 0);
		tv_wr(t, VIRTIO_MMIO_QUEUE_READY, 1);
	}
	tv_wr(t, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
				     VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	return tv_rd(t, VIRTIO_MMIO_STATUS);
}

/* Run the device's I/O thread body until queue @r has a used entry (or 2 s). */
static inline bool tv_wait_used(struct virtio_mmio *t, struct tv_ring *r, uint32_t *id,
				uint32_t *len)
{
	for (int i = 0; i < 200; i++) {
		if (tv_get_used(r, id, len))
			return true;
		virtio__iothread_poll(&t->io, 10);
	}
	return tv_get_used(r, id, len);
}

static inline void tv_count_irq(struct virtio_mmio *t)
{
	(*(int *)t->irq_opaque)++;
}

#endif
