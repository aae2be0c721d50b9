/*
 * (b, long mode) 4-level paging: the permission matrix for 4K, 2M and 1G
 * pages, restrictions inherited from every level, NX at every level,
 * reserved-bit faults, accessed/dirty bits at every level, non-canonical
 * addresses (#GP, not #PF), SMEP/SMAP when CPUID offers them, and
 * INVLPG/CR3 reload.  EFER.NXE is on from boot, so fetch faults set I/D.
 */
#include "fw.h"

#define P	(1ull << 0)
#define W	(1ull << 1)
#define U	(1ull << 2)
#define A	(1ull << 5)
#define D	(1ull << 6)
#define PS	(1ull << 7)
#define NX	(1ull << 63)
#define PWU	(P | W | U)

#define VA_4K	0x40000000ull		/* pdpt0[1] -> pd_t[0] -> pt_t */
#define VA_2M	0x40200000ull		/* pd_t[1], large */
#define VA_1G	0x80000000ull		/* pdpt0[2], 1G page of physical 0 */
#define VA_HI	0x8000000000ull		/* pml4[1] -> pdpt_h[0] -> pd_h[0] -> pt_h[0] */
#define FRAME(i) (0xc00000ull + (i) * 4096)
#define LARGE	0x800000ull
#define OFF_1G	0xc00000ull		/* use physical 12M through the 1G page */

/*
 * Volatile: the hardware reads these behind the compiler's back, so a store
 * must not be moved across the (volatile) test access that follows it.
 */
extern volatile uint64_t pml4[], pdpt0[], pd0[];
static volatile uint64_t pd_t[512] __attribute__((aligned(4096)));
static volatile uint64_t pt_t[512] __attribute__((aligned(4096)));
static volatile uint64_t pdpt_h[512] __attribute__((aligned(4096)));
static volatile uint64_t pd_h[512] __attribute__((aligned(4096)));
static volatile uint64_t pt_h[512] __attribute__((aligned(4096)));

static uint64_t ld(const volatile uint64_t *p) { return *p; }

static void rd(uintptr_t a) { (void)peek32(a); }
static void wr(uintptr_t a) { poke32(a, 0x5a5a5a5a); }
static void ex(uintptr_t a) { ((void (*)(void))a)(); }

static void flush(void)
{
	write_cr3(read_cr3());
}

static int expect(const char *what, int user, void (*fn)(uintptr_t), uintptr_t va,
		  int want_fault, uint32_t want_vec, uint32_t want_err)
{
	int f = user ? probe_user(fn, va) : probe(fn, va);
	int cr2_ok = want_vec != 14 || last_fault.cr2 == va;

	if (!want_fault && !f)
		return 0;
	if (want_fault && f && last_fault.vector == want_vec && last_fault.err == want_err && cr2_ok)
		return 0;
	if (!f)
		printf("  %s: want vector %u err 0x%x, got no fault\n", what, want_vec, want_err);
	else
		printf("  %s: want %s vector %u err 0x%x, got vector %u err 0x%x cr2 0x%lx\n", what,
		       want_fault ? "" : "no fault, not", want_vec, want_err, last_fault.vector,
		       last_fault.err, (unsigned long)last_fault.cr2);
	return 1;
}

static void set_wp(int on)
{
	write_cr0(on ? read_cr0() | CR0_WP : read_cr0() & ~(unsigned long)CR0_WP);
}

/* Point the leaf for @size (0: 4K, 1: 2M, 2: 1G) at its frame with @flags. */
static uintptr_t leaf(int size, uint64_t flags)
{
	uintptr_t va;

	if (size == 0) {
		pt_t[0] = FRAME(0) | flags;
		va = VA_4K;
	} else if (size == 1) {
		pd_t[1] = LARGE | PS | flags;
		va = VA_2M;
	} else {
		pdpt0[2] = 0 | PS | flags;
		va = VA_1G + OFF_1G;
	}
	invlpg(va);
	return va;
}

static const char *const size_name[] = { "4K", "2M", "1G" };

static void matrix(int size)
{
	for (int u = 0; u <= 1; u++)
		for (int w = 0; w <= 1; w++)
			for (int wp = 0; wp <= 1; wp++) {
				uintptr_t va = leaf(size, P | (u ? U : 0) | (w ? W : 0)) + 0x10;
				int bad = 0;

				set_wp(wp);
				bad += expect("supervisor read", 0, rd, va, 0, 0, 0);
				bad += expect("supervisor write", 0, wr, va, !w && wp, 14, PF_P | PF_W);
				bad += expect("user read", 1, rd, va, !u, 14, PF_P | PF_U);
				bad += expect("user write", 1, wr, va, !u || !w, 14, PF_P | PF_W | PF_U);
				check(!bad, "long %s U=%d W=%d WP=%d", size_name[size], u, w, wp);
			}
	set_wp(1);
}

