/*
 * mvm: parse the command line, build the machine, run it, report how it
 * ended.  The device set-up order below is the machine's definition: it is
 * explicit on purpose (no constructor lists).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acpi/acpi.h"
#include "config/config.h"
#include "devices/debug_exit.h"
#include "devices/device.h"
#include "devices/fw_cfg.h"
#include "devices/i8042.h"
#include "devices/legacy.h"
#include "devices/osi.h"
#include "devices/rtc.h"
#include "devices/serial8250.h"
#include "devices/term.h"
#include "devices/virtio/virtio.h"
#include "fdt/fdt.h"
#include "kvm/kvm.h"
#include "loader/loader.h"
#include "mmu_shadow/shadow.h"
#include "seccomp/seccomp.h"
#include "util/util.h"
#include "vm/vm.h"

#define KERNEL_MAX_SIZE (512ULL << 20)

struct boot_files {
	uint8_t *kernel;
	size_t kernel_len;
	enum loader_format format;
	uint8_t *initrd;
	size_t initrd_len;
};

static const char *file_error(int err)
{
	switch (err) {
	case -EISDIR: return "is a directory, not a kernel image";
	case -EFBIG: return "file too large";
	case -EINVAL: return "not a regular file";
	default: return strerror(-err);
	}
}

/* Everything that can be wrong with the user's files, before any host set-up. */
static void read_boot_files(const struct config *cfg, struct boot_files *f)
{
	int ret = util__read_file(cfg->kernel, KERNEL_MAX_SIZE, &f->kernel, &f->kernel_len);

	if (ret)
		die(MVM_EXIT_USAGE, "kernel %s: %s", cfg->kernel, file_error(ret));
	if (f->kernel_len == 0)
		die(MVM_EXIT_USAGE, "kernel %s: file is empty; give a bzImage or multiboot ELF", cfg->kernel);
	f->format = loader__probe(f->kernel, f->kernel_len);
	if (f->format == LOADER_UNKNOWN)
		die(MVM_EXIT_USAGE, "kernel %s: not a bzImage or multiboot kernel; give a bzImage "
		    "(e.g. /boot/vmlinuz-*) or a multiboot v1 ELF", cfg->kernel);
	if (f->format == LOADER_BZIMAGE && cfg->nr_initrd > 1)
		die(MVM_EXIT_USAGE, "a bzImage takes one initrd; give -i once");
	if (f->format == LOADER_BZIMAGE && cfg->nr_initrd == 1) {
		ret = util__read_file(cfg->initrd[0], cfg->mem_size, &f->initrd, &f->initrd_len);
		if (ret == -EFBIG)
			die(MVM_EXIT_USAGE, "initrd %s: larger than guest memory; raise -m", cfg->initrd[0]);
		if (ret)
			die(MVM_EXIT_USAGE, "initrd %s: %s", cfg->initrd[0], file_error(ret));
	}
	if (f->format == LOADER_BZIMAGE &&
	    loader__bzimage_check(f->kernel, f->kernel_len, f->initrd_len, cfg->append, cfg->mem_size))
		die(MVM_EXIT_USAGE, "kernel %s: %s", cfg->kernel, loader__error());
	for (int i = 0; f->format == LOADER_MULTIBOOT && i < cfg->nr_initrd; i++)
		if (access(cfg->initrd[i], R_OK))
			die(MVM_EXIT_USAGE, "module %s: %s", cfg->initrd[i], strerror(errno));
}

static void check_host_memory(const struct config *cfg)
{
	uint64_t host = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE);

	if (cfg->mem_size > host)
		die(MVM_EXIT_USAGE, "-m %llu MiB is more than this host's %llu MiB of RAM; use a smaller -m",
		    (unsigned long long)(cfg->mem_size >> 20), (unsigned long long)(host >> 20));
}

static bool trace_insn(const struct config *cfg)
{
	return cfg->trace && strcmp(cfg->trace, "exits");
}

