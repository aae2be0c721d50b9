/*
 * Linux bzImage loader: the 64-bit boot protocol of
 * Documentation/arch/x86/boot.rst.  Everything about the input file is
 * checked before guest memory is touched, so a rejected kernel leaves RAM as
 * it was and a one-line reason in loader__error().
 */
#include "loader.h"

#include "../mem/mem.h"
#include "../util/util.h"
#include "../vm/vm.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define SECTOR			512u
#define DEFAULT_SETUP_SECTS	4u	/* setup_sects == 0 means 4 (boot.rst) */
#define BZ_MIN_FILE		0x400u	/* boot sector + the header page */
#define ENTRY64_OFFSET		0x200u	/* 64-bit entry: load address + 0x200 */
#define ZERO_PAGE_SIZE		0x1000u
#define HEAP_END_PTR		0xfe00u
#define LOADER_TYPE_UNDEFINED	0xffu
#define PAGE_SIZE_4K		0x1000ULL
#define HUGE_2M			(2ULL << 20)
#define ONE_MIB			0x100000ULL

#define BOOT_CS			0x10
#define BOOT_DS			0x18

#define PTE_P			0x001ULL
#define PTE_RW			0x002ULL
#define PTE_PS			0x080ULL

#define X86_CR0_PE		(1ULL << 0)
#define X86_CR0_ET		(1ULL << 4)
#define X86_CR0_NE		(1ULL << 5)
#define X86_CR0_PG		(1ULL << 31)
#define X86_CR4_PAE		(1ULL << 5)
#define EFER_LME		(1ULL << 8)
#define EFER_LMA		(1ULL << 10)

static __thread char loader_err[256];

const char *loader__error(void)
{
	return loader_err;
}

void loader__set_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(loader_err, sizeof(loader_err), fmt, ap);
	va_end(ap);
}

static uint16_t rd16(const uint8_t *p, size_t off)
{
	uint16_t v;

	memcpy(&v, p + off, sizeof(v));
	return v;
}

static uint32_t rd32(const uint8_t *p, size_t off)
{
	uint32_t v;

	memcpy(&v, p + off, sizeof(v));
	return v;
}

static uint64_t rd64(const uint8_t *p, size_t off)
{
	uint64_t v;

	memcpy(&v, p + off, sizeof(v));
	return v;
}

static void wr8(uint8_t *p, size_t off, uint8_t v)
{
	p[off] = v;
}

static void wr16(uint8_t *p, size_t off, uint16_t v)
{
	memcpy(p + off, &v, sizeof(v));
}

static void wr32(uint8_t *p, size_t off, uint32_t v)
{
	memcpy(p + off, &v, sizeof(v));
}

static void wr64(uint8_t *p, size_t off, uint64_t v)
{
	memcpy(p + off, &v, sizeof(v));
}

/* [base, base+len) lies inside [0, end) without wrapping. */
static bool fits_below(uint64_t base, uint64_t len, uint64_t end)
{
	return base <= end && len <= end - base;
}

/* What the header says, validated; filled by parse_header(). */
struct bz_layout {
	uint16_t version;
	size_t setup_size, hdr_end;
	uint64_t load, payload;		/* protected-mode code: guest address, bytes */
	uint64_t kernel_end;		/* first byte past load image and init_size area */
	uint64_t initrd_addr;
	size_t cmdline_len;
};

static uint64_t low_ram_end(const struct guest_mem *m)
{
	for (int i = 0; i < m->nr_slots; i++)
		if (m->slot[i].gpa == 0)
			return m->slot[i].size;
	return 0;
}

