/*
 * virtio-net through its transport, with a datagram socketpair standing in
 * for the tap (one read = one frame): TX gather chains of any shape, RX into
 * whatever buffers the guest posts, with and without MRG_RXBUF, frames from
 * the host side of any size, resets in between.  After every input the
 * device is reset and must again send one frame and receive one.
 *
 * Input: a fuzz_virtio_drv.h program; op 9 (mod 12) sends a host frame:
 * [len u16][fill].
 */
#include <errno.h>
#include <linux/virtio_net.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_virtio_drv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct guest_mem mem;
static struct virtio_mmio *dev;
static int sv[2];
static uint8_t frame[70000];

static void init(void)
{
	static const uint8_t mac[6] = { 0x52, 0x54, 0, 1, 2, 3 };

	util__log_level = LOG_QUIET;
	fg_init(&mem);
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
		abort();
	if (virtio_net__new_fd(sv[0], false, mac, &mem, &dev))
		abort();
}

static void drain_fd(int fd)
{
	while (recv(fd, frame, sizeof(frame), MSG_DONTWAIT) >= 0)
		;
}

static void drain(struct fd_drv *d)
{
	(void)d;
	drain_fd(sv[1]);
}

static void extra(struct fd_drv *d, uint8_t op, struct fg_in *in)
{
	uint16_t len = fg_take(in, 2);
	uint8_t fill = fg_take(in, 1);

	(void)d;
	if (op % 12 != 9)
		return;
	len %= 9000;
	memset(frame, fill, len);
	(void)send(sv[1], frame, len, MSG_DONTWAIT);
}

static uint16_t used_idx(struct fd_drv *d, unsigned q)
{
	return *(volatile uint16_t *)mem__gpa_to_hva(&mem, fd_used_gpa(d, q) + 2, 2);
}

static void check_recovers(struct fd_drv *d)
{
	struct vring_desc rx = { DATA_GPA, 2048, VRING_DESC_F_WRITE, 0 };
	struct vring_desc tx[2] = {
		{ DATA_GPA + 0x1000, sizeof(struct virtio_net_hdr_v1), VRING_DESC_F_NEXT, 1 },
		{ DATA_GPA + 0x2000, 60, 0, 0 },
	};
	ssize_t k = -1;

	drain_fd(sv[0]);	/* frames the fuzzer queued but the guest never took */
	drain_fd(sv[1]);
	d->drain = NULL;	/* the TX frame below is ours to check */
	fd_bringup(d, (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_NET_F_MRG_RXBUF), 0, 8);
	if (fd_rd(d, VIRTIO_MMIO_STATUS) != 0x0f)
		abort();
	fd_poke(d, fd_desc_gpa(0), &rx, sizeof(rx));
	fd_poke(d, fd_desc_gpa(1), tx, sizeof(tx));
	fd_publish(d, 0, 0);
	fd_publish(d, 1, 0);
	fd_wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	fd_pump(d);
	k = recv(sv[1], frame, sizeof(frame), MSG_DONTWAIT);
	memset(frame, 0, 100);
	if (send(sv[1], frame, 100, MSG_DONTWAIT) != 100)
		abort();
	for (int i = 0; i < 100 && used_idx(d, 0) != 1; i++)
		virtio__iothread_poll(&d->t->io, i ? 10 : 0);
	if (k != 12 + 60 || used_idx(d, 1) != 1 || used_idx(d, 0) != 1) {
		fprintf(stderr, "virtio-net did not recover after reset: tx %zd, used rx %u tx %u\n",
			k, used_idx(d, 0), used_idx(d, 1));
		abort();
	}
	fd_wr(d, VIRTIO_MMIO_STATUS, 0);
	drain_fd(sv[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fg_in in = { data, size };
	struct fd_drv d = { .m = &mem, .nq = 2, .extra = extra, .drain = drain };

	if (!mem.nr_slots)
		init();
	d.t = dev;
	fd_round(&d, &in);
	check_recovers(&d);
	return 0;
}
