#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <cmocka.h>

#include "config/config.h"

#define PARSE(c, ...) ({ char *argv[] = { "mvm", __VA_ARGS__, NULL }; dup_args(argv); \
	config__parse(c, (int)(sizeof(argv) / sizeof(argv[0])) - 1, argv); })

/* The parser may split arguments in place, as real argv allows. */
static void dup_args(char **argv)
{
	static char store[64][128];
	for (int i = 0; argv[i] && i < 64; i++) {
		snprintf(store[i], sizeof(store[i]), "%s", argv[i]);
		argv[i] = store[i];
	}
}

static void defaults(void **state)
{
	struct config c;
	(void)state;
	assert_int_equal(PARSE(&c, "-k", "bz"), 0);
	assert_string_equal(c.kernel, "bz");
	assert_int_equal(c.mem_size, 256ULL << 20);
	assert_int_equal(c.cpus, 1);
	assert_int_equal(c.console, CONSOLE_SERIAL);
	assert_int_equal(c.accel, ACCEL_AUTO);
	assert_int_equal(c.seccomp, SECCOMP_ON);
}

static void full(void **state)
{
	struct config c;
	(void)state;
	assert_int_equal(PARSE(&c, "--kernel", "bz", "-i", "rd", "-p", "console=ttyS0", "-m", "1G",
			       "-c", "4", "-d", "a.img", "-d", "b.img,ro", "-n",
			       "tap=tap0,mac=52:54:00:12:34:56", "--console", "virtio", "--accel",
			       "shadow", "--seccomp", "log", "--trace", "insn=100", "--dtb"), 0);
	assert_int_equal(c.mem_size, 1ULL << 30);
	assert_int_equal(c.cpus, 4);
	assert_int_equal(c.nr_disks, 2);
	assert_false(c.disks[0].ro);
	assert_true(c.disks[1].ro);
	assert_string_equal(c.disks[1].path, "b.img");
	assert_int_equal(c.nr_nets, 1);
	assert_string_equal(c.nets[0].tap, "tap0");
	assert_true(c.nets[0].has_mac);
	assert_int_equal(c.nets[0].mac[5], 0x56);
	assert_int_equal(c.console, CONSOLE_VIRTIO);
	assert_int_equal(c.accel, ACCEL_SHADOW);
	assert_int_equal(c.seccomp, SECCOMP_LOG);
	assert_string_equal(c.trace, "insn=100");
	assert_true(c.dtb);
}

static void rejects(void **state)
{
	struct config c;
	(void)state;
	int saved = dup(2), null = open("/dev/null", O_WRONLY);
	dup2(null, 2);	/* the parser's one-line messages */
	assert_int_equal(PARSE(&c, "-m", "1G"), -EINVAL);			/* no kernel */
	assert_int_equal(PARSE(&c, "-k", "bz", "-m", "0"), -EINVAL);
	assert_int_equal(PARSE(&c, "-k", "bz", "-m", "12X"), -EINVAL);
	assert_int_equal(PARSE(&c, "-k", "bz", "-m", "1M"), -EINVAL);
	assert_int_equal(PARSE(&c, "-k", "bz", "-m", "16777217"), -EINVAL);
	assert_int_equal(PARSE(&c, "-k", "bz", "-c", "0"), -EINVAL);
	assert_int_equal(PARSE(&c, "-k", "bz", "-c", "1000"), -EINVAL);
	assert_int_equal(PARSE(&c, "-k", "bz", "-c", "2x"), -EINVAL);
	assert_int_equal(PARSE(&c, "-k", "bz", "--bogus"), -EINVAL);
	assert_int_equal(PARSE(&c, "-k", "bz", "-d", "x,rw"), -EINVAL);
	assert_int_equal(PARSE(&c, "-k", "bz", "-n", "tap=0123456789abcdef"), -EINVAL);
	assert_int_equal(PARSE(&c, "-k", "bz", "-n", "mac=52:54:00:12:34:56"), -EINVAL);
	assert_int_equal(PARSE(&c, "-k", "bz", "-n", "tap=t,mac=01:00:00:00:00:00"), -EINVAL);
	assert_int_equal(PARSE(&c, "-k", "bz", "--console", "vga"), -EINVAL);
	assert_int_equal(PARSE(&c, "-k", "bz", "--accel", "hvf"), -EINVAL);
	assert_int_equal(PARSE(&c, "-k", "bz", "--trace", "everything"), -EINVAL);
	assert_int_equal(PARSE(&c, "-k", "bz", "stray"), -EINVAL);
	assert_int_equal(PARSE(&c, "-k"), -EINVAL);
	dup2(saved, 2);
	close(saved);
	close(null);
}

static void help_and_version(void **state)
{
	struct config c;
	(void)state;
	int saved, null = open("/dev/null", O_WRONLY);
	fflush(stdout);
	saved = dup(1);
	dup2(null, 1);
	assert_int_equal(PARSE(&c, "--help"), 1);
	assert_int_equal(PARSE(&c, "--version"), 1);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	close(null);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults),
		cmocka_unit_test(full),
		cmocka_unit_test(rejects),
		cmocka_unit_test(help_and_version),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
