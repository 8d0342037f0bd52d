/* sigqueue and rt_sigqueueinfo: values reach SA_SIGINFO handlers and
 * sigwaitinfo, real-time signals queue in order, and a process may not
 * forge a kernel si_code towards another. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int handled_value = -1;
static volatile int handled_code = 0;

static void handler(int signal, siginfo_t *info, void *context) {
    (void)signal;
    (void)context;
    handled_value = info->si_value.sival_int;
    handled_code = info->si_code;
}

int main(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = handler;
    action.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &action, NULL);

    union sigval value = {.sival_int = 42};
    if (sigqueue(getpid(), SIGUSR1, value) != 0)
        perror("sigqueue");
    printf("handler: value %d, code SI_QUEUE %d\n", handled_value, handled_code == SI_QUEUE);

    /* Real-time signals queue, each with its value, in order. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGRTMIN);
    sigprocmask(SIG_BLOCK, &set, NULL);
    for (int i = 1; i <= 3; i++) {
        value.sival_int = i * 10;
        sigqueue(getpid(), SIGRTMIN, value);
    }
    for (int i = 0; i < 3; i++) {
        siginfo_t info;
        int signal = sigwaitinfo(&set, &info);
        printf("waited: %s value %d pid ok %d\n", signal == SIGRTMIN ? "SIGRTMIN" : "other",
               info.si_value.sival_int, info.si_pid == getpid());
    }

    /* To a child, which waits for it. */
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        siginfo_t info;
        int signal = sigwaitinfo(&set, &info);
        printf("child got %s value %d from parent %d\n", signal == SIGRTMIN ? "SIGRTMIN" : "other",
               info.si_value.sival_int, info.si_pid == getppid());
        fflush(stdout);
        _exit(0);
    }
    value.sival_int = 7;
    sigqueue(child, SIGRTMIN, value);
    int status;
    waitpid(child, &status, 0);

    /* Forging a kernel or tkill si_code towards another process. */
    siginfo_t forged;
    memset(&forged, 0, sizeof forged);
    forged.si_signo = SIGUSR1;
    forged.si_code = SI_USER;
    fflush(stdout);
    child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    long rc = syscall(SYS_rt_sigqueueinfo, child, SIGUSR1, &forged);
    printf("forged SI_USER to another: %ld %s\n", rc, rc ? strerror(errno) : "");
    forged.si_code = SI_TKILL;
    rc = syscall(SYS_rt_tgsigqueueinfo, child, child, SIGUSR1, &forged);
    printf("forged SI_TKILL to another thread: %ld %s\n", rc, rc ? strerror(errno) : "");
    kill(child, SIGKILL);
    waitpid(child, &status, 0);

    /* To oneself any code goes; bad arguments. */
    handled_value = -1;
    forged.si_code = SI_USER;
    forged.si_value.sival_int = 5;
    rc = syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR1, &forged);
    printf("SI_USER to self: %ld value %d\n", rc, handled_value);
    rc = syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR1, (void *)8);
    printf("bad info: %ld %s\n", rc, strerror(errno));
    forged.si_code = SI_QUEUE;
    rc = syscall(SYS_rt_sigqueueinfo, getpid(), 99, &forged);
    printf("bad signal: %ld %s\n", rc, strerror(errno));
    rc = syscall(SYS_rt_sigqueueinfo, 99999, SIGUSR1, &forged);
    printf("no such process: %ld %s\n", rc, strerror(errno));
    rc = syscall(SYS_rt_tgsigqueueinfo, getpid(), 0, SIGUSR1, &forged);
    printf("tid 0: %ld %s\n", rc, strerror(errno));
    rc = syscall(SYS_rt_sigqueueinfo, getpid(), 0, &forged);
    printf("probe: %ld\n", rc);
    return 0;
}
