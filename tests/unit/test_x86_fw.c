/*
 * The firmware test guests (firmware/, see firmware/README.md) run on the
 * interpreter alone: a reference page walker written for this test stands in
 * for the shadow MMU, and a minimal COM1 / isa-debug-exit / pc-testdev MMIO
 * window stands in for the devices.  Each transcript must match the one in
 * tests/firmware/ byte for byte, which checks mode switches, paging
 * permission matrices, TLB rules, page-table edits, self-modifying code,
 * string I/O and MMIO restarts through the real x86__run interface.
 *
 * The images come from `make firmware` ($(BUILD)/firmware next to this
 * binary's directory, or $X86_FW_DIR); a missing image is reported as
 * SKIPPED, never as a pass.  io (needs pc-testdev port semantics and
 * fw_cfg) and osi (needs the OSI service) are left to tests/firmware/run.sh.
 */
#include <elf.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "x86/x86.h"

#define RAM (128u << 20)
#define TESTDEV_MMIO 0xff000000ull

static uint8_t *ram;

static uint64_t rd(uint64_t a, unsigned n) { uint64_t v = 0; if (a + n <= RAM) memcpy(&v, ram + a, n); return v; }
static void wr(uint64_t a, unsigned n, uint64_t v) { if (a + n <= RAM) memcpy(ram + a, &v, n); }

/* Reference walker: legacy 2-level (+PSE), PAE, 4-level; no 1G pages, SMEP or SMAP (not advertised). */
static int fault(unsigned acc, uint32_t p, struct x86_xlate *out, bool fetch_i)
{
	out->pfec = p | ((acc & X86_ACC_WRITE) ? X86_PFEC_W : 0) | ((acc & X86_ACC_USER) ? X86_PFEC_U : 0) |
		    ((acc & X86_ACC_FETCH) && fetch_i ? X86_PFEC_I : 0);
	return X86_XLATE_FAULT;
}