static int parse_header(const uint8_t *k, size_t klen, struct bz_layout *l)
{
	unsigned int sects;

	if (klen < BZ_MIN_FILE)
		goto not_bz;
	if (rd16(k, BZ_BOOT_FLAG) != 0xaa55 || rd32(k, BZ_HEADER) != BZ_HDRS_MAGIC)
		goto not_bz;
	l->version = rd16(k, BZ_VERSION);
	if (l->version < BZ_MIN_VERSION) {
		loader__set_error("boot protocol %u.%02u is too old: mvm needs 2.06 or newer",
				  l->version >> 8, l->version & 0xff);
		return -ENOEXEC;
	}
	/* xloadflags exists from 2.12; older kernels have no 64-bit entry. */
	if (l->version < 0x020c || !(rd16(k, BZ_XLOADFLAGS) & BZ_XLF_KERNEL_64)) {
		loader__set_error("boot protocol %u.%02u kernel has no 64-bit entry point "
				  "(XLF_KERNEL_64 unset): use an x86_64 kernel",
				  l->version >> 8, l->version & 0xff);
		return -ENOEXEC;
	}
	sects = k[BZ_SETUP_SECTS] ? k[BZ_SETUP_SECTS] : DEFAULT_SETUP_SECTS;
	l->setup_size = (size_t)(sects + 1) * SECTOR;
	if (l->setup_size >= klen) {
		loader__set_error("truncated bzImage: %zu setup bytes but the file has %zu",
				  l->setup_size, klen);
		return -ENOEXEC;
	}
	l->payload = klen - l->setup_size;
	l->hdr_end = MIN((size_t)(BZ_HEADER + k[BZ_JUMP + 1]), (size_t)BZ_HEADER_END_MAX);
	return 0;
not_bz:
	loader__set_error("not a bzImage (no 0xAA55 boot flag and \"HdrS\" header)");
	return -ENOEXEC;
}

/* Where the kernel goes and how much RAM it needs before it reads e820. */
static int place_kernel(const uint8_t *k, struct bz_layout *l, uint64_t low_end)
{
	uint64_t pref = 0, init_size = 0, runtime, need;

	if (l->version >= 0x020a) {
		pref = rd64(k, BZ_PREF_ADDRESS);
		init_size = rd32(k, BZ_INIT_SIZE);
	}
	if (k[BZ_RELOCATABLE]) {
		uint32_t align = rd32(k, BZ_KERNEL_ALIGNMENT);

		if (align == 0 || (align & (align - 1))) {
			loader__set_error("bad kernel_alignment 0x%x in the setup header", align);
			return -ENOEXEC;
		}
		l->load = MAX(pref, BOOT_KERNEL_ADDR);
		if (l->load > low_end) {
			loader__set_error("kernel wants to load at 0x%llx, beyond the %llu MiB of "
					  "low RAM: raise --mem", (unsigned long long)l->load,
					  (unsigned long long)(low_end >> 20));
			return -ENOMEM;
		}
		l->load = ALIGN_UP(l->load, (uint64_t)align);
		runtime = l->load;
	} else {
		/* A non-relocatable kernel moves itself to pref_address. */
		l->load = BOOT_KERNEL_ADDR;
		runtime = pref ? pref : l->load;
	}
	need = MAX(init_size, l->payload);
	if (!fits_below(l->load, l->payload, low_end) || !fits_below(runtime, need, low_end)) {
		loader__set_error("kernel needs %llu MiB of RAM from 0x%llx (init_size %llu MiB), "
				  "guest has %llu MiB below the MMIO hole: raise --mem",
				  (unsigned long long)((need + ONE_MIB - 1) >> 20),
				  (unsigned long long)runtime,
				  (unsigned long long)(init_size >> 20),
				  (unsigned long long)(low_end >> 20));
		return -ENOMEM;
	}
	l->kernel_end = ALIGN_UP(MAX(l->load + l->payload, runtime + need), PAGE_SIZE_4K);
	return 0;
}

static int place_initrd(const uint8_t *k, struct bz_layout *l, size_t ilen, uint64_t low_end)
{
	uint64_t top = MIN((uint64_t)rd32(k, BZ_INITRD_ADDR_MAX) + 1, low_end);
	uint64_t room = top > l->kernel_end ? ALIGN_DOWN(top, PAGE_SIZE_4K) - l->kernel_end : 0;

	if (ilen > room) {
		loader__set_error("initrd is %zu bytes but only %llu fit between the kernel "
				  "(ends at 0x%llx) and 0x%llx: raise --mem or shrink the initrd",
				  ilen, (unsigned long long)room,
				  (unsigned long long)l->kernel_end, (unsigned long long)top);
		return -ENOMEM;
	}
	l->initrd_addr = ALIGN_DOWN(top - ilen, PAGE_SIZE_4K);
	return 0;
}

