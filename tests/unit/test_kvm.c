/*
 * KVM backend.  The CPUID fix-up is pure and always tested; the tests that
 * need /dev/kvm skip when it is missing (they run inside the nested-KVM
 * harness) and then boot tiny guests through the real backend and loader.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <cmocka.h>

#include "kvm/kvm.h"
#include "loader/loader.h"
#include "mem/mem.h"
#include "vm/vm.h"

#define CAP 64

struct table {
	struct kvm_cpuid2 c;
	struct kvm_cpuid_entry2 e[CAP];
};

static void add(struct table *t, uint32_t fn, uint32_t idx, uint32_t flags, uint32_t a,
		uint32_t b, uint32_t c, uint32_t d)
{
	assert_true(t->c.nent < CAP);
	t->e[t->c.nent++] = (struct kvm_cpuid_entry2){
		.function = fn, .index = idx, .flags = flags, .eax = a, .ebx = b, .ecx = c, .edx = d,
	};
}

#define SIG KVM_CPUID_FLAG_SIGNIFCANT_INDEX

/* Roughly what an Intel host with 2-thread cores reports. */
static void intel_like(struct table *t, uint32_t max_basic, bool kvm_leaves)
{
	memset(t, 0, sizeof(*t));
	add(t, 0, 0, 0, max_basic, 0x756e6547, 0x6c65746e, 0x49656e69);
	add(t, 1, 0, 0, 0x906ea, 0x07100800, 0x7ffafbff, 0xbfebfbff);
	add(t, 4, 0, SIG, 0x1c004121, 0x01c0003f, 0x3f, 0);	/* L1d */
	add(t, 4, 1, SIG, 0x1c004122, 0x01c0003f, 0x3f, 0);	/* L1i */
	add(t, 4, 2, SIG, 0x1c004143, 0x00c0003f, 0x3ff, 0);	/* L2 */
	add(t, 4, 3, SIG, 0x1c03c163, 0x03c0003f, 0x2fff, 6);	/* L3 */
	add(t, 4, 4, SIG, 0, 0, 0, 0);
	add(t, 0xb, 0, SIG, 1, 2, 0x100, 7);
	add(t, 0xb, 1, SIG, 4, 12, 0x201, 7);
	if (kvm_leaves) {
		add(t, 0x40000000, 0, 0, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x4d);
		add(t, 0x40000001, 0, 0, 0x01007afb, 0, 0, 0);
	}
	add(t, 0x80000000, 0, 0, 0x80000008, 0, 0, 0);
	add(t, 0x80000008, 0, 0, 0x3027, 0, 0x0000700b, 0);
	add(t, 0x8000001e, 0, 0, 0x55, 0x103, 0x101, 0);
}

static struct kvm_cpuid_entry2 *find(struct table *t, uint32_t fn, uint32_t idx)
{
	struct kvm_cpuid_entry2 *e = kvm__cpuid_find(&t->c, fn, idx);

	if (!e)
		fail_msg("leaf 0x%x.%u missing", fn, idx);
	return e;
}

static unsigned count(struct table *t, uint32_t fn)
{
	unsigned n = 0;

	for (uint32_t i = 0; i < t->c.nent; i++)
		n += t->e[i].function == fn;
	return n;
}

static void test_cpuid_leaf1(void **state)
{
	struct table t;
	struct kvm_cpuid_entry2 *e;

	intel_like(&t, 0x1f, true);
	assert_int_equal(kvm__cpuid_fixup(&t.c, CAP, 2, 4), 0);
	e = find(&t, 1, 0);
	assert_true(e->ecx & (1u << 31));			/* hypervisor */
	assert_int_equal(e->ebx >> 24, 2);			/* initial APIC id */
	assert_int_equal((e->ebx >> 16) & 0xff, 4);		/* addressable ids */
	assert_int_equal(e->ebx & 0xffff, 0x0800);		/* CLFLUSH size kept */
	assert_true(e->edx & (1u << 28));			/* HTT: >1 logical cpu */
	assert_int_equal(e->eax, 0x906ea);

	intel_like(&t, 0x1f, true);
	assert_int_equal(kvm__cpuid_fixup(&t.c, CAP, 0, 1), 0);
	e = find(&t, 1, 0);
	assert_int_equal(e->ebx >> 24, 0);
	assert_int_equal((e->ebx >> 16) & 0xff, 1);
	assert_false(e->edx & (1u << 28));
}