/* The VA_HI chain, with @clear removed and @add added at @level (0=PML4E..2=PDE). */
static void hi_chain(int level, uint64_t clear, uint64_t add)
{
	uint64_t f[3] = { PWU, PWU, PWU };

	f[level] = (f[level] & ~clear) | add;
	pml4[1] = (uintptr_t)pdpt_h | f[0];
	pdpt_h[0] = (uintptr_t)pd_h | f[1];
	pd_h[0] = (uintptr_t)pt_h | f[2];
	pt_h[0] = FRAME(1) | PWU;
	flush();
}

static void levels(void)
{
	static const char *const name[] = { "PML4E", "PDPTE", "PDE" };

	poke8(FRAME(1), 0xc3);
	for (int l = 0; l < 3; l++) {
		int bad = 0;

		hi_chain(l, U, 0);
		bad += expect("user read", 1, rd, VA_HI, 1, 14, PF_P | PF_U);
		bad += expect("supervisor read", 0, rd, VA_HI, 0, 0, 0);
		hi_chain(l, W, 0);
		bad += expect("supervisor write", 0, wr, VA_HI, 1, 14, PF_P | PF_W);
		bad += expect("user read", 1, rd, VA_HI, 0, 0, 0);
		hi_chain(l, 0, NX);
		bad += expect("supervisor fetch", 0, ex, VA_HI, 1, 14, PF_P | PF_I);
		bad += expect("supervisor read", 0, rd, VA_HI, 0, 0, 0);
		hi_chain(l, P, 0);
		bad += expect("user write", 1, wr, VA_HI, 1, 14, PF_W | PF_U);
		check(!bad, "long %s U=0, W=0, NX=1 and P=0 each apply to the page", name[l]);
	}
	hi_chain(0, 0, 0);
	check(!expect("supervisor fetch", 0, ex, VA_HI, 0, 0, 0) &&
	      !expect("user fetch", 1, ex, VA_HI, 0, 0, 0), "long executable through 4 levels");
}

static void rsvd(const char *what, uintptr_t va)
{
	int f = probe(rd, va);
	uint32_t err = last_fault.err;

	if (!check(f && last_fault.vector == 14 && (err & ~PF_P) == PF_RSVD && last_fault.cr2 == va,
		   "long %s: #PF with RSVD set", what))
		printf("  got %s vector %u err 0x%x cr2 0x%lx\n", f ? "" : "no fault",
		       last_fault.vector, err, (unsigned long)last_fault.cr2);
	check(f && (err & PF_P), "long %s: RSVD fault also sets P", what);
}

static int has_1g;

static void reserved(void)
{
	hi_chain(0, 0, PS);
	rsvd("PS in a PML4E", VA_HI + 0x20);
	hi_chain(0, 0, 0);
	/* Without CPUID 1G pages, PS in a PDPTE is itself a reserved bit. */
	if (has_1g)
		rsvd("bit 13 in a 1G PDPTE", leaf(2, PWU | (1ull << 13)) + 0x20);
	else
		rsvd("PS in a PDPTE without 1G pages", leaf(2, PWU) + 0x20);
	pdpt0[2] = 0;
	invlpg(VA_1G + OFF_1G);
	rsvd("bit 13 in a 2M PDE", leaf(1, PWU | (1ull << 13)) + 0x20);
	leaf(1, PWU);
}

static void ad(void)
{
	uint64_t e;

	hi_chain(0, 0, 0);
	rd(VA_HI);
	check((ld(&pml4[1]) & A) && (ld(&pdpt_h[0]) & A) && (ld(&pd_h[0]) & A) &&
	      (ld(&pt_h[0]) & A) && !(ld(&pt_h[0]) & D), "long read sets A at all four levels, not D");
	wr(VA_HI);
	check((ld(&pt_h[0]) & D) && !(ld(&pd_h[0]) & D), "long write sets D in the leaf only");
	for (int s = 1; s <= 1 + has_1g; s++) {
		uintptr_t va = leaf(s, PWU);

		rd(va);
		e = ld(s == 1 ? &pd_t[1] : &pdpt0[2]);
		check((e & A) && !(e & D), "long %s read sets A, not D", size_name[s]);
		wr(va);
		e = ld(s == 1 ? &pd_t[1] : &pdpt0[2]);
		check(e & D, "long %s write after read sets D", size_name[s]);
	}
}

static void noncanonical(void)
{
	uintptr_t va = 0x0000800000000000ull;
	int bad = expect("supervisor read", 0, rd, va, 1, 13, 0);

	bad += expect("user write", 1, wr, va, 1, 13, 0);
	bad += expect("supervisor read high", 0, rd, 0xffff7fffffff0000ull, 1, 13, 0);
	check(!bad, "long non-canonical address: #GP(0), not #PF");
}

