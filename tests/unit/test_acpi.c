/*
 * Unit tests for src/acpi: AML encodings (checked byte for byte against
 * iasl 20200925) and the tables acpi__build writes.  The PM ports are in
 * test_acpi_pm.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "acpi/acpi.h"
#include "devices/device.h"
#include "mem/mem.h"
#include "util/util.h"
#include "vm/vm.h"
#include "vm_fixture.h"

#include "acpi_iasl_ref.h"

static void assert_aml_eq(const struct aml *a, const uint8_t *want, size_t len)
{
	assert_int_equal(acpi__aml_err(a), 0);
	assert_int_equal(a->len, len);
	assert_memory_equal(a->buf, want, len);
}

static void test_matches_iasl_devices(void **state)
{
	struct aml a;
	size_t sb, pkg;

	acpi__aml_init(&a);
	sb = acpi__aml_scope(&a, "\\_SB");
	assert_int_equal(acpi__aml_com(&a, 1, 0x3f8, 4), 0);
	assert_int_equal(acpi__aml_virtio_mmio(&a, 0, 0xd0000000, 0x200, 5), 0);
	acpi__aml_end(&a, sb);
	acpi__aml_name(&a, "_S5");
	pkg = acpi__aml_package(&a, 4);
	acpi__aml_integer(&a, 5);
	acpi__aml_integer(&a, 5);
	acpi__aml_integer(&a, 0);
	acpi__aml_integer(&a, 0);
	acpi__aml_end(&a, pkg);
	assert_aml_eq(&a, iasl_ref, sizeof(iasl_ref));
	acpi__aml_free(&a);
}

static void test_matches_iasl_misc(void **state)
{
	static const uint8_t buf3[] = { 1, 2, 3 };
	struct aml a, res;
	size_t m, s, d, d2;

	acpi__aml_init(&a);
	acpi__aml_name(&a, "INT0");
	acpi__aml_integer(&a, 0);
	acpi__aml_name(&a, "INT1");
	acpi__aml_integer(&a, 1);
	acpi__aml_name(&a, "INTB");
	acpi__aml_integer(&a, 0x12);
	acpi__aml_name(&a, "INTW");
	acpi__aml_integer(&a, 0x1234);
	acpi__aml_name(&a, "INTD");
	acpi__aml_integer(&a, 0x12345678);
	acpi__aml_name(&a, "INTQ");
	acpi__aml_integer(&a, 0x123456789abcdef0ULL);
	acpi__aml_name(&a, "ALL1");
	acpi__aml_integer(&a, UINT64_MAX);
	acpi__aml_name(&a, "STR");
	acpi__aml_string(&a, "hello");
	acpi__aml_name(&a, "EID");
	acpi__aml_eisaid(&a, "PNP0A03");
	acpi__aml_name(&a, "BUF");
	acpi__aml_buffer(&a, buf3, sizeof(buf3));
	m = acpi__aml_method(&a, "MTH0", 0, false);
	acpi__aml_return(&a);
	acpi__aml_integer(&a, 0x2a);
	acpi__aml_end(&a, m);
	m = acpi__aml_method(&a, "MTH2", 2, true);
	acpi__aml_return(&a);
	acpi__aml_string(&a, "x");
	acpi__aml_end(&a, m);
	s = acpi__aml_scope(&a, "\\_SB");
	d = acpi__aml_device(&a, "DEV0");
	acpi__aml_name(&a, "_ADR");
	acpi__aml_integer(&a, 0);
	d2 = acpi__aml_device(&a, "SUB0");
	acpi__aml_name(&a, "_ADR");
	acpi__aml_integer(&a, 1);
	acpi__aml_end(&a, d2);
	acpi__aml_end(&a, d);
	acpi__aml_end(&a, s);
	s = acpi__aml_scope(&a, "\\_SB.DEV0");
	acpi__aml_name(&a, "A");
	acpi__aml_integer(&a, 1);
	acpi__aml_end(&a, s);
	s = acpi__aml_scope(&a, "\\_SB.DEV0.SUB0");
	acpi__aml_name(&a, "B");
	acpi__aml_integer(&a, 0);
	acpi__aml_end(&a, s);
	acpi__aml_init(&res);
	acpi__res_interrupt(&res, true, true, 0x10);
	acpi__res_memory32_fixed(&res, false, 0x1000, 0x2000);
	acpi__aml_name(&a, "RES");
	acpi__aml_restemplate(&a, &res);
	acpi__aml_free(&res);
	assert_aml_eq(&a, iasl_misc, sizeof(iasl_misc));
	acpi__aml_free(&a);
}

static void test_matches_iasl_big_buffer(void **state)
{
	uint8_t data[5000];
	struct aml a;

	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = i & 0xff;
	acpi__aml_init(&a);
	acpi__aml_name(&a, "BIG");
	acpi__aml_buffer(&a, data, sizeof(data));
	assert_int_equal(acpi__aml_err(&a), 0);
	assert_int_equal(a.len, IASL_BIG_LEN);
	assert_memory_equal(a.buf, iasl_big_head, sizeof(iasl_big_head));
	assert_memory_equal(a.buf + sizeof(iasl_big_head), data, sizeof(data));
	acpi__aml_free(&a);
}

/* PkgLength forms from ACPI 6.5 section 20.2.4, at every boundary. */
static void test_pkglen_forms(void **state)
{
	static const struct {
		size_t content;
		int n;
		uint8_t bytes[4];
	} cases[] = {
		{ 0, 1, { 0x01 } },
		{ 0x3e, 1, { 0x3f } },				/* largest 1-byte */
		{ 0x3f, 2, { 0x41, 0x04 } },			/* total 0x41 */
		{ 0xffd, 2, { 0x4f, 0xff } },			/* total 0xfff */
		{ 0xffe, 3, { 0x81, 0x00, 0x01 } },		/* total 0x1001 */
		{ 0xffffc, 3, { 0x8f, 0xff, 0xff } },		/* total 0xfffff */
		{ 0xffffd, 4, { 0xc1, 0x00, 0x00, 0x01 } },	/* total 0x100001 */
		{ 0xffffffb, 4, { 0xcf, 0xff, 0xff, 0xff } },	/* total 0xfffffff */
	};
	uint8_t out[4];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		memset(out, 0xee, sizeof(out));
		assert_int_equal(acpi__aml_pkglen(out, cases[i].content), cases[i].n);
		assert_memory_equal(out, cases[i].bytes, cases[i].n);
	}
	assert_int_equal(acpi__aml_pkglen(out, 0xffffffc), -ERANGE);
}

