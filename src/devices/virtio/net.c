/*
 * virtio-net over a tap device (virtio 1.2 section 5.1).
 *
 * The tap carries the same 12-byte virtio_net_hdr_v1 the guest uses
 * (IFF_VNET_HDR, TUNSETVNETHDRSZ 12), so checksum and TSO metadata pass
 * through untouched and TUNSETOFFLOAD only mirrors what the guest can take.
 * Buffering is bounded to one received frame: when the guest posts no
 * receive buffers we stop reading the tap (the kernel queue then drops),
 * and resume on the guest's next notify.
 */
#include "virtio.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <unistd.h>

#define NET_HDR_LEN	sizeof(struct virtio_net_hdr_v1)
#define NET_FRAME_MAX	(NET_HDR_LEN + 65536 + 14 + 4)	/* GSO frame + Ethernet/VLAN */
#define NET_RXQ		0
#define NET_TXQ		1
#define NET_RX_BUDGET	256	/* frames per wake-up, so TX is not starved */

_Static_assert(sizeof(struct virtio_net_hdr_v1) == 12, "virtio 1.x net header is 12 bytes");

struct virtio_net {
	struct virtio_mmio t;
	int fd;
	bool is_tap;
	bool polling;		/* tap fd has EPOLLIN armed */
	bool warned_io;
	bool offload_dirty;	/* apply TUNSETOFFLOAD on the I/O thread */
	struct virtio_io_handler tap_handler;
	size_t rx_len;		/* frame waiting for guest buffers, 0: none */
	uint8_t *rx_buf;
	uint16_t heads[VIRTIO_QUEUE_MAX];
	uint32_t lens[VIRTIO_QUEUE_MAX];
	struct iovec first_iov[VIRTIO_QUEUE_MAX];
	struct iovec iov[VIRTIO_QUEUE_MAX];
};

static void tap_poll(struct virtio_net *n, bool on)
{
	if (n->polling == on)
		return;
	if (virtio__iothread_mod(&n->t.io, n->fd, on ? EPOLLIN : 0, &n->tap_handler))
		pr_warn("virtio-net: epoll_ctl on the tap failed: %s", strerror(errno));
	n->polling = on;
}

/*
 * Copy the pending frame into one chain, or several with MRG_RXBUF.
 * 1: consumed (delivered or dropped), 0: not enough buffers yet, <0: bad chain.
 */
static int rx_deliver(struct virtio_net *n)
{
	struct virtio_queue *q = &n->t.vq[NET_RXQ];
	bool mrg = virtio__mmio_has_feature(&n->t, VIRTIO_NET_F_MRG_RXBUF);
	struct virtio_chain first = { .iov = n->first_iov, .max_iov = VIRTIO_QUEUE_MAX };
	struct virtio_chain c = { .iov = n->iov, .max_iov = VIRTIO_QUEUE_MAX };
	size_t off = 0;
	uint16_t nbuf = 0;
	int ret;

	while (off < n->rx_len) {
		struct virtio_chain *ch = nbuf ? &c : &first;

		if (nbuf == VIRTIO_QUEUE_MAX || (nbuf && !mrg)) {
			/* Frame larger than everything the guest offers: drop it. */
			virtio__queue_unpop(q, nbuf);
			return 1;
		}
		ret = virtio__queue_pop(q, ch);
		if (ret <= 0) {
			virtio__queue_unpop(q, nbuf);
			return ret;
		}
		if (ch->nr_out || (!nbuf && ch->in_len < NET_HDR_LEN))
			return -EINVAL;
		n->heads[nbuf] = ch->head;
		n->lens[nbuf] = virtio__buf_to_iov(ch->iov, ch->nr_in, 0, n->rx_buf + off,
						   n->rx_len - off);
		off += n->lens[nbuf++];
	}
	/* num_buffers sits in the header at the start of the first buffer. */
	virtio__buf_to_iov(first.iov, first.nr_in,
			   offsetof(struct virtio_net_hdr_v1, num_buffers), &nbuf, 2);
	for (uint16_t i = 0; i < nbuf; i++)
		virtio__queue_push(q, n->heads[i], n->lens[i]);
	return 1;
}

