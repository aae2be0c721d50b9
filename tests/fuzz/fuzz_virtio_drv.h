/*
 * A hostile virtio-mmio driver for the device fuzz targets: the fuzzer's
 * bytes are a program of register accesses (any width, any offset), guest
 * memory writes, descriptor and avail-ring edits, bring-ups with chosen
 * features and queue sizes, doorbells and resets.  Rings sit at fixed places
 * so small mutations of a valid request stay meaningful:
 *   queue i: desc RING_GPA + i*0x4000, avail after it, used 4-aligned after
 *   that; request buffers from DATA_GPA.
 * Devices run without their I/O thread: a doorbell is followed by
 * virtio__iothread_poll, which runs the same handlers on this thread.
 */
#ifndef MVM_FUZZ_VIRTIO_DRV_H
#define MVM_FUZZ_VIRTIO_DRV_H

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#include "devices/virtio/virtio.h"
#include "fuzz_guest.h"

#define RING_GPA	0x100000ULL
#define DATA_GPA	0x200000ULL

struct fd_ring {
	uint16_t num, avail_idx;
};

struct fd_drv {
	struct guest_mem *m;
	struct virtio_mmio *t;
	unsigned nq;
	struct fd_ring r[VIRTIO_MAX_QUEUES];
	/* Device-specific op (index 9 and up), e.g. host-side packets. */
	void (*extra)(struct fd_drv *d, uint8_t op, struct fg_in *in);
	/* After each doorbell poll: drain host-side output. */
	void (*drain)(struct fd_drv *d);
};

static inline uint64_t fd_desc_gpa(unsigned qi) { return RING_GPA + qi * 0x4000ULL; }
static inline uint64_t fd_avail_gpa(const struct fd_drv *d, unsigned qi)
{
	return fd_desc_gpa(qi) + 16ULL * d->r[qi].num;
}
static inline uint64_t fd_used_gpa(const struct fd_drv *d, unsigned qi)
{
	return ALIGN_UP(fd_avail_gpa(d, qi) + 6 + 2ULL * d->r[qi].num, 4);
}

static inline void fd_wr(struct fd_drv *d, uint64_t off, uint32_t v)
{
	virtio__mmio_access(d->t, off, (uint8_t *)&v, 4, true);
}

static inline uint32_t fd_rd(struct fd_drv *d, uint64_t off)
{
	uint32_t v = 0;

	virtio__mmio_access(d->t, off, (uint8_t *)&v, 4, false);
	return v;
}

static inline void fd_pump(struct fd_drv *d)
{
	for (int i = 0; i < 8; i++) {
		if (virtio__iothread_poll(&d->t->io, 0) <= 0)
			break;
		if (d->drain)
			d->drain(d);
	}
	if (d->drain)
		d->drain(d);
}

/* skip: bit 0 no FEATURES_OK, bit 1 no queues, bit 2 no DRIVER_OK, bit 3 no ACK/DRIVER. */
static inline void fd_bringup(struct fd_drv *d, uint64_t feat, uint8_t skip, uint16_t num)
{
	uint32_t st = 0;

	fd_wr(d, VIRTIO_MMIO_STATUS, 0);
	if (!(skip & 8)) {
		st = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
		fd_wr(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
		fd_wr(d, VIRTIO_MMIO_STATUS, st);
	}
	fd_wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	fd_wr(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)feat);
	fd_wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	fd_wr(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(feat >> 32));
	if (!(skip & 1)) {
		st |= VIRTIO_CONFIG_S_FEATURES_OK;
		fd_wr(d, VIRTIO_MMIO_STATUS, st);
	}
	for (unsigned i = 0; !(skip & 2) && i < d->nq; i++) {
		d->r[i] = (struct fd_ring){ .num = num };
		if (num && num <= VIRTIO_QUEUE_MAX)
			memset(mem__gpa_to_hva(d->m, fd_desc_gpa(i), 0x4000), 0, 0x4000);
		fd_wr(d, VIRTIO_MMIO_QUEUE_SEL, i);
		fd_wr(d, VIRTIO_MMIO_QUEUE_NUM, num);
		fd_wr(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)fd_desc_gpa(i));
		fd_wr(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
		fd_wr(d, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)fd_avail_gpa(d, i));
		fd_wr(d, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0);
		fd_wr(d, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)fd_used_gpa(d, i));
		fd_wr(d, VIRTIO_MMIO_QUEUE_USED_HIGH, 0);
		fd_wr(d, VIRTIO_MMIO_QUEUE_READY, 1);
	}
	if (!(skip & 4))
		fd_wr(d, VIRTIO_MMIO_STATUS, st | VIRTIO_CONFIG_S_DRIVER_OK);
}

