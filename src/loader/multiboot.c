/*
 * Multiboot v1 loader and boot-format probe.
 *
 * Everything read from the image is untrusted: every offset and size is
 * checked against the file length before use, every guest range goes through
 * mem__gpa_to_hva, and a bad image ends in -ENOEXEC plus one line saying why
 * in loader__error().
 */
#include "loader.h"

#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../mem/mem.h"
#include "../util/util.h"
#include "../vm/vm.h"

/* Header flags: bits 0-15 are requirements a loader must refuse if unknown. */
#define MBH_PAGE_ALIGN		(1u << 0)
#define MBH_MEMORY_INFO		(1u << 1)
#define MBH_VIDEO_MODE		(1u << 2)
#define MBH_AOUT_KLUDGE		(1u << 16)
#define MBH_REQUIRED_MASK	0x0000ffffu
#define MBH_SUPPORTED		(MBH_PAGE_ALIGN | MBH_MEMORY_INFO | MBH_VIDEO_MODE)

/* Info flags. */
#define MBI_MEMORY		(1u << 0)
#define MBI_CMDLINE		(1u << 2)
#define MBI_MODS		(1u << 3)
#define MBI_MMAP		(1u << 6)
#define MBI_LOADER_NAME		(1u << 9)

#define MB_MMAP_AVAILABLE	1
#define MB_MMAP_RESERVED	2

#define MB_INFO_SIZE		0x10000u	/* BOOT_MB_INFO .. BOOT_CMDLINE */
#define MB_MAX_MODULES		8
#define MB_MAX_SEGMENTS		64		/* more PT_LOADs than any kernel needs */

/* Boot GDT selectors, the same ones the Linux 32-bit boot protocol uses. */
#define MB_CS_SEL		0x10
#define MB_DS_SEL		0x18

struct mb_header {
	uint32_t magic, flags, checksum;
	uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
} __attribute__((packed));

struct mb_info {
	uint32_t flags;
	uint32_t mem_lower, mem_upper;
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
	uint32_t drives_length, drives_addr;
	uint32_t config_table;
	uint32_t boot_loader_name;
	uint32_t apm_table;
	uint32_t vbe[4];
} __attribute__((packed));
_Static_assert(sizeof(struct mb_info) == 88, "multiboot info layout");

struct mb_mmap_entry {
	uint32_t size;		/* of the rest of the entry: 20 */
	uint64_t addr, len;
	uint32_t type;
} __attribute__((packed));
_Static_assert(sizeof(struct mb_mmap_entry) == 24, "multiboot mmap entry layout");

struct mb_module {
	uint32_t mod_start, mod_end, string, reserved;
} __attribute__((packed));

/* What the image-specific parsers hand back. */
struct mb_image {
	uint64_t lowest, highest;	/* loaded physical range [lowest, highest) */
	uint32_t entry;
};

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Offset of a valid multiboot header in the first 8 KiB, or -1. */
static long mb_find_header(const uint8_t *buf, size_t len)
{
	size_t end = MIN(len, (size_t)MULTIBOOT_SEARCH);

	for (size_t off = 0; off + 12 <= end; off += 4) {
		uint32_t magic = rd32(buf + off);

		if (magic != MULTIBOOT_HEADER_MAGIC)
			continue;
		if ((uint32_t)(magic + rd32(buf + off + 4) + rd32(buf + off + 8)) == 0)
			return (long)off;
	}
	return -1;
}

enum loader_format loader__probe(const uint8_t *buf, size_t len)
{
	if (!buf)
		return LOADER_UNKNOWN;
	if (len >= 0x206 && memcmp(buf + 0x202, "HdrS", 4) == 0)
		return LOADER_BZIMAGE;
	if (mb_find_header(buf, len) >= 0)
		return LOADER_MULTIBOOT;
	return LOADER_UNKNOWN;
}

