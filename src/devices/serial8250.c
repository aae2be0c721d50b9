#include "serial8250.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../acpi/acpi.h"
#include "../fdt/fdt.h"
#include "../util/util.h"
#include "../vm/vm.h"
#include "device.h"

/* Register offsets (DLAB selects DLL/DLM at 0 and 1). */
enum {
	UART_RBR = 0, UART_THR = 0, UART_DLL = 0,
	UART_IER = 1, UART_DLM = 1,
	UART_IIR = 2, UART_FCR = 2,
	UART_LCR = 3, UART_MCR = 4, UART_LSR = 5, UART_MSR = 6, UART_SCR = 7,
};

#define IER_RDI		0x01	/* received data available */
#define IER_THRI	0x02	/* THR empty */
#define IER_RLSI	0x04	/* receiver line status */
#define IER_MSI		0x08	/* modem status */
#define IER_MASK	0x0f	/* the 16550A has nothing above; Linux's probe checks */

#define IIR_NO_INT	0x01
#define IIR_MSI		0x00
#define IIR_THRI	0x02
#define IIR_RDI		0x04
#define IIR_RLSI	0x06
#define IIR_RX_TIMEOUT	0x0c
#define IIR_FIFO_ON	0xc0

#define FCR_ENABLE	0x01
#define FCR_CLEAR_RX	0x02
#define FCR_TRIGGER	0xc0

#define LCR_DLAB	0x80

#define MCR_DTR		0x01
#define MCR_RTS		0x02
#define MCR_OUT1	0x04
#define MCR_OUT2	0x08
#define MCR_LOOP	0x10
#define MCR_MASK	0x1f

#define LSR_DR		0x01
#define LSR_OE		0x02
#define LSR_PE		0x04
#define LSR_FE		0x08
#define LSR_BI		0x10
#define LSR_THRE	0x20
#define LSR_TEMT	0x40
#define LSR_ERRORS	(LSR_OE | LSR_PE | LSR_FE | LSR_BI)

#define MSR_DCTS	0x01
#define MSR_DDSR	0x02
#define MSR_TERI	0x04
#define MSR_DDCD	0x08
#define MSR_CTS		0x10
#define MSR_DSR		0x20
#define MSR_RI		0x40
#define MSR_DCD		0x80
#define MSR_DELTAS	0x0f

/* With no real line behind it the port looks like a cable with a live peer. */
#define MSR_IDLE_LINES	(MSR_DCD | MSR_DSR | MSR_CTS)

/* FCR[7:6] -> receive trigger level. */
static const uint8_t rx_trigger[4] = { 1, 4, 8, 14 };

struct serial8250 {
	struct device dev;
	struct vm *vm;
	uint16_t base;
	uint32_t irq;
	int out_fd;
	/*
	 * Output is written outside the register lock, so a stalled reader
	 * of out_fd blocks only the transmitting vCPU, never the input thread
	 * (which must still see Ctrl-A x).  out_lock keeps bytes in order.
	 */
	pthread_mutex_t out_lock;
	bool out_broken;	/* a write failed for good: drop further output */

	pthread_mutex_t lock;	/* vCPU threads and the terminal thread */
	uint8_t ier, fcr, lcr, mcr, lsr, msr, scr, dll, dlm;
	bool thr_pending;	/* THR-empty interrupt latched, cleared by IIR read */
	int irq_level;		/* last level given to vm__irq_line */

	uint8_t rx[SERIAL8250_FIFO_SIZE];
	unsigned rx_head, rx_count;
	bool rx_refused;	/* serial8250__rx turned bytes away: notify on room */
	bool rx_armed;		/* the guest's receiver is set up: see serial8250.h */
	bool rbr_read;		/* this access read RBR (arms a polling guest) */

	void (*rx_notify)(void *opaque);
	void *rx_notify_opaque;
};

static unsigned rx_capacity(const struct serial8250 *s)
{
	return (s->fcr & FCR_ENABLE) ? SERIAL8250_FIFO_SIZE : 1;
}

static void rx_clear(struct serial8250 *s)
{
	s->rx_head = s->rx_count = 0;
	s->lsr &= ~LSR_DR;
}

