#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../mem/mem.h"
#include "../util/util.h"

enum {
	OPT_CONSOLE = 0x100, OPT_ACCEL, OPT_LOG_LEVEL, OPT_VERSION, OPT_SECCOMP, OPT_TRACE,
	OPT_DUMP_DTB, OPT_DTB, OPT_VIRTIO_CMDLINE,
};

static const struct option long_opts[] = {
	{ "kernel", required_argument, NULL, 'k' },
	{ "initrd", required_argument, NULL, 'i' },
	{ "append", required_argument, NULL, 'p' },
	{ "mem", required_argument, NULL, 'm' },
	{ "cpus", required_argument, NULL, 'c' },
	{ "disk", required_argument, NULL, 'd' },
	{ "net", required_argument, NULL, 'n' },
	{ "console", required_argument, NULL, OPT_CONSOLE },
	{ "accel", required_argument, NULL, OPT_ACCEL },
	{ "seccomp", required_argument, NULL, OPT_SECCOMP },
	{ "trace", required_argument, NULL, OPT_TRACE },
	{ "dump-dtb", required_argument, NULL, OPT_DUMP_DTB },
	{ "dtb", no_argument, NULL, OPT_DTB },
	{ "virtio-cmdline", no_argument, NULL, OPT_VIRTIO_CMDLINE },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

void config__usage(FILE *out)
{
	fputs("usage: mvm -k KERNEL [options]\n"
	      "Boot a Linux bzImage (or a multiboot test kernel) in a virtual machine.\n"
	      "\n"
	      "  -k, --kernel FILE       kernel: bzImage, or multiboot v1 ELF\n"
	      "  -i, --initrd FILE       initramfs (multiboot: a module; repeatable)\n"
	      "  -p, --append CMDLINE    kernel command line\n"
	      "  -m, --mem SIZE          guest RAM, K/M/G suffix (default 256M)\n"
	      "  -c, --cpus N            number of vCPUs, 1-64 (default 1)\n"
	      "  -d, --disk PATH[,ro]    raw disk image as virtio-blk (repeatable)\n"
	      "  -n, --net tap=NAME[,mac=MAC]  virtio-net on a tap device (repeatable)\n"
	      "      --console serial|virtio|none  guest console (default serial)\n"
	      "      --accel auto|kvm|shadow  backend (default auto: KVM if /dev/kvm opens)\n"
	      "      --seccomp on|log|off  per-thread syscall filters (default on)\n"
	      "      --trace exits|insn[=COUNT][@START-END]  log exits or instructions\n"
	      "      --dump-dtb FILE     write the machine's device tree blob to FILE\n"
	      "      --dtb               also pass the device tree to the kernel\n"
	      "      --virtio-cmdline    describe virtio devices on the kernel command line\n"
	      "      --log-level LEVEL   error|warn|info|debug (default warn)\n"
	      "  -h, --help              show this help\n"
	      "      --version           show the version\n"
	      "\n"
	      "Exit status: 0 guest powered off, 1 host failure, 2 usage error,\n"
	      "3 guest rebooted, 4 guest crashed; see mvm(1).\n",
	      out);
}

static int usage_error(const char *fmt, const char *arg)
{
	char msg[512];

	snprintf(msg, sizeof(msg), fmt, arg);
	util__fdprintf(STDERR_FILENO, "mvm: %s\n", msg);
	return -EINVAL;
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (!*s || *end || errno || v < lo || v > hi)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned b[6];
	char tail;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &tail) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	if (mac[0] & 1)		/* multicast bit: not a station address */
		return -EINVAL;
	return 0;
}

/* Splits "PATH,ro" in place: argv strings are ours to write. */
static int parse_disk(struct config *c, char *arg)
{
	struct disk_config *d;
	char *comma = strrchr(arg, ',');

	if (c->nr_disks == CONFIG_MAX_DISKS)
		return usage_error("too many disks: at most 8 -d options%s", "");
	d = &c->disks[c->nr_disks];
	if (comma) {
		if (strcmp(comma + 1, "ro"))
			return usage_error("-d %s: the only disk option is ',ro'", arg);
		*comma = '\0';
		d->ro = true;
	}
	d->path = arg;
	if (!*d->path)
		return usage_error("-d needs a file: -d PATH[,ro]%s", "");
	c->nr_disks++;
	return 0;
}