/*
 * Copy @filesz bytes to guest @paddr and zero up to @memsz.  The low boot
 * area holds our own tables (GDT, info block, ACPI), so nothing may land
 * below 1 MiB.
 */
static int mb_place(struct vm *vm, uint64_t paddr, const uint8_t *src, uint64_t filesz,
		    uint64_t memsz, struct mb_image *img)
{
	uint8_t *dst;

	if (memsz == 0)
		return 0;
	if (paddr < BOOT_KERNEL_ADDR) {
		loader__set_error("multiboot: segment at 0x%llx overlaps the low boot area below 1 MiB; "
		       "link the kernel at 1 MiB or above",
		       (unsigned long long)paddr);
		return -ERANGE;
	}
	if (paddr + memsz < paddr || paddr + memsz > MEM_HOLE_END) {
		loader__set_error("multiboot: segment 0x%llx+0x%llx goes beyond 4 GiB",
		       (unsigned long long)paddr, (unsigned long long)memsz);
		return -ERANGE;
	}
	dst = mem__gpa_to_hva(&vm->mem, paddr, memsz);
	if (!dst) {
		loader__set_error("multiboot: segment 0x%llx+0x%llx is not in guest RAM; give more memory (-m)",
		       (unsigned long long)paddr, (unsigned long long)memsz);
		return -ERANGE;
	}
	memcpy(dst, src, filesz);
	memset(dst + filesz, 0, memsz - filesz);
	img->lowest = MIN(img->lowest, paddr);
	img->highest = MAX(img->highest, paddr + memsz);
	return 0;
}

/* Flag bit 16: the header says where the file goes, ELF or not. */
static int mb_load_aout(struct vm *vm, const uint8_t *buf, size_t len, size_t hoff,
			const struct mb_header *h, struct mb_image *img)
{
	uint64_t file_off, load_size, mem_size;

	if (hoff + sizeof(*h) > len) {
		loader__set_error("multiboot: header address fields cut off by the end of the file");
		return -ENOEXEC;
	}
	if (h->load_addr > h->header_addr || h->header_addr - h->load_addr > hoff) {
		loader__set_error("multiboot: load_addr 0x%x / header_addr 0x%x put the load start before the file",
		       h->load_addr, h->header_addr);
		return -ENOEXEC;
	}
	file_off = hoff - (h->header_addr - h->load_addr);
	if (h->load_end_addr) {
		if (h->load_end_addr < h->load_addr) {
			loader__set_error("multiboot: load_end_addr 0x%x below load_addr 0x%x",
			       h->load_end_addr, h->load_addr);
			return -ENOEXEC;
		}
		load_size = h->load_end_addr - h->load_addr;
		if (file_off + load_size > len) {
			loader__set_error("multiboot: load_end_addr 0x%x lies beyond the end of the file",
			       h->load_end_addr);
			return -ENOEXEC;
		}
	} else {
		load_size = len - file_off;
	}
	mem_size = load_size;
	if (h->bss_end_addr) {
		if (h->bss_end_addr < h->load_addr + load_size) {
			loader__set_error("multiboot: bss_end_addr 0x%x ends before the loaded data",
			       h->bss_end_addr);
			return -ENOEXEC;
		}
		mem_size = h->bss_end_addr - h->load_addr;
	}
	img->entry = h->entry_addr;
	return mb_place(vm, h->load_addr, buf + file_off, load_size, mem_size, img);
}

/* One program header, either class, widened to 64 bits. */
struct mb_phdr {
	uint32_t type;
	uint64_t offset, vaddr, paddr, filesz, memsz;
};

static void mb_read_phdr(const uint8_t *p, bool is64, struct mb_phdr *ph)
{
	if (is64) {
		Elf64_Phdr e;

		memcpy(&e, p, sizeof(e));
		*ph = (struct mb_phdr){ e.p_type, e.p_offset, e.p_vaddr, e.p_paddr,
					e.p_filesz, e.p_memsz };
	} else {
		Elf32_Phdr e;

		memcpy(&e, p, sizeof(e));
		*ph = (struct mb_phdr){ e.p_type, e.p_offset, e.p_vaddr, e.p_paddr,
					e.p_filesz, e.p_memsz };
	}
}