/*
 * One byte into the receiver.  A full receiver overruns: the FIFO keeps
 * what it has (the shift register's byte is lost), a 16450-mode holding
 * register is overwritten; either way OE is reported.
 */
static void rx_push(struct serial8250 *s, uint8_t c)
{
	if (s->rx_count == rx_capacity(s)) {
		s->lsr |= LSR_OE;
		if (!(s->fcr & FCR_ENABLE))
			s->rx[s->rx_head] = c;
		return;
	}
	s->rx[(s->rx_head + s->rx_count) % SERIAL8250_FIFO_SIZE] = c;
	s->rx_count++;
	s->lsr |= LSR_DR;
}

static uint8_t rx_pop(struct serial8250 *s)
{
	uint8_t c;

	if (!s->rx_count)
		return 0;
	c = s->rx[s->rx_head];
	s->rx_head = (s->rx_head + 1) % SERIAL8250_FIFO_SIZE;
	if (!--s->rx_count)
		s->lsr &= ~LSR_DR;
	return c;
}

/* The highest-priority pending, enabled source, as IIR[3:0] reports it. */
static uint8_t pending_source(const struct serial8250 *s)
{
	if ((s->ier & IER_RLSI) && (s->lsr & LSR_ERRORS))
		return IIR_RLSI;
	if ((s->ier & IER_RDI) && s->rx_count) {
		/*
		 * Below the trigger level a real FIFO reports a character
		 * timeout after four character times; with no line timing to
		 * model, report it at once so short input is never held back.
		 */
		if ((s->fcr & FCR_ENABLE) && s->rx_count < rx_trigger[s->fcr >> 6])
			return IIR_RX_TIMEOUT;
		return IIR_RDI;
	}
	if ((s->ier & IER_THRI) && s->thr_pending)
		return IIR_THRI;
	if ((s->ier & IER_MSI) && (s->msr & MSR_DELTAS))
		return IIR_MSI;
	return IIR_NO_INT;
}

/*
 * Drive the line only on a change: an ISA interrupt through an IOAPIC is
 * edge-triggered, so the 0->1 transition is what the guest sees.
 */
static void update_irq(struct serial8250 *s)
{
	int level = pending_source(s) != IIR_NO_INT;

	if (level == s->irq_level)
		return;
	s->irq_level = level;
	int ret = vm__irq_line(s->vm, s->irq, level);
	if (ret)
		pr_warn("serial8250: vm__irq_line(%u, %d) failed: %s", s->irq, level,
			strerror(-ret));
}

/* Modem inputs: fixed when the line is connected, the MCR outputs in loopback. */
static uint8_t modem_inputs(const struct serial8250 *s)
{
	if (!(s->mcr & MCR_LOOP))
		return MSR_IDLE_LINES;
	return ((s->mcr & MCR_RTS) ? MSR_CTS : 0) | ((s->mcr & MCR_DTR) ? MSR_DSR : 0) |
	       ((s->mcr & MCR_OUT1) ? MSR_RI : 0) | ((s->mcr & MCR_OUT2) ? MSR_DCD : 0);
}

static void set_modem_inputs(struct serial8250 *s, uint8_t lines)
{
	uint8_t old = s->msr & ~MSR_DELTAS, changed = old ^ lines;
	uint8_t delta = 0;

	if (changed & MSR_CTS)
		delta |= MSR_DCTS;
	if (changed & MSR_DSR)
		delta |= MSR_DDSR;
	if (changed & MSR_DCD)
		delta |= MSR_DDCD;
	if ((old & MSR_RI) && !(lines & MSR_RI))	/* trailing edge only */
		delta |= MSR_TERI;
	s->msr = lines | (s->msr & MSR_DELTAS) | delta;
}

/* Bytes one access transmitted, written once the register lock is dropped. */
struct tx {
	uint8_t buf[8];		/* the widest port access */
	unsigned n;
};

/*
 * All of it or a permanent error: the vCPU waits while the reader does.
 * A stop request (its kick interrupts write with EINTR) ends the wait.
 */
