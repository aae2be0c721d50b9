/*
 * bzImage loader: synthetic kernels built in memory, loaded into a small
 * guest RAM, then the zero page, e820 map, page tables and entry state are
 * read back from guest memory.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "loader/loader.h"
#include "mem/mem.h"
#include "vm/vm.h"

#define MiB (1ULL << 20)
#define RAM_SIZE (64 * MiB)
#define PREF_ADDR (16 * MiB)
#define INIT_SIZE (8 * MiB)
#define PAYLOAD 8192u

struct fixture {
	struct vm vm;
	uint8_t *k;
	size_t klen;
	unsigned setup_sects;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
};

static void put16(uint8_t *p, size_t off, uint16_t v) { memcpy(p + off, &v, 2); }
static void put32(uint8_t *p, size_t off, uint32_t v) { memcpy(p + off, &v, 4); }
static void put64(uint8_t *p, size_t off, uint64_t v) { memcpy(p + off, &v, 8); }
static uint16_t get16(const uint8_t *p, size_t off) { uint16_t v; memcpy(&v, p + off, 2); return v; }
static uint32_t get32(const uint8_t *p, size_t off) { uint32_t v; memcpy(&v, p + off, 4); return v; }
static uint64_t get64(const uint8_t *p, size_t off) { uint64_t v; memcpy(&v, p + off, 8); return v; }

/* A protocol 2.15 relocatable 64-bit bzImage with @sects setup sectors. */
static void make_kernel(struct fixture *f, unsigned sects)
{
	unsigned eff = sects ? sects : 4;
	size_t setup = (eff + 1) * 512;

	free(f->k);
	f->setup_sects = sects;
	f->klen = setup + PAYLOAD;
	f->k = calloc(1, f->klen);
	assert_non_null(f->k);
	f->k[BZ_SETUP_SECTS] = (uint8_t)sects;
	put16(f->k, BZ_BOOT_FLAG, 0xaa55);
	f->k[BZ_JUMP] = 0xeb;
	f->k[BZ_JUMP + 1] = 0x6a;		/* header ends at 0x26c */
	put32(f->k, BZ_HEADER, BZ_HDRS_MAGIC);
	put16(f->k, BZ_VERSION, 0x020f);
	f->k[BZ_LOADFLAGS] = BZ_LOADED_HIGH;
	put32(f->k, BZ_INITRD_ADDR_MAX, 0x7fffffff);
	put32(f->k, BZ_KERNEL_ALIGNMENT, 0x200000);
	f->k[BZ_RELOCATABLE] = 1;
	put16(f->k, BZ_XLOADFLAGS, BZ_XLF_KERNEL_64 | 0x2);
	put32(f->k, BZ_CMDLINE_SIZE, 2047);
	put64(f->k, BZ_PREF_ADDRESS, PREF_ADDR);
	put32(f->k, BZ_INIT_SIZE, INIT_SIZE);
	for (size_t i = setup; i < f->klen; i++)
		f->k[i] = (uint8_t)(i * 7 + 3);
}

static int setup_ram(void **state, uint64_t ram)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || mem__init(&f->vm.mem, ram))
		return -1;
	make_kernel(f, 4);
	/* As if read back from a freshly created vCPU: must survive the loader. */
	f->sregs.apic_base = 0xfee00900;
	f->sregs.tr.type = 11;
	f->sregs.tr.present = 1;
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_ram(state, RAM_SIZE);
}

/* 3 GiB low + 16 MiB above 4 GiB: MAP_NORESERVE, so only touched pages cost. */
static int setup_high(void **state)
{
	return setup_ram(state, MEM_HOLE_START + 16 * MiB);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	mem__exit(&f->vm.mem);
	free(f->k);
	free(f);
	return 0;
}

static int load(struct fixture *f, const uint8_t *initrd, size_t ilen, const char *cmdline)
{
	return loader__bzimage(&f->vm, f->k, f->klen, initrd, ilen, cmdline, 0, 0, &f->regs,
			       &f->sregs);
}

static uint8_t *gpa(struct fixture *f, uint64_t a, uint64_t len)
{
	uint8_t *p = mem__gpa_to_hva(&f->vm.mem, a, len);

	assert_non_null(p);
	return p;
}

static void assert_error_mentions(const char *what)
{
	const char *e = loader__error();

	if (!strstr(e, what))
		fail_msg("loader__error() = \"%s\", expected it to mention \"%s\"", e, what);
	assert_null(strchr(e, '\n'));
}

