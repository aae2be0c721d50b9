/*
 * virtio-mmio transport, version 2 (virtio 1.2 section 4.2.2).
 */
#include "virtio.h"

#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define TRANSPORT_FEATURES ((1ULL << VIRTIO_F_VERSION_1) | \
			    (1ULL << VIRTIO_RING_F_INDIRECT_DESC) | \
			    (1ULL << VIRTIO_RING_F_EVENT_IDX))

static void notify_fn(void *opaque, uint32_t events)
{
	(void)events;
	virtio__mmio_kick(opaque);
}

int virtio__mmio_init(struct virtio_mmio *t, const struct virtio_dev_ops *ops, void *dev,
		      const struct guest_mem *mem, uint64_t device_features,
		      uint32_t config_len)
{
	int ret;

	if (config_len > VIRTIO_CONFIG_MAX || ops->nr_queues > VIRTIO_MAX_QUEUES)
		return -EINVAL;
	memset(t, 0, sizeof(*t));
	t->ops = ops;
	t->dev = dev;
	t->mem = mem;
	t->device_features = device_features | TRANSPORT_FEATURES;
	t->config_len = config_len;
	t->irq_fd = -1;
	snprintf(t->name, sizeof(t->name), "%s", ops->name);
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->io_idle, NULL);
	t->notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (t->notify_fd < 0) {
		ret = -errno;
		goto err_lock;
	}
	ret = virtio__iothread_init(&t->io, ops->name);
	if (ret)
		goto err_fd;
	t->notify_handler = (struct virtio_io_handler){ notify_fn, t };
	ret = virtio__iothread_add(&t->io, t->notify_fd, EPOLLIN, &t->notify_handler);
	if (ret)
		goto err_io;
	return 0;
err_io:
	virtio__iothread_exit(&t->io);
err_fd:
	close(t->notify_fd);
err_lock:
	pthread_cond_destroy(&t->io_idle);
	pthread_mutex_destroy(&t->lock);
	return ret;
}

void virtio__mmio_exit(struct virtio_mmio *t)
{
	virtio__iothread_exit(&t->io);
	if (t->notify_fd >= 0)
		close(t->notify_fd);
	if (t->irq_fd >= 0)
		close(t->irq_fd);
	t->notify_fd = t->irq_fd = -1;
	pthread_cond_destroy(&t->io_idle);
	pthread_mutex_destroy(&t->lock);
}

bool virtio__mmio_has_feature(const struct virtio_mmio *t, unsigned bit)
{
	return bit < 64 && (t->driver_features >> bit) & 1;
}

bool virtio__mmio_live(const struct virtio_mmio *t)
{
	return (t->status & (VIRTIO_CONFIG_S_DRIVER_OK | VIRTIO_CONFIG_S_NEEDS_RESET)) ==
	       VIRTIO_CONFIG_S_DRIVER_OK;
}

void virtio__mmio_signal(struct virtio_mmio *t, uint32_t isr_bits)
{
	__atomic_or_fetch(&t->isr, isr_bits, __ATOMIC_SEQ_CST);
	if (t->irq)
		t->irq(t);
}

void virtio__mmio_signal_queue(struct virtio_mmio *t, unsigned q)
{
	if (q < t->ops->nr_queues && virtio__queue_need_irq(&t->vq[q]))
		virtio__mmio_signal(t, VIRTIO_MMIO_INT_VRING);
}

void virtio__mmio_config_changed(struct virtio_mmio *t)
{
	t->config_generation++;
	if (t->status & VIRTIO_CONFIG_S_DRIVER_OK)
		virtio__mmio_signal(t, VIRTIO_MMIO_INT_CONFIG);
}

void virtio__mmio_fail(struct virtio_mmio *t, const char *why)
{
	if (t->status & VIRTIO_CONFIG_S_NEEDS_RESET)
		return;
	if (!t->warned)
		pr_warn("virtio %s: guest driver error: %s; device needs reset", t->name, why);
	t->warned = true;
	t->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	if (t->status & VIRTIO_CONFIG_S_DRIVER_OK)
		virtio__mmio_signal(t, VIRTIO_MMIO_INT_CONFIG);
}

