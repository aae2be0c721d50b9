/*
 * A hostile virtio-blk driver.  Finds the virtio-mmio block device (mvm puts
 * the windows at 0xd0000000 + n * 0x1000; run with `-d` on a zeroed 1 MiB
 * image, see hostile.mvm-args) and breaks the protocol in every way we could
 * think of: descriptors outside RAM, into the MMIO hole and onto the local
 * APIC, loops, huge and zero lengths, bad indirect tables, queues that are
 * not ready or too big, notifications for queues that do not exist, odd
 * register and config-space accesses, bad feature negotiation.
 *
 * After each case the device must have refused (status byte IOERR/UNSUPP,
 * or DEVICE_NEEDS_RESET in the status register) or ignored the access, as
 * the case says; then the driver resets it and a normal read must work
 * again.  That this program keeps printing is the proof mvm survived.
 * Lines depend only on outcomes, never on timing or addresses.
 */
#include "fw.h"

#define VIRTIO_BASE	0xd0000000u
#define VIRTIO_SLOTS	32
#define MAGIC		0x74726976u

/* virtio-mmio registers */
#define R_MAGIC		0x000
#define R_VERSION	0x004
#define R_DEVICE_ID	0x008
#define R_VENDOR	0x00c
#define R_DEV_FEAT	0x010
#define R_DEV_FEAT_SEL	0x014
#define R_DRV_FEAT	0x020
#define R_DRV_FEAT_SEL	0x024
#define R_QUEUE_SEL	0x030
#define R_QUEUE_NUM_MAX	0x034
#define R_QUEUE_NUM	0x038
#define R_QUEUE_READY	0x044
#define R_QUEUE_NOTIFY	0x050
#define R_INT_STATUS	0x060
#define R_INT_ACK	0x064
#define R_STATUS	0x070
#define R_DESC_LO	0x080
#define R_DESC_HI	0x084
#define R_AVAIL_LO	0x090
#define R_AVAIL_HI	0x094
#define R_USED_LO	0x0a0
#define R_USED_HI	0x0a4
#define R_CONFIG_GEN	0x0fc
#define R_CONFIG	0x100

#define S_ACK		1u
#define S_DRIVER	2u
#define S_DRIVER_OK	4u
#define S_FEATURES_OK	8u
#define S_NEEDS_RESET	0x40u
#define S_ALL		(S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK)

#define F_INDIRECT	28u		/* feature bit numbers */
#define F_HI_VERSION_1	(1u << 0)	/* bit 32 */

#define D_NEXT		1u
#define D_WRITE		2u
#define D_INDIRECT	4u

#define T_IN		0u
#define T_OUT		1u
#define T_DISCARD	11u
#define ST_OK		0u
#define ST_IOERR	1u
#define ST_UNSUPP	2u

/* Guest memory the driver uses (RAM is 128 MiB; the image sits at 1 MiB). */
#define RING		0x600000u	/* desc table; avail +0x1000; used +0x2000 */
#define IND		0x680000u	/* indirect tables */
#define HDR		0x700000u
#define STAT		0x700100u
#define DATA		0x701000u
#define OUTSIDE		0x10000000u	/* 256 MiB: past the end of RAM */
#define RAM_END		0x08000000u
#define DISK_SECTORS	2048u		/* hostile.mvm-args: 1 MiB */
#define CHECK_SECTOR	7u

#define WAIT_LONG	20000000u	/* ends early: only a broken device waits it out */
#define WAIT_SHORT	200000u		/* "nothing happens" cases */

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

static uintptr_t base;
static uint16_t qnum, avail_idx, used_seen;

static uint32_t rd(uint32_t off) { return peek32(base + off); }
static void wr(uint32_t off, uint32_t v) { poke32(base + off, v); }

static volatile struct desc *descs(void) { return (volatile struct desc *)RING; }
static volatile uint16_t *avail(void) { return (volatile uint16_t *)(RING + 0x1000); }
static volatile uint16_t *used(void) { return (volatile uint16_t *)(RING + 0x2000); }

static void mmx_read64(uintptr_t a, uint64_t *v)
{
	__asm__ volatile("movq (%0), %%mm0\n\tmovq %%mm0, (%1)\n\temms" :: "r"(a), "r"(v) : "memory");
}

