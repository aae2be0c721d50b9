/*
 * A hostile virtio-blk driver, part 2: the transport.  Queue sizes above
 * QueueNumMax or not powers of two, rings outside RAM or misaligned,
 * notifications for queues that do not exist or are not ready, a doorbell
 * storm, reset with requests in flight, bad feature negotiation (unoffered
 * bits, no VERSION_1, DRIVER_OK first, status bits cleared, late feature
 * writes), writes to read-only registers, 1/2/8-byte and misaligned
 * register accesses, config space at every width and odd offset, past its
 * end and past the register window, and writes to it.
 *
 * Each case must be refused or ignored as its line says, and the device
 * must work after a reset.  Part 1 (descriptor chains) is hostile.c.
 */
#include "hostile_drv.h"

/* ---- transport cases ------------------------------------------------------- */

/* Set up queue 0 by hand with @num and @desc; 0 when it reads back ready. */
static int queue_by_hand(uint32_t num, uint32_t desc_lo, uint32_t desc_hi)
{
	dev_reset();
	wr(R_STATUS, S_ACK | S_DRIVER);
	wr(R_DRV_FEAT_SEL, 1);
	wr(R_DRV_FEAT, F_HI_VERSION_1);
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	wr(R_QUEUE_SEL, 0);
	wr(R_QUEUE_NUM, num);
	wr(R_DESC_LO, desc_lo);
	wr(R_DESC_HI, desc_hi);
	wr(R_AVAIL_LO, RING + 0x1000);
	wr(R_USED_LO, RING + 0x2000);
	wr(R_QUEUE_READY, 1);
	return rd(R_QUEUE_READY) == 1 ? 0 : -1;
}

static void queue_cases(void)
{
	static const struct {
		const char *name;
		uint32_t num, lo, hi;
	} q[] = {
		{ "QueueNum 512 (above QueueNumMax)", 512, RING, 0 },
		{ "QueueNum 65535", 65535, RING, 0 },
		{ "QueueNum 100 (not a power of 2)", 100, RING, 0 },
		{ "QueueNum 0", 0, RING, 0 },
		{ "descriptor table outside RAM", 8, OUTSIDE, 0 },
		{ "descriptor table in the MMIO hole", 8, VIRTIO_BASE, 0 },
		{ "descriptor table above 4 GiB", 8, 0, 1 },
		{ "misaligned descriptor table", 8, RING + 8, 0 },
	};

	check(rd(R_QUEUE_NUM_MAX) == 256, "QueueNumMax is 256");
	for (unsigned i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		int ready = queue_by_hand(q[i].num, q[i].lo, q[i].hi) == 0;

		check(!ready && (rd(R_STATUS) & S_NEEDS_RESET), "%s: queue refused, NEEDS_RESET",
		      q[i].name);
		check(recovered(), "%s: device works after reset", q[i].name);
	}
}

static void notify_cases(void)
{
	static const uint32_t idx[] = { 1, 5, 0xffff, 0xffffffffu };
	enum outcome o;

	for (unsigned i = 0; i < sizeof(idx) / sizeof(idx[0]); i++) {
		std_up();
		wr(R_QUEUE_NOTIFY, idx[i]);
		o = wait_for(WAIT_SHORT);
		check(o == O_NONE, "QueueNotify for missing queue 0x%x: ignored", idx[i]);
		/* No reset: the device must still serve queue 0. */
		memset((void *)DATA, 0, 512);
		check(request(T_IN, CHECK_SECTOR, 512) == ST_OK && data_is(0x5a),
		      "QueueNotify for missing queue 0x%x: queue 0 still works", idx[i]);
	}

	/* A queue that was never made ready: buffers sit there untouched. */
	dev_reset();
	wr(R_STATUS, S_ACK | S_DRIVER);
	wr(R_DRV_FEAT_SEL, 1);
	wr(R_DRV_FEAT, F_HI_VERSION_1);
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	qnum = 8;
	wr(R_QUEUE_SEL, 0);
	wr(R_QUEUE_NUM, 8);
	wr(R_DESC_LO, RING);
	wr(R_AVAIL_LO, RING + 0x1000);
	wr(R_USED_LO, RING + 0x2000);
	wr(R_STATUS, S_ALL);
	rw_chain(T_IN, CHECK_SECTOR, DATA, 512, D_WRITE);
	o = wait_for(WAIT_SHORT);
	check(o == O_NONE && rd(R_QUEUE_READY) == 0, "notify for a queue not ready: ignored");
	check(recovered(), "notify for a queue not ready: device works after reset");

	/* QueueSel past the last queue: every queue register reads 0 and ignores writes. */
	std_up();
	wr(R_QUEUE_SEL, 7);
	wr(R_QUEUE_NUM, 8);
	wr(R_QUEUE_READY, 1);
	check(rd(R_QUEUE_NUM_MAX) == 0 && rd(R_QUEUE_READY) == 0 &&
	      !(rd(R_STATUS) & S_NEEDS_RESET), "QueueSel 7 (no such queue): inert");
	wr(R_QUEUE_SEL, 0);
	check(recovered(), "QueueSel 7: device works after reset");

	/* Ten thousand doorbells with nothing queued. */
	std_up();
	for (unsigned i = 0; i < 10000; i++)
		wr(R_QUEUE_NOTIFY, 0);
	check(!(rd(R_STATUS) & S_NEEDS_RESET) && wait_for(WAIT_SHORT) == O_NONE,
	      "10000 notifications with an empty ring: ignored");
	check(recovered(), "notification storm: device works after reset");

	/* Reset while reads are in flight. */
	std_up();
	header(T_IN, CHECK_SECTOR);
	for (unsigned i = 0; i < 2; i++) {
		set_desc(3 * i, HDR, 16, D_NEXT, 3 * i + 1);
		set_desc(3 * i + 1, DATA + 0x1000 * (i + 1), 4096, D_WRITE | D_NEXT, 3 * i + 2);
		set_desc(3 * i + 2, STAT + 1 + i, 1, D_WRITE, 0);
		publish(3 * i);
	}
	wr(R_QUEUE_NOTIFY, 0);
	wr(R_STATUS, 0);
	check(rd(R_STATUS) == 0, "reset with requests in flight: status reads 0");
	check(recovered(), "reset with requests in flight: device works after reset");
}

