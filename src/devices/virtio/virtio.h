/*
 * virtio: virtio-mmio (version 2) transport, split virtqueues, and the
 * blk, net, console and rng devices behind it.
 *
 * Threading: every device owns one I/O thread driven by epoll.  Queue work
 * never runs on vCPU threads: a QueueNotify either fires a KVM ioeventfd or,
 * on backends without one, the MMIO handler writes the same eventfd, so the
 * I/O path is identical on every backend.  There is one doorbell per device,
 * not per queue (the backend's ioeventfd op has no datamatch): a notify makes
 * the device look at all of its queues, which costs an index compare each.
 * t->lock serialises the register file against the I/O thread;
 * InterruptStatus/ACK and QueueNotify are lock-free so a slow disk never
 * stalls a vCPU's interrupt handler.  vCPU threads only take locks, write
 * eventfds and raise irq lines; every other syscall happens on the I/O
 * thread (what the seccomp filters assume).
 *
 * The core (queue.c, mmio.c, iothread.c and the devices) only knows struct
 * guest_mem and an interrupt callback, so unit tests drive it without a VM.
 * create.c is the only file that touches struct vm, the buses and
 * struct device.
 */
#ifndef MVM_VIRTIO_H
#define MVM_VIRTIO_H

#include <linux/virtio_ring.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "../../config/config.h"
#include "../../mem/mem.h"
#include "../../util/util.h"
#include "../device.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "virtio 1.x rings are little-endian; this code reads them natively");

struct vm;

#define VIRTIO_MMIO_WINDOW	0x200		/* register file + config space */
#define VIRTIO_MMIO_MAGIC	0x74726976	/* "virt" */
#define VIRTIO_MMIO_VENDOR	0x004d564d	/* "MVM" */
#define VIRTIO_QUEUE_MAX	256		/* QueueNumMax: bounds every allocation */
#define VIRTIO_MAX_QUEUES	2
#define VIRTIO_CONFIG_MAX	64

/* ------------------------------------------------------------------ */
/* Split virtqueue (queue.c)                                            */

struct virtio_queue {
	/* Registers, as the driver wrote them. */
	uint16_t num;
	bool ready;
	uint64_t desc_gpa, avail_gpa, used_gpa;

	/* Host views, validated once when the driver sets QueueReady. */
	const struct guest_mem *mem;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	bool event_idx;		/* VIRTIO_F_RING_EVENT_IDX negotiated */
	bool indirect;		/* VIRTIO_F_INDIRECT_DESC negotiated */

	uint16_t last_avail;	/* next avail ring slot to consume */
	uint16_t used_idx;	/* our copy of used->idx */
	uint16_t signalled_used;
	bool signalled_valid;
};

/*
 * One popped descriptor chain: iov[0, nr_out) are device-readable,
 * iov[nr_out, nr_out + nr_in) device-writable.  The caller provides iov.
 */
struct virtio_chain {
	uint16_t head;
	uint16_t nr_out, nr_in;
	uint16_t max_iov;
	uint64_t out_len, in_len;
	struct iovec *iov;
};

/* Map and check the rings (0), or -EINVAL/-EFAULT when they are unusable. */
int virtio__queue_setup(struct virtio_queue *q, const struct guest_mem *m, bool event_idx,
			bool indirect) __must_check;
void virtio__queue_reset(struct virtio_queue *q);

/*
 * 1: @c holds the next chain; 0: the ring is empty (with EVENT_IDX the
 * driver has been asked to notify on the next buffer); -EINVAL/-EFAULT: the
 * driver broke the protocol (bad index, loop, address outside RAM, readable
 * after writable, nested indirect, more than c->max_iov segments).  The
 * caller then marks the device DEVICE_NEEDS_RESET.
 */
int virtio__queue_pop(struct virtio_queue *q, struct virtio_chain *c);
/* Give back the last @n popped chains (nothing was written to them). */
void virtio__queue_unpop(struct virtio_queue *q, uint16_t n);
/* Put a chain in the used ring; @len is the number of bytes written. */
void virtio__queue_push(struct virtio_queue *q, uint16_t head, uint32_t len);
/* After pushes: does the driver want an interrupt (flags / used_event)? */
bool virtio__queue_need_irq(struct virtio_queue *q);
/* The driver has made buffers available that we have not popped yet. */
bool virtio__queue_has_avail(const struct virtio_queue *q);

/* iovec helpers; they never go past the iovecs. Return bytes copied. */
size_t virtio__iov_to_buf(const struct iovec *iov, unsigned n, size_t skip, void *buf,
			  size_t len);
size_t virtio__buf_to_iov(const struct iovec *iov, unsigned n, size_t skip, const void *buf,
			  size_t len);
