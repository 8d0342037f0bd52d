/* Waiting for signals: sigpending, sigsuspend (the handler runs, the mask
 * comes back), sigtimedwait (taking a pending signal, a timeout, a signal
 * sent by a child, EINTR from another signal's handler), real-time
 * signals queueing where standard ones coalesce, SIG_IGN discarding a
 * pending signal, and a handler on the alternate stack (SA_ONSTACK). */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t usr1;
static volatile uintptr_t handler_stack;

static void on_usr1(int sig)
{
	(void)sig;
	usr1++;
}

static void on_usr2(int sig)
{
	(void)sig;
	volatile char here;
	handler_stack = (uintptr_t)&here;
}

static const char *err(long r) { return r == -1 ? strerror(errno) : "ok"; }

static int pending(int sig)
{
	sigset_t set;
	sigpending(&set);
	return sigismember(&set, sig);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	sigset_t usr, none, mask;
	sigemptyset(&none);
	sigemptyset(&usr);
	sigaddset(&usr, SIGUSR1);
	sigaddset(&usr, SIGUSR2);
	signal(SIGUSR1, on_usr1);

	/* Pending while blocked; sigsuspend lets it in. */
	sigprocmask(SIG_BLOCK, &usr, NULL);
	raise(SIGUSR1);
	raise(SIGUSR1);
	printf("blocked and raised twice: pending %d, handled %d\n", pending(SIGUSR1), (int)usr1);
	long r = sigsuspend(&none);
	printf("sigsuspend: %ld, %s, handled %d, pending %d\n", r, err(r), (int)usr1,
	       pending(SIGUSR1));
	sigprocmask(SIG_BLOCK, NULL, &mask);
	printf("mask restored: usr1 blocked %d\n", sigismember(&mask, SIGUSR1));

	/* sigtimedwait takes a pending signal without its handler. */
	raise(SIGUSR1);
	siginfo_t info;
	struct timespec zero = {0, 0}, short_wait = {0, 100000000}, long_wait = {20, 0};
	r = sigtimedwait(&usr, &info, &zero);
	printf("sigtimedwait: %ld (SIGUSR1 %d), si_code %d (SI_TKILL %d), pid matches %d, "
	       "handled %d\n",
	       r, SIGUSR1, info.si_code, SI_TKILL, info.si_pid == getpid(), (int)usr1);
	r = sigtimedwait(&usr, &info, &zero);
	printf("nothing pending, no wait: %ld, %s\n", r, err(r));
	r = sigtimedwait(&usr, &info, &short_wait);
	printf("nothing pending, 100 ms: %ld, %s\n", r, err(r));
	struct timespec bad = {0, 1000000000};
	r = sigtimedwait(&usr, &info, &bad);
	printf("bad timeout: %ld, %s\n", r, err(r));

	/* A signal from a child, waited for. */
	pid_t c = fork();
	if (c == 0) {
		usleep(100000);
		kill(getppid(), SIGUSR2);
		_exit(0);
	}
	r = sigtimedwait(&usr, &info, &long_wait);
	printf("from the child: %ld (SIGUSR2 %d), si_code %d (SI_USER %d), pid matches %d\n", r,
	       SIGUSR2, info.si_code, SI_USER, info.si_pid == c);
	waitpid(c, NULL, 0);

	/* Another signal's handler interrupts it: EINTR. */
	sigset_t only_usr2;
	sigemptyset(&only_usr2);
	sigaddset(&only_usr2, SIGUSR2);
	sigprocmask(SIG_UNBLOCK, &usr, NULL);
	sigprocmask(SIG_BLOCK, &only_usr2, NULL);
	c = fork();
	if (c == 0) {
		for (;;) {
			usleep(100000);
			kill(getppid(), SIGUSR1);
		}
	}
	usr1 = 0;
	/* The system call itself: musl's sigtimedwait retries after EINTR. */
	r = syscall(SYS_rt_sigtimedwait, &only_usr2, &info, &long_wait, _NSIG / 8);
	printf("a handled SIGUSR1 meanwhile: %ld, %s, handled %d\n", r, err(r), usr1 > 0);
	kill(c, SIGKILL);
	waitpid(c, NULL, 0);

	/* Real-time signals queue; standard ones coalesce. */
	sigset_t rt;
	sigemptyset(&rt);
	sigaddset(&rt, SIGRTMIN);
	sigaddset(&rt, SIGUSR2);
	sigprocmask(SIG_BLOCK, &rt, NULL);
	for (int i = 0; i < 3; i++) {
		raise(SIGRTMIN);
		raise(SIGUSR2);
	}
	int rts = 0, usr2s = 0;
	while ((r = sigtimedwait(&rt, &info, &zero)) > 0) {
		if (r == SIGRTMIN)
			rts++;
		else if (r == SIGUSR2)
			usr2s++;
	}
	printf("raised 3 times each: SIGRTMIN taken %d times, SIGUSR2 %d\n", rts, usr2s);

	/* SIG_IGN discards a pending signal. */
	raise(SIGUSR2);
	printf("SIGUSR2 pending %d", pending(SIGUSR2));
	signal(SIGUSR2, SIG_IGN);
	printf(", after SIG_IGN %d\n", pending(SIGUSR2));

	/* sigaltstack: SA_ONSTACK handlers run on it. */
	stack_t ss, old;
	ss.ss_sp = malloc(65536);
	ss.ss_size = 65536;
	ss.ss_flags = 0;
	printf("sigaltstack: %s", err(sigaltstack(&ss, &old)));
	printf(", old disabled %d\n", old.ss_flags == SS_DISABLE);
	stack_t small = {.ss_sp = ss.ss_sp, .ss_size = 1024, .ss_flags = 0};
	printf("a 1 KiB stack: %s\n", err(sigaltstack(&small, NULL)));
	stack_t weird = {.ss_sp = ss.ss_sp, .ss_size = 65536, .ss_flags = 99};
	printf("flags 99: %s\n", err(sigaltstack(&weird, NULL)));
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr2;
	sa.sa_flags = SA_ONSTACK;
	sigaction(SIGUSR2, &sa, NULL);
	sigprocmask(SIG_UNBLOCK, &rt, NULL);
	raise(SIGUSR2);
	uintptr_t base = (uintptr_t)ss.ss_sp;
	printf("SA_ONSTACK handler on the alternate stack: %d\n",
	       handler_stack > base && handler_stack < base + 65536);
	sa.sa_flags = 0;
	sigaction(SIGUSR2, &sa, NULL);
	raise(SIGUSR2);
	printf("without SA_ONSTACK: on it %d\n", handler_stack > base && handler_stack < base + 65536);
	sigaltstack(NULL, &old);
	printf("still set: size %zu, flags %d\n", old.ss_size, old.ss_flags);
	return 0;
}