/* A Scope whose body needs a 4-byte PkgLength, built through acpi__aml_end. */
static void test_pkglen_four_bytes_in_scope(void **state)
{
	const size_t body = 0x100000;
	uint8_t *zeros = calloc(1, body);
	struct aml a;
	size_t s;

	assert_non_null(zeros);
	acpi__aml_init(&a);
	s = acpi__aml_scope(&a, "\\_SB");
	acpi__aml_raw(&a, zeros, body);
	acpi__aml_end(&a, s);
	assert_int_equal(acpi__aml_err(&a), 0);
	/* 0x10, 4 length bytes, "\_SB_" (5 bytes), body: total after op 4+5+body. */
	assert_int_equal(a.len, 1 + 4 + 5 + body);
	uint32_t total = 4 + 5 + body;
	assert_int_equal(a.buf[1], 0xc0 | (total & 0xf));
	assert_int_equal(a.buf[2], (total >> 4) & 0xff);
	assert_int_equal(a.buf[3], (total >> 12) & 0xff);
	assert_int_equal(a.buf[4], (total >> 20) & 0xff);
	assert_memory_equal(a.buf + 5, "\\_SB_", 5);
	acpi__aml_free(&a);
	free(zeros);
}

static void test_bad_input_is_sticky(void **state)
{
	struct aml a;

	acpi__aml_init(&a);
	acpi__aml_name(&a, "lower");		/* lower case is not a NameSeg */
	assert_int_equal(acpi__aml_err(&a), -EINVAL);
	acpi__aml_integer(&a, 7);		/* no-op after an error */
	assert_int_equal(acpi__aml_err(&a), -EINVAL);
	acpi__aml_free(&a);

	acpi__aml_init(&a);
	acpi__aml_name(&a, "TOOLONG");
	assert_int_equal(acpi__aml_err(&a), -EINVAL);
	acpi__aml_free(&a);

	acpi__aml_init(&a);
	acpi__aml_eisaid(&a, "PNP05G1");
	assert_int_equal(acpi__aml_err(&a), -EINVAL);
	acpi__aml_free(&a);

	acpi__aml_init(&a);
	assert_int_equal(acpi__aml_virtio_mmio(&a, 0, 0x100000000ULL, 0x200, 5), -EINVAL);
	acpi__aml_free(&a);

	acpi__aml_init(&a);
	struct aml r;
	acpi__aml_init(&r);
	acpi__res_irq_noflags(&r, 16);
	acpi__aml_restemplate(&a, &r);
	assert_int_equal(acpi__aml_err(&a), -EINVAL);
	acpi__aml_free(&r);
	acpi__aml_free(&a);
}