/* Describe bytes [skip, skip+len) of @src in @dst; returns entries or -E2BIG. */
int virtio__iov_slice(const struct iovec *src, unsigned n, size_t skip, size_t len,
		      struct iovec *dst, unsigned dst_max);

/* ------------------------------------------------------------------ */
/* I/O thread (iothread.c)                                              */

typedef void (*virtio_io_fn)(void *opaque, uint32_t events);

struct virtio_io_handler {
	virtio_io_fn fn;
	void *opaque;
};

struct virtio_iothread {
	int epfd;
	int stop_fd;
	pthread_t thread;
	bool started;
	char name[16];
	struct virtio_io_handler stop_handler;
	/* Runs first on the new thread (the seccomp sandbox); nonzero: no loop. */
	int (*on_start)(void *opaque);
	void *start_opaque;
	int start_ret;
	sem_t start_done;
};

int virtio__iothread_init(struct virtio_iothread *io, const char *name);
void virtio__iothread_exit(struct virtio_iothread *io);
/* @h must live as long as the registration. */
int virtio__iothread_add(struct virtio_iothread *io, int fd, uint32_t events,
			 struct virtio_io_handler *h);
int virtio__iothread_mod(struct virtio_iothread *io, int fd, uint32_t events,
			 struct virtio_io_handler *h);
/* One epoll_wait and dispatch; returns events handled or -errno. */
int virtio__iothread_poll(struct virtio_iothread *io, int timeout_ms);
/* Start the thread; returns on_start's result (the thread is joined if it failed). */
int virtio__iothread_start(struct virtio_iothread *io);
void virtio__iothread_stop(struct virtio_iothread *io);

/* ------------------------------------------------------------------ */
/* virtio-mmio transport (mmio.c)                                       */

struct virtio_mmio;

struct virtio_dev_ops {
	const char *name;
	uint32_t device_id;
	uint16_t nr_queues;
	/* DRIVER_OK was set; features are in t->driver_features. -errno: NEEDS_RESET. */
	int (*activate)(struct virtio_mmio *t);
	/*
	 * The driver reset the device: drop in-flight work.  vCPU thread, t->lock
	 * held, status already 0; may wait on t->io_idle (releasing t->lock) for
	 * the I/O thread.
	 */
	void (*reset)(struct virtio_mmio *t);
	/* Queues may have work (a QueueNotify arrived).  I/O thread, t->lock held. */
	void (*notify)(struct virtio_mmio *t);
	/* Free the device (called from struct device's destroy). */
	void (*destroy)(struct virtio_mmio *t);
};

struct virtio_mmio {
	const struct virtio_dev_ops *ops;
	void *dev;
	const struct guest_mem *mem;
	pthread_mutex_t lock;
	pthread_cond_t io_idle;		/* the I/O thread finished something */

	uint64_t device_features, driver_features;
	uint32_t dev_feat_sel, drv_feat_sel, queue_sel;
	uint32_t status;
	uint32_t isr;			/* atomic */
	uint32_t config_generation;
	uint32_t config_len;
	uint8_t config[VIRTIO_CONFIG_MAX];
	struct virtio_queue vq[VIRTIO_MAX_QUEUES];
	bool warned;			/* one protocol warning per device */

	/* QueueNotify doorbell (ioeventfd on KVM) and the thread it wakes. */
	int notify_fd;
	struct virtio_iothread io;
	struct virtio_io_handler notify_handler;

	/* Interrupt delivery, set by whoever attaches the device. */
	void (*irq)(struct virtio_mmio *t);
	void *irq_opaque;

	/* Placement, filled in by virtio__attach. */
	struct vm *vm;
	uint64_t base;
	uint32_t gsi;
	int irq_fd;
	struct device device;
	char name[24];
};

int virtio__mmio_init(struct virtio_mmio *t, const struct virtio_dev_ops *ops, void *dev,
		      const struct guest_mem *mem, uint64_t device_features,
		      uint32_t config_len) __must_check;
void virtio__mmio_exit(struct virtio_mmio *t);
/* Register access at @offset into the window (the bus handler). */
void virtio__mmio_access(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
			 bool is_write);
bool virtio__mmio_has_feature(const struct virtio_mmio *t, unsigned bit);
/* Set InterruptStatus bits, then interrupt the guest. */
void virtio__mmio_signal(struct virtio_mmio *t, uint32_t isr_bits);
/* Interrupt for queue @q if the driver asked for one. */
void virtio__mmio_signal_queue(struct virtio_mmio *t, unsigned q);
/* Config space changed: bump ConfigGeneration and interrupt. t->lock held. */
void virtio__mmio_config_changed(struct virtio_mmio *t);
/* The driver broke the protocol: DEVICE_NEEDS_RESET + config interrupt. */
void virtio__mmio_fail(struct virtio_mmio *t, const char *why);
/* DRIVER_OK set and not NEEDS_RESET: queues may be used. */
bool virtio__mmio_live(const struct virtio_mmio *t);
/* Notify-handler body, exposed so tests can run it without a thread. */
void virtio__mmio_kick(struct virtio_mmio *t);

