/*
 * Split-virtqueue walking (queue.c) over rings the fuzzer writes into a
 * 16 MiB guest: descriptors outside RAM or into the MMIO hole, loops,
 * indirect tables (nested, looping, misaligned), event idx.  Every chain the
 * queue hands out must describe host memory inside guest RAM only, its
 * lengths must add up, and walking must end (the budget bounds loops).
 *
 * Input: [num log2][flags][desc u64][avail u64][used u64][raw num u16]
 *        [max_iov][pops][ops...][ring bytes copied to RING_GPA...]
 * flags: 1 EVENT_IDX, 2 INDIRECT_DESC, 4 raw ring addresses (else
 * RING_GPA + low 16 bits), 8 raw num.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio/virtio.h"
#include "fuzz_guest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RING_GPA	0x100000ULL
#define RING_WINDOW	0x11000ULL	/* rings + tables the fuzzer controls */

static struct guest_mem mem;
static struct iovec iov[VIRTIO_QUEUE_MAX + 1];
static uint8_t scratch[4096];

static void check_chain(const struct virtio_chain *c, unsigned max_iov)
{
	uint64_t out = 0, in = 0;

	if (c->nr_out + c->nr_in > max_iov)
		abort();
	for (unsigned i = 0; i < c->nr_out + c->nr_in; i++) {
		if (!iov[i].iov_len || !fg_inside(&mem, iov[i].iov_base, iov[i].iov_len))
			abort();
		if (i < c->nr_out)
			out += iov[i].iov_len;
		else
			in += iov[i].iov_len;
	}
	if (out != c->out_len || in != c->in_len)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fg_in in = { data, size };
	struct virtio_queue q;
	struct virtio_chain c = { .iov = iov };
	uint8_t lg, flags, max_iov, pops;
	uint64_t d, a, u;
	uint16_t raw_num;
	int ret;

	if (!mem.nr_slots) {
		util__log_level = LOG_QUIET;
		fg_init(&mem);
	}
	lg = fg_take(&in, 1);
	flags = fg_take(&in, 1);
	d = fg_take(&in, 8);
	a = fg_take(&in, 8);
	u = fg_take(&in, 8);
	raw_num = fg_take(&in, 2);
	max_iov = fg_take(&in, 1);
	pops = fg_take(&in, 1);

	memset(&q, 0, sizeof(q));
	q.num = (flags & 8) ? raw_num : (uint16_t)(1u << (lg % 9));
	if (flags & 4) {
		q.desc_gpa = d;
		q.avail_gpa = a;
		q.used_gpa = u;
	} else {
		q.desc_gpa = RING_GPA + (d & 0xffff);
		q.avail_gpa = RING_GPA + (a & 0xffff);
		q.used_gpa = RING_GPA + (u & 0xffff);
	}
	/* Ops come before the ring bytes so both can grow independently. */
	const uint8_t *ops = in.p;
	size_t nops = MIN(in.n, (size_t)2 * pops);
	in.p += nops;
	in.n -= nops;
	memset(mem__gpa_to_hva(&mem, RING_GPA, RING_WINDOW), 0, RING_WINDOW);
	memcpy(mem__gpa_to_hva(&mem, RING_GPA, RING_WINDOW), in.p, MIN(in.n, RING_WINDOW));

	ret = virtio__queue_setup(&q, &mem, flags & 1, flags & 2);
	if (ret)
		return 0;
	if (!fg_inside(&mem, q.desc, 16ULL * q.num) || !fg_inside(&mem, q.avail, 6 + 2ULL * q.num) ||
	    !fg_inside(&mem, q.used, 6 + 8ULL * q.num))
		abort();
	c.max_iov = max_iov ? max_iov : VIRTIO_QUEUE_MAX + 1;
	for (size_t i = 0; i < nops / 2; i++) {
		uint8_t op = ops[2 * i], arg = ops[2 * i + 1];

		switch (op & 3) {
		case 0:
		case 1:
			(void)virtio__queue_has_avail(&q);
			ret = virtio__queue_pop(&q, &c);
			if (ret < 0)
				return 0;	/* the device would now need a reset */
			if (ret == 0)
				break;
			check_chain(&c, c.max_iov);
			/* Consume like a device: read the readable part, fill the writable one. */
			virtio__iov_to_buf(c.iov, c.nr_out, arg, scratch, sizeof(scratch));
			virtio__buf_to_iov(c.iov + c.nr_out, c.nr_in, arg, scratch, sizeof(scratch));
			if (op & 1) {
				struct iovec sl[8];
				int n = virtio__iov_slice(c.iov, c.nr_out + c.nr_in, arg,
							  (size_t)op << 4, sl, 8);
				for (int k = 0; k < n; k++)
					if (!fg_inside(&mem, sl[k].iov_base, sl[k].iov_len))
						abort();
			}
			virtio__queue_push(&q, c.head, (uint32_t)c.in_len);
			break;
		case 2:
			(void)virtio__queue_need_irq(&q);
			break;
		case 3:
			/* The driver scribbles on the ring between pops. */
			*(uint8_t *)mem__gpa_to_hva(&mem, RING_GPA + (((uint32_t)arg << 8) | op),
						    1) = arg;
			break;
		}
	}
	return 0;
}
