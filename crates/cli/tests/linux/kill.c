/* Signals between processes: a parent kills children blocked in pause,
 * a pipe read and a sleep, and reaps them (WIFSIGNALED/WTERMSIG); kill,
 * tkill and tgkill errors; a zombie takes signals; SIGSTOP/SIGCONT seen
 * by waitpid (WUNTRACED, WCONTINUED) and waitid (WSTOPPED); a stopped
 * child dies of SIGKILL at once, of SIGTERM once continued. Prints only what is the same
 * whatever the pids. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *err(long r) { return r == -1 ? strerror(errno) : "ok"; }

static void report(const char *what, pid_t pid)
{
	int status;
	if (waitpid(pid, &status, 0) != pid) {
		printf("%s: waitpid: %s\n", what, strerror(errno));
		return;
	}
	if (WIFSIGNALED(status))
		printf("%s: signaled 1 by %d\n", what, WTERMSIG(status));
	else
		printf("%s: exited %d\n", what, WEXITSTATUS(status));
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);

	/* 1. Children blocked in the kernel die of the signal. */
	pid_t c = fork();
	if (c == 0) {
		pause();
		_exit(1);
	}
	kill(c, SIGTERM);
	report("pause, SIGTERM", c);

	int fds[2];
	pipe(fds);
	c = fork();
	if (c == 0) {
		char b;
		read(fds[0], &b, 1);
		_exit(1);
	}
	sleep_ms(100);
	kill(c, SIGKILL);
	report("pipe read, SIGKILL", c);

	c = fork();
	if (c == 0) {
		sleep(10);
		_exit(1);
	}
	sleep_ms(100);
	kill(c, SIGUSR1);
	report("sleep, SIGUSR1", c);

	/* A signal that is ignored by default does nothing to it. */
	c = fork();
	if (c == 0) {
		sleep_ms(300);
		_exit(4);
	}
	kill(c, SIGCHLD);
	kill(c, SIGWINCH);
	report("SIGCHLD and SIGWINCH", c);

	/* 2. Errors. The pid of a reaped child is free (for a while). */
	pid_t gone = c;
	printf("kill(gone, SIGTERM): %s\n", err(kill(gone, SIGTERM)));
	printf("kill(self, 65): %s\n", err(kill(getpid(), 65)));
	printf("kill(self, -1): %s\n", err(kill(getpid(), -1)));
	printf("kill(self, 0): %s\n", err(kill(getpid(), 0)));
	printf("tkill(0, SIGUSR1): %s\n", err(syscall(SYS_tkill, 0, SIGUSR1)));
	printf("tkill(gone, SIGUSR1): %s\n", err(syscall(SYS_tkill, gone, SIGUSR1)));
	printf("tgkill(-1, self, SIGUSR1): %s\n",
	       err(syscall(SYS_tgkill, -1, getpid(), SIGUSR1)));
	printf("tgkill(self, gone, SIGUSR1): %s\n",
	       err(syscall(SYS_tgkill, getpid(), gone, SIGUSR1)));
	printf("tgkill(self, self, 0): %s\n", err(syscall(SYS_tgkill, getpid(), getpid(), 0)));
	printf("kill(-gone, SIGTERM): %s\n", err(kill(-gone, SIGTERM)));

	/* A zombie takes signals (and ignores them). */
	c = fork();
	if (c == 0)
		_exit(6);
	siginfo_t info;
	waitid(P_PID, c, &info, WEXITED | WNOWAIT);
	printf("kill(zombie, SIGKILL): %s\n", err(kill(c, SIGKILL)));
	report("the zombie", c);

	/* 3. Stop and continue. */
	c = fork();
	if (c == 0) {
		for (;;)
			pause();
	}
	int status;
	kill(c, SIGSTOP);
	pid_t r = waitpid(c, &status, WUNTRACED);
	printf("SIGSTOP: waitpid matches %d, stopped %d by %d\n", r == c, WIFSTOPPED(status),
	       WSTOPSIG(status));
	printf("again with WNOHANG: %d\n", (int)waitpid(c, &status, WUNTRACED | WNOHANG));
	kill(c, SIGCONT);
	r = waitpid(c, &status, WCONTINUED);
	printf("SIGCONT: waitpid matches %d, continued %d\n", r == c, WIFCONTINUED(status));
	kill(c, SIGSTOP);
	memset(&info, 0, sizeof info);
	waitid(P_PID, c, &info, WSTOPPED);
	printf("waitid: code %d (CLD_STOPPED %d), status %d, pid matches %d\n", info.si_code,
	       CLD_STOPPED, info.si_status, info.si_pid == c);
	/* A stopped process takes SIGTERM only once it continues. */
	kill(c, SIGTERM);
	sleep_ms(100);
	printf("SIGTERM while stopped: waitpid WNOHANG %d\n", (int)waitpid(c, &status, WNOHANG));
	kill(c, SIGCONT);
	report("stopped, SIGTERM, SIGCONT", c);

	c = fork();
	if (c == 0) {
		for (;;)
			pause();
	}
	kill(c, SIGSTOP);
	waitpid(c, &status, WUNTRACED);
	kill(c, SIGKILL);
	report("stopped, SIGKILL", c);

	/* A child stops itself; its handler for SIGCONT runs on continuing. */
	if (pipe(fds) != 0)
		return 1;
	c = fork();
	if (c == 0) {
		raise(SIGSTOP);
		char b = 'c';
		write(fds[1], &b, 1);
		_exit(9);
	}
	waitpid(c, &status, WUNTRACED);
	printf("raise(SIGSTOP): stopped %d by %d\n", WIFSTOPPED(status), WSTOPSIG(status));
	kill(c, SIGCONT);
	char b = 0;
	read(fds[0], &b, 1);
	printf("after SIGCONT the child wrote '%c'\n", b);
	report("continued child", c);
	return 0;
}