static int mb_load_elf(struct vm *vm, const uint8_t *buf, size_t len, struct mb_image *img)
{
	uint64_t phoff, entry;
	size_t phentsize, need;
	unsigned phnum;
	bool is64, entry_ok = false;
	int ret;

	if (len < EI_NIDENT || memcmp(buf, ELFMAG, SELFMAG) != 0) {
		loader__set_error("multiboot: image is neither ELF nor has the a.out-kludge flag (bit 16)");
		return -ENOEXEC;
	}
	if (buf[EI_DATA] != ELFDATA2LSB) {
		loader__set_error("multiboot: ELF image is not little-endian");
		return -ENOEXEC;
	}
	is64 = buf[EI_CLASS] == ELFCLASS64;
	if (!is64 && buf[EI_CLASS] != ELFCLASS32) {
		loader__set_error("multiboot: unknown ELF class %u", buf[EI_CLASS]);
		return -ENOEXEC;
	}
	if (is64) {
		Elf64_Ehdr eh;

		if (len < sizeof(eh)) {
			loader__set_error("multiboot: ELF64 header cut off");
			return -ENOEXEC;
		}
		memcpy(&eh, buf, sizeof(eh));
		if (eh.e_machine != EM_X86_64) {
			loader__set_error("multiboot: ELF64 machine %u is not x86-64", eh.e_machine);
			return -ENOEXEC;
		}
		phoff = eh.e_phoff;
		phnum = eh.e_phnum;
		phentsize = eh.e_phentsize;
		entry = eh.e_entry;
		need = sizeof(Elf64_Phdr);
	} else {
		Elf32_Ehdr eh;

		if (len < sizeof(eh)) {
			loader__set_error("multiboot: ELF32 header cut off");
			return -ENOEXEC;
		}
		memcpy(&eh, buf, sizeof(eh));
		if (eh.e_machine != EM_386) {
			loader__set_error("multiboot: ELF32 machine %u is not i386", eh.e_machine);
			return -ENOEXEC;
		}
		phoff = eh.e_phoff;
		phnum = eh.e_phnum;
		phentsize = eh.e_phentsize;
		entry = eh.e_entry;
		need = sizeof(Elf32_Phdr);
	}
	if (phnum == 0 || phnum > MB_MAX_SEGMENTS || phentsize < need) {
		loader__set_error("multiboot: ELF program headers unusable (%u entries of %zu bytes)",
		       phnum, phentsize);
		return -ENOEXEC;
	}
	if (phoff > len || (uint64_t)phnum * phentsize > len - phoff) {
		loader__set_error("multiboot: ELF program headers lie beyond the end of the file");
		return -ENOEXEC;
	}

	for (unsigned i = 0; i < phnum; i++) {
		struct mb_phdr ph;

		mb_read_phdr(buf + phoff + (uint64_t)i * phentsize, is64, &ph);
		if (ph.type != PT_LOAD)
			continue;
		if (ph.filesz > ph.memsz || ph.offset > len || ph.filesz > len - ph.offset) {
			loader__set_error("multiboot: ELF segment %u has file range 0x%llx+0x%llx outside the file "
			       "or larger than its memory size", i, (unsigned long long)ph.offset,
			       (unsigned long long)ph.filesz);
			return -ENOEXEC;
		}
		ret = mb_place(vm, ph.paddr, buf + ph.offset, ph.filesz, ph.memsz, img);
		if (ret)
			return ret;
		/* The entry is a virtual address; boot runs unpaged, so translate. */
		if (!entry_ok && entry >= ph.vaddr && entry - ph.vaddr < ph.memsz) {
			entry = entry - ph.vaddr + ph.paddr;
			entry_ok = true;
		}
	}
	if (!entry_ok || entry > UINT32_MAX) {
		loader__set_error("multiboot: ELF entry point 0x%llx is not inside a loaded segment",
		       (unsigned long long)entry);
		return -ENOEXEC;
	}
	img->entry = (uint32_t)entry;
	return 0;
}

