#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

#include "util/util.h"

static void size_suffixes(void **state)
{
	uint64_t v;
	(void)state;
	assert_int_equal(util__parse_size("4096", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(util__parse_size("64k", &v), 0);
	assert_int_equal(v, 64 << 10);
	assert_int_equal(util__parse_size("256M", &v), 0);
	assert_int_equal(v, 256ULL << 20);
	assert_int_equal(util__parse_size("2G", &v), 0);
	assert_int_equal(v, 2ULL << 30);
	assert_int_equal(util__parse_size("1GiB", &v), 0);
	assert_int_equal(v, 1ULL << 30);
}

static void size_rejects(void **state)
{
	uint64_t v = 7;
	(void)state;
	assert_int_equal(util__parse_size("", &v), -EINVAL);
	assert_int_equal(util__parse_size("M", &v), -EINVAL);
	assert_int_equal(util__parse_size("12Q", &v), -EINVAL);
	assert_int_equal(util__parse_size("-1G", &v), -EINVAL);
	assert_int_equal(util__parse_size("1GG", &v), -EINVAL);
	assert_int_equal(util__parse_size("99999999999999999999", &v), -ERANGE);
	assert_int_equal(util__parse_size("99999999999T", &v), -ERANGE);
	assert_int_equal(v, 7);
}

static void read_file(void **state)
{
	char path[] = "/tmp/mvm-test-util-XXXXXX";
	uint8_t *buf;
	size_t len;
	int fd = mkstemp(path);
	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "hello", 5), 5);
	close(fd);
	assert_int_equal(util__read_file(path, 100, &buf, &len), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(buf, "hello", 5);
	free(buf);
	assert_int_equal(util__read_file(path, 4, &buf, &len), -EFBIG);
	unlink(path);
	assert_int_equal(util__read_file(path, 100, &buf, &len), -ENOENT);
	assert_int_equal(util__read_file("/tmp", 100, &buf, &len), -EISDIR);
	assert_int_equal(util__read_file("/dev/null", 100, &buf, &len), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(size_suffixes),
		cmocka_unit_test(size_rejects),
		cmocka_unit_test(read_file),
	};
	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
