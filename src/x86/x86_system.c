/*
 * x86 system instructions: control/debug registers, descriptor tables,
 * MSRs, TSC, fast system calls, far transfers and the hypercall.
 */
#include <time.h>

#include "x86_internal.h"

#define CR4_KNOWN (X86_CR4_VME | X86_CR4_PVI | X86_CR4_TSD | X86_CR4_DE | X86_CR4_PSE | \
		   X86_CR4_PAE | X86_CR4_MCE | X86_CR4_PGE | X86_CR4_PCE | X86_CR4_OSFXSR | \
		   X86_CR4_OSXMMEXCPT)

static void notify_flush(struct x86_ctx *c, unsigned why)
{
	x86_notify_flush(c, why);
}

void x86_write_cr(struct x86_ctx *c, unsigned cr, uint64_t val)
{
	struct x86_cpu *cpu = c->cpu;

	switch (cr) {
	case 0: {
		uint64_t old = cpu->cr0;

		if (val >> 32)
			X86_GP0(c);
		val |= X86_CR0_ET;
		if ((val & X86_CR0_PG) && !(val & X86_CR0_PE))
			X86_GP0(c);
		if ((val & X86_CR0_NW) && !(val & X86_CR0_CD))
			X86_GP0(c);
		uint64_t efer = cpu->efer;

		if ((val & X86_CR0_PG) && !(old & X86_CR0_PG) && (efer & X86_EFER_LME)) {
			if (!(cpu->cr4 & X86_CR4_PAE))
				X86_GP0(c);
			efer |= X86_EFER_LMA;
		}
		if (!(val & X86_CR0_PG) && (old & X86_CR0_PG) && (efer & X86_EFER_LMA)) {
			if (x86_long64(c))
				X86_GP0(c);
			efer &= ~X86_EFER_LMA;
		}
		cpu->cr0 = val;
		unsigned why = 0;

		if ((old ^ val) & (X86_CR0_PG | X86_CR0_WP | X86_CR0_PE))
			why |= X86_FLUSH_CR0 | X86_FLUSH_GLOBAL;
		if (efer != cpu->efer) {
			cpu->efer = efer;
			why |= X86_FLUSH_EFER;
		}
		x86_update_mode(cpu);
		if (why)
			notify_flush(c, why);
		break;
	}
	case 2:
		cpu->cr2 = val;
		break;
	case 3:
		if (cpu->mode != X86_MODE_LONG)
			val = (uint32_t)val;
		else if (val >> 52)
			X86_GP0(c);
		cpu->cr3 = val;
		notify_flush(c, X86_FLUSH_CR3);
		break;
	case 4: {
		uint64_t old = cpu->cr4;

		if (val & ~CR4_KNOWN)
			X86_GP0(c);
		if ((cpu->efer & X86_EFER_LMA) && !(val & X86_CR4_PAE))
			X86_GP0(c);
		cpu->cr4 = val;
		if ((old ^ val) & (X86_CR4_PGE | X86_CR4_PAE | X86_CR4_PSE))
			notify_flush(c, X86_FLUSH_CR4 | X86_FLUSH_GLOBAL);
		break;
	}
	case 8:
		if (val & ~15ull)
			X86_GP0(c);
		cpu->cr8 = val;
		break;
	default:
		X86_UD(c);
	}
}

void x86_set_rflags(struct x86_ctx *c, uint64_t val, unsigned opsize)
{
	struct x86_cpu *cpu = c->cpu;
	uint64_t mask = X86_FL_ARITH | X86_FL_TF | X86_FL_DF | X86_FL_NT | X86_FL_AC | X86_FL_ID;
	unsigned iopl = (cpu->rflags & X86_FL_IOPL) >> 12;

	if (cpu->mode == X86_MODE_REAL || cpu->cpl == 0)
		mask |= X86_FL_IOPL | X86_FL_IF;
	else if (cpu->cpl <= iopl)
		mask |= X86_FL_IF;
	if (opsize == 2)
		mask &= 0xffff;
	cpu->rflags = (cpu->rflags & ~mask) | (val & mask) | X86_FL_FIXED1;
}

