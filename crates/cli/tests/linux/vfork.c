/* vfork and clone(CLONE_VM | CLONE_VFORK): the child shares the parent's
 * memory, and the parent runs again only once the child has called execve
 * or ended (a child that sleeps before it writes still gets its write seen);
 * a signal sent to the waiting parent is handled after the wait; clone with
 * CLONE_VM alone shares memory without waiting, CLONE_VFORK alone waits
 * for a copy. Children write no output
 * through stdio, whose buffers they share with the parent. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile int shared;
static volatile int handled;
static char stack[64 * 1024] __attribute__((aligned(16)));

static void nap(void) {
    struct timespec t = {0, 100 * 1000 * 1000};
    nanosleep(&t, NULL);
}

/* Writes 1, naps, writes 2: a parent running meanwhile would see 0 or 1. */
static int late_writer(void *arg) {
    (void)arg;
    shared = 1;
    nap();
    shared = 2;
    return 3; /* the exit status */
}

static int late_execer(void *arg) {
    shared = 1;
    nap();
    shared = 2;
    execl((char *)arg, "vfork", "exec-child", (char *)NULL);
    _exit(127);
}

static int failed_execer(void *arg) {
    (void)arg;
    shared = 1;
    execl("/nonexistent/program", "x", (char *)NULL);
    shared = errno == ENOENT ? 4 : 5;
    nap();
    _exit(0);
}

static volatile int go;

static int waits_for_go(void *arg) {
    (void)arg;
    while (!go) nap();
    shared = 2;
    return 3;
}

static void on_usr1(int sig) {
    (void)sig;
    handled = 1;
}

static int signaller(void *arg) {
    (void)arg;
    kill(getppid(), SIGUSR1);
    nap();
    shared = handled ? 9 : 7; /* the parent's handler has not run yet */
    _exit(0);
}

static int status_of(pid_t pid) {
    int status = -1;
    if (waitpid(pid, &status, 0) != pid) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

static void run(const char *what, int (*fn)(void *), int flags, void *arg) {
    shared = 0;
    pid_t pid = clone(fn, stack + sizeof stack, flags | SIGCHLD, arg);
    int seen = shared;
    printf("%s: returned a pid %d, parent saw %d, exit status %d\n", what, pid > 0, seen,
           status_of(pid));
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "exec-child") == 0) {
        printf("the exec'd child runs, shared memory no more\n");
        return 6;
    }
    setvbuf(stdout, NULL, _IONBF, 0);

    shared = 0;
    pid_t pid = vfork();
    if (pid == 0) {
        shared = 1;
        nap();
        shared = 2;
        _exit(4);
    }
    printf("vfork: parent saw %d, exit status %d\n", shared, status_of(pid));

    run("CLONE_VM|CLONE_VFORK, child exits", late_writer, CLONE_VM | CLONE_VFORK, NULL);
    run("CLONE_VM|CLONE_VFORK, child execs", late_execer, CLONE_VM | CLONE_VFORK,
        "/proc/self/exe");
    run("CLONE_VM|CLONE_VFORK, failed exec", failed_execer, CLONE_VM | CLONE_VFORK, NULL);

    signal(SIGUSR1, on_usr1);
    run("CLONE_VM|CLONE_VFORK, parent signalled", signaller, CLONE_VM | CLONE_VFORK, NULL);
    printf("handler ran after the wait: %d\n", handled);

    /* CLONE_VM alone: memory shared, no waiting (the child writes only
     * once the parent has gone on). */
    shared = 0;
    pid = clone(waits_for_go, stack + sizeof stack, CLONE_VM | SIGCHLD, NULL);
    int early = shared;
    go = 1;
    int status = status_of(pid);
    printf("CLONE_VM: parent went on at once, saw %d, then the child's write %d, status %d\n",
           early, shared, status);

    /* CLONE_VFORK without CLONE_VM: a copy, and still a wait. */
    shared = 0;
    pid = clone(late_writer, stack + sizeof stack, CLONE_VFORK | SIGCHLD, NULL);
    status = status_of(pid);
    printf("CLONE_VFORK alone: parent saw %d (a copy), status %d\n", shared, status);

    /* A killed vfork child lets its parent go too. */
    pid = vfork();
    if (pid == 0) {
        kill(getpid(), SIGKILL);
        _exit(1);
    }
    printf("vfork child killed: status %d\n", status_of(pid));
    return 0;
}
