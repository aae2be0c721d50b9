/* Multiboot v1 loader and format probe: good images, entry state, info block, bad images. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <elf.h>

#include "loader/loader.h"
#include "mem/mem.h"
#include "util/util.h"
#include "vm/vm.h"

#define RAM (64ULL << 20)
#define LOAD 0x100000u
#define IMG_SIZE 0x400u
#define HDR_OFF 0x80u
#define CODE_OFF 0x100u
#define BSS 0x2000u

struct fix {
	struct vm vm;
	uint8_t img[IMG_SIZE];
	struct kvm_regs regs;
	struct kvm_sregs sregs;
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(mem__init(&f->vm.mem, RAM), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	mem__exit(&f->vm.mem);
	free(f);
	return 0;
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static uint32_t gread32(struct fix *f, uint64_t gpa)
{
	uint32_t v;

	assert_int_equal(mem__read(&f->vm.mem, gpa, &v, 4), 0);
	return v;
}

static void mb_header(uint8_t *p, uint32_t flags)
{
	put32(p, MULTIBOOT_HEADER_MAGIC);
	put32(p + 4, flags);
	put32(p + 8, -(MULTIBOOT_HEADER_MAGIC + flags));
}

/* One PT_LOAD covering the whole file, plus BSS; entry at CODE_OFF. */
static void make_elf32(uint8_t *img, uint32_t vaddr, uint32_t paddr)
{
	Elf32_Ehdr eh = { 0 };
	Elf32_Phdr ph = { 0 };

	memset(img, 0, IMG_SIZE);
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS32;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_EXEC;
	eh.e_machine = EM_386;
	eh.e_version = EV_CURRENT;
	eh.e_entry = vaddr + CODE_OFF;
	eh.e_phoff = sizeof(eh);
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(ph);
	eh.e_phnum = 1;
	ph.p_type = PT_LOAD;
	ph.p_offset = 0;
	ph.p_vaddr = vaddr;
	ph.p_paddr = paddr;
	ph.p_filesz = IMG_SIZE;
	ph.p_memsz = IMG_SIZE + BSS;
	memcpy(img, &eh, sizeof(eh));
	memcpy(img + sizeof(eh), &ph, sizeof(ph));
	mb_header(img + HDR_OFF, 0x3);
	for (unsigned i = CODE_OFF; i < IMG_SIZE; i++)
		img[i] = (uint8_t)(i * 7 + 1);
}

static int load(struct fix *f, size_t len, const char *const *mods, int nr)
{
	return loader__multiboot(&f->vm, f->img, len, "/k/fw.elf", "a=1 b", mods, nr, &f->regs,
				 &f->sregs);
}

static void test_probe(void **state)
{
	struct fix *f = *state;
	uint8_t bz[0x300] = { 0 };

	make_elf32(f->img, LOAD, LOAD);
	assert_int_equal(loader__probe(f->img, IMG_SIZE), LOADER_MULTIBOOT);
	assert_int_equal(loader__probe(f->img, HDR_OFF + 11), LOADER_UNKNOWN);
	assert_int_equal(loader__probe(f->img, 0), LOADER_UNKNOWN);
	assert_int_equal(loader__probe(NULL, 100), LOADER_UNKNOWN);
	memcpy(bz + 0x202, "HdrS", 4);
	assert_int_equal(loader__probe(bz, sizeof(bz)), LOADER_BZIMAGE);
	assert_int_equal(loader__probe(bz, 0x205), LOADER_UNKNOWN);
	/* Bad checksum. */
	put32(f->img + HDR_OFF + 8, 0);
	assert_int_equal(loader__probe(f->img, IMG_SIZE), LOADER_UNKNOWN);
	/* A header past the 8 KiB window does not count. */
	{
		uint8_t *big = calloc(1, 8192 + 64);

		mb_header(big + 8192, 0);
		assert_int_equal(loader__probe(big, 8192 + 64), LOADER_UNKNOWN);
		mb_header(big + 8192 - 12, 0);
		assert_int_equal(loader__probe(big, 8192 + 64), LOADER_MULTIBOOT);
		free(big);
	}
}