static int walk_translate(void *ctx, struct x86_cpu *cpu, uint64_t lin, unsigned acc, struct x86_xlate *out)
{
	uint64_t gpa;
	bool user = acc & X86_ACC_USER, write = acc & X86_ACC_WRITE, fetch = acc & X86_ACC_FETCH;

	if (!(cpu->cr0 & X86_CR0_PG)) {
		gpa = lin;
	} else {
		bool lma = cpu->efer & X86_EFER_LMA, pae = cpu->cr4 & X86_CR4_PAE;
		bool nxe = (cpu->efer & X86_EFER_NXE) && pae;
		bool wp = cpu->cr0 & X86_CR0_WP;
		bool fi = nxe;	/* I bit reported when NX is in use */
		uint64_t ents[5], addrs[5];
		int n = 0;
		bool allu = true, allw = true, nx = false;
		uint64_t maxphy = ~((1ull << 40) - 1) & 0x000fffffffffffffull;
		uint64_t pfn = 0, pagemask = 0xfff;

		if (!pae) {
			uint64_t pde_a = (cpu->cr3 & 0xfffff000) + ((lin >> 22) & 0x3ff) * 4;
			uint64_t pde = rd(pde_a, 4);

			if (!(pde & 1))
				return fault(acc, 0, out, fi);
			ents[n] = pde; addrs[n++] = pde_a;
			allu &= !!(pde & 4); allw &= !!(pde & 2);
			if ((pde & 0x80) && (cpu->cr4 & X86_CR4_PSE)) {
				if (pde & (1u << 21))
					return fault(acc, X86_PFEC_P | X86_PFEC_RSVD, out, fi);
				pfn = (pde & 0xffc00000ull) | (((pde >> 13) & 0xff) << 32);
				pagemask = 0x3fffff;
			} else {
				uint64_t pte_a = (pde & 0xfffff000) + ((lin >> 12) & 0x3ff) * 4;
				uint64_t pte = rd(pte_a, 4);

				if (!(pte & 1))
					return fault(acc, 0, out, fi);
				ents[n] = pte; addrs[n++] = pte_a;
				allu &= !!(pte & 4); allw &= !!(pte & 2);
				pfn = pte & 0xfffff000;
			}
		} else {
			int levels = lma ? 4 : 3;
			uint64_t table = lma ? (cpu->cr3 & 0x000ffffffffff000ull) : (cpu->cr3 & 0xffffffe0);

			for (int l = levels; l >= 1; l--) {
				unsigned shift = 12 + 9 * (l - 1);
				unsigned idx = l == 3 && !lma ? (lin >> 30) & 3 : (lin >> shift) & 511;
				uint64_t ea = table + idx * 8, e = rd(ea, 8);

				if (!(e & 1))
					return fault(acc, 0, out, fi);
				uint64_t rsvd = maxphy;

				if (!nxe)
					rsvd |= 1ull << 63;
				if (!lma && l == 3)
					rsvd |= 0x1e6 | (1ull << 63);	/* PAE PDPTE */
				if (l == 4)
					rsvd |= 0x80;	/* PS in PML4E */
				if (l == 3 && lma)
					rsvd |= 0x80;	/* no 1G pages advertised */
				if (l == 2 && (e & 0x80))
					rsvd |= 0x1fe000;
				if (e & rsvd)
					return fault(acc, X86_PFEC_P | X86_PFEC_RSVD, out, fi);
				ents[n] = e; addrs[n++] = ea;
				if (!(!lma && l == 3)) {
					allu &= !!(e & 4); allw &= !!(e & 2);
				}
				if (nxe && (e >> 63))
					nx = true;
				if (l == 2 && (e & 0x80)) {
					pfn = e & 0x000fffffffe00000ull;
					pagemask = 0x1fffff;
					break;
				}
				if (l == 1)
					pfn = e & 0x000ffffffffff000ull;
				table = e & 0x000ffffffffff000ull;
			}
		}
		if (user && !allu)
			return fault(acc, X86_PFEC_P, out, fi);
		if (write && !allw && (user || wp))
			return fault(acc, X86_PFEC_P, out, fi);
		if (fetch && nx)
			return fault(acc, X86_PFEC_P, out, fi);
		for (int k = 0; k < n; k++) {
			if (!lma && pae && k == 0)
				continue;	/* PAE PDPTEs have no A bit */
			bool leaf = k == n - 1;
			uint64_t e = ents[k] | 0x20 | (leaf && write ? 0x40 : 0);

			if (e != ents[k])
				wr(addrs[k], pae ? 8 : 4, e);
		}
		gpa = pfn | (lin & pagemask);
	}
	out->gpa = gpa;
	if (gpa >= RAM) {
		return X86_XLATE_MMIO;
	}
	out->hva = ram + gpa;
	return X86_XLATE_RAM;
}


static const struct x86_env_ops ops = { .translate = walk_translate };

static char fw_dir[PATH_MAX + 64], exp_dir[PATH_MAX + 64];

static void find_dirs(void)
{
	char exe[PATH_MAX - 64];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	const char *e = getenv("X86_FW_DIR");

	if (n < 0)
		n = 0;
	exe[n] = 0;
	char *slash = strrchr(exe, '/');

	if (slash)
		*slash = 0;	/* $(BUILD)/tests */
	if (e)
		snprintf(fw_dir, sizeof(fw_dir), "%s", e);
	else
		snprintf(fw_dir, sizeof(fw_dir), "%s/../firmware", exe);
	e = getenv("X86_FW_EXPECTED");
	if (e)
		snprintf(exp_dir, sizeof(exp_dir), "%s", e);
	else
		snprintf(exp_dir, sizeof(exp_dir), "%s/../../tests/firmware", exe);
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");

	if (!f)
		return NULL;
	size_t cap = 1 << 20, n = 0;
	uint8_t *b = malloc(cap);

	for (size_t r; (r = fread(b + n, 1, cap - n, f)) > 0;) {
		n += r;
		if (n == cap)
			b = realloc(b, cap *= 2);
	}
	fclose(f);
	*len = n;
	return b;
}