static void write_out(struct serial8250 *s, const struct tx *tx)
{
	unsigned done = 0;

	pthread_mutex_lock(&s->out_lock);
	while (!s->out_broken && s->out_fd >= 0 && done < tx->n) {
		ssize_t n = write(s->out_fd, tx->buf + done, tx->n - done);
		if (n > 0) {
			done += (unsigned)n;
			continue;
		}
		if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
			struct pollfd p = { .fd = s->out_fd, .events = POLLOUT };
			if (vm__stopping(s->vm))
				break;
			if (errno == EAGAIN)
				poll(&p, 1, 100);
			continue;
		}
		s->out_broken = true;
		pr_warn("serial8250: write to output fd %d failed: %s; dropping further guest "
			"output", s->out_fd, n < 0 ? strerror(errno) : "no progress");
	}
	pthread_mutex_unlock(&s->out_lock);
}

static void write_thr(struct serial8250 *s, uint8_t c, struct tx *tx)
{
	/* The write clears the THRE interrupt; the instant transmit re-arms it. */
	s->thr_pending = false;
	update_irq(s);
	if (s->mcr & MCR_LOOP)
		rx_push(s, c);
	else if (tx->n < sizeof(tx->buf))
		tx->buf[tx->n++] = c;
	s->thr_pending = true;
}

static void write_fcr(struct serial8250 *s, uint8_t v)
{
	/* Toggling FIFO mode resets both FIFOs, as on the 16550A. */
	if ((v ^ s->fcr) & FCR_ENABLE)
		rx_clear(s);
	if (!(v & FCR_ENABLE)) {
		s->fcr = 0;
		return;
	}
	if (v & FCR_CLEAR_RX)
		rx_clear(s);
	/* The reset bits self-clear; DMA mode (bit 3) means nothing here. */
	s->fcr = v & (FCR_ENABLE | FCR_TRIGGER);
}

static void reg_write(struct serial8250 *s, unsigned reg, uint8_t v, struct tx *tx)
{
	bool dlab = s->lcr & LCR_DLAB;

	switch (reg) {
	case UART_THR:
		if (dlab)
			s->dll = v;
		else
			write_thr(s, v, tx);
		break;
	case UART_IER:
		if (dlab) {
			s->dlm = v;
			break;
		}
		v &= IER_MASK;
		/*
		 * Enabling THRI with THR empty raises the interrupt again even
		 * if an IIR read had consumed it: drivers start transmission
		 * this way and Linux's startup test checks it.
		 */
		if ((v & IER_THRI) && !(s->ier & IER_THRI) && (s->lsr & LSR_THRE))
			s->thr_pending = true;
		s->ier = v;
		break;
	case UART_FCR:
		write_fcr(s, v);
		break;
	case UART_LCR:
		s->lcr = v;
		break;
	case UART_MCR:
		s->mcr = v & MCR_MASK;
		set_modem_inputs(s, modem_inputs(s));
		break;
	case UART_SCR:
		s->scr = v;
		break;
	default:	/* LSR and MSR are read-only (factory test writes ignored) */
		break;
	}
}

static uint8_t reg_read(struct serial8250 *s, unsigned reg)
{
	bool dlab = s->lcr & LCR_DLAB;
	uint8_t v;

	switch (reg) {
	case UART_RBR:
		if (dlab)
			return s->dll;
		s->rbr_read = true;
		return rx_pop(s);
	case UART_IER:
		return dlab ? s->dlm : s->ier;
	case UART_IIR:
		v = pending_source(s);
		/* Reading IIR is what acknowledges a THR-empty interrupt. */
		if (v == IIR_THRI)
			s->thr_pending = false;
		return v | ((s->fcr & FCR_ENABLE) ? IIR_FIFO_ON : 0);
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		v = s->lsr;
		s->lsr &= ~LSR_ERRORS;
		return v;
	case UART_MSR:
		v = s->msr;
		s->msr &= ~MSR_DELTAS;
		return v;
	default:
		return s->scr;
	}
}

/* True when a refused producer should be told there is room now. */
static bool take_notify(struct serial8250 *s)
{
	if (!s->rx_armed && (s->fcr & FCR_ENABLE) && ((s->ier & IER_RDI) || s->rbr_read))
		s->rx_armed = true;
	s->rbr_read = false;
	if (!s->rx_refused || !s->rx_armed || s->rx_count >= rx_capacity(s) ||
	    (s->mcr & MCR_LOOP))
		return false;
	s->rx_refused = false;
	return true;
}

