/*
 * virtio-blk over a raw image file (virtio 1.2 section 5.2).
 *
 * Requests are parsed on the I/O thread and handed to an engine; reads and
 * writes may complete out of order, everything else completes inline.  The
 * request pool has one entry per ring slot, so memory is bounded by the
 * queue size whatever the guest does.
 */
#include "virtio.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define BLK_REQ_IOV		(VIRTIO_BLK_SEG_MAX + 2)	/* + header + status */
#define BLK_DZ_SEG_MAX		1
#define BLK_DISCARD_MAX		0x3fffffU			/* sectors: 2 GiB */
#define BLK_ZERO_CHUNK		(64 * 1024)

struct blk_req {
	struct virtio_blk *blk;
	struct blk_io io;
	struct virtio_chain chain;
	uint8_t *status;
	uint32_t type;
	struct blk_req *next_free;
	struct iovec iov[BLK_REQ_IOV];
	struct iovec data[BLK_REQ_IOV];
};

struct virtio_blk {
	struct virtio_mmio t;
	int fd;
	bool ro, can_punch, no_zero_range;
	bool dropping;		/* reset in progress: completions touch no ring */
	uint64_t sectors;
	char serial[VIRTIO_BLK_ID_BYTES];
	struct blk_engine eng;
	struct virtio_io_handler aio_handler;
	struct blk_req *reqs, *free_list;
};

static void req_free(struct virtio_blk *b, struct blk_req *r)
{
	r->next_free = b->free_list;
	b->free_list = r;
}

/* @written: bytes of data placed in device-writable buffers (status excluded). */
static void req_complete(struct blk_req *r, uint8_t status, uint32_t written)
{
	struct virtio_blk *b = r->blk;

	if (!b->dropping) {
		*r->status = status;
		virtio__queue_push(&b->t.vq[0], r->chain.head, written + 1);
	}
	req_free(b, r);
}

static void io_done(struct blk_io *io, long res)
{
	struct blk_req *r = io->opaque;

	req_complete(r, res < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK,
		     res >= 0 && io->op == BLK_IO_READ ? (uint32_t)io->len : 0);
}

static bool in_range(const struct virtio_blk *b, uint64_t sector, uint64_t nsect)
{
	return sector <= b->sectors && nsect <= b->sectors - sector;
}

static uint8_t do_rw(struct virtio_blk *b, struct blk_req *r, struct virtio_blk_outhdr *h)
{
	struct virtio_chain *c = &r->chain;
	bool rd = h->type == VIRTIO_BLK_T_IN;
	uint64_t len = rd ? c->in_len - 1 : c->out_len - sizeof(*h);
	int n;

	if (!rd && b->ro)
		return VIRTIO_BLK_S_IOERR;
	if (len % 512 || len > UINT32_MAX || !in_range(b, h->sector, len / 512))
		return VIRTIO_BLK_S_IOERR;
	if (rd)
		n = virtio__iov_slice(c->iov + c->nr_out, c->nr_in, 0, len, r->data, BLK_REQ_IOV);
	else
		n = virtio__iov_slice(c->iov, c->nr_out, sizeof(*h), len, r->data, BLK_REQ_IOV);
	if (n < 0)
		return VIRTIO_BLK_S_IOERR;
	if (!len) {
		req_complete(r, VIRTIO_BLK_S_OK, 0);
		return 0xff;
	}
	r->io = (struct blk_io){
		.op = rd ? BLK_IO_READ : BLK_IO_WRITE,
		.offset = h->sector * 512,
		.iov = r->data,
		.iovcnt = n,
		.len = len,
		.done = io_done,
		.opaque = r,
	};
	if (b->eng.ops->submit(&b->eng, &r->io))
		return VIRTIO_BLK_S_IOERR;
	return 0xff;	/* completes through io_done */
}

static int write_zeroes_slow(struct virtio_blk *b, uint64_t off, uint64_t len)
{
	static const uint8_t zero[BLK_ZERO_CHUNK];

	while (len) {
		ssize_t n = pwrite(b->fd, zero, MIN(len, sizeof(zero)), off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EIO;
		off += n;
		len -= n;
	}
	return 0;
}

static int zero_range(struct virtio_blk *b, uint64_t off, uint64_t len)
{
	if (!b->no_zero_range) {
		if (!fallocate(b->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, off, len))
			return 0;
		if (errno != EOPNOTSUPP)
			return -errno;
		b->no_zero_range = true;
	}
	/* A punched hole reads back as zeros, which is all WRITE_ZEROES promises. */
	if (b->can_punch &&
	    !fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len))
		return 0;
	return write_zeroes_slow(b, off, len);
}