static void test_cpuid_leaf4_cache_sharing(void **state)
{
	struct table t;
	uint32_t orig[4];

	intel_like(&t, 0x1f, true);
	for (uint32_t i = 0; i < 4; i++)
		orig[i] = find(&t, 4, i)->eax;
	assert_int_equal(kvm__cpuid_fixup(&t.c, CAP, 1, 4), 0);
	for (uint32_t i = 0; i < 4; i++) {
		struct kvm_cpuid_entry2 *e = find(&t, 4, i);
		uint32_t level = (e->eax >> 5) & 7;

		assert_int_equal(e->eax >> 26, 3);		/* 4 cores - 1 */
		assert_int_equal((e->eax >> 14) & 0xfff, level == 3 ? 3 : 0);
		assert_int_equal(e->eax & 0x3fff, orig[i] & 0x3fff);	/* type, level kept */
	}
	assert_int_equal(find(&t, 4, 4)->eax, 0);		/* terminator untouched */
}

static void check_ext_topology(struct table *t, uint32_t leaf, uint32_t id, uint32_t nr,
			       uint32_t shift)
{
	struct kvm_cpuid_entry2 *smt = find(t, leaf, 0), *core = find(t, leaf, 1),
				 *end = find(t, leaf, 2);

	assert_int_equal(count(t, leaf), 3);
	assert_int_equal(smt->eax, 0);
	assert_int_equal(smt->ebx, 1);
	assert_int_equal(smt->ecx, 0x100);
	assert_int_equal(smt->edx, id);
	assert_int_equal(core->eax, shift);
	assert_int_equal(core->ebx, nr);
	assert_int_equal(core->ecx, 0x201);
	assert_int_equal(core->edx, id);
	assert_int_equal(end->ebx, 0);
	assert_int_equal((end->ecx >> 8) & 0xff, 0);
	assert_int_equal(end->ecx & 0xff, 2);
	assert_true(smt->flags & SIG);
}

static void test_cpuid_ext_topology(void **state)
{
	struct table t;

	intel_like(&t, 0x1f, true);
	assert_int_equal(kvm__cpuid_fixup(&t.c, CAP, 3, 4), 0);
	check_ext_topology(&t, 0xb, 3, 4, 2);
	check_ext_topology(&t, 0x1f, 3, 4, 2);

	intel_like(&t, 0x1f, true);
	assert_int_equal(kvm__cpuid_fixup(&t.c, CAP, 4, 5), 0);
	check_ext_topology(&t, 0xb, 4, 5, 3);			/* 5 ids need 3 bits */
	assert_int_equal((find(&t, 1, 0)->ebx >> 16) & 0xff, 8);

	intel_like(&t, 0x1f, true);
	assert_int_equal(kvm__cpuid_fixup(&t.c, CAP, 0, 1), 0);
	check_ext_topology(&t, 0xb, 0, 1, 0);

	/* A CPU whose max basic leaf is below 0xB gets neither leaf. */
	intel_like(&t, 0xa, true);
	assert_int_equal(kvm__cpuid_fixup(&t.c, CAP, 0, 2), 0);
	assert_int_equal(count(&t, 0xb), 0);
	assert_int_equal(count(&t, 0x1f), 0);
	/* ... and 0xB without 0x1F below 0x1F. */
	intel_like(&t, 0x16, true);
	assert_int_equal(kvm__cpuid_fixup(&t.c, CAP, 0, 2), 0);
	assert_int_equal(count(&t, 0xb), 3);
	assert_int_equal(count(&t, 0x1f), 0);
}

