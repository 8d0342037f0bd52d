/* PR_SET_PDEATHSIG: a process gets the signal it asked for when the thread
 * that made it ends: its parent process's end (a handler sees SI_USER from
 * the parent, and the new parent), a default action that kills, and the
 * end of a parent's other thread while the parent process lives on. Each
 * case runs under a "middle" process whose child reports through a pipe. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static int report; /* the pipe's write end, in the grandchild */
static pid_t first_parent;

static void on_signal(int sig, siginfo_t *info, void *context) {
    (void)context;
    char line[160];
    int n = snprintf(line, sizeof line,
                     "signal %d, SI_USER %d, from the parent %d, parent changed %d\n", sig,
                     info->si_code == SI_USER, info->si_pid == first_parent,
                     getppid() != first_parent);
    write(report, line, n);
    _exit(0);
}

/* In the grandchild: asks for `sig`, says it is ready, waits for it. */
static void grandchild(int sig, int ready) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    prctl(PR_SET_PDEATHSIG, sig);
    write(ready, "r", 1);
    for (;;) pause();
}

/* Reads what the grandchild reports until it ends (the pipe's end). */
static void show(const char *what, int out) {
    char buf[256];
    int n, len = 0;
    while ((n = read(out, buf + len, sizeof buf - 1 - len)) > 0) len += n;
    buf[len] = 0;
    printf("%s: %s", what, len ? buf : "ended without a word\n");
}

/* A middle process forks the grandchild (from its main thread, or from a
 * second thread that then ends), waits until it is ready, and ends. */
struct plan {
    int sig, ready[2], out[2];
};

static void *make_grandchild(void *arg) {
    struct plan *p = arg;
    first_parent = getpid();
    if (fork() == 0) {
        close(p->ready[0]);
        close(p->out[0]);
        report = p->out[1];
        grandchild(p->sig, p->ready[1]);
    }
    close(p->out[1]);
    char c;
    read(p->ready[0], &c, 1);
    return NULL;
}

static void run(const char *what, int sig, int from_thread) {
    struct plan p = {sig};
    pipe(p.ready);
    pipe(p.out);
    pid_t middle = fork();
    if (middle == 0) {
        if (from_thread) {
            pthread_t t;
            pthread_create(&t, NULL, make_grandchild, &p);
            pthread_join(t, NULL); /* the thread has ended: the signal comes */
            for (;;) pause();      /* while this process lives on */
        }
        make_grandchild(&p);
        _exit(0);
    }
    close(p.ready[1]);
    close(p.out[1]);
    show(what, p.out[0]);
    close(p.ready[0]);
    close(p.out[0]);
    if (from_thread) kill(middle, SIGKILL);
    waitpid(middle, NULL, 0);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    run("parent exits", SIGUSR1, 0);
    run("SIGKILL when the parent exits", SIGKILL, 0);
    run("the parent's thread ends", SIGUSR1, 1);
    return 0;
}
