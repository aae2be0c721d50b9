/* config: the command line, parsed and checked into one struct. */
#ifndef MVM_CONFIG_H
#define MVM_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <net/if.h>
#include <stdio.h>

#define CONFIG_MAX_DISKS 8
#define CONFIG_MAX_NETS 4
#define CONFIG_MAX_CPUS 64

enum console_kind { CONSOLE_SERIAL, CONSOLE_VIRTIO, CONSOLE_NONE };
enum accel_kind { ACCEL_AUTO, ACCEL_KVM, ACCEL_SHADOW };
enum seccomp_mode { SECCOMP_ON, SECCOMP_LOG, SECCOMP_OFF };

struct disk_config {
	const char *path;
	bool ro;
};

struct net_config {
	char tap[IFNAMSIZ];
	uint8_t mac[6];
	bool has_mac;
};

struct config {
	const char *kernel;
	const char *initrd[8];		/* bzImage: one; multiboot: one module each */
	int nr_initrd;
	const char *append;
	uint64_t mem_size;
	int cpus;
	struct disk_config disks[CONFIG_MAX_DISKS];
	int nr_disks;
	struct net_config nets[CONFIG_MAX_NETS];
	int nr_nets;
	enum console_kind console;
	enum accel_kind accel;
	enum seccomp_mode seccomp;
	int log_level;
	const char *trace;		/* --trace SPEC, or NULL */
	const char *dump_dtb;		/* --dump-dtb FILE, or NULL */
	bool dtb;			/* --dtb: pass the FDT as setup_data */
	bool virtio_cmdline;		/* --virtio-cmdline */
};

/*
 * Parse argv.  On a usage error prints one line saying what to do and returns
 * -EINVAL; on --help/--version prints and returns 1 (caller exits 0).
 */
int config__parse(struct config *c, int argc, char **argv);

/* The --help text, also used by tests to check the man page. */
void config__usage(FILE *out);

#endif
