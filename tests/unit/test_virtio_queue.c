/* Split virtqueue parsing over a fake 16 MiB guest: good chains and hostile ones. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "test_virtio_util.h"

#define NUM 16

struct fx {
	struct guest_mem m;
	struct tv_ring r;
	struct virtio_queue q;
	struct iovec iov[8];
	struct virtio_chain c;
};

static int setup_common(void **state, bool event_idx, bool indirect)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(mem__init(&f->m, TV_MEM), 0);
	tv_ring_init(&f->r, &f->m, 0, NUM);
	f->q.num = NUM;
	f->q.desc_gpa = f->r.desc;
	f->q.avail_gpa = f->r.avail;
	f->q.used_gpa = f->r.used;
	assert_int_equal(virtio__queue_setup(&f->q, &f->m, event_idx, indirect), 0);
	f->c = (struct virtio_chain){ .iov = f->iov, .max_iov = ARRAY_SIZE(f->iov) };
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_common(state, false, true);
}

static int setup_evidx(void **state)
{
	return setup_common(state, true, true);
}

static int setup_noind(void **state)
{
	return setup_common(state, false, false);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	mem__exit(&f->m);
	free(f);
	return 0;
}

static void test_normal_chain(void **state)
{
	struct fx *f = *state;
	uint32_t id, len;

	assert_int_equal(virtio__queue_pop(&f->q, &f->c), 0);	/* empty */
	tv_desc(&f->r, 3, TV_DATA, 16, VRING_DESC_F_NEXT, 7);
	tv_desc(&f->r, 7, TV_DATA + 0x1000, 512, VRING_DESC_F_NEXT, 1);
	tv_desc(&f->r, 1, TV_DATA + 0x2000, 1, VRING_DESC_F_WRITE, 0);
	tv_publish(&f->r, 3);
	assert_true(virtio__queue_has_avail(&f->q));
	assert_int_equal(virtio__queue_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.head, 3);
	assert_int_equal(f->c.nr_out, 2);
	assert_int_equal(f->c.nr_in, 1);
	assert_int_equal(f->c.out_len, 528);
	assert_int_equal(f->c.in_len, 1);
	assert_ptr_equal(f->c.iov[1].iov_base, mem__gpa_to_hva(&f->m, TV_DATA + 0x1000, 1));
	assert_ptr_equal(f->c.iov[2].iov_base, mem__gpa_to_hva(&f->m, TV_DATA + 0x2000, 1));
	assert_false(virtio__queue_has_avail(&f->q));

	virtio__queue_push(&f->q, f->c.head, 1);
	assert_true(tv_get_used(&f->r, &id, &len));
	assert_int_equal(id, 3);
	assert_int_equal(len, 1);
	assert_true(virtio__queue_need_irq(&f->q));
	/* Nothing new pushed: no interrupt. */
	assert_false(virtio__queue_need_irq(&f->q));
	/* Driver suppresses interrupts. */
	tv_avail(&f->r)->flags = VRING_AVAIL_F_NO_INTERRUPT;
	tv_publish(&f->r, 3);
	assert_int_equal(virtio__queue_pop(&f->q, &f->c), 1);
	virtio__queue_push(&f->q, f->c.head, 0);
	assert_false(virtio__queue_need_irq(&f->q));
}

static void test_indirect(void **state)
{
	struct fx *f = *state;
	uint64_t table = TV_DATA + 0x8000;
	struct vring_desc *t = tv_hva(&f->m, table, 3 * 16);

	t[0] = (struct vring_desc){ TV_DATA, 16, VRING_DESC_F_NEXT, 2 };
	t[2] = (struct vring_desc){ TV_DATA + 0x1000, 4096, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1 };
	t[1] = (struct vring_desc){ TV_DATA + 0x3000, 1, VRING_DESC_F_WRITE, 0 };
	tv_desc(&f->r, 5, table, 3 * 16, VRING_DESC_F_INDIRECT, 0);
	tv_publish(&f->r, 5);
	assert_int_equal(virtio__queue_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.head, 5);
	assert_int_equal(f->c.nr_out, 1);
	assert_int_equal(f->c.nr_in, 2);
	assert_int_equal(f->c.in_len, 4097);
	assert_ptr_equal(f->c.iov[2].iov_base, mem__gpa_to_hva(&f->m, TV_DATA + 0x3000, 1));
}