/* Write @len bytes at @gpa if that is RAM (the driver may aim anywhere). */
static inline void fd_poke(struct fd_drv *d, uint64_t gpa, const void *p, uint64_t len)
{
	void *h = mem__gpa_to_hva(d->m, gpa, len);

	if (h)
		memcpy(h, p, len);
}

static inline void fd_publish(struct fd_drv *d, unsigned qi, uint16_t head)
{
	struct fd_ring *r = &d->r[qi];
	uint64_t a = fd_avail_gpa(d, qi);

	if (!r->num || r->num > VIRTIO_QUEUE_MAX)
		return;
	fd_poke(d, a + 4 + 2ULL * (r->avail_idx % r->num), &head, 2);
	r->avail_idx++;
	fd_poke(d, a + 2, &r->avail_idx, 2);
}

/* Run the program in @in. */
static inline void fd_run(struct fd_drv *d, struct fg_in *in)
{
	unsigned steps = 0;

	while (in->n && steps++ < 512) {
		uint8_t op = fg_take(in, 1);

		switch (op % 12) {
		case 0: {	/* 32-bit register write */
			uint16_t off = fg_take(in, 2) % VIRTIO_MMIO_WINDOW;
			fd_wr(d, off, fg_take(in, 4));
			break;
		}
		case 1: {	/* any width, any offset, read or write */
			uint16_t off = fg_take(in, 2);
			uint8_t lw = fg_take(in, 1);
			uint64_t v = fg_take(in, 8);
			uint8_t buf[16];

			memcpy(buf, &v, 8);
			virtio__mmio_access(d->t, off % (VIRTIO_MMIO_WINDOW + 16), buf,
					    1 + (lw & 15), lw & 16);
			break;
		}
		case 2:
			(void)fd_rd(d, fg_take(in, 2) % VIRTIO_MMIO_WINDOW);
			break;
		case 3: {	/* guest memory bytes in the ring/data area */
			uint64_t gpa = RING_GPA + (fg_take(in, 3) % 0x110000);
			uint8_t len = fg_take(in, 1) % 32;
			uint8_t buf[32];

			for (unsigned i = 0; i < len; i++)
				buf[i] = fg_take(in, 1);
			fd_poke(d, gpa, buf, len);
			break;
		}
		case 4: {	/* one descriptor */
			uint8_t qi = fg_take(in, 1), idx = fg_take(in, 1), mode = fg_take(in, 1);
			struct vring_desc v;

			v.addr = fg_take(in, 8);
			if (!(mode & 1))	/* usually a buffer in the data area */
				v.addr = DATA_GPA + (v.addr & 0xfffff);
			v.len = fg_take(in, 4);
			if (!(mode & 2))
				v.len &= 0x1fff;
			v.flags = fg_take(in, 2);
			v.next = fg_take(in, 2);
			fd_poke(d, fd_desc_gpa(qi % VIRTIO_MAX_QUEUES) + 16ULL * idx, &v, sizeof(v));
			break;
		}
		case 5: {	/* publish a head */
			uint8_t qi = fg_take(in, 1);
			fd_publish(d, qi % d->nq, fg_take(in, 2));
			break;
		}
		case 6: {	/* doorbell for any queue index */
			fd_wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, fg_take(in, 1) % 4);
			fd_pump(d);
			break;
		}
		case 7: {
			uint64_t feat = fg_take(in, 8);
			uint8_t skip = fg_take(in, 1);
			uint16_t num = fg_take(in, 2);

			if (!(skip & 0x80))
				feat &= d->t->device_features;
			if (!(skip & 0x40))
				num = 1u << (num % 9);
			fd_bringup(d, feat, skip & 15, num);
			break;
		}
		case 8:
			fd_wr(d, VIRTIO_MMIO_STATUS, 0);
			break;
		default:
			if (d->extra)
				d->extra(d, op, in);
			break;
		}
	}
	fd_pump(d);
}

/*
 * One fuzz round on a device: start from reset, let the input drive it,
 * then reset again; a device that does not come back to status 0 is a bug.
 */
static inline void fd_round(struct fd_drv *d, struct fg_in *in)
{
	fd_wr(d, VIRTIO_MMIO_STATUS, 0);
	fd_run(d, in);
	fd_wr(d, VIRTIO_MMIO_STATUS, 0);
	if (fd_rd(d, VIRTIO_MMIO_STATUS) != 0)
		abort();
}

#endif