uint64_t x86_host_tsc(const struct x86_cpu *cpu)
{
	struct timespec ts;
	uint64_t khz = cpu->tsc_khz ? cpu->tsc_khz : 1000000;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * khz * 1000 + (uint64_t)ts.tv_nsec * khz / 1000000;
}

uint64_t x86_rdtsc(struct x86_ctx *c)
{
	struct x86_cpu *cpu = c->cpu;
	uint64_t t = c->ops->read_tsc ? c->ops->read_tsc(c->env, cpu) : x86_host_tsc(cpu);

	return t + cpu->msr.tsc_offset;
}

bool x86_msr_read(struct x86_ctx *c, uint32_t msr, uint64_t *val)
{
	if (msr == X86_MSR_TSC) {
		*val = x86_rdtsc(c);
		return true;
	}
	if (x86__get_msr(c->cpu, msr, val))
		return true;
	return c->ops->rdmsr && c->ops->rdmsr(c->env, c->cpu, msr, val);
}

bool x86_msr_write(struct x86_ctx *c, uint32_t msr, uint64_t val)
{
	struct x86_cpu *cpu = c->cpu;

	switch (msr) {
	case X86_MSR_TSC:
		cpu->msr.tsc_offset += val - x86_rdtsc(c);
		return true;
	case X86_MSR_EFER: {
		uint64_t old = cpu->efer;

		if (val & ~(X86_EFER_SCE | X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE))
			return false;
		/* LMA is read-only; LME may not change while paging is on */
		val = (val & ~X86_EFER_LMA) | (old & X86_EFER_LMA);
		if ((cpu->cr0 & X86_CR0_PG) && ((val ^ old) & X86_EFER_LME))
			return false;
		cpu->efer = val;
		if ((old ^ val) & X86_EFER_NXE)
			notify_flush(c, X86_FLUSH_EFER | X86_FLUSH_GLOBAL);
		return true;
	}
	case X86_MSR_FS_BASE:
	case X86_MSR_GS_BASE:
	case X86_MSR_KERNEL_GS_BASE:
	case X86_MSR_LSTAR:
	case X86_MSR_CSTAR:
	case X86_MSR_SYSENTER_ESP:
	case X86_MSR_SYSENTER_EIP:
		if (!x86_canonical(val))
			return false;
		break;
	case X86_MSR_PAT:
		for (unsigned k = 0; k < 8; k++) {
			unsigned t = (val >> (8 * k)) & 0xff;

			if (t == 2 || t == 3 || t > 7)
				return false;
		}
		break;
	default:
		break;
	}
	if (x86__set_msr(cpu, msr, val))
		return true;
	return c->ops->wrmsr && c->ops->wrmsr(c->env, cpu, msr, val);
}

static void need_cpl0(struct x86_ctx *c)
{
	if (c->cpu->cpl != 0)
		X86_GP0(c);
}

void op_mov_cr(struct x86_ctx *c)
{
	const struct x86_insn *i = c->i;
	struct x86_cpu *cpu = c->cpu;
	unsigned cr = i->reg, size = cpu->mode == X86_MODE_LONG ? 8 : 4;

	if (cr != 0 && cr != 2 && cr != 3 && cr != 4 && cr != 8)
		X86_UD(c);
	need_cpl0(c);
	if (i->arg) {
		x86_write_cr(c, cr, x86_get_reg(c, i->rm, size));
		return;
	}
	uint64_t v = cr == 0 ? cpu->cr0 : cr == 2 ? cpu->cr2 : cr == 3 ? cpu->cr3 : cr == 4 ? cpu->cr4 : cpu->cr8;

	x86_set_reg(c, i->rm, size, v);
}

void op_mov_dr(struct x86_ctx *c)
{
	const struct x86_insn *i = c->i;
	struct x86_cpu *cpu = c->cpu;
	unsigned dr = i->reg, size = cpu->mode == X86_MODE_LONG ? 8 : 4;

	if (dr > 7)
		X86_UD(c);
	if (dr == 4 || dr == 5) {
		if (cpu->cr4 & X86_CR4_DE)
			X86_UD(c);
		dr += 2;
	}
	need_cpl0(c);
	if (i->arg) {
		uint64_t v = x86_get_reg(c, i->rm, size);

		if ((dr == 6 || dr == 7) && (v >> 32))
			X86_GP0(c);
		if (dr == 6)
			v |= 0xffff0ff0;
		if (dr == 7)
			v = (v | 0x400) & ~0x2000ull;
		cpu->dr[dr] = v;
	} else {
		x86_set_reg(c, i->rm, size, cpu->dr[dr]);
	}
}