static void test_cpuid_amd_leaves(void **state)
{
	struct table t;
	struct kvm_cpuid_entry2 *e;

	intel_like(&t, 0x1f, true);
	add(&t, 0x8000001d, 0, SIG, 0x121, 0, 0, 0);
	add(&t, 0x8000001d, 3, SIG, 0x3c163, 0, 0, 0);
	assert_int_equal(kvm__cpuid_fixup(&t.c, CAP, 5, 6), 0);
	e = find(&t, 0x80000008, 0);
	assert_int_equal(e->ecx & 0xff, 5);			/* NC = cores - 1 */
	assert_int_equal((e->ecx >> 12) & 0xf, 3);		/* ApicIdCoreIdSize */
	assert_int_equal(e->ecx & ~0xf0ffu, 0x0000700b & ~0xf0ffu);
	e = find(&t, 0x8000001e, 0);
	assert_int_equal(e->eax, 5);
	assert_int_equal(e->ebx & 0xff, 5);
	assert_int_equal((e->ebx >> 8) & 0xff, 0);		/* one thread per core */
	assert_int_equal(e->ecx, 0);
	assert_int_equal((find(&t, 0x8000001d, 0)->eax >> 14) & 0xfff, 0);
	assert_int_equal((find(&t, 0x8000001d, 3)->eax >> 14) & 0xfff, 5);
}

static void test_cpuid_kvm_leaves(void **state)
{
	struct table t;
	struct kvm_cpuid_entry2 *e;

	/* KVM's own feature bits are kept as reported. */
	intel_like(&t, 0x1f, true);
	assert_int_equal(kvm__cpuid_fixup(&t.c, CAP, 0, 1), 0);
	assert_int_equal(find(&t, 0x40000001, 0)->eax, 0x01007afb);
	assert_int_equal(count(&t, 0x40000000), 1);

	/* Missing ones are added: signature, and no feature claims. */
	intel_like(&t, 0x1f, false);
	assert_int_equal(kvm__cpuid_fixup(&t.c, CAP, 0, 1), 0);
	e = find(&t, 0x40000000, 0);
	assert_int_equal(e->eax, 0x40000001);
	assert_memory_equal(&e->ebx, "KVMK", 4);
	assert_memory_equal(&e->ecx, "VMKV", 4);
	assert_memory_equal(&e->edx, "M\0\0\0", 4);
	assert_int_equal(find(&t, 0x40000001, 0)->eax, 0);
}

static void test_cpuid_errors(void **state)
{
	struct table t;

	intel_like(&t, 0x1f, true);
	assert_int_equal(kvm__cpuid_fixup(&t.c, CAP, 4, 4), -EINVAL);
	assert_int_equal(kvm__cpuid_fixup(&t.c, CAP, 0, 0), -EINVAL);
	assert_int_equal(kvm__cpuid_fixup(&t.c, CAP, 0, 65), -EINVAL);
	/* Leaves 0x1F must be added: no room. */
	intel_like(&t, 0x1f, true);
	assert_int_equal(kvm__cpuid_fixup(&t.c, t.c.nent, 0, 2), -ENOSPC);
	/* Enough room exactly: +1 for 0xB (2 -> 3), +3 for 0x1F. */
	intel_like(&t, 0x1f, true);
	assert_int_equal(kvm__cpuid_fixup(&t.c, t.c.nent + 4, 0, 2), 0);
}

static void test_cpuid_find_index(void **state)
{
	struct table t;

	intel_like(&t, 0x1f, true);
	/* Leaves without a significant index match any subleaf. */
	assert_ptr_equal(kvm__cpuid_find(&t.c, 1, 7), &t.e[1]);
	assert_ptr_equal(kvm__cpuid_find(&t.c, 4, 3), &t.e[5]);
	assert_null(kvm__cpuid_find(&t.c, 4, 9));
	assert_null(kvm__cpuid_find(&t.c, 0x12345, 0));
}

/* ---- real KVM (nested harness) ------------------------------------------ */

struct kvm_fixture {
	struct config cfg;
	struct vm vm;
	struct vcpu v;
};