/* Bump allocator inside the info area; 0 when it is full. */
struct mb_area {
	uint8_t *hva;
	uint32_t gpa, used, size;
};

static uint32_t mb_alloc(struct mb_area *a, uint32_t size, uint32_t align)
{
	uint32_t off = ALIGN_UP(a->used, align);

	if (off > a->size || size > a->size - off)
		return 0;
	a->used = off + size;
	return a->gpa + off;
}

static void *mb_ptr(struct mb_area *a, uint32_t gpa)
{
	return a->hva + (gpa - a->gpa);
}

static uint32_t mb_strdup(struct mb_area *a, const char *s)
{
	size_t n = strlen(s) + 1;
	uint32_t gpa = n > UINT32_MAX ? 0 : mb_alloc(a, (uint32_t)n, 1);

	if (gpa)
		memcpy(mb_ptr(a, gpa), s, n);
	return gpa;
}

/* The map mirrors vm->mem; below 1 MiB only what the boot layout leaves free. */
static int mb_build_mmap(struct vm *vm, struct mb_area *a, struct mb_info *info)
{
	struct mb_mmap_entry e[3 + MEM_MAX_SLOTS + 1];
	int n = 0;
	uint32_t gpa;

	for (int i = 0; i < vm->mem.nr_slots; i++) {
		const struct mem_slot *s = &vm->mem.slot[i];

		if (s->gpa == 0) {
			e[n++] = (struct mb_mmap_entry){ 20, 0, MIN(s->size, BOOT_EBDA),
							 MB_MMAP_AVAILABLE };
			e[n++] = (struct mb_mmap_entry){ 20, BOOT_EBDA, 0xa0000 - BOOT_EBDA,
							 MB_MMAP_RESERVED };
			e[n++] = (struct mb_mmap_entry){ 20, ACPI_TABLES_BASE,
							 ACPI_TABLES_END - ACPI_TABLES_BASE,
							 MB_MMAP_RESERVED };
			if (s->size > BOOT_KERNEL_ADDR)
				e[n++] = (struct mb_mmap_entry){ 20, BOOT_KERNEL_ADDR,
								 s->size - BOOT_KERNEL_ADDR,
								 MB_MMAP_AVAILABLE };
			info->mem_lower = (uint32_t)(MIN(s->size, BOOT_EBDA) >> 10);
			info->mem_upper = s->size > BOOT_KERNEL_ADDR ?
				(uint32_t)((s->size - BOOT_KERNEL_ADDR) >> 10) : 0;
		} else {
			e[n++] = (struct mb_mmap_entry){ 20, s->gpa, s->size, MB_MMAP_AVAILABLE };
		}
	}
	gpa = mb_alloc(a, (uint32_t)(n * sizeof(e[0])), 8);
	if (!gpa)
		return -E2BIG;
	memcpy(mb_ptr(a, gpa), e, n * sizeof(e[0]));
	info->mmap_addr = gpa;
	info->mmap_length = (uint32_t)(n * sizeof(e[0]));
	info->flags |= MBI_MEMORY | MBI_MMAP;
	return 0;
}