static int net_rx(struct virtio_net *n)
{
	int ret = 0;

	for (int budget = NET_RX_BUDGET; budget; budget--) {
		if (!n->rx_len) {
			ssize_t k = read(n->fd, n->rx_buf, NET_FRAME_MAX);
			if (k < 0) {
				if (errno == EAGAIN || errno == EINTR)
					break;
				if (!n->warned_io)
					pr_warn("virtio-net: read from the tap failed: %s",
						strerror(errno));
				n->warned_io = true;
				/* A broken tap stays readable: stop polling, or we spin. */
				tap_poll(n, false);
				break;
			}
			if ((size_t)k <= NET_HDR_LEN)
				continue;	/* runt: nothing to deliver */
			n->rx_len = k;
			/* The tap leaves num_buffers to us. */
			memset(n->rx_buf + offsetof(struct virtio_net_hdr_v1, num_buffers), 0, 2);
		}
		ret = rx_deliver(n);
		if (ret < 0)
			break;
		if (ret == 0) {
			tap_poll(n, false);	/* wait for the guest's next RX notify */
			break;
		}
		n->rx_len = 0;
	}
	virtio__mmio_signal_queue(&n->t, NET_RXQ);
	return ret < 0 ? ret : 0;
}

static int net_tx(struct virtio_net *n)
{
	struct virtio_queue *q = &n->t.vq[NET_TXQ];
	struct virtio_chain c = { .iov = n->iov, .max_iov = VIRTIO_QUEUE_MAX };
	int ret;

	while ((ret = virtio__queue_pop(q, &c)) > 0) {
		/* Writable descriptors in a TX chain carry nothing; ignore them. */
		if (c.out_len > NET_HDR_LEN && c.out_len <= NET_FRAME_MAX) {
			ssize_t k;
			do
				k = writev(n->fd, c.iov, c.nr_out);
			while (k < 0 && errno == EINTR);
			/* A full tap queue drops, as a real NIC would; TCP retransmits. */
			if (k < 0 && errno != EAGAIN && errno != ENOBUFS && !n->warned_io) {
				pr_warn("virtio-net: write to the tap failed: %s", strerror(errno));
				n->warned_io = true;
			}
		}
		virtio__queue_push(q, c.head, 0);
	}
	virtio__mmio_signal_queue(&n->t, NET_TXQ);
	return ret;
}

static void apply_offload(struct virtio_net *n)
{
	struct virtio_mmio *t = &n->t;
	static const struct { unsigned feature, tun; } map[] = {
		{ VIRTIO_NET_F_GUEST_CSUM, TUN_F_CSUM },
		{ VIRTIO_NET_F_GUEST_TSO4, TUN_F_TSO4 },
		{ VIRTIO_NET_F_GUEST_TSO6, TUN_F_TSO6 },
		{ VIRTIO_NET_F_GUEST_ECN, TUN_F_TSO_ECN },
	};
	unsigned off = 0;

	if (n->is_tap) {
		for (size_t i = 0; i < ARRAY_SIZE(map); i++)
			if (virtio__mmio_has_feature(t, map[i].feature))
				off |= map[i].tun;
		/* The tap may only hand us what the guest can take. */
		if (ioctl(n->fd, TUNSETOFFLOAD, off))
			pr_warn("virtio-net: TUNSETOFFLOAD 0x%x failed: %s", off, strerror(errno));
	}
	n->offload_dirty = false;
}

static void net_notify(struct virtio_mmio *t)
{
	struct virtio_net *n = t->dev;

	if (n->offload_dirty)
		apply_offload(n);
	if (net_tx(n) < 0) {
		virtio__mmio_fail(t, "malformed virtio-net TX descriptor chain");
		return;
	}
	tap_poll(n, true);
	if (net_rx(n) < 0)
		virtio__mmio_fail(t, "malformed virtio-net RX descriptor chain");
}

static void tap_fn(void *opaque, uint32_t events)
{
	struct virtio_net *n = opaque;

	(void)events;
	pthread_mutex_lock(&n->t.lock);
	if (!virtio__mmio_live(&n->t))
		tap_poll(n, false);
	else if (net_rx(n) < 0)
		virtio__mmio_fail(&n->t, "malformed virtio-net RX descriptor chain");
	pthread_mutex_unlock(&n->t.lock);
}

/* vCPU thread: only flags; the doorbell after DRIVER_OK runs net_notify. */
static int net_activate(struct virtio_mmio *t)
{
	struct virtio_net *n = t->dev;

	n->offload_dirty = true;
	n->rx_len = 0;
	return 0;
}

