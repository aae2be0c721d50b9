/*
 * Page-table helpers.  Everything is identity mapped: the image and low
 * memory with large user-accessible writable pages, so tests only add
 * mappings in their own test windows.
 */
#ifndef FW_PT_H
#define FW_PT_H

#include "fw.h"

#define PTE_P	(1ull << 0)
#define PTE_W	(1ull << 1)
#define PTE_U	(1ull << 2)
#define PTE_PWT	(1ull << 3)
#define PTE_PCD	(1ull << 4)
#define PTE_A	(1ull << 5)
#define PTE_D	(1ull << 6)
#define PTE_PS	(1ull << 7)
#define PTE_G	(1ull << 8)
#define PTE_NX	(1ull << 63)

enum pt_mode { PT_32, PT_PAE };

/* Test window: one PDE's worth of 4K pages and one large page after it. */
#define TEST_VA		0x40000000u
#define TEST_LARGE_VA(m) (TEST_VA + ((m) == PT_32 ? 0x400000u : 0x200000u))

/*
 * Build tables for @mode (identity map of the first 16 MiB, plus an empty
 * page table at TEST_VA), load CR3/CR4 and turn paging on.  EFER.NXE is set
 * for PAE when @nxe.
 */
void pt_enable(enum pt_mode mode, int nxe);
void pt_disable(void);

/* The PTE for the 4K page at TEST_VA + i*4096 (i < 512), and its PDE. */
uint64_t pt_get_pte(unsigned i);
void pt_set_pte(unsigned i, uint64_t v);
uint64_t pt_get_pde_test(void);
void pt_set_pde_test(uint64_t v);
/* The PDE for the large page at TEST_LARGE_VA. */
uint64_t pt_get_pde_large(void);
void pt_set_pde_large(uint64_t v);
/* Physical address of the test page table itself. */
uintptr_t pt_test_table(void);
enum pt_mode pt_mode(void);
uint32_t pt_large_size(void);

/* 4 KiB frames for tests, 2/4 MiB aligned large frame. */
uintptr_t pt_frame(unsigned i);		/* i < 16 */
uintptr_t pt_large_frame(void);
uintptr_t pt_large_frame2(void);	/* a second one, for remapping */
/* Write a 4-byte stamp at offset 0 of each 4K frame i (< 16). */
void pt_stamp_frames(uint32_t base);

#endif