static void assert_zero_page_untouched(struct fixture *f)
{
	uint8_t *bp = gpa(f, BOOT_ZERO_PAGE, 0x1000);

	for (int i = 0; i < 0x1000; i++)
		assert_int_equal(bp[i], 0);
}

static void test_valid_kernel(void **state)
{
	struct fixture *f = *state;
	static const char cmdline[] = "console=ttyS0 root=/dev/vda";
	uint8_t initrd[10000];
	uint8_t *bp;
	uint64_t iaddr;

	for (size_t i = 0; i < sizeof(initrd); i++)
		initrd[i] = (uint8_t)(i ^ 0x5a);
	assert_int_equal(loader__bzimage(&f->vm, f->k, f->klen, initrd, sizeof(initrd), cmdline,
					 0xe0000, 0x30000, &f->regs, &f->sregs), 0);
	assert_string_equal(loader__error(), "");

	/* Protected-mode code at pref_address. */
	assert_memory_equal(gpa(f, PREF_ADDR, PAYLOAD), f->k + 5 * 512, PAYLOAD);

	bp = gpa(f, BOOT_ZERO_PAGE, 0x1000);
	assert_memory_equal(bp + 0x1f1, f->k + 0x1f1, BZ_TYPE_OF_LOADER - 0x1f1);
	assert_int_equal(get16(bp, BZ_BOOT_FLAG), 0xaa55);
	assert_int_equal(get32(bp, BZ_HEADER), BZ_HDRS_MAGIC);
	assert_int_equal(bp[BZ_TYPE_OF_LOADER], 0xff);
	assert_int_equal(bp[BZ_LOADFLAGS], BZ_LOADED_HIGH | BZ_CAN_USE_HEAP);
	assert_int_equal(get32(bp, BZ_CMD_LINE_PTR), BOOT_CMDLINE);
	assert_string_equal((char *)gpa(f, BOOT_CMDLINE, sizeof(cmdline)), cmdline);
	assert_int_equal(get64(bp, BP_ACPI_RSDP_ADDR), 0xe0000);
	assert_int_equal(get64(bp, BZ_SETUP_DATA), 0x30000);
	assert_int_equal(bp[BP_SENTINEL], 0);

	/* initrd: top of RAM (below initrd_addr_max), page aligned. */
	iaddr = get32(bp, BZ_RAMDISK_IMAGE);
	assert_int_equal(get32(bp, BZ_RAMDISK_SIZE), sizeof(initrd));
	assert_int_equal(iaddr, (RAM_SIZE - sizeof(initrd)) & ~0xfffULL);
	assert_memory_equal(gpa(f, iaddr, sizeof(initrd)), initrd, sizeof(initrd));

	/* e820: low RAM, reserved EBDA..1 MiB (covers the ACPI tables), RAM. */
	struct loader_e820 e[3];
	assert_int_equal(bp[BP_E820_ENTRIES], 3);
	memcpy(e, bp + BP_E820_TABLE, sizeof(e));
	assert_int_equal(e[0].addr, 0);
	assert_int_equal(e[0].size, BOOT_EBDA);
	assert_int_equal(e[0].type, E820_RAM);
	assert_int_equal(e[1].addr, BOOT_EBDA);
	assert_int_equal(e[1].addr + e[1].size, MiB);
	assert_int_equal(e[1].type, E820_RESERVED);
	assert_true(e[1].addr <= ACPI_TABLES_BASE && ACPI_TABLES_END <= e[1].addr + e[1].size);
	assert_int_equal(e[2].addr, MiB);
	assert_int_equal(e[2].size, RAM_SIZE - MiB);
	assert_int_equal(e[2].type, E820_RAM);

	/* 64-bit entry state. */
	assert_int_equal(f->regs.rip, PREF_ADDR + 0x200);
	assert_int_equal(f->regs.rsi, BOOT_ZERO_PAGE);
	assert_int_equal(f->regs.rflags, 2);
	assert_int_equal(f->regs.rsp, 0);
	assert_int_equal(f->sregs.cs.selector, 0x10);
	assert_int_equal(f->sregs.cs.l, 1);
	assert_int_equal(f->sregs.cs.db, 0);
	assert_int_equal(f->sregs.cs.present, 1);
	assert_int_equal(f->sregs.ds.selector, 0x18);
	assert_int_equal(f->sregs.ss.selector, 0x18);
	assert_int_equal(f->sregs.es.type, 3);
	assert_true(f->sregs.cr0 & 1);			/* PE */
	assert_true(f->sregs.cr0 & (1ULL << 31));	/* PG */
	assert_false(f->sregs.cr0 & (3ULL << 29));	/* caches on: no CD/NW */
	assert_int_equal(f->sregs.cr4, 0x20);
	assert_int_equal(f->sregs.efer, 0x500);
	assert_int_equal(f->sregs.cr3, BOOT_PGTABLE);
	assert_int_equal(f->sregs.gdt.base, BOOT_GDT_ADDR);
	/* Left alone: KVM_SET_SREGS would disable the LAPIC with apic_base 0. */
	assert_int_equal(f->sregs.apic_base, 0xfee00900);
	assert_int_equal(f->sregs.tr.type, 11);

	/* GDT descriptors the selectors point at: 64-bit code, flat data. */
	uint8_t *gdt = gpa(f, BOOT_GDT_ADDR, 32);
	assert_int_equal(get64(gdt, 0x10), 0x00af9b000000ffffULL);
	assert_int_equal(get64(gdt, 0x18), 0x00cf93000000ffffULL);
	assert_true(f->sregs.gdt.limit >= 0x1f);
}

