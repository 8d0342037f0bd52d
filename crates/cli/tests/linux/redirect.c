/* A parent runs itself as a child whose standard output is a pipe (fork,
 * dup2, execve of /proc/self/exe, close-on-exec), reads what the child
 * wrote, and checks the child's exit status. */
#define _GNU_SOURCE
#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "child") == 0) {
		/* The close-on-exec descriptor the parent made is gone. */
		int leaked = fcntl(3, F_GETFD) != -1 || fcntl(4, F_GETFD) != -1;
		printf("hello from the child, leaked fds: %d\n", leaked);
		return 5;
	}
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) != 0) {
		perror("pipe2");
		return 1;
	}
	pid_t pid = fork();
	if (pid == 0) {
		if (dup2(fds[1], 1) != 1)
			_exit(2);
		char *args[] = {argv[0], "child", NULL};
		char *env[] = {NULL};
		execve("/proc/self/exe", args, env);
		_exit(3);
	}
	close(fds[1]);
	char buf[256];
	size_t len = 0;
	ssize_t n;
	while ((n = read(fds[0], buf + len, sizeof buf - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = 0;
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)toupper((unsigned char)buf[i]);
	int status;
	waitpid(pid, &status, 0);
	printf("parent read %zu bytes: %s", len, buf);
	printf("child status %d\n", WEXITSTATUS(status));
	return 0;
}