static void test_elf32_entry_state(void **state)
{
	struct fix *f = *state;
	uint8_t *ram = mem__gpa_to_hva(&f->vm.mem, 0, RAM);

	memset(ram + LOAD, 0xaa, IMG_SIZE + BSS + 16);
	make_elf32(f->img, LOAD, LOAD);
	f->sregs.cr0 = 0x60000010;
	f->sregs.cr4 = 0x20;
	f->sregs.efer = 0x500;
	assert_int_equal(load(f, IMG_SIZE, NULL, 0), 0);
	assert_string_equal(loader__error(), "");
	assert_memory_equal(ram + LOAD, f->img, IMG_SIZE);
	for (unsigned i = 0; i < BSS; i++)
		assert_int_equal(ram[LOAD + IMG_SIZE + i], 0);
	assert_int_equal(ram[LOAD + IMG_SIZE + BSS], 0xaa);	/* nothing past memsz */

	assert_int_equal(f->regs.rax, 0x2BADB002);
	assert_int_equal(f->regs.rbx, BOOT_MB_INFO);
	assert_int_equal(f->regs.rip, LOAD + CODE_OFF);
	assert_int_equal(f->regs.rflags, 2);
	assert_int_equal(f->sregs.cs.db, 1);
	assert_int_equal(f->sregs.cs.l, 0);
	assert_int_equal(f->sregs.cs.base, 0);
	assert_int_equal(f->sregs.cs.limit, 0xffffffff);
	assert_int_equal(f->sregs.cs.type & 0x8, 0x8);		/* code */
	assert_int_equal(f->sregs.ds.type & 0x8, 0);		/* data */
	assert_int_equal(f->sregs.ss.db, 1);
	assert_int_equal(f->sregs.cr0 & 1, 1);
	assert_int_equal(f->sregs.cr0 & 0x80000000, 0);
	assert_int_equal(f->sregs.cr4, 0);
	assert_int_equal(f->sregs.efer & 0x500, 0);
	/* The GDT the selectors name exists and matches the cached segments. */
	assert_int_equal(f->sregs.gdt.base, BOOT_GDT_ADDR);
	assert_true(f->sregs.gdt.limit >= f->sregs.ds.selector + 7);
	assert_int_equal(gread32(f, BOOT_GDT_ADDR + f->sregs.cs.selector + 4), 0x00cf9b00);
	assert_int_equal(gread32(f, BOOT_GDT_ADDR + f->sregs.ds.selector + 4), 0x00cf9300);
}

static void test_info_block(void **state)
{
	struct fix *f = *state;
	uint64_t info = BOOT_MB_INFO, avail = 0, top = 0;
	uint32_t flags, mlen, maddr;
	char cmd[64];

	make_elf32(f->img, LOAD, LOAD);
	assert_int_equal(load(f, IMG_SIZE, NULL, 0), 0);
	flags = gread32(f, info);
	assert_int_equal(flags & 0x245, 0x245);	/* mem, cmdline, mmap, loader name */
	assert_int_equal(flags & 0x8, 0);		/* no modules */
	assert_int_equal(gread32(f, info + 4), 639);
	assert_int_equal(gread32(f, info + 8), (RAM - 0x100000) >> 10);
	assert_int_equal(mem__read(&f->vm.mem, gread32(f, info + 16), cmd, sizeof(cmd)), 0);
	assert_string_equal(cmd, "/k/fw.elf a=1 b");
	mlen = gread32(f, info + 44);
	maddr = gread32(f, info + 48);
	assert_true(mlen > 0 && mlen % 24 == 0);
	for (uint32_t off = 0; off < mlen; off += 24) {
		uint64_t base, len;
		uint32_t type;

		assert_int_equal(gread32(f, maddr + off), 20);
		assert_int_equal(mem__read(&f->vm.mem, maddr + off + 4, &base, 8), 0);
		assert_int_equal(mem__read(&f->vm.mem, maddr + off + 12, &len, 8), 0);
		type = gread32(f, maddr + off + 20);
		assert_true(base >= top);	/* sorted, no overlap */
		top = base + len;
		if (type == 1) {
			avail += len;
			/* The info block itself must be inside available RAM. */
		}
		assert_true(type == 1 || type == 2);
	}
	assert_int_equal(top, RAM);
	assert_int_equal(avail, RAM - (0x100000 - 0x9fc00));
	{
		char name[8];

		assert_int_equal(mem__read(&f->vm.mem, gread32(f, info + 64), name, 4), 0);
		assert_string_equal(name, "mvm");
	}
}

