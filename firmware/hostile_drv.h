/*
 * The shared half of the hostile virtio-blk guests (hostile.c: descriptor
 * chains and request status; hostile_mmio.c: the register file, queues,
 * features and config space): register map, a minimal split-ring driver
 * with its rings at fixed addresses, and the "device works after reset"
 * check every case ends with.  Run with `-d` on a zeroed 1 MiB image
 * (tests/firmware/<prog>.mvm-args).
 */
#ifndef HOSTILE_DRV_H
#define HOSTILE_DRV_H

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

#define WAIT_LONG	100000000u	/* ends early: only a broken device waits it out */
#define WAIT_SHORT	200000u		/* "nothing happens" cases */

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

static uintptr_t base __attribute__((unused));
static uint16_t qnum __attribute__((unused)), avail_idx __attribute__((unused)),
	used_seen __attribute__((unused));

static inline uint32_t rd(uint32_t off) { return peek32(base + off); }
static inline void wr(uint32_t off, uint32_t v) { poke32(base + off, v); }

static inline volatile struct desc *descs(void) { return (volatile struct desc *)RING; }
static inline volatile uint16_t *avail(void) { return (volatile uint16_t *)(RING + 0x1000); }
static inline volatile uint16_t *used(void) { return (volatile uint16_t *)(RING + 0x2000); }

static inline void mmx_read64(uintptr_t a, uint64_t *v)
{
	__asm__ volatile("movq (%0), %%mm0\n\tmovq %%mm0, (%1)\n\temms" :: "r"(a), "r"(v) : "memory");
}

static inline void mmx_write64(uintptr_t a, const uint64_t *v)
{
	__asm__ volatile("movq (%1), %%mm0\n\tmovq %%mm0, (%0)\n\temms" :: "r"(a), "r"(v) : "memory");
}

static inline void set_desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	volatile struct desc *d = &descs()[i];

	d->addr = addr;
	d->len = len;
	d->flags = flags;
	d->next = next;
}

static inline void set_ind(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	volatile struct desc *d = &((volatile struct desc *)IND)[i];

	d->addr = addr;
	d->len = len;
	d->flags = flags;
	d->next = next;
}

static inline void publish(uint16_t head)
{
	avail()[2 + avail_idx % (qnum ? qnum : 1)] = head;
	avail_idx++;
	__asm__ volatile("" ::: "memory");
	avail()[1] = avail_idx;
}

static inline void dev_reset(void)
{
	wr(R_STATUS, 0);
	memset((void *)RING, 0, 0x3000);
	avail_idx = used_seen = 0;
}

/* Bring-up per virtio 3.1.1; 0 when the device accepted it. */
static inline int bring_up(uint32_t feat_lo, uint32_t feat_hi, uint16_t num)
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

static inline int std_up(void)
{
	return bring_up(0, F_HI_VERSION_1, 8);
}

enum outcome { O_NONE, O_USED, O_NEEDS_RESET };

static inline enum outcome wait_for(uint32_t limit)
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

static inline void header(uint32_t type, uint64_t sector)
{
	volatile uint32_t *h = (volatile uint32_t *)HDR;

	h[0] = type;
	h[1] = 0;
	h[2] = (uint32_t)sector;
	h[3] = (uint32_t)(sector >> 32);
	poke8(STAT, 0xee);
}

/* header -> data (@len at @addr, @dflags) -> status; head 0, descriptors 0-2. */
static inline void rw_chain(uint32_t type, uint64_t sector, uint64_t addr, uint32_t len, uint16_t dflags)
{
	header(type, sector);
	set_desc(0, HDR, 16, D_NEXT, 1);
	set_desc(1, addr, len, dflags | D_NEXT, 2);
	set_desc(2, STAT, 1, D_WRITE, 0);
	publish(0);
	wr(R_QUEUE_NOTIFY, 0);
}

/* One request on a healthy device: status byte, or 0xff when none came back. */
static inline int request(uint32_t type, uint64_t sector, uint32_t len)
{
	rw_chain(type, sector, DATA, len, type == T_IN ? D_WRITE : 0);
	if (wait_for(WAIT_LONG) != O_USED)
		return 0xff;
	return peek8(STAT);
}

static inline void fill(uint8_t seed)
{
	for (unsigned i = 0; i < 512; i++)
		poke8(DATA + i, (uint8_t)(seed + i * 7));
}

static inline int data_is(uint8_t seed)
{
	for (unsigned i = 0; i < 512; i++)
		if (peek8(DATA + i) != (uint8_t)(seed + i * 7))
			return 0;
	return 1;
}

/* Reset, bring up, and read CHECK_SECTOR back: the device works again. */
static inline int recovered(void)
{
	if (std_up())
		return 0;
	memset((void *)DATA, 0, 512);
	return request(T_IN, CHECK_SECTOR, 512) == ST_OK && data_is(0x5a) &&
	       !(rd(R_STATUS) & S_NEEDS_RESET);
}

static inline void ind_head_flags(uint64_t addr, uint32_t len, uint16_t flags)
{
	header(T_IN, 0);
	set_desc(0, addr, len, flags, 1);
	publish(0);
	wr(R_QUEUE_NOTIFY, 0);
}

static inline void ind_head(uint64_t addr, uint32_t len)
{
	ind_head_flags(addr, len, D_INDIRECT);
}

/* A well-formed 3-entry indirect table at IND. */
static inline void ind_table(void)
{
	set_ind(0, HDR, 16, D_NEXT, 1);
	set_ind(1, DATA, 512, D_WRITE | D_NEXT, 2);
	set_ind(2, STAT, 1, D_WRITE, 0);
}

static inline uintptr_t find_blk(void)
{
	for (unsigned n = 0; n < VIRTIO_SLOTS; n++) {
		uintptr_t b = VIRTIO_BASE + n * 0x1000u;

		if (peek32(b + R_MAGIC) == MAGIC && peek32(b + R_VERSION) == 2 &&
		    peek32(b + R_DEVICE_ID) == 2)
			return b;
	}
	return 0;
}


/*
 * Common start: MMX on (8-byte accesses), find the device, bring it up and
 * put a known pattern on CHECK_SECTOR that every recovery reads back.
 * 0 when the device is usable.
 */
static inline int hostile_start(const char *title)
{
	/* EM=0 TS=0 MP=1 */
	write_cr0((read_cr0() & ~(1u << 2 | 1u << 3)) | 1u << 1);
	printf("%s\n", title);
	base = find_blk();
	if (!check(base != 0, "virtio-blk found by probing the virtio-mmio windows"))
		return -1;
	if (!check(std_up() == 0, "normal bring-up"))
		return -1;
	fill(0x5a);
	check(request(T_OUT, CHECK_SECTOR, 512) == ST_OK, "write a pattern to sector %u",
	      CHECK_SECTOR);
	return check(recovered(), "read the pattern back") ? 0 : -1;
}

#endif
