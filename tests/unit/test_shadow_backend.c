/*
 * shadow__backend end to end: tiny hand-assembled guests run through the
 * interpreter and the shadow MMU, exits checked as a VMM would see them.
 */
#include "test_shadow_helpers.h"

#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#include "irqchip/irqchip.h"
#include "vm/vm.h"

struct bk {
	struct vm vm;
	struct vcpu v;
	const struct vcpu_backend *b;
};

static struct bk *bk_new(void)
{
	struct bk *k = calloc(1, sizeof(*k));
	assert_non_null(k);
	assert_int_equal(mem__init(&k->vm.mem, 16 << 20), 0);
	k->b = &shadow__backend;
	k->vm.backend = k->b;
	assert_int_equal(k->b->vm_init(&k->vm), 0);
	k->v.vm = &k->vm;
	k->v.id = 0;
	assert_int_equal(k->b->vcpu_init(&k->v), 0);
	return k;
}

static void bk_free(struct bk *k)
{
	k->b->vcpu_exit(&k->v);
	k->b->vm_exit(&k->vm);
	mem__exit(&k->vm.mem);
	free(k);
}

static void seg(struct kvm_segment *s, uint8_t type, bool code64)
{
	memset(s, 0, sizeof(*s));
	s->limit = 0xffffffff;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->g = 1;
	s->db = !code64;
	s->l = code64;
	s->selector = type & 8 ? 0x8 : 0x10;
}

/* Flat protected mode (no paging) or long mode with @cr3, entry at @rip. */
static void bk_enter(struct bk *k, uint64_t rip, bool long_mode, uint64_t cr3)
{
	struct kvm_sregs s;
	struct kvm_regs r;

	assert_int_equal(k->b->get_sregs(&k->v, &s), 0);
	seg(&s.cs, 0xb, long_mode);
	seg(&s.ds, 0x3, false);
	s.es = s.fs = s.gs = s.ss = s.ds;
	s.cr0 = 0x11;	/* PE, ET */
	if (long_mode) {
		s.cr0 |= 1u << 31;
		s.cr4 = 1u << 5;
		s.efer = (1u << 8) | (1u << 10);
		s.cr3 = cr3;
	}
	assert_int_equal(k->b->set_sregs(&k->v, &s), 0);
	memset(&r, 0, sizeof(r));
	r.rip = rip;
	r.rflags = 2;
	r.rsp = 0x8000;
	assert_int_equal(k->b->set_regs(&k->v, &r), 0);
}

static void put(struct bk *k, uint64_t gpa, const void *b, size_t n)
{
	assert_int_equal(mem__write(&k->vm.mem, gpa, b, n), 0);
}

static uint32_t rd32(struct bk *k, uint64_t gpa)
{
	uint32_t v;
	assert_int_equal(mem__read(&k->vm.mem, gpa, &v, 4), 0);
	return v;
}