static char *tmpfile_with(const char *content, size_t len)
{
	char *path = strdup("/tmp/mvm-mbmod-XXXXXX");
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, len), (ssize_t)len);
	close(fd);
	return path;
}

static void test_modules(void **state)
{
	struct fix *f = *state;
	char *m1 = tmpfile_with("first module", 12);
	char *m2 = tmpfile_with("", 0);
	char *m3 = tmpfile_with("third", 5);
	const char *mods[] = { m1, m2, m3 };
	uint32_t addr, prev_end = LOAD + IMG_SIZE + BSS;
	char buf[64];

	make_elf32(f->img, LOAD, LOAD);
	assert_int_equal(load(f, IMG_SIZE, mods, 3), 0);
	assert_int_equal(gread32(f, BOOT_MB_INFO) & 0x8, 0x8);
	assert_int_equal(gread32(f, BOOT_MB_INFO + 20), 3);
	addr = gread32(f, BOOT_MB_INFO + 24);
	for (int i = 0; i < 3; i++) {
		uint32_t start = gread32(f, addr + 16 * i), end = gread32(f, addr + 16 * i + 4);

		assert_int_equal(start % 4096, 0);
		assert_true(start >= prev_end);
		prev_end = end;
		assert_int_equal(mem__read(&f->vm.mem, gread32(f, addr + 16 * i + 8), buf,
					   strlen(mods[i]) + 1), 0);
		assert_string_equal(buf, mods[i]);
		assert_int_equal(mem__read(&f->vm.mem, start, buf, end - start), 0);
		assert_memory_equal(buf, i == 0 ? "first module" : i == 1 ? "" : "third",
				    end - start);
	}
	assert_int_equal(gread32(f, addr + 4) - gread32(f, addr), 12);
	assert_int_equal(gread32(f, addr + 20) - gread32(f, addr + 16), 0);

	/* A missing module file fails cleanly. */
	mods[1] = "/nonexistent/mvm-module";
	assert_int_equal(load(f, IMG_SIZE, mods, 3), -ENOENT);
	assert_non_null(strstr(loader__error(), "/nonexistent/mvm-module"));
	unlink(m1);
	unlink(m2);
	unlink(m3);
	free(m1);
	free(m2);
	free(m3);
}

static void test_vaddr_translation(void **state)
{
	struct fix *f = *state;

	make_elf32(f->img, 0xc0100000u, 0x200000u);
	assert_int_equal(load(f, IMG_SIZE, NULL, 0), 0);
	assert_int_equal(f->regs.rip, 0x200000u + CODE_OFF);
	assert_memory_equal(mem__gpa_to_hva(&f->vm.mem, 0x200000, IMG_SIZE), f->img, IMG_SIZE);
}

static void test_elf64(void **state)
{
	struct fix *f = *state;
	Elf64_Ehdr eh = { 0 };
	Elf64_Phdr ph = { 0 };

	memset(f->img, 0, IMG_SIZE);
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_machine = EM_X86_64;
	eh.e_entry = 0x300000 + CODE_OFF;
	eh.e_phoff = sizeof(eh);
	eh.e_phentsize = sizeof(ph);
	eh.e_phnum = 1;
	ph.p_type = PT_LOAD;
	ph.p_vaddr = ph.p_paddr = 0x300000;
	ph.p_filesz = ph.p_memsz = IMG_SIZE;
	memcpy(f->img, &eh, sizeof(eh));
	memcpy(f->img + sizeof(eh), &ph, sizeof(ph));
	mb_header(f->img + HDR_OFF + 0x40, 0);
	assert_int_equal(load(f, IMG_SIZE, NULL, 0), 0);
	assert_int_equal(f->regs.rip, 0x300000 + CODE_OFF);
	/* The same image for i386 is refused: machine mismatch. */
	((Elf64_Ehdr *)f->img)->e_machine = EM_386;
	assert_int_equal(load(f, IMG_SIZE, NULL, 0), -ENOEXEC);
}