/* ------------------------------------------------------------------ */
/* Block engines (blk_engine.c: pread/pwrite, blk_engine_aio.c: libaio) */

enum blk_io_op { BLK_IO_READ, BLK_IO_WRITE };

struct blk_io {
	enum blk_io_op op;
	uint64_t offset;
	struct iovec *iov;
	int iovcnt;
	size_t len;
	/* Completion: @res is bytes transferred or -errno.  I/O thread. */
	void (*done)(struct blk_io *io, long res);
	void *opaque;
	bool direct;		/* engine-private: submitted on the O_DIRECT fd */
};

struct blk_engine;

struct blk_engine_ops {
	const char *name;
	int (*init)(struct blk_engine *e, unsigned depth);
	void (*exit)(struct blk_engine *e);
	/* 0: done() runs now or later; -errno: not submitted, done() not called. */
	int (*submit)(struct blk_engine *e, struct blk_io *io);
	/* Completion eventfd for epoll, or -1 when submit completes inline. */
	int (*event_fd)(struct blk_engine *e);
	/* Run done() for finished I/O; @all: wait until nothing is in flight. */
	void (*reap)(struct blk_engine *e, bool all);
};

struct blk_engine {
	const struct blk_engine_ops *ops;
	int fd;			/* buffered */
	int dfd;		/* O_DIRECT, or -1 */
	bool no_direct;		/* the file system refused 512-byte direct I/O */
	unsigned inflight;
	void *priv;
};

extern const struct blk_engine_ops virtio_blk__engine_pread;
extern const struct blk_engine_ops virtio_blk__engine_aio;
/* "libaio" (default) or "pread"; NULL for an unknown name. */
const struct blk_engine_ops *virtio_blk__engine_by_name(const char *name);
/* true when @io may use the O_DIRECT fd: offset and every buffer 512-aligned. */
bool virtio_blk__io_aligned(const struct blk_io *io);

/* ------------------------------------------------------------------ */
/* Devices.  *_new builds the device over @mem; create.c attaches it.   */

#define VIRTIO_BLK_SEG_MAX	126
#define VIRTIO_BLK_SIZE_MAX	(1U << 20)

struct virtio_blk;
/*
 * Open @disk (one-line message and -errno on failure: missing file, a
 * read-only file without ,ro) and build a virtio-blk over @mem.
 */
int virtio_blk__new(const struct disk_config *disk, int index, const struct guest_mem *mem,
		    const struct blk_engine_ops *engine, struct virtio_mmio **out) __must_check;

struct virtio_net;
/* Open tap @nc->tap (one-line message on failure) and build a virtio-net. */
int virtio_net__new(const struct net_config *nc, int index, const struct guest_mem *mem,
		    struct virtio_mmio **out) __must_check;
/* Same over an already open packet fd (tests use a datagram socketpair). */
int virtio_net__new_fd(int fd, bool is_tap, const uint8_t mac[6], const struct guest_mem *mem,
		       struct virtio_mmio **out) __must_check;

/*
 * Single-port console (hvc0): guest output to @out_fd (not closed by mvm).
 * Host input arrives through virtio_console__term_sink, any thread.
 */
int virtio_console__new(int out_fd, const struct guest_mem *mem, struct virtio_mmio **out)
	__must_check;
/*
 * term.h's term_sink_fn (@opaque = the console's struct virtio_mmio): takes
 * what fits in a 4 KiB buffer, returns the bytes taken.
 */
size_t virtio_console__term_sink(void *opaque, const uint8_t *buf, size_t n);
/* @fn(@opaque) runs on the I/O thread when refused input has room again. */
void virtio_console__set_rx_notify(struct virtio_mmio *t, void (*fn)(void *opaque),
				   void *opaque);

int virtio_rng__new(const struct guest_mem *mem, struct virtio_mmio **out) __must_check;

/* ------------------------------------------------------------------ */
/* VM glue (create.c): window, GSI, bus, eventfds, struct device.       */

int virtio__attach(struct vm *vm, struct virtio_mmio *t) __must_check;
int virtio_blk__create(struct vm *vm, const struct disk_config *disk, int index)
	__must_check;
int virtio_net__create(struct vm *vm, const struct net_config *nc, int index)
	__must_check;
int virtio_console__create(struct vm *vm, int out_fd, struct virtio_mmio **out) __must_check;
int virtio_rng__create(struct vm *vm) __must_check;
/* Every disk and net in vm->cfg, then the rng (the console is separate). */
int virtio__create_all(struct vm *vm) __must_check;

#endif
