/*
 * The table builders over random machines: any vCPU count, real virtio-rng
 * devices attached through their public create function, and up to 3000
 * fake devices whose AML/FDT hooks call the one-line node helpers with
 * fuzzer-chosen indices, bases, GSIs and ports.  acpi__build must write only
 * inside [ACPI_TABLES_BASE, ACPI_TABLES_END) and either succeed with valid
 * checksums or fail cleanly (-ENOSPC when the DSDT does not fit, -EINVAL for
 * bad CPU counts or node arguments); fdt__build must stay inside a buffer of
 * the fuzzer's size (heap-allocated to the byte, so ASan sees an overflow)
 * and either produce a tree libfdt accepts or fail with -ENOSPC/-EINVAL
 * (-E2BIG past 64 devices with nodes).
 *
 * Input: [cpus u8][nfake u16][nrng u8][fdt size u24][append len u8][append]
 *        [per fake device: kind u8, idx u16, base u64, gsi u32; repeats]
 */
#include <errno.h>
#include <libfdt.h>
#include <stdlib.h>
#include <string.h>

#include "acpi/acpi.h"
#include "devices/device.h"
#include "devices/virtio/virtio.h"
#include "fdt/fdt.h"
#include "fuzz_guest.h"
#include "vm/vm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FAKE	3000
#define CANARY		0x5a

struct fake {
	struct device dev;
	uint8_t kind;
	uint16_t idx;
	uint64_t base;
	uint32_t gsi;
};

static struct vm vm;
static struct config cfg;
static struct fake fakes[MAX_FAKE];
static char append[256];

static int fake_aml(struct device *d, struct aml *aml)
{
	struct fake *f = d->opaque;

	switch (f->kind % 3) {
	case 0:
		return acpi__aml_virtio_mmio(aml, f->idx, f->base, (uint32_t)(f->base >> 32) | 0x200,
					     f->gsi);
	case 1:
		return acpi__aml_com(aml, f->idx % 12, (uint16_t)f->base, f->gsi % 20);
	default:
		return 0;	/* a device with no node of its own */
	}
}

static int fake_fdt(struct device *d, void *fdt)
{
	struct fake *f = d->opaque;

	switch (f->kind % 3) {
	case 0:
		return fdt__virtio_mmio_node(fdt, f->base, 0x200, f->gsi);
	case 1:
		return fdt__isa_serial_node(fdt, (uint16_t)f->base, f->gsi);
	default:
		return 0;
	}
}

static int fake_irq_line(struct vm *v, uint32_t gsi, int level)
{
	(void)v; (void)gsi; (void)level;
	return 0;
}

static const struct vcpu_backend fake_backend = { .name = "fuzz", .irq_line = fake_irq_line };

static void check_canaries(void)
{
	const uint8_t *below = mem__gpa_to_hva(&vm.mem, ACPI_TABLES_BASE - 4096, 4096);
	const uint8_t *above = mem__gpa_to_hva(&vm.mem, ACPI_TABLES_END, 4096);

	for (int i = 0; i < 4096; i++)
		if (below[i] != CANARY || above[i] != CANARY)
			abort();
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return s;
}

