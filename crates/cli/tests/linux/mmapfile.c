/* Private mappings of a regular file: the file's bytes from the offset,
 * zeros after its end in the last page, writes that stay in the mapping,
 * read-only and PROT_NONE mappings, MAP_FIXED over memory, fork; and the
 * errors Linux gives for descriptors that cannot be mapped. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096
#define SIZE 10000

static const char *err(void *r) { return r == MAP_FAILED ? strerror(errno) : "ok"; }

static unsigned char byte(long i) { return (unsigned char)((i * 7 + 3) % 251); }

/* Whether `p` holds the file's bytes from `from` to `to`. */
static int file_bytes(const unsigned char *p, long from, long to)
{
	for (long i = from; i < to; i++)
		if (p[i - from] != byte(i))
			return 0;
	return 1;
}

static int zeros(const unsigned char *p, long n)
{
	for (long i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

int main(void)
{
	char path[64];
	snprintf(path, sizeof path, "/tmp/vessel-mmapfile-%d", (int)getpid());
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	unsigned char data[SIZE];
	for (long i = 0; i < SIZE; i++)
		data[i] = byte(i);
	printf("wrote %zd\n", write(fd, data, SIZE));

	/* Pages 1 and 2 of the file: 4096..10000, then zeros to 12288. */
	unsigned char *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, PAGE);
	printf("map at offset 4096: %s\n", err(p));
	printf("file bytes %d, tail of the last page zero %d\n", file_bytes(p, PAGE, SIZE),
	       zeros(p + SIZE - PAGE, 3 * PAGE - SIZE));
	memset(p, 'w', 100);
	p[2 * PAGE - 1] = 'w';
	unsigned char back[100];
	pread(fd, back, 100, PAGE);
	printf("writes stay in the mapping: %d %d\n", p[0] == 'w', file_bytes(back, PAGE, PAGE + 100));
	printf("file size still %ld\n", (long)lseek(fd, 0, SEEK_END));

	/* The whole file, read-only, shared with a child by fork. */
	unsigned char *ro = mmap(NULL, SIZE, PROT_READ, MAP_PRIVATE, fd, 0);
	printf("read-only map: %s, bytes %d\n", err(ro), file_bytes(ro, 0, SIZE));
	fflush(stdout);
	pid_t child = fork();
	if (child == 0) {
		int same = file_bytes(ro, 0, SIZE) && p[0] == 'w';
		p[1] = 'c';
		if (!same)
			_exit(1);
		ro[0] = 1; /* read-only: SIGSEGV */
		_exit(2);
	}
	int status;
	waitpid(child, &status, 0);
	printf("child read both and died writing the read-only one: signal %d, parent's copy %c\n",
	       WIFSIGNALED(status) ? WTERMSIG(status) : -WEXITSTATUS(status), p[1]);

	/* PROT_NONE, opened up later: the bytes were there all along. */
	unsigned char *none = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE, fd, 0);
	mprotect(none, PAGE, PROT_READ);
	printf("PROT_NONE then readable: %d\n", file_bytes(none, 0, PAGE));

	/* MAP_FIXED over anonymous memory replaces it. */
	unsigned char *anon = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(anon, 'a', 3 * PAGE);
	unsigned char *fixed = mmap(anon + PAGE, PAGE, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 2 * PAGE);
	printf("MAP_FIXED: %d, around kept %c %c, bytes %d\n", fixed == anon + PAGE, anon[0], anon[2 * PAGE],
	       file_bytes(fixed, 2 * PAGE, SIZE));
	printf("MAP_FIXED_NOREPLACE over it: %s\n",
	       err(mmap(anon, PAGE, PROT_READ, MAP_PRIVATE | MAP_FIXED_NOREPLACE, fd, 0)));

	/* The mapping outlives the descriptor. */
	int again = open(path, O_RDONLY);
	unsigned char *kept = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, again, 0);
	close(again);
	printf("after close: %d\n", file_bytes(kept, 0, PAGE));

	/* Errors. */
	int wronly = open(path, O_WRONLY);
	int rdonly = open(path, O_RDONLY);
	int opath = open(path, O_PATH);
	int dir = open("/tmp", O_RDONLY | O_DIRECTORY);
	int null = open("/dev/null", O_RDWR);
	int proc = open("/proc/self/status", O_RDONLY);
	int pipes[2];
	pipe(pipes);
	printf("write-only file: %s\n", err(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, wronly, 0)));
	printf("shared writable on a read-only file: %s\n",
	       err(mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, rdonly, 0)));
	printf("shared on a write-only file: %s\n", err(mmap(NULL, PAGE, PROT_READ, MAP_SHARED, wronly, 0)));
	printf("unknown flag with MAP_SHARED_VALIDATE: %s\n",
	       err(mmap(NULL, PAGE, PROT_READ, MAP_SHARED_VALIDATE | MAP_SYNC, rdonly, 0)));
	printf("O_PATH: %s\n", err(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, opath, 0)));
	printf("directory: %s\n", err(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, dir, 0)));
	printf("/dev/null: %s\n", err(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, null, 0)));
	printf("/proc file, executable: %s\n",
	       err(mmap(NULL, PAGE, PROT_READ | PROT_EXEC, MAP_PRIVATE, proc, 0)));
	printf("pipe read end: %s\n", err(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, pipes[0], 0)));
	printf("pipe write end: %s\n", err(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, pipes[1], 0)));
	printf("closed descriptor: %s\n", err(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, 99, 0)));
	printf("unaligned offset: %s\n", err(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, 100)));
	printf("offset past the largest file: %s\n",
	       err(mmap(NULL, 2 * PAGE, PROT_READ, MAP_PRIVATE, fd, 0x7ffffffffffff000L)));
	printf("no type: %s\n", err(mmap(NULL, PAGE, PROT_READ, 0, fd, 0)));
	printf("length 0: %s\n", err(mmap(NULL, 0, PROT_READ, MAP_PRIVATE, fd, 0)));
	printf("MAP_GROWSDOWN: %s\n", err(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_GROWSDOWN, fd, 0)));

	printf("munmap: %d\n", munmap(p, 2 * PAGE));
	unlink(path);
	return 0;
}
