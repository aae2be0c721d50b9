/*
 * virtio-blk against a temporary image, with both engines: read/write,
 * flush, get_id, ro refusal, discard/write-zeroes, bad requests.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/virtio_blk.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "test_virtio_util.h"

#define DISK_SIZE	(1 << 20)
#define HDR		(TV_DATA)		/* request header */
#define BUF		(TV_DATA + 0x10000)	/* data, 4 KiB aligned */
#define STATUS		(TV_DATA + 0x20000)	/* status bytes, one per slot */

struct fx {
	struct guest_mem m;
	struct virtio_mmio *t;
	struct tv_ring r;
	char path[64];
	int fd;
	const struct blk_engine_ops *eng;
	bool ro;
};

static int setup_engine(void **state, const struct blk_engine_ops *eng, bool ro)
{
	struct fx *f = calloc(1, sizeof(*f));
	uint8_t pat[512];

	assert_int_equal(mem__init(&f->m, TV_MEM), 0);
	snprintf(f->path, sizeof(f->path), "/tmp/mvm-test-blk-XXXXXX");
	f->fd = mkstemp(f->path);
	assert_true(f->fd >= 0);
	/* Sector n is filled with byte n. */
	for (int s = 0; s < DISK_SIZE / 512; s++) {
		memset(pat, s & 0xff, sizeof(pat));
		assert_int_equal(pwrite(f->fd, pat, 512, s * 512LL), 512);
	}
	f->eng = eng;
	f->ro = ro;
	struct disk_config dc = { .path = f->path, .ro = ro };
	assert_int_equal(virtio_blk__new(&dc, 0, &f->m, eng, &f->t), 0);
	*state = f;
	return 0;
}

static int setup_pread(void **state) { return setup_engine(state, &virtio_blk__engine_pread, false); }
static int setup_aio(void **state) { return setup_engine(state, &virtio_blk__engine_aio, false); }
static int setup_pread_ro(void **state) { return setup_engine(state, &virtio_blk__engine_pread, true); }
static int setup_aio_ro(void **state) { return setup_engine(state, &virtio_blk__engine_aio, true); }

static int teardown(void **state)
{
	struct fx *f = *state;

	f->t->ops->destroy(f->t);
	close(f->fd);
	unlink(f->path);
	mem__exit(&f->m);
	free(f);
	return 0;
}

static uint32_t bringup(struct fx *f)
{
	/* Take every feature the device offers, as Linux would. */
	return tv_bringup(f->t, &f->r, 1, 64, f->t->device_features & (
			  (1ULL << VIRTIO_BLK_F_FLUSH) | (1ULL << VIRTIO_BLK_F_DISCARD) |
			  (1ULL << VIRTIO_BLK_F_WRITE_ZEROES) | (1ULL << VIRTIO_BLK_F_RO) |
			  (1ULL << VIRTIO_RING_F_EVENT_IDX) | (1ULL << VIRTIO_RING_F_INDIRECT_DESC)));
}

/*
 * Queue a 3-descriptor request in slot @slot (descs 3*slot..+2): header,
 * data at @data/@len (omitted when @len is 0), status.
 */
static void queue_req(struct fx *f, unsigned slot, uint32_t type, uint64_t sector, uint64_t data,
		      uint32_t len, bool data_in)
{
	struct virtio_blk_outhdr *h = tv_hva(&f->m, HDR + slot * 16, 16);
	uint16_t d = slot * 3;

	*h = (struct virtio_blk_outhdr){ .type = type, .sector = sector };
	*(uint8_t *)tv_hva(&f->m, STATUS + slot, 1) = 0xee;
	if (len) {
		tv_desc(&f->r, d, HDR + slot * 16, 16, VRING_DESC_F_NEXT, d + 1);
		tv_desc(&f->r, d + 1, data, len, VRING_DESC_F_NEXT | (data_in ? VRING_DESC_F_WRITE : 0),
			d + 2);
	} else {
		tv_desc(&f->r, d, HDR + slot * 16, 16, VRING_DESC_F_NEXT, d + 2);
	}
	tv_desc(&f->r, d + 2, STATUS + slot, 1, VRING_DESC_F_WRITE, 0);
	tv_publish(&f->r, d);
}