static void feature_cases(void)
{
	/* Bit 50 is offered by nobody. */
	dev_reset();
	wr(R_STATUS, S_ACK | S_DRIVER);
	wr(R_DRV_FEAT_SEL, 1);
	wr(R_DRV_FEAT, F_HI_VERSION_1 | (1u << 18));
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	check(!(rd(R_STATUS) & S_FEATURES_OK), "FEATURES_OK with an unoffered feature: refused");
	check(recovered(), "unoffered feature: device works after reset");

	dev_reset();
	wr(R_STATUS, S_ACK | S_DRIVER);
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	check(!(rd(R_STATUS) & S_FEATURES_OK), "FEATURES_OK without VERSION_1: refused");
	check(recovered(), "no VERSION_1: device works after reset");

	dev_reset();
	wr(R_STATUS, S_ACK | S_DRIVER);
	wr(R_DRV_FEAT_SEL, 1);
	wr(R_DRV_FEAT, F_HI_VERSION_1);
	wr(R_STATUS, S_ACK | S_DRIVER | S_DRIVER_OK);
	check(rd(R_STATUS) & S_NEEDS_RESET, "DRIVER_OK before FEATURES_OK: NEEDS_RESET");
	check(recovered(), "DRIVER_OK before FEATURES_OK: device works after reset");

	std_up();
	wr(R_STATUS, S_ACK);
	check(rd(R_STATUS) & S_NEEDS_RESET, "status bits cleared without reset: NEEDS_RESET");
	check(recovered(), "status bits cleared: device works after reset");

	/* Features cannot change after FEATURES_OK. */
	std_up();
	wr(R_DRV_FEAT_SEL, 0);
	wr(R_DRV_FEAT, 1u << F_INDIRECT);
	set_ind(0, HDR, 16, D_NEXT, 1);
	set_ind(1, DATA, 512, D_WRITE | D_NEXT, 2);
	set_ind(2, STAT, 1, D_WRITE, 0);
	ind_head(IND, 48);
	enum outcome o = wait_for(WAIT_LONG);
	check(o == O_NEEDS_RESET, "features written after FEATURES_OK: ignored (indirect refused)");
	check(recovered(), "late features: device works after reset");
}

