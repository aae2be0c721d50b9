/*
 * virtio-blk through its transport: register writes of any width, rings and
 * requests the fuzzer builds (header/data/status in any framing, bad sectors,
 * discard/write-zeroes segments, unknown types, chains into the MMIO hole),
 * doorbells and resets, over a 64 KiB temporary disk with both engines.
 * After every input the device is reset and a plain read of sector 0 must
 * succeed: whatever the guest did, a reset brings the device back.
 *
 * Input: [engine byte: bit 0 libaio] then a fuzz_virtio_drv.h program.
 */
#include <fcntl.h>
#include <linux/virtio_blk.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz_virtio_drv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DISK_SIZE	(64 * 1024)

static struct guest_mem mem;
static struct virtio_mmio *dev[2];

static void init(void)
{
	char path[] = "/tmp/mvm-fuzz-blk-XXXXXX";
	const struct blk_engine_ops *eng[2] = { &virtio_blk__engine_pread,
						&virtio_blk__engine_aio };
	int fd;

	util__log_level = LOG_QUIET;
	fg_init(&mem);
	fd = mkstemp(path);
	if (fd < 0 || ftruncate(fd, DISK_SIZE))
		abort();
	for (int i = 0; i < 2; i++) {
		struct disk_config dc = { .path = path };
		if (virtio_blk__new(&dc, i, &mem, eng[i], &dev[i]))
			abort();
	}
	/* The devices hold their own descriptors: leave nothing behind in /tmp. */
	unlink(path);
	close(fd);
}

/* After a reset a normal read must work: the guest cannot wedge the device. */
static void check_recovers(struct fd_drv *d)
{
	struct virtio_blk_outhdr h = { .type = VIRTIO_BLK_T_IN, .sector = 0 };
	struct vring_desc v[3] = {
		{ DATA_GPA, sizeof(h), VRING_DESC_F_NEXT, 1 },
		{ DATA_GPA + 0x1000, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2 },
		{ DATA_GPA + 0x2000, 1, VRING_DESC_F_WRITE, 0 },
	};
	uint8_t st = 0xee;
	uint16_t used = 0;

	fd_bringup(d, 1ULL << VIRTIO_F_VERSION_1, 0, 8);
	if (fd_rd(d, VIRTIO_MMIO_STATUS) != 0x0f)
		abort();
	fd_poke(d, DATA_GPA, &h, sizeof(h));
	fd_poke(d, DATA_GPA + 0x2000, &st, 1);
	fd_poke(d, fd_desc_gpa(0), v, sizeof(v));
	fd_publish(d, 0, 0);
	fd_wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	for (int i = 0; i < 500 && !used; i++) {
		virtio__iothread_poll(&d->t->io, i ? 10 : 0);
		used = *(volatile uint16_t *)mem__gpa_to_hva(&mem, fd_used_gpa(d, 0) + 2, 2);
	}
	st = *(volatile uint8_t *)mem__gpa_to_hva(&mem, DATA_GPA + 0x2000, 1);
	if (used != 1 || st != VIRTIO_BLK_S_OK) {
		fprintf(stderr, "virtio-blk did not recover after reset: used %u status %u\n",
			used, st);
		abort();
	}
	fd_wr(d, VIRTIO_MMIO_STATUS, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fg_in in = { data, size };
	struct fd_drv d = { .m = &mem, .nq = 1 };

	if (!mem.nr_slots)
		init();
	d.t = dev[fg_take(&in, 1) & 1];
	fd_round(&d, &in);
	check_recovers(&d);
	return 0;
}
