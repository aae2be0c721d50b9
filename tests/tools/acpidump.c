/*
 * acpidump: build mvm's ACPI tables and FDT for a fake machine and write
 * each table to a file, for tests/integration/acpi_iasl.sh to feed to
 * `iasl -d` and `dtc`.
 *
 *   acpidump OUTDIR NCPUS [microvm]
 *
 * The machine: 64 MiB of RAM, NCPUS vCPUs, COM1 and three virtio-mmio
 * devices, described through the same helpers the real devices use.  The
 * tables are found the way a guest finds them (RSDP -> XSDT -> FADT -> DSDT),
 * so a wrong pointer fails here too.  Files: rsdp.dat xsdt.dat facp.dat
 * apic.dat dsdt.dat mvm.dtb, and region.bin: all of guest memory
 * [ACPI_TABLES_BASE, ACPI_TABLES_END), for loading into another machine.
 *
 * "microvm" describes QEMU's microvm machine instead (ioapic2=off): its
 * eight virtio-mmio transports at 0xfeb00000 + 0x200 * i on GSI 5 + i, so a
 * real kernel can boot on our tables there (see acpi_iasl.sh).
 */
#include "acpi/acpi.h"
#include "devices/device.h"
#include "fdt/fdt.h"
#include "mem/mem.h"
#include "util/util.h"
#include "vm/vm.h"

#include <stdbool.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fake_virtio {
	struct device dev;
	unsigned idx;
	uint64_t base;
	uint32_t gsi;
};

static int fake_virtio_aml(struct device *d, struct aml *aml)
{
	struct fake_virtio *v = d->opaque;
	return acpi__aml_virtio_mmio(aml, v->idx, v->base, 0x200, v->gsi);
}

static int fake_virtio_fdt(struct device *d, void *fdt)
{
	struct fake_virtio *v = d->opaque;
	return fdt__virtio_mmio_node(fdt, v->base, 0x200, v->gsi);
}

static int fake_com_aml(struct device *d, struct aml *aml)
{
	return acpi__aml_com(aml, 1, 0x3f8, 4);
}

static int fake_com_fdt(struct device *d, void *fdt)
{
	return fdt__isa_serial_node(fdt, 0x3f8, 4);
}

static int write_file(const char *dir, const char *name, const void *p, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, len, f) != len || fclose(f)) {
		fprintf(stderr, "acpidump: cannot write %s\n", path);
		return -1;
	}
	return 0;
}

/* A table's header-declared length, checked to lie in guest RAM. */
static const void *table_at(struct vm *vm, uint64_t gpa, const char *sig, uint32_t *len)
{
	const uint8_t *p = mem__gpa_to_hva(&vm->mem, gpa, 36);

	if (!p || memcmp(p, sig, 4)) {
		fprintf(stderr, "acpidump: no %s table at %#llx\n", sig, (unsigned long long)gpa);
		return NULL;
	}
	memcpy(len, p + 4, 4);
	return mem__gpa_to_hva(&vm->mem, gpa, *len);
}

int main(int argc, char **argv)
{
	static struct fake_virtio virtio[8];
	static struct device com = { .name = "com1", .acpi_aml = fake_com_aml,
				     .fdt_node = fake_com_fdt };
	static struct config cfg = { .append = "console=ttyS0 panic=-1", .mem_size = 64 << 20 };
	static struct vm vm;
	uint64_t rsdp_gpa, xsdt_gpa, gpa;
	const uint8_t *rsdp, *xsdt, *t;
	uint32_t len, xlen;
	const char *dir;

	bool microvm = argc == 4 && !strcmp(argv[3], "microvm");

	if (argc != 3 && !microvm) {
		fprintf(stderr, "usage: acpidump OUTDIR NCPUS [microvm]\n");
		return 2;
	}
	dir = argv[1];
	cfg.cpus = atoi(argv[2]);
	vm.cfg = &cfg;
	vm.next_virtio_mmio = MMIO_VIRTIO_BASE;
	bus__init(&vm.pio, "pio");
	bus__init(&vm.mmio, "mmio");
	if (mem__init(&vm.mem, cfg.mem_size)) {
		fprintf(stderr, "acpidump: mem__init failed\n");
		return 1;
	}
	device__register(&vm, &com);
	for (unsigned i = 0; i < ARRAY_SIZE(virtio); i++) {
		struct fake_virtio *v = &virtio[i];
		v->idx = i;
		v->dev = (struct device){ .name = "virtio", .opaque = v, .acpi_aml = fake_virtio_aml,
					  .fdt_node = fake_virtio_fdt };
		if (microvm) {
			v->base = 0xfeb00000 + 0x200 * i;
			v->gsi = 5 + i;
		} else if (i >= 3) {
			break;
		} else if (vm__alloc_mmio(&vm, 0x200, &v->base) || vm__alloc_gsi(&vm, &v->gsi)) {
			return 1;
		}
		device__register(&vm, &v->dev);
	}
	if (acpi__pm_init(&vm)) {
		fprintf(stderr, "acpidump: acpi__pm_init failed\n");
		return 1;
	}
	int ret = acpi__build(&vm, &rsdp_gpa);
	if (ret) {
		fprintf(stderr, "acpidump: acpi__build: %s\n", strerror(-ret));
		return 1;
	}

	t = mem__gpa_to_hva(&vm.mem, ACPI_TABLES_BASE, ACPI_TABLES_END - ACPI_TABLES_BASE);
	if (!t || write_file(dir, "region.bin", t, ACPI_TABLES_END - ACPI_TABLES_BASE))
		return 1;
	rsdp = mem__gpa_to_hva(&vm.mem, rsdp_gpa, 36);
	if (!rsdp || write_file(dir, "rsdp.dat", rsdp, 36))
		return 1;
	memcpy(&xsdt_gpa, rsdp + 24, 8);
	if (!(xsdt = table_at(&vm, xsdt_gpa, "XSDT", &xlen)) || write_file(dir, "xsdt.dat", xsdt, xlen))
		return 1;
	for (uint32_t off = 36; off + 8 <= xlen; off += 8) {
		char name[16];
		memcpy(&gpa, xsdt + off, 8);
		t = mem__gpa_to_hva(&vm.mem, gpa, 4);
		if (!t)
			return 1;
		snprintf(name, sizeof(name), "%.4s", (const char *)t);
		if (!(t = table_at(&vm, gpa, name, &len)))
			return 1;
		for (char *c = name; *c; c++)
			*c = *c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c;
		strcat(name, ".dat");
		if (write_file(dir, name, t, len))
			return 1;
		if (!memcmp(t, "FACP", 4)) {
			memcpy(&gpa, t + 140, 8);	/* X_DSDT */
			const void *d = table_at(&vm, gpa, "DSDT", &len);
			if (!d || write_file(dir, "dsdt.dat", d, len))
				return 1;
		}
	}

	char path[4096];
	snprintf(path, sizeof(path), "%s/mvm.dtb", dir);
	ret = fdt__dump(&vm, path);
	if (ret) {
		fprintf(stderr, "acpidump: fdt__dump: %s\n", strerror(-ret));
		return 1;
	}
	device__destroy_all(&vm);
	mem__exit(&vm.mem);
	bus__exit(&vm.pio);
	bus__exit(&vm.mmio);
	return 0;
}
