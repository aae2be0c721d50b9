/*
 * Split virtqueues (virtio 1.2 section 2.7).  Every field the driver can
 * write is read once into a local before it is checked, because the guest may
 * change ring memory while we look at it.
 */
#include "virtio.h"

#include <errno.h>
#include <string.h>

#define RING_LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define RING_STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

static bool is_pow2(uint32_t x)
{
	return x && !(x & (x - 1));
}

int virtio__queue_setup(struct virtio_queue *q, const struct guest_mem *m, bool event_idx,
			bool indirect)
{
	uint64_t n = q->num;

	if (!is_pow2(q->num) || q->num > VIRTIO_QUEUE_MAX)
		return -EINVAL;
	if ((q->desc_gpa & 15) || (q->avail_gpa & 1) || (q->used_gpa & 3))
		return -EINVAL;
	/* The event words sit one past each ring; map them too. */
	q->desc = mem__gpa_to_hva(m, q->desc_gpa, 16 * n);
	q->avail = mem__gpa_to_hva(m, q->avail_gpa, 6 + 2 * n);
	q->used = mem__gpa_to_hva(m, q->used_gpa, 6 + 8 * n);
	if (!q->desc || !q->avail || !q->used) {
		q->desc = NULL;
		q->avail = NULL;
		q->used = NULL;
		return -EFAULT;
	}
	q->mem = m;
	q->event_idx = event_idx;
	q->indirect = indirect;
	q->last_avail = 0;
	q->used_idx = 0;
	q->signalled_used = 0;
	q->signalled_valid = false;
	return 0;
}

void virtio__queue_reset(struct virtio_queue *q)
{
	memset(q, 0, sizeof(*q));
}

static uint16_t *used_event(struct virtio_queue *q)
{
	return &q->avail->ring[q->num];
}

static uint16_t *avail_event(struct virtio_queue *q)
{
	return (uint16_t *)&q->used->ring[q->num];
}

bool virtio__queue_has_avail(const struct virtio_queue *q)
{
	if (!q->avail)
		return false;
	return __atomic_load_n(&q->avail->idx, __ATOMIC_ACQUIRE) != q->last_avail;
}

static void read_desc(const struct vring_desc *table, uint32_t i, struct vring_desc *d)
{
	const volatile struct vring_desc *v = &table[i];

	d->addr = v->addr;
	d->len = v->len;
	d->flags = v->flags;
	d->next = v->next;
}

/* Walk the chain at @head; see virtio.h for the rules enforced. */
static int walk_chain(struct virtio_queue *q, uint16_t head, struct virtio_chain *c)
{
	const struct vring_desc *table = q->desc;
	uint32_t size = q->num, budget = q->num, idx = head;
	bool in_indirect = false;
	struct vring_desc d;

	c->head = head;
	c->nr_out = c->nr_in = 0;
	c->out_len = c->in_len = 0;
	for (;;) {
		read_desc(table, idx, &d);
		if (d.flags & VRING_DESC_F_INDIRECT) {
			/* Only a lone head may point at a table, and tables do not nest. */
			if (!q->indirect || in_indirect || idx != head ||
			    (d.flags & VRING_DESC_F_NEXT))
				return -EINVAL;
			if (!d.len || d.len % sizeof(struct vring_desc))
				return -EINVAL;
			table = mem__gpa_to_hva(q->mem, d.addr, d.len);
			if (!table)
				return -EFAULT;
			/* Drivers allocate tables naturally aligned; refuse the rest. */
			if ((uintptr_t)table & 7)
				return -EINVAL;
			size = budget = d.len / sizeof(struct vring_desc);
			idx = 0;
			in_indirect = true;
			continue;
		}
		if (!d.len)
			return -EINVAL;
		void *hva = mem__gpa_to_hva(q->mem, d.addr, d.len);
		if (!hva)
			return -EFAULT;
		if (c->nr_out + c->nr_in >= c->max_iov)
			return -E2BIG;
		if (d.flags & VRING_DESC_F_WRITE) {
			c->nr_in++;
			c->in_len += d.len;
		} else {
			/* Device-readable after device-writable is forbidden (2.7.4.2). */
			if (c->nr_in)
				return -EINVAL;
			c->nr_out++;
			c->out_len += d.len;
		}
		c->iov[c->nr_out + c->nr_in - 1] = (struct iovec){ hva, d.len };
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 1;
		/* A chain can visit each descriptor once; more means a loop. */
		if (--budget == 0)
			return -EINVAL;
		idx = d.next;
		if (idx >= size)
			return -EINVAL;
	}
}

