/*
 * The CPU model the interpreter implements, and the MSRs it owns.
 *
 * Model: QEMU's "qemu64" (AuthenticAMD; family 6 model 6 stepping 3, the
 * values qemu64 long had: family 15 would send Linux down the K8 errata
 * paths, which read MSRs no virtual CPU has) trimmed to what the
 * interpreter really executes:
 *   leaf 1 EDX: FPU DE PSE TSC MSR PAE CX8 SEP PGE CMOV PAT PSE36 CLFLUSH MMX FXSR SSE SSE2
 *   leaf 1 ECX: CX16 POPCNT HYPERVISOR
 *   0x80000001 EDX: SYSCALL NX RDTSCP LM (+ AMD's copies of leaf-1 bits); ECX: LAHF_LM
 *   leaf 7 EBX: ERMS; EDX: FSRM - REP MOVSB/STOSB are one bulk copy here
 *   (x86_string.c), so Linux's memcpy/memset/clear_page pick them over
 *   their unrolled MOV loops, as they do on current hardware
 * Dropped from qemu64: SVM (no nested virt), SSE3 (not implemented), APIC
 * (the backend has no local APIC yet: guests run in PIC mode), MTRR/MCE/MCA
 * (their MSR banks are not emulated).  No XSAVE/AVX/PCID/SMEP/SMAP/FSGSBASE/
 * 1G pages/LA57.  Leaf 0x40000000 carries the KVM signature with no KVM
 * features, so guests see the same hypervisor as under the KVM backend
 * without expecting kvmclock or PV EOI.
 */
#include "x86_internal.h"

#define L1_EDX ((1u << 0) | (1u << 2) | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 6) | \
		(1u << 8) | (1u << 11) | (1u << 13) | (1u << 15) | (1u << 16) | (1u << 17) | \
		(1u << 19) | (1u << 23) | (1u << 24) | (1u << 25) | (1u << 26))
#define L1_ECX ((1u << 13) | (1u << 23) | (1u << 31))
/* AMD mirrors leaf-1 EDX bits 0-9, 12-17, 23, 24 in 0x80000001 EDX */
#define AMD_MIRROR (L1_EDX & 0x0183f3ffu)
#define E1_EDX (AMD_MIRROR | (1u << 11) | (1u << 20) | (1u << 27) | (1u << 29))
#define E1_ECX (1u << 0)
#define L7_EBX (1u << 9)	/* ERMS */
#define L7_EDX (1u << 4)	/* FSRM */

#define FAMILY 6
#define MODEL 6
#define STEPPING 3

static void str4(uint32_t *out, const char *s)
{
	memcpy(out, s, 4);
}

void x86__cpuid(const struct x86_cpu *cpu, uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
	uint32_t *a = &out[0], *b = &out[1], *c = &out[2], *d = &out[3];
	static const char brand[48] = "QEMU Virtual CPU version 2.5+ (mvm interpreter)";

	*a = *b = *c = *d = 0;
	switch (leaf) {
	case 0:
		*a = 7;
		str4(b, "Auth");
		str4(d, "enti");
		str4(c, "cAMD");
		break;
	case 1:
		*a = (STEPPING) | ((MODEL & 0xf) << 4) | ((FAMILY > 15 ? 15 : FAMILY) << 8) |
		     ((MODEL >> 4) << 16) | ((FAMILY > 15 ? FAMILY - 15 : 0) << 20);
		*b = (8u << 8) | (1u << 16);	/* CLFLUSH 64 B, 1 logical CPU, APIC ID 0 (env_ops.cpuid adjusts) */
		*c = L1_ECX;
		*d = L1_EDX;
		break;
	case 7:
		if (subleaf == 0) {
			*b = L7_EBX;
			*d = L7_EDX;
		}
		break;
	case 0x40000000:
		*a = 0x40000001;
		str4(b, "KVMK");
		str4(c, "VMKV");
		str4(d, "M\0\0\0");
		break;
	case 0x40000001:
		break;	/* no KVM paravirt features */
	case 0x80000000:
		*a = 0x80000008;
		str4(b, "Auth");
		str4(d, "enti");
		str4(c, "cAMD");
		break;
	case 0x80000001:
		*a = (STEPPING) | ((MODEL & 0xf) << 4) | ((FAMILY > 15 ? 15 : FAMILY) << 8) | ((MODEL >> 4) << 16);
		*c = E1_ECX;
		*d = E1_EDX;
		break;
	case 0x80000002:
	case 0x80000003:
	case 0x80000004:
		memcpy(out, brand + 16 * (leaf - 0x80000002), 16);
		break;
	case 0x80000005:	/* L1: 64 KiB 2-way D and I, 64-byte lines */
		*a = 0x01ff01ff;
		*b = 0x01ff01ff;
		*c = 0x40020140;
		*d = 0x40020140;
		break;
	case 0x80000006:	/* L2: 512 KiB 16-way */
		*c = 0x02008140;
		break;
	case 0x80000008:
		*a = 40 | (48 << 8);	/* physical, linear address bits */
		break;
	default:
		break;
	}
	(void)cpu;
}

