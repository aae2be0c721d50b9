/*
 * Runtime for the firmware test guests: 32-bit protected mode entered from
 * a multiboot loader, serial output on COM1, exit through isa-debug-exit,
 * an IDT whose handlers can turn an expected fault into a return value.
 */
#ifndef FW_H
#define FW_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define SEL_CODE32	0x08
#define SEL_DATA32	0x10
#define SEL_UCODE32	0x1b	/* 0x18 | RPL 3 */
#define SEL_UDATA32	0x23
#define SEL_TSS		0x28
#define SEL_CODE64	0x30
#define SEL_CODE16	0x38
#define SEL_DATA16	0x40

#define EXIT_PORT	0xf4
#define COM1		0x3f8

#define PF_P	0x01
#define PF_W	0x02
#define PF_U	0x04
#define PF_RSVD	0x08
#define PF_I	0x10

#define CR0_PE	(1u << 0)
#define CR0_WP	(1u << 16)
#define CR0_PG	(1u << 31)
#define CR4_PSE	(1u << 4)
#define CR4_PAE	(1u << 5)
#define CR4_PGE	(1u << 7)
#define CR4_OSFXSR (1u << 9)
#define MSR_EFER 0xc0000080u
#define EFER_LME (1u << 8)
#define EFER_LMA (1u << 10)
#define EFER_NXE (1u << 11)

struct multiboot_info {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
};

/* What the last caught exception looked like. */
struct fault {
	uint32_t vector, err;
	uintptr_t cr2, eip;
	uint32_t cs;
};
extern volatile struct fault last_fault;

/* main() of each program; returns the number of failed checks. */
int fw_main(uint32_t magic, const struct multiboot_info *info);

/* Output. */
void putc_serial(char c);
void puts_serial(const char *s);
int vsnprintf_fw(char *buf, size_t len, const char *fmt, va_list ap);
void printf_fw(const char *fmt, ...) __attribute__((format(__printf__, 1, 2)));
#define printf printf_fw

/* One PASS/FAIL line; returns @ok. */
int check(int ok, const char *fmt, ...) __attribute__((format(__printf__, 2, 3)));
int fw_failures(void);
/* "done: N passed, M failed", then the failure count for fw_main to return. */
int fw_summary(void);
__attribute__((noreturn)) void fw_exit(uint32_t code);

/*
 * Run fn(arg) at CPL0 (probe) or CPL3 (probe_user).  Returns 0 when it
 * finished, 1 when it raised an exception (details in last_fault).
 */
int probe(void (*fn)(uintptr_t), uintptr_t arg);
int probe_user(void (*fn)(uintptr_t), uintptr_t arg);

/* For the arch trap handlers (desc32.c, desc64.c). */
void fw_trap(uint32_t vector, uint64_t err, uintptr_t ip, uintptr_t cs);
__attribute__((noreturn)) void fw_longjmp(uintptr_t *buf, int v);

/* Port and register access. */
static inline void outb(uint16_t p, uint8_t v) { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(p)); }
static inline void outw(uint16_t p, uint16_t v) { __asm__ volatile("outw %0, %1" :: "a"(v), "Nd"(p)); }
static inline void outl(uint16_t p, uint32_t v) { __asm__ volatile("outl %0, %1" :: "a"(v), "Nd"(p)); }
static inline uint8_t inb(uint16_t p) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline uint16_t inw(uint16_t p) { uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline uint32_t inl(uint16_t p) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(p)); return v; }

#define DEF_CR(n) \
	static inline unsigned long read_cr##n(void) { unsigned long v; __asm__ volatile("mov %%cr" #n ", %0" : "=r"(v)); return v; } \
	static inline void write_cr##n(unsigned long v) { __asm__ volatile("mov %0, %%cr" #n :: "r"(v) : "memory"); }
DEF_CR(0)
DEF_CR(2)
DEF_CR(3)
DEF_CR(4)

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (uint64_t)hi << 32 | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" :: "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

static inline void invlpg(uintptr_t va)
{
	__asm__ volatile("invlpg (%0)" :: "r"(va) : "memory");
}

static inline void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

static inline uint32_t peek32(uintptr_t a) { return *(volatile uint32_t *)a; }
static inline void poke32(uintptr_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline uint8_t peek8(uintptr_t a) { return *(volatile uint8_t *)a; }
static inline void poke8(uintptr_t a, uint8_t v) { *(volatile uint8_t *)a = v; }

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

extern char __image_start[], __image_end[], __testcode_start[], __testcode_end[];

#endif
