/*
 * A hostile virtio-blk driver, part 1: descriptor chains and requests.
 * Finds the virtio-mmio block device (mvm puts the windows at 0xd0000000 +
 * n * 0x1000) and breaks the split-ring rules every way we could think of:
 * descriptors outside RAM, into the MMIO hole and onto the APIC pages,
 * loops, huge and zero lengths, bad indirect tables, out-of-range indices,
 * then requests the device must fail with a status byte.
 *
 * After each case the device must have refused (status byte IOERR/UNSUPP,
 * or DEVICE_NEEDS_RESET in the status register); then the driver resets it
 * and a normal read must work again.  That this program keeps printing is
 * the proof mvm survived.  Lines depend only on outcomes, never on timing.
 * Part 2 (registers, queues, features, config space) is hostile_mmio.c.
 */
#include "hostile_drv.h"

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

int fw_main(uint32_t magic, const struct multiboot_info *mb)
{
	(void)magic;
	(void)mb;
	if (hostile_start("hostile: a virtio-blk driver that breaks the ring rules"))
		return fw_summary();
	for (unsigned i = 0; i < sizeof(chain_cases) / sizeof(chain_cases[0]); i++)
		run_chain_case(&chain_cases[i]);
	status_cases();
	dev_reset();
	return fw_summary();
}
