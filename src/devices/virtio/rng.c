/* virtio-rng (virtio 1.2 section 5.4): fill device-writable buffers from getrandom. */
#include "virtio.h"

#include <errno.h>
#include <linux/virtio_ids.h>
#include <stdlib.h>
#include <sys/random.h>

#define RNG_IOV		16
#define RNG_MAX_CHAIN	(64 * 1024)	/* bytes per request: bounds time on the I/O thread */

struct virtio_rng {
	struct virtio_mmio t;
	struct iovec iov[RNG_IOV];
};

static uint32_t fill(struct virtio_chain *c)
{
	uint32_t done = 0;

	for (unsigned i = c->nr_out; i < c->nr_out + c->nr_in && done < RNG_MAX_CHAIN; i++) {
		uint8_t *p = c->iov[i].iov_base;
		size_t left = MIN(c->iov[i].iov_len, RNG_MAX_CHAIN - done);

		while (left) {
			ssize_t n = getrandom(p, left, 0);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				return done;
			}
			p += n;
			left -= n;
			done += n;
		}
	}
	return done;
}

static void rng_notify(struct virtio_mmio *t)
{
	struct virtio_rng *r = t->dev;
	struct virtio_chain c = { .iov = r->iov, .max_iov = RNG_IOV };
	int ret;

	while ((ret = virtio__queue_pop(&t->vq[0], &c)) > 0)
		virtio__queue_push(&t->vq[0], c.head, fill(&c));
	if (ret < 0)
		virtio__mmio_fail(t, "malformed virtio-rng descriptor chain");
	virtio__mmio_signal_queue(t, 0);
}

static void rng_destroy(struct virtio_mmio *t)
{
	virtio__iothread_stop(&t->io);
	virtio__mmio_exit(t);
	free(t->dev);
}

static const struct virtio_dev_ops rng_ops = {
	.name = "virtio-rng",
	.device_id = VIRTIO_ID_RNG,
	.nr_queues = 1,
	.notify = rng_notify,
	.destroy = rng_destroy,
};

int virtio_rng__new(const struct guest_mem *mem, struct virtio_mmio **out)
{
	struct virtio_rng *r = calloc(1, sizeof(*r));
	int ret;

	if (!r)
		return -ENOMEM;
	ret = virtio__mmio_init(&r->t, &rng_ops, r, mem, 0, 0);
	if (ret) {
		free(r);
		return ret;
	}
	*out = &r->t;
	return 0;
}