static const struct vcpu_backend *pick_backend(const struct config *cfg)
{
	switch (cfg->accel) {
	case ACCEL_KVM:
		if (!kvm__available())
			die(MVM_EXIT_HOST, "cannot open /dev/kvm: %s; load kvm_intel or kvm_amd, check "
			    "its permissions, or use --accel shadow", strerror(errno));
		return &kvm__backend;
	case ACCEL_SHADOW:
		return &shadow__backend;
	case ACCEL_AUTO:
	default:
		/* Only the interpreter can log instructions. */
		if (trace_insn(cfg))
			return &shadow__backend;
		if (!kvm__available()) {
			pr_warn("/dev/kvm is not available; using the in-process shadow backend (slower)");
			return &shadow__backend;
		}
		/*
		 * PVM (kvm_pvm, KVM without VT-x/SVM) runs only guest kernels
		 * built for it; a stock kernel stalls in its decompressor.
		 */
		if (access("/sys/module/kvm_pvm", F_OK) == 0) {
			pr_warn("/dev/kvm is PVM, which boots only PVM-enabled kernels; using the "
				"in-process shadow backend (--accel kvm forces KVM)");
			return &shadow__backend;
		}
		return &kvm__backend;
	}
}

/* --trace insn's spec is the shadow backend's to parse; check it up front. */
static void check_trace_spec(const struct config *cfg)
{
	struct shadow_trace t;

	if (trace_insn(cfg) && shadow__trace_parse(cfg->trace, &t))
		die(MVM_EXIT_USAGE, "--trace %s: expected insn[=COUNT][@START-END] with COUNT >= 1 "
		    "and START, END in hex", cfg->trace);
}

#define CHECK(call) do { int r_ = (call); if (r_) die(MVM_EXIT_HOST, "%s failed: %s", #call, strerror(-r_)); } while (0)

/*
 * The machine.  Order matters only where noted; every device registers its
 * own ports and describes itself for the ACPI/FDT builders.
 */
static void setup_devices(struct vm *vm, const struct config *cfg)
{
	struct serial8250 *uart;

	CHECK(serial8250__init(vm, 0x3f8, 4, cfg->console == CONSOLE_SERIAL ? STDOUT_FILENO : -1, &uart));
	CHECK(i8042__init(vm, NULL));
	CHECK(rtc__init(vm, NULL));
	CHECK(postcode__init(vm));
	CHECK(acpi__pm_init(vm));
	CHECK(debug_exit__init(vm));
	CHECK(fw_cfg__init(vm));
	osi__init(vm);
	/* Disks in command-line order, then networks, then the rng. */
	if (virtio__create_all(vm))
		exit(MVM_EXIT_USAGE);	/* it printed the one-line reason */
	/* Console input goes to whichever device is the console. */
	if (cfg->console == CONSOLE_SERIAL) {
		CHECK(term__init(vm, STDIN_FILENO, serial8250__term_sink, uart));
		serial8250__set_rx_notify(uart, term__kick, NULL);
	} else if (cfg->console == CONSOLE_VIRTIO) {
		struct virtio_mmio *con;
		CHECK(virtio_console__create(vm, STDOUT_FILENO, &con));
		CHECK(term__init(vm, STDIN_FILENO, virtio_console__term_sink, con));
	}
}

