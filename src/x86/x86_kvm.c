/*
 * RESET state and conversions between struct x86_cpu and the KVM register
 * structures, so the shadow backend implements get/set_*regs like KVM.
 */
#include "x86_internal.h"

void x86__reset(struct x86_cpu *cpu)
{
	uint64_t khz = cpu->tsc_khz;
	const uint64_t *gen = cpu->tlb_gen;
	struct x86_bcache *bc = cpu->bc;
	struct x86_codemap *cm = cpu->codemap;
	uint32_t id[4];

	memset(cpu, 0, sizeof(*cpu));
	cpu->tsc_khz = khz;
	cpu->tlb_gen = gen;
	cpu->codemap = cm;
	cpu->bc = bc;
	x86_block_reset(cpu);
	cpu->inject_irq = -1;
	cpu->rip = 0xfff0;
	cpu->rflags = X86_FL_FIXED1;
	cpu->cr0 = X86_CR0_ET | X86_CR0_NW | X86_CR0_CD;
	for (unsigned s = 0; s < X86_NR_SREGS; s++) {
		struct x86_seg *g = &cpu->seg[s];

		g->limit = 0xffff;
		g->present = 1;
		g->s = 1;
		g->type = s == X86_CS ? 0xb : 0x3;
	}
	cpu->seg[X86_CS].sel = 0xf000;
	cpu->seg[X86_CS].base = 0xffff0000;
	cpu->ldtr.limit = 0xffff;
	cpu->ldtr.type = 2;
	cpu->ldtr.present = 1;
	cpu->tr.limit = 0xffff;
	cpu->tr.type = 0xb;
	cpu->tr.present = 1;
	cpu->gdtr.limit = 0xffff;
	cpu->idtr.limit = 0xffff;
	cpu->dr[6] = 0xffff0ff0;
	cpu->dr[7] = 0x400;
	cpu->msr.pat = 0x0007040600070406ull;
	cpu->msr.apic_base = 0xfee00000ull | (1u << 11) | (1u << 8);	/* enabled, BSP */
	cpu->msr.misc_enable = 1;	/* fast strings */
	cpu->fpu.fcw = 0x37f;
	cpu->fpu.mxcsr = 0x1f80;
	x86__cpuid(cpu, 1, 0, id);
	cpu->gpr[X86_RDX] = id[0];
	x86_update_mode(cpu);
}

void x86__get_regs(const struct x86_cpu *cpu, struct kvm_regs *r)
{
	const uint64_t *g = cpu->gpr;

	memset(r, 0, sizeof(*r));
	r->rax = g[X86_RAX]; r->rbx = g[X86_RBX]; r->rcx = g[X86_RCX]; r->rdx = g[X86_RDX];
	r->rsi = g[X86_RSI]; r->rdi = g[X86_RDI]; r->rsp = g[X86_RSP]; r->rbp = g[X86_RBP];
	r->r8 = g[X86_R8]; r->r9 = g[X86_R9]; r->r10 = g[X86_R10]; r->r11 = g[X86_R11];
	r->r12 = g[X86_R12]; r->r13 = g[X86_R13]; r->r14 = g[X86_R14]; r->r15 = g[X86_R15];
	r->rip = cpu->rip;
	r->rflags = cpu->rflags;
}

void x86__set_regs(struct x86_cpu *cpu, const struct kvm_regs *r)
{
	uint64_t *g = cpu->gpr;

	g[X86_RAX] = r->rax; g[X86_RBX] = r->rbx; g[X86_RCX] = r->rcx; g[X86_RDX] = r->rdx;
	g[X86_RSI] = r->rsi; g[X86_RDI] = r->rdi; g[X86_RSP] = r->rsp; g[X86_RBP] = r->rbp;
	g[X86_R8] = r->r8; g[X86_R9] = r->r9; g[X86_R10] = r->r10; g[X86_R11] = r->r11;
	g[X86_R12] = r->r12; g[X86_R13] = r->r13; g[X86_R14] = r->r14; g[X86_R15] = r->r15;
	cpu->rip = r->rip;
	cpu->rflags = r->rflags | X86_FL_FIXED1;
	x86_update_mode(cpu);
}

static void seg_to_kvm(const struct x86_seg *s, struct kvm_segment *k)
{
	memset(k, 0, sizeof(*k));
	k->base = s->base;
	k->limit = s->limit;
	k->selector = s->sel;
	k->type = s->type;
	k->present = s->present;
	k->dpl = s->dpl;
	k->db = s->db;
	k->s = s->s;
	k->l = s->l;
	k->g = s->g;
	k->avl = s->avl;
	k->unusable = s->unusable;
}

