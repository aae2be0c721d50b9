/* 64-bit descriptor tables: IDT, TSS, trap entry. */
#include "fw.h"

struct idt_gate64 {
	uint16_t off_lo, sel;
	uint8_t ist, attr;
	uint16_t off_mid;
	uint32_t off_hi, zero;
} __attribute__((packed));

struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3, iomap_base;
} __attribute__((packed));

static struct idt_gate64 idt[256] __attribute__((aligned(16)));
static struct tss64 tss __attribute__((aligned(16)));
extern uint64_t gdt[];
extern char trap_stack_top[];

#define ISRS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) \
	X(13) X(14) X(15) X(16) X(17) X(18) X(19) X(20) X(21)
#define DECL(n) extern char isr##n[];
ISRS(DECL)
extern char isr128[];

static void set_gate(int n, void *fn, int dpl)
{
	uint64_t a = (uint64_t)fn;

	idt[n] = (struct idt_gate64){ a & 0xffff, 0x08, 0, (uint8_t)(0x8e | dpl << 5),
				      (a >> 16) & 0xffff, (uint32_t)(a >> 32), 0 };
}

void fw_setup(void);
void fw_setup(void)
{
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) idtr = {
		sizeof(idt) - 1, (uint64_t)idt };
	uint64_t t = (uint64_t)&tss;

#define SET(n) set_gate(n, isr##n, 0);
	ISRS(SET)
	set_gate(0x80, isr128, 3);
	__asm__ volatile("lidt %0" :: "m"(idtr));

	tss.rsp[0] = (uint64_t)trap_stack_top;
	tss.iomap_base = sizeof(tss);
	gdt[6] = (uint64_t)(sizeof(tss) - 1) | (t & 0xffffff) << 16 | (uint64_t)0x89 << 40 |
		 ((t >> 24) & 0xff) << 56;
	gdt[7] = t >> 32;
	__asm__ volatile("ltr %w0" :: "r"(0x30));

	outb(COM1 + 1, 0);
	outb(COM1 + 3, 0x80);
	outb(COM1 + 0, 1);
	outb(COM1 + 1, 0);
	outb(COM1 + 3, 0x03);
}

struct trap_frame64 {
	uint64_t vector, err, rip, cs, rflags, rsp, ss;
};

void trap_handler(struct trap_frame64 *f);
void trap_handler(struct trap_frame64 *f)
{
	fw_trap((uint32_t)f->vector, f->err, f->rip, f->cs);
}
