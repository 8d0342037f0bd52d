/* MAP_SHARED anonymous memory (and MAP_SHARED /dev/zero): parent and
 * children see each other's writes across fork, while private memory
 * stays copy-on-write; MADV_DONTNEED keeps shared contents; munmap and
 * mprotect in a child leave the parent's view alone; a moved shared
 * mapping stays shared; /proc/self/maps says 's'; bad flags fail. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096

static const char *err(void *r) { return r == MAP_FAILED ? strerror(errno) : "ok"; }

/* Forks a child that runs `body`, waits for it, returns its exit code. */
static int in_child(int (*body)(void *), void *arg)
{
	fflush(stdout);
	pid_t child = fork();
	if (child == 0)
		_exit(body(arg));
	int status;
	waitpid(child, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The rights field of the /proc/self/maps line that holds `p`. */
static void rights(const char *name, void *p)
{
	FILE *maps = fopen("/proc/self/maps", "r");
	char line[512];
	while (maps && fgets(line, sizeof line, maps)) {
		unsigned long start, end;
		char perms[5];
		if (sscanf(line, "%lx-%lx %4s", &start, &end, perms) == 3 && start <= (unsigned long)p &&
		    (unsigned long)p < end)
			printf("%s maps as %s\n", name, perms);
	}
	if (maps)
		fclose(maps);
}

static int *shared, *private;

static int write_both(void *arg)
{
	(void)arg;
	/* The child sees what the parent wrote before fork... */
	int saw = shared[0] == 41 && private[0] == 41;
	/* ...and writes: the parent sees the shared write only. */
	shared[0] = 42;
	shared[PAGE / sizeof(int)] = 7;
	private[0] = 99;
	return saw;
}

static int count(void *arg)
{
	(void)arg;
	__atomic_add_fetch(&shared[1], 1, __ATOMIC_SEQ_CST);
	return 0;
}

static int unmap_and_protect(void *arg)
{
	char *p = arg;
	/* DONTNEED keeps shared contents (Linux reads them back). */
	madvise(p, PAGE, MADV_DONTNEED);
	int kept = p[0] == 's';
	mprotect(p + PAGE, PAGE, PROT_READ);
	munmap(p, PAGE);
	return kept;
}

static int write_through_dev_zero(void *arg)
{
	((char *)arg)[100] = 'z';
	return 0;
}

int main(void)
{
	shared = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	private = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	printf("map shared: %s, private: %s\n", err(shared), err(private));
	printf("fresh shared memory reads zero: %d\n", shared[0] == 0 && shared[2 * PAGE / sizeof(int) - 1] == 0);
	shared[0] = 41;
	private[0] = 41;
	int saw = in_child(write_both, NULL);
	printf("child saw the parent's writes: %d\n", saw);
	printf("parent sees shared %d %d, private %d\n", shared[0], shared[PAGE / sizeof(int)], private[0]);

	/* Three children (one of them a grandchild) count in one place. */
	for (int i = 0; i < 2; i++)
		in_child(count, NULL);
	fflush(stdout);
	if (fork() == 0) {
		in_child(count, NULL);
		_exit(0);
	}
	wait(NULL);
	printf("counted by three children: %d\n", shared[1]);

	/* Threads-free: the parent writes after fork, the child reads. */
	int fds[2];
	pipe(fds);
	fflush(stdout);
	pid_t child = fork();
	if (child == 0) {
		char c;
		read(fds[0], &c, 1);
		_exit(shared[2] == 1234 ? 3 : 4);
	}
	shared[2] = 1234;
	write(fds[1], "x", 1);
	int status;
	waitpid(child, &status, 0);
	printf("child saw a write made after fork: %d\n", WEXITSTATUS(status) == 3);

	/* A child's MADV_DONTNEED, mprotect and munmap. */
	char *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	memset(p, 's', 2 * PAGE);
	printf("child's DONTNEED kept contents: %d\n", in_child(unmap_and_protect, p));
	p[0] = 'a';
	p[PAGE] = 'b';
	printf("parent still maps and writes both pages: %c%c\n", p[0], p[PAGE]);
	int advised = madvise(p, 2 * PAGE, MADV_DONTNEED);
	printf("parent's DONTNEED: %d, contents %c\n", advised, p[PAGE]);

	/* Moved (onto a reserved range), it stays shared. */
	char *target = mmap(NULL, 2 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *moved = mremap(p, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, target);
	printf("mremap: %s, contents %c\n", err(moved), moved == MAP_FAILED ? '?' : moved[0]);
	if (moved != MAP_FAILED) {
		in_child(write_through_dev_zero, moved);
		printf("moved mapping still shared: %c\n", moved[100]);
	}

	/* /dev/zero, shared and private. */
	int zero = open("/dev/zero", O_RDWR);
	char *zs = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, zero, 0);
	char *zp = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, zero, 0);
	printf("/dev/zero shared: %s, private: %s\n", err(zs), err(zp));
	in_child(write_through_dev_zero, zs);
	in_child(write_through_dev_zero, zp);
	printf("child's writes: shared %c, private %d\n", zs[100], zp[100]);

	rights("shared", shared);
	rights("private", private);
	mprotect(shared, PAGE, PROT_READ);
	rights("shared read-only", shared);
	printf("and still shared after mprotect: %d\n", shared[0]);

	printf("MAP_SHARED_VALIDATE anonymous: %s\n",
	       err(mmap(NULL, PAGE, PROT_READ, MAP_SHARED_VALIDATE | MAP_ANONYMOUS, -1, 0)));
	printf("MAP_SHARED | MAP_GROWSDOWN: %s\n",
	       err(mmap(NULL, PAGE, PROT_READ, MAP_SHARED | MAP_ANONYMOUS | MAP_GROWSDOWN, -1, 0)));
	printf("no type: %s\n", err(mmap(NULL, PAGE, PROT_READ, MAP_ANONYMOUS, -1, 0)));
	printf("munmap shared: %d\n", munmap(shared, 2 * PAGE));
	return 0;
}