/* Walk the boot page tables like the MMU would for a 2 MiB mapping. */
static uint64_t walk(struct fixture *f, uint64_t va)
{
	uint64_t pml4e = get64(gpa(f, f->sregs.cr3, 4096), ((va >> 39) & 511) * 8);
	uint64_t pdpte, pde;

	assert_true(pml4e & 1);
	pdpte = get64(gpa(f, pml4e & ~0xfffULL, 4096), ((va >> 30) & 511) * 8);
	assert_true(pdpte & 1);
	pde = get64(gpa(f, pdpte & ~0xfffULL, 4096), ((va >> 21) & 511) * 8);
	assert_true(pde & 1);
	assert_true(pde & 0x80);
	assert_true(pde & 2);
	return (pde & ~0x1fffffULL) | (va & 0x1fffff);
}

static void test_page_tables_identity_4g(void **state)
{
	struct fixture *f = *state;
	static const uint64_t va[] = { 0, 0x7000, PREF_ADDR + 0x200, 0x40000123, 0xbfffffff,
				       0xfec00000, 0xfee00020, 0xffffffff };

	assert_int_equal(load(f, NULL, 0, ""), 0);
	for (size_t i = 0; i < sizeof(va) / sizeof(va[0]); i++)
		assert_int_equal(walk(f, va[i]), va[i]);
	assert_true(BOOT_PGTABLE + 6 * 4096 <= BOOT_PGTABLE_END);
}

static void test_setup_sects_zero_means_four(void **state)
{
	struct fixture *f = *state;

	make_kernel(f, 0);
	assert_int_equal(load(f, NULL, 0, ""), 0);
	assert_memory_equal(gpa(f, PREF_ADDR, PAYLOAD), f->k + 5 * 512, PAYLOAD);
	/* More setup sectors move the payload. */
	make_kernel(f, 30);
	assert_int_equal(load(f, NULL, 0, ""), 0);
	assert_memory_equal(gpa(f, PREF_ADDR, PAYLOAD), f->k + 31 * 512, PAYLOAD);
}

static void test_bad_magic(void **state)
{
	struct fixture *f = *state;

	f->k[BZ_HEADER] = 'X';
	assert_int_equal(load(f, NULL, 0, ""), -ENOEXEC);
	assert_error_mentions("not a bzImage");
	assert_zero_page_untouched(f);

	make_kernel(f, 4);
	put16(f->k, BZ_BOOT_FLAG, 0x55aa);
	assert_int_equal(load(f, NULL, 0, ""), -ENOEXEC);
	assert_error_mentions("not a bzImage");

	/* Too short to hold a setup header at all: never read past the end. */
	make_kernel(f, 4);
	assert_int_equal(loader__bzimage(&f->vm, f->k, 0x300, NULL, 0, "", 0, 0, &f->regs,
					 &f->sregs), -ENOEXEC);
	assert_error_mentions("not a bzImage");
}

static void test_truncated(void **state)
{
	struct fixture *f = *state;

	/* Header claims more setup sectors than the file has. */
	f->k[BZ_SETUP_SECTS] = 200;
	assert_int_equal(load(f, NULL, 0, ""), -ENOEXEC);
	assert_error_mentions("truncated");
	assert_zero_page_untouched(f);
}

static void test_old_protocol(void **state)
{
	struct fixture *f = *state;

	put16(f->k, BZ_VERSION, 0x0205);
	assert_int_equal(load(f, NULL, 0, ""), -ENOEXEC);
	assert_error_mentions("2.05 is too old");
	assert_zero_page_untouched(f);
}

