/*
 * loader: put a guest kernel into guest memory and describe the boot vCPU
 * state.  The bzImage part (loader__bzimage) belongs to the KVM helper and
 * goes above; the multiboot part is the block at the end.
 */
#ifndef MVM_LOADER_H
#define MVM_LOADER_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

struct vm;

/* ---- bzImage (KVM helper) ---------------------------------------------- */

/*
 * Linux x86 64-bit boot protocol (Documentation/arch/x86/boot.rst), boot
 * protocol 2.06 or newer, kernels with XLF_KERNEL_64.  Guest layout used:
 *
 *   0x000500  BOOT_GDT_ADDR     GDT: 0x10 = 64-bit code (__BOOT_CS),
 *                               0x18 = flat data (__BOOT_DS)
 *   0x007000  BOOT_ZERO_PAGE    struct boot_params ("zero page"), 4 KiB
 *   0x009000  BOOT_PGTABLE      PML4, PDPT, 4 PDs: 0..4 GiB identity, 2 MiB pages
 *   0x020000  BOOT_CMDLINE      command line (NUL-terminated)
 *   0x030000  BOOT_SETUP_DATA   setup_data chain (built by the FDT code)
 *   0x09fc00  BOOT_EBDA         e820: RAM below, reserved from here to 1 MiB
 *   0x0e0000  ACPI_TABLES_BASE  ACPI tables, RSDP first (built by the ACPI code)
 *   load      kernel            pref_address when relocatable_kernel, else
 *                               1 MiB; init_size bytes from the runtime start
 *                               must be RAM below the MMIO hole
 *   top       initrd            page aligned, as high as possible below
 *                               min(initrd_addr_max + 1, end of low RAM), and
 *                               above the kernel's init_size area
 *
 * e820: [0, BOOT_EBDA) RAM, [BOOT_EBDA, 1 MiB) reserved, [1 MiB, end of low
 * RAM) RAM, and every RAM slot above 4 GiB as RAM.  The MMIO hole is not
 * listed.
 */

/* Setup-header and boot_params offsets the loader and its tests use. */
#define BZ_SETUP_SECTS		0x1f1
#define BZ_BOOT_FLAG		0x1fe	/* 0xAA55 */
#define BZ_JUMP			0x200	/* byte 0x201: header length - 0x202 */
#define BZ_HEADER		0x202	/* "HdrS" */
#define BZ_VERSION		0x206
#define BZ_TYPE_OF_LOADER	0x210
#define BZ_LOADFLAGS		0x211
#define BZ_RAMDISK_IMAGE	0x218
#define BZ_RAMDISK_SIZE		0x21c
#define BZ_HEAP_END_PTR		0x224
#define BZ_CMD_LINE_PTR		0x228
#define BZ_INITRD_ADDR_MAX	0x22c
#define BZ_KERNEL_ALIGNMENT	0x230
#define BZ_RELOCATABLE		0x234
#define BZ_XLOADFLAGS		0x236
#define BZ_CMDLINE_SIZE		0x238
#define BZ_SETUP_DATA		0x250
#define BZ_PREF_ADDRESS		0x258
#define BZ_INIT_SIZE		0x260
#define BZ_HEADER_END_MAX	0x290	/* boot_params.hdr ends here */
#define BP_ACPI_RSDP_ADDR	0x070
#define BP_EXT_RAMDISK_IMAGE	0x0c0
#define BP_EXT_RAMDISK_SIZE	0x0c4
#define BP_EXT_CMD_LINE_PTR	0x0c8
#define BP_E820_ENTRIES		0x1e8
#define BP_SENTINEL		0x1ef
#define BP_E820_TABLE		0x2d0
#define BP_E820_MAX		128

#define BZ_HDRS_MAGIC		0x53726448u	/* "HdrS" little-endian */
#define BZ_MIN_VERSION		0x0206
#define BZ_LOADED_HIGH		0x01
#define BZ_CAN_USE_HEAP		0x80
#define BZ_XLF_KERNEL_64	0x0001
#define E820_RAM		1
#define E820_RESERVED		2