static int parse_net(struct config *c, char *arg)
{
	struct net_config *n;
	char *save = NULL, *tok;
	char copy[256];

	if (c->nr_nets == CONFIG_MAX_NETS)
		return usage_error("too many networks: at most 4 -n options%s", "");
	n = &c->nets[c->nr_nets];
	snprintf(copy, sizeof(copy), "%s", arg);
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strncmp(tok, "tap=", 4)) {
			if (!tok[4] || strlen(tok + 4) >= IFNAMSIZ)
				return usage_error("-n %s: tap name must be 1-15 characters", arg);
			snprintf(n->tap, sizeof(n->tap), "%s", tok + 4);
		} else if (!strncmp(tok, "mac=", 4)) {
			if (parse_mac(tok + 4, n->mac))
				return usage_error("-n %s: mac must look like 52:54:00:12:34:56", arg);
			n->has_mac = true;
		} else {
			return usage_error("-n %s: expected tap=NAME[,mac=MAC]", arg);
		}
	}
	if (!n->tap[0])
		return usage_error("-n %s: expected tap=NAME[,mac=MAC]", arg);
	c->nr_nets++;
	return 0;
}

static int parse_choice(const char *arg, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(arg, names[i]))
			return i;
	return -1;
}

static int parse_trace(struct config *c, const char *arg)
{
	if (strcmp(arg, "exits") && strncmp(arg, "insn", 4))
		return usage_error("--trace %s: expected exits or insn[=COUNT][@START-END]", arg);
	if (!strncmp(arg, "insn", 4) && arg[4] && arg[4] != '=' && arg[4] != '@')
		return usage_error("--trace %s: expected exits or insn[=COUNT][@START-END]", arg);
	c->trace = arg;
	return 0;
}

int config__parse(struct config *c, int argc, char **argv)
{
	static const char *const consoles[] = { "serial", "virtio", "none" };
	static const char *const accels[] = { "auto", "kvm", "shadow" };
	static const char *const seccomps[] = { "on", "log", "off" };
	static const char *const levels[] = { "error", "warn", "info", "debug" };
	int opt, v;

	memset(c, 0, sizeof(*c));
	c->mem_size = 256ULL << 20;
	c->cpus = 1;
	c->log_level = LOG_WARN;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":k:i:p:m:c:d:n:h", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'k': c->kernel = optarg; break;
		case 'i':
			if (c->nr_initrd == (int)ARRAY_SIZE(c->initrd))
				return usage_error("too many -i options (at most 8)%s", "");
			c->initrd[c->nr_initrd++] = optarg;
			break;
		case 'p': c->append = optarg; break;
		case 'm': {
			uint64_t sz;
			int err = util__parse_size(optarg, &sz);
			if (err == -ERANGE)
				return usage_error("-m %s: too large; guest memory is limited by host RAM", optarg);
			if (err)
				return usage_error("-m %s: expected a size such as 512M or 2G", optarg);
			if (sz < MEM_MIN_SIZE)
				return usage_error("-m %s: guest memory must be at least 16M", optarg);
			if (sz & 0xfff)
				return usage_error("-m %s: guest memory must be a multiple of 4K", optarg);
			c->mem_size = sz;
			break;
		}
		case 'c':
			if (parse_int(optarg, 1, CONFIG_MAX_CPUS, &c->cpus))
				return usage_error("-c %s: expected a vCPU count from 1 to 64", optarg);
			break;
		case 'd':
			if (parse_disk(c, optarg))
				return -EINVAL;
			break;
		case 'n':
			if (parse_net(c, optarg))
				return -EINVAL;
			break;
		case OPT_CONSOLE:
			if ((v = parse_choice(optarg, consoles, 3)) < 0)
				return usage_error("--console %s: expected serial, virtio or none", optarg);
			c->console = v;
			break;
		case OPT_ACCEL:
			if ((v = parse_choice(optarg, accels, 3)) < 0)
				return usage_error("--accel %s: expected auto, kvm or shadow", optarg);
			c->accel = v;
			break;
		case OPT_SECCOMP:
			if ((v = parse_choice(optarg, seccomps, 3)) < 0)
				return usage_error("--seccomp %s: expected on, log or off", optarg);
			c->seccomp = v;
			break;
		case OPT_LOG_LEVEL:
			if ((v = parse_choice(optarg, levels, 4)) < 0)
				return usage_error("--log-level %s: expected error, warn, info or debug", optarg);
			c->log_level = v;
			break;
		case OPT_TRACE:
			if (parse_trace(c, optarg))
				return -EINVAL;
			break;
		case OPT_DUMP_DTB: c->dump_dtb = optarg; break;
		case OPT_DTB: c->dtb = true; break;
		case OPT_VIRTIO_CMDLINE: c->virtio_cmdline = true; break;
		case 'h': config__usage(stdout); return 1;
		case OPT_VERSION: printf("mvm %s\n", MVM_VERSION); return 1;
		case ':':
			return usage_error("option %s needs a value (see mvm --help)", argv[optind - 1]);
		default:
			return usage_error("unknown option %s (see mvm --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s' (see mvm --help)", argv[optind]);
	if (!c->kernel)
		return usage_error("no kernel given: use -k FILE (see mvm --help)%s", "");
	return 0;
}