static void check_acpi(int ret, int ncpus, uint64_t rsdp)
{
	const uint8_t *base = mem__gpa_to_hva(&vm.mem, ACPI_TABLES_BASE,
					      ACPI_TABLES_END - ACPI_TABLES_BASE);
	uint64_t xsdt;
	uint32_t xlen;

	check_canaries();
	if (ncpus < 1 || ncpus > VM_MAX_VCPUS) {
		if (ret != -EINVAL)
			abort();
		return;
	}
	if (ret == -ENOSPC || ret == -EINVAL || ret == -ERANGE)
		return;
	if (ret || rsdp != ACPI_TABLES_BASE)
		abort();
	/* RSDP: v1 checksum over 20 bytes, extended over 36; XSDT inside the area. */
	if (memcmp(base, "RSD PTR ", 8) || sum(base, 20) || sum(base, 36))
		abort();
	memcpy(&xsdt, base + 24, 8);
	if (xsdt < ACPI_TABLES_BASE || xsdt + 36 > ACPI_TABLES_END)
		abort();
	memcpy(&xlen, base + (xsdt - ACPI_TABLES_BASE) + 4, 4);
	if (xlen < 36 || xsdt + xlen > ACPI_TABLES_END || sum(base + (xsdt - ACPI_TABLES_BASE), xlen))
		abort();
	/* Every table the XSDT lists lies inside the area and sums to zero. */
	for (uint32_t off = 36; off + 8 <= xlen; off += 8) {
		uint64_t t;
		uint32_t tlen;

		memcpy(&t, base + (xsdt - ACPI_TABLES_BASE) + off, 8);
		if (t < ACPI_TABLES_BASE || t + 36 > ACPI_TABLES_END)
			abort();
		memcpy(&tlen, base + (t - ACPI_TABLES_BASE) + 4, 4);
		if (tlen < 36 || t + tlen > ACPI_TABLES_END || sum(base + (t - ACPI_TABLES_BASE), tlen))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fg_in in = { data, size };
	unsigned ncpus, nfake, nrng, alen;
	size_t fdt_size;
	struct device *tail = NULL;
	uint64_t rsdp = 0;
	uint8_t *buf;
	int ret;

	if (!vm.mem.nr_slots) {
		util__log_level = LOG_QUIET;
		cfg.mem_size = 16 << 20;
		vm.cfg = &cfg;
		vm.backend = &fake_backend;
		fg_init(&vm.mem);
		bus__init(&vm.pio, "pio");
		bus__init(&vm.mmio, "mmio");
	}
	ncpus = fg_take(&in, 1) % 80;
	nfake = fg_take(&in, 2) % (MAX_FAKE + 1);
	nrng = fg_take(&in, 1) % 4;
	fdt_size = fg_take(&in, 3) % (1 << 18);
	alen = fg_take(&in, 1);
	for (unsigned i = 0; i < alen && i < sizeof(append) - 1; i++)
		append[i] = fg_take(&in, 1) | 1;	/* no NUL inside */
	append[MIN(alen, sizeof(append) - 1)] = '\0';
	cfg.append = append;
	cfg.cpus = ncpus;
	vm.nr_vcpus = 0;
	vm.next_gsi = 0;
	vm.next_virtio_mmio = MMIO_VIRTIO_BASE;
	vm.devices = NULL;

	for (unsigned i = 0; i < nrng; i++)
		if (virtio_rng__create(&vm))
			abort();
	for (tail = vm.devices; tail && tail->next; tail = tail->next)
		;
	/* Per-device bytes repeat once the input runs out, so small inputs scale. */
	const uint8_t *dev_bytes = in.p;
	size_t dev_n = in.n;
	for (unsigned i = 0; i < nfake; i++) {
		struct fake *f = &fakes[i];
		struct fg_in din = { dev_n ? dev_bytes + (i * 15) % dev_n : NULL, 0 };

		din.n = dev_n ? MIN((size_t)15, dev_n - (i * 15) % dev_n) : 0;
		f->kind = fg_take(&din, 1);
		f->idx = fg_take(&din, 2);
		f->base = fg_take(&din, 8);
		f->gsi = fg_take(&din, 4);
		if (!(f->kind & 0x80)) {	/* mostly plausible: indices and windows in order */
			f->idx = i % 256;
			f->base = MMIO_VIRTIO_BASE + (uint64_t)(i % 256) * MMIO_VIRTIO_STRIDE;
		}
		f->dev = (struct device){ .name = "fake", .opaque = f, .acpi_aml = fake_aml,
					  .fdt_node = fake_fdt };
		if (tail)
			tail->next = &f->dev;
		else
			vm.devices = &f->dev;
		tail = &f->dev;
	}

	memset(mem__gpa_to_hva(&vm.mem, ACPI_TABLES_BASE - 4096, 4096), CANARY, 4096);
	memset(mem__gpa_to_hva(&vm.mem, ACPI_TABLES_END, 4096), CANARY, 4096);
	ret = acpi__build(&vm, &rsdp);
	check_acpi(ret, ncpus, rsdp);

	buf = malloc(fdt_size ? fdt_size : 1);
	ret = fdt__build(&vm, buf, fdt_size);
	if (ret == 0) {
		if (fdt_check_full(buf, fdt_size) || fdt_totalsize(buf) > fdt_size)
			abort();
	} else if (ret != -ENOSPC && ret != -EINVAL && ret != -E2BIG) {
		/* -E2BIG: more than 64 devices with nodes, refused up front. */
		abort();
	}
	free(buf);

	/* Only the real devices own anything; unhook the fakes first. */
	for (struct device *d = vm.devices; d; d = d->next)
		if (d->next && d->next->opaque >= (void *)fakes &&
		    d->next->opaque < (void *)(fakes + MAX_FAKE)) {
			d->next = NULL;
			break;
		}
	if (vm.devices && vm.devices->opaque >= (void *)fakes &&
	    vm.devices->opaque < (void *)(fakes + MAX_FAKE))
		vm.devices = NULL;
	device__destroy_all(&vm);
	bus__exit(&vm.mmio);
	bus__init(&vm.mmio, "mmio");
	return 0;
}