static void register_cases(void)
{
	/*
	 * InterruptStatus is read-only too, but the device may raise it at
	 * any time (DRIVER_OK rings the doorbell), so it is written, not compared.
	 */
	static const uint32_t ro[] = { R_MAGIC, R_VERSION, R_DEVICE_ID, R_VENDOR, R_DEV_FEAT,
				       R_QUEUE_NUM_MAX, R_CONFIG_GEN };
	uint32_t before[sizeof(ro) / sizeof(ro[0])];
	int same = 1;

	std_up();
	for (unsigned i = 0; i < sizeof(ro) / sizeof(ro[0]); i++)
		before[i] = rd(ro[i]);
	for (unsigned i = 0; i < sizeof(ro) / sizeof(ro[0]); i++)
		wr(ro[i], ~before[i]);
	wr(R_INT_STATUS, ~0u);
	for (unsigned i = 0; i < sizeof(ro) / sizeof(ro[0]); i++)
		if (rd(ro[i]) != before[i]) {
			printf("    register 0x%x changed from 0x%x to 0x%x\n", ro[i], before[i],
			       rd(ro[i]));
			same = 0;
		}
	check(same, "writes to read-only registers: ignored");
	check(rd(R_STATUS) == S_ALL, "writes to read-only registers: device still live");

	/* Registers are 32-bit: narrower or wider accesses must not change state. */
	poke8(base + R_STATUS, 0);
	*(volatile uint16_t *)(base + R_STATUS) = 0;
	poke8(base + R_STATUS + 1, 0xff);
	poke8(base + R_QUEUE_NOTIFY, 0);
	uint64_t q = 0;
	mmx_write64(base + R_STATUS, &q);
	(void)peek8(base + R_MAGIC + 1);
	(void)*(volatile uint16_t *)(base + R_MAGIC + 2);
	mmx_read64(base + R_MAGIC, &q);
	(void)peek32(base + R_STATUS + 2);	/* misaligned 32-bit */
	check(rd(R_STATUS) == S_ALL, "1/2/8-byte and misaligned register accesses: ignored");
	memset((void *)DATA, 0, 512);
	check(request(T_IN, CHECK_SECTOR, 512) == ST_OK && data_is(0x5a),
	      "odd register accesses: device still works");
}

static void config_cases(void)
{
	uint8_t b[8];
	uint32_t lo, hi, w;
	uint64_t q = 0, q2 = 0;
	int ok = 1;

	std_up();
	/* capacity (le64 at config 0) through every width and alignment */
	for (unsigned i = 0; i < 8; i++)
		b[i] = peek8(base + R_CONFIG + i);
	lo = rd(R_CONFIG);
	hi = rd(R_CONFIG + 4);
	check(lo == DISK_SECTORS && hi == 0, "config capacity (4-byte reads) is %u sectors",
	      DISK_SECTORS);
	for (unsigned i = 0; i < 8; i++)
		ok &= b[i] == (uint8_t)((i < 4 ? lo : hi) >> (8 * (i & 3)));
	for (unsigned i = 0; i < 8; i += 2) {
		uint16_t h = *(volatile uint16_t *)(base + R_CONFIG + i);
		ok &= h == (uint16_t)(b[i] | b[i + 1] << 8);
	}
	for (unsigned i = 1; i < 4; i++) {
		w = peek32(base + R_CONFIG + i);	/* odd offsets */
		ok &= w == (uint32_t)(b[i] | b[i + 1] << 8 | b[i + 2] << 16 | (uint32_t)b[i + 3] << 24);
	}
	mmx_read64(base + R_CONFIG, &q);
	ok &= q == ((uint64_t)hi << 32 | lo);
	mmx_read64(base + R_CONFIG + 3, &q2);	/* 8 bytes at an odd offset */
	ok &= (uint8_t)q2 == b[3];
	check(ok, "config space: 1/2/4/8-byte reads at odd offsets agree");

	/* Past the 64-byte config space, up to the end of the 0x200 window: zero. */
	ok = 1;
	for (unsigned off = 0x40; off < 0x100; off += 4)
		ok &= peek32(base + R_CONFIG + off) == 0;
	mmx_read64(base + R_CONFIG + 0xf8, &q);
	ok &= q == 0;
	check(ok, "config space beyond its size reads zero");
	/* Beyond the register window, inside the 4 KiB slot: nobody answers. */
	(void)peek32(base + 0x200);
	(void)peek32(base + 0xffc);
	mmx_read64(base + 0x1fc, &q);	/* straddles the window's end */
	poke32(base + 0x800, 0x12345678);
	check(rd(R_STATUS) == S_ALL, "accesses past the register window: harmless");

	/* Config space is read-only. */
	poke8(base + R_CONFIG, 0xff);
	*(volatile uint16_t *)(base + R_CONFIG + 1) = 0xffff;
	poke32(base + R_CONFIG + 4, 0xffffffff);
	q = ~0ull;
	mmx_write64(base + R_CONFIG, &q);
	poke32(base + R_CONFIG + 0x1fc - 0x100, 1);
	check(rd(R_CONFIG) == lo && rd(R_CONFIG + 4) == hi, "config space writes: ignored");
	check(recovered(), "config accesses: device works after reset");
}

int fw_main(uint32_t magic, const struct multiboot_info *mb)
{
	(void)magic;
	(void)mb;
	if (hostile_start("hostile_mmio: a virtio-blk driver that abuses the registers"))
		return fw_summary();
	queue_cases();
	notify_cases();
	feature_cases();
	register_cases();
	config_cases();
	dev_reset();
	return fw_summary();
}
