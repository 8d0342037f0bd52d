/* Signals and threads: pthread_kill (tgkill) reaches the thread named,
 * interrupting its blocked read; a signal to the process goes to a thread
 * that does not block it; a default action ends every thread; exit while
 * another thread is blocked in the kernel ends the process. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile pid_t handled_by;
static volatile sig_atomic_t handled;
static int fds[2];
static pid_t worker_tid;
static pthread_barrier_t ready;

static void on_usr1(int sig)
{
	(void)sig;
	handled_by = (pid_t)syscall(SYS_gettid);
	handled++;
}

static void *reader(void *arg)
{
	(void)arg;
	worker_tid = (pid_t)syscall(SYS_gettid);
	pthread_barrier_wait(&ready);
	char b;
	long r = read(fds[0], &b, 1);
	printf("worker read: %ld, %s\n", r, r == -1 ? strerror(errno) : "ok");
	return NULL;
}

static void *blocked_forever(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&ready);
	char b;
	read(fds[0], &b, 1);
	return NULL;
}

/* Runs `body` in a child process and reports how it ended. */
static void in_child(const char *what, void (*body)(void))
{
	pid_t c = fork();
	if (c == 0) {
		body();
		_exit(0);
	}
	int status;
	waitpid(c, &status, 0);
	if (WIFSIGNALED(status))
		printf("%s: signaled by %d\n", what, WTERMSIG(status));
	else
		printf("%s: exited %d\n", what, WEXITSTATUS(status));
}

static void default_action_ends_all(void)
{
	pthread_t t;
	pthread_barrier_init(&ready, NULL, 2);
	pthread_create(&t, NULL, blocked_forever, NULL);
	pthread_barrier_wait(&ready);
	usleep(50000);
	kill(getpid(), SIGTERM);
	for (;;)
		pause();
}

static void exit_with_a_blocked_thread(void)
{
	pthread_t t;
	pthread_barrier_init(&ready, NULL, 2);
	pthread_create(&t, NULL, blocked_forever, NULL);
	pthread_barrier_wait(&ready);
	usleep(50000);
	exit(5);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1; /* no SA_RESTART: the read fails */
	sigaction(SIGUSR1, &sa, NULL);
	pipe(fds);

	/* pthread_kill: the handler runs in the worker, its read fails. */
	pthread_t t;
	pthread_barrier_init(&ready, NULL, 2);
	pthread_create(&t, NULL, reader, NULL);
	pthread_barrier_wait(&ready);
	usleep(100000);
	pthread_kill(t, SIGUSR1);
	pthread_join(t, NULL);
	printf("handled %d, by the worker %d\n", (int)handled, handled_by == worker_tid);
	pthread_barrier_destroy(&ready);

	/* To the process, while the main thread blocks it: the worker. */
	sigset_t usr1;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	handled = 0;
	pthread_barrier_init(&ready, NULL, 2);
	pthread_create(&t, NULL, reader, NULL);
	pthread_barrier_wait(&ready);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	usleep(100000);
	kill(getpid(), SIGUSR1);
	pthread_join(t, NULL);
	printf("kill to the process: handled %d, by the worker %d\n", (int)handled,
	       handled_by == worker_tid);
	pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
	pthread_barrier_destroy(&ready);

	in_child("SIGTERM with a thread blocked in read", default_action_ends_all);
	in_child("exit with a thread blocked in read", exit_with_a_blocked_thread);
	return 0;
}