static void seg_from_kvm(struct x86_seg *s, const struct kvm_segment *k)
{
	s->base = k->base;
	s->limit = k->limit;
	s->sel = k->selector;
	s->type = k->type;
	s->present = k->present;
	s->dpl = k->dpl;
	s->db = k->db;
	s->s = k->s;
	s->l = k->l;
	s->g = k->g;
	s->avl = k->avl;
	s->unusable = k->unusable;
}

void x86__get_sregs(const struct x86_cpu *cpu, struct kvm_sregs *s)
{
	memset(s, 0, sizeof(*s));
	seg_to_kvm(&cpu->seg[X86_CS], &s->cs);
	seg_to_kvm(&cpu->seg[X86_DS], &s->ds);
	seg_to_kvm(&cpu->seg[X86_ES], &s->es);
	seg_to_kvm(&cpu->seg[X86_FS], &s->fs);
	seg_to_kvm(&cpu->seg[X86_GS], &s->gs);
	seg_to_kvm(&cpu->seg[X86_SS], &s->ss);
	seg_to_kvm(&cpu->tr, &s->tr);
	seg_to_kvm(&cpu->ldtr, &s->ldt);
	s->gdt.base = cpu->gdtr.base;
	s->gdt.limit = cpu->gdtr.limit;
	s->idt.base = cpu->idtr.base;
	s->idt.limit = cpu->idtr.limit;
	s->cr0 = cpu->cr0;
	s->cr2 = cpu->cr2;
	s->cr3 = cpu->cr3;
	s->cr4 = cpu->cr4;
	s->cr8 = cpu->cr8;
	s->efer = cpu->efer;
	s->apic_base = cpu->msr.apic_base;
	if (cpu->inject_irq >= 0)
		s->interrupt_bitmap[cpu->inject_irq / 64] = 1ull << (cpu->inject_irq % 64);
}

/* The backend must flush its MMU itself after this (paging state may change). */
void x86__set_sregs(struct x86_cpu *cpu, const struct kvm_sregs *s)
{
	seg_from_kvm(&cpu->seg[X86_CS], &s->cs);
	seg_from_kvm(&cpu->seg[X86_DS], &s->ds);
	seg_from_kvm(&cpu->seg[X86_ES], &s->es);
	seg_from_kvm(&cpu->seg[X86_FS], &s->fs);
	seg_from_kvm(&cpu->seg[X86_GS], &s->gs);
	seg_from_kvm(&cpu->seg[X86_SS], &s->ss);
	seg_from_kvm(&cpu->tr, &s->tr);
	seg_from_kvm(&cpu->ldtr, &s->ldt);
	cpu->gdtr.base = s->gdt.base;
	cpu->gdtr.limit = s->gdt.limit;
	cpu->idtr.base = s->idt.base;
	cpu->idtr.limit = s->idt.limit;
	cpu->cr0 = s->cr0;
	cpu->cr2 = s->cr2;
	cpu->cr3 = s->cr3;
	cpu->cr4 = s->cr4;
	cpu->cr8 = s->cr8;
	cpu->efer = s->efer;
	cpu->msr.apic_base = s->apic_base;
	cpu->inject_irq = -1;
	for (unsigned w = 0; w < 4; w++)
		if (s->interrupt_bitmap[w])
			cpu->inject_irq = w * 64 + __builtin_ctzll(s->interrupt_bitmap[w]);
	x86_update_mode(cpu);
	x86__tlb_flush(cpu);	/* CR0/CR3/CR4/EFER may have changed */
}

void x86__get_fpu(const struct x86_cpu *cpu, struct kvm_fpu *f)
{
	memset(f, 0, sizeof(*f));
	memcpy(f->fpr, cpu->fpu.st, sizeof(f->fpr));
	f->fcw = cpu->fpu.fcw;
	f->fsw = cpu->fpu.fsw;
	f->ftwx = cpu->fpu.ftw;
	f->last_opcode = cpu->fpu.fop;
	f->last_ip = cpu->fpu.fip;
	f->last_dp = cpu->fpu.fdp;
	memcpy(f->xmm, cpu->fpu.xmm, sizeof(f->xmm));
	f->mxcsr = cpu->fpu.mxcsr;
}

void x86__set_fpu(struct x86_cpu *cpu, const struct kvm_fpu *f)
{
	memcpy(cpu->fpu.st, f->fpr, sizeof(cpu->fpu.st));
	cpu->fpu.fcw = f->fcw;
	cpu->fpu.fsw = f->fsw;
	cpu->fpu.ftw = f->ftwx;
	cpu->fpu.fop = f->last_opcode;
	cpu->fpu.fip = f->last_ip;
	cpu->fpu.fdp = f->last_dp;
	memcpy(cpu->fpu.xmm, f->xmm, sizeof(cpu->fpu.xmm));
	cpu->fpu.mxcsr = f->mxcsr;
}
