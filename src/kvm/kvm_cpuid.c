/*
 * CPUID fix-up: turn KVM's "supported" table (the host's view) into what one
 * vCPU of this VM should see.  Pure over struct kvm_cpuid2 so it can be unit
 * tested without /dev/kvm.
 *
 * Topology: one package, @nr_vcpus cores, one thread per core, x2APIC id =
 * APIC id = vCPU id.  Every leaf that encodes topology must agree, or Linux
 * warns and may build wrong scheduler domains.
 */
#include "kvm.h"

#include "../util/util.h"

#include <errno.h>
#include <string.h>

#define CPUID_LEAF1_ECX_HYPERVISOR	(1u << 31)
#define CPUID_LEAF1_EDX_HTT		(1u << 28)
#define TOPO_LEVEL_SMT			1
#define TOPO_LEVEL_CORE			2
#define KVM_SIG_LEAF			0x40000000u
#define KVM_FEATURES_LEAF		0x40000001u

/* Leaf 4 EAX[31:26] holds (addressable core ids - 1) in 6 bits. */
#define CPUID_MAX_VCPUS			64

static bool entry_matches(const struct kvm_cpuid_entry2 *e, uint32_t function, uint32_t index)
{
	if (e->function != function)
		return false;
	return !(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e->index == index;
}

struct kvm_cpuid_entry2 *kvm__cpuid_find(struct kvm_cpuid2 *c, uint32_t function,
					 uint32_t index)
{
	for (uint32_t i = 0; i < c->nent; i++)
		if (entry_matches(&c->entries[i], function, index))
			return &c->entries[i];
	return NULL;
}

static void remove_leaf(struct kvm_cpuid2 *c, uint32_t function)
{
	uint32_t out = 0;

	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function != function)
			c->entries[out++] = c->entries[i];
	c->nent = out;
}

static struct kvm_cpuid_entry2 *add_entry(struct kvm_cpuid2 *c, uint32_t cap,
					  uint32_t function, uint32_t index, uint32_t flags)
{
	struct kvm_cpuid_entry2 *e;

	if (c->nent >= cap)
		return NULL;
	e = &c->entries[c->nent++];
	memset(e, 0, sizeof(*e));
	e->function = function;
	e->index = index;
	e->flags = flags;
	return e;
}

/* Smallest s with (1 << s) >= n: the APIC-id bits the core level needs. */
static uint32_t order_base_2(uint32_t n)
{
	uint32_t s = 0;

	while ((1u << s) < n)
		s++;
	return s;
}

/*
 * Leaves 0xB and 0x1F: replace whatever the host had with our two levels
 * (SMT with one thread, then cores) and the terminating invalid level.
 */
static int set_ext_topology(struct kvm_cpuid2 *c, uint32_t cap, uint32_t leaf,
			    uint32_t vcpu_id, uint32_t nr_vcpus)
{
	static const uint32_t level_type[] = { TOPO_LEVEL_SMT, TOPO_LEVEL_CORE, 0 };
	uint32_t shift = order_base_2(nr_vcpus);

	remove_leaf(c, leaf);
	for (uint32_t sub = 0; sub < ARRAY_SIZE(level_type); sub++) {
		struct kvm_cpuid_entry2 *e =
			add_entry(c, cap, leaf, sub, KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
		if (!e)
			return -ENOSPC;
		switch (level_type[sub]) {
		case TOPO_LEVEL_SMT:
			e->eax = 0;		/* one thread: no SMT bits in the APIC id */
			e->ebx = 1;
			break;
		case TOPO_LEVEL_CORE:
			e->eax = shift;
			e->ebx = nr_vcpus;
			break;
		default:
			break;
		}
		e->ecx = sub | (level_type[sub] << 8);
		e->edx = vcpu_id;
	}
	return 0;
}

int kvm__cpuid_fixup(struct kvm_cpuid2 *c, uint32_t cap, uint32_t vcpu_id, uint32_t nr_vcpus)
{
	uint32_t shift, max_basic = 0;
	struct kvm_cpuid_entry2 *e;
	int r;

	if (nr_vcpus == 0 || nr_vcpus > CPUID_MAX_VCPUS || vcpu_id >= nr_vcpus || c->nent > cap)
		return -EINVAL;
	shift = order_base_2(nr_vcpus);

	e = kvm__cpuid_find(c, 0, 0);
	if (e)
		max_basic = e->eax;

	e = kvm__cpuid_find(c, 1, 0);
	if (e) {
		/* Without the hypervisor bit Linux never looks for kvm-clock. */
		e->ecx |= CPUID_LEAF1_ECX_HYPERVISOR;
		e->ebx = (e->ebx & 0xffff) | (vcpu_id << 24) | ((1u << shift) << 16);
		if (nr_vcpus > 1)
			e->edx |= CPUID_LEAF1_EDX_HTT;
		else
			e->edx &= ~CPUID_LEAF1_EDX_HTT;
	}

	/* Intel deterministic cache parameters: L1/L2 private, L3 shared. */
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *l = &c->entries[i];
		uint32_t level, sharing;

		if (l->function != 4 || (l->eax & 0x1f) == 0)
			continue;
		level = (l->eax >> 5) & 7;
		sharing = level <= 2 ? 0 : (1u << shift) - 1;
		l->eax = (l->eax & 0x3fff) | (sharing << 14) | (((1u << shift) - 1) << 26);
	}

	/* Beyond the max basic leaf a guest never looks: drop stale host copies. */
	for (uint32_t leaf = 0xb; leaf <= 0x1f; leaf += 0x1f - 0xb) {
		if (max_basic < leaf)
			remove_leaf(c, leaf);
		else if ((r = set_ext_topology(c, cap, leaf, vcpu_id, nr_vcpus)))
			return r;
	}

	/* AMD: core count and APIC-id core bits. */
	e = kvm__cpuid_find(c, 0x80000008, 0);
	if (e)
		e->ecx = (e->ecx & ~0xf0ffu) | (shift << 12) | (nr_vcpus - 1);

	/* AMD cache topology: NumSharingCache is a count, not an id width. */
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *l = &c->entries[i];
		uint32_t level;

		if (l->function != 0x8000001d || (l->eax & 0x1f) == 0)
			continue;
		level = (l->eax >> 5) & 7;
		l->eax = (l->eax & ~(0xfffu << 14)) | ((level <= 2 ? 0 : nr_vcpus - 1) << 14);
	}

	/* AMD extended APIC id, compute unit (= core) id, one thread, node 0. */
	e = kvm__cpuid_find(c, 0x8000001e, 0);
	if (e) {
		e->eax = vcpu_id;
		e->ebx = (e->ebx & ~0xffffu) | (vcpu_id & 0xff);
		e->ecx = 0;
		e->edx = 0;
	}

	/*
	 * KVM paravirt leaves.  KVM reports them itself; fill in the signature
	 * when an old host leaves it out, and keep the feature bits as KVM
	 * reports them (zero when it reports none).
	 */
	e = kvm__cpuid_find(c, KVM_SIG_LEAF, 0);
	if (!e && !(e = add_entry(c, cap, KVM_SIG_LEAF, 0, 0)))
		return -ENOSPC;
	e->eax = KVM_FEATURES_LEAF;
	memcpy(&e->ebx, "KVMK", 4);
	memcpy(&e->ecx, "VMKV", 4);
	memcpy(&e->edx, "M\0\0\0", 4);
	if (!kvm__cpuid_find(c, KVM_FEATURES_LEAF, 0) &&
	    !add_entry(c, cap, KVM_FEATURES_LEAF, 0, 0))
		return -ENOSPC;
	return 0;
}
