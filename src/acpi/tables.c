/*
 * ACPI tables: RSDP -> XSDT -> { FADT -> DSDT, MADT }, laid out from
 * ACPI_TABLES_BASE upwards, 16-byte aligned, each checksummed.
 * Field layouts follow ACPI 6.5 chapter 5.2; offsets are pinned with
 * _Static_assert so a typo cannot shift a field silently.
 */
#include "acpi.h"

#include "../devices/device.h"
#include "../util/util.h"
#include "../vm/vm.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define ACPI_OEM_ID		"MVM   "
#define ACPI_OEM_REVISION	1
#define ACPI_CREATOR_ID		"MVM "
#define ACPI_CREATOR_REVISION	1

struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_header) == 36, "ACPI header is 36 bytes");

struct acpi_rsdp {
	char signature[8];
	uint8_t checksum;		/* first 20 bytes */
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt_address;
	uint32_t length;
	uint64_t xsdt_address;
	uint8_t extended_checksum;	/* all 36 bytes */
	uint8_t reserved[3];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP is 36 bytes");

/* Generic Address Structure (ACPI 6.5 section 5.2.3.2). */
struct acpi_gas {
	uint8_t space_id;
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;
	uint64_t address;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS is 12 bytes");

#define ACPI_SPACE_SYSTEM_IO	1
#define ACPI_ACCESS_BYTE	1

struct acpi_fadt {
	struct acpi_header h;
	uint32_t firmware_ctrl;
	uint32_t dsdt;
	uint8_t reserved0;
	uint8_t preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
	uint32_t pm1a_evt_blk, pm1b_evt_blk, pm1a_cnt_blk, pm1b_cnt_blk;
	uint32_t pm2_cnt_blk, pm_tmr_blk, gpe0_blk, gpe1_blk;
	uint8_t pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len;
	uint8_t gpe0_blk_len, gpe1_blk_len, gpe1_base, cst_cnt;
	uint16_t p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
	uint8_t duty_offset, duty_width, day_alrm, mon_alrm, century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt;
	struct acpi_gas x_pm1a_evt_blk, x_pm1b_evt_blk, x_pm1a_cnt_blk, x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk, x_pm_tmr_blk, x_gpe0_blk, x_gpe1_blk;
	struct acpi_gas sleep_control_reg;
	struct acpi_gas sleep_status_reg;
	uint64_t hypervisor_vendor_id;
} __attribute__((packed));
_Static_assert(offsetof(struct acpi_fadt, iapc_boot_arch) == 109, "FADT layout");
_Static_assert(offsetof(struct acpi_fadt, flags) == 112, "FADT layout");
_Static_assert(offsetof(struct acpi_fadt, reset_reg) == 116, "FADT layout");
_Static_assert(offsetof(struct acpi_fadt, minor_version) == 131, "FADT layout");
_Static_assert(offsetof(struct acpi_fadt, x_dsdt) == 140, "FADT layout");
_Static_assert(offsetof(struct acpi_fadt, sleep_control_reg) == 244, "FADT layout");
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT 6.5 is 276 bytes");

#define FADT_REVISION			6
#define FADT_MINOR_VERSION		5
#define FADT_F_RESET_REG_SUP		(1u << 10)
#define FADT_F_PWR_BUTTON		(1u << 4)	/* no fixed power button */
#define FADT_F_SLP_BUTTON		(1u << 5)	/* no fixed sleep button */
#define FADT_F_HW_REDUCED_ACPI		(1u << 20)
/*
 * No VGA.  Deliberately NOT "CMOS RTC not present": the machine has an RTC
 * at port 0x70 and Linux drops its wall clock when that flag is set.  No
 * 8042 flag either, so Linux skips probing a keyboard controller.
 */
#define FADT_IAPC_VGA_NOT_PRESENT	(1u << 2)
#define FADT_PM_PROFILE_UNSPECIFIED	0

struct madt {
	struct acpi_header h;
	uint32_t lapic_address;
	uint32_t flags;
} __attribute__((packed));

#define MADT_REVISION		5
#define MADT_PCAT_COMPAT	1u

struct madt_lapic {
	uint8_t type, length, processor_uid, apic_id;
	uint32_t flags;
} __attribute__((packed));
_Static_assert(sizeof(struct madt_lapic) == 8, "MADT local APIC entry");

struct madt_ioapic {
	uint8_t type, length, ioapic_id, reserved;
	uint32_t address;
	uint32_t gsi_base;
} __attribute__((packed));
_Static_assert(sizeof(struct madt_ioapic) == 12, "MADT IOAPIC entry");

struct madt_iso {
	uint8_t type, length, bus, source;
	uint32_t gsi;
	uint16_t flags;
} __attribute__((packed));
_Static_assert(sizeof(struct madt_iso) == 10, "MADT interrupt source override");

struct madt_lapic_nmi {
	uint8_t type, length, processor_uid;
	uint16_t flags;
	uint8_t lint;
} __attribute__((packed));
_Static_assert(sizeof(struct madt_lapic_nmi) == 6, "MADT local APIC NMI");

enum { MADT_LAPIC = 0, MADT_IOAPIC = 1, MADT_ISO = 2, MADT_LAPIC_NMI = 4 };
#define MADT_LAPIC_ENABLED	1u
#define MADT_ALL_PROCESSORS	0xff

/*
 * IRQ0 -> GSI2 as on every PC since the IOAPIC: KVM/QEMU machines wire the
 * PIT to pin 2.  Flags 0 = conforms to the ISA bus (edge, active high).  No
 * IRQ9 override: a hardware-reduced machine has no SCI.
 */
static const struct madt_iso madt_isos[] = {
	{ MADT_ISO, sizeof(struct madt_iso), 0, 0, 2, 0 },
};

/*
 * Real-mode code at the reset vector F000:FFF0.  On a hardware-reduced
 * machine without EFI, Linux's default reboot is BOOT_EFI (reboot_init():
 * efi_reboot_required() is true whenever the FADT says HW_REDUCED), which
 * falls through to BOOT_BIOS: machine_real_restart() jumps here in real
 * mode.  A real BIOS would reset the machine; this writes the ACPI reset
 * register instead, so "reboot" works without "reboot=a" on the command
 * line.
 */
#define RESET_STUB_GPA	0xffff0ULL
static const uint8_t reset_stub[] = {
	0xb0, ACPI_RESET_VALUE,				/* mov al, RESET_VALUE */
	0xba, ACPI_PM_RESET & 0xff, ACPI_PM_RESET >> 8,	/* mov dx, RESET_REG */
	0xee,						/* out dx, al */
	0xfa,						/* cli */
	0xf4,						/* 1: hlt */
	0xeb, 0xfd,					/* jmp 1b */
};
_Static_assert(RESET_STUB_GPA + sizeof(reset_stub) <= ACPI_TABLES_END, "reset stub fits");

#define XSDT_ENTRIES	2	/* FADT, MADT */
#define TABLE_ALIGN	16

static uint8_t acpi_checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return (uint8_t)-sum;
}

static void header_init(struct acpi_header *h, const char *sig, uint32_t len, uint8_t rev,
			const char *table_id)
{
	memcpy(h->signature, sig, 4);
	h->length = len;
	h->revision = rev;
	memcpy(h->oem_id, ACPI_OEM_ID, 6);
	memcpy(h->oem_table_id, table_id, 8);
	h->oem_revision = ACPI_OEM_REVISION;
	memcpy(h->creator_id, ACPI_CREATOR_ID, 4);
	h->creator_revision = ACPI_CREATOR_REVISION;
	h->checksum = 0;
	h->checksum = acpi_checksum(h, len);
}

static struct acpi_gas gas_io8(uint16_t port)
{
	return (struct acpi_gas){ .space_id = ACPI_SPACE_SYSTEM_IO, .bit_width = 8,
				  .access_size = ACPI_ACCESS_BYTE, .address = port };
}

static int acpi_nr_cpus(const struct vm *vm)
{
	if (vm->nr_vcpus > 0)
		return vm->nr_vcpus;
	return vm->cfg ? vm->cfg->cpus : 0;
}

/* \_SB with CPUs and devices, and \_S5 for power-off. */
static int build_dsdt_body(struct vm *vm, struct aml *a, int ncpus)
{
	size_t sb, pkg;
	int ret;

	sb = acpi__aml_scope(a, "\\_SB");
	for (int i = 0; i < ncpus; i++) {
		char name[5];
		size_t dev;

		/* _UID matches the MADT processor UID: how Linux pairs them. */
		snprintf(name, sizeof(name), "C%03X", (unsigned)i);
		dev = acpi__aml_device(a, name);
		acpi__aml_name(a, "_HID");
		acpi__aml_string(a, "ACPI0007");
		acpi__aml_name(a, "_UID");
		acpi__aml_integer(a, i);
		acpi__aml_end(a, dev);
	}
	for (struct device *d = vm->devices; d; d = d->next) {
		if (!d->acpi_aml)
			continue;
		ret = d->acpi_aml(d, a);
		if (!ret)
			ret = acpi__aml_err(a);
		if (ret) {
			pr_err("ACPI: the DSDT node of device %s failed: error %d", d->name, ret);
			return ret;
		}
	}
	acpi__aml_end(a, sb);

	/* Package { SLP_TYPa, SLP_TYPb, reserved, reserved }, as QEMU writes it. */
	acpi__aml_name(a, "_S5");
	pkg = acpi__aml_package(a, 4);
	acpi__aml_integer(a, ACPI_S5_SLP_TYP);
	acpi__aml_integer(a, ACPI_S5_SLP_TYP);
	acpi__aml_integer(a, 0);
	acpi__aml_integer(a, 0);
	acpi__aml_end(a, pkg);
	return acpi__aml_err(a);
}

static void build_fadt(struct acpi_fadt *f, uint64_t dsdt_gpa)
{
	memset(f, 0, sizeof(*f));
	f->preferred_pm_profile = FADT_PM_PROFILE_UNSPECIFIED;
	f->iapc_boot_arch = FADT_IAPC_VGA_NOT_PRESENT;
	f->flags = FADT_F_HW_REDUCED_ACPI | FADT_F_RESET_REG_SUP | FADT_F_PWR_BUTTON |
		   FADT_F_SLP_BUTTON;
	f->reset_reg = gas_io8(ACPI_PM_RESET);
	f->reset_value = ACPI_RESET_VALUE;
	f->minor_version = FADT_MINOR_VERSION;
	/* X_DSDT only: the spec wants DSDT zero when X_DSDT is set. */
	f->x_dsdt = dsdt_gpa;
	f->sleep_control_reg = gas_io8(ACPI_PM_SLEEP_CONTROL);
	f->sleep_status_reg = gas_io8(ACPI_PM_SLEEP_STATUS);
	memcpy(&f->hypervisor_vendor_id, "MVM\0\0\0\0\0", 8);
	header_init(&f->h, "FACP", sizeof(*f), FADT_REVISION, "MVMFACP ");
}

static size_t madt_size(int ncpus)
{
	return sizeof(struct madt) + ncpus * sizeof(struct madt_lapic) +
	       sizeof(struct madt_ioapic) + sizeof(madt_isos) + sizeof(struct madt_lapic_nmi);
}

static void build_madt(uint8_t *p, int ncpus)
{
	struct madt *m = (struct madt *)p;
	size_t off = sizeof(*m), len = madt_size(ncpus);

	memset(p, 0, len);
	m->lapic_address = MMIO_LAPIC_BASE;
	m->flags = MADT_PCAT_COMPAT;
	for (int i = 0; i < ncpus; i++) {
		struct madt_lapic e = { MADT_LAPIC, sizeof(e), i, i, MADT_LAPIC_ENABLED };
		memcpy(p + off, &e, sizeof(e));
		off += sizeof(e);
	}
	struct madt_ioapic io = { MADT_IOAPIC, sizeof(io), ncpus, 0, MMIO_IOAPIC_BASE, 0 };
	memcpy(p + off, &io, sizeof(io));
	off += sizeof(io);
	memcpy(p + off, madt_isos, sizeof(madt_isos));
	off += sizeof(madt_isos);
	/* LINT1 is the NMI input on every x86 local APIC; flags 0 = conforms. */
	struct madt_lapic_nmi nmi = { MADT_LAPIC_NMI, sizeof(nmi), MADT_ALL_PROCESSORS, 0, 1 };
	memcpy(p + off, &nmi, sizeof(nmi));
	header_init(&m->h, "APIC", len, MADT_REVISION, "MVMAPIC ");
}

static void build_xsdt(uint8_t *p, const uint64_t *entries, int n)
{
	struct acpi_header *h = (struct acpi_header *)p;
	size_t len = sizeof(*h) + n * sizeof(uint64_t);

	memset(p, 0, len);
	memcpy(p + sizeof(*h), entries, n * sizeof(uint64_t));
	header_init(h, "XSDT", len, 1, "MVMXSDT ");
}

static void build_rsdp(struct acpi_rsdp *r, uint64_t xsdt_gpa)
{
	memset(r, 0, sizeof(*r));
	memcpy(r->signature, "RSD PTR ", 8);
	memcpy(r->oem_id, ACPI_OEM_ID, 6);
	r->revision = 2;
	r->length = sizeof(*r);
	r->xsdt_address = xsdt_gpa;
	r->checksum = acpi_checksum(r, 20);
	r->extended_checksum = acpi_checksum(r, sizeof(*r));
}

int acpi__build(struct vm *vm, uint64_t *rsdp_gpa)
{
	const uint64_t size = ACPI_TABLES_END - ACPI_TABLES_BASE;
	uint64_t rsdp, xsdt, fadt, madt, dsdt, end, xsdt_entries[XSDT_ENTRIES];
	int ncpus = acpi_nr_cpus(vm), ret;
	struct aml aml;
	uint8_t *base;

	if (ncpus < 1 || ncpus > VM_MAX_VCPUS)
		return -EINVAL;
	base = mem__gpa_to_hva(&vm->mem, ACPI_TABLES_BASE, size);
	if (!base)
		return -EFAULT;

	acpi__aml_init(&aml);
	ret = build_dsdt_body(vm, &aml, ncpus);
	if (ret)
		goto out;

	/* RSDP first, at the base: the kernel's scan of 0xe0000-0xfffff finds it. */
	rsdp = ACPI_TABLES_BASE;
	xsdt = ALIGN_UP(rsdp + sizeof(struct acpi_rsdp), TABLE_ALIGN);
	fadt = ALIGN_UP(xsdt + sizeof(struct acpi_header) + sizeof(xsdt_entries), TABLE_ALIGN);
	madt = ALIGN_UP(fadt + sizeof(struct acpi_fadt), TABLE_ALIGN);
	dsdt = ALIGN_UP(madt + madt_size(ncpus), TABLE_ALIGN);
	end = dsdt + sizeof(struct acpi_header) + aml.len;
	if (aml.len > UINT32_MAX - sizeof(struct acpi_header) || end > RESET_STUB_GPA) {
		pr_err("ACPI: tables need %llu bytes, only %llu reserved: use fewer devices",
		       (unsigned long long)(end - ACPI_TABLES_BASE),
		       (unsigned long long)(RESET_STUB_GPA - ACPI_TABLES_BASE));
		ret = -ENOSPC;
		goto out;
	}

	memset(base, 0, size);
#define AT(gpa) (base + ((gpa) - ACPI_TABLES_BASE))
	memcpy(AT(dsdt) + sizeof(struct acpi_header), aml.buf, aml.len);
	header_init((struct acpi_header *)AT(dsdt), "DSDT", sizeof(struct acpi_header) + aml.len,
		    2, "MVMDSDT ");
	build_madt(AT(madt), ncpus);
	build_fadt((struct acpi_fadt *)AT(fadt), dsdt);
	xsdt_entries[0] = fadt;
	xsdt_entries[1] = madt;
	build_xsdt(AT(xsdt), xsdt_entries, XSDT_ENTRIES);
	build_rsdp((struct acpi_rsdp *)AT(rsdp), xsdt);
	memcpy(AT(RESET_STUB_GPA), reset_stub, sizeof(reset_stub));
#undef AT
	*rsdp_gpa = rsdp;
out:
	acpi__aml_free(&aml);
	return ret;
}
