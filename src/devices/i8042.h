/*
 * i8042: the PC keyboard controller at 0x60 (data) / 0x64 (status,
 * command), with no keyboard and no mouse behind it.
 *
 * It exists for two things:
 *  - reset: command 0xfe (any 0xf0-0xff pulse with bit 0 low, or an
 *    output-port write with bit 0 low) stops the VM with MVM_EXIT_REBOOT.
 *    Linux's "reboot=k" path and its fallback after the ACPI reset register
 *    end here; status never shows a full input buffer, so its kb_wait()
 *    loop does not spin.
 *  - a probe that ends at once: the controller self-test, CTR and port tests
 *    answer as a real chip does; the AUX loopback answers without the AUX
 *    flag and the AUX test reports a stuck clock line, so Linux decides
 *    there is no mouse port; every byte sent to the keyboard is answered
 *    0xfe (resend), so atkbd's GETID/SETLEDS fail without a 200 ms timeout
 *    each.  Responses raise IRQ 1 when the CTR enables it.
 *
 * No ACPI node: on our hardware-reduced ACPI machine Linux then skips the
 * i8042 probe entirely ("PNP: No PS/2 controller found"), the fastest
 * outcome; the ports answer anyway for reboot and for guests without ACPI.
 */
#ifndef MVM_I8042_H
#define MVM_I8042_H

#include <stdint.h>

struct vm;
struct i8042;

#define I8042_DATA_PORT		0x60
#define I8042_CMD_PORT		0x64
#define I8042_KBD_IRQ		1

/* Status register. */
#define I8042_STR_OBF		0x01
#define I8042_STR_IBF		0x02
#define I8042_STR_SYS		0x04
#define I8042_STR_CMD		0x08	/* last write went to 0x64 */
#define I8042_STR_UNLOCKED	0x10
#define I8042_STR_AUXDATA	0x20

/* Controller configuration byte (CTR). */
#define I8042_CTR_KBDINT	0x01
#define I8042_CTR_AUXINT	0x02
#define I8042_CTR_SYS		0x04
#define I8042_CTR_KBDDIS	0x10
#define I8042_CTR_AUXDIS	0x20
#define I8042_CTR_XLATE		0x40

/*
 * Register both ports on vm->pio and an "i8042" device that frees the
 * state.  0 or -errno (-EEXIST: a port is taken).
 */
int i8042__init(struct vm *vm, struct i8042 **out) __attribute__((warn_unused_result));

#endif