void virtio__mmio_kick(struct virtio_mmio *t)
{
	uint64_t v;

	/* Coalesced doorbells: one pass looks at every queue. */
	if (read(t->notify_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&t->lock);
	if (virtio__mmio_live(t) && t->ops->notify)
		t->ops->notify(t);
	pthread_mutex_unlock(&t->lock);
}

static void ring_doorbell(struct virtio_mmio *t)
{
	uint64_t one = 1;

	if (write(t->notify_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_warn("virtio %s: cannot signal the I/O thread: %s", t->name, strerror(errno));
}

static void device_reset(struct virtio_mmio *t)
{
	/* Not live from here on: the I/O thread leaves the queues alone. */
	t->status = 0;
	if (t->ops->reset)
		t->ops->reset(t);
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
		virtio__queue_reset(&t->vq[i]);
	t->driver_features = 0;
	t->dev_feat_sel = t->drv_feat_sel = t->queue_sel = 0;
	t->status = 0;
	/* t->warned survives resets: a guest looping break/reset must not flood stderr. */
	__atomic_store_n(&t->isr, 0, __ATOMIC_SEQ_CST);
}

static struct virtio_queue *sel_queue(struct virtio_mmio *t)
{
	return t->queue_sel < t->ops->nr_queues ? &t->vq[t->queue_sel] : NULL;
}

static uint32_t reg_read(struct virtio_mmio *t, uint64_t off)
{
	struct virtio_queue *q = sel_queue(t);

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return 2;
	case VIRTIO_MMIO_DEVICE_ID:
		return t->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return t->dev_feat_sel < 2 ? (uint32_t)(t->device_features >> (32 * t->dev_feat_sel))
					   : 0;
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return q ? VIRTIO_QUEUE_MAX : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		return q ? q->ready : 0;
	case VIRTIO_MMIO_STATUS:
		return t->status;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
		return q ? (uint32_t)q->desc_gpa : 0;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		return q ? (uint32_t)(q->desc_gpa >> 32) : 0;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
		return q ? (uint32_t)q->avail_gpa : 0;
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
		return q ? (uint32_t)(q->avail_gpa >> 32) : 0;
	case VIRTIO_MMIO_QUEUE_USED_LOW:
		return q ? (uint32_t)q->used_gpa : 0;
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		return q ? (uint32_t)(q->used_gpa >> 32) : 0;
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
		return 0xffffffff;	/* no shared memory regions */
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH:
		return 0xffffffff;
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return t->config_generation;
	default:
		return 0;
	}
}

static void set_lo(uint64_t *r, uint32_t v)
{
	*r = (*r & ~0xffffffffULL) | v;
}

static void set_hi(uint64_t *r, uint32_t v)
{
	*r = (*r & 0xffffffffULL) | (uint64_t)v << 32;
}

static void queue_ready(struct virtio_mmio *t, struct virtio_queue *q, uint32_t v)
{
	if (!v) {
		uint16_t num = q->num;
		uint64_t d = q->desc_gpa, a = q->avail_gpa, u = q->used_gpa;

		virtio__queue_reset(q);
		q->num = num;
		q->desc_gpa = d;
		q->avail_gpa = a;
		q->used_gpa = u;
		return;
	}
	if (q->ready)
		return;
	if (virtio__queue_setup(q, t->mem,
				virtio__mmio_has_feature(t, VIRTIO_RING_F_EVENT_IDX),
				virtio__mmio_has_feature(t, VIRTIO_RING_F_INDIRECT_DESC))) {
		virtio__mmio_fail(t, "queue rings outside RAM, misaligned, or bad size");
		return;
	}
	q->ready = true;
}

static void status_write(struct virtio_mmio *t, uint32_t v)
{
	uint32_t old = t->status, set;

	if (!v) {
		device_reset(t);
		return;
	}
	v &= 0xff & ~VIRTIO_CONFIG_S_NEEDS_RESET;
	if (old & ~v & ~VIRTIO_CONFIG_S_NEEDS_RESET) {
		virtio__mmio_fail(t, "status bits cleared without a reset");
		return;
	}
	set = v & ~old;
	if (set & VIRTIO_CONFIG_S_FEATURES_OK) {
		/* Accept only a subset of what we offered, and only virtio 1.x. */
		if ((t->driver_features & ~t->device_features) ||
		    !virtio__mmio_has_feature(t, VIRTIO_F_VERSION_1))
			v &= ~VIRTIO_CONFIG_S_FEATURES_OK;
	}
	t->status = v | (old & VIRTIO_CONFIG_S_NEEDS_RESET);
	if (set & VIRTIO_CONFIG_S_DRIVER_OK) {
		if (!(v & VIRTIO_CONFIG_S_FEATURES_OK)) {
			virtio__mmio_fail(t, "DRIVER_OK without FEATURES_OK");
			return;
		}
		if (t->ops->activate && t->ops->activate(t)) {
			virtio__mmio_fail(t, "device activation failed");
			return;
		}
		/* Buffers queued before DRIVER_OK were not looked at yet. */
		ring_doorbell(t);
	}
}

static void reg_write(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	struct virtio_queue *q = sel_queue(t);
	/* Queue layout is frozen once the queue is live (4.2.2.3). */
	bool q_writable = q && !q->ready;

	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		t->dev_feat_sel = v;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (t->drv_feat_sel < 2 && !(t->status & VIRTIO_CONFIG_S_FEATURES_OK)) {
			if (t->drv_feat_sel)
				set_hi(&t->driver_features, v);
			else
				set_lo(&t->driver_features, v);
		}
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		t->drv_feat_sel = v;
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		t->queue_sel = v;
		break;
	case VIRTIO_MMIO_QUEUE_NUM:
		if (q_writable)
			q->num = v > 0xffff ? 0 : (uint16_t)v;	/* checked at QueueReady */
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		if (q)
			queue_ready(t, q, v);
		break;
	case VIRTIO_MMIO_STATUS:
		status_write(t, v);
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
		if (q_writable)
			set_lo(&q->desc_gpa, v);
		break;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		if (q_writable)
			set_hi(&q->desc_gpa, v);
		break;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
		if (q_writable)
			set_lo(&q->avail_gpa, v);
		break;
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
		if (q_writable)
			set_hi(&q->avail_gpa, v);
		break;
	case VIRTIO_MMIO_QUEUE_USED_LOW:
		if (q_writable)
			set_lo(&q->used_gpa, v);
		break;
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		if (q_writable)
			set_hi(&q->used_gpa, v);
		break;
	default:
		break;	/* read-only or unknown: ignored */
	}
}

static void config_access(struct virtio_mmio *t, uint64_t off, uint8_t *data, uint32_t len,
			  bool is_write)
{
	/* Config space is read-only for every device we offer. */
	if (is_write)
		return;
	memset(data, 0, len);
	pthread_mutex_lock(&t->lock);
	if (off < t->config_len)
		memcpy(data, t->config + off, MIN((uint64_t)len, t->config_len - off));
	pthread_mutex_unlock(&t->lock);
}

void virtio__mmio_access(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
			 bool is_write)
{
	struct virtio_mmio *t = opaque;
	uint32_t v = 0;

	if (len > 8 || offset >= VIRTIO_MMIO_WINDOW)
		return;
	if (offset >= VIRTIO_MMIO_CONFIG) {
		config_access(t, offset - VIRTIO_MMIO_CONFIG, data, len, is_write);
		return;
	}
	/* Registers are 32-bit only (4.2.2.2); anything else reads as zero. */
	if (len != 4 || (offset & 3)) {
		if (!is_write)
			memset(data, 0, len);
		return;
	}
	if (is_write)
		memcpy(&v, data, 4);
	switch (offset) {
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		if (is_write && v < t->ops->nr_queues)
			ring_doorbell(t);
		return;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		if (!is_write) {
			v = __atomic_load_n(&t->isr, __ATOMIC_SEQ_CST);
			memcpy(data, &v, 4);
		}
		return;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		if (is_write)
			__atomic_and_fetch(&t->isr, ~v, __ATOMIC_SEQ_CST);
		return;
	}
	pthread_mutex_lock(&t->lock);
	if (is_write)
		reg_write(t, offset, v);
	else
		v = reg_read(t, offset);
	pthread_mutex_unlock(&t->lock);
	if (!is_write)
		memcpy(data, &v, 4);
}