static void test_namestring_forms(void **state)
{
	static const uint8_t want[] = {
		'\\', 0,					/* "\" */
		'^', '^', 'A', 'B', '_', '_',			/* "^^AB" */
		'\\', 0x2e, '_', 'S', 'B', '_', 'V', 'R', '0', '0',
		0x2f, 3, 'A', '_', '_', '_', 'B', '_', '_', '_', 'C', '_', '_', '_',
	};
	struct aml a;

	acpi__aml_init(&a);
	acpi__aml_namestring(&a, "\\");
	acpi__aml_namestring(&a, "^^AB");
	acpi__aml_namestring(&a, "\\_SB.VR00");
	acpi__aml_namestring(&a, "A.B.C");
	assert_aml_eq(&a, want, sizeof(want));
	acpi__aml_free(&a);
}

/* --- tables ---------------------------------------------------------------- */

static uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return s;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

/* A table at @gpa: inside the ACPI window, signature, checksum.  Returns it. */
static const uint8_t *check_table(struct vm *vm, uint64_t gpa, const char *sig)
{
	const uint8_t *t;
	uint32_t len;

	assert_true(gpa >= ACPI_TABLES_BASE && gpa + 36 <= ACPI_TABLES_END);
	t = mem__gpa_to_hva(&vm->mem, gpa, 36);
	assert_non_null(t);
	assert_memory_equal(t, sig, 4);
	len = rd32(t + 4);
	assert_true(len >= 36 && gpa + len <= ACPI_TABLES_END);
	assert_int_equal(sum8(t, len), 0);
	return t;
}

struct tables {
	const uint8_t *rsdp, *xsdt, *fadt, *madt, *dsdt;
};

static void walk_tables(struct vm *vm, struct tables *t)
{
	uint64_t rsdp_gpa = 0;
	uint32_t xlen;

	assert_int_equal(acpi__build(vm, &rsdp_gpa), 0);
	/* Linux's BIOS-area scan: 16-byte aligned in 0xe0000-0xfffff. */
	assert_int_equal(rsdp_gpa, ACPI_TABLES_BASE);
	assert_int_equal(rsdp_gpa % 16, 0);
	t->rsdp = mem__gpa_to_hva(&vm->mem, rsdp_gpa, 36);
	assert_memory_equal(t->rsdp, "RSD PTR ", 8);
	assert_int_equal(t->rsdp[15], 2);			/* revision */
	assert_int_equal(sum8(t->rsdp, 20), 0);
	assert_int_equal(rd32(t->rsdp + 20), 36);
	assert_int_equal(sum8(t->rsdp, 36), 0);

	t->xsdt = check_table(vm, rd64(t->rsdp + 24), "XSDT");
	xlen = rd32(t->xsdt + 4);
	assert_int_equal(xlen, 36 + 2 * 8);
	t->fadt = check_table(vm, rd64(t->xsdt + 36), "FACP");
	t->madt = check_table(vm, rd64(t->xsdt + 44), "APIC");
	t->dsdt = check_table(vm, rd64(t->fadt + 140), "DSDT");
}

