/*
 * A guest that stays up and never reads its serial port, for
 * tests/integration/hygiene.sh: it makes a few exits of each kind (port I/O,
 * MMIO to the virtio-mmio windows, including a virtio-blk bring-up when a
 * disk is attached), prints "idle: ready", then spins forever with an
 * occasional port write while the host inspects mvm (open descriptors, memory
 * while the host floods stdin).  The host ends it by killing mvm.
 */
#include "fw.h"

#define VIRTIO_BASE	0xd0000000u
#define MAGIC		0x74726976u

int fw_main(uint32_t magic, const struct multiboot_info *mb)
{
	unsigned found = 0;

	(void)magic;
	(void)mb;
	for (unsigned n = 0; n < 8; n++) {
		uintptr_t b = VIRTIO_BASE + n * 0x1000u;

		if (peek32(b) != MAGIC)
			continue;
		found++;
		/* Reset, ACK, DRIVER: enough to talk to the device, no queues. */
		poke32(b + 0x70, 0);
		poke32(b + 0x70, 1);
		poke32(b + 0x70, 3);
		(void)peek32(b + 0x100);
	}
	(void)inb(0x61);
	printf("idle: %u virtio devices\n", found);
	printf("idle: ready\n");
	for (uint32_t i = 0;; i++) {
		__asm__ volatile("pause");
		if (!(i & 0xfffff))
			outb(0x80, (uint8_t)(i >> 20));
	}
	return 0;
}