static void test_indirect_not_negotiated(void **state)
{
	struct fx *f = *state;
	struct vring_desc *t = tv_hva(&f->m, TV_DATA + 0x8000, 16);

	t[0] = (struct vring_desc){ TV_DATA, 16, 0, 0 };
	tv_desc(&f->r, 0, TV_DATA + 0x8000, 16, VRING_DESC_F_INDIRECT, 0);
	tv_publish(&f->r, 0);
	assert_int_equal(virtio__queue_pop(&f->q, &f->c), -EINVAL);
}

static void test_event_idx(void **state)
{
	struct fx *f = *state;
	struct vring_avail *a = tv_avail(&f->r);
	struct vring_used *u = tv_used(&f->r);
	uint16_t *avail_event = (uint16_t *)&u->ring[NUM];
	uint16_t *used_event = &a->ring[NUM];

	*avail_event = 0xabcd;
	assert_int_equal(virtio__queue_pop(&f->q, &f->c), 0);
	/* Empty ring: the device asks to be kicked at the next index. */
	assert_int_equal(*avail_event, 0);
	tv_desc(&f->r, 0, TV_DATA, 64, VRING_DESC_F_WRITE, 0);
	for (int i = 0; i < 3; i++)
		tv_publish(&f->r, 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(virtio__queue_pop(&f->q, &f->c), 1);
	assert_int_equal(virtio__queue_pop(&f->q, &f->c), 0);
	assert_int_equal(*avail_event, 3);

	*used_event = 0;
	virtio__queue_push(&f->q, 0, 1);
	assert_true(virtio__queue_need_irq(&f->q));	/* first signal always goes */
	virtio__queue_push(&f->q, 0, 1);
	assert_false(virtio__queue_need_irq(&f->q));	/* used_event 0 already passed */
	*used_event = 2;
	virtio__queue_push(&f->q, 0, 1);
	assert_true(virtio__queue_need_irq(&f->q));	/* crossed used_event 2 */
}

/* Publish a one-descriptor chain with the given fields and pop it. */
static int pop_one(struct fx *f, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	tv_desc(&f->r, 0, addr, len, flags, next);
	tv_publish(&f->r, 0);
	return virtio__queue_pop(&f->q, &f->c);
}

static void test_bad_addresses(void **state)
{
	struct fx *f = *state;

	assert_int_equal(pop_one(f, TV_MEM, 16, 0, 0), -EFAULT);		/* past RAM */
	assert_int_equal(pop_one(f, TV_MEM - 8, 16, 0, 0), -EFAULT);		/* straddles end */
	assert_int_equal(pop_one(f, MMIO_VIRTIO_BASE, 16, 0, 0), -EFAULT);	/* MMIO hole */
	assert_int_equal(pop_one(f, MEM_HOLE_START - 4, 16, 0, 0), -EFAULT);
	assert_int_equal(pop_one(f, 0xfffffffffffff000ULL, 0x2000, 0, 0), -EFAULT); /* wraps */
	assert_int_equal(pop_one(f, TV_DATA, 0xffffffffU, 0, 0), -EFAULT);	/* huge */
	assert_int_equal(pop_one(f, TV_DATA, 0, 0, 0), -EINVAL);		/* zero length */
	assert_int_equal(pop_one(f, TV_DATA, 16, VRING_DESC_F_NEXT, NUM), -EINVAL); /* next OOB */
	/* Sanity: a good one still works after all that. */
	assert_int_equal(pop_one(f, TV_DATA, 16, 0, 0), 1);
}

static void test_bad_indices(void **state)
{
	struct fx *f = *state;
	struct vring_avail *a = tv_avail(&f->r);

	tv_desc(&f->r, 0, TV_DATA, 16, 0, 0);
	tv_publish(&f->r, NUM);		/* head out of range */
	assert_int_equal(virtio__queue_pop(&f->q, &f->c), -EINVAL);

	/* avail->idx claims more entries than the ring holds. */
	a->idx = f->q.last_avail + NUM + 1;
	assert_int_equal(virtio__queue_pop(&f->q, &f->c), -EINVAL);
}

static void test_loop(void **state)
{
	struct fx *f = *state;

	tv_desc(&f->r, 0, TV_DATA, 16, VRING_DESC_F_NEXT, 1);
	tv_desc(&f->r, 1, TV_DATA, 16, VRING_DESC_F_NEXT, 0);
	tv_publish(&f->r, 0);
	f->c.max_iov = 0xffff;	/* only the loop bound may stop it */
	struct iovec big[NUM + 1];
	f->c.iov = big;
	f->c.max_iov = ARRAY_SIZE(big);
	assert_int_equal(virtio__queue_pop(&f->q, &f->c), -EINVAL);

	/* Self loop. */
	tv_desc(&f->r, 2, TV_DATA, 16, VRING_DESC_F_NEXT, 2);
	tv_publish(&f->r, 2);
	assert_int_equal(virtio__queue_pop(&f->q, &f->c), -EINVAL);
}

static void test_too_many_and_direction(void **state)
{
	struct fx *f = *state;

	for (int i = 0; i < 9; i++)
		tv_desc(&f->r, i, TV_DATA + i * 64, 64, VRING_DESC_F_NEXT, i + 1);
	tv_desc(&f->r, 9, TV_DATA, 1, 0, 0);
	tv_publish(&f->r, 0);
	assert_int_equal(virtio__queue_pop(&f->q, &f->c), -E2BIG);	/* 10 > max_iov 8 */

	/* Device-readable after device-writable. */
	tv_desc(&f->r, 0, TV_DATA, 16, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	tv_desc(&f->r, 1, TV_DATA, 16, 0, 0);
	tv_publish(&f->r, 0);
	assert_int_equal(virtio__queue_pop(&f->q, &f->c), -EINVAL);
}

static void test_bad_indirect(void **state)
{
	struct fx *f = *state;
	uint64_t tg = TV_DATA + 0x8000, tg2 = TV_DATA + 0x9000;
	struct vring_desc *t = tv_hva(&f->m, tg, 4 * 16);
	struct vring_desc *t2 = tv_hva(&f->m, tg2, 16);

	/* Indirect inside indirect. */
	t2[0] = (struct vring_desc){ TV_DATA, 16, 0, 0 };
	t[0] = (struct vring_desc){ tg2, 16, VRING_DESC_F_INDIRECT, 0 };
	assert_int_equal(pop_one(f, tg, 16, VRING_DESC_F_INDIRECT, 0), -EINVAL);
	/* INDIRECT together with NEXT. */
	t[0] = (struct vring_desc){ TV_DATA, 16, 0, 0 };
	assert_int_equal(pop_one(f, tg, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1), -EINVAL);
	/* Table length not a multiple of 16, zero, or outside RAM / in the hole. */
	assert_int_equal(pop_one(f, tg, 24, VRING_DESC_F_INDIRECT, 0), -EINVAL);
	assert_int_equal(pop_one(f, tg, 0, VRING_DESC_F_INDIRECT, 0), -EINVAL);
	assert_int_equal(pop_one(f, TV_MEM - 16, 32, VRING_DESC_F_INDIRECT, 0), -EFAULT);
	assert_int_equal(pop_one(f, MMIO_VIRTIO_BASE, 16, VRING_DESC_F_INDIRECT, 0), -EFAULT);
	/* Loop inside the table, and next beyond the table's length. */
	t[0] = (struct vring_desc){ TV_DATA, 16, VRING_DESC_F_NEXT, 1 };
	t[1] = (struct vring_desc){ TV_DATA, 16, VRING_DESC_F_NEXT, 0 };
	assert_int_equal(pop_one(f, tg, 2 * 16, VRING_DESC_F_INDIRECT, 0), -EINVAL);
	t[1] = (struct vring_desc){ TV_DATA, 16, VRING_DESC_F_NEXT, 2 };
	assert_int_equal(pop_one(f, tg, 2 * 16, VRING_DESC_F_INDIRECT, 0), -EINVAL);
	/* Entry of the table outside RAM. */
	t[0] = (struct vring_desc){ TV_MEM, 16, 0, 0 };
	assert_int_equal(pop_one(f, tg, 16, VRING_DESC_F_INDIRECT, 0), -EFAULT);
	/* Indirect after a direct descriptor. */
	tv_desc(&f->r, 0, TV_DATA, 16, VRING_DESC_F_NEXT, 1);
	tv_desc(&f->r, 1, tg, 16, VRING_DESC_F_INDIRECT, 0);
	tv_publish(&f->r, 0);
	assert_int_equal(virtio__queue_pop(&f->q, &f->c), -EINVAL);
}

static void test_setup_rejects(void **state)
{
	struct fx *f = *state;
	struct virtio_queue q = { .num = NUM, .desc_gpa = TV_MEM - 16, .avail_gpa = f->r.avail,
				  .used_gpa = f->r.used };

	assert_int_equal(virtio__queue_setup(&q, &f->m, false, false), -EFAULT);
	q.desc_gpa = MMIO_VIRTIO_BASE;
	assert_int_equal(virtio__queue_setup(&q, &f->m, false, false), -EFAULT);
	q.desc_gpa = f->r.desc + 8;				/* misaligned */
	assert_int_equal(virtio__queue_setup(&q, &f->m, false, false), -EINVAL);
	q.desc_gpa = f->r.desc;
	q.used_gpa = TV_MEM - 8;				/* used ring past RAM */
	assert_int_equal(virtio__queue_setup(&q, &f->m, false, false), -EFAULT);
	q.used_gpa = f->r.used;
	q.num = 12;						/* not a power of 2 */
	assert_int_equal(virtio__queue_setup(&q, &f->m, false, false), -EINVAL);
	q.num = 512;						/* above QueueNumMax */
	assert_int_equal(virtio__queue_setup(&q, &f->m, false, false), -EINVAL);
	q.num = 0;
	assert_int_equal(virtio__queue_setup(&q, &f->m, false, false), -EINVAL);
	q.num = NUM;
	assert_int_equal(virtio__queue_setup(&q, &f->m, false, false), 0);
}

static void test_unpop_and_iov(void **state)
{
	struct fx *f = *state;
	uint8_t *buf = tv_hva(&f->m, TV_DATA, 64), out[8];
	struct iovec dst[4];

	tv_desc(&f->r, 0, TV_DATA, 4, VRING_DESC_F_NEXT, 1);
	tv_desc(&f->r, 1, TV_DATA + 4, 4, VRING_DESC_F_NEXT, 2);
	tv_desc(&f->r, 2, TV_DATA + 8, 4, 0, 0);
	tv_publish(&f->r, 0);
	assert_int_equal(virtio__queue_pop(&f->q, &f->c), 1);
	virtio__queue_unpop(&f->q, 1);
	assert_int_equal(virtio__queue_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.head, 0);

	memcpy(buf, "abcdefghijkl", 12);
	assert_int_equal(virtio__iov_to_buf(f->c.iov, f->c.nr_out, 3, out, 6), 6);
	assert_memory_equal(out, "defghi", 6);
	assert_int_equal(virtio__iov_to_buf(f->c.iov, f->c.nr_out, 10, out, 6), 2);
	assert_int_equal(virtio__buf_to_iov(f->c.iov, f->c.nr_out, 2, "XYZW", 4), 4);
	assert_memory_equal(buf, "abXYZWghijkl", 12);
	assert_int_equal(virtio__iov_slice(f->c.iov, 3, 2, 8, dst, 4), 3);
	assert_int_equal(dst[0].iov_len, 2);
	assert_int_equal(dst[2].iov_len, 2);
	assert_int_equal(virtio__iov_slice(f->c.iov, 3, 2, 8, dst, 2), -E2BIG);
	assert_int_equal(virtio__iov_slice(f->c.iov, 3, 2, 20, dst, 4), -EINVAL);
}

/* xorshift64: reproducible garbage. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Addresses a hostile driver would try: RAM, its edges, the hole, above 4 GiB. */
static uint64_t rnd_addr(uint64_t *s)
{
	static const uint64_t base[] = { 0, TV_DATA, TV_MEM - 64, TV_MEM, MMIO_VIRTIO_BASE,
					 MEM_HOLE_START - 16, MEM_HOLE_END, ~0ULL - 4096 };
	return base[rnd(s) % ARRAY_SIZE(base)] + (rnd(s) % 256) - 64;
}

static bool iov_in_ram(const struct guest_mem *m, const struct iovec *v)
{
	const uint8_t *p = v->iov_base, *lo = m->slot[0].hva;

	return p >= lo && v->iov_len <= m->slot[0].size && p - lo <= (ptrdiff_t)(m->slot[0].size - v->iov_len);
}

/*
 * Random descriptor tables, indirect tables and avail rings: pop must never
 * crash and every segment it returns must lie inside guest RAM.
 */
static void test_random_chains(void **state)
{
	struct fx *f = *state;
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	uint64_t table = TV_DATA + 0x8000;
	struct vring_desc *t = tv_hva(&f->m, table, 16 * 16);
	struct vring_avail *a = tv_avail(&f->r);
	int ok = 0, bad = 0;

	for (int iter = 0; iter < 20000; iter++) {
		for (int i = 0; i < NUM; i++) {
			uint16_t fl = rnd(&seed) & 7;
			uint64_t addr = (rnd(&seed) & 3) ? TV_DATA + (rnd(&seed) % 0x10000) : rnd_addr(&seed);
			uint32_t len = (rnd(&seed) & 3) ? rnd(&seed) % 4096 : (uint32_t)rnd(&seed);
			if ((fl & VRING_DESC_F_INDIRECT) && (rnd(&seed) & 1)) {
				addr = table;
				len = 16 * (1 + rnd(&seed) % 16);
			}
			tv_desc(&f->r, i, addr, len, fl, rnd(&seed) % (NUM + 2));
			t[i] = (struct vring_desc){ (rnd(&seed) & 1) ? TV_DATA : rnd_addr(&seed),
						    rnd(&seed) % 8192, rnd(&seed) & 7, rnd(&seed) % 18 };
		}
		a->ring[rnd(&seed) % NUM] = rnd(&seed) % (NUM + 2);
		if (rnd(&seed) % 16 == 0)
			a->idx = rnd(&seed);
		else
			a->idx = f->q.last_avail + 1 + rnd(&seed) % 3;
		int ret = virtio__queue_pop(&f->q, &f->c);
		if (ret == 1) {
			ok++;
			for (unsigned i = 0; i < f->c.nr_out + f->c.nr_in; i++)
				assert_true(iov_in_ram(&f->m, &f->c.iov[i]));
			virtio__queue_push(&f->q, f->c.head, 0);
		} else {
			assert_true(ret == 0 || ret == -EINVAL || ret == -EFAULT || ret == -E2BIG);
			bad++;
			/* The device would need a reset; start over as a driver would. */
			f->q.last_avail = a->idx;
		}
	}
	/* Both outcomes must actually occur, or the generator is broken. */
	assert_true(ok > 100);
	assert_true(bad > 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_normal_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_indirect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_indirect_not_negotiated, setup_noind, teardown),
		cmocka_unit_test_setup_teardown(test_event_idx, setup_evidx, teardown),
		cmocka_unit_test_setup_teardown(test_bad_addresses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_indices, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_many_and_direction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_indirect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_setup_rejects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unpop_and_iov, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_chains, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
