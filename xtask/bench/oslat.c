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
 *   pipe           one byte to a child process over a pipe and back over a
 *                  second pipe (a round trip: two context switches)
 *   ctxsw          the same ping-pong, counted per context switch (half a
 *                  round trip)
 *   fork           fork, the child _exit(0)s, the parent waitpid()s
 *   forkexec       fork, the child execve()s /proc/self/exe with the measure
 *                  `noop` (which exits at once), the parent waitpid()s
 *   openclose      open and close an existing file (`oslat.file`, made in
 *                  the working directory and removed at the end)
 *   stat           stat that file
 *   read4k         pread 4 KiB at offset 0 of that (4 KiB) file
 *   write4k        pwrite 4 KiB at offset 0 of that file
 *   createdelete   create an empty file, close it, unlink it
 *   pipebw         64 KiB written into a pipe a child drains (ns per 64 KiB;
 *                  bandwidth = 65536 / ns GB/s)
 *   compute        1,000 steps of a dependent integer chain, no system
 *                  call: the cost of plain user-mode code
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <sys/wait.h>
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

/* The echo child of the pipe measures: to_child[0] -> from_child[1]. */
static int to_child[2], from_child[2];
static pid_t echo_child;

static void die(const char *what)
{
	perror(what);
	exit(2);
}

static void wait_ok(pid_t pid)
{
	int status;
	if (waitpid(pid, &status, 0) != pid)
		die("waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "oslat: child %d failed (status %#x)\n", pid,
			status);
		exit(2);
	}
}

static void pipe_setup(void)
{
	if (pipe(to_child) != 0 || pipe(from_child) != 0)
		die("pipe");
	echo_child = fork();
	if (echo_child < 0)
		die("fork");
	if (echo_child == 0) {
		close(to_child[1]);
		close(from_child[0]);
		char byte;
		while (read(to_child[0], &byte, 1) == 1)
			if (write(from_child[1], &byte, 1) != 1)
				_exit(3);
		_exit(0);
	}
	close(to_child[0]);
	close(from_child[1]);
}

static void pipe_teardown(void)
{
	close(to_child[1]);
	wait_ok(echo_child);
	close(from_child[0]);
}

static void op_pipe(void)
{
	char byte = 'x';
	if (write(to_child[1], &byte, 1) != 1 ||
	    read(from_child[0], &byte, 1) != 1)
		die("pipe round trip");
	sink += byte;
}

/* The file measures: one 4 KiB file in the working directory. */
#define FILE_NAME "oslat.file"
#define FILE_BYTES 4096
static int file_fd;
static char file_buf[FILE_BYTES];

static void file_setup(void)
{
	file_fd = open(FILE_NAME, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (file_fd < 0)
		die("open " FILE_NAME);
	memset(file_buf, 'v', sizeof file_buf);
	if (pwrite(file_fd, file_buf, FILE_BYTES, 0) != FILE_BYTES)
		die("pwrite");
}

static void file_teardown(void)
{
	close(file_fd);
	if (unlink(FILE_NAME) != 0)
		die("unlink " FILE_NAME);
}

static void op_openclose(void)
{
	int fd = open(FILE_NAME, O_RDONLY);
	if (fd < 0 || close(fd) != 0)
		die("open/close");
}

static void op_stat(void)
{
	struct stat st;
	if (stat(FILE_NAME, &st) != 0)
		die("stat");
	sink += st.st_size;
}

static void op_read4k(void)
{
	if (pread(file_fd, file_buf, FILE_BYTES, 0) != FILE_BYTES)
		die("pread");
	sink += file_buf[FILE_BYTES - 1];
}

static void op_write4k(void)
{
	if (pwrite(file_fd, file_buf, FILE_BYTES, 0) != FILE_BYTES)
		die("pwrite");
}

static void op_createdelete(void)
{
	int fd = open("oslat.new", O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0 || close(fd) != 0 || unlink("oslat.new") != 0)
		die("create/delete");
}

static void op_compute(void)
{
	unsigned long x = (unsigned long)sink;
	for (int i = 0; i < 1000; i++)
		x = x * 6364136223846793005UL + 1442695040888963407UL;
	sink = (long)x;
}

/* pipebw: a child drains the pipe; each op writes 64 KiB into it. */
#define CHUNK (64 * 1024)
static int bw_pipe[2];
static pid_t drain_child;
static char chunk[CHUNK];

static void bw_setup(void)
{
	if (pipe(bw_pipe) != 0)
		die("pipe");
	drain_child = fork();
	if (drain_child < 0)
		die("fork");
	if (drain_child == 0) {
		close(bw_pipe[1]);
		static char sinkbuf[CHUNK];
		while (read(bw_pipe[0], sinkbuf, sizeof sinkbuf) > 0)
			;
		_exit(0);
	}
	close(bw_pipe[0]);
}

static void bw_teardown(void)
{
	close(bw_pipe[1]);
	wait_ok(drain_child);
}

static void op_pipebw(void)
{
	size_t done = 0;
	while (done < CHUNK) {
		ssize_t n = write(bw_pipe[1], chunk + done, CHUNK - done);
		if (n <= 0)
			die("pipe write");
		done += (size_t)n;
	}
}

static void op_fork(void)
{
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0)
		_exit(0);
	wait_ok(pid);
}