static int check_cmdline(const uint8_t *k, struct bz_layout *l, const char *cmdline)
{
	uint64_t max = MIN((uint64_t)rd32(k, BZ_CMDLINE_SIZE), BOOT_CMDLINE_MAX - 1);

	l->cmdline_len = strlen(cmdline);
	if (l->cmdline_len > max) {
		loader__set_error("command line is %zu bytes, the kernel accepts at most %llu",
				  l->cmdline_len, (unsigned long long)max);
		return -E2BIG;
	}
	return 0;
}

/*
 * The e820 map straight from the RAM slots.  The low slot loses the EBDA to
 * 1 MiB window (where the ACPI tables live) to a reserved entry.
 */
static int build_e820(const struct guest_mem *m, struct loader_e820 *e, int max)
{
	int n = 0;

	for (int i = 0; i < m->nr_slots; i++) {
		const struct mem_slot *s = &m->slot[i];

		if (n + 3 > max)
			break;
		if (s->gpa == 0 && s->size > ONE_MIB) {
			e[n++] = (struct loader_e820){ 0, BOOT_EBDA, E820_RAM };
			e[n++] = (struct loader_e820){ BOOT_EBDA, ONE_MIB - BOOT_EBDA, E820_RESERVED };
			e[n++] = (struct loader_e820){ ONE_MIB, s->size - ONE_MIB, E820_RAM };
		} else {
			e[n++] = (struct loader_e820){ s->gpa, s->size, E820_RAM };
		}
	}
	return n;
}

static void build_zero_page(uint8_t *bp, const uint8_t *k, const struct bz_layout *l,
			    const struct guest_mem *m, size_t ilen, uint64_t rsdp,
			    uint64_t setup_data)
{
	struct loader_e820 e820[BP_E820_MAX];
	int n;

	memset(bp, 0, ZERO_PAGE_SIZE);
	memcpy(bp + BZ_SETUP_SECTS, k + BZ_SETUP_SECTS, l->hdr_end - BZ_SETUP_SECTS);
	wr8(bp, BZ_TYPE_OF_LOADER, LOADER_TYPE_UNDEFINED);
	wr8(bp, BZ_LOADFLAGS, bp[BZ_LOADFLAGS] | BZ_CAN_USE_HEAP);
	wr16(bp, BZ_HEAP_END_PTR, HEAP_END_PTR);
	wr32(bp, BZ_CMD_LINE_PTR, (uint32_t)BOOT_CMDLINE);
	/* Written even when zero: the file's copy of these must not leak through. */
	wr32(bp, BZ_RAMDISK_IMAGE, ilen ? (uint32_t)l->initrd_addr : 0);
	wr32(bp, BZ_RAMDISK_SIZE, (uint32_t)ilen);
	wr64(bp, BP_ACPI_RSDP_ADDR, rsdp);
	wr64(bp, BZ_SETUP_DATA, setup_data);	/* 2.09+, implied by XLF_KERNEL_64 */
	n = build_e820(m, e820, BP_E820_MAX);
	memcpy(bp + BP_E820_TABLE, e820, (size_t)n * sizeof(e820[0]));
	wr8(bp, BP_E820_ENTRIES, (uint8_t)n);
}

/* PML4 -> PDPT -> 4 PDs of 2 MiB pages: the first 4 GiB, identity mapped. */
static void build_page_tables(uint8_t *pt)
{
	uint64_t pml4 = BOOT_PGTABLE, pdpt = pml4 + 0x1000, pd = pdpt + 0x1000;

	memset(pt, 0, BOOT_PGTABLE_END - BOOT_PGTABLE);
	wr64(pt, 0, pdpt | PTE_P | PTE_RW);
	for (uint64_t i = 0; i < 4; i++)
		wr64(pt, pdpt - pml4 + i * 8, (pd + i * 0x1000) | PTE_P | PTE_RW);
	for (uint64_t i = 0; i < 4 * 512; i++)
		wr64(pt, pd - pml4 + i * 8, (i * HUGE_2M) | PTE_P | PTE_RW | PTE_PS);
}

static const uint64_t boot_gdt[] = {
	0,
	0,
	0x00af9b000000ffffULL,	/* 0x10: 64-bit code, execute/read */
	0x00cf93000000ffffULL,	/* 0x18: flat 4 GiB data, read/write */
};