static void test_not_64bit(void **state)
{
	struct fixture *f = *state;

	put16(f->k, BZ_XLOADFLAGS, 0x2);
	assert_int_equal(load(f, NULL, 0, ""), -ENOEXEC);
	assert_error_mentions("64-bit");
	/* 2.10 predates xloadflags: whatever sits there, no 64-bit entry. */
	make_kernel(f, 4);
	put16(f->k, BZ_VERSION, 0x020a);
	assert_int_equal(load(f, NULL, 0, ""), -ENOEXEC);
	assert_error_mentions("64-bit");
	assert_zero_page_untouched(f);
}

static void test_huge_init_size(void **state)
{
	struct fixture *f = *state;

	/* 16 MiB + 48 MiB + 4 KiB > 64 MiB of RAM. */
	put32(f->k, BZ_INIT_SIZE, 48 * MiB + 4096);
	assert_int_equal(load(f, NULL, 0, ""), -ENOMEM);
	assert_error_mentions("raise --mem");
	assert_zero_page_untouched(f);
	/* Exactly fitting is fine. */
	put32(f->k, BZ_INIT_SIZE, 48 * MiB);
	assert_int_equal(load(f, NULL, 0, ""), 0);

	/* A hostile pref_address must not wrap the range checks. */
	put64(f->k, BZ_PREF_ADDRESS, 0xffffffffffe00000ULL);
	assert_int_equal(load(f, NULL, 0, ""), -ENOMEM);
}

static void test_bad_alignment(void **state)
{
	struct fixture *f = *state;

	put32(f->k, BZ_KERNEL_ALIGNMENT, 0x300000);
	assert_int_equal(load(f, NULL, 0, ""), -ENOEXEC);
	assert_error_mentions("kernel_alignment");
	/* pref_address gets rounded up to kernel_alignment. */
	make_kernel(f, 4);
	put64(f->k, BZ_PREF_ADDRESS, PREF_ADDR + 0x1000);
	assert_int_equal(load(f, NULL, 0, ""), 0);
	assert_int_equal(f->regs.rip, PREF_ADDR + 0x200000 + 0x200);
}

static void test_not_relocatable(void **state)
{
	struct fixture *f = *state;

	f->k[BZ_RELOCATABLE] = 0;
	assert_int_equal(load(f, NULL, 0, ""), 0);
	assert_int_equal(f->regs.rip, BOOT_KERNEL_ADDR + 0x200);
	assert_memory_equal(gpa(f, BOOT_KERNEL_ADDR, PAYLOAD), f->k + 5 * 512, PAYLOAD);
	/* It moves itself to pref_address, so init_size counts from there. */
	put32(f->k, BZ_INIT_SIZE, 48 * MiB + 4096);
	assert_int_equal(load(f, NULL, 0, ""), -ENOMEM);
}

static void test_long_cmdline(void **state)
{
	struct fixture *f = *state;
	char line[40];

	put32(f->k, BZ_CMDLINE_SIZE, 16);	/* excludes the NUL */
	memset(line, 'a', 16);
	line[16] = '\0';
	assert_int_equal(load(f, NULL, 0, line), 0);
	assert_string_equal((char *)gpa(f, BOOT_CMDLINE, 17), line);

	memset(gpa(f, BOOT_ZERO_PAGE, 0x1000), 0, 0x1000);
	line[16] = 'b';
	line[17] = '\0';
	assert_int_equal(load(f, NULL, 0, line), -E2BIG);
	assert_error_mentions("at most 16");
	assert_zero_page_untouched(f);

	/* The mvm buffer limit applies even when the kernel allows more. */
	put32(f->k, BZ_CMDLINE_SIZE, 0x7fffffff);
	char *big = malloc(BOOT_CMDLINE_MAX + 1);
	assert_non_null(big);
	memset(big, 'c', BOOT_CMDLINE_MAX);
	big[BOOT_CMDLINE_MAX] = '\0';
	assert_int_equal(load(f, NULL, 0, big), -E2BIG);
	free(big);
}