static void mmx_write64(uintptr_t a, const uint64_t *v)
{
	__asm__ volatile("movq (%1), %%mm0\n\tmovq %%mm0, (%0)\n\temms" :: "r"(a), "r"(v) : "memory");
}

static void set_desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	volatile struct desc *d = &descs()[i];

	d->addr = addr;
	d->len = len;
	d->flags = flags;
	d->next = next;
}

static void set_ind(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	volatile struct desc *d = &((volatile struct desc *)IND)[i];

	d->addr = addr;
	d->len = len;
	d->flags = flags;
	d->next = next;
}

static void publish(uint16_t head)
{
	avail()[2 + avail_idx % (qnum ? qnum : 1)] = head;
	avail_idx++;
	__asm__ volatile("" ::: "memory");
	avail()[1] = avail_idx;
}

static void dev_reset(void)
{
	wr(R_STATUS, 0);
	memset((void *)RING, 0, 0x3000);
	avail_idx = used_seen = 0;
}

/* Bring-up per virtio 3.1.1; 0 when the device accepted it. */
static int bring_up(uint32_t feat_lo, uint32_t feat_hi, uint16_t num)
{
	dev_reset();
	wr(R_STATUS, S_ACK);
	wr(R_STATUS, S_ACK | S_DRIVER);
	wr(R_DRV_FEAT_SEL, 0);
	wr(R_DRV_FEAT, feat_lo);
	wr(R_DRV_FEAT_SEL, 1);
	wr(R_DRV_FEAT, feat_hi);
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	if (!(rd(R_STATUS) & S_FEATURES_OK))
		return -1;
	qnum = num;
	wr(R_QUEUE_SEL, 0);
	wr(R_QUEUE_NUM, num);
	wr(R_DESC_LO, RING);
	wr(R_DESC_HI, 0);
	wr(R_AVAIL_LO, RING + 0x1000);
	wr(R_AVAIL_HI, 0);
	wr(R_USED_LO, RING + 0x2000);
	wr(R_USED_HI, 0);
	wr(R_QUEUE_READY, 1);
	wr(R_STATUS, S_ALL);
	return rd(R_STATUS) == S_ALL ? 0 : -1;
}

static int std_up(void)
{
	return bring_up(0, F_HI_VERSION_1, 8);
}

enum outcome { O_NONE, O_USED, O_NEEDS_RESET };

static enum outcome wait_for(uint32_t limit)
{
	for (uint32_t i = 0; i < limit; i++) {
		if (used()[1] != used_seen) {
			used_seen++;
			return O_USED;
		}
		if (!(i & 63) && (rd(R_STATUS) & S_NEEDS_RESET))
			return O_NEEDS_RESET;
		__asm__ volatile("pause");
	}
	return (rd(R_STATUS) & S_NEEDS_RESET) ? O_NEEDS_RESET : O_NONE;
}

static void header(uint32_t type, uint64_t sector)
{
	volatile uint32_t *h = (volatile uint32_t *)HDR;

	h[0] = type;
	h[1] = 0;
	h[2] = (uint32_t)sector;
	h[3] = (uint32_t)(sector >> 32);
	poke8(STAT, 0xee);
}

/* header -> data (@len at @addr, @dflags) -> status; head 0, descriptors 0-2. */
static void rw_chain(uint32_t type, uint64_t sector, uint64_t addr, uint32_t len, uint16_t dflags)
{
	header(type, sector);
	set_desc(0, HDR, 16, D_NEXT, 1);
	set_desc(1, addr, len, dflags | D_NEXT, 2);
	set_desc(2, STAT, 1, D_WRITE, 0);
	publish(0);
	wr(R_QUEUE_NOTIFY, 0);
}

/* One request on a healthy device: status byte, or 0xff when none came back. */
static int request(uint32_t type, uint64_t sector, uint32_t len)
{
	rw_chain(type, sector, DATA, len, type == T_IN ? D_WRITE : 0);
	if (wait_for(WAIT_LONG) != O_USED)
		return 0xff;
	return peek8(STAT);
}

static void fill(uint8_t seed)
{
	for (unsigned i = 0; i < 512; i++)
		poke8(DATA + i, (uint8_t)(seed + i * 7));
}

