/* Page tables for the tests: legacy 32-bit (4K + 4M) and PAE (4K + 2M). */
#include "pt.h"

#define IDENT_BYTES	(16u << 20)
#define LARGE_FRAME	(8u << 20)	/* 4 MiB aligned, inside the identity map */
#define LARGE_FRAME2	(4u << 20)
#define FRAMES		(12u << 20)

static uint32_t pd32[1024] __attribute__((aligned(4096)));
static uint32_t pt32[1024] __attribute__((aligned(4096)));
static uint64_t pdpt[4] __attribute__((aligned(32)));
static uint64_t pd_pae[2][512] __attribute__((aligned(4096)));
static uint64_t pt_pae[512] __attribute__((aligned(4096)));
static enum pt_mode mode;

enum pt_mode pt_mode(void)
{
	return mode;
}

uint32_t pt_large_size(void)
{
	return mode == PT_32 ? 4u << 20 : 2u << 20;
}

uintptr_t pt_frame(unsigned i)
{
	return FRAMES + i * 4096u;
}

uintptr_t pt_large_frame(void)
{
	return LARGE_FRAME;
}

uintptr_t pt_large_frame2(void)
{
	return LARGE_FRAME2;
}

void pt_stamp_frames(uint32_t base)
{
	for (unsigned i = 0; i < 16; i++)
		poke32(pt_frame(i), base + i);
}

uintptr_t pt_test_table(void)
{
	return mode == PT_32 ? (uintptr_t)pt32 : (uintptr_t)pt_pae;
}

void pt_enable(enum pt_mode m, int nxe)
{
	const uint32_t big = PTE_P | PTE_W | PTE_U | PTE_PS;

	mode = m;
	memset(pd32, 0, sizeof(pd32));
	memset(pt32, 0, sizeof(pt32));
	memset(pdpt, 0, sizeof(pdpt));
	memset(pd_pae, 0, sizeof(pd_pae));
	memset(pt_pae, 0, sizeof(pt_pae));
	if (m == PT_32) {
		for (uint32_t a = 0; a < IDENT_BYTES; a += 4u << 20)
			pd32[a >> 22] = a | big;
		pd32[TEST_VA >> 22] = (uint32_t)pt32 | PTE_P | PTE_W | PTE_U;
		write_cr3((uint32_t)pd32);
		write_cr4(read_cr4() | CR4_PSE);
	} else {
		for (uint32_t a = 0; a < IDENT_BYTES; a += 2u << 20)
			pd_pae[0][a >> 21] = a | big;
		pd_pae[1][0] = (uint32_t)pt_pae | PTE_P | PTE_W | PTE_U;
		pdpt[0] = (uint32_t)pd_pae[0] | PTE_P;
		pdpt[1] = (uint32_t)pd_pae[1] | PTE_P;
		write_cr4(read_cr4() | CR4_PAE);
		if (nxe)
			wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
		write_cr3((uint32_t)pdpt);
	}
	write_cr0(read_cr0() | CR0_PG);
}

void pt_disable(void)
{
	write_cr0(read_cr0() & ~CR0_PG);
	write_cr4(read_cr4() & ~(CR4_PAE | CR4_PGE | CR4_PSE));
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) & ~(uint64_t)EFER_NXE);
}

uint64_t pt_get_pte(unsigned i)
{
	return mode == PT_32 ? pt32[i] : pt_pae[i];
}

void pt_set_pte(unsigned i, uint64_t v)
{
	if (mode == PT_32)
		*(volatile uint32_t *)&pt32[i] = (uint32_t)v;
	else
		*(volatile uint64_t *)&pt_pae[i] = v;
}

static volatile uint64_t *pde_pae(uint32_t va)
{
	return &pd_pae[1][(va >> 21) & 511];
}

uint64_t pt_get_pde_test(void)
{
	return mode == PT_32 ? pd32[TEST_VA >> 22] : *pde_pae(TEST_VA);
}

void pt_set_pde_test(uint64_t v)
{
	if (mode == PT_32)
		*(volatile uint32_t *)&pd32[TEST_VA >> 22] = (uint32_t)v;
	else
		*pde_pae(TEST_VA) = v;
}

uint64_t pt_get_pde_large(void)
{
	return mode == PT_32 ? pd32[TEST_LARGE_VA(PT_32) >> 22] : *pde_pae(TEST_LARGE_VA(PT_PAE));
}

void pt_set_pde_large(uint64_t v)
{
	if (mode == PT_32)
		*(volatile uint32_t *)&pd32[TEST_LARGE_VA(PT_32) >> 22] = (uint32_t)v;
	else
		*pde_pae(TEST_LARGE_VA(PT_PAE)) = v;
}