void op_clts(struct x86_ctx *c)
{
	need_cpl0(c);
	c->cpu->cr0 &= ~X86_CR0_TS;
}

void op_invd(struct x86_ctx *c)
{
	need_cpl0(c);	/* caches are coherent: nothing to do */
}

void op_rdtsc(struct x86_ctx *c)
{
	if ((c->cpu->cr4 & X86_CR4_TSD) && c->cpu->cpl)
		X86_GP0(c);
	uint64_t t = x86_rdtsc(c);

	c->cpu->gpr[X86_RAX] = (uint32_t)t;
	c->cpu->gpr[X86_RDX] = t >> 32;
}

void op_rdpmc(struct x86_ctx *c)
{
	X86_GP0(c);	/* no performance counters */
}

void op_rdmsr(struct x86_ctx *c)
{
	uint64_t v;

	need_cpl0(c);
	if (!x86_msr_read(c, c->cpu->gpr[X86_RCX], &v))
		X86_GP0(c);
	c->cpu->gpr[X86_RAX] = (uint32_t)v;
	c->cpu->gpr[X86_RDX] = v >> 32;
}

void op_wrmsr(struct x86_ctx *c)
{
	uint64_t *g = c->cpu->gpr;

	need_cpl0(c);
	if (!x86_msr_write(c, g[X86_RCX], ((uint64_t)(uint32_t)g[X86_RDX] << 32) | (uint32_t)g[X86_RAX]))
		X86_GP0(c);
}

/* Flat segment for SYSCALL/SYSENTER style transfers. */
static void flat_seg(struct x86_seg *s, uint16_t sel, bool code, bool l64, unsigned dpl)
{
	memset(s, 0, sizeof(*s));
	s->sel = sel;
	s->limit = 0xffffffff;
	s->type = code ? 0xb : 0x3;
	s->s = 1;
	s->dpl = dpl;
	s->present = 1;
	s->g = 1;
	s->l = code && l64;
	s->db = !(code && l64);
}

void op_syscall(struct x86_ctx *c)
{
	struct x86_cpu *cpu = c->cpu;

	if (!(cpu->efer & X86_EFER_SCE) || cpu->mode == X86_MODE_REAL)
		X86_UD(c);
	uint16_t sel = (cpu->msr.star >> 32) & 0xfffc;

	if (cpu->mode == X86_MODE_LONG) {
		cpu->gpr[X86_RCX] = c->next_rip;
		cpu->gpr[X86_R11] = cpu->rflags & ~(uint64_t)X86_FL_RF;
		c->next_rip = x86_long64(c) ? cpu->msr.lstar : cpu->msr.cstar;
		cpu->rflags &= ~(cpu->msr.sfmask | X86_FL_RF);
		flat_seg(&cpu->seg[X86_CS], sel, true, true, 0);
	} else {
		cpu->gpr[X86_RCX] = (uint32_t)c->next_rip;
		c->next_rip = (uint32_t)cpu->msr.star;
		cpu->rflags &= ~(uint64_t)(X86_FL_VM | X86_FL_IF | X86_FL_RF);
		flat_seg(&cpu->seg[X86_CS], sel, true, false, 0);
	}
	flat_seg(&cpu->seg[X86_SS], sel + 8, false, false, 0);
	cpu->rflags |= X86_FL_FIXED1;
	x86_update_mode(cpu);
}

