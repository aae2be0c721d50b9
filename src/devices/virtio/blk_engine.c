/*
 * Disk I/O engines behind one ops struct (kvmtool's disk ops, Firecracker's
 * FileEngine): the synchronous pread/pwrite engine lives here, libaio in
 * blk_engine_aio.c.
 */
#include "virtio.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

bool virtio_blk__io_aligned(const struct blk_io *io)
{
	if (io->offset & 511)
		return false;
	for (int i = 0; i < io->iovcnt; i++)
		if (((uintptr_t)io->iov[i].iov_base | io->iov[i].iov_len) & 511)
			return false;
	return true;
}

static int pread_init(struct blk_engine *e, unsigned depth)
{
	(void)e;
	(void)depth;
	return 0;
}

static void pread_exit(struct blk_engine *e)
{
	(void)e;
}

/* Whole transfer or -errno: a short count means the file shrank under us. */
static long rw_all(int fd, const struct blk_io *io)
{
	struct iovec iov[VIRTIO_BLK_SEG_MAX + 2];
	int cnt = io->iovcnt, first = 0;
	uint64_t off = io->offset;
	size_t left = io->len;

	if (cnt > (int)ARRAY_SIZE(iov))
		return -EINVAL;
	memcpy(iov, io->iov, cnt * sizeof(iov[0]));
	while (left) {
		ssize_t n = io->op == BLK_IO_READ ? preadv(fd, iov + first, cnt - first, off)
						  : pwritev(fd, iov + first, cnt - first, off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		left -= n;
		off += n;
		while (n && first < cnt) {
			size_t k = MIN((size_t)n, iov[first].iov_len);
			iov[first].iov_base = (uint8_t *)iov[first].iov_base + k;
			iov[first].iov_len -= k;
			n -= k;
			if (!iov[first].iov_len)
				first++;
		}
	}
	return (long)io->len;
}

static int pread_submit(struct blk_engine *e, struct blk_io *io)
{
	io->direct = false;
	io->done(io, rw_all(e->fd, io));
	return 0;
}

static int pread_event_fd(struct blk_engine *e)
{
	(void)e;
	return -1;
}

static void pread_reap(struct blk_engine *e, bool all)
{
	(void)e;
	(void)all;
}

const struct blk_engine_ops virtio_blk__engine_pread = {
	.name = "pread",
	.init = pread_init,
	.exit = pread_exit,
	.submit = pread_submit,
	.event_fd = pread_event_fd,
	.reap = pread_reap,
};

const struct blk_engine_ops *virtio_blk__engine_by_name(const char *name)
{
	if (!name || !*name || !strcmp(name, "libaio") || !strcmp(name, "aio"))
		return &virtio_blk__engine_aio;
	if (!strcmp(name, "pread") || !strcmp(name, "sync"))
		return &virtio_blk__engine_pread;
	return NULL;
}