static int kvm_setup(void **state)
{
	struct kvm_fixture *f;

	if (!kvm__available()) {
		*state = NULL;
		return 0;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	f->cfg.cpus = 1;
	f->vm.cfg = &f->cfg;
	if (mem__init(&f->vm.mem, 64ULL << 20) || kvm__backend.vm_init(&f->vm))
		return -1;
	f->v.vm = &f->vm;
	f->v.id = 0;
	f->vm.vcpus[0] = &f->v;
	f->vm.nr_vcpus = 1;
	if (kvm__backend.vcpu_init(&f->v))
		return -1;
	*state = f;
	return 0;
}

static int kvm_teardown(void **state)
{
	struct kvm_fixture *f = *state;

	if (!f)
		return 0;
	kvm__backend.vcpu_exit(&f->v);
	kvm__backend.vm_exit(&f->vm);
	mem__exit(&f->vm.mem);
	free(f);
	return 0;
}

#define NEED_KVM(f)                                                               \
	do {                                                                      \
		if (!(f)) {                                                       \
			print_message("no /dev/kvm here: run in the nested-KVM harness\n"); \
			skip();                                                   \
		}                                                                 \
	} while (0)

static void expect_out(struct kvm_fixture *f, uint16_t port, uint32_t size, uint32_t val)
{
	struct kvm_run *run = f->v.run;
	uint32_t got = 0;

	assert_int_equal(kvm__backend.run(&f->v), 0);
	if (run->exit_reason != KVM_EXIT_IO)
		fail_msg("exit %u, expected KVM_EXIT_IO", run->exit_reason);
	assert_int_equal(run->io.direction, KVM_EXIT_IO_OUT);
	assert_int_equal(run->io.port, port);
	assert_int_equal(run->io.size, size);
	memcpy(&got, (uint8_t *)run + run->io.data_offset, size);
	assert_int_equal(got, val);
}

static void test_kvm_real_mode_out(void **state)
{
	struct kvm_fixture *f = *state;
	static const uint8_t code[] = { 0xb0, 0x42, 0xe6, 0x10, 0xf4 };	/* mov al,0x42; out 0x10,al; hlt */
	struct kvm_sregs s;
	struct kvm_regs r = { .rip = 0x1000, .rflags = 2 };

	NEED_KVM(f);
	assert_int_equal(mem__write(&f->vm.mem, 0x1000, code, sizeof(code)), 0);
	assert_int_equal(kvm__backend.get_sregs(&f->v, &s), 0);
	s.cs.base = 0;
	s.cs.selector = 0;
	assert_int_equal(kvm__backend.set_sregs(&f->v, &s), 0);
	assert_int_equal(kvm__backend.set_regs(&f->v, &r), 0);
	expect_out(f, 0x10, 1, 0x42);
}

/*
 * A synthetic bzImage whose 64-bit entry reports what it sees: the zero
 * page's type_of_loader through RSI, then CPUID 0x40000000.EBX and 1.ECX.
 */
static void test_kvm_bzimage_long_mode_entry(void **state)
{
	struct kvm_fixture *f = *state;
	static const uint8_t entry[] = {
		0x8a, 0x86, 0x10, 0x02, 0x00, 0x00,	/* mov al, [rsi+0x210] */
		0xe6, 0x10,				/* out 0x10, al */
		0xb8, 0x00, 0x00, 0x00, 0x40,		/* mov eax, 0x40000000 */
		0x0f, 0xa2,				/* cpuid */
		0x89, 0xd8,				/* mov eax, ebx */
		0xe7, 0x10,				/* out 0x10, eax */
		0xb8, 0x01, 0x00, 0x00, 0x00,		/* mov eax, 1 */
		0x0f, 0xa2,				/* cpuid */
		0x89, 0xc8,				/* mov eax, ecx */
		0xc1, 0xe8, 0x1f,			/* shr eax, 31 */
		0xe7, 0x10,				/* out 0x10, eax */
		0xf4,					/* hlt */
	};
	size_t klen = 5 * 512 + 4096;
	uint8_t *k = calloc(1, klen);
	struct kvm_regs r;
	struct kvm_sregs s;
	uint16_t v16 = 0xaa55, ver = 0x020f, xlf = BZ_XLF_KERNEL_64;
	uint32_t magic = BZ_HDRS_MAGIC, align = 0x200000, cl = 255, init = 0x400000,
		 imax = 0x7fffffff;
	uint64_t pref = 0x1000000;

	NEED_KVM(f);
	assert_non_null(k);
	k[BZ_SETUP_SECTS] = 4;
	memcpy(k + BZ_BOOT_FLAG, &v16, 2);
	k[BZ_JUMP + 1] = 0x6a;
	memcpy(k + BZ_HEADER, &magic, 4);
	memcpy(k + BZ_VERSION, &ver, 2);
	memcpy(k + BZ_INITRD_ADDR_MAX, &imax, 4);
	memcpy(k + BZ_KERNEL_ALIGNMENT, &align, 4);
	k[BZ_RELOCATABLE] = 1;
	memcpy(k + BZ_XLOADFLAGS, &xlf, 2);
	memcpy(k + BZ_CMDLINE_SIZE, &cl, 4);
	memcpy(k + BZ_PREF_ADDRESS, &pref, 8);
	memcpy(k + BZ_INIT_SIZE, &init, 4);
	memcpy(k + 5 * 512 + 0x200, entry, sizeof(entry));

	assert_int_equal(kvm__backend.get_sregs(&f->v, &s), 0);
	assert_int_equal(loader__bzimage(&f->vm, k, klen, NULL, 0, "x", 0, 0, &r, &s), 0);
	free(k);
	assert_int_equal(kvm__backend.set_sregs(&f->v, &s), 0);
	assert_int_equal(kvm__backend.set_regs(&f->v, &r), 0);
	expect_out(f, 0x10, 1, 0xff);
	expect_out(f, 0x10, 4, 0x4b4d564b);
	expect_out(f, 0x10, 4, 1);
	assert_int_equal(kvm__backend.get_sregs(&f->v, &s), 0);
	assert_true(s.efer & 0x400);		/* LMA: really in long mode */
}

static void test_kvm_kick_and_lines(void **state)
{
	struct kvm_fixture *f = *state;
	int efd;

	NEED_KVM(f);
	/* Kick before entry: KVM_RUN returns at once. */
	kvm__backend.kick(&f->v);
	assert_int_equal(f->v.run->immediate_exit, 1);
	assert_int_equal(kvm__backend.run(&f->v), -EINTR);
	f->v.run->immediate_exit = 0;

	assert_int_equal(kvm__backend.irq_line(&f->vm, 4, 1), 0);
	assert_int_equal(kvm__backend.irq_line(&f->vm, 4, 0), 0);
	efd = eventfd(0, EFD_CLOEXEC);
	assert_true(efd >= 0);
	assert_int_equal(kvm__backend.ioeventfd(&f->vm, MMIO_VIRTIO_BASE + 0x50, 4, efd), 0);
	assert_int_equal(kvm__backend.irqfd(&f->vm, 5, efd), 0);
	close(efd);
	assert_true(f->vm.tsc_khz > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpuid_leaf1),
		cmocka_unit_test(test_cpuid_leaf4_cache_sharing),
		cmocka_unit_test(test_cpuid_ext_topology),
		cmocka_unit_test(test_cpuid_amd_leaves),
		cmocka_unit_test(test_cpuid_kvm_leaves),
		cmocka_unit_test(test_cpuid_errors),
		cmocka_unit_test(test_cpuid_find_index),
		cmocka_unit_test_setup_teardown(test_kvm_real_mode_out, kvm_setup, kvm_teardown),
		cmocka_unit_test_setup_teardown(test_kvm_bzimage_long_mode_entry, kvm_setup,
						kvm_teardown),
		cmocka_unit_test_setup_teardown(test_kvm_kick_and_lines, kvm_setup, kvm_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