/* Multiboot v1: a.out kludge fields when flag 16 is set, else ELF32 program headers. */
static uint32_t load(const uint8_t *buf, size_t n)
{
	for (size_t off = 0; off + 32 <= 8192 && off + 32 <= n; off += 4) {
		uint32_t h[8];

		memcpy(h, buf + off, sizeof(h));
		if (h[0] == 0x1BADB002 && h[0] + h[1] + h[2] == 0 && (h[1] & 0x10000)) {
			size_t foff = off - (h[3] - h[4]);
			size_t len = h[5] ? h[5] - h[4] : n - foff;

			memcpy(ram + h[4], buf + foff, len);
			return h[7];
		}
	}
	const Elf32_Ehdr *e = (const Elf32_Ehdr *)buf;

	for (int i = 0; i < e->e_phnum; i++) {
		const Elf32_Phdr *ph = (const Elf32_Phdr *)(buf + e->e_phoff + i * sizeof(*ph));

		if (ph->p_type == PT_LOAD)
			memcpy(ram + ph->p_paddr, buf + ph->p_offset, ph->p_filesz);
	}
	return e->e_entry;
}

struct out {
	char buf[16384];
	size_t n;
};

static void out_c(struct out *o, char ch)
{
	if (o->n + 1 < sizeof(o->buf))
		o->buf[o->n++] = ch;
	o->buf[o->n] = 0;
}

/* Run one image; returns the isa-debug-exit code or -1. */
static int run_fw(const char *name, const uint8_t *img, size_t len, struct out *o)
{
	static uint8_t testdev[65536];
	uint8_t ioreg[16] = { 0 };	/* pc-testdev ports 0xe0-0xef, enough for the string tests */
	struct x86_cpu *cpu = calloc(1, sizeof(*cpu));
	struct x86_exit ex;
	uint8_t lcr = 0;
	int code = -1;

	memset(ram, 0, RAM);
	memset(testdev, 0, sizeof(testdev));
	uint32_t entry = load(img, len);
	uint32_t mbi[13] = { 1 | 4 | 64, 639, (RAM >> 10) - 1024, 0, 0x9100 };
	struct { uint32_t size; uint64_t addr, len; uint32_t type; } __attribute__((packed)) mmap[2] = {
		{ 20, 0, 0x9fc00, 1 }, { 20, 0x100000, RAM - 0x100000, 1 } };

	mbi[11] = sizeof(mmap);
	mbi[12] = 0x9200;
	memcpy(ram + 0x9000, mbi, sizeof(mbi));
	snprintf((char *)ram + 0x9100, 256, "%s.elf", name);
	memcpy(ram + 0x9200, mmap, sizeof(mmap));

	x86__reset(cpu);
	cpu->tsc_khz = 1000000;
	cpu->cr0 = X86_CR0_PE | X86_CR0_ET;
	for (int s = 0; s < X86_NR_SREGS; s++) {
		struct x86_seg *g = &cpu->seg[s];

		memset(g, 0, sizeof(*g));
		g->sel = s == X86_CS ? 0x08 : 0x10;
		g->type = s == X86_CS ? 0xb : 0x3;
		g->s = g->present = g->g = g->db = 1;
		g->limit = 0xffffffff;
	}
	cpu->rip = entry;
	cpu->gpr[X86_RAX] = 0x2BADB002;
	cpu->gpr[X86_RBX] = 0x9000;
	x86__state_changed(cpu);
	for (;;) {
		enum x86_event ev = x86__run(cpu, &ops, NULL, 200000000, &ex);

		if (ev == X86_EV_IO) {
			uint32_t v = 0;

			if (ex.io.is_write) {
				memcpy(&v, ex.io.data, ex.io.size);
				if (ex.io.port == 0x3fb)
					lcr = v;
				else if (ex.io.port == 0x3f8 && !(lcr & 0x80))
					out_c(o, v);
				else if (ex.io.port == 0xf4) {
					code = v;
					break;
				} else if (ex.io.port >= 0xe0 && ex.io.port + ex.io.size <= 0xf0) {
					memcpy(ioreg + ex.io.port - 0xe0, &v, ex.io.size);
				}
			} else {
				v = ex.io.port == 0x3fd ? 0x60 : ex.io.port == 0x3fb ? lcr : 0xffffffff;
				if (ex.io.port >= 0xe0 && ex.io.port + ex.io.size <= 0xf0)
					memcpy(&v, ioreg + ex.io.port - 0xe0, ex.io.size);
				x86__complete_io(cpu, &v, ex.io.size);
			}
			continue;
		}
		if (ev == X86_EV_MMIO) {
			uint64_t a = ex.mmio.gpa - TESTDEV_MMIO, v = ~0ull;
			bool in = ex.mmio.gpa >= TESTDEV_MMIO && a + ex.mmio.len <= sizeof(testdev);

			if (ex.mmio.is_write) {
				if (in)
					memcpy(testdev + a, ex.mmio.data, ex.mmio.len);
			} else {
				if (in)
					memcpy(&v, testdev + a, ex.mmio.len);
				x86__complete_mmio(cpu, &v, ex.mmio.len);
			}
			continue;
		}
		printf("%s: stopped with event %s at rip %#llx\n", name, x86__event_name(ev),
		       (unsigned long long)cpu->rip);
		break;
	}
	if (cpu->stats.ud)
		printf("%s: %llu unimplemented opcodes, last at %#llx\n", name,
		       (unsigned long long)cpu->stats.ud, (unsigned long long)cpu->stats.last_ud_rip);
	free(cpu);
	return code;
}

