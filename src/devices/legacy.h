/*
 * legacy: PC ports that only need to exist.
 *
 * postcode: port 0x80, the POST-code latch.  Linux writes it after slow
 * port accesses (native_io_delay) and firmware writes progress codes; the
 * writes are dropped and reads float.  Registered so those accesses do not
 * count as unclaimed.
 */
#ifndef MVM_LEGACY_H
#define MVM_LEGACY_H

struct vm;

#define POSTCODE_PORT	0x80

/* Register port 0x80 on vm->pio.  0 or -errno (-EEXIST: taken). */
int postcode__init(struct vm *vm) __attribute__((warn_unused_result));

#endif