static void make_aout(uint8_t *img, uint32_t load_addr, uint32_t load_end, uint32_t bss_end,
		      uint32_t entry)
{
	memset(img, 0, IMG_SIZE);
	for (unsigned i = 0; i < IMG_SIZE; i++)
		img[i] = (uint8_t)(i ^ 0x5a);
	mb_header(img + HDR_OFF, 0x10000);
	put32(img + HDR_OFF + 12, load_addr + HDR_OFF);	/* header_addr */
	put32(img + HDR_OFF + 16, load_addr);
	put32(img + HDR_OFF + 20, load_end);
	put32(img + HDR_OFF + 24, bss_end);
	put32(img + HDR_OFF + 28, entry);
}

static void test_aout_kludge(void **state)
{
	struct fix *f = *state;
	uint8_t *ram = mem__gpa_to_hva(&f->vm.mem, 0, RAM);
	const uint32_t at = 0x400000;

	memset(ram + at, 0xaa, 0x2000);
	make_aout(f->img, at, at + 0x200, at + 0x1000, at + 0x10);
	assert_int_equal(load(f, IMG_SIZE, NULL, 0), 0);
	assert_int_equal(f->regs.rip, at + 0x10);
	assert_memory_equal(ram + at, f->img, 0x200);
	assert_int_equal(ram[at + 0x200], 0);		/* bss */
	assert_int_equal(ram[at + 0xfff], 0);
	assert_int_equal(ram[at + 0x1000], 0xaa);

	/* load_end 0: the rest of the file; no bss. */
	make_aout(f->img, at, 0, 0, at + 0x10);
	assert_int_equal(load(f, IMG_SIZE, NULL, 0), 0);
	assert_memory_equal(ram + at, f->img, IMG_SIZE);

	/* Broken address fields. */
	make_aout(f->img, at, at - 1, 0, at);
	assert_int_equal(load(f, IMG_SIZE, NULL, 0), -ENOEXEC);
	make_aout(f->img, at, at + IMG_SIZE + 1, 0, at);
	assert_int_equal(load(f, IMG_SIZE, NULL, 0), -ENOEXEC);
	make_aout(f->img, at, at + 0x100, at + 0x80, at);
	assert_int_equal(load(f, IMG_SIZE, NULL, 0), -ENOEXEC);
	make_aout(f->img, at, 0, 0, at + 0x100000);	/* entry outside */
	assert_int_equal(load(f, IMG_SIZE, NULL, 0), -ENOEXEC);
	make_aout(f->img, at, 0, 0, at);
	put32(f->img + HDR_OFF + 12, at + HDR_OFF + 4);	/* load start before the file */
	assert_int_equal(load(f, IMG_SIZE, NULL, 0), -ENOEXEC);
	make_aout(f->img, 0x8000, 0, 0, 0x8000);	/* low boot area */
	assert_int_equal(load(f, IMG_SIZE, NULL, 0), -ERANGE);
	make_aout(f->img, RAM - 0x100, 0, 0, RAM - 0x100);	/* past the end of RAM */
	assert_int_equal(load(f, IMG_SIZE, NULL, 0), -ERANGE);
	make_aout(f->img, 0xfffff000u, 0, 0xffffffffu, 0xfffff000u);	/* in the hole */
	assert_int_equal(load(f, IMG_SIZE, NULL, 0), -ERANGE);
}