static void test_fadt(void **state)
{
	struct fixture *f = *state;
	struct tables t;

	walk_tables(&f->vm, &t);
	assert_int_equal(rd32(t.fadt + 4), 276);
	assert_int_equal(t.fadt[8], 6);				/* revision */
	assert_int_equal(t.fadt[131], 5);			/* minor version */
	assert_true(rd32(t.fadt + 112) & (1u << 20));		/* HW_REDUCED_ACPI */
	assert_true(rd32(t.fadt + 112) & (1u << 10));		/* RESET_REG_SUP */
	/* VGA not present; the RTC and its CMOS are present. */
	assert_int_equal(t.fadt[109] & (1u << 2), 1u << 2);
	assert_int_equal(t.fadt[109] & (1u << 5), 0);
	/* Reset register: System I/O, 8 bits, at the PM reset port. */
	assert_int_equal(t.fadt[116], 1);
	assert_int_equal(t.fadt[117], 8);
	assert_int_equal(rd64(t.fadt + 120), ACPI_PM_RESET);
	assert_int_equal(t.fadt[128], ACPI_RESET_VALUE);
	/* Sleep control / status. */
	assert_int_equal(t.fadt[244], 1);
	assert_int_equal(rd64(t.fadt + 248), ACPI_PM_SLEEP_CONTROL);
	assert_int_equal(t.fadt[256], 1);
	assert_int_equal(rd64(t.fadt + 260), ACPI_PM_SLEEP_STATUS);
	/* Only X_DSDT; FACS absent. */
	assert_int_equal(rd32(t.fadt + 40), 0);
	assert_int_equal(rd32(t.fadt + 36), 0);
	assert_int_equal(rd64(t.fadt + 132), 0);
}

/* Real mode at F000:FFF0: mov al, 1; mov dx, 0x602; out dx, al; cli; hlt; jmp $-1. */
static void test_reset_stub(void **state)
{
	struct fixture *f = *state;
	static const uint8_t want[] = { 0xb0, ACPI_RESET_VALUE, 0xba, 0x02, 0x06, 0xee,
					0xfa, 0xf4, 0xeb, 0xfd };
	struct tables t;

	assert_int_equal(ACPI_PM_RESET, 0x602);
	walk_tables(&f->vm, &t);
	assert_memory_equal(mem__gpa_to_hva(&f->vm.mem, 0xffff0, sizeof(want)), want, sizeof(want));
	/* The DSDT, last table, stays clear of it. */
	assert_true(rd64(t.fadt + 140) + rd32(t.dsdt + 4) <= 0xffff0);
}

static void check_madt(struct fixture *f, int ncpus)
{
	struct tables t;
	int lapics = 0, ioapics = 0, isos = 0, nmis = 0;
	uint32_t len;

	f->cfg.cpus = ncpus;
	walk_tables(&f->vm, &t);
	len = rd32(t.madt + 4);
	assert_int_equal(rd32(t.madt + 36), MMIO_LAPIC_BASE);
	assert_int_equal(rd32(t.madt + 40), 1);			/* PCAT_COMPAT */
	for (uint32_t off = 44; off < len;) {
		const uint8_t *e = t.madt + off;
		assert_true(e[1] >= 2 && off + e[1] <= len);
		switch (e[0]) {
		case 0:
			assert_int_equal(e[1], 8);
			assert_int_equal(e[2], lapics);		/* ACPI id */
			assert_int_equal(e[3], lapics);		/* APIC id */
			assert_int_equal(rd32(e + 4), 1);	/* enabled */
			lapics++;
			break;
		case 1:
			assert_int_equal(e[2], ncpus);
			assert_int_equal(rd32(e + 4), MMIO_IOAPIC_BASE);
			assert_int_equal(rd32(e + 8), 0);
			ioapics++;
			break;
		case 2:
			assert_int_equal(e[3], 0);
			assert_int_equal(rd32(e + 4), 2);
			isos++;
			break;
		case 4:
			assert_int_equal(e[2], 0xff);
			assert_int_equal(e[5], 1);		/* LINT1 */
			nmis++;
			break;
		default:
			fail_msg("unexpected MADT entry type %u", e[0]);
		}
		off += e[1];
	}
	assert_int_equal(lapics, ncpus);
	assert_int_equal(ioapics, 1);
	assert_int_equal(isos, 1);
	assert_int_equal(nmis, 1);
	assert_int_equal(len, 44 + 8 * ncpus + 12 + 10 + 6);
}

static void test_madt_1(void **state) { check_madt(*state, 1); }
static void test_madt_2(void **state) { check_madt(*state, 2); }
static void test_madt_64(void **state) { check_madt(*state, VM_MAX_VCPUS); }

static size_t count(const uint8_t *hay, size_t len, const char *needle)
{
	size_t n = 0, nl = strlen(needle);

	for (size_t i = 0; i + nl <= len; i++)
		n += !memcmp(hay + i, needle, nl);
	return n;
}