/* Modules go after the kernel, page aligned, below the MMIO hole. */
static int mb_load_modules(struct vm *vm, struct mb_area *a, struct mb_info *info,
			   uint64_t start, const char *const *initrd, int nr)
{
	uint64_t ram_top = vm->mem.nr_slots ? vm->mem.slot[0].size : 0;
	uint64_t addr = ALIGN_UP(start, 4096ULL);
	struct mb_module *mods;
	uint32_t mods_gpa;
	int ret = 0;

	if (nr <= 0)
		return 0;
	if (nr > MB_MAX_MODULES) {
		loader__set_error("multiboot: %d modules given, at most %d supported", nr, MB_MAX_MODULES);
		return -E2BIG;
	}
	mods_gpa = mb_alloc(a, (uint32_t)(nr * sizeof(*mods)), 8);
	if (!mods_gpa)
		return -E2BIG;
	mods = mb_ptr(a, mods_gpa);
	for (int i = 0; i < nr; i++) {
		uint8_t *data = NULL, *dst;
		size_t size = 0;

		if (addr >= ram_top) {
			loader__set_error("multiboot: no RAM left for module %s; give more memory (-m)", initrd[i]);
			return -ERANGE;
		}
		ret = util__read_file(initrd[i], ram_top - addr, &data, &size);
		if (ret) {
			loader__set_error("multiboot: cannot read module %s: %s%s", initrd[i], strerror(-ret),
			       ret == -EFBIG ? " (does not fit in RAM; give more memory with -m)" : "");
			return ret;
		}
		dst = mem__gpa_to_hva(&vm->mem, addr, size ? size : 1);
		if (!dst) {
			free(data);
			loader__set_error("multiboot: module %s does not fit in RAM; give more memory (-m)",
			       initrd[i]);
			return -ERANGE;
		}
		memcpy(dst, data, size);
		free(data);
		mods[i].mod_start = (uint32_t)addr;
		mods[i].mod_end = (uint32_t)(addr + size);
		mods[i].string = mb_strdup(a, initrd[i]);
		mods[i].reserved = 0;
		if (!mods[i].string)
			return -E2BIG;
		addr = ALIGN_UP(addr + size, 4096ULL);
	}
	info->mods_count = (uint32_t)nr;
	info->mods_addr = mods_gpa;
	info->flags |= MBI_MODS;
	return 0;
}

static int mb_cmdline(struct vm *vm, struct mb_info *info, const char *kernel_path,
		      const char *cmdline)
{
	char *dst = mem__gpa_to_hva(&vm->mem, BOOT_CMDLINE, BOOT_CMDLINE_MAX);
	int n;

	if (!dst)
		return -ERANGE;
	/* As QEMU does: the kernel's own name comes first, like argv[0]. */
	n = snprintf(dst, BOOT_CMDLINE_MAX, "%s %s", kernel_path ? kernel_path : "",
		     cmdline ? cmdline : "");
	if (n < 0 || (uint64_t)n >= BOOT_CMDLINE_MAX) {
		loader__set_error("multiboot: command line longer than %llu bytes; shorten -p",
		       (unsigned long long)BOOT_CMDLINE_MAX - 1);
		return -E2BIG;
	}
	info->cmdline = (uint32_t)BOOT_CMDLINE;
	info->flags |= MBI_CMDLINE;
	return 0;
}

static void mb_seg(struct kvm_segment *s, uint16_t sel, uint8_t type)
{
	*s = (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
		.present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1,
	};
}

/* Flat 32-bit protected mode, paging off, as the multiboot spec requires. */
static int mb_entry_state(struct vm *vm, uint32_t entry, struct kvm_regs *regs,
			  struct kvm_sregs *sregs)
{
	static const uint64_t gdt[4] = {
		0, 0,
		0x00cf9b000000ffffULL,	/* 0x10: code, 32-bit, 4 GiB */
		0x00cf93000000ffffULL,	/* 0x18: data, 4 GiB */
	};
	int ret = mem__write(&vm->mem, BOOT_GDT_ADDR, gdt, sizeof(gdt));

	if (ret)
		return ret;
	memset(regs, 0, sizeof(*regs));
	regs->rax = MULTIBOOT_BOOTLOADER_MAGIC;
	regs->rbx = BOOT_MB_INFO;
	regs->rip = entry;
	regs->rflags = 0x2;

