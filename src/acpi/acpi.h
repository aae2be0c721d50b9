/*
 * acpi: the machine description Linux reads on x86 -- RSDP, XSDT, FADT, MADT
 * and a DSDT whose \_SB devices describe themselves through the
 * device.h acpi_aml hook -- plus the ACPI power-management ports that let
 * the guest power off and reboot.
 *
 * Debian's stock kernel finds secondary CPUs (MADT) and virtio-mmio devices
 * (_HID "LNRO0005") only through ACPI, so these tables are not optional.
 *
 * The machine is "hardware-reduced ACPI" (FADT flag HW_REDUCED_ACPI, as
 * Firecracker and Cloud Hypervisor do): no SCI, no PM timer, no PM1/GPE
 * blocks, no FACS.  Power-off and reset go through three I/O ports:
 *
 *   0x600  SLEEP_CONTROL_REG  write SLP_EN|SLP_TYP=5 -> power off
 *   0x601  SLEEP_STATUS_REG   bit 7 WAK_STS
 *   0x602  RESET_REG          write ACPI_RESET_VALUE -> reboot
 *
 * Why 0x600: QEMU's q35 machine puts its ICH9 ACPI PM block there, so no
 * legacy ISA device and no probing driver expects anything else at those
 * ports.  Cloud Hypervisor's 0x3c0 is the VGA attribute controller, which
 * multiboot test kernels and VGA probes may poke.
 *
 * Note for the machine set-up: on a hardware-reduced machine x86 Linux
 * uses no legacy PIC and skips PIT timer set-up (acpi_reduced_hw_init), so
 * it needs a known TSC / local-APIC timer frequency from CPUID or kvmclock.
 */
#ifndef MVM_ACPI_H
#define MVM_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;

/* --- AML builder ---------------------------------------------------------
 *
 * A growable byte buffer.  Errors are sticky: after the first failure every
 * call is a no-op and acpi__aml_err() reports it, so a device hook can emit
 * a whole node and check once at the end.
 *
 * Objects with a PkgLength (Scope, Device, Method, Package) are opened by a
 * call that returns a mark and closed with acpi__aml_end(mark); they nest.
 */
struct aml {
	uint8_t *buf;
	size_t len, cap;
	int err;		/* 0, -ENOMEM, -EINVAL or -ERANGE; first one wins */
};

void acpi__aml_init(struct aml *a);
void acpi__aml_free(struct aml *a);
static inline int acpi__aml_err(const struct aml *a) { return a->err; }

void acpi__aml_raw(struct aml *a, const void *p, size_t n);

/*
 * Encode a PkgLength for @content bytes following it (the encoded length
 * counts its own bytes, ACPI 6.5 section 20.2.4).  Returns the number of bytes
 * written to @out (1-4), or -ERANGE above 2^28 - 5.
 */
int acpi__aml_pkglen(uint8_t out[4], size_t content);

/*
 * NameString: "\\_SB", "_S5", "COM1", "\\_SB.VR00", "^FOO".  Segments shorter
 * than four characters are padded with '_'.  Bad names set -EINVAL.
 */
void acpi__aml_namestring(struct aml *a, const char *path);

size_t acpi__aml_scope(struct aml *a, const char *name);
size_t acpi__aml_device(struct aml *a, const char *name);
size_t acpi__aml_method(struct aml *a, const char *name, unsigned nargs, bool serialized);
size_t acpi__aml_package(struct aml *a, uint8_t nelems);
void acpi__aml_end(struct aml *a, size_t mark);

/* Name(@name, <the next object appended>). */
void acpi__aml_name(struct aml *a, const char *name);
/* Return(<the next object appended>). */
void acpi__aml_return(struct aml *a);

/* Smallest encoding, as iasl picks: Zero, One, Ones, Byte, Word, DWord, QWord. */
void acpi__aml_integer(struct aml *a, uint64_t v);
/* Fixed-width encodings. */
void acpi__aml_byte(struct aml *a, uint8_t v);
void acpi__aml_word(struct aml *a, uint16_t v);
void acpi__aml_dword(struct aml *a, uint32_t v);
void acpi__aml_qword(struct aml *a, uint64_t v);
void acpi__aml_string(struct aml *a, const char *s);
/* EISAID("PNP0501"): three upper-case letters and four hex digits, else -EINVAL. */
void acpi__aml_eisaid(struct aml *a, const char *id);
void acpi__aml_buffer(struct aml *a, const void *data, size_t len);