static void set_entry_state(const struct bz_layout *l, struct kvm_regs *regs,
			    struct kvm_sregs *sregs)
{
	struct kvm_segment cs = {
		.base = 0, .limit = 0xffffffff, .selector = BOOT_CS,
		.type = 11, .present = 1, .s = 1, .l = 1, .g = 1,
	};
	struct kvm_segment ds = {
		.base = 0, .limit = 0xffffffff, .selector = BOOT_DS,
		.type = 3, .present = 1, .s = 1, .db = 1, .g = 1,
	};

	memset(regs, 0, sizeof(*regs));
	regs->rip = l->load + ENTRY64_OFFSET;
	regs->rsi = BOOT_ZERO_PAGE;
	regs->rflags = 2;

	sregs->cs = cs;
	sregs->ds = sregs->es = sregs->fs = sregs->gs = sregs->ss = ds;
	sregs->gdt.base = BOOT_GDT_ADDR;
	sregs->gdt.limit = sizeof(boot_gdt) - 1;
	/* Caches on (no CD/NW): the reset value would run the boot uncached. */
	sregs->cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE | X86_CR0_PG;
	sregs->cr3 = BOOT_PGTABLE;
	sregs->cr4 = X86_CR4_PAE;
	sregs->efer = EFER_LME | EFER_LMA;
}

/* Every check loader__bzimage makes before it writes guest memory. */
static int plan(const uint8_t *kernel, size_t klen, size_t ilen, const char *cmdline,
		uint64_t low_end, struct bz_layout *l)
{
	int r;

	loader_err[0] = '\0';
	memset(l, 0, sizeof(*l));
	if ((r = parse_header(kernel, klen, l)) || (r = place_kernel(kernel, l, low_end)) ||
	    (r = check_cmdline(kernel, l, cmdline)) ||
	    (ilen && (r = place_initrd(kernel, l, ilen, low_end))))
		return r;
	return 0;
}

int loader__bzimage_check(const uint8_t *kernel, size_t klen, size_t ilen, const char *cmdline,
			  uint64_t ram_size)
{
	struct bz_layout l;

	return plan(kernel, klen, ilen, cmdline ? cmdline : "", MIN(ram_size, MEM_HOLE_START), &l);
}

int loader__bzimage(struct vm *vm, const uint8_t *kernel, size_t klen,
		    const uint8_t *initrd, size_t ilen, const char *cmdline,
		    uint64_t rsdp, uint64_t setup_data,
		    struct kvm_regs *regs, struct kvm_sregs *sregs)
{
	struct guest_mem *m = &vm->mem;
	struct bz_layout l;
	uint8_t *bp, *pt;
	int r;

	if (!cmdline)
		cmdline = "";
	if (!initrd)
		ilen = 0;
	r = plan(kernel, klen, ilen, cmdline, low_ram_end(m), &l);
	if (r)
		return r;

	bp = mem__gpa_to_hva(m, BOOT_ZERO_PAGE, ZERO_PAGE_SIZE);
	pt = mem__gpa_to_hva(m, BOOT_PGTABLE, BOOT_PGTABLE_END - BOOT_PGTABLE);
	if (!bp || !pt) {
		loader__set_error("guest RAM does not start at 0: report this as an mvm bug");
		return -EFAULT;
	}
	/* Every range below was checked against low_end above. */
	if (mem__write(m, l.load, kernel + l.setup_size, l.payload) ||
	    mem__write(m, BOOT_CMDLINE, cmdline, l.cmdline_len + 1) ||
	    (ilen && mem__write(m, l.initrd_addr, initrd, ilen)) ||
	    mem__write(m, BOOT_GDT_ADDR, boot_gdt, sizeof(boot_gdt))) {
		loader__set_error("kernel image outside guest RAM: report this as an mvm bug");
		return -EFAULT;
	}
	build_zero_page(bp, kernel, &l, m, ilen, rsdp, setup_data);
	build_page_tables(pt);
	set_entry_state(&l, regs, sregs);
	pr_debug("bzImage: protocol %u.%02u, kernel 0x%llx+0x%llx (needs to 0x%llx), initrd 0x%llx+0x%zx",
		 l.version >> 8, l.version & 0xff, (unsigned long long)l.load,
		 (unsigned long long)l.payload, (unsigned long long)l.kernel_end,
		 (unsigned long long)l.initrd_addr, ilen);
	return 0;
}