static void test_initrd_limits(void **state)
{
	struct fixture *f = *state;
	size_t big = 40 * MiB;		/* kernel area ends at 24 MiB, RAM at 64 MiB */
	uint8_t *rd = calloc(1, big + 4096);
	uint8_t *bp;

	assert_non_null(rd);
	/* Exactly the room between the kernel's init_size area and RAM end. */
	assert_int_equal(load(f, rd, big, ""), 0);
	bp = gpa(f, BOOT_ZERO_PAGE, 0x1000);
	assert_int_equal(get32(bp, BZ_RAMDISK_IMAGE), PREF_ADDR + INIT_SIZE);

	/* One byte more no longer fits above init_size. */
	memset(bp, 0, 0x1000);
	assert_int_equal(load(f, rd, big + 1, ""), -ENOMEM);
	assert_error_mentions("initrd");
	assert_zero_page_untouched(f);

	/* initrd_addr_max caps the top: the last byte sits at or below it. */
	put32(f->k, BZ_INITRD_ADDR_MAX, 32 * MiB + 0x1234 - 1);
	assert_int_equal(load(f, rd, 5000, ""), 0);
	bp = gpa(f, BOOT_ZERO_PAGE, 0x1000);
	uint32_t a = get32(bp, BZ_RAMDISK_IMAGE);
	assert_int_equal(a, (32 * MiB + 0x1234 - 5000) & ~0xfffULL);
	assert_true(a + 5000 - 1 <= 32 * MiB + 0x1234 - 1);
	assert_true(a >= PREF_ADDR + INIT_SIZE);

	/* initrd_addr_max is inclusive: a page-multiple initrd ends exactly there. */
	put32(f->k, BZ_INITRD_ADDR_MAX, 32 * MiB - 1);
	assert_int_equal(load(f, rd, 8192, ""), 0);
	assert_int_equal(get32(gpa(f, BOOT_ZERO_PAGE, 0x1000), BZ_RAMDISK_IMAGE), 32 * MiB - 8192);

	/* A cap below the kernel leaves no room at all. */
	put32(f->k, BZ_INITRD_ADDR_MAX, 20 * MiB);
	assert_int_equal(load(f, rd, 4096, ""), -ENOMEM);
	assert_error_mentions("initrd");
	free(rd);
}

static void test_no_initrd_clears_fields(void **state)
{
	struct fixture *f = *state;
	uint8_t *bp;

	/* A file whose header carries junk in loader-written fields. */
	put32(f->k, BZ_RAMDISK_IMAGE, 0x12345678);
	put32(f->k, BZ_RAMDISK_SIZE, 0x1000);
	put64(f->k, BZ_SETUP_DATA, 0xdeadbeef);
	assert_int_equal(load(f, NULL, 0, NULL), 0);
	bp = gpa(f, BOOT_ZERO_PAGE, 0x1000);
	assert_int_equal(get32(bp, BZ_RAMDISK_IMAGE), 0);
	assert_int_equal(get32(bp, BZ_RAMDISK_SIZE), 0);
	assert_int_equal(get64(bp, BZ_SETUP_DATA), 0);
	assert_int_equal(get64(bp, BP_ACPI_RSDP_ADDR), 0);
	assert_string_equal((char *)gpa(f, BOOT_CMDLINE, 1), "");
}

static void test_high_ram_e820(void **state)
{
	struct fixture *f = *state;
	struct loader_e820 e[4];
	uint8_t rd[100] = { 1, 2, 3 };
	uint8_t *bp;

	assert_int_equal(load(f, rd, sizeof(rd), ""), 0);
	bp = gpa(f, BOOT_ZERO_PAGE, 0x1000);
	assert_int_equal(bp[BP_E820_ENTRIES], 4);
	memcpy(e, bp + BP_E820_TABLE, sizeof(e));
	assert_int_equal(e[2].addr, MiB);
	assert_int_equal(e[2].addr + e[2].size, MEM_HOLE_START);
	assert_int_equal(e[3].addr, MEM_HOLE_END);
	assert_int_equal(e[3].size, 16 * MiB);
	assert_int_equal(e[3].type, E820_RAM);
	/* initrd_addr_max (2 GiB - 1) is below the 3 GiB end of low RAM. */
	assert_int_equal(get32(bp, BZ_RAMDISK_IMAGE), (0x80000000ULL - sizeof(rd)) & ~0xfffULL);
	assert_memory_equal(gpa(f, get32(bp, BZ_RAMDISK_IMAGE), sizeof(rd)), rd, sizeof(rd));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_valid_kernel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_page_tables_identity_4g, setup, teardown),
		cmocka_unit_test_setup_teardown(test_setup_sects_zero_means_four, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_magic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_old_protocol, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_64bit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_huge_init_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_alignment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_relocatable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_cmdline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_initrd_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_initrd_clears_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_high_ram_e820, setup_high, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
