/*
 * serial8250: a 16550A UART on the port bus (COM1 is 0x3f8, IRQ 4).
 *
 * Interrupt-driven as Linux's 8250 driver expects: IIR reports the highest
 * pending source (line status > received data > THR empty > modem status)
 * and the IRQ line follows "some enabled source pending".  A 16-byte RX FIFO
 * when FCR enables it (one byte otherwise), loopback mode for the driver's
 * autoconfig probe, DLAB, scratch register.  Transmission is instantaneous:
 * every THR byte is written to the output fd before the access returns, so
 * nothing is ever buffered in mvm and nothing needs flushing at exit.
 *
 * Host input goes in through serial8250__rx, which takes only what fits in
 * the FIFO.  When it had to refuse bytes it calls the rx-notify hook once
 * the guest frees room, so the producer (the terminal thread) can wait
 * instead of polling and a guest that never reads makes mvm buffer nothing.
 *
 * Input is held back until the guest's receiver is set up: FIFO enabled and
 * either the received-data interrupt enabled or RBR read.  Linux probes and
 * starts the port with FIFO resets and RBR reads that would discard input
 * offered earlier (up to 17 bytes, as on real hardware and QEMU); waiting
 * makes `printf 'cmd
' | mvm ...` reliable.  A polling guest arms it by
 * enabling the FIFO and reading RBR once.  Armed stays armed.
 */
#ifndef MVM_SERIAL8250_H
#define MVM_SERIAL8250_H

#include <stddef.h>
#include <stdint.h>

struct vm;
struct serial8250;

#define SERIAL8250_COM1_BASE	0x3f8
#define SERIAL8250_COM1_IRQ	4
#define SERIAL8250_NR_REGS	8
#define SERIAL8250_FIFO_SIZE	16
/* The 1.8432 MHz crystal of a PC UART: divisor 1 = 115200 baud. */
#define SERIAL8250_CLOCK_HZ	1843200

/*
 * Create the UART at @base (8 ports) on vm->pio, interrupting on ISA line
 * @irq, writing transmitted bytes to @out_fd (not closed by mvm).  Registers
 * a "serial8250" device (ACPI COMn node, FDT serial@<base> node) that frees
 * it in device__destroy_all.  0 or -errno (-EEXIST: ports taken).
 */
int serial8250__init(struct vm *vm, uint16_t base, uint32_t irq, int out_fd,
		     struct serial8250 **out) __attribute__((warn_unused_result));

/*
 * Offer @n received bytes; returns how many the RX FIFO took (0..n).  Bytes
 * not taken are the caller's to offer again after the notify hook fires.
 * Takes nothing while the guest has loopback mode on (the line is cut).
 * Safe from any thread.
 */
size_t serial8250__rx(struct serial8250 *s, const uint8_t *buf, size_t n);

/* serial8250__rx in the shape of term.h's term_sink_fn (@opaque = the UART). */
size_t serial8250__term_sink(void *opaque, const uint8_t *buf, size_t n);

/*
 * @fn(@opaque) runs (on a vCPU thread, with no UART lock held) when the FIFO
 * has room again after serial8250__rx refused bytes.  Set it before vCPUs
 * start.  term__kick is the usual choice.
 */
void serial8250__set_rx_notify(struct serial8250 *s, void (*fn)(void *opaque), void *opaque);

#endif