void op_sysret(struct x86_ctx *c)
{
	struct x86_cpu *cpu = c->cpu;

	if (!(cpu->efer & X86_EFER_SCE))
		X86_UD(c);
	if (cpu->mode == X86_MODE_REAL || cpu->cpl != 0)
		X86_GP0(c);
	uint16_t sel = (cpu->msr.star >> 48) & 0xfffc;
	bool to64 = c->i->opsize == 8;

	if (cpu->mode == X86_MODE_LONG) {
		if (to64 && !x86_canonical(cpu->gpr[X86_RCX]))
			X86_GP0(c);
		c->next_rip = to64 ? cpu->gpr[X86_RCX] : (uint32_t)cpu->gpr[X86_RCX];
		cpu->rflags = (cpu->gpr[X86_R11] & 0x3c7fd7) | X86_FL_FIXED1;
		flat_seg(&cpu->seg[X86_CS], (to64 ? sel + 16 : sel) | 3, true, to64, 3);
	} else {
		c->next_rip = (uint32_t)cpu->gpr[X86_RCX];
		cpu->rflags |= X86_FL_IF;
		flat_seg(&cpu->seg[X86_CS], sel | 3, true, false, 3);
	}
	/* SS keeps the selector-derived flat attributes, as on Intel */
	flat_seg(&cpu->seg[X86_SS], (sel + 8) | 3, false, false, 3);
	x86_update_mode(cpu);
}

void op_sysenter(struct x86_ctx *c)
{
	struct x86_cpu *cpu = c->cpu;
	uint16_t sel = cpu->msr.sysenter_cs & 0xfffc;

	if (cpu->mode == X86_MODE_REAL || sel == 0)
		X86_GP0(c);
	bool l = cpu->mode == X86_MODE_LONG;

	cpu->rflags &= ~(uint64_t)(X86_FL_VM | X86_FL_IF | X86_FL_RF);
	flat_seg(&cpu->seg[X86_CS], sel, true, l, 0);
	flat_seg(&cpu->seg[X86_SS], sel + 8, false, false, 0);
	c->next_rip = l ? cpu->msr.sysenter_eip : (uint32_t)cpu->msr.sysenter_eip;
	cpu->gpr[X86_RSP] = l ? cpu->msr.sysenter_esp : (uint32_t)cpu->msr.sysenter_esp;
	x86_update_mode(cpu);
}

void op_sysexit(struct x86_ctx *c)
{
	struct x86_cpu *cpu = c->cpu;
	uint16_t sel = cpu->msr.sysenter_cs & 0xfffc;

	if (cpu->mode == X86_MODE_REAL || sel == 0 || cpu->cpl != 0)
		X86_GP0(c);
	bool w = c->i->rex & 8;

	if (w && (!x86_canonical(cpu->gpr[X86_RDX]) || !x86_canonical(cpu->gpr[X86_RCX])))
		X86_GP0(c);
	flat_seg(&cpu->seg[X86_CS], (sel + (w ? 32 : 16)) | 3, true, w, 3);
	flat_seg(&cpu->seg[X86_SS], (sel + (w ? 40 : 24)) | 3, false, false, 3);
	c->next_rip = w ? cpu->gpr[X86_RDX] : (uint32_t)cpu->gpr[X86_RDX];
	cpu->gpr[X86_RSP] = w ? cpu->gpr[X86_RCX] : (uint32_t)cpu->gpr[X86_RCX];
	x86_update_mode(cpu);
}

/* ---- far transfers ---- */

void op_jmpf(struct x86_ctx *c)
{
	x86_far_jmp(c, c->i->imm2, c->i->imm, false, c->i->opsize);
}

void op_callf(struct x86_ctx *c)
{
	x86_far_jmp(c, c->i->imm2, c->i->imm, true, c->i->opsize);
}

void op_retf(struct x86_ctx *c)
{
	x86_far_ret(c, c->i->opsize, c->i->arg ? c->i->imm : 0);
}

void op_iret(struct x86_ctx *c)
{
	if (c->cpu->codemap && c->cpu->codemap->smp)
		c->cpu->code_serial++;	/* serializing: see x86_codemap.smp */
	x86_iret(c, c->i->opsize);
}

void op_mov_sreg(struct x86_ctx *c)
{
	const struct x86_insn *i = c->i;
	unsigned s = i->reg & 7;

	if (s >= X86_NR_SREGS)
		X86_UD(c);
	if (i->opcode == 0x8c) {
		uint16_t sel = c->cpu->seg[s].sel;

		if (i->mod == 3)
			x86_set_reg(c, i->rm, i->opsize, sel);
		else
			x86_write(c, i->seg, c->ea, 2, sel);
		return;
	}
	if (s == X86_CS)
		X86_UD(c);
	x86_load_seg(c, s, x86_get_rm(c, 2));
	if (s == X86_SS)
		c->sti_shadow_set = true;
}
