/*
 * mem: guest physical memory.
 *
 * RAM is split around a 1 GiB hole below 4 GiB that holds every MMIO device
 * (virtio-mmio, IOAPIC, local APIC).  Each slot's host mapping shares the low
 * 21 bits with its guest address, as the KVM API document recommends, so
 * host huge pages can back guest huge pages.
 */
#ifndef MVM_MEM_H
#define MVM_MEM_H

#include <stdbool.h>
#include <stdint.h>

#define MEM_HOLE_START	0xc0000000ULL		/* 3 GiB: RAM stops here ... */
#define MEM_HOLE_END	0x100000000ULL		/* ... and resumes at 4 GiB */
#define MEM_MIN_SIZE	(16ULL << 20)
#define MEM_MAX_SLOTS	2

/* Fixed MMIO map inside the hole. */
#define MMIO_VIRTIO_BASE	0xd0000000ULL	/* virtio-mmio windows, 4 KiB apart */
#define MMIO_VIRTIO_STRIDE	0x1000ULL
#define MMIO_IOAPIC_BASE	0xfec00000ULL
#define MMIO_LAPIC_BASE		0xfee00000ULL

/*
 * Fixed low-memory layout shared by the loaders and table builders.  Nothing
 * else may place data below 1 MiB.
 */
#define BOOT_GDT_ADDR		0x0500ULL	/* boot GDT (64-bit and 32-bit entries) */
#define BOOT_ZERO_PAGE		0x7000ULL	/* Linux boot_params */
#define BOOT_PGTABLE		0x9000ULL	/* PML4, PDPT, 4 PDs: identity map of 4 GiB */
#define BOOT_PGTABLE_END	0xf000ULL
#define BOOT_MB_INFO		0x10000ULL	/* multiboot info block, up to 64 KiB */
#define BOOT_CMDLINE		0x20000ULL
#define BOOT_CMDLINE_MAX	0x10000ULL
#define BOOT_SETUP_DATA		0x30000ULL	/* setup_data chain (SETUP_DTB) */
#define BOOT_SETUP_DATA_MAX	0x60000ULL
#define BOOT_EBDA		0x9fc00ULL	/* RAM below 1 MiB ends here */
#define ACPI_TABLES_BASE	0xe0000ULL	/* RSDP first: Linux scans 0xe0000-0xfffff */
#define ACPI_TABLES_END		0x100000ULL
#define BOOT_KERNEL_ADDR	0x100000ULL	/* default protected-mode load address */

struct mem_slot {
	uint64_t gpa, size;
	uint8_t *hva;
};

struct guest_mem {
	struct mem_slot slot[MEM_MAX_SLOTS];
	int nr_slots;
	uint64_t ram_size;
	void *map;		/* whole reservation, for munmap */
	uint64_t map_len;
	/* Bumped whenever the slot layout changes; MMIO sptes carry it. */
	uint32_t generation;
	/*
	 * Bumped (atomically) after the host writes guest RAM behind the vCPUs'
	 * backs: device completions, mem__write.  The interpreter's block cache
	 * trusts decoded code only while it stands still (x86_codemap).
	 * Through a pointer so holders of a const guest_mem can bump it.
	 */
	uint64_t *write_epoch;
	/* own cache line: every block entry reads it, device threads write it */
	_Alignas(64) uint64_t write_epoch_storage;
	char write_epoch_pad[56];
};

/*
 * Reserve and map @ram_size bytes of guest RAM (anonymous, MAP_NORESERVE).
 * -EINVAL when the size is too small or not page aligned, -ENOMEM when the host
 * cannot map it.
 */
int mem__init(struct guest_mem *m, uint64_t ram_size) __attribute__((warn_unused_result));
void mem__exit(struct guest_mem *m);

/*
 * Host pointer for [gpa, gpa+len) when the whole range lies in one slot, else
 * NULL.  This is the only way device and loader code may touch guest memory:
 * a guest-supplied address that fails here must be refused.
 */
void *mem__gpa_to_hva(const struct guest_mem *m, uint64_t gpa, uint64_t len);

/* true when @gpa is RAM. */
bool mem__is_ram(const struct guest_mem *m, uint64_t gpa);

/* Copy helpers that refuse ranges outside RAM: 0 or -EFAULT. */
int mem__read(const struct guest_mem *m, uint64_t gpa, void *dst, uint64_t len);
int mem__write(const struct guest_mem *m, uint64_t gpa, const void *src, uint64_t len);
/* The host wrote guest RAM directly (DMA-like): see write_epoch. */
void mem__note_write(const struct guest_mem *m);

#endif
