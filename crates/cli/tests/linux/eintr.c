/* Interrupted system calls: a handler without SA_RESTART makes a blocked
 * pipe read, nanosleep (which reports the time left), waitpid, a futex
 * wait and pause fail with EINTR; with SA_RESTART the read goes on and
 * returns the data written later. The signals come from a child, which
 * waits until the parent is about to block (it says so through a pipe)
 * and then keeps sending, so the result does not depend on timing. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t handled;

static void on_usr1(int sig)
{
	(void)sig;
	handled++;
}

static void handle(int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) != 0)
		;
}

/* A child that, once told, sends SIGUSR1 to the parent every 100 ms;
 * `data`, if not -1, gets "data" after the third signal. */
static pid_t ticker(int *go, int data)
{
	int fds[2];
	pipe(fds);
	pid_t c = fork();
	if (c == 0) {
		char b;
		close(fds[1]);
		read(fds[0], &b, 1);
		for (int i = 0;; i++) {
			sleep_ms(100);
			kill(getppid(), SIGUSR1);
			if (i == 2 && data != -1)
				write(data, "data", 4);
		}
	}
	close(fds[0]);
	*go = fds[1];
	return c;
}

/* Lets the ticker start: the caller blocks right after. */
static void start(int go)
{
	write(go, "g", 1);
	close(go);
}

static void stop(pid_t ticker)
{
	kill(ticker, SIGKILL);
	waitpid(ticker, NULL, 0);
}

static const char *err(long r) { return r == -1 ? strerror(errno) : "no error"; }

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	handle(0);
	int go;

	/* A pipe read. */
	int fds[2];
	pipe(fds);
	pid_t t = ticker(&go, -1);
	start(go);
	char buf[8];
	long r = read(fds[0], buf, sizeof buf);
	printf("read: %ld, %s, handler ran %d\n", r, err(r), handled > 0);
	stop(t);

	/* nanosleep, with the time left. */
	handled = 0;
	t = ticker(&go, -1);
	start(go);
	struct timespec ts = {20, 0}, left = {-1, -1};
	r = nanosleep(&ts, &left);
	printf("nanosleep: %ld, %s, left between 10 and 20 s: %d\n", r, err(r),
	       left.tv_sec >= 10 && left.tv_sec < 20 && left.tv_nsec >= 0);
	stop(t);

	/* clock_nanosleep returns the error number itself. */
	t = ticker(&go, -1);
	start(go);
	ts.tv_sec = 20;
	int e = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &left);
	printf("clock_nanosleep: %s, left below 20 s: %d\n", strerror(e), left.tv_sec < 20);
	stop(t);

	/* waitpid for a child that does not end by itself. */
	pid_t sleeper = fork();
	if (sleeper == 0) {
		pause();
		_exit(0);
	}
	t = ticker(&go, -1);
	start(go);
	int status;
	r = waitpid(sleeper, &status, 0);
	printf("waitpid: %ld, %s\n", r, err(r));
	stop(t);
	kill(sleeper, SIGKILL);
	waitpid(sleeper, &status, 0);

	/* A futex wait. */
	static int word;
	t = ticker(&go, -1);
	start(go);
	r = syscall(SYS_futex, &word, 0 /* FUTEX_WAIT */, 0, NULL, NULL, 0);
	printf("futex wait: %ld, %s\n", r, err(r));
	stop(t);

	/* pause. */
	t = ticker(&go, -1);
	start(go);
	r = pause();
	printf("pause: %ld, %s\n", r, err(r));
	stop(t);

	/* SA_RESTART: the read survives the handlers and gets the data. */
	handle(SA_RESTART);
	handled = 0;
	t = ticker(&go, fds[1]);
	start(go);
	r = read(fds[0], buf, sizeof buf);
	printf("SA_RESTART read: %ld (%.4s), handler ran %d\n", r, buf, handled > 0);
	stop(t);

	/* A signal with no handler (ignored) interrupts nothing. */
	signal(SIGUSR1, SIG_IGN);
	t = ticker(&go, fds[1]);
	start(go);
	r = read(fds[0], buf, sizeof buf);
	printf("ignored signals, read: %ld (%.4s)\n", r, buf);
	stop(t);
	return 0;
}
