/* Copy-on-write after fork: writes by the child (its own stores, the
 * kernel's writes through read(), a page made writable by mprotect) and by
 * the parent afterwards must never show in the other process. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define LEN (64 * 1024)

static char buffer[LEN];

static long sum(const char *p, long n)
{
	long s = 0;
	for (long i = 0; i < n; i++)
		s += p[i];
	return s;
}

int main(void)
{
	memset(buffer, 'p', LEN);
	char *ro = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(ro, 'r', 4096);
	mprotect(ro, 4096, PROT_READ);
	int fds[2];
	pipe(fds);
	write(fds[1], "kernel-wrote-this", 17);
	pid_t child = fork();
	if (child == 0) {
		/* The kernel writes into a shared page. */
		read(fds[0], buffer + 100, 17);
		/* The child writes into every page. */
		for (long i = 0; i < LEN; i += 4096)
			buffer[i] = 'c';
		/* A read-only shared page made writable, then written. */
		mprotect(ro, 4096, PROT_READ | PROT_WRITE);
		ro[0] = 'C';
		printf("child: %.17s, first byte %c, ro %c\n", buffer + 100, buffer[0], ro[0]);
		fflush(stdout);
		_exit(0);
	}
	int status;
	waitpid(child, &status, 0);
	printf("parent after child: sum unchanged %d, ro %c\n",
	       sum(buffer, LEN) == (long)'p' * LEN, ro[0]);
	/* Now the parent is the only owner: its writes work and stay its own. */
	buffer[5] = 'P';
	printf("parent wrote: %c%c\n", buffer[4], buffer[5]);
	/* A second generation: fork again, the grandchild sees the parent's
	 * current memory. */
	child = fork();
	if (child == 0) {
		printf("second child sees %c\n", buffer[5]);
		buffer[5] = 'X';
		_exit(buffer[5] == 'X' ? 7 : 1);
	}
	waitpid(child, &status, 0);
	printf("second child exited %d, parent still %c\n", WEXITSTATUS(status), buffer[5]);
	return 0;
}