int virtio__queue_pop(struct virtio_queue *q, struct virtio_chain *c)
{
	uint16_t avail_idx, head;

	if (!q->avail)
		return 0;
	avail_idx = __atomic_load_n(&q->avail->idx, __ATOMIC_ACQUIRE);
	if (avail_idx == q->last_avail) {
		if (!q->event_idx)
			return 0;
		/*
		 * Ask for a kick on the next buffer, then look again: the driver
		 * may have added one before it saw the new avail_event.
		 */
		RING_STORE(avail_event(q), q->last_avail);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		avail_idx = __atomic_load_n(&q->avail->idx, __ATOMIC_ACQUIRE);
		if (avail_idx == q->last_avail)
			return 0;
	}
	if ((uint16_t)(avail_idx - q->last_avail) > q->num)
		return -EINVAL;
	head = RING_LOAD(&q->avail->ring[q->last_avail & (q->num - 1)]);
	if (head >= q->num)
		return -EINVAL;
	q->last_avail++;
	return walk_chain(q, head, c);
}

void virtio__queue_unpop(struct virtio_queue *q, uint16_t n)
{
	q->last_avail -= n;
}

void virtio__queue_push(struct virtio_queue *q, uint16_t head, uint32_t len)
{
	struct vring_used_elem *e;

	if (!q->used)
		return;
	e = &q->used->ring[q->used_idx & (q->num - 1)];
	RING_STORE(&e->id, head);
	RING_STORE(&e->len, len);
	mem__note_write(q->mem);	/* the buffers' new contents may be code */
	q->used_idx++;
	__atomic_store_n(&q->used->idx, q->used_idx, __ATOMIC_RELEASE);
}

bool virtio__queue_need_irq(struct virtio_queue *q)
{
	uint16_t old = q->signalled_used, now = q->used_idx;
	bool valid = q->signalled_valid;

	if (!q->used || (valid && old == now))
		return false;
	/* Our used->idx store must be visible before we read the driver's flags. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	q->signalled_used = now;
	q->signalled_valid = true;
	if (!q->event_idx)
		return !(RING_LOAD(&q->avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);
	return !valid || vring_need_event(RING_LOAD(used_event(q)), now, old);
}

/* The walk both copy directions share; only the memcpy's direction differs. */
static size_t iov_copy(const struct iovec *iov, unsigned n, size_t skip, uint8_t *buf,
		       size_t len, bool to_iov)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		size_t k = MIN(iov[i].iov_len - skip, len - done);
		uint8_t *p = (uint8_t *)iov[i].iov_base + skip;
		if (to_iov)
			memcpy(p, buf + done, k);
		else
			memcpy(buf + done, p, k);
		done += k;
		skip = 0;
	}
	return done;
}

size_t virtio__iov_to_buf(const struct iovec *iov, unsigned n, size_t skip, void *buf,
			  size_t len)
{
	return iov_copy(iov, n, skip, buf, len, false);
}

size_t virtio__buf_to_iov(const struct iovec *iov, unsigned n, size_t skip, const void *buf,
			  size_t len)
{
	/* buf is only read in this direction. */
	return iov_copy(iov, n, skip, (uint8_t *)buf, len, true);
}

int virtio__iov_slice(const struct iovec *src, unsigned n, size_t skip, size_t len,
		      struct iovec *dst, unsigned dst_max)
{
	unsigned out = 0;

	for (unsigned i = 0; i < n && len; i++) {
		if (skip >= src[i].iov_len) {
			skip -= src[i].iov_len;
			continue;
		}
		if (out == dst_max)
			return -E2BIG;
		size_t k = MIN(src[i].iov_len - skip, len);
		dst[out++] = (struct iovec){ (uint8_t *)src[i].iov_base + skip, k };
		len -= k;
		skip = 0;
	}
	return len ? -EINVAL : (int)out;
}