static int data_is(uint8_t seed)
{
	for (unsigned i = 0; i < 512; i++)
		if (peek8(DATA + i) != (uint8_t)(seed + i * 7))
			return 0;
	return 1;
}

/* Reset, bring up, and read CHECK_SECTOR back: the device works again. */
static int recovered(void)
{
	if (std_up())
		return 0;
	memset((void *)DATA, 0, 512);
	return request(T_IN, CHECK_SECTOR, 512) == ST_OK && data_is(0x5a) &&
	       !(rd(R_STATUS) & S_NEEDS_RESET);
}

/* ---- descriptor-chain cases: the device must refuse the request ---------- */

struct chain_case {
	const char *name;
	void (*build)(void);
	uint32_t feat_lo;	/* extra features (INDIRECT) */
	uint16_t num;
};

static void c_outside(void) { rw_chain(T_IN, 0, OUTSIDE, 512, D_WRITE); }
static void c_hole(void) { rw_chain(T_IN, 0, VIRTIO_BASE, 512, D_WRITE); }
static void c_lapic(void) { rw_chain(T_IN, 0, 0xfee00000u, 512, D_WRITE); }
static void c_ioapic_out(void) { rw_chain(T_OUT, 0, 0xfec00000u, 512, 0); }
static void c_straddle(void) { rw_chain(T_IN, 0, RAM_END - 256, 512, D_WRITE); }
static void c_above4g(void) { rw_chain(T_IN, 0, 0x100000000ull, 512, D_WRITE); }
static void c_huge(void) { rw_chain(T_IN, 0, DATA, 0xffffffffu, D_WRITE); }
static void c_zero(void) { rw_chain(T_IN, 0, DATA, 0, D_WRITE); }

static void c_loop(void)
{
	header(T_IN, 0);
	set_desc(0, HDR, 16, D_NEXT, 1);
	set_desc(1, DATA, 512, D_WRITE | D_NEXT, 2);
	set_desc(2, STAT, 1, D_WRITE | D_NEXT, 1);
	publish(0);
	wr(R_QUEUE_NOTIFY, 0);
}

static void c_self(void)
{
	header(T_IN, 0);
	set_desc(0, HDR, 16, D_NEXT, 0);
	publish(0);
	wr(R_QUEUE_NOTIFY, 0);
}

static void c_next_oob(void)
{
	header(T_IN, 0);
	set_desc(0, HDR, 16, D_NEXT, 200);
	publish(0);
	wr(R_QUEUE_NOTIFY, 0);
}

static void c_head_oob(void)
{
	header(T_IN, 0);
	publish(100);
	wr(R_QUEUE_NOTIFY, 0);
}

static void c_avail_jump(void)
{
	header(T_IN, 0);
	set_desc(0, HDR, 16, D_NEXT, 1);
	set_desc(1, DATA, 512, D_WRITE | D_NEXT, 2);
	set_desc(2, STAT, 1, D_WRITE, 0);
	avail()[2] = 0;
	avail_idx += 1000;
	avail()[1] = avail_idx;
	wr(R_QUEUE_NOTIFY, 0);
}

static void c_read_after_write(void)
{
	header(T_IN, 0);
	set_desc(0, HDR, 16, D_NEXT, 1);
	set_desc(1, STAT, 1, D_WRITE | D_NEXT, 2);
	set_desc(2, DATA, 512, D_NEXT, 3);
	set_desc(3, STAT, 1, D_WRITE, 0);
	publish(0);
	wr(R_QUEUE_NOTIFY, 0);
}

static void c_no_status(void)
{
	header(T_IN, 0);
	set_desc(0, HDR, 16, 0, 0);
	publish(0);
	wr(R_QUEUE_NOTIFY, 0);
}

static void c_too_long(void)
{
	/* 200 segments: past seg_max (126) and the device's iovec array. */
	header(T_IN, 0);
	set_desc(0, HDR, 16, D_NEXT, 1);
	for (unsigned i = 1; i < 200; i++)
		set_desc(i, DATA + (i - 1) * 512, 512, D_WRITE | D_NEXT, i + 1);
	set_desc(200, STAT, 1, D_WRITE, 0);
	publish(0);
	wr(R_QUEUE_NOTIFY, 0);
}

