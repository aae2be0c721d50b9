/*
 * virtio-console, one port, no MULTIPORT (virtio 1.2 section 5.3): Linux
 * turns it into hvc0.  Queue 0 carries host input to the guest, queue 1 the
 * guest's output.  Input waits in a bounded buffer until the guest posts
 * receive buffers; what does not fit is refused, and the producer (the
 * terminal thread) is told when room comes back.
 */
#include "virtio.h"

#include <errno.h>
#include <linux/virtio_console.h>
#include <linux/virtio_ids.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CON_IOV		64
#define CON_IN_MAX	4096
#define CON_RXQ		0
#define CON_TXQ		1

struct virtio_console {
	struct virtio_mmio t;
	int out_fd;
	pthread_mutex_t in_lock;	/* in_buf is filled by the terminal thread */
	uint8_t in_buf[CON_IN_MAX];
	size_t in_len;
	bool refused;
	bool guest_spoke;	/* the driver has sent output since reset */
	void (*room)(void *opaque);
	void *room_opaque;
	struct iovec iov[CON_IOV];
};

static void write_all(int fd, const struct iovec *iov, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *p = iov[i].iov_base;
		size_t left = iov[i].iov_len;

		while (left) {
			ssize_t k = write(fd, p, left);
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				return;		/* output gone: drop, never stall the guest */
			p += k;
			left -= k;
		}
	}
}

static int con_tx(struct virtio_console *c)
{
	struct virtio_chain ch = { .iov = c->iov, .max_iov = CON_IOV };
	int ret;

	while ((ret = virtio__queue_pop(&c->t.vq[CON_TXQ], &ch)) > 0) {
		write_all(c->out_fd, ch.iov, ch.nr_out);
		c->guest_spoke = true;
		virtio__queue_push(&c->t.vq[CON_TXQ], ch.head, 0);
	}
	virtio__mmio_signal_queue(&c->t, CON_TXQ);
	return ret;
}

static int con_rx(struct virtio_console *c)
{
	struct virtio_chain ch = { .iov = c->iov, .max_iov = CON_IOV };
	bool room = false;
	int ret = 0;

	if (!c->guest_spoke)
		return 0;
	pthread_mutex_lock(&c->in_lock);
	while (c->in_len && (ret = virtio__queue_pop(&c->t.vq[CON_RXQ], &ch)) > 0) {
		size_t n = virtio__buf_to_iov(ch.iov + ch.nr_out, ch.nr_in, 0, c->in_buf,
					      c->in_len);

		memmove(c->in_buf, c->in_buf + n, c->in_len - n);
		c->in_len -= n;
		virtio__queue_push(&c->t.vq[CON_RXQ], ch.head, n);
		if (c->refused) {
			c->refused = false;
			room = true;
		}
	}
	pthread_mutex_unlock(&c->in_lock);
	virtio__mmio_signal_queue(&c->t, CON_RXQ);
	if (room && c->room)
		c->room(c->room_opaque);
	return ret;
}

static void con_notify(struct virtio_mmio *t)
{
	struct virtio_console *c = t->dev;

	if (con_tx(c) < 0 || con_rx(c) < 0)
		virtio__mmio_fail(t, "malformed virtio-console descriptor chain");
}

size_t virtio_console__term_sink(void *opaque, const uint8_t *buf, size_t n)
{
	struct virtio_mmio *t = opaque;
	struct virtio_console *c = t->dev;
	size_t take;
	uint64_t one = 1;

	pthread_mutex_lock(&c->in_lock);
	take = MIN(n, CON_IN_MAX - c->in_len);
	memcpy(c->in_buf + c->in_len, buf, take);
	c->in_len += take;
	if (take < n)
		c->refused = true;
	pthread_mutex_unlock(&c->in_lock);
	/* The I/O thread moves it into the guest's buffers. */
	if (take && write(t->notify_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_warn("virtio-console: cannot wake the I/O thread: %s", strerror(errno));
	return take;
}

void virtio_console__set_rx_notify(struct virtio_mmio *t, void (*fn)(void *opaque),
				   void *opaque)
{
	struct virtio_console *c = t->dev;

	c->room = fn;
	c->room_opaque = opaque;
}

static void con_reset(struct virtio_mmio *t)
{
	struct virtio_console *c = t->dev;

	c->guest_spoke = false;	/* pending input survives a driver reload */
}

static void con_destroy(struct virtio_mmio *t)
{
	struct virtio_console *c = t->dev;

	virtio__iothread_stop(&t->io);
	virtio__mmio_exit(t);
	pthread_mutex_destroy(&c->in_lock);
	free(c);
}

static const struct virtio_dev_ops con_ops = {
	.name = "virtio-console",
	.device_id = VIRTIO_ID_CONSOLE,
	.nr_queues = 2,
	.reset = con_reset,
	.notify = con_notify,
	.destroy = con_destroy,
};

int virtio_console__new(int out_fd, const struct guest_mem *mem, struct virtio_mmio **out)
{
	struct virtio_console *c = calloc(1, sizeof(*c));
	struct virtio_console_config cfg = { .cols = 80, .rows = 25 };
	int ret;

	if (!c)
		return -ENOMEM;
	c->out_fd = out_fd;
	pthread_mutex_init(&c->in_lock, NULL);
	ret = virtio__mmio_init(&c->t, &con_ops, c, mem, 0, sizeof(cfg));
	if (ret) {
		pthread_mutex_destroy(&c->in_lock);
		free(c);
		return ret;
	}
	memcpy(c->t.config, &cfg, sizeof(cfg));
	*out = &c->t;
	return 0;
}
