/*
 * One epoll loop per device.  Handlers run on this thread only, so device
 * code needs no locking against itself, only against the register file.
 */
#include "virtio.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define IOTHREAD_MAX_EVENTS 16

static void stop_fn(void *opaque, uint32_t events)
{
	(void)opaque;
	(void)events;
}

int virtio__iothread_init(struct virtio_iothread *io, const char *name)
{
	int ret;

	memset(io, 0, sizeof(*io));
	snprintf(io->name, sizeof(io->name), "%s", name);
	io->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (io->epfd < 0)
		return -errno;
	io->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (io->stop_fd < 0) {
		ret = -errno;
		goto err_ep;
	}
	io->stop_handler = (struct virtio_io_handler){ stop_fn, io };
	ret = virtio__iothread_add(io, io->stop_fd, EPOLLIN, &io->stop_handler);
	if (ret)
		goto err_stop;
	return 0;
err_stop:
	close(io->stop_fd);
err_ep:
	close(io->epfd);
	io->epfd = io->stop_fd = -1;
	return ret;
}

void virtio__iothread_exit(struct virtio_iothread *io)
{
	virtio__iothread_stop(io);
	if (io->stop_fd >= 0)
		close(io->stop_fd);
	if (io->epfd >= 0)
		close(io->epfd);
	io->epfd = io->stop_fd = -1;
}

int virtio__iothread_add(struct virtio_iothread *io, int fd, uint32_t events,
			 struct virtio_io_handler *h)
{
	struct epoll_event ev = { .events = events, .data.ptr = h };

	return epoll_ctl(io->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

int virtio__iothread_mod(struct virtio_iothread *io, int fd, uint32_t events,
			 struct virtio_io_handler *h)
{
	struct epoll_event ev = { .events = events, .data.ptr = h };

	return epoll_ctl(io->epfd, EPOLL_CTL_MOD, fd, &ev) ? -errno : 0;
}

int virtio__iothread_poll(struct virtio_iothread *io, int timeout_ms)
{
	struct epoll_event ev[IOTHREAD_MAX_EVENTS];
	int n = epoll_wait(io->epfd, ev, IOTHREAD_MAX_EVENTS, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		struct virtio_io_handler *h = ev[i].data.ptr;
		h->fn(h->opaque, ev[i].events);
	}
	return n;
}

static bool stop_requested(struct virtio_iothread *io)
{
	uint64_t v;

	return read(io->stop_fd, &v, sizeof(v)) == sizeof(v);
}

static void *iothread_main(void *arg)
{
	struct virtio_iothread *io = arg;
	sigset_t all;

	/* Signals belong to the main thread (terminal, SIGINT). */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	io->start_ret = io->on_start ? io->on_start(io->start_opaque) : 0;
	sem_post(&io->start_done);
	if (io->start_ret)
		return NULL;
	while (!stop_requested(io)) {
		int ret = virtio__iothread_poll(io, -1);
		if (ret < 0) {
			pr_err("virtio %s: epoll_wait failed: %s; device stopped", io->name,
			       strerror(-ret));
			break;
		}
	}
	return NULL;
}

int virtio__iothread_start(struct virtio_iothread *io)
{
	int ret;

	if (sem_init(&io->start_done, 0, 0))
		return -errno;
	ret = pthread_create(&io->thread, NULL, iothread_main, io);
	if (ret) {
		sem_destroy(&io->start_done);
		return -ret;
	}
	pthread_setname_np(io->thread, io->name);
	while (sem_wait(&io->start_done) && errno == EINTR)
		;
	sem_destroy(&io->start_done);
	if (io->start_ret) {
		pthread_join(io->thread, NULL);
		return io->start_ret;
	}
	io->started = true;
	return 0;
}

void virtio__iothread_stop(struct virtio_iothread *io)
{
	uint64_t one = 1;

	if (!io->started)
		return;
	if (write(io->stop_fd, &one, sizeof(one)) != sizeof(one))
		pr_warn("virtio %s: cannot signal the I/O thread to stop", io->name);
	pthread_join(io->thread, NULL);
	io->started = false;
}