static void flat_io_mmio_osi_hlt(void **state)
{
	static const uint8_t code[] = {
		0xb0, 0x41,				/* mov al, 0x41 */
		0xe6, 0x80,				/* out 0x80, al */
		0xa1, 0x10, 0x00, 0x00, 0xd0,		/* mov eax, [0xd0000010] */
		0x66, 0xba, 0xf8, 0x03,			/* mov dx, 0x3f8 */
		0xef,					/* out dx, eax */
		0xe4, 0x60,				/* in al, 0x60 */
		0xa2, 0x00, 0x20, 0x00, 0x00,		/* mov [0x2000], al */
		0xb8, 0x00, 0x4d, 0x56, 0x4d,		/* mov eax, 0x4d564d00 */
		0xbb, 0x07, 0x00, 0x00, 0x00,		/* mov ebx, 7 */
		0x0f, 0x01, 0xc1,			/* vmcall */
		0x89, 0x0d, 0x04, 0x20, 0x00, 0x00,	/* mov [0x2004], ecx */
		0xb8, 0x05, 0x00, 0x00, 0x00,		/* mov eax, 5 */
		0x0f, 0x01, 0xc1,			/* vmcall (not ours) */
		0xa3, 0x08, 0x20, 0x00, 0x00,		/* mov [0x2008], eax */
		0xc7, 0x05, 0x20, 0x00, 0x00, 0xd0,	/* mov dword [0xd0000020], 0x1234 */
		0x34, 0x12, 0x00, 0x00,
		0xf4,					/* hlt */
	};
	struct bk *k = bk_new();
	struct kvm_run *run = k->v.run;
	struct kvm_regs r;
	(void)state;

	put(k, 0x1000, code, sizeof(code));
	bk_enter(k, 0x1000, false, 0);

	/* a kick before entry: -EINTR, nothing runs */
	k->b->kick(&k->v);
	assert_int_equal(k->b->run(&k->v), -EINTR);

	assert_int_equal(k->b->run(&k->v), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_IO);
	assert_int_equal(run->io.direction, KVM_EXIT_IO_OUT);
	assert_int_equal(run->io.port, 0x80);
	assert_int_equal(run->io.size, 1);
	assert_int_equal(run->io.count, 1);
	assert_int_equal(run->io.data_offset, 4096);
	assert_int_equal(((uint8_t *)run)[run->io.data_offset], 0x41);

	assert_int_equal(k->b->run(&k->v), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_MMIO);
	assert_int_equal(run->mmio.phys_addr, 0xd0000010);
	assert_int_equal(run->mmio.len, 4);
	assert_false(run->mmio.is_write);
	memcpy(run->mmio.data, "\x78\x56\x34\x12", 4);
	/* immediate_exit completes the read and stops before the next instruction */
	run->immediate_exit = 1;
	assert_int_equal(k->b->run(&k->v), -EINTR);
	assert_int_equal(k->b->get_regs(&k->v, &r), 0);
	assert_int_equal(r.rax, 0x12345678);
	assert_int_equal(r.rip, 0x1009);
	run->immediate_exit = 0;

	assert_int_equal(k->b->run(&k->v), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_IO);
	assert_int_equal(run->io.port, 0x3f8);
	assert_int_equal(run->io.size, 4);
	assert_int_equal(*(uint32_t *)((uint8_t *)run + run->io.data_offset), 0x12345678);

	assert_int_equal(k->b->run(&k->v), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_IO);
	assert_int_equal(run->io.direction, KVM_EXIT_IO_IN);
	assert_int_equal(run->io.port, 0x60);
	((uint8_t *)run)[run->io.data_offset] = 0x5a;

	assert_int_equal(k->b->run(&k->v), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_OSI);
	assert_int_equal(run->osi.gprs[0], 0x4d564d00);	/* RAX */
	assert_int_equal(run->osi.gprs[3], 7);		/* RBX */
	assert_int_equal(run->osi.gprs[4], 0x8000);	/* RSP */
	run->osi.gprs[1] = 0xc0ffee;			/* RCX back to the guest */
	run->osi.gprs[0] = 0;

	assert_int_equal(k->b->run(&k->v), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_MMIO);
	assert_true(run->mmio.is_write);
	assert_int_equal(run->mmio.phys_addr, 0xd0000020);
	assert_int_equal(*(uint32_t *)run->mmio.data, 0x1234);

	assert_int_equal(k->b->run(&k->v), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
	assert_int_equal(rd32(k, 0x2000) & 0xff, 0x5a);
	assert_int_equal(rd32(k, 0x2004), 0xc0ffee);
	assert_int_equal(rd32(k, 0x2008), (uint32_t)-1000);	/* -KVM_ENOSYS */
	bk_free(k);
}

static void long_mode_paging(void **state)
{
	const uint64_t pml4 = 0x10000, pdpt = 0x11000, pd = 0x12000, pt = 0x13000;
	const uint64_t hi_pml4 = 0x14000, hi_pdpt = 0x15000, hi_pd = 0x16000, hi_pt = 0x17000;
	static const uint8_t code[] = {
		0x48, 0xb8, 0x00, 0x20, 0x00, 0x00, 0x00, 0x80, 0xff, 0xff, /* mov rax, 0xffff800000002000 */
		0x48, 0xc7, 0x00, 0x55, 0x00, 0x00, 0x00,	/* mov qword [rax], 0x55 */
		0x8b, 0x88, 0x00, 0x10, 0x00, 0x00,		/* mov ecx, [rax + 0x1000] (MMIO) */
		0x8a, 0x58, 0x00,				/* mov bl, [rax] */
		0x88, 0xd8,					/* mov al, bl */
		0xe6, 0x80,					/* out 0x80, al */
		0xf4,						/* hlt */
	};
	uint64_t e;
	struct bk *k = bk_new();
	struct kvm_run *run = k->v.run;
	(void)state;
	(void)hi_pml4;

	/* identity map of 0-2 MiB with 4 KiB pages, for the code */
	e = pdpt | P | RW; put(k, pml4, &e, 8);
	e = pd | P | RW; put(k, pdpt, &e, 8);
	e = pt | P | RW; put(k, pd, &e, 8);
	for (uint64_t i = 0; i < 512; i++) {
		e = (i << 12) | P | RW;
		put(k, pt + 8 * i, &e, 8);
	}
	/* 0xffff800000000000: PML4[256] -> data at 0x30000, and a virtio-mmio page */
	e = hi_pdpt | P | RW; put(k, pml4 + 8 * 256, &e, 8);
	e = hi_pd | P | RW; put(k, hi_pdpt, &e, 8);
	e = hi_pt | P | RW; put(k, hi_pd, &e, 8);
	e = 0x30000 | P | RW; put(k, hi_pt + 8 * 2, &e, 8);
	e = MMIO_VIRTIO_BASE | P | RW; put(k, hi_pt + 8 * 3, &e, 8);

	put(k, 0x1000, code, sizeof(code));
	bk_enter(k, 0x1000, true, pml4);

	assert_int_equal(k->b->run(&k->v), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_MMIO);
	assert_int_equal(run->mmio.phys_addr, MMIO_VIRTIO_BASE);
	assert_int_equal(run->mmio.len, 4);
	memset(run->mmio.data, 0x11, 4);
	assert_int_equal(k->b->run(&k->v), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_IO);
	assert_int_equal(run->io.port, 0x80);
	assert_int_equal(((uint8_t *)run)[run->io.data_offset], 0x55);
	assert_int_equal(rd32(k, 0x30000), 0x55);
	/* the CPU's accessed/dirty bits, written by the shadow MMU */
	uint64_t gpte;
	assert_int_equal(mem__read(&k->vm.mem, hi_pt + 8 * 2, &gpte, 8), 0);
	assert_int_equal(gpte & (A | D), A | D);
	assert_int_equal(mem__read(&k->vm.mem, pt + 8 * 1, &gpte, 8), 0);
	assert_int_equal(gpte & (A | D), A);		/* code page: fetched, not written */


	assert_int_equal(k->b->run(&k->v), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
	struct kvm_regs r;
	assert_int_equal(k->b->get_regs(&k->v, &r), 0);
	assert_int_equal(r.rcx, 0x11111111);
	bk_free(k);
}

static void page_fault_reaches_guest(void **state)
{
	/* A store to an unmapped page: #PF through a 64-bit IDT to a handler that reports CR2. */
	const uint64_t pml4 = 0x10000, pdpt = 0x11000, pd = 0x12000, pt = 0x13000;
	static const uint8_t code[] = {
		0xc6, 0x04, 0x25, 0x00, 0x00, 0x40, 0x00, 0x01,	/* mov byte [0x400000], 1 */
		0xf4,
	};
	static const uint8_t handler[] = {
		0x0f, 0x20, 0xd0,		/* mov rax, cr2 */
		0xe7, 0x80,			/* out 0x80, eax */
		0x58,				/* pop rax (error code) */
		0xe7, 0x84,			/* out 0x84, eax */
		0xf4,
	};
	struct bk *k = bk_new();
	struct kvm_run *run = k->v.run;
	struct kvm_sregs s;
	uint64_t e;
	(void)state;

	e = pdpt | P | RW; put(k, pml4, &e, 8);
	e = pd | P | RW; put(k, pdpt, &e, 8);
	e = pt | P | RW; put(k, pd, &e, 8);
	for (uint64_t i = 0; i < 512; i++) {
		e = (i << 12) | P | RW;
		put(k, pt + 8 * i, &e, 8);
	}
	/* IDT at 0x3000, vector 14 -> 0x4000, 64-bit interrupt gate, selector 8 */
	uint8_t gate[16] = { 0x00, 0x40, 0x08, 0x00, 0x00, 0x8e, 0x00, 0x00 };
	put(k, 0x3000 + 14 * 16, gate, 16);
	/* GDT at 0x500: null, 64-bit code, data */
	uint64_t gdt[3] = { 0, 0x00af9b000000ffffull, 0x00cf93000000ffffull };
	put(k, 0x500, gdt, sizeof(gdt));
	put(k, 0x1000, code, sizeof(code));
	put(k, 0x4000, handler, sizeof(handler));
	bk_enter(k, 0x1000, true, pml4);
	assert_int_equal(k->b->get_sregs(&k->v, &s), 0);
	s.idt.base = 0x3000;
	s.idt.limit = 256 * 16 - 1;
	s.gdt.base = 0x500;
	s.gdt.limit = sizeof(gdt) - 1;
	assert_int_equal(k->b->set_sregs(&k->v, &s), 0);

	assert_int_equal(k->b->run(&k->v), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_IO);
	assert_int_equal(run->io.port, 0x80);
	assert_int_equal(*(uint32_t *)((uint8_t *)run + run->io.data_offset), 0x400000);
	assert_int_equal(k->b->run(&k->v), 0);
	assert_int_equal(run->io.port, 0x84);
	assert_int_equal(*(uint32_t *)((uint8_t *)run + run->io.data_offset),
			 SHADOW_PFERR_W);	/* not present, supervisor write */
	bk_free(k);
}

static void *kicker(void *arg)
{
	struct bk *k = arg;
	usleep(20000);
	k->b->kick(&k->v);
	return NULL;
}

static void kick_interrupts_a_spinning_guest(void **state)
{
	static const uint8_t code[] = { 0xeb, 0xfe };	/* jmp $ */
	struct bk *k = bk_new();
	pthread_t t;
	(void)state;

	put(k, 0x1000, code, sizeof(code));
	bk_enter(k, 0x1000, false, 0);
	assert_int_equal(pthread_create(&t, NULL, kicker, k), 0);
	assert_int_equal(k->b->run(&k->v), -EINTR);
	pthread_join(t, NULL);
	/* irq_line reaches the emulated interrupt controller */
	assert_int_equal(k->b->irq_line(&k->vm, 4, 1), 0);
	assert_int_equal(((struct irqchip *)((struct shadow_backend_vm *)k->vm.backend_priv)->irq.opaque)->line_level,
			 1u << 4);
	assert_int_equal(k->b->irq_line(&k->vm, 4, 0), 0);
	assert_int_equal(k->b->irq_line(&k->vm, 99, 1), -EINVAL);
	bk_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(flat_io_mmio_osi_hlt),
		cmocka_unit_test(long_mode_paging),
		cmocka_unit_test(page_fault_reaches_guest),
		cmocka_unit_test(kick_interrupts_a_spinning_guest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
