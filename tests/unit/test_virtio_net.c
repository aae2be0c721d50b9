/*
 * virtio-net over a datagram socketpair standing in for the tap (one read =
 * one frame, like a tap): TX gather, RX with and without MRG_RXBUF,
 * back-pressure when the guest posts no buffers, config space.
 */
#include <errno.h>
#include <linux/virtio_net.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "test_virtio_util.h"

#define ALL_OK (VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | \
		VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK)
#define RXBUF	(TV_DATA)		/* 1500-byte receive buffers, 2 KiB apart */
#define TXBUF	(TV_DATA + 0x100000)

static const uint8_t MAC[6] = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc };

struct fx {
	struct guest_mem m;
	struct virtio_mmio *t;
	struct tv_ring r[2];
	int sv[2];		/* sv[0]: the device's "tap", sv[1]: the host side */
	int irqs;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_int_equal(mem__init(&f->m, TV_MEM), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, f->sv), 0);
	assert_int_equal(virtio_net__new_fd(f->sv[0], false, MAC, &f->m, &f->t), 0);
	f->t->irq = tv_count_irq;
	f->t->irq_opaque = &f->irqs;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	f->t->ops->destroy(f->t);	/* closes sv[0] */
	close(f->sv[1]);
	mem__exit(&f->m);
	free(f);
	return 0;
}