static void net_reset(struct virtio_mmio *t)
{
	struct virtio_net *n = t->dev;

	/* tap_fn stops polling the tap when it finds the device dead. */
	n->rx_len = 0;
}

static void net_destroy(struct virtio_mmio *t)
{
	struct virtio_net *n = t->dev;

	virtio__iothread_stop(&t->io);
	virtio__mmio_exit(t);
	close(n->fd);
	free(n->rx_buf);
	free(n);
}

static const struct virtio_dev_ops net_ops = {
	.name = "virtio-net",
	.device_id = VIRTIO_ID_NET,
	.nr_queues = 2,
	.activate = net_activate,
	.reset = net_reset,
	.notify = net_notify,
	.destroy = net_destroy,
};

int virtio_net__new_fd(int fd, bool is_tap, const uint8_t mac[6], const struct guest_mem *mem,
		       struct virtio_mmio **out)
{
	struct virtio_net *n = calloc(1, sizeof(*n));
	struct virtio_net_config cfg = { .status = VIRTIO_NET_S_LINK_UP };
	uint64_t feat = (1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_STATUS) |
			(1ULL << VIRTIO_NET_F_MRG_RXBUF);
	int ret = -ENOMEM;

	if (!n)
		return -ENOMEM;
	n->rx_buf = malloc(NET_FRAME_MAX);
	if (!n->rx_buf)
		goto err;
	n->fd = fd;
	n->is_tap = is_tap;
	if (is_tap)
		feat |= (1ULL << VIRTIO_NET_F_CSUM) | (1ULL << VIRTIO_NET_F_GUEST_CSUM) |
			(1ULL << VIRTIO_NET_F_GUEST_TSO4) | (1ULL << VIRTIO_NET_F_GUEST_TSO6) |
			(1ULL << VIRTIO_NET_F_GUEST_ECN) | (1ULL << VIRTIO_NET_F_HOST_TSO4) |
			(1ULL << VIRTIO_NET_F_HOST_TSO6) | (1ULL << VIRTIO_NET_F_HOST_ECN);
	memcpy(cfg.mac, mac, 6);
	ret = virtio__mmio_init(&n->t, &net_ops, n, mem, feat,
				offsetof(struct virtio_net_config, mtu));
	if (ret)
		goto err;
	memcpy(n->t.config, &cfg, offsetof(struct virtio_net_config, mtu));
	n->tap_handler = (struct virtio_io_handler){ tap_fn, n };
	ret = virtio__iothread_add(&n->t.io, fd, 0, &n->tap_handler);
	if (ret) {
		virtio__mmio_exit(&n->t);
		goto err;
	}
	*out = &n->t;
	return 0;
err:
	free(n->rx_buf);
	free(n);
	return ret;
}

static int tap_open(const char *name)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	int fd, hdr = NET_HDR_LEN, ret;

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		pr_err("cannot open tap %s: /dev/net/tun: %s (load the tun module)", name,
		       strerror(errno));
		return ret;
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr)) {
		ret = -errno;
		pr_err("cannot open tap %s: %s (create it with: ip tuntap add %s mode tap)", name,
		       strerror(errno), name);
		goto err;
	}
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) || ioctl(fd, TUNSETOFFLOAD, 0)) {
		ret = -errno;
		pr_err("cannot open tap %s: TUNSETVNETHDRSZ/TUNSETOFFLOAD failed: %s", name,
		       strerror(errno));
		goto err;
	}
	return fd;
err:
	close(fd);
	return ret;
}

int virtio_net__new(const struct net_config *nc, int index, const struct guest_mem *mem,
		    struct virtio_mmio **out)
{
	uint8_t mac[6] = { 0x52, 0x54, 0x00, 0, 0, (uint8_t)index };
	int fd, ret;

	if (nc->has_mac) {
		memcpy(mac, nc->mac, 6);
	} else if (getrandom(mac + 3, 2, GRND_NONBLOCK) != 2) {
		mac[3] = 0x12;
		mac[4] = 0x34;
	}
	fd = tap_open(nc->tap);
	if (fd < 0)
		return fd;
	ret = virtio_net__new_fd(fd, true, mac, mem, out);
	if (ret)
		close(fd);
	return ret;
}