	mb_seg(&sregs->cs, MB_CS_SEL, 0xb);
	mb_seg(&sregs->ds, MB_DS_SEL, 0x3);
	sregs->es = sregs->fs = sregs->gs = sregs->ss = sregs->ds;
	sregs->gdt.base = BOOT_GDT_ADDR;
	sregs->gdt.limit = sizeof(gdt) - 1;
	/* CD/NW cleared as firmware would; ET is hard-wired on anything modern. */
	sregs->cr0 = (sregs->cr0 | 0x1 | 0x10) & ~(0x80000000ULL | 0x40000000ULL | 0x20000000ULL);
	sregs->cr3 = 0;
	sregs->cr4 = 0;
	sregs->efer &= ~((1ULL << 8) | (1ULL << 10));	/* LME, LMA */
	return 0;
}

int loader__multiboot(struct vm *vm, const uint8_t *kernel, size_t len,
		      const char *kernel_path, const char *cmdline,
		      const char *const *initrd, int nr_initrd,
		      struct kvm_regs *regs, struct kvm_sregs *sregs)
{
	struct mb_image img = { .lowest = UINT64_MAX, .highest = 0 };
	struct mb_header h = { 0 };
	struct mb_area area;
	struct mb_info *info;
	long hoff;
	int ret;

	loader__set_error("%s", "");
	hoff = kernel ? mb_find_header(kernel, len) : -1;
	if (hoff < 0) {
		loader__set_error("multiboot: no multiboot v1 header (magic 0x%x with a valid checksum) in the "
		       "first %u bytes", MULTIBOOT_HEADER_MAGIC, MULTIBOOT_SEARCH);
		return -ENOEXEC;
	}
	memcpy(&h, kernel + hoff, MIN(sizeof(h), len - (size_t)hoff));
	if (h.flags & MBH_REQUIRED_MASK & ~MBH_SUPPORTED) {
		loader__set_error("multiboot: kernel requires unsupported features (header flags 0x%x)", h.flags);
		return -ENOEXEC;
	}
	if (h.flags & MBH_VIDEO_MODE)
		pr_warn("multiboot: kernel asks for a video mode; mvm has no display, ignoring");

	if (h.flags & MBH_AOUT_KLUDGE)
		ret = mb_load_aout(vm, kernel, len, (size_t)hoff, &h, &img);
	else
		ret = mb_load_elf(vm, kernel, len, &img);
	if (ret)
		return ret;
	if (img.highest == 0) {
		loader__set_error("multiboot: image has nothing to load");
		return -ENOEXEC;
	}
	if (img.entry < img.lowest || img.entry >= img.highest) {
		loader__set_error("multiboot: entry point 0x%x lies outside the loaded image 0x%llx-0x%llx",
		       img.entry, (unsigned long long)img.lowest, (unsigned long long)img.highest);
		return -ENOEXEC;
	}

	area.hva = mem__gpa_to_hva(&vm->mem, BOOT_MB_INFO, MB_INFO_SIZE);
	if (!area.hva)
		return -ERANGE;
	memset(area.hva, 0, MB_INFO_SIZE);
	area.gpa = (uint32_t)BOOT_MB_INFO;
	area.used = 0;
	area.size = MB_INFO_SIZE;
	info = mb_ptr(&area, mb_alloc(&area, sizeof(*info), 8));

	ret = mb_build_mmap(vm, &area, info);
	if (!ret)
		ret = mb_cmdline(vm, info, kernel_path, cmdline);
	if (!ret)
		ret = mb_load_modules(vm, &area, info, img.highest, initrd, nr_initrd);
	if (ret) {
		if (ret == -E2BIG)
			loader__set_error("multiboot: boot information does not fit in its 64 KiB area");
		return ret;
	}
	info->boot_loader_name = mb_strdup(&area, "mvm");
	if (info->boot_loader_name)
		info->flags |= MBI_LOADER_NAME;
	return mb_entry_state(vm, img.entry, regs, sregs);
}