static void test_bad_elf(void **state)
{
	struct fix *f = *state;
	Elf32_Phdr *ph = (Elf32_Phdr *)(f->img + sizeof(Elf32_Ehdr));
	Elf32_Ehdr *eh = (Elf32_Ehdr *)f->img;

	make_elf32(f->img, 0x8000, 0x8000);
	assert_int_equal(load(f, IMG_SIZE, NULL, 0), -ERANGE);
	assert_non_null(strstr(loader__error(), "low boot area"));
	make_elf32(f->img, RAM, RAM);
	assert_int_equal(load(f, IMG_SIZE, NULL, 0), -ERANGE);
	make_elf32(f->img, LOAD, LOAD);
	ph->p_filesz = ph->p_memsz + 1;
	assert_int_equal(load(f, IMG_SIZE, NULL, 0), -ENOEXEC);
	make_elf32(f->img, LOAD, LOAD);
	ph->p_offset = 0xfffffff0u;
	assert_int_equal(load(f, IMG_SIZE, NULL, 0), -ENOEXEC);
	make_elf32(f->img, LOAD, LOAD);
	ph->p_memsz = 0xffffffffu;
	assert_int_equal(load(f, IMG_SIZE, NULL, 0), -ERANGE);
	make_elf32(f->img, LOAD, LOAD);
	eh->e_phnum = 0xffff;
	assert_int_equal(load(f, IMG_SIZE, NULL, 0), -ENOEXEC);
	make_elf32(f->img, LOAD, LOAD);
	eh->e_phoff = 0xfffffff0u;
	assert_int_equal(load(f, IMG_SIZE, NULL, 0), -ENOEXEC);
	make_elf32(f->img, LOAD, LOAD);
	eh->e_phentsize = 8;
	assert_int_equal(load(f, IMG_SIZE, NULL, 0), -ENOEXEC);
	make_elf32(f->img, LOAD, LOAD);
	eh->e_entry = 0x50000000;
	assert_int_equal(load(f, IMG_SIZE, NULL, 0), -ENOEXEC);
	make_elf32(f->img, LOAD, LOAD);
	eh->e_machine = EM_ARM;
	assert_int_equal(load(f, IMG_SIZE, NULL, 0), -ENOEXEC);
	make_elf32(f->img, LOAD, LOAD);
	f->img[EI_DATA] = ELFDATA2MSB;
	assert_int_equal(load(f, IMG_SIZE, NULL, 0), -ENOEXEC);
	make_elf32(f->img, LOAD, LOAD);
	ph->p_type = PT_NOTE;
	assert_int_equal(load(f, IMG_SIZE, NULL, 0), -ENOEXEC);	/* nothing loaded */
	/* Not ELF and no a.out kludge. */
	make_elf32(f->img, LOAD, LOAD);
	f->img[0] = 0;
	assert_int_equal(load(f, IMG_SIZE, NULL, 0), -ENOEXEC);
	/* Unsupported required header flag (bit 3). */
	make_elf32(f->img, LOAD, LOAD);
	mb_header(f->img + HDR_OFF, 0x8);
	assert_int_equal(load(f, IMG_SIZE, NULL, 0), -ENOEXEC);
	/* Optional high bits are fine. */
	make_elf32(f->img, LOAD, LOAD);
	mb_header(f->img + HDR_OFF, 0x3 | 0x20000);
	assert_int_equal(load(f, IMG_SIZE, NULL, 0), 0);
	/* No header at all. */
	memset(f->img + HDR_OFF, 0, 12);
	assert_int_equal(load(f, IMG_SIZE, NULL, 0), -ENOEXEC);
	assert_int_equal(loader__multiboot(&f->vm, NULL, 0, NULL, NULL, NULL, 0, &f->regs,
					   &f->sregs), -ENOEXEC);
}