static uint8_t do_discard_zeroes(struct virtio_blk *b, struct virtio_chain *c, uint32_t type)
{
	struct virtio_blk_discard_write_zeroes seg[BLK_DZ_SEG_MAX];
	uint64_t len = c->out_len - sizeof(struct virtio_blk_outhdr);
	bool discard = type == VIRTIO_BLK_T_DISCARD;
	unsigned nseg = len / sizeof(seg[0]);

	if (discard ? !virtio__mmio_has_feature(&b->t, VIRTIO_BLK_F_DISCARD)
		    : !virtio__mmio_has_feature(&b->t, VIRTIO_BLK_F_WRITE_ZEROES))
		return VIRTIO_BLK_S_UNSUPP;
	if (b->ro)
		return VIRTIO_BLK_S_IOERR;
	if (!nseg || len % sizeof(seg[0]) || nseg > BLK_DZ_SEG_MAX)
		return VIRTIO_BLK_S_UNSUPP;
	virtio__iov_to_buf(c->iov, c->nr_out, sizeof(struct virtio_blk_outhdr), seg,
			   nseg * sizeof(seg[0]));
	for (unsigned i = 0; i < nseg; i++) {
		uint64_t off = seg[i].sector * 512, n = (uint64_t)seg[i].num_sectors * 512;

		if (!in_range(b, seg[i].sector, seg[i].num_sectors))
			return VIRTIO_BLK_S_IOERR;
		if (discard) {
			if (seg[i].flags)	/* the unmap bit is reserved for DISCARD */
				return VIRTIO_BLK_S_UNSUPP;
			if (fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, n))
				return VIRTIO_BLK_S_IOERR;
		} else {
			if (seg[i].flags & ~VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP)
				return VIRTIO_BLK_S_UNSUPP;
			if (zero_range(b, off, n))
				return VIRTIO_BLK_S_IOERR;
		}
	}
	return VIRTIO_BLK_S_OK;
}

/* Handle one popped request; it is completed now or by the engine later. */
static void blk_handle(struct virtio_blk *b, struct blk_req *r)
{
	struct virtio_chain *c = &r->chain;
	struct virtio_blk_outhdr h;
	struct iovec *last;
	uint32_t written = 0;
	uint8_t st;

	if (c->out_len < sizeof(h) || c->in_len < 1) {
		req_free(b, r);
		virtio__mmio_fail(&b->t, "virtio-blk request without header or status byte");
		return;
	}
	virtio__iov_to_buf(c->iov, c->nr_out, 0, &h, sizeof(h));
	last = &c->iov[c->nr_out + c->nr_in - 1];
	r->status = (uint8_t *)last->iov_base + last->iov_len - 1;
	r->type = h.type;
	switch (h.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		st = do_rw(b, r, &h);
		if (st == 0xff)
			return;
		break;
	case VIRTIO_BLK_T_FLUSH:
		st = fdatasync(b->fd) ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
		break;
	case VIRTIO_BLK_T_GET_ID:
		written = virtio__buf_to_iov(c->iov + c->nr_out, c->nr_in, 0, b->serial,
					     MIN(c->in_len - 1, sizeof(b->serial)));
		st = VIRTIO_BLK_S_OK;
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		st = do_discard_zeroes(b, c, h.type);
		break;
	default:
		st = VIRTIO_BLK_S_UNSUPP;
		break;
	}
	req_complete(r, st, written);
}

static void blk_notify(struct virtio_mmio *t)
{
	struct virtio_blk *b = t->dev;

	while (b->free_list && virtio__mmio_live(t)) {
		struct blk_req *r = b->free_list;
		int ret;

		r->chain.iov = r->iov;
		r->chain.max_iov = BLK_REQ_IOV;
		ret = virtio__queue_pop(&t->vq[0], &r->chain);
		if (ret == 0)
			break;
		if (ret < 0) {
			virtio__mmio_fail(t, "malformed virtio-blk descriptor chain");
			break;
		}
		b->free_list = r->next_free;
		blk_handle(b, r);
	}
	virtio__mmio_signal_queue(t, 0);
}

static void aio_fn(void *opaque, uint32_t events)
{
	struct virtio_blk *b = opaque;

	(void)events;
	pthread_mutex_lock(&b->t.lock);
	b->eng.ops->reap(&b->eng, false);
	/* Freed requests may unblock chains we left in the ring. */
	if (virtio__mmio_live(&b->t))
		blk_notify(&b->t);
	else if (!b->eng.inflight)
		pthread_cond_broadcast(&b->t.io_idle);	/* a reset may be waiting */
	pthread_mutex_unlock(&b->t.lock);
}

static void blk_reset(struct virtio_mmio *t)
{
	struct virtio_blk *b = t->dev;

	/*
	 * The driver may free its buffers once reset completes: finish I/O first.
	 * The I/O thread reaps (so vCPU threads need no aio syscalls); without
	 * one (tests), reap here.
	 */
	b->dropping = true;
	if (t->io.started) {
		while (b->eng.inflight)
			pthread_cond_wait(&t->io_idle, &t->lock);
	} else {
		b->eng.ops->reap(&b->eng, true);
	}
	b->dropping = false;
}

static void blk_destroy(struct virtio_mmio *t)
{
	struct virtio_blk *b = t->dev;

	virtio__iothread_stop(&t->io);
	b->dropping = true;
	b->eng.ops->exit(&b->eng);
	virtio__mmio_exit(t);
	if (b->eng.dfd >= 0)
		close(b->eng.dfd);
	close(b->fd);
	free(b->reqs);
	free(b);
}