struct loader_e820 {
	uint64_t addr, size;
	uint32_t type;
} __attribute__((packed));

/*
 * Load bzImage @kernel (and @initrd, may be NULL/0) into vm->mem, build the
 * zero page, e820 map, command line, GDT and identity page tables, and the
 * 64-bit entry state.  @rsdp (ACPI RSDP address) and @setup_data (first
 * setup_data node) are 0 when absent.
 *
 * @regs is overwritten.  @sregs must hold vCPU 0's current state
 * (get_sregs): only segments, GDT, CR0/CR3/CR4 and EFER are changed, so
 * apic_base, TR and LDT stay valid for KVM_SET_SREGS.
 *
 * Returns 0, or -ENOEXEC (not a 64-bit bzImage, protocol too old, bad
 * header), -ENOMEM (kernel or initrd does not fit in RAM), -E2BIG (command
 * line too long).  On failure
 * loader__error() says why in one line, without a trailing newline.
 */
int loader__bzimage(struct vm *vm, const uint8_t *kernel, size_t klen,
		    const uint8_t *initrd, size_t ilen, const char *cmdline,
		    uint64_t rsdp, uint64_t setup_data,
		    struct kvm_regs *regs, struct kvm_sregs *sregs)
	__attribute__((warn_unused_result));

/*
 * The same checks as loader__bzimage (header, placement in @ram_size bytes of
 * guest RAM, initrd of @ilen bytes, command line) without a VM, so bad input
 * is reported before any host set-up.  0 or the error loader__bzimage would
 * return, with loader__error() set.
 */
int loader__bzimage_check(const uint8_t *kernel, size_t klen, size_t ilen, const char *cmdline,
			  uint64_t ram_size) __attribute__((warn_unused_result));

/* Reason for the calling thread's last loader failure ("" if none). */
const char *loader__error(void);
/* For loader implementations: record the reason returned by loader__error(). */
void loader__set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));


/* ---- format detection and multiboot v1 (firmware helper) --------------- */

enum loader_format {
	LOADER_UNKNOWN = 0,
	LOADER_BZIMAGE,		/* "HdrS" at 0x202: Linux boot protocol */
	LOADER_MULTIBOOT,	/* multiboot v1 header in the first 8 KiB */
};

/* Which loader understands @buf; never reads past @len. */
enum loader_format loader__probe(const uint8_t *buf, size_t len);

/*
 * Load a multiboot v1 kernel (ELF32, ELF64 with a 32-bit entry, or any
 * image with the a.out-kludge address fields) into vm->mem and build the
 * multiboot info block at BOOT_MB_INFO: memory sizes, a memory map of
 * vm->mem, the command line "<kernel path> <cmdline>" and one module per
 * @initrd file (its path is the module string).
 *
 * @regs and @sregs should hold the boot vCPU's current state (get_regs,
 * get_sregs); the loader rewrites what the multiboot entry state needs
 * (EAX=0x2BADB002, EBX=info, EIP=entry, flat 32-bit CS/DS/ES/FS/GS/SS,
 * CR0.PE, paging and long mode off, EFLAGS=0x2) and leaves the rest alone.
 * The caller writes them back to vCPU 0 only; other vCPUs stay parked.
 *
 * Returns 0, or -ENOEXEC for a malformed or unsupported image, -ERANGE when
 * something does not fit in RAM or overlaps the low boot area, -E2BIG when
 * the info block overflows, other -errno from reading module files.  On
 * every failure loader__error() says why in one line.
 */
int loader__multiboot(struct vm *vm, const uint8_t *kernel, size_t len,
		      const char *kernel_path, const char *cmdline,
		      const char *const *initrd, int nr_initrd,
		      struct kvm_regs *regs, struct kvm_sregs *sregs)
	__attribute__((warn_unused_result));

#define MULTIBOOT_HEADER_MAGIC		0x1BADB002u
#define MULTIBOOT_BOOTLOADER_MAGIC	0x2BADB002u
#define MULTIBOOT_SEARCH		8192u

#endif
