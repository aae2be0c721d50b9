/*
 * (h) The OSI hypercall service (src/devices/osi.h).  Under mvm's shadow
 * backend `vmcall` with EAX = 0x4d564d00 reaches mvm; under KVM the kernel
 * answers every unknown hypercall with -KVM_ENOSYS (-1000); under QEMU TCG
 * it raises #UD.  The program says which it found, exercises the service
 * when present, and otherwise falls back to the serial and exit ports.
 * Transcripts differ per peer: osi.<peer>.expected.
 */
#include "fw.h"

#define OSI_MAGIC	0x4d564d00u
#define KVM_ENOSYS	1000

static volatile uint32_t r_eax, r_ecx;
static int use_vmmcall;

static uint32_t osi(uint32_t call, uint32_t ecx, uint32_t edx)
{
	uint32_t a = OSI_MAGIC, b = call, c = ecx, d = edx;

	if (use_vmmcall)
		__asm__ volatile("vmmcall" : "+a"(a), "+b"(b), "+c"(c), "+d"(d) :: "memory");
	else
		__asm__ volatile("vmcall" : "+a"(a), "+b"(b), "+c"(c), "+d"(d) :: "memory");
	r_ecx = c;
	return a;
}

static void probe_fn(uintptr_t arg)
{
	r_eax = osi(0, 0, 0);
}

static int osi_present(const char *insn)
{
	r_ecx = 0;
	if (probe(probe_fn, 0)) {
		printf("osi: %s raised exception %u: no hypercall service\n", insn, last_fault.vector);
		return 0;
	}
	if (r_eax == (uint32_t)-KVM_ENOSYS) {
		printf("osi: %s answered -1000 (KVM_ENOSYS): in-kernel KVM, no OSI\n", insn);
		return 0;
	}
	if (r_eax == 0 && r_ecx == 1) {
		printf("osi: %s reached the OSI service, version 1\n", insn);
		return 1;
	}
	printf("osi: %s returned eax 0x%x ecx 0x%x: unknown\n", insn, r_eax, r_ecx);
	return 0;
}

int fw_main(uint32_t magic, const struct multiboot_info *mb)
{
	static const char msg[] = "osi: this line was written by OSI_CALL_WRITE\n";
	int present;
	uint32_t t1, t2;

	printf("osi: hypercall service\n");
	present = osi_present("vmcall");
	use_vmmcall = 1;
	check(osi_present("vmmcall") == present, "vmcall and vmmcall agree");
	use_vmmcall = 0;
	if (!present) {
		printf("osi: falling back to the serial port and isa-debug-exit\n");
		return fw_summary();
	}
	check(osi(1, (uint32_t)msg, sizeof(msg) - 1) == sizeof(msg) - 1, "OSI write returns the length");
	check(osi(1, 0xfffffff0u, 64) == (uint32_t)-14, "OSI write outside RAM: -EFAULT");
	check(osi(1, (uint32_t)msg, 1u << 20) == (uint32_t)-22, "OSI write too long: -EINVAL");
	t1 = osi(3, 0, 0);
	for (volatile int i = 0; i < 100000; i++)
		;
	t2 = osi(3, 0, 0);
	check(t2 != t1, "OSI clock advances");
	check(osi(77, 0, 0) == (uint32_t)-38, "unknown OSI call: -ENOSYS");
	printf("osi: exiting through OSI_CALL_EXIT\n");
	if (fw_summary() == 0)
		osi(2, 0, 0);
	return fw_failures();
}
