/* SIGCHLD: the handler runs when a child exits or is killed, with
 * si_code CLD_EXITED/CLD_KILLED, si_pid and si_status; stops and continues
 * send CLD_STOPPED/CLD_CONTINUED unless SA_NOCLDSTOP; SIG_IGN and
 * SA_NOCLDWAIT reap children at once (wait then fails with ECHILD). Each
 * step blocks SIGCHLD and waits for it with sigsuspend, so nothing
 * depends on timing. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t count, code, status, from_child;
static volatile pid_t expected;

static void on_chld(int sig, siginfo_t *info, void *uc)
{
	(void)sig;
	(void)uc;
	count++;
	code = info->si_code;
	status = info->si_status;
	from_child = info->si_pid == expected;
}

static void handle(int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_chld;
	sa.sa_flags = SA_SIGINFO | flags;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
}

/* Waits (SIGCHLD blocked) until the handler has run `n` times in all. */
static void await(int n)
{
	sigset_t none;
	sigemptyset(&none);
	while (count < n)
		sigsuspend(&none);
}

static void show(const char *what)
{
	printf("%s: handler ran %d, code %d, status %d, from the child %d\n", what, (int)count,
	       (int)code, (int)status, (int)from_child);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	handle(0);

	pid_t c = fork();
	if (c == 0)
		_exit(7);
	expected = c;
	await(1);
	show("exit(7)");
	int st;
	printf("then waitpid: matches %d, exited %d\n", waitpid(c, &st, 0) == c, WEXITSTATUS(st));

	c = fork();
	if (c == 0) {
		pause();
		_exit(1);
	}
	expected = c;
	kill(c, SIGKILL);
	await(2);
	show("SIGKILL");
	waitpid(c, &st, 0);

	/* Stop and continue: CLD_STOPPED, CLD_CONTINUED. */
	c = fork();
	if (c == 0) {
		for (;;)
			pause();
	}
	expected = c;
	kill(c, SIGSTOP);
	await(3);
	show("SIGSTOP");
	kill(c, SIGCONT);
	await(4);
	show("SIGCONT");
	kill(c, SIGTERM);
	await(5);
	show("SIGTERM");
	waitpid(c, &st, 0);

	/* SA_NOCLDSTOP: no word of the stop, only of the end. */
	handle(SA_NOCLDSTOP);
	c = fork();
	if (c == 0) {
		for (;;)
			pause();
	}
	expected = c;
	kill(c, SIGSTOP);
	waitpid(c, &st, WUNTRACED);
	kill(c, SIGKILL);
	await(6);
	show("SA_NOCLDSTOP, SIGSTOP then SIGKILL");
	waitpid(c, &st, 0);

	/* SA_NOCLDWAIT: the handler runs, but no zombie is left. */
	handle(SA_NOCLDWAIT);
	c = fork();
	if (c == 0)
		_exit(3);
	expected = c;
	await(7);
	show("SA_NOCLDWAIT");
	errno = 0;
	pid_t r = wait(&st);
	printf("then wait: %d, %s\n", (int)r, strerror(errno));

	/* SIG_IGN: no handler, no zombie; wait sleeps until the child is
	 * gone, then fails. */
	signal(SIGCHLD, SIG_IGN);
	c = fork();
	if (c == 0) {
		usleep(100000);
		_exit(3);
	}
	errno = 0;
	r = wait(&st);
	printf("SIG_IGN, then wait: %d, %s\n", (int)r, strerror(errno));
	printf("handler count still %d\n", (int)count);
	return 0;
}
