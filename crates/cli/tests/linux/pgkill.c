/* Signals to process groups: kill(-pgid) reaches every member, kill(0)
 * the sender's own group (the sender included), and a group with no
 * member is ESRCH. A leader in a group of its own forks two members; they
 * wait in pause until the signal ends them, and the leader reports their
 * fates in its exit code. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t got;

static void on_signal(int sig) { got = sig; }

/* A group leader: two members, then `sig` to the group (from the parent,
 * or itself with kill(0) if `self_sends`). Exits
 * with the members' signals summed, plus 100 if its own handler ran. */
static void leader(int ready, int sig, int self_sends)
{
	setpgid(0, 0);
	pid_t members[2];
	for (int i = 0; i < 2; i++) {
		members[i] = fork();
		if (members[i] == 0) {
			for (;;)
				pause();
		}
	}
	/* The members keep the default action (death). */
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigaction(sig, &sa, NULL);
	if (self_sends)
		kill(0, sig);
	else
		write(ready, "r", 1);
	int sum = 0;
	for (int i = 0; i < 2; i++) {
		int status;
		waitpid(members[i], &status, 0);
		if (WIFSIGNALED(status))
			sum += WTERMSIG(status);
	}
	_exit(sum + (got == sig ? 100 : 0));
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	int fds[2];
	pipe(fds);
	pid_t c = fork();
	if (c == 0)
		leader(fds[1], SIGTERM, 0);
	char b;
	read(fds[0], &b, 1);
	printf("kill(-leader, SIGTERM): %s\n", kill(-c, SIGTERM) == 0 ? "ok" : strerror(errno));
	int status;
	waitpid(c, &status, 0);
	printf("leader exited %d (members' signals 15 + 15, its handler 100)\n",
	       WEXITSTATUS(status));
	errno = 0;
	printf("kill(-leader) once all are gone: %s\n",
	       kill(-c, SIGTERM) == 0 ? "ok" : strerror(errno));

	c = fork();
	if (c == 0)
		leader(-1, SIGUSR2, 1);
	waitpid(c, &status, 0);
	printf("leader sending kill(0, SIGUSR2) exited %d\n", WEXITSTATUS(status));
	return 0;
}