static void check(const char *name)
{
	char path[PATH_MAX + 160];
	size_t len, elen;
	struct out *o = calloc(1, sizeof(*o));

	snprintf(path, sizeof(path), "%s/%s.elf", fw_dir, name);
	uint8_t *img = slurp(path, &len);

	if (!img) {
		printf("%s not built (make firmware): skipped\n", path);
		free(o);
		skip();
	}
	snprintf(path, sizeof(path), "%s/%s.shadow.expected", exp_dir, name);
	uint8_t *exp = slurp(path, &elen);

	if (!exp) {
		snprintf(path, sizeof(path), "%s/%s.expected", exp_dir, name);
		exp = slurp(path, &elen);
	}
	assert_non_null(exp);
	int code = run_fw(name, img, len, o);

	if (o->n != elen || memcmp(o->buf, exp, elen))
		printf("--- %s transcript ---\n%s--- expected (%s) ---\n%.*s", name, o->buf, path, (int)elen, exp);
	assert_int_equal(code, 0);
	assert_int_equal(o->n, elen);
	assert_memory_equal(o->buf, exp, elen);
	free(img);
	free(exp);
	free(o);
}

#define FW_TEST(n) static void test_##n(void **st) { (void)st; check(#n); }
FW_TEST(modes)
FW_TEST(paging)
FW_TEST(paging64)
FW_TEST(tlb)
FW_TEST(ptmod)
FW_TEST(smc)
FW_TEST(strio)
FW_TEST(io64)
FW_TEST(trace)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_modes), cmocka_unit_test(test_paging), cmocka_unit_test(test_paging64),
		cmocka_unit_test(test_tlb), cmocka_unit_test(test_ptmod), cmocka_unit_test(test_smc),
		cmocka_unit_test(test_strio), cmocka_unit_test(test_io64), cmocka_unit_test(test_trace),
	};

	ram = calloc(1, RAM);
	find_dirs();
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	free(ram);
	return rc;
}