static void op_forkexec(void)
{
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		char *argv[] = {"oslat", "noop", "1", NULL};
		char *envp[] = {NULL};
		execve("/proc/self/exe", argv, envp);
		_exit(4);
	}
	wait_ok(pid);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr,
			"usage: %s getppid|clock_gettime|mmap|pipe|ctxsw|fork|"
			"forkexec|openclose|stat|read4k|write4k|createdelete|"
			"pipebw|compute ITERATIONS\n",
			argv[0]);
		return 2;
	}
	const char *measure = argv[1];
	if (strcmp(measure, "noop") == 0)
		return 0;
	long iterations = strtol(argv[2], NULL, 10);
	if (iterations <= 0) {
		fprintf(stderr, "oslat: ITERATIONS must be positive\n");
		return 2;
	}
	void (*op)(void);
	void (*setup)(void) = NULL, (*teardown)(void) = NULL;
	long warmup;
	/* Operations counted per loop iteration (ctxsw: two switches). */
	long per_iteration = 1;
	if (strcmp(measure, "getppid") == 0) {
		op = op_getppid;
		warmup = iterations / 10;
	} else if (strcmp(measure, "clock_gettime") == 0) {
		op = op_clock_gettime;
		warmup = iterations / 10;
	} else if (strcmp(measure, "mmap") == 0) {
		op = op_mmap;
		warmup = 1;
	} else if (strcmp(measure, "pipe") == 0 ||
		   strcmp(measure, "ctxsw") == 0) {
		op = op_pipe;
		setup = pipe_setup;
		teardown = pipe_teardown;
		warmup = iterations / 10;
		per_iteration = strcmp(measure, "ctxsw") == 0 ? 2 : 1;
	} else if (strcmp(measure, "fork") == 0) {
		op = op_fork;
		warmup = 1;
	} else if (strcmp(measure, "forkexec") == 0) {
		op = op_forkexec;
		warmup = 1;
	} else if (strcmp(measure, "openclose") == 0 ||
		   strcmp(measure, "stat") == 0 ||
		   strcmp(measure, "read4k") == 0 ||
		   strcmp(measure, "write4k") == 0) {
		op = measure[0] == 'o'	 ? op_openclose
		     : measure[0] == 's' ? op_stat
		     : measure[0] == 'r' ? op_read4k
					 : op_write4k;
		setup = file_setup;
		teardown = file_teardown;
		warmup = iterations / 10;
	} else if (strcmp(measure, "createdelete") == 0) {
		op = op_createdelete;
		warmup = iterations / 10;
	} else if (strcmp(measure, "compute") == 0) {
		op = op_compute;
		warmup = iterations / 10;
	} else if (strcmp(measure, "pipebw") == 0) {
		op = op_pipebw;
		setup = bw_setup;
		teardown = bw_teardown;
		warmup = iterations / 10;
	} else {
		fprintf(stderr, "oslat: unknown measure `%s`\n", measure);
		return 2;
	}
	if (setup)
		setup();
	for (long i = 0; i < warmup; i++)
		op();
	long long start = now_ns();
	for (long i = 0; i < iterations; i++)
		op();
	long long total = now_ns() - start;
	if (teardown)
		teardown();
	long ops = iterations * per_iteration;
	printf("oslat measure=%s iterations=%ld total_ns=%lld ns_per_op=%.1f\n",
	       measure, ops, total, (double)total / (double)ops);
	return 0;
}
