/* 32-bit descriptor tables: IDT, TSS, trap entry. */
#include "fw.h"

/* ---- descriptor tables */
struct idt_gate {
	uint16_t off_lo, sel;
	uint8_t zero, attr;
	uint16_t off_hi;
} __attribute__((packed));

static struct idt_gate idt[256] __attribute__((aligned(8)));
static uint32_t tss[26] __attribute__((aligned(16)));
extern uint64_t gdt[];
extern char trap_stack_top[];

#define ISRS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) \
	X(13) X(14) X(15) X(16) X(17) X(18) X(19) X(20) X(21)
#define DECL(n) extern char isr##n[];
ISRS(DECL)
extern char isr128[];

static void set_gate(int n, void *fn, int dpl)
{
	uint32_t a = (uint32_t)fn;

	idt[n] = (struct idt_gate){ a & 0xffff, SEL_CODE32, 0, (uint8_t)(0x8e | dpl << 5), a >> 16 };
}

void fw_setup(void);
void fw_setup(void)
{
	struct { uint16_t limit; uint32_t base; } __attribute__((packed)) idtr = {
		sizeof(idt) - 1, (uint32_t)idt };
	uint32_t t = (uint32_t)tss;

#define SET(n) set_gate(n, isr##n, 0);
	ISRS(SET)
	set_gate(0x80, isr128, 3);
	__asm__ volatile("lidt %0" :: "m"(idtr));

	tss[1] = (uint32_t)trap_stack_top;	/* esp0 */
	tss[2] = SEL_DATA32;			/* ss0 */
	tss[25] = sizeof(tss) << 16;		/* no I/O bitmap */
	gdt[SEL_TSS / 8] = (uint64_t)(sizeof(tss) - 1) | (uint64_t)(t & 0xffffff) << 16 |
			   (uint64_t)0x89 << 40 | (uint64_t)(t >> 24) << 56;
	__asm__ volatile("ltr %w0" :: "r"(SEL_TSS));

	/* 8N1, interrupts off; QEMU ignores this, a real 8250 wants it. */
	outb(COM1 + 1, 0);
	outb(COM1 + 3, 0x80);
	outb(COM1 + 0, 1);
	outb(COM1 + 1, 0);
	outb(COM1 + 3, 0x03);
}

struct trap_frame {
	uint32_t es, ds;
	uint32_t edi, esi, ebp, esp, ebx, edx, ecx, eax;
	uint32_t vector, err, eip, cs, eflags;
};

void trap_handler(struct trap_frame *f);
void trap_handler(struct trap_frame *f)
{
	fw_trap(f->vector, f->err, f->eip, f->cs);
}