static const struct virtio_dev_ops blk_ops = {
	.name = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.nr_queues = 1,
	.reset = blk_reset,
	.notify = blk_notify,
	.destroy = blk_destroy,
};

static int disk_size(int fd, const char *path, uint64_t *size)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, size))
			return -errno;
	} else if (S_ISREG(st.st_mode)) {
		*size = st.st_size;
	} else {
		pr_err("disk %s: not a regular file or block device", path);
		return -EINVAL;
	}
	if (*size < 512) {
		pr_err("disk %s: smaller than one 512-byte sector", path);
		return -EINVAL;
	}
	return 0;
}

static void fill_config(struct virtio_blk *b)
{
	struct virtio_blk_config cfg = {
		.capacity = b->sectors,
		.size_max = VIRTIO_BLK_SIZE_MAX,
		.seg_max = VIRTIO_BLK_SEG_MAX,
		.blk_size = 512,
		.max_discard_sectors = BLK_DISCARD_MAX,
		.max_discard_seg = BLK_DZ_SEG_MAX,
		.discard_sector_alignment = 1,
		.max_write_zeroes_sectors = b->can_punch ? BLK_DISCARD_MAX : 65536,
		.max_write_zeroes_seg = BLK_DZ_SEG_MAX,
		.write_zeroes_may_unmap = b->can_punch,
	};
	_Static_assert(offsetof(struct virtio_blk_config, unused1) + 3 <= VIRTIO_CONFIG_MAX,
		       "virtio-blk config does not fit");
	memcpy(b->t.config, &cfg, offsetof(struct virtio_blk_config, unused1) + 3);
}

int virtio_blk__new(const struct disk_config *disk, int index, const struct guest_mem *mem,
		    const struct blk_engine_ops *engine, struct virtio_mmio **out)
{
	struct virtio_blk *b;
	uint64_t size, feat;
	int ret;

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->ro = disk->ro;
	b->eng.dfd = -1;
	b->fd = open(disk->path, (disk->ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (b->fd < 0) {
		ret = -errno;
		if (!disk->ro && (errno == EACCES || errno == EROFS || errno == EPERM))
			pr_err("cannot open disk %s read-write: %s (append ,ro to use it "
			       "read-only)", disk->path, strerror(errno));
		else
			pr_err("cannot open disk %s: %s", disk->path, strerror(errno));
		goto err_free;
	}
	ret = disk_size(b->fd, disk->path, &size);
	if (ret)
		goto err_fd;
	b->sectors = size / 512;
	snprintf(b->serial, sizeof(b->serial), "mvm-disk%d", index);
	if (!b->ro)
		b->can_punch = !fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					  ALIGN_UP(size, 4096), 4096);
	if (engine == &virtio_blk__engine_aio)
		b->eng.dfd = open(disk->path, (disk->ro ? O_RDONLY : O_RDWR) | O_DIRECT |
				  O_CLOEXEC);
	b->eng.fd = b->fd;
	b->eng.ops = engine;
	b->reqs = calloc(VIRTIO_QUEUE_MAX, sizeof(*b->reqs));
	if (!b->reqs) {
		ret = -ENOMEM;
		goto err_dfd;
	}
	for (int i = VIRTIO_QUEUE_MAX - 1; i >= 0; i--) {
		b->reqs[i].blk = b;
		req_free(b, &b->reqs[i]);
	}
	ret = engine->init(&b->eng, VIRTIO_QUEUE_MAX);
	if (ret)
		goto err_reqs;
	feat = (1ULL << VIRTIO_BLK_F_SIZE_MAX) | (1ULL << VIRTIO_BLK_F_SEG_MAX) |
	       (1ULL << VIRTIO_BLK_F_BLK_SIZE) | (1ULL << VIRTIO_BLK_F_FLUSH);
	if (b->ro)
		feat |= 1ULL << VIRTIO_BLK_F_RO;
	else
		feat |= 1ULL << VIRTIO_BLK_F_WRITE_ZEROES;
	if (b->can_punch)
		feat |= 1ULL << VIRTIO_BLK_F_DISCARD;
	ret = virtio__mmio_init(&b->t, &blk_ops, b, mem, feat, VIRTIO_CONFIG_MAX);
	if (ret)
		goto err_eng;
	fill_config(b);
	if (engine->event_fd(&b->eng) >= 0) {
		b->aio_handler = (struct virtio_io_handler){ aio_fn, b };
		ret = virtio__iothread_add(&b->t.io, engine->event_fd(&b->eng), EPOLLIN,
					   &b->aio_handler);
		if (ret)
			goto err_mmio;
	}
	*out = &b->t;
	return 0;
err_mmio:
	virtio__mmio_exit(&b->t);
err_eng:
	engine->exit(&b->eng);
err_reqs:
	free(b->reqs);
err_dfd:
	if (b->eng.dfd >= 0)
		close(b->eng.dfd);
err_fd:
	close(b->fd);
err_free:
	free(b);
	return ret;
}