/* Every truncation and many single-byte corruptions: no crash, sane results. */
static void test_mutations(void **state)
{
	struct fix *f = *state;
	uint8_t good[IMG_SIZE];
	int saved = dup(STDERR_FILENO), devnull = open("/dev/null", O_WRONLY);
	unsigned ok = 0;

	make_elf32(good, LOAD, LOAD);
	dup2(devnull, STDERR_FILENO);
	for (size_t len = 0; len < IMG_SIZE; len++) {
		uint8_t *copy = malloc(len ? len : 1);	/* exact size: ASan sees overreads */

		memcpy(copy, good, len);
		int ret = loader__multiboot(&f->vm, copy, len, "k", "", NULL, 0, &f->regs,
					    &f->sregs);
		free(copy);
		/* The segment covers the whole file, so any truncation is refused. */
		if (ret != -ENOEXEC) {
			dup2(saved, STDERR_FILENO);
			fail_msg("truncation to %zu bytes returned %d", len, ret);
		}
	}
	srand(12345);
	for (int i = 0; i < 20000; i++) {
		memcpy(f->img, good, IMG_SIZE);
		for (int k = 0; k < 1 + i % 4; k++)
			f->img[rand() % (HDR_OFF + 32)] = (uint8_t)rand();
		int ret = load(f, IMG_SIZE, NULL, 0);

		if (ret == 0) {
			ok++;
			assert_true(f->regs.rip >= LOAD && f->regs.rip < RAM);
		} else if (ret != -ENOEXEC && ret != -ERANGE) {
			dup2(saved, STDERR_FILENO);
			fail_msg("mutation %d returned %d", i, ret);
		}
	}
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(devnull);
	assert_true(ok > 0);
}

/*
 * The real firmware images (tests/firmware), when built: every byte lands
 * where the ELF program headers or the a.out-kludge fields say.  Set
 * MVM_FW_DIR to the directory holding them (default build/firmware).
 */
static void test_firmware_images(void **state)
{
	static const char *const names[] = { "io", "paging", "modes", "paging64" };
	const char *dir = getenv("MVM_FW_DIR") ? getenv("MVM_FW_DIR") : "build/firmware";
	struct fix *f = *state;
	int found = 0;

	for (size_t n = 0; n < sizeof(names) / sizeof(names[0]); n++) {
		char path[512];
		uint8_t *img;
		size_t len;
		long hoff = -1;

		snprintf(path, sizeof(path), "%s/%s.elf", dir, names[n]);
		if (util__read_file(path, 16 << 20, &img, &len))
			continue;
		found++;
		assert_int_equal(loader__probe(img, len), LOADER_MULTIBOOT);
		assert_int_equal(loader__multiboot(&f->vm, img, len, path, "", NULL, 0, &f->regs,
						   &f->sregs), 0);
		for (size_t off = 0; off + 12 <= 8192 && off + 12 <= len; off += 4)
			if (*(uint32_t *)(img + off) == MULTIBOOT_HEADER_MAGIC) {
				hoff = (long)off;
				break;
			}
		assert_true(hoff >= 0);
		if (*(uint32_t *)(img + hoff + 4) & 0x10000) {
			uint32_t *h = (uint32_t *)(img + hoff);
			size_t foff = (size_t)hoff - (h[3] - h[4]);

			assert_int_equal(f->regs.rip, h[7]);
			assert_memory_equal(mem__gpa_to_hva(&f->vm.mem, h[4], h[5] - h[4]), img + foff,
					    h[5] - h[4]);
		} else {
			Elf32_Ehdr *eh = (Elf32_Ehdr *)img;

			assert_int_equal(f->regs.rip, eh->e_entry);
			for (int i = 0; i < eh->e_phnum; i++) {
				Elf32_Phdr *ph = (Elf32_Phdr *)(img + eh->e_phoff) + i;
				uint8_t *m;

				if (ph->p_type != PT_LOAD)
					continue;
				m = mem__gpa_to_hva(&f->vm.mem, ph->p_paddr, ph->p_memsz);
				assert_memory_equal(m, img + ph->p_offset, ph->p_filesz);
				for (uint32_t b = ph->p_filesz; b < ph->p_memsz; b++)
					assert_int_equal(m[b], 0);
			}
		}
		free(img);
	}
	if (!found)
		skip();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_probe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_elf32_entry_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_info_block, setup, teardown),
		cmocka_unit_test_setup_teardown(test_modules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vaddr_translation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_elf64, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aout_kludge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_elf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mutations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_firmware_images, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
