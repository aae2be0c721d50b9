/*
 * libaio engine: io_submit on the I/O thread, completions signalled through
 * an eventfd the I/O thread polls.  Requests whose offset and buffers are all
 * 512-aligned go to an O_DIRECT descriptor (guest RAM is 2 MiB aligned in the
 * host, so guest alignment is host alignment); the rest use the buffered one.
 * The kernel keeps the two coherent: direct reads flush dirty pages of the
 * range first and direct writes invalidate them.
 */
#include "virtio.h"

#include <errno.h>
#include <libaio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct aio_priv {
	io_context_t ctx;
	int efd;
	unsigned depth, nr_free;
	struct iocb *iocbs;
	struct iocb **free;
};

static int aio_init(struct blk_engine *e, unsigned depth)
{
	struct aio_priv *p = calloc(1, sizeof(*p));
	int ret;

	if (!p)
		return -ENOMEM;
	p->depth = depth;
	p->iocbs = calloc(depth, sizeof(*p->iocbs));
	p->free = calloc(depth, sizeof(*p->free));
	if (!p->iocbs || !p->free) {
		ret = -ENOMEM;
		goto err;
	}
	for (unsigned i = 0; i < depth; i++)
		p->free[i] = &p->iocbs[i];
	p->nr_free = depth;
	p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->efd < 0) {
		ret = -errno;
		goto err;
	}
	ret = io_setup(depth, &p->ctx);	/* returns -errno itself */
	if (ret) {
		pr_err("io_setup(%u) failed: %s (raise /proc/sys/fs/aio-max-nr or use "
		       "MVM_BLK_ENGINE=pread)", depth, strerror(-ret));
		close(p->efd);
		goto err;
	}
	e->priv = p;
	return 0;
err:
	free(p->free);
	free(p->iocbs);
	free(p);
	return ret;
}

static void aio_exit(struct blk_engine *e)
{
	struct aio_priv *p = e->priv;

	if (!p)
		return;
	/* io_destroy waits for whatever is still in flight; nothing reads it after. */
	io_destroy(p->ctx);
	close(p->efd);
	free(p->free);
	free(p->iocbs);
	free(p);
	e->priv = NULL;
}

static int aio_issue(struct blk_engine *e, struct blk_io *io)
{
	struct aio_priv *p = e->priv;
	struct iocb *cb;
	int fd, ret;

	if (!p->nr_free)
		return -EAGAIN;
	cb = p->free[--p->nr_free];
	io->direct = e->dfd >= 0 && !e->no_direct && virtio_blk__io_aligned(io);
	fd = io->direct ? e->dfd : e->fd;
	if (io->op == BLK_IO_READ)
		io_prep_preadv(cb, fd, io->iov, io->iovcnt, io->offset);
	else
		io_prep_pwritev(cb, fd, io->iov, io->iovcnt, io->offset);
	io_set_eventfd(cb, p->efd);
	cb->data = io;
	do
		ret = io_submit(p->ctx, 1, &cb);
	while (ret == -EINTR);
	if (ret != 1) {
		p->free[p->nr_free++] = cb;
		return ret < 0 ? ret : -EIO;
	}
	e->inflight++;
	return 0;
}

static int aio_submit(struct blk_engine *e, struct blk_io *io)
{
	return aio_issue(e, io);
}

static int aio_event_fd(struct blk_engine *e)
{
	return ((struct aio_priv *)e->priv)->efd;
}

static void aio_reap(struct blk_engine *e, bool all)
{
	struct aio_priv *p = e->priv;
	struct io_event ev[32];
	struct timespec zero = { 0, 0 };
	uint64_t cnt;

	if (read(p->efd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
		pr_warn("virtio-blk: reading the aio eventfd failed: %s", strerror(errno));
	while (e->inflight) {
		int n = io_getevents(p->ctx, all ? 1 : 0, ARRAY_SIZE(ev), ev, all ? NULL : &zero);
		if (n == -EINTR)
			continue;
		if (n <= 0)
			break;
		for (int i = 0; i < n; i++) {
			struct iocb *cb = ev[i].obj;
			struct blk_io *io = cb->data;
			long res = (long)ev[i].res;

			p->free[p->nr_free++] = cb;
			e->inflight--;
			/* Some file systems refuse 512-byte direct I/O: go buffered for good. */
			if (res == -EINVAL && io->direct) {
				if (!e->no_direct)
					pr_info("virtio-blk: O_DIRECT refused, using buffered I/O");
				e->no_direct = true;	/* the fd stays open until destroy */
				if (!aio_issue(e, io))
					continue;
			}
			if (res >= 0 && (size_t)res != io->len)
				res = -EIO;
			io->done(io, res);
		}
	}
}

const struct blk_engine_ops virtio_blk__engine_aio = {
	.name = "libaio",
	.init = aio_init,
	.exit = aio_exit,
	.submit = aio_submit,
	.event_fd = aio_event_fd,
	.reap = aio_reap,
};
