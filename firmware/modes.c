/*
 * (a) Mode switches from the multiboot 32-bit entry: PM32 -> long mode
 * (compatibility, then 64-bit) -> back to PM32, and a real-mode round trip
 * through 16-bit protected mode, each repeated.
 */
#include "fw.h"

#define RM_BASE 0x8000u

extern char rm_blob[], rm_blob_end[], rm_res[];
extern uint64_t gdt[];
void long_mode_roundtrip(uint32_t pml4, uint64_t *out);
void real_mode_roundtrip(void);

static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pd[512] __attribute__((aligned(4096)));
extern char lm64[];

static int contains(const char *s, const char *needle)
{
	size_t n = strlen(needle);

	for (; *s; s++)
		if (!memcmp(s, needle, n))
			return 1;
	return 0;
}

static void entry_state(uint32_t magic, const struct multiboot_info *mb)
{
	uint32_t avail_high = 0;

	check(magic == 0x2BADB002, "multiboot magic in EAX");
	check((read_cr0() & (CR0_PE | CR0_PG)) == CR0_PE, "entered in protected mode, paging off");
	check((mb->flags & 0x41) == 0x41 && mb->mem_lower >= 600 && mb->mem_upper >= 64 * 1024,
	      "multiboot memory fields");
	for (uint32_t off = 0; (mb->flags & 0x40) && off < mb->mmap_length;) {
		const uint8_t *e = (const uint8_t *)(mb->mmap_addr + off);
		uint32_t size, base_lo, base_hi, len_lo, type;

		memcpy(&size, e, 4);
		memcpy(&base_lo, e + 4, 4);
		memcpy(&base_hi, e + 8, 4);
		memcpy(&len_lo, e + 12, 4);
		memcpy(&type, e + 20, 4);
		if (type == 1 && base_hi == 0 && base_lo == 0x100000)
			avail_high = len_lo;
		off += size + 4;
	}
	check(avail_high >= (100u << 20), "multiboot memory map has RAM from 1 MiB");
	check((mb->flags & 4) && contains((const char *)mb->cmdline, "modes.elf"),
	      "multiboot command line names the kernel");
}

static void long_mode(void)
{
	uint64_t out[8];
	int ok = 1;

	for (uint32_t i = 0; i < 512; i++)
		pd[i] = (uint64_t)i << 21 | 0x83;	/* P W PS: identity 1 GiB */
	pdpt[0] = (uint32_t)pd | 3;
	pml4[0] = (uint32_t)pdpt | 3;
	for (int round = 0; round < 10; round++) {
		memset(out, 0xcc, sizeof(out));
		long_mode_roundtrip((uint32_t)pml4, out);
		if (round == 0) {
			check((out[0] & (EFER_LME | EFER_LMA)) == (EFER_LME | EFER_LMA) &&
			      (out[1] & CR0_PG), "compatibility mode: EFER.LMA set, paging on");
			check(out[2] == 0x3456789abcdef012ull && out[4] == 0,
			      "64-bit mode: 64-bit arithmetic and R8/R15");
			check(out[3] == (uint32_t)lm64, "64-bit mode: RIP-relative addressing");
			check(out[5] == 0, "64-bit mode: push/pop/call/ret on the stack");
			check((out[6] & EFER_LMA) && !(out[7] & EFER_LMA),
			      "far return to compatibility mode, paging off clears LMA");
			check((read_cr0() & CR0_PG) == 0 && !(rdmsr(MSR_EFER) & EFER_LME),
			      "back in 32-bit protected mode");
		}
		ok &= out[2] == 0x3456789abcdef012ull && !(out[7] & EFER_LMA);
	}
	check(ok, "long mode round trip 10 times");
}

static void real_mode(void)
{
	struct { uint16_t limit; uint32_t base; } __attribute__((packed)) idtr;
	uint16_t res[5];
	int ok = 1;

	__asm__ volatile("sidt %0" : "=m"(idtr));
	memcpy((void *)RM_BASE, rm_blob, (size_t)(rm_blob_end - rm_blob));
	/* 16-bit code and data descriptors based at the blob. */
	gdt[7] = 0x00009a000000ffffull | (uint64_t)RM_BASE << 16;
	gdt[8] = 0x000092000000ffffull | (uint64_t)RM_BASE << 16;
	for (int round = 0; round < 5; round++) {
		memset((void *)(RM_BASE + (rm_res - rm_blob)), 0xee, sizeof(res));
		real_mode_roundtrip();
		__asm__ volatile("lidt %0" :: "m"(idtr));
		memcpy(res, (void *)(RM_BASE + (rm_res - rm_blob)), sizeof(res));
		if (round == 0) {
			check((res[0] & 1) == 0, "real mode: CR0.PE clear");
			check(res[1] == 0x1234, "real mode: segment:offset addressing");
			check(res[2] == 0x5a5b, "real mode: near call and stack");
			check(res[3] == 2, "real mode: software interrupt through the IVT");
			check(res[4] == RM_BASE >> 4, "real mode: CS holds the paragraph");
			check((read_cr0() & CR0_PE) != 0, "back in protected mode");
		}
		ok &= res[1] == 0x1234 && res[3] == 2;
	}
	check(ok, "real mode round trip 5 times");
}

int fw_main(uint32_t magic, const struct multiboot_info *mb)
{
	printf("modes: mode switches\n");
	entry_state(magic, mb);
	long_mode();
	real_mode();
	/* Interleave both, as a boot loader and a kernel would. */
	long_mode();
	return fw_summary();
}