static void load_kernel(struct vm *vm, const struct config *cfg, const struct boot_files *f)
{
	static char cmdline[BOOT_CMDLINE_MAX];
	uint64_t rsdp = 0, setup_data = 0;
	struct vcpu *bsp = vm->vcpus[0];
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	int ret;

	if (vm->backend->get_regs(bsp, &regs) || vm->backend->get_sregs(bsp, &sregs))
		die(MVM_EXIT_HOST, "cannot read the boot vCPU's registers");

	/* Devices may describe themselves on the command line too. */
	snprintf(cmdline, sizeof(cmdline), "%s", cfg->append ? cfg->append : "");
	for (struct device *d = cfg->virtio_cmdline ? vm->devices : NULL; d; d = d->next)
		if (d->cmdline && (ret = d->cmdline(d, cmdline, sizeof(cmdline))))
			die(MVM_EXIT_USAGE, "--virtio-cmdline: the command line gets too long (%s)",
			    strerror(-ret));

	ret = acpi__build(vm, &rsdp);
	if (ret)
		die(MVM_EXIT_HOST, "cannot build the ACPI tables (%s)", strerror(-ret));
	if (cfg->dump_dtb && (ret = fdt__dump(vm, cfg->dump_dtb)))
		die(MVM_EXIT_USAGE, "--dump-dtb %s: %s", cfg->dump_dtb, strerror(-ret));
	if (cfg->dtb && f->format != LOADER_BZIMAGE)
		die(MVM_EXIT_USAGE, "--dtb needs a bzImage kernel (setup_data is a Linux boot protocol feature)");
	if (cfg->dtb && (ret = fdt__setup_data(vm, &setup_data)))
		die(MVM_EXIT_HOST, "cannot build the device tree (%s)", strerror(-ret));
	if (f->format == LOADER_BZIMAGE)
		ret = loader__bzimage(vm, f->kernel, f->kernel_len, f->initrd, f->initrd_len,
				      cmdline, rsdp, setup_data, &regs, &sregs);
	else
		ret = loader__multiboot(vm, f->kernel, f->kernel_len, cfg->kernel,
					cmdline, cfg->initrd, cfg->nr_initrd,
					&regs, &sregs);
	if (ret)
		die(MVM_EXIT_USAGE, "kernel %s: %s", cfg->kernel, loader__error());
	if (vm->backend->set_sregs(bsp, &sregs) || vm->backend->set_regs(bsp, &regs))
		die(MVM_EXIT_HOST, "cannot set the boot vCPU's registers");
}

int main(int argc, char **argv)
{
	struct config cfg;
	const struct vcpu_backend *backend;
	struct boot_files files = { 0 };
	struct vm vm;
	int ret;

	/* A closed stdout pipe gives EPIPE; the UART then drops output. */
	signal(SIGPIPE, SIG_IGN);
	/* SIGUSR2 asks the shadow backend for a state dump; elsewhere ignore it. */
	signal(SIGUSR2, SIG_IGN);
	ret = config__parse(&cfg, argc, argv);
	if (ret)
		return ret > 0 ? 0 : MVM_EXIT_USAGE;
	util__log_level = cfg.log_level;
	check_trace_spec(&cfg);
	check_host_memory(&cfg);
	read_boot_files(&cfg, &files);

	backend = pick_backend(&cfg);
	if (trace_insn(&cfg) && backend != &shadow__backend)
		die(MVM_EXIT_USAGE, "--trace insn needs --accel shadow: KVM runs guest code natively "
		    "and cannot log instructions");
	ret = vm__init(&vm, &cfg, backend);
	if (ret == -ENOMEM)
		die(MVM_EXIT_HOST, "cannot map %llu MiB of guest memory; use a smaller -m",
		    (unsigned long long)(cfg.mem_size >> 20));
	if (ret)
		die(MVM_EXIT_HOST, "cannot create the VM (%s)", strerror(-ret));
	vm.trace_exits = cfg.trace && !strcmp(cfg.trace, "exits");

	ret = vcpu__create_all(&vm);
	if (ret)
		die(MVM_EXIT_HOST, "cannot create vCPUs (%s)", strerror(-ret));
	setup_devices(&vm, &cfg);
	load_kernel(&vm, &cfg, &files);
	free(files.kernel);
	free(files.initrd);

	/*
	 * Sandbox point.  From here every thread runs under its own syscall
	 * filter: I/O threads and vCPU threads install theirs as their first
	 * action, and main installs its own once they all exist, so no thread
	 * inherits main's list.
	 */
	seccomp__setup(&vm, cfg.seccomp);
	ret = device__start_all(&vm);
	if (ret)
		die(MVM_EXIT_HOST, "cannot start devices (%s)", strerror(-ret));
	ret = vcpu__start_all(&vm);
	if (ret)
		pr_err("cannot start vCPUs (%s)", strerror(-ret));
	else if (seccomp__install(&vm, VM_THREAD_MAIN))
		vm__request_stop(&vm, MVM_EXIT_HOST, "cannot install the main thread's seccomp filter");
	vcpu__join_all(&vm);
	term__stop();

	if (vm.exit_status == MVM_EXIT_POWEROFF)
		pr_info("%s", vm.stop_reason);
	else
		pr_err("%s", vm.stop_reason);
	ret = vm.exit_status;
	vcpu__destroy_all(&vm);
	vm__exit(&vm);
	return ret;
}
