/* OS-latency micro-benchmark for `cargo xtask bench --linux`.
 *
 * Usage: oslat MEASURE ITERATIONS
 *
 * Runs ITERATIONS operations of MEASURE, timing the loop itself with
 * clock_gettime(CLOCK_MONOTONIC), and prints one line
 *   oslat measure=MEASURE iterations=N total_ns=T ns_per_op=X
 * The same static binary (musl-gcc -static -O2) runs natively and under
 * `vessel run`, so the two figures compare like with like.
 *
 * Measures:
 *   getppid        one getppid system call (raw syscall, no libc caching)
 *   clock_gettime  one clock_gettime(CLOCK_MONOTONIC) (musl uses the vDSO
 *                  natively when there is one, the system call otherwise)
 *   mmap           mmap 4 MiB anonymous private, write one byte to every
 *                  4 KiB page, munmap
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MMAP_BYTES (4UL << 20)
#define PAGE 4096UL

static volatile long sink;

static long long now_ns(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
		perror("clock_gettime");
		exit(2);
	}
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void op_getppid(void)
{
	sink += syscall(SYS_getppid);
}

static void op_clock_gettime(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	sink += ts.tv_nsec;
}

static void op_mmap(void)
{
	unsigned char *p = mmap(NULL, MMAP_BYTES, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		exit(2);
	}
	for (unsigned long off = 0; off < MMAP_BYTES; off += PAGE)
		((volatile unsigned char *)p)[off] = (unsigned char)off | 1;
	sink += p[PAGE];
	if (munmap(p, MMAP_BYTES) != 0) {
		perror("munmap");
		exit(2);
	}
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s getppid|clock_gettime|mmap ITERATIONS\n",
			argv[0]);
		return 2;
	}
	const char *measure = argv[1];
	long iterations = strtol(argv[2], NULL, 10);
	if (iterations <= 0) {
		fprintf(stderr, "oslat: ITERATIONS must be positive\n");
		return 2;
	}
	void (*op)(void);
	long warmup;
	if (strcmp(measure, "getppid") == 0) {
		op = op_getppid;
		warmup = iterations / 10;
	} else if (strcmp(measure, "clock_gettime") == 0) {
		op = op_clock_gettime;
		warmup = iterations / 10;
	} else if (strcmp(measure, "mmap") == 0) {
		/* No warm-up: vessel-linux's munmap keeps the memory mapped. */
		op = op_mmap;
		warmup = 0;
	} else {
		fprintf(stderr, "oslat: unknown measure `%s`\n", measure);
		return 2;
	}
	for (long i = 0; i < warmup; i++)
		op();
	long long start = now_ns();
	for (long i = 0; i < iterations; i++)
		op();
	long long total = now_ns() - start;
	printf("oslat measure=%s iterations=%ld total_ns=%lld ns_per_op=%.1f\n",
	       measure, iterations, total, (double)total / (double)iterations);
	return 0;
}
