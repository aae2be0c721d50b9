/*
 * virtio-mmio register file: identification, feature negotiation, status
 * machine, reset, config space and generation, NEEDS_RESET on driver errors.
 * The rng and console devices serve as concrete devices.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>
#include <linux/virtio_ids.h>

#include "test_virtio_util.h"

#define ALL_OK (VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | \
		VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK)

struct fx {
	struct guest_mem m;
	struct virtio_mmio *t;
	struct tv_ring r[2];
	int irqs;
	int pipefd[2];
};

static int setup_rng(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_int_equal(mem__init(&f->m, TV_MEM), 0);
	assert_int_equal(virtio_rng__new(&f->m, &f->t), 0);
	f->t->irq = tv_count_irq;
	f->t->irq_opaque = &f->irqs;
	f->pipefd[0] = f->pipefd[1] = -1;
	*state = f;
	return 0;
}

static int setup_console(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_int_equal(mem__init(&f->m, TV_MEM), 0);
	assert_int_equal(pipe(f->pipefd), 0);
	assert_int_equal(virtio_console__new(f->pipefd[1], &f->m, &f->t), 0);
	f->t->irq = tv_count_irq;
	f->t->irq_opaque = &f->irqs;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	f->t->ops->destroy(f->t);
	for (int i = 0; i < 2; i++)
		if (f->pipefd[i] >= 0)
			close(f->pipefd[i]);
	mem__exit(&f->m);
	free(f);
	return 0;
}

static void test_ident(void **state)
{
	struct fx *f = *state;
	uint16_t half = 0x1234;

	assert_int_equal(tv_rd(f->t, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(tv_rd(f->t, VIRTIO_MMIO_VERSION), 2);
	assert_int_equal(tv_rd(f->t, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_RNG);
	assert_int_equal(tv_rd(f->t, VIRTIO_MMIO_VENDOR_ID), VIRTIO_MMIO_VENDOR);
	/* Registers are 32-bit only: a 16-bit read of the magic gives zeros. */
	virtio__mmio_access(f->t, VIRTIO_MMIO_MAGIC_VALUE, (uint8_t *)&half, 2, false);
	assert_int_equal(half, 0);
	/* Unaligned 32-bit register read: zeros. */
	assert_int_equal(tv_rd(f->t, VIRTIO_MMIO_MAGIC_VALUE + 2), 0);
	/* Beyond the window: untouched data, no crash. */
	uint32_t v = 0x55;
	virtio__mmio_access(f->t, 0x1000, (uint8_t *)&v, 4, false);
	assert_int_equal(v, 0x55);
	/* Queue 0 exists, queue 1 does not. */
	tv_wr(f->t, VIRTIO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(tv_rd(f->t, VIRTIO_MMIO_QUEUE_NUM_MAX), VIRTIO_QUEUE_MAX);
	tv_wr(f->t, VIRTIO_MMIO_QUEUE_SEL, 1);
	assert_int_equal(tv_rd(f->t, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	assert_int_equal(tv_rd(f->t, VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffff);
}

static void test_features(void **state)
{
	struct fx *f = *state;
	uint32_t st;

	tv_wr(f->t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	assert_true(tv_rd(f->t, VIRTIO_MMIO_DEVICE_FEATURES) & (1u << (VIRTIO_F_VERSION_1 - 32)));
	tv_wr(f->t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	st = tv_rd(f->t, VIRTIO_MMIO_DEVICE_FEATURES);
	assert_true(st & (1u << VIRTIO_RING_F_INDIRECT_DESC));
	assert_true(st & (1u << VIRTIO_RING_F_EVENT_IDX));
	tv_wr(f->t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 7);
	assert_int_equal(tv_rd(f->t, VIRTIO_MMIO_DEVICE_FEATURES), 0);

	/* Legacy driver (no VERSION_1): FEATURES_OK does not stick. */
	tv_wr(f->t, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	tv_wr(f->t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	tv_wr(f->t, VIRTIO_MMIO_DRIVER_FEATURES, 1u << VIRTIO_RING_F_EVENT_IDX);
	tv_wr(f->t, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
					VIRTIO_CONFIG_S_FEATURES_OK);
	assert_false(tv_rd(f->t, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK);

	/* A feature we never offered: refused too. */
	tv_wr(f->t, VIRTIO_MMIO_STATUS, 0);
	tv_wr(f->t, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	tv_wr(f->t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	tv_wr(f->t, VIRTIO_MMIO_DRIVER_FEATURES, 1u | (1u << 30));
	tv_wr(f->t, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
					VIRTIO_CONFIG_S_FEATURES_OK);
	assert_false(tv_rd(f->t, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK);

	/* Proper negotiation, and features freeze after FEATURES_OK. */
	st = tv_bringup(f->t, f->r, 1, 8, 1ULL << VIRTIO_RING_F_EVENT_IDX);
	assert_int_equal(st, ALL_OK);
	assert_true(virtio__mmio_has_feature(f->t, VIRTIO_RING_F_EVENT_IDX));
	assert_false(virtio__mmio_has_feature(f->t, VIRTIO_RING_F_INDIRECT_DESC));
	tv_wr(f->t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	tv_wr(f->t, VIRTIO_MMIO_DRIVER_FEATURES, 1u << VIRTIO_RING_F_INDIRECT_DESC);
	assert_false(virtio__mmio_has_feature(f->t, VIRTIO_RING_F_INDIRECT_DESC));
	assert_true(f->t->vq[0].event_idx);
}

static void test_rng_bytes_and_irq(void **state)
{
	struct fx *f = *state;
	uint8_t *buf = tv_hva(&f->m, TV_DATA, 128), zero[64] = { 0 };
	uint32_t id, len;

	assert_int_equal(tv_bringup(f->t, f->r, 1, 8, 0), ALL_OK);
	memset(buf, 0, 128);
	tv_desc(&f->r[0], 0, TV_DATA, 64, VRING_DESC_F_WRITE, 0);
	tv_desc(&f->r[0], 1, TV_DATA + 64, 64, VRING_DESC_F_WRITE, 0);
	tv_publish(&f->r[0], 0);
	tv_publish(&f->r[0], 1);
	tv_wr(f->t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);	/* rings the eventfd */
	assert_true(tv_wait_used(f->t, &f->r[0], &id, &len));
	assert_int_equal(id, 0);
	assert_int_equal(len, 64);
	assert_true(tv_get_used(&f->r[0], &id, &len));
	assert_int_equal(id, 1);
	/* 2^-512 chance of a false failure per buffer. */
	assert_memory_not_equal(buf, zero, 64);
	assert_memory_not_equal(buf + 64, zero, 64);
	assert_memory_not_equal(buf, buf + 64, 64);
	assert_true(f->irqs >= 1);
	assert_int_equal(tv_rd(f->t, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING,
			 VIRTIO_MMIO_INT_VRING);
	tv_wr(f->t, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	assert_int_equal(tv_rd(f->t, VIRTIO_MMIO_INTERRUPT_STATUS), 0);

	/* A notify for a queue that does not exist is ignored. */
	tv_wr(f->t, VIRTIO_MMIO_QUEUE_NOTIFY, 5);
	assert_int_equal(virtio__iothread_poll(&f->t->io, 0), 0);
}

static void test_reset(void **state)
{
	struct fx *f = *state;

	assert_int_equal(tv_bringup(f->t, f->r, 1, 8, 0), ALL_OK);
	tv_wr(f->t, VIRTIO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(tv_rd(f->t, VIRTIO_MMIO_QUEUE_READY), 1);
	/* Live queue registers are frozen. */
	tv_wr(f->t, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x5000);
	assert_int_equal(tv_rd(f->t, VIRTIO_MMIO_QUEUE_DESC_LOW), (uint32_t)f->r[0].desc);
	virtio__mmio_signal(f->t, VIRTIO_MMIO_INT_VRING);
	tv_wr(f->t, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(tv_rd(f->t, VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(tv_rd(f->t, VIRTIO_MMIO_QUEUE_READY), 0);
	assert_int_equal(tv_rd(f->t, VIRTIO_MMIO_QUEUE_DESC_LOW), 0);
	assert_int_equal(tv_rd(f->t, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_equal(f->t->driver_features, 0);
	assert_null(f->t->vq[0].avail);
	/* And it comes back. */
	assert_int_equal(tv_bringup(f->t, f->r, 1, 8, 0), ALL_OK);
}

static void test_queue_ready_zero_and_64bit(void **state)
{
	struct fx *f = *state;

	tv_wr(f->t, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	tv_wr(f->t, VIRTIO_MMIO_QUEUE_SEL, 0);
	tv_wr(f->t, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x12345000);
	tv_wr(f->t, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0x1);
	assert_int_equal(f->t->vq[0].desc_gpa, 0x112345000ULL);
	tv_wr(f->t, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
	assert_int_equal(f->t->vq[0].desc_gpa, 0x12345000ULL);

	assert_int_equal(tv_bringup(f->t, f->r, 1, 8, 0), ALL_OK);
	tv_wr(f->t, VIRTIO_MMIO_QUEUE_SEL, 0);
	tv_wr(f->t, VIRTIO_MMIO_QUEUE_READY, 0);
	assert_int_equal(tv_rd(f->t, VIRTIO_MMIO_QUEUE_READY), 0);
	assert_int_equal(tv_rd(f->t, VIRTIO_MMIO_QUEUE_DESC_LOW), (uint32_t)f->r[0].desc);
}

static void test_needs_reset_bad_chain(void **state)
{
	struct fx *f = *state;
	uint32_t isr;

	assert_int_equal(tv_bringup(f->t, f->r, 1, 8, 0), ALL_OK);
	tv_desc(&f->r[0], 0, MMIO_VIRTIO_BASE, 64, VRING_DESC_F_WRITE, 0);	/* in the hole */
	tv_publish(&f->r[0], 0);
	tv_wr(f->t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	virtio__iothread_poll(&f->t->io, 1000);
	assert_true(tv_rd(f->t, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	isr = tv_rd(f->t, VIRTIO_MMIO_INTERRUPT_STATUS);
	assert_true(isr & VIRTIO_MMIO_INT_CONFIG);
	assert_true(f->irqs >= 1);
	assert_int_equal(tv_rd(f->t, VIRTIO_MMIO_QUEUE_SEL), 0);
	/* Nothing was used, and the device stays quiet until reset. */
	uint32_t id, len;
	assert_false(tv_get_used(&f->r[0], &id, &len));
	tv_desc(&f->r[0], 1, TV_DATA, 64, VRING_DESC_F_WRITE, 0);
	tv_publish(&f->r[0], 1);
	tv_wr(f->t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	virtio__iothread_poll(&f->t->io, 100);
	assert_false(tv_get_used(&f->r[0], &id, &len));
	/* The driver writing status back with NEEDS_RESET set changes nothing. */
	tv_wr(f->t, VIRTIO_MMIO_STATUS, ALL_OK | VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_true(tv_rd(f->t, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	/* Reset clears it and the device works again. */
	assert_int_equal(tv_bringup(f->t, f->r, 1, 8, 0), ALL_OK);
	tv_desc(&f->r[0], 0, TV_DATA, 64, VRING_DESC_F_WRITE, 0);
	tv_publish(&f->r[0], 0);
	tv_wr(f->t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_true(tv_wait_used(f->t, &f->r[0], &id, &len));
	assert_int_equal(len, 64);
}

static void test_needs_reset_protocol(void **state)
{
	struct fx *f = *state;

	/* Clearing status bits without a reset. */
	assert_int_equal(tv_bringup(f->t, f->r, 1, 8, 0), ALL_OK);
	tv_wr(f->t, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	assert_true(tv_rd(f->t, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);

	/* Rings outside RAM at QueueReady. */
	tv_wr(f->t, VIRTIO_MMIO_STATUS, 0);
	tv_wr(f->t, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	tv_wr(f->t, VIRTIO_MMIO_QUEUE_SEL, 0);
	tv_wr(f->t, VIRTIO_MMIO_QUEUE_NUM, 8);
	tv_wr(f->t, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)MMIO_VIRTIO_BASE);
	tv_wr(f->t, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(tv_rd(f->t, VIRTIO_MMIO_QUEUE_READY), 0);
	assert_true(tv_rd(f->t, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);

	/* Queue size above the maximum. */
	tv_wr(f->t, VIRTIO_MMIO_STATUS, 0);
	tv_wr(f->t, VIRTIO_MMIO_QUEUE_NUM, 1024);
	tv_wr(f->t, VIRTIO_MMIO_QUEUE_DESC_LOW, TV_RING_BASE);
	tv_wr(f->t, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_true(tv_rd(f->t, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);

	/* DRIVER_OK without FEATURES_OK. */
	tv_wr(f->t, VIRTIO_MMIO_STATUS, 0);
	tv_wr(f->t, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
					VIRTIO_CONFIG_S_DRIVER_OK);
	assert_true(tv_rd(f->t, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

static void test_config_space(void **state)
{
	struct fx *f = *state;
	uint8_t b = 0;
	uint16_t h = 0;
	uint64_t q = ~0ULL;
	uint32_t w = ~0u, gen;

	/* virtio_console_config: cols 80, rows 25, then zeros; 12 bytes. */
	virtio__mmio_access(f->t, VIRTIO_MMIO_CONFIG, &b, 1, false);
	assert_int_equal(b, 80);
	virtio__mmio_access(f->t, VIRTIO_MMIO_CONFIG + 2, (uint8_t *)&h, 2, false);
	assert_int_equal(h, 25);
	virtio__mmio_access(f->t, VIRTIO_MMIO_CONFIG + 1, (uint8_t *)&h, 2, false);
	assert_int_equal(h, 25 << 8);		/* odd offset: bytes 1 and 2 */
	virtio__mmio_access(f->t, VIRTIO_MMIO_CONFIG, (uint8_t *)&q, 8, false);
	assert_int_equal(q, 80 | 25ULL << 16);
	/* Straddling the end of config space and past it: zeros, no overread. */
	q = ~0ULL;
	virtio__mmio_access(f->t, VIRTIO_MMIO_CONFIG + 10, (uint8_t *)&q, 8, false);
	assert_int_equal(q, 0);
	virtio__mmio_access(f->t, VIRTIO_MMIO_WINDOW - 4, (uint8_t *)&w, 4, false);
	assert_int_equal(w, 0);
	/* Writes are ignored. */
	b = 99;
	virtio__mmio_access(f->t, VIRTIO_MMIO_CONFIG, &b, 1, true);
	virtio__mmio_access(f->t, VIRTIO_MMIO_CONFIG, &b, 1, false);
	assert_int_equal(b, 80);

	/* Generation bumps on change; interrupt only once the driver is up. */
	gen = tv_rd(f->t, VIRTIO_MMIO_CONFIG_GENERATION);
	pthread_mutex_lock(&f->t->lock);
	virtio__mmio_config_changed(f->t);
	pthread_mutex_unlock(&f->t->lock);
	assert_int_equal(tv_rd(f->t, VIRTIO_MMIO_CONFIG_GENERATION), gen + 1);
	assert_int_equal(f->irqs, 0);
	assert_int_equal(tv_bringup(f->t, f->r, 2, 8, 0), ALL_OK);
	pthread_mutex_lock(&f->t->lock);
	virtio__mmio_config_changed(f->t);
	pthread_mutex_unlock(&f->t->lock);
	assert_int_equal(tv_rd(f->t, VIRTIO_MMIO_CONFIG_GENERATION), gen + 2);
	assert_int_equal(f->irqs, 1);
	assert_true(tv_rd(f->t, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
}

static void test_console_io(void **state)
{
	struct fx *f = *state;
	char out[16] = { 0 };
	uint8_t *rx = tv_hva(&f->m, TV_DATA, 64);
	uint32_t id, len;

	assert_int_equal(tv_bringup(f->t, f->r, 2, 8, 0), ALL_OK);
	/* Host input waits for a receive buffer, and for the guest's first output. */
	assert_int_equal(virtio_console__term_sink(f->t, (const uint8_t *)"abc", 3), 3);
	virtio__iothread_poll(&f->t->io, 100);
	tv_desc(&f->r[0], 0, TV_DATA, 2, VRING_DESC_F_WRITE, 0);
	tv_desc(&f->r[0], 1, TV_DATA + 2, 8, VRING_DESC_F_WRITE, 0);
	tv_publish(&f->r[0], 0);
	tv_publish(&f->r[0], 1);
	tv_wr(f->t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	virtio__iothread_poll(&f->t->io, 100);
	assert_false(tv_get_used(&f->r[0], &id, &len));

	/* Guest output: queue 1. */
	memcpy(tv_hva(&f->m, TV_DATA + 0x1000, 8), "hi hvc0\n", 8);
	tv_desc(&f->r[1], 0, TV_DATA + 0x1000, 3, VRING_DESC_F_NEXT, 1);
	tv_desc(&f->r[1], 1, TV_DATA + 0x1003, 5, 0, 0);
	tv_publish(&f->r[1], 0);
	tv_wr(f->t, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	assert_true(tv_wait_used(f->t, &f->r[1], &id, &len));
	assert_int_equal(read(f->pipefd[0], out, sizeof(out)), 8);
	assert_string_equal(out, "hi hvc0\n");

	/* Now the input lands, split over the two buffers. */
	assert_true(tv_wait_used(f->t, &f->r[0], &id, &len));
	assert_int_equal(len, 2);
	assert_true(tv_get_used(&f->r[0], &id, &len));
	assert_int_equal(len, 1);
	assert_memory_equal(rx, "abc", 3);

	/* Bounded: at most 4 KiB waits; the rest is refused. */
	static uint8_t big[8192];
	assert_int_equal(virtio_console__term_sink(f->t, big, sizeof(big)), 4096);
	assert_int_equal(virtio_console__term_sink(f->t, big, 1), 0);
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* A driver step that makes sense more often than random bytes do. */
static void plausible_step(struct fx *f, uint64_t *seed)
{
	struct tv_ring *r = &f->r[0];
	uint32_t st = tv_rd(f->t, VIRTIO_MMIO_STATUS);

	switch (rnd(seed) % 8) {
	case 0:
		if (rnd(seed) % 16 == 0)
			tv_wr(f->t, VIRTIO_MMIO_STATUS, 0);
		else
			tv_wr(f->t, VIRTIO_MMIO_STATUS, st | (1u << (rnd(seed) % 4)));
		break;
	case 1:
		tv_wr(f->t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, rnd(seed) & 1);
		tv_wr(f->t, VIRTIO_MMIO_DRIVER_FEATURES, (rnd(seed) & 1) ? 1 : 0x30000000);
		break;
	case 2:
		tv_ring_init(r, &f->m, 0, 8);
		tv_wr(f->t, VIRTIO_MMIO_QUEUE_SEL, 0);
		tv_wr(f->t, VIRTIO_MMIO_QUEUE_NUM, 8);
		tv_wr(f->t, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)r->desc);
		tv_wr(f->t, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)r->avail);
		tv_wr(f->t, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)r->used);
		break;
	case 3:
		tv_wr(f->t, VIRTIO_MMIO_QUEUE_READY, rnd(seed) % 4 != 0);
		break;
	default: {
		/* Publish a chain of random descriptors and kick. */
		uint16_t d = rnd(seed) % 8;
		uint64_t addr = (rnd(seed) & 3) ? TV_DATA + rnd(seed) % 0x10000
						: MMIO_VIRTIO_BASE + rnd(seed) % 0x1000;
		tv_desc(r, d, addr, 1 + rnd(seed) % 8192, rnd(seed) & 7, rnd(seed) % 10);
		tv_publish(r, (rnd(seed) % 8 == 0) ? rnd(seed) % 16 : d);
		tv_wr(f->t, VIRTIO_MMIO_QUEUE_NOTIFY, rnd(seed) % 3);
		virtio__mmio_kick(f->t);
		break;
	}
	}
}

/* Random register traffic with the I/O path run in between: no crash, no escape. */
static void test_random_registers(void **state)
{
	struct fx *f = *state;
	static const uint32_t lens[] = { 1, 2, 4, 8, 4, 4, 4 };
	uint64_t seed = 0x1234567887654321ULL;
	int live = 0, ready = 0;

	tv_ring_init(&f->r[0], &f->m, 0, 8);
	for (int i = 0; i < 50000; i++) {
		uint64_t off = (rnd(&seed) & 1) ? (rnd(&seed) % 0x30) * 4 : rnd(&seed) % 0x220;
		uint32_t len = lens[rnd(&seed) % ARRAY_SIZE(lens)];
		uint64_t v = rnd(&seed);

		if (rnd(&seed) % 4) {
			plausible_step(f, &seed);
		} else {
			if (rnd(&seed) & 1)
				v &= 0xff;
			virtio__mmio_access(f->t, off, (uint8_t *)&v, len, rnd(&seed) & 1);
		}
		live += virtio__mmio_live(f->t);
		ready += f->t->vq[0].ready;
	}
	print_message("live in %d of 50000 steps, queue 0 ready in %d\n", live, ready);
	assert_true(live > 0);
	assert_true(ready > 0);
	/* Whatever state it ended in, a reset and a proper bring-up work. */
	assert_int_equal(tv_bringup(f->t, f->r, 1, 8, 0), ALL_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ident, setup_rng, teardown),
		cmocka_unit_test_setup_teardown(test_features, setup_rng, teardown),
		cmocka_unit_test_setup_teardown(test_rng_bytes_and_irq, setup_rng, teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup_rng, teardown),
		cmocka_unit_test_setup_teardown(test_queue_ready_zero_and_64bit, setup_rng, teardown),
		cmocka_unit_test_setup_teardown(test_needs_reset_bad_chain, setup_rng, teardown),
		cmocka_unit_test_setup_teardown(test_needs_reset_protocol, setup_rng, teardown),
		cmocka_unit_test_setup_teardown(test_random_registers, setup_rng, teardown),
		cmocka_unit_test_setup_teardown(test_random_registers, setup_console, teardown),
		cmocka_unit_test_setup_teardown(test_config_space, setup_console, teardown),
		cmocka_unit_test_setup_teardown(test_console_io, setup_console, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