static void smep_smap(void)
{
	uint32_t a, b, c, d;
	int bad;

	cpuid(0, &a, &b, &c, &d);
	b = 0;
	if (a >= 7)
		cpuid(7, &a, &b, &c, &d);
	/*
	 * Our code, stack and tables sit in the first 2 MiB, mapped user: make
	 * that supervisor-only, or SMEP/SMAP would fault on the kernel itself.
	 * User-mode probes cannot run meanwhile.
	 */
	pd0[0] &= ~U;
	flush();
	poke8(FRAME(1), 0xc3);
	if (b & (1u << 7)) {
		hi_chain(0, 0, 0);
		write_cr4(read_cr4() | (1u << 20));
		bad = expect("supervisor fetch from user page", 0, ex, VA_HI, 1, 14, PF_P | PF_I);
		write_cr4(read_cr4() & ~(1ul << 20));
		bad += expect("supervisor fetch, SMEP off", 0, ex, VA_HI, 0, 0, 0);
		check(!bad, "long SMEP: supervisor fetch from a user page faults");
	} else {
		printf("SKIP long SMEP: not in CPUID\n");
	}
	if (b & (1u << 20)) {
		hi_chain(0, 0, 0);
		write_cr4(read_cr4() | (1u << 21));
		bad = expect("supervisor read of user page", 0, rd, VA_HI, 1, 14, PF_P);
		bad += expect("supervisor write of user page", 0, wr, VA_HI, 1, 14, PF_P | PF_W);
		__asm__ volatile("stac");
		bad += expect("supervisor read with EFLAGS.AC", 0, rd, VA_HI, 0, 0, 0);
		__asm__ volatile("clac");
		write_cr4(read_cr4() & ~(1ul << 21));
		check(!bad, "long SMAP: supervisor data access to a user page faults unless AC");
	} else {
		printf("SKIP long SMAP: not in CPUID\n");
	}
	pd0[0] |= U;
	flush();
}

static void tlb(void)
{
	uint32_t g[3];
	int ok = 1;

	for (unsigned i = 0; i < 16; i++)
		poke32(FRAME(i), 0x3000 + i);
	for (unsigned i = 0; i < 32; i++) {
		pt_t[3] = FRAME(i % 16) | PWU;
		invlpg(VA_4K + 3 * 4096);
		ok &= peek32(VA_4K + 3 * 4096) == 0x3000 + i % 16;
		pt_t[4] = FRAME((i + 3) % 16) | PWU;
		flush();
		ok &= peek32(VA_4K + 4 * 4096) == 0x3000 + (i + 3) % 16;
	}
	check(ok, "long INVLPG and CR3 reload make remapped PTEs visible");

	write_cr4(read_cr4() | CR4_PGE);
	pt_t[5] = FRAME(1) | PWU | (1ull << 8);		/* global */
	invlpg(VA_4K + 5 * 4096);
	g[0] = peek32(VA_4K + 5 * 4096);
	pt_t[5] = FRAME(2) | PWU | (1ull << 8);
	invlpg(VA_4K + 5 * 4096);
	g[1] = peek32(VA_4K + 5 * 4096);
	pt_t[5] = FRAME(3) | PWU | (1ull << 8);
	write_cr4(read_cr4() & ~(unsigned long)CR4_PGE);
	write_cr4(read_cr4() | CR4_PGE);
	g[2] = peek32(VA_4K + 5 * 4096);
	write_cr4(read_cr4() & ~(unsigned long)CR4_PGE);
	if (!check(g[0] == 0x3001 && g[1] == 0x3002 && g[2] == 0x3003,
		   "long global pages: INVLPG and a CR4.PGE toggle flush them"))
		printf("  read 0x%x 0x%x 0x%x\n", g[0], g[1], g[2]);
}

int fw_main(uint32_t magic, const struct multiboot_info *mb)
{
	uint32_t a, b, c, d;

	printf("paging64: 4-level paging\n");
	check(magic == 0x2BADB002 && (rdmsr(MSR_EFER) & EFER_LMA), "in long mode from multiboot");
	cpuid(0x80000001, &a, &b, &c, &d);
	has_1g = !!(d & (1u << 26));
	printf("cpu: %s\n", has_1g ? "1G pages in CPUID" : "no 1G pages in CPUID");
	pdpt0[1] = (uintptr_t)pd_t | PWU;
	pd_t[0] = (uintptr_t)pt_t | PWU;
	flush();
	matrix(0);
	matrix(1);
	if (has_1g)
		matrix(2);
	levels();
	reserved();
	ad();
	noncanonical();
	smep_smap();
	tlb();
	return fw_summary();
}