static void ind_head_flags(uint64_t addr, uint32_t len, uint16_t flags)
{
	header(T_IN, 0);
	set_desc(0, addr, len, flags, 1);
	publish(0);
	wr(R_QUEUE_NOTIFY, 0);
}

static void ind_head(uint64_t addr, uint32_t len)
{
	ind_head_flags(addr, len, D_INDIRECT);
}

/* A well-formed 3-entry indirect table at IND. */
static void ind_table(void)
{
	set_ind(0, HDR, 16, D_NEXT, 1);
	set_ind(1, DATA, 512, D_WRITE | D_NEXT, 2);
	set_ind(2, STAT, 1, D_WRITE, 0);
}

static void c_ind_loop(void)
{
	ind_table();
	set_ind(2, STAT, 1, D_WRITE | D_NEXT, 0);
	ind_head(IND, 48);
}

static void c_ind_nested(void)
{
	set_ind(0, IND + 0x100, 48, D_INDIRECT, 0);
	set_ind(16, HDR, 16, D_NEXT, 1);
	set_ind(17, DATA, 512, D_WRITE | D_NEXT, 2);
	set_ind(18, STAT, 1, D_WRITE, 0);
	ind_head(IND, 16);
}

static void c_ind_valid(void) { ind_table(); ind_head(IND, 48); }
static void c_ind_outside(void) { ind_head(OUTSIDE, 48); }
static void c_ind_hole(void) { ind_head(VIRTIO_BASE, 48); }
static void c_ind_huge(void) { ind_table(); ind_head(IND, 0xfffffff0u); }
static void c_ind_odd(void) { ind_table(); ind_head(IND, 20); }
static void c_ind_empty(void) { ind_table(); ind_head(IND, 0); }
/* An indirect descriptor with NEXT set is forbidden (2.7.5.3.1). */
static void c_ind_chained(void) { ind_table(); ind_head_flags(IND, 48, D_INDIRECT | D_NEXT); }

static const struct chain_case chain_cases[] = {
	{ "data descriptor outside RAM", c_outside, 0, 8 },
	{ "data descriptor in the MMIO hole (virtio window)", c_hole, 0, 8 },
	{ "data descriptor on the local APIC page", c_lapic, 0, 8 },
	{ "write request from the IOAPIC page", c_ioapic_out, 0, 8 },
	{ "data descriptor straddling the end of RAM", c_straddle, 0, 8 },
	{ "data descriptor above 4 GiB (no RAM there)", c_above4g, 0, 8 },
	{ "descriptor length 0xffffffff", c_huge, 0, 8 },
	{ "zero-length descriptor", c_zero, 0, 8 },
	{ "descriptor loop (2 -> 1)", c_loop, 0, 8 },
	{ "descriptor chained to itself", c_self, 0, 8 },
	{ "next index beyond the queue size", c_next_oob, 0, 8 },
	{ "head index beyond the queue size", c_head_oob, 0, 8 },
	{ "avail index 1000 ahead of the ring", c_avail_jump, 0, 8 },
	{ "device-readable after device-writable", c_read_after_write, 0, 8 },
	{ "request without a status byte", c_no_status, 0, 8 },
	{ "chain of 201 descriptors", c_too_long, 0, 256 },
	{ "indirect descriptor without the feature", c_ind_valid, 0, 8 },
	{ "indirect table with a loop", c_ind_loop, 1u << F_INDIRECT, 8 },
	{ "nested indirect table", c_ind_nested, 1u << F_INDIRECT, 8 },
	{ "indirect table outside RAM", c_ind_outside, 1u << F_INDIRECT, 8 },
	{ "indirect table in the MMIO hole", c_ind_hole, 1u << F_INDIRECT, 8 },
	{ "indirect table of length 0xfffffff0", c_ind_huge, 1u << F_INDIRECT, 8 },
	{ "indirect table of length 20", c_ind_odd, 1u << F_INDIRECT, 8 },
	{ "indirect table of length 0", c_ind_empty, 1u << F_INDIRECT, 8 },
	{ "indirect descriptor with NEXT", c_ind_chained, 1u << F_INDIRECT, 8 },
};