/* Run one request to completion; returns the status byte, *used = used len. */
static int do_req(struct fx *f, uint32_t type, uint64_t sector, uint64_t data, uint32_t len,
		  bool data_in, uint32_t *used)
{
	uint32_t id, l;

	queue_req(f, 0, type, sector, data, len, data_in);
	tv_wr(f->t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	if (!tv_wait_used(f->t, &f->r, &id, &l))
		return -1;
	assert_int_equal(id, 0);
	if (used)
		*used = l;
	return *(uint8_t *)tv_hva(&f->m, STATUS, 1);
}

static void test_rw(void **state)
{
	struct fx *f = *state;
	uint8_t *buf = tv_hva(&f->m, BUF, 8192), chk[4096];
	uint32_t used;

	assert_int_equal(bringup(f), 0x0f);
	/* Aligned read (O_DIRECT path with libaio) of sectors 8..15. */
	memset(buf, 0, 4096);
	assert_int_equal(do_req(f, VIRTIO_BLK_T_IN, 8, BUF, 4096, true, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 4097);
	for (int i = 0; i < 8; i++)
		assert_int_equal(buf[i * 512 + 7], 8 + i);
	/* Unaligned buffer (buffered path). */
	assert_int_equal(do_req(f, VIRTIO_BLK_T_IN, 3, BUF + 1, 512, true, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(buf[1], 3);
	assert_int_equal(buf[512], 3);

	/* Writes, aligned and not, land in the file. */
	memset(buf, 0xa5, 4096);
	assert_int_equal(do_req(f, VIRTIO_BLK_T_OUT, 16, BUF, 4096, false, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 1);
	assert_int_equal(pread(f->fd, chk, 4096, 16 * 512), 4096);
	assert_memory_equal(chk, buf, 4096);
	memset(buf + 3, 0x5a, 512);
	assert_int_equal(do_req(f, VIRTIO_BLK_T_OUT, 40, BUF + 3, 512, false, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(pread(f->fd, chk, 512, 40 * 512), 512);
	assert_memory_equal(chk, buf + 3, 512);

	assert_int_equal(do_req(f, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 1);
}

static void test_bad_requests(void **state)
{
	struct fx *f = *state;

	assert_int_equal(bringup(f), 0x0f);
	/* Past the end, straddling the end, sector overflow, unaligned length. */
	assert_int_equal(do_req(f, VIRTIO_BLK_T_IN, DISK_SIZE / 512, BUF, 512, true, NULL),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(do_req(f, VIRTIO_BLK_T_IN, DISK_SIZE / 512 - 1, BUF, 1024, true, NULL),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(do_req(f, VIRTIO_BLK_T_OUT, ~0ULL, BUF, 512, false, NULL),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(do_req(f, VIRTIO_BLK_T_IN, 0, BUF, 100, true, NULL), VIRTIO_BLK_S_IOERR);
	/* Unknown type. */
	assert_int_equal(do_req(f, 77, 0, BUF, 512, true, NULL), VIRTIO_BLK_S_UNSUPP);
	/* Still healthy. */
	assert_false(tv_rd(f->t, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);

	/* A request with no status byte breaks the protocol. */
	tv_desc(&f->r, 0, HDR, 16, 0, 0);
	tv_publish(&f->r, 0);
	tv_wr(f->t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	virtio__iothread_poll(&f->t->io, 1000);
	assert_true(tv_rd(f->t, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

/* Any framing (2.7.4.1): header split in two, data and status in one buffer. */
static void test_any_layout(void **state)
{
	struct fx *f = *state;
	struct virtio_blk_outhdr *h = tv_hva(&f->m, HDR, 16);
	uint8_t *buf = tv_hva(&f->m, BUF, 1024);
	uint32_t id, len;

	assert_int_equal(bringup(f), 0x0f);
	*h = (struct virtio_blk_outhdr){ .type = VIRTIO_BLK_T_IN, .sector = 9 };
	memset(buf, 0, 1024);
	buf[512] = 0xee;
	tv_desc(&f->r, 0, HDR, 8, VRING_DESC_F_NEXT, 1);
	tv_desc(&f->r, 1, HDR + 8, 8, VRING_DESC_F_NEXT, 2);
	tv_desc(&f->r, 2, BUF, 513, VRING_DESC_F_WRITE, 0);
	tv_publish(&f->r, 0);
	tv_wr(f->t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_true(tv_wait_used(f->t, &f->r, &id, &len));
	assert_int_equal(len, 513);
	assert_int_equal(buf[0], 9);
	assert_int_equal(buf[511], 9);
	assert_int_equal(buf[512], VIRTIO_BLK_S_OK);
}

static void test_get_id(void **state)
{
	struct fx *f = *state;
	char *id = tv_hva(&f->m, BUF, 32);
	uint32_t used;

	assert_int_equal(bringup(f), 0x0f);
	memset(id, 'x', 32);
	assert_int_equal(do_req(f, VIRTIO_BLK_T_GET_ID, 0, BUF, 20, true, &used), VIRTIO_BLK_S_OK);
	assert_string_equal(id, "mvm-disk0");
	assert_int_equal(used, 21);
	/* Short buffer: truncated, no overrun. */
	memset(id, 'x', 32);
	assert_int_equal(do_req(f, VIRTIO_BLK_T_GET_ID, 0, BUF, 4, true, &used), VIRTIO_BLK_S_OK);
	assert_memory_equal(id, "mvm-x", 5);
	assert_int_equal(used, 5);
}

static void test_many_in_flight(void **state)
{
	struct fx *f = *state;
	uint32_t id = 0, len = 0, seen = 0;

	assert_int_equal(bringup(f), 0x0f);
	for (unsigned s = 0; s < 16; s++)
		queue_req(f, s, VIRTIO_BLK_T_IN, s * 8, BUF + s * 4096, 4096, true);
	tv_wr(f->t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	for (int n = 0; n < 16; n++) {
		assert_true(tv_wait_used(f->t, &f->r, &id, &len));
		assert_int_equal(id % 3, 0);
		assert_int_equal(len, 4097);
		seen |= 1u << (id / 3);
	}
	assert_int_equal(seen, 0xffff);
	for (unsigned s = 0; s < 16; s++) {
		assert_int_equal(*(uint8_t *)tv_hva(&f->m, STATUS + s, 1), VIRTIO_BLK_S_OK);
		assert_int_equal(*(uint8_t *)tv_hva(&f->m, BUF + s * 4096 + 4095, 1), s * 8 + 7);
	}
}

static void test_discard_zeroes(void **state)
{
	struct fx *f = *state;
	struct virtio_blk_discard_write_zeroes *seg = tv_hva(&f->m, BUF, 16);
	uint8_t chk[4096], zero[4096] = { 0 };

	assert_int_equal(bringup(f), 0x0f);
	if (!virtio__mmio_has_feature(f->t, VIRTIO_BLK_F_DISCARD))
		skip();		/* file system without hole punching */
	*seg = (struct virtio_blk_discard_write_zeroes){ .sector = 8, .num_sectors = 8 };
	assert_int_equal(do_req(f, VIRTIO_BLK_T_DISCARD, 0, BUF, 16, false, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(pread(f->fd, chk, 4096, 8 * 512), 4096);
	assert_memory_equal(chk, zero, 4096);
	assert_int_equal(pread(f->fd, chk, 1, 16 * 512), 1);
	assert_int_equal(chk[0], 16);		/* neighbour untouched */

	*seg = (struct virtio_blk_discard_write_zeroes){ .sector = 32, .num_sectors = 3 };
	assert_int_equal(do_req(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, BUF, 16, false, NULL),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(pread(f->fd, chk, 3 * 512, 32 * 512), 3 * 512);
	assert_memory_equal(chk, zero, 3 * 512);
	assert_int_equal(pread(f->fd, chk, 2, 35 * 512 - 1), 2);
	assert_int_equal(chk[0], 0);
	assert_int_equal(chk[1], 35);
	/* The unmap flag is fine for WRITE_ZEROES, reserved for DISCARD. */
	*seg = (struct virtio_blk_discard_write_zeroes){ .sector = 40, .num_sectors = 1,
							 .flags = VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP };
	assert_int_equal(do_req(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, BUF, 16, false, NULL),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(do_req(f, VIRTIO_BLK_T_DISCARD, 0, BUF, 16, false, NULL),
			 VIRTIO_BLK_S_UNSUPP);
	/* Out of range; two segments where one is allowed. */
	*seg = (struct virtio_blk_discard_write_zeroes){ .sector = DISK_SIZE / 512 - 1, .num_sectors = 2 };
	assert_int_equal(do_req(f, VIRTIO_BLK_T_DISCARD, 0, BUF, 16, false, NULL),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(do_req(f, VIRTIO_BLK_T_DISCARD, 0, BUF, 32, false, NULL),
			 VIRTIO_BLK_S_UNSUPP);
}

static void test_ro(void **state)
{
	struct fx *f = *state;
	uint8_t *buf = tv_hva(&f->m, BUF, 4096), chk[512];
	uint64_t cap;

	assert_int_equal(bringup(f), 0x0f);
	assert_true(virtio__mmio_has_feature(f->t, VIRTIO_BLK_F_RO));
	assert_false(virtio__mmio_has_feature(f->t, VIRTIO_BLK_F_DISCARD));
	virtio__mmio_access(f->t, VIRTIO_MMIO_CONFIG, (uint8_t *)&cap, 8, false);
	assert_int_equal(cap, DISK_SIZE / 512);
	memset(buf, 0x77, 512);
	assert_int_equal(do_req(f, VIRTIO_BLK_T_OUT, 1, BUF, 512, false, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(pread(f->fd, chk, 512, 512), 512);
	assert_int_equal(chk[0], 1);
	assert_int_equal(do_req(f, VIRTIO_BLK_T_IN, 1, BUF, 512, true, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(buf[0], 1);
	assert_int_equal(do_req(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, BUF, 16, false, NULL),
			 VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(do_req(f, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, NULL), VIRTIO_BLK_S_OK);
}

static void test_config(void **state)
{
	struct fx *f = *state;
	struct virtio_blk_config c;

	for (unsigned i = 0; i < sizeof(c); i += 4)
		virtio__mmio_access(f->t, VIRTIO_MMIO_CONFIG + i, (uint8_t *)&c + i, 4, false);
	assert_int_equal(c.capacity, DISK_SIZE / 512);
	assert_int_equal(c.blk_size, 512);
	assert_int_equal(c.seg_max, VIRTIO_BLK_SEG_MAX);
	assert_int_equal(c.size_max, VIRTIO_BLK_SIZE_MAX);
	assert_int_equal(c.max_discard_seg, 1);
}

static void test_reset_with_io(void **state)
{
	struct fx *f = *state;

	assert_int_equal(bringup(f), 0x0f);
	for (unsigned s = 0; s < 8; s++)
		queue_req(f, s, VIRTIO_BLK_T_IN, s, BUF + s * 4096, 4096, true);
	tv_wr(f->t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	virtio__mmio_kick(f->t);	/* submit, do not reap */
	tv_wr(f->t, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(tv_rd(f->t, VIRTIO_MMIO_STATUS), 0);
	/* Every request is back in the pool: a full ring's worth works again. */
	assert_int_equal(bringup(f), 0x0f);
	assert_int_equal(do_req(f, VIRTIO_BLK_T_IN, 2, BUF, 512, true, NULL), VIRTIO_BLK_S_OK);
}

/* Same with the real I/O thread: the reset waits for it to drain the engine. */
static void test_reset_threaded(void **state)
{
	struct fx *f = *state;
	uint32_t id, len;

	assert_int_equal(virtio__iothread_start(&f->t->io), 0);
	for (int round = 0; round < 20; round++) {
		assert_int_equal(bringup(f), 0x0f);
		for (unsigned s = 0; s < 16; s++)
			queue_req(f, s, VIRTIO_BLK_T_IN, s, BUF + s * 4096, 4096, true);
		tv_wr(f->t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
		if (round & 1)
			usleep(100);
		tv_wr(f->t, VIRTIO_MMIO_STATUS, 0);
		assert_int_equal(tv_rd(f->t, VIRTIO_MMIO_STATUS), 0);
	}
	assert_int_equal(bringup(f), 0x0f);
	queue_req(f, 0, VIRTIO_BLK_T_IN, 5, BUF, 512, true);
	tv_wr(f->t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	for (int i = 0; i < 200 && !tv_get_used(&f->r, &id, &len); i++)
		usleep(10000);
	assert_int_equal(len, 513);
	assert_int_equal(*(uint8_t *)tv_hva(&f->m, BUF, 1), 5);
}

static int io_start_fail(void *opaque)
{
	(void)opaque;
	return -EPERM;
}

static void test_iothread_start_fails(void **state)
{
	struct fx *f = *state;

	f->t->io.on_start = io_start_fail;
	assert_int_equal(virtio__iothread_start(&f->t->io), -EPERM);
	assert_false(f->t->io.started);
}

static void test_open_errors(void **state)
{
	struct guest_mem m;
	struct virtio_mmio *t;
	struct disk_config dc = { .path = "/nonexistent/mvm-disk.img" };
	char path[] = "/tmp/mvm-test-blk-ro-XXXXXX";
	int fd, flags;

	(void)state;
	assert_int_equal(mem__init(&m, TV_MEM), 0);
	assert_int_equal(virtio_blk__new(&dc, 0, &m, &virtio_blk__engine_pread, &t), -ENOENT);
	/* Too small to hold a sector. */
	fd = mkstemp(path);
	assert_true(fd >= 0);
	dc.path = path;
	assert_int_equal(virtio_blk__new(&dc, 0, &m, &virtio_blk__engine_pread, &t), -EINVAL);
	assert_int_equal(ftruncate(fd, 4096), 0);
	/* An immutable file cannot be opened read-write, even by root. */
	flags = FS_IMMUTABLE_FL;
	if (ioctl(fd, FS_IOC_SETFLAGS, &flags) == 0) {
		assert_true(virtio_blk__new(&dc, 0, &m, &virtio_blk__engine_pread, &t) < 0);
		dc.ro = true;
		assert_int_equal(virtio_blk__new(&dc, 0, &m, &virtio_blk__engine_pread, &t), 0);
		t->ops->destroy(t);
		flags = 0;
		assert_int_equal(ioctl(fd, FS_IOC_SETFLAGS, &flags), 0);
	} else if (geteuid() != 0) {
		assert_int_equal(fchmod(fd, 0444), 0);
		assert_int_equal(virtio_blk__new(&dc, 0, &m, &virtio_blk__engine_pread, &t), -EACCES);
	}
	close(fd);
	unlink(path);
	assert_null(virtio_blk__engine_by_name("bogus"));
	assert_ptr_equal(virtio_blk__engine_by_name(NULL), &virtio_blk__engine_aio);
	assert_ptr_equal(virtio_blk__engine_by_name("pread"), &virtio_blk__engine_pread);
	mem__exit(&m);
}

#define BOTH(fn) \
	cmocka_unit_test_setup_teardown(fn, setup_pread, teardown), \
	cmocka_unit_test_setup_teardown(fn, setup_aio, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_rw),
		BOTH(test_bad_requests),
		BOTH(test_get_id),
		BOTH(test_any_layout),
		BOTH(test_many_in_flight),
		BOTH(test_discard_zeroes),
		BOTH(test_config),
		BOTH(test_reset_with_io),
		BOTH(test_reset_threaded),
		cmocka_unit_test_setup_teardown(test_iothread_start_fails, setup_aio, teardown),
		cmocka_unit_test_setup_teardown(test_ro, setup_pread_ro, teardown),
		cmocka_unit_test_setup_teardown(test_ro, setup_aio_ro, teardown),
		cmocka_unit_test(test_open_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
