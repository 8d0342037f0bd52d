/* Signal handlers: sigaction with SA_SIGINFO, the signal mask, SIG_IGN,
 * SA_RESETHAND, a SIGSEGV handler that siglongjmps out, and handlers
 * inherited across fork. Prints what each step saw. */
#include <errno.h>
#include <setjmp.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t usr1_count, usr2_count, pipe_count;
static volatile int last_code;
static volatile void *fault_address;
static sigjmp_buf recover;
/* A null-page address the compiler cannot see through. */
static volatile uintptr_t zero16 = 16;

static void on_usr1(int sig, siginfo_t *info, void *uc)
{
	(void)uc;
	usr1_count++;
	last_code = info->si_signo == sig ? info->si_code : -100;
}

static void on_usr2(int sig)
{
	(void)sig;
	usr2_count++;
}

static void on_pipe(int sig)
{
	(void)sig;
	pipe_count++;
}

static void on_segv(int sig, siginfo_t *info, void *uc)
{
	(void)sig;
	(void)uc;
	fault_address = info->si_addr;
	siglongjmp(recover, 1);
}

static char *guarded;

/* Makes the faulting page writable and returns: the store runs again.
 * Uses SSE registers itself; the interrupted code's must survive. */
static void on_segv_fix(int sig, siginfo_t *info, void *uc)
{
	(void)sig;
	(void)uc;
	volatile double noise = 0.1;
	for (int i = 0; i < 10; i++)
		noise = noise * 3.7 + 1.0;
	if ((char *)info->si_addr != guarded + 8 ||
	    mprotect(guarded, 4096, PROT_READ | PROT_WRITE) != 0)
		_exit(99);
}

static void handle(int sig, void (*fn)(int, siginfo_t *, void *), int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = fn;
	sa.sa_flags = SA_SIGINFO | flags;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL) != 0)
		perror("sigaction");
}

int main(void)
{
	/* 1. A handler with siginfo; execution continues after it. */
	handle(SIGUSR1, on_usr1, 0);
	raise(SIGUSR1);
	kill(getpid(), SIGUSR1);
	printf("usr1 handled %d times, last si_code %d\n", (int)usr1_count,
	       last_code);

	/* 2. A blocked signal waits until it is unblocked. */
	signal(SIGUSR2, on_usr2);
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, &old);
	raise(SIGUSR2);
	printf("blocked: usr2 count %d\n", (int)usr2_count);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	printf("unblocked: usr2 count %d\n", (int)usr2_count);
	sigprocmask(SIG_SETMASK, NULL, &old);
	printf("usr2 still blocked: %d\n", sigismember(&old, SIGUSR2));

	/* 3. SIGPIPE ignored, then handled: write fails with EPIPE. */
	int fds[2];
	pipe(fds);
	close(fds[0]);
	signal(SIGPIPE, SIG_IGN);
	errno = 0;
	long n = write(fds[1], "x", 1);
	printf("ignored SIGPIPE: write %ld, %s\n", n, strerror(errno));
	signal(SIGPIPE, on_pipe);
	n = write(fds[1], "x", 1);
	printf("handled SIGPIPE: write %ld, %s, handler ran %d\n", n,
	       strerror(errno), (int)pipe_count);
	close(fds[1]);

	/* 4. SA_RESETHAND: the handler runs once, then the default is back. */
	handle(SIGUSR1, on_usr1, SA_RESETHAND);
	raise(SIGUSR1);
	struct sigaction now;
	sigaction(SIGUSR1, NULL, &now);
	printf("after SA_RESETHAND: default %d, usr1 count %d\n",
	       now.sa_handler == SIG_DFL, (int)usr1_count);

	/* 5. A SIGSEGV handler that jumps out of the fault. */
	handle(SIGSEGV, on_segv, 0);
	if (sigsetjmp(recover, 1) == 0) {
		*(volatile int *)(uintptr_t)zero16 = 1;
		printf("no fault?\n");
	} else {
		printf("recovered from SIGSEGV at %p\n", fault_address);
	}
	if (sigsetjmp(recover, 1) == 0) {
		*(volatile int *)(uintptr_t)(zero16 * 2) = 1;
	} else {
		printf("and again at %p\n", fault_address);
	}

	/* 6. A handler that repairs the fault and returns into it, with
	 * floating-point values live across it. */
	guarded = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	handle(SIGSEGV, on_segv_fix, 0);
	volatile double scale = 1.25;
	double a = scale * 3.0, b = scale * 5.0;
	((volatile char *)guarded)[8] = 42;
	printf("repaired: byte %d, floats %.2f %.2f\n", guarded[8], a, b);

	/* 7. fork keeps the handlers. */
	handle(SIGUSR1, on_usr1, 0);
	fflush(stdout);
	pid_t child = fork();
	if (child == 0) {
		usr1_count = 0;
		raise(SIGUSR1);
		printf("child handled usr1 %d times\n", (int)usr1_count);
		fflush(stdout);
		_exit(7);
	}
	int status;
	waitpid(child, &status, 0);
	printf("child exited %d\n", WEXITSTATUS(status));

	/* 8. An unhandled signal still ends the process. */
	fflush(stdout);
	signal(SIGUSR2, SIG_DFL);
	raise(SIGUSR2);
	printf("not reached\n");
	return 0;
}
