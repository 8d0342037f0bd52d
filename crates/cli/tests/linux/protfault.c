/* mprotect then a fault: writing a read-only page and reading a PROT_NONE
 * page raise SIGSEGV with si_addr and SEGV_ACCERR, a handler recovers with
 * siglongjmp, and after mprotect back the access works. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096

static sigjmp_buf back;
static volatile char *fault_addr;
static volatile int fault_code, faults;

static void on_segv(int sig, siginfo_t *si, void *ctx) {
    (void)sig;
    (void)ctx;
    fault_addr = si->si_addr;
    fault_code = si->si_code;
    faults++;
    siglongjmp(back, 1);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);

    char *p = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(p, 'a', 3 * PAGE);
    printf("mprotect read-only: %d\n", mprotect(p + PAGE, PAGE, PROT_READ));
    if (sigsetjmp(back, 1) == 0) {
        p[PAGE + 5] = 'b';
        printf("write went through?!\n");
    } else {
        printf("write fault at the byte %d, SEGV_ACCERR %d\n", fault_addr == p + PAGE + 5, fault_code == SEGV_ACCERR);
    }
    printf("still readable: %c, neighbours writable %d\n", p[PAGE + 5], (p[0] = 'c') == 'c' && (p[2 * PAGE] = 'c') == 'c');

    printf("mprotect none: %d\n", mprotect(p, 3 * PAGE, PROT_NONE));
    if (sigsetjmp(back, 1) == 0) {
        volatile char c = p[2 * PAGE + 9];
        (void)c;
        printf("read went through?!\n");
    } else {
        printf("read fault at the byte %d, SEGV_ACCERR %d\n", fault_addr == p + 2 * PAGE + 9, fault_code == SEGV_ACCERR);
    }
    printf("mprotect back to read-write: %d\n", mprotect(p, 3 * PAGE, PROT_READ | PROT_WRITE));
    p[PAGE + 5] = 'd';
    printf("contents survived: %c %c %c\n", p[0], p[PAGE + 5], p[2 * PAGE]);

    /* An unmapped page: SEGV_MAPERR. */
    munmap(p + PAGE, PAGE);
    if (sigsetjmp(back, 1) == 0) {
        p[PAGE] = 1;
    } else {
        printf("unmapped page fault at the byte %d, SEGV_MAPERR %d\n", fault_addr == p + PAGE, fault_code == SEGV_MAPERR);
    }
    printf("faults handled: %d\n", faults);

    /* mprotect errors. */
    /* (musl's mprotect rounds the address down: the raw call does not.) */
    int r = syscall(SYS_mprotect, p + 1, PAGE, PROT_READ);
    printf("unaligned: %d %s\n", r, strerror(errno));
    r = mprotect(p, PAGE, 0x40);
    printf("unknown bits: %d %s\n", r, strerror(errno));
    r = mprotect(p, 3 * PAGE, PROT_READ);
    printf("over the hole: %d %s\n", r, strerror(errno));
    r = mprotect(p, PAGE, PROT_READ | PROT_GROWSDOWN | PROT_GROWSUP);
    printf("both GROWS flags: %d %s\n", r, strerror(errno));
    printf("length 0: %d\n", mprotect(p, 0, PROT_READ));

    /* Without a handler the write kills a child with SIGSEGV. */
    pid_t c = fork();
    if (c == 0) {
        signal(SIGSEGV, SIG_DFL);
        mprotect(p, PAGE, PROT_READ);
        p[0] = 1;
        _exit(0);
    }
    int status;
    waitpid(c, &status, 0);
    printf("child killed by signal %d\n", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    return 0;
}
