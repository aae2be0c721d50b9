/*
 * randread: block-device throughput inside the benchmark guest (bench/blk.sh).
 *
 *   randread [-m rand|read|write] [-t SECS] [-s MIB] [-b BYTES] DEV
 *
 *   -m rand  (default) O_DIRECT pread of -b bytes (default 4096) at random
 *            -b-aligned offsets for -t seconds (default 5), one request at a
 *            time (queue depth 1): prints IOPS.
 *   -m read  O_DIRECT sequential pread of -s MiB (default 64) in -b blocks
 *            (default 1 MiB for read/write): prints MB/s.
 *   -m write O_DIRECT sequential pwrite of -s MiB, then fdatasync (the flush
 *            is part of the measured time): prints MB/s.
 *
 * One line of output: "RANDREAD mode=... bs=... ops=... bytes=... secs=...
 * iops=... MBps=..." (MB = 10^6 bytes, like dd).  Exit status 1 on any I/O
 * error.  Built static (no libraries in the guest's busybox initramfs).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static uint64_t xorshift64(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static void usage(void)
{
	fputs("usage: randread [-m rand|read|write] [-t SECS] [-s MIB] [-b BYTES] DEV\n", stderr);
	exit(2);
}

static uint64_t dev_size(int fd, const char *path)
{
	struct stat st;
	uint64_t sz = 0;

	if (fstat(fd, &st)) {
		fprintf(stderr, "randread: fstat %s: %s\n", path, strerror(errno));
		exit(1);
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &sz)) {
			fprintf(stderr, "randread: BLKGETSIZE64 %s: %s\n", path, strerror(errno));
			exit(1);
		}
		return sz;
	}
	return st.st_size;
}

int main(int argc, char **argv)
{
	const char *mode = "rand", *path;
	double secs = 5, t0, t1;
	uint64_t mib = 64, bs = 0, size, ops = 0, bytes = 0, seed;
	void *buf;
	int opt, fd, write_mode;

	while ((opt = getopt(argc, argv, "m:t:s:b:")) != -1) {
		switch (opt) {
		case 'm': mode = optarg; break;
		case 't': secs = atof(optarg); break;
		case 's': mib = strtoull(optarg, NULL, 0); break;
		case 'b': bs = strtoull(optarg, NULL, 0); break;
		default: usage();
		}
	}
	if (optind + 1 != argc)
		usage();
	path = argv[optind];
	if (strcmp(mode, "rand") && strcmp(mode, "read") && strcmp(mode, "write"))
		usage();
	if (!bs)
		bs = strcmp(mode, "rand") ? 1 << 20 : 4096;
	if (bs % 512 || secs <= 0 || !mib)
		usage();
	write_mode = !strcmp(mode, "write");
	fd = open(path, (write_mode ? O_WRONLY : O_RDONLY) | O_DIRECT);
	if (fd < 0) {
		fprintf(stderr, "randread: open %s with O_DIRECT: %s\n", path, strerror(errno));
		return 1;
	}
	size = dev_size(fd, path);
	if (size < bs) {
		fprintf(stderr, "randread: %s holds %llu bytes, less than one %llu-byte block\n",
			path, (unsigned long long)size, (unsigned long long)bs);
		return 1;
	}
	if (posix_memalign(&buf, 4096, bs)) {
		fputs("randread: out of memory\n", stderr);
		return 1;
	}
	/* Written blocks carry data, not zeros a smart backend could elide. */
	seed = (uint64_t)now_s() * 2654435761u | 1;
	for (uint64_t i = 0; i < bs / 8; i++)
		((uint64_t *)buf)[i] = xorshift64(&seed);

	t0 = now_s();
	if (!strcmp(mode, "rand")) {
		uint64_t blocks = size / bs;

		do {
			/* Check the clock every 64 requests: reading it is an exit on some clocksources. */
			for (int k = 0; k < 64; k++) {
				off_t off = (off_t)(xorshift64(&seed) % blocks * bs);

				if (pread(fd, buf, bs, off) != (ssize_t)bs) {
					fprintf(stderr, "randread: pread %s at %lld: %s\n", path,
						(long long)off, strerror(errno));
					return 1;
				}
				ops++;
			}
			t1 = now_s();
		} while (t1 - t0 < secs);
	} else {
		uint64_t total = mib << 20;

		if (total > size - size % bs)
			total = size - size % bs;
		for (uint64_t off = 0; off + bs <= total; off += bs) {
			ssize_t n = write_mode ? pwrite(fd, buf, bs, off) : pread(fd, buf, bs, off);

			if (n != (ssize_t)bs) {
				fprintf(stderr, "randread: %s %s at %llu: %s\n", write_mode ? "pwrite" : "pread",
					path, (unsigned long long)off, n < 0 ? strerror(errno) : "short transfer");
				return 1;
			}
			ops++;
		}
		if (write_mode && fdatasync(fd)) {
			fprintf(stderr, "randread: fdatasync %s: %s\n", path, strerror(errno));
			return 1;
		}
		t1 = now_s();
	}
	bytes = ops * bs;
	printf("RANDREAD mode=%s bs=%llu ops=%llu bytes=%llu secs=%.3f iops=%.0f MBps=%.1f\n", mode,
	       (unsigned long long)bs, (unsigned long long)ops, (unsigned long long)bytes, t1 - t0,
	       ops / (t1 - t0), bytes / (t1 - t0) / 1e6);
	return 0;
}