static void run_chain_case(const struct chain_case *c)
{
	enum outcome o;
	int ok;

	if (bring_up(c->feat_lo, F_HI_VERSION_1, c->num)) {
		check(0, "%s: bring-up refused", c->name);
		return;
	}
	c->build();
	o = wait_for(WAIT_LONG);
	ok = o == O_NEEDS_RESET ||
	     (o == O_USED && (peek8(STAT) == ST_IOERR || peek8(STAT) == ST_UNSUPP));
	check(ok, "%s: refused", c->name);
	if (!ok)
		printf("    outcome %d, status byte 0x%x, status 0x%x\n", o, peek8(STAT),
		       rd(R_STATUS));
	check(recovered(), "%s: device works after reset", c->name);
}

/* ---- requests the device must fail with a status byte ---------------------- */

static void status_cases(void)
{
	static const struct {
		const char *name;
		uint32_t type, len;
		uint64_t sector;
		uint8_t want;
	} r[] = {
		{ "read past the end of the disk", T_IN, 512, DISK_SECTORS, ST_IOERR },
		{ "read straddling the end of the disk", T_IN, 1024, DISK_SECTORS - 1, ST_IOERR },
		{ "read at sector 2^64-1", T_IN, 512, ~0ull, ST_IOERR },
		{ "read of 100 bytes", T_IN, 100, 0, ST_IOERR },
		{ "write at sector 2^63", T_OUT, 512, 1ull << 63, ST_IOERR },
		{ "unknown request type 0x1234", 0x1234, 512, 0, ST_UNSUPP },
		{ "discard without the feature", T_DISCARD, 16, 0, ST_UNSUPP },
	};

	for (unsigned i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
		int st;

		if (std_up()) {
			check(0, "%s: bring-up refused", r[i].name);
			continue;
		}
		st = request(r[i].type, r[i].sector, r[i].len);
		check(st == r[i].want, "%s: status %s", r[i].name,
		      r[i].want == ST_IOERR ? "IOERR" : "UNSUPP");
		if (st != r[i].want)
			printf("    got 0x%x\n", st);
		check(!(rd(R_STATUS) & S_NEEDS_RESET), "%s: device stays live", r[i].name);
	}
	check(recovered(), "status-byte cases: device works after reset");
}

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
	static const uint32_t ro[] = { R_MAGIC, R_VERSION, R_DEVICE_ID, R_VENDOR, R_DEV_FEAT,
				       R_QUEUE_NUM_MAX, R_INT_STATUS, R_CONFIG_GEN };
	uint32_t before[sizeof(ro) / sizeof(ro[0])];
	int same = 1;

	std_up();
	for (unsigned i = 0; i < sizeof(ro) / sizeof(ro[0]); i++)
		before[i] = rd(ro[i]);
	for (unsigned i = 0; i < sizeof(ro) / sizeof(ro[0]); i++)
		wr(ro[i], ~before[i]);
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

static uintptr_t find_blk(void)
{
	for (unsigned n = 0; n < VIRTIO_SLOTS; n++) {
		uintptr_t b = VIRTIO_BASE + n * 0x1000u;

		if (peek32(b + R_MAGIC) == MAGIC && peek32(b + R_VERSION) == 2 &&
		    peek32(b + R_DEVICE_ID) == 2)
			return b;
	}
	return 0;
}

int fw_main(uint32_t magic, const struct multiboot_info *mb)
{
	(void)magic;
	(void)mb;
	/* MMX for 8-byte accesses: EM=0 TS=0 MP=1. */
	write_cr0((read_cr0() & ~(1u << 2 | 1u << 3)) | 1u << 1);
	printf("hostile: a virtio-blk driver that breaks the rules\n");
	base = find_blk();
	if (!check(base != 0, "virtio-blk found by probing the virtio-mmio windows"))
		return fw_summary();
	/* Put a known pattern on the disk: every recovery reads it back. */
	if (!check(std_up() == 0, "normal bring-up"))
		return fw_summary();
	fill(0x5a);
	check(request(T_OUT, CHECK_SECTOR, 512) == ST_OK, "write a pattern to sector %u",
	      CHECK_SECTOR);
	check(recovered(), "read the pattern back");

	for (unsigned i = 0; i < sizeof(chain_cases) / sizeof(chain_cases[0]); i++)
		run_chain_case(&chain_cases[i]);
	status_cases();
	queue_cases();
	notify_cases();
	feature_cases();
	register_cases();
	config_cases();
	dev_reset();
	return fw_summary();
}