void op_cpuid(struct x86_ctx *c)
{
	if (c->cpu->codemap && c->cpu->codemap->smp)
		c->cpu->code_serial++;	/* serializing: see x86_codemap.smp */
	uint32_t out[4];
	uint64_t *g = c->cpu->gpr;

	x86__cpuid(c->cpu, g[X86_RAX], g[X86_RCX], out);
	if (c->ops->cpuid)
		c->ops->cpuid(c->env, c->cpu, g[X86_RAX], g[X86_RCX], out);
	g[X86_RAX] = out[0];
	g[X86_RBX] = out[1];
	g[X86_RCX] = out[2];
	g[X86_RDX] = out[3];
}

bool x86__get_msr(const struct x86_cpu *cpu, uint32_t msr, uint64_t *val)
{
	const struct x86_msrs *m = &cpu->msr;

	switch (msr) {
	case X86_MSR_TSC: *val = x86_host_tsc(cpu) + m->tsc_offset; break;	/* host clock, not read_tsc */
	case X86_MSR_EFER: *val = cpu->efer; break;
	case X86_MSR_STAR: *val = m->star; break;
	case X86_MSR_LSTAR: *val = m->lstar; break;
	case X86_MSR_CSTAR: *val = m->cstar; break;
	case X86_MSR_SFMASK: *val = m->sfmask; break;
	case X86_MSR_FS_BASE: *val = cpu->seg[X86_FS].base; break;
	case X86_MSR_GS_BASE: *val = cpu->seg[X86_GS].base; break;
	case X86_MSR_KERNEL_GS_BASE: *val = m->kernel_gs_base; break;
	case X86_MSR_SYSENTER_CS: *val = m->sysenter_cs; break;
	case X86_MSR_SYSENTER_ESP: *val = m->sysenter_esp; break;
	case X86_MSR_SYSENTER_EIP: *val = m->sysenter_eip; break;
	case X86_MSR_APIC_BASE: *val = m->apic_base; break;
	case X86_MSR_PAT: *val = m->pat; break;
	case X86_MSR_MISC_ENABLE: *val = m->misc_enable; break;
	case X86_MSR_TSC_AUX: *val = m->tsc_aux; break;
	default: return false;
	}
	return true;
}

bool x86__set_msr(struct x86_cpu *cpu, uint32_t msr, uint64_t val)
{
	struct x86_msrs *m = &cpu->msr;

	switch (msr) {
	case X86_MSR_TSC: m->tsc_offset = val - x86_host_tsc(cpu); break;
	case X86_MSR_EFER: cpu->efer = val; x86_update_mode(cpu); break;
	case X86_MSR_STAR: m->star = val; break;
	case X86_MSR_LSTAR: m->lstar = val; break;
	case X86_MSR_CSTAR: m->cstar = val; break;
	case X86_MSR_SFMASK: m->sfmask = val & 0xffffffffull; break;
	case X86_MSR_FS_BASE: cpu->seg[X86_FS].base = val; break;
	case X86_MSR_GS_BASE: cpu->seg[X86_GS].base = val; break;
	case X86_MSR_KERNEL_GS_BASE: m->kernel_gs_base = val; break;
	case X86_MSR_SYSENTER_CS: m->sysenter_cs = val & 0xffff; break;
	case X86_MSR_SYSENTER_ESP: m->sysenter_esp = val; break;
	case X86_MSR_SYSENTER_EIP: m->sysenter_eip = val; break;
	case X86_MSR_APIC_BASE: m->apic_base = val; break;
	case X86_MSR_PAT: m->pat = val; break;
	case X86_MSR_MISC_ENABLE: m->misc_enable = val; break;
	case X86_MSR_TSC_AUX: m->tsc_aux = (uint32_t)val; break;
	default: return false;
	}
	return true;
}