struct fake_dev {
	struct device dev;
	unsigned idx;
	size_t junk;	/* bytes of raw AML to add */
	int fail;
};

static int fake_aml(struct device *d, struct aml *a)
{
	struct fake_dev *fd = d->opaque;

	if (fd->fail)
		return fd->fail;
	if (fd->junk) {
		uint8_t *z = calloc(1, fd->junk);
		acpi__aml_raw(a, z, fd->junk);
		free(z);
		return acpi__aml_err(a);
	}
	return acpi__aml_virtio_mmio(a, fd->idx, MMIO_VIRTIO_BASE + fd->idx * 0x1000, 0x200,
				     5 + fd->idx);
}

static void test_dsdt_walks_devices(void **state)
{
	struct fixture *f = *state;
	struct fake_dev devs[3];
	struct tables t;
	uint32_t len;

	f->cfg.cpus = 3;
	for (unsigned i = 0; i < 3; i++) {
		devs[i] = (struct fake_dev){ .idx = i };
		devs[i].dev = (struct device){ .name = "fake", .opaque = &devs[i],
					       .acpi_aml = fake_aml };
		device__register(&f->vm, &devs[i].dev);
	}
	walk_tables(&f->vm, &t);
	len = rd32(t.dsdt + 4);
	assert_int_equal(t.dsdt[8], 2);				/* 64-bit integers */
	assert_int_equal(count(t.dsdt, len, "ACPI0007"), 3);
	assert_int_equal(count(t.dsdt, len, "LNRO0005"), 3);
	assert_int_equal(count(t.dsdt, len, "VR00"), 1);
	assert_int_equal(count(t.dsdt, len, "VR02"), 1);
	/* Name(_S5_, Package(4) { 5, 5, 0, 0 }) */
	static const uint8_t s5[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04,
				      0x0a, 5, 0x0a, 5, 0x00, 0x00 };
	assert_memory_equal(t.dsdt + len - sizeof(s5), s5, sizeof(s5));
	f->vm.devices = NULL;	/* stack devices: nothing to destroy */
}

static void test_build_errors(void **state)
{
	struct fixture *f = *state;
	struct fake_dev big = { .junk = ACPI_TABLES_END - ACPI_TABLES_BASE };
	struct fake_dev bad = { .fail = -EIO };
	uint64_t rsdp = 0x1234;

	big.dev = (struct device){ .name = "big", .opaque = &big, .acpi_aml = fake_aml };
	device__register(&f->vm, &big.dev);
	assert_int_equal(acpi__build(&f->vm, &rsdp), -ENOSPC);
	assert_int_equal(rsdp, 0x1234);

	f->vm.devices = NULL;
	bad.dev = (struct device){ .name = "bad", .opaque = &bad, .acpi_aml = fake_aml };
	device__register(&f->vm, &bad.dev);
	assert_int_equal(acpi__build(&f->vm, &rsdp), -EIO);
	f->vm.devices = NULL;

	f->cfg.cpus = 0;
	assert_int_equal(acpi__build(&f->vm, &rsdp), -EINVAL);
	f->cfg.cpus = 1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matches_iasl_devices),
		cmocka_unit_test(test_matches_iasl_misc),
		cmocka_unit_test(test_matches_iasl_big_buffer),
		cmocka_unit_test(test_pkglen_forms),
		cmocka_unit_test(test_pkglen_four_bytes_in_scope),
		cmocka_unit_test(test_bad_input_is_sticky),
		cmocka_unit_test(test_namestring_forms),
		cmocka_unit_test_setup_teardown(test_fadt, setup_vm, teardown_vm),
		cmocka_unit_test_setup_teardown(test_reset_stub, setup_vm, teardown_vm),
		cmocka_unit_test_setup_teardown(test_madt_1, setup_vm, teardown_vm),
		cmocka_unit_test_setup_teardown(test_madt_2, setup_vm, teardown_vm),
		cmocka_unit_test_setup_teardown(test_madt_64, setup_vm, teardown_vm),
		cmocka_unit_test_setup_teardown(test_dsdt_walks_devices, setup_vm, teardown_vm),
		cmocka_unit_test_setup_teardown(test_build_errors, setup_vm, teardown_vm),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