/* --- Resource descriptors (ACPI 6.5 section 6.4) ------------------------------
 *
 * Descriptors accumulate in a struct aml of their own; acpi__aml_restemplate
 * then appends ResourceTemplate() { ..., EndTag } as a Buffer object.
 */
void acpi__res_memory32_fixed(struct aml *r, bool writable, uint32_t base, uint32_t len);
/* IO(Decode16, min, max, align, len). */
void acpi__res_io(struct aml *r, uint16_t min, uint16_t max, uint8_t align, uint8_t len);
/* IRQNoFlags() {irq}: ISA edge, active high, exclusive; irq < 16. */
void acpi__res_irq_noflags(struct aml *r, unsigned irq);
/* Interrupt(ResourceConsumer, Edge|Level, ActiveHigh|ActiveLow, Exclusive) {gsi}. */
void acpi__res_interrupt(struct aml *r, bool level, bool active_low, uint32_t gsi);
/*
 * Append Buffer { @r's descriptors, EndTag } to @a.  The EndTag checksum is
 * zero, which ACPI defines as "treat as valid" and which iasl emits too.
 */
void acpi__aml_restemplate(struct aml *a, const struct aml *r);

/* --- One-line device nodes for device owners' acpi_aml hooks ------------- */

/*
 * Device(VRxx) { _HID "LNRO0005", _UID @idx, _CRS { Memory32Fixed(RW, @base,
 * @size), Interrupt(Consumer, Edge, ActiveHigh, Exclusive) { @gsi } } },
 * xx = @idx in hex.  -EINVAL for @idx > 255 or a window above 4 GiB.
 */
int acpi__aml_virtio_mmio(struct aml *a, unsigned idx, uint64_t base, uint32_t size,
			  uint32_t gsi);
/*
 * Device(COMn) { _HID EISAID("PNP0501"), _UID n, _CRS { IO(Decode16, @port,
 * @port, 1, 8), IRQNoFlags() { @irq } } } for n = @uid (1-9).
 */
int acpi__aml_com(struct aml *a, unsigned uid, uint16_t port, unsigned irq);

/* --- Tables ---------------------------------------------------------------- */

/* The PM ports (see the top of this file). */
#define ACPI_PM_SLEEP_CONTROL	0x600
#define ACPI_PM_SLEEP_STATUS	0x601
#define ACPI_PM_RESET		0x602
#define ACPI_RESET_VALUE	0x01
/* SLP_TYP the DSDT's \_S5 advertises and the sleep-control port obeys. */
#define ACPI_S5_SLP_TYP		5

/*
 * Write RSDP (revision 2, at ACPI_TABLES_BASE so the kernel's BIOS-area scan
 * finds it too), XSDT, FADT, MADT and DSDT into guest RAM at
 * [ACPI_TABLES_BASE, ACPI_TABLES_END).  CPU count: vm->nr_vcpus, or
 * vm->cfg->cpus when no vCPU exists yet.  The DSDT's \_SB holds one
 * ACPI0007 processor device per CPU and every registered device's acpi_aml
 * node, in registration order.
 *
 * Also puts a real-mode stub at the reset vector 0xffff0 that writes the
 * reset register: Linux's default reboot on a hardware-reduced machine
 * without EFI ends in machine_real_restart(), a jump to F000:FFF0.
 *
 * Returns 0 and the RSDP address (for boot_params.acpi_rsdp_addr), -ENOSPC
 * when the tables do not fit, -EFAULT when that range is not RAM, -EINVAL for
 * a bad CPU count, or a device hook's error.
 * The e820 map must mark [ACPI_TABLES_BASE, ACPI_TABLES_END) reserved.
 */
int acpi__build(struct vm *vm, uint64_t *rsdp_gpa) __attribute__((warn_unused_result));

/*
 * The power-management ports: a sleep-control write of SLP_EN with SLP_TYP
 * ACPI_S5_SLP_TYP stops the VM with MVM_EXIT_POWEROFF, a write of
 * ACPI_RESET_VALUE to the reset port stops it with MVM_EXIT_REBOOT.  Also
 * registers an "acpi-pm" device (it owns the state).  0 or -errno.
 */
int acpi__pm_init(struct vm *vm) __attribute__((warn_unused_result));

#endif