static void serial8250__io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
			   bool is_write)
{
	struct serial8250 *s = opaque;
	void (*fn)(void *opaque);
	void *fn_opaque;
	struct tx tx = { .n = 0 };
	bool notify;

	pthread_mutex_lock(&s->lock);
	/* A wide access reaches consecutive registers, as the ISA bus splits it. */
	for (uint32_t i = 0; i < len; i++) {
		unsigned reg = (unsigned)(offset + i) % SERIAL8250_NR_REGS;
		if (is_write)
			reg_write(s, reg, data[i], &tx);
		else
			data[i] = reg_read(s, reg);
	}
	update_irq(s);
	notify = take_notify(s);
	fn = s->rx_notify;
	fn_opaque = s->rx_notify_opaque;
	pthread_mutex_unlock(&s->lock);
	if (tx.n)
		write_out(s, &tx);
	/* Unlocked: the hook may take the producer's locks or call back in. */
	if (notify && fn)
		fn(fn_opaque);
}

size_t serial8250__rx(struct serial8250 *s, const uint8_t *buf, size_t n)
{
	size_t taken = 0;

	pthread_mutex_lock(&s->lock);
	if (s->rx_armed && !(s->mcr & MCR_LOOP)) {
		while (taken < n && s->rx_count < rx_capacity(s))
			rx_push(s, buf[taken++]);
	}
	if (taken < n)
		s->rx_refused = true;
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return taken;
}

size_t serial8250__term_sink(void *opaque, const uint8_t *buf, size_t n)
{
	return serial8250__rx(opaque, buf, n);
}

void serial8250__set_rx_notify(struct serial8250 *s, void (*fn)(void *opaque), void *opaque)
{
	pthread_mutex_lock(&s->lock);
	s->rx_notify = fn;
	s->rx_notify_opaque = opaque;
	pthread_mutex_unlock(&s->lock);
}

/* COM1..COM4 at their PC addresses get _UID 1..4; anything else 9. */
static unsigned com_uid(uint16_t base)
{
	static const uint16_t com_base[] = { 0x3f8, 0x2f8, 0x3e8, 0x2e8 };

	for (unsigned i = 0; i < ARRAY_SIZE(com_base); i++)
		if (com_base[i] == base)
			return i + 1;
	return 9;
}

static int serial8250__acpi(struct device *d, struct aml *aml)
{
	struct serial8250 *s = d->opaque;

	return acpi__aml_com(aml, com_uid(s->base), s->base, s->irq);
}

/* The FDT module owns the /isa bus layout; the UART only names itself. */
static int serial8250__fdt(struct device *d, void *fdt)
{
	struct serial8250 *s = d->opaque;

	return fdt__isa_serial_node(fdt, s->base, s->irq);
}

static void serial8250__destroy(struct device *d)
{
	struct serial8250 *s = d->opaque;

	pthread_mutex_destroy(&s->out_lock);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

int serial8250__init(struct vm *vm, uint16_t base, uint32_t irq, int out_fd,
		     struct serial8250 **out)
{
	struct serial8250 *s = calloc(1, sizeof(*s));
	int ret;

	if (!s)
		return -ENOMEM;
	s->vm = vm;
	s->base = base;
	s->irq = irq;
	s->out_fd = out_fd;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->out_lock, NULL);
	/* Power-on state: 9600 baud, OUT2 on as PC firmware leaves it, line idle. */
	s->dll = 12;
	s->mcr = MCR_OUT2;
	s->lsr = LSR_THRE | LSR_TEMT;
	s->msr = MSR_IDLE_LINES;

	/* On the device list first so a failure below is still cleaned up. */
	s->dev = (struct device){ .name = "serial8250", .opaque = s,
				  .acpi_aml = serial8250__acpi, .fdt_node = serial8250__fdt,
				  .destroy = serial8250__destroy };
	device__register(vm, &s->dev);
	ret = bus__register(&vm->pio, base, SERIAL8250_NR_REGS, serial8250__io, s,
			    "serial8250");
	if (ret) {
		pr_err("bus__register(serial8250 at 0x%x) failed: %s; another device claims "
		       "those ports", base, strerror(-ret));
		return ret;
	}
	if (out)
		*out = s;
	return 0;
}