static void post_rx(struct fx *f, uint16_t first, uint16_t n, uint32_t len)
{
	for (uint16_t i = first; i < first + n; i++) {
		tv_desc(&f->r[0], i, RXBUF + i * 2048ULL, len, VRING_DESC_F_WRITE, 0);
		tv_publish(&f->r[0], i);
	}
	tv_wr(f->t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
}

/* A frame from the host: 12-byte header then @len bytes of @fill. */
static void host_send(struct fx *f, size_t len, uint8_t fill)
{
	static uint8_t frame[12 + 4000];

	memset(frame, 0, 12);
	memset(frame + 12, fill, len);
	assert_int_equal(send(f->sv[1], frame, 12 + len, 0), (ssize_t)(12 + len));
}

static void pump(struct fx *f)
{
	for (int i = 0; i < 5; i++)
		virtio__iothread_poll(&f->t->io, 20);
}

static void test_config(void **state)
{
	struct fx *f = *state;
	uint8_t mac[6];
	uint16_t st;

	for (int i = 0; i < 6; i++)
		virtio__mmio_access(f->t, VIRTIO_MMIO_CONFIG + i, &mac[i], 1, false);
	assert_memory_equal(mac, MAC, 6);
	virtio__mmio_access(f->t, VIRTIO_MMIO_CONFIG + 6, (uint8_t *)&st, 2, false);
	assert_int_equal(st, VIRTIO_NET_S_LINK_UP);
	assert_true(f->t->device_features & (1ULL << VIRTIO_NET_F_MRG_RXBUF));
	/* Offloads are only offered over a real tap. */
	assert_false(f->t->device_features & (1ULL << VIRTIO_NET_F_GUEST_TSO4));
}

static void test_tx(void **state)
{
	struct fx *f = *state;
	uint8_t *p = tv_hva(&f->m, TXBUF, 4096), got[4096];
	uint32_t id, len;

	assert_int_equal(tv_bringup(f->t, f->r, 2, 16, 1ULL << VIRTIO_NET_F_MRG_RXBUF), ALL_OK);
	memset(p, 0, 12);
	for (int i = 0; i < 100; i++)
		p[12 + i] = i;
	/* Header and payload split over three descriptors. */
	tv_desc(&f->r[1], 0, TXBUF, 12, VRING_DESC_F_NEXT, 1);
	tv_desc(&f->r[1], 1, TXBUF + 12, 40, VRING_DESC_F_NEXT, 2);
	tv_desc(&f->r[1], 2, TXBUF + 52, 60, 0, 0);
	tv_publish(&f->r[1], 0);
	tv_wr(f->t, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	assert_true(tv_wait_used(f->t, &f->r[1], &id, &len));
	assert_int_equal(id, 0);
	assert_int_equal(recv(f->sv[1], got, sizeof(got), 0), 112);
	assert_memory_equal(got, p, 112);
	/* A runt (header only) is consumed but not sent. */
	tv_desc(&f->r[1], 3, TXBUF, 12, 0, 0);
	tv_publish(&f->r[1], 3);
	tv_wr(f->t, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	assert_true(tv_wait_used(f->t, &f->r[1], &id, &len));
	assert_int_equal(recv(f->sv[1], got, sizeof(got), 0), -1);
	assert_int_equal(errno, EAGAIN);
}

static void test_rx_mergeable(void **state)
{
	struct fx *f = *state;
	struct virtio_net_hdr_v1 *h = tv_hva(&f->m, RXBUF, 12);
	uint32_t id, len;

	assert_int_equal(tv_bringup(f->t, f->r, 2, 16, 1ULL << VIRTIO_NET_F_MRG_RXBUF), ALL_OK);
	post_rx(f, 0, 4, 1500);
	pump(f);
	/* 12 + 2988 bytes = exactly two 1500-byte buffers. */
	host_send(f, 2988, 0x42);
	pump(f);
	assert_true(tv_get_used(&f->r[0], &id, &len));
	assert_int_equal(id, 0);
	assert_int_equal(len, 1500);
	assert_true(tv_get_used(&f->r[0], &id, &len));
	assert_int_equal(id, 1);
	assert_int_equal(len, 1500);
	assert_false(tv_get_used(&f->r[0], &id, &len));
	assert_int_equal(h->num_buffers, 2);
	assert_int_equal(*(uint8_t *)tv_hva(&f->m, RXBUF + 2048 + 1499, 1), 0x42);
	assert_true(f->irqs > 0);

	/* Small frame into the next single buffer. */
	host_send(f, 50, 0x17);
	pump(f);
	assert_true(tv_get_used(&f->r[0], &id, &len));
	assert_int_equal(id, 2);
	assert_int_equal(len, 62);
	h = tv_hva(&f->m, RXBUF + 2 * 2048, 12);
	assert_int_equal(h->num_buffers, 1);
}

static void test_rx_backpressure(void **state)
{
	struct fx *f = *state;
	uint32_t id, len;

	assert_int_equal(tv_bringup(f->t, f->r, 2, 16, 1ULL << VIRTIO_NET_F_MRG_RXBUF), ALL_OK);
	/* Frames arrive before the guest posts buffers: they wait (one held, rest in the socket). */
	host_send(f, 100, 1);
	host_send(f, 200, 2);
	pump(f);
	assert_false(tv_get_used(&f->r[0], &id, &len));
	/* Only one buffer: the 2nd frame waits again. */
	post_rx(f, 0, 1, 1500);
	pump(f);
	assert_true(tv_get_used(&f->r[0], &id, &len));
	assert_int_equal(len, 112);
	assert_false(tv_get_used(&f->r[0], &id, &len));
	post_rx(f, 1, 1, 1500);
	pump(f);
	assert_true(tv_get_used(&f->r[0], &id, &len));
	assert_int_equal(len, 212);
	/* A frame needing two buffers when only one is posted waits as a whole. */
	host_send(f, 1600, 3);
	post_rx(f, 2, 1, 1500);
	pump(f);
	assert_false(tv_get_used(&f->r[0], &id, &len));
	post_rx(f, 3, 1, 1500);
	pump(f);
	assert_true(tv_get_used(&f->r[0], &id, &len));
	assert_int_equal(id, 2);
	assert_true(tv_get_used(&f->r[0], &id, &len));
	assert_int_equal(id, 3);
	assert_int_equal(len, 112);
}

static void test_rx_no_mrg(void **state)
{
	struct fx *f = *state;
	uint32_t id, len;

	assert_int_equal(tv_bringup(f->t, f->r, 2, 16, 0), ALL_OK);
	post_rx(f, 0, 2, 1000);
	pump(f);
	/* Too big for one buffer without MRG_RXBUF: dropped, buffer kept. */
	host_send(f, 1500, 9);
	host_send(f, 30, 8);
	pump(f);
	assert_true(tv_get_used(&f->r[0], &id, &len));
	assert_int_equal(id, 0);
	assert_int_equal(len, 42);
	assert_int_equal(*(uint8_t *)tv_hva(&f->m, RXBUF + 12, 1), 8);
	assert_int_equal(((struct virtio_net_hdr_v1 *)tv_hva(&f->m, RXBUF, 12))->num_buffers, 1);
}

static void test_rx_bad_chain(void **state)
{
	struct fx *f = *state;

	assert_int_equal(tv_bringup(f->t, f->r, 2, 16, 1ULL << VIRTIO_NET_F_MRG_RXBUF), ALL_OK);
	/* A device-readable receive buffer breaks the protocol. */
	tv_desc(&f->r[0], 0, RXBUF, 1500, 0, 0);
	tv_publish(&f->r[0], 0);
	host_send(f, 100, 1);
	tv_wr(f->t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	pump(f);
	assert_true(tv_rd(f->t, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	/* After a reset it works again (the frame held at the error was dropped). */
	assert_int_equal(tv_bringup(f->t, f->r, 2, 16, 1ULL << VIRTIO_NET_F_MRG_RXBUF), ALL_OK);
	host_send(f, 100, 1);
	post_rx(f, 0, 1, 1500);
	pump(f);
	uint32_t id, len;
	assert_true(tv_get_used(&f->r[0], &id, &len));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_mergeable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_backpressure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_no_mrg, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_bad_chain, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
