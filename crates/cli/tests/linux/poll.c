/* poll, ppoll, select and pselect6: readiness of pipes (data, room, hang-up,
 * no reader), of /dev/null and of bad descriptors; timeouts of 0 (no wait),
 * of some milliseconds (a real wait) and none (forever, until another
 * process writes); argument errors; a wait interrupted by a signal. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *err(long r) { return r == -1 ? strerror(errno) : "ok"; }

static long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* poll on one descriptor: the result and revents. */
static void poll_one(const char *what, int fd, short events, int timeout) {
    struct pollfd p = {.fd = fd, .events = events};
    int r = poll(&p, 1, timeout);
    printf("%s: %d, revents %#x%s\n", what, r, p.revents, r < 0 ? err(r) : "");
}

/* A child that writes one byte to `fd` after `ms` milliseconds. */
static pid_t write_later(int fd, int ms) {
    pid_t pid = fork();
    if (pid == 0) {
        struct timespec t = {0, ms * 1000000L};
        nanosleep(&t, 0);
        write(fd, "x", 1);
        _exit(0);
    }
    return pid;
}

static void on_alarm(int sig) { (void)sig; }

int main(void) {
    int p[2];
    pipe(p);
    poll_one("empty pipe, no wait", p[0], POLLIN, 0);
    poll_one("write end", p[1], POLLOUT, 0);
    poll_one("write end, asked for input only", p[1], POLLIN, 0);

    long start = now_ms();
    poll_one("empty pipe, 60 ms", p[0], POLLIN, 60);
    printf("waited at least 50 ms: %d\n", now_ms() - start >= 50);

    write(p[1], "ab", 2);
    poll_one("with data", p[0], POLLIN | POLLOUT, 0);
    close(p[1]);
    poll_one("data, writer gone", p[0], POLLIN, 0);
    char buf[8];
    read(p[0], buf, sizeof buf);
    poll_one("drained, writer gone", p[0], POLLIN, -1);
    close(p[0]);

    int q[2];
    pipe(q);
    close(q[0]);
    poll_one("write end, reader gone", q[1], POLLOUT, 0);
    close(q[1]);

    int null = open("/dev/null", O_RDWR);
    poll_one("/dev/null", null, POLLIN | POLLOUT, -1);
    poll_one("closed descriptor", 99, POLLIN, 0);

    struct pollfd several[3] = {
        {.fd = -1, .events = POLLIN},
        {.fd = null, .events = POLLOUT},
        {.fd = 99, .events = POLLIN},
    };
    int r = poll(several, 3, 0);
    printf("three entries: %d: %#x %#x %#x\n", r, several[0].revents, several[1].revents,
           several[2].revents);

    /* Waits that another process ends. */
    pipe(p);
    start = now_ms();
    pid_t child = write_later(p[1], 80);
    poll_one("forever, until a child writes", p[0], POLLIN, -1);
    printf("waited for it: %d\n", now_ms() - start >= 50);
    waitpid(child, 0, 0);
    read(p[0], buf, 1);
    start = now_ms();
    child = write_later(p[1], 80);
    poll_one("10 s, but a child writes", p[0], POLLIN, 10000);
    printf("returned early: %d\n", now_ms() - start < 5000);
    waitpid(child, 0, 0);
    read(p[0], buf, 1);

    /* ppoll. */
    struct timespec zero = {0, 0}, bad = {0, 1000000000};
    struct pollfd pp = {.fd = p[0], .events = POLLIN};
    printf("ppoll, empty, zero timeout: %d\n", ppoll(&pp, 1, &zero, 0));
    printf("ppoll, bad timeout: %s\n", err(ppoll(&pp, 1, &bad, 0)));
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    write(p[1], "y", 1);
    r = ppoll(&pp, 1, 0, &mask);
    printf("ppoll with a mask, data: %d, revents %#x\n", r, pp.revents);
    read(p[0], buf, 1);
    printf("ppoll, bad mask size: %s\n", err(syscall(SYS_ppoll, &pp, 1, &zero, &mask, 4)));

    /* select. */
    fd_set rd, wr;
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    struct timeval tv = {0, 0};
    printf("select, empty pipe: %d\n", select(p[0] + 1, &rd, 0, 0, &tv));
    printf("  still set: %d\n", FD_ISSET(p[0], &rd));
    write(p[1], "z", 1);
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    FD_ZERO(&wr);
    FD_SET(p[1], &wr);
    FD_SET(null, &wr);
    tv.tv_sec = 5;
    int n = (p[0] > p[1] ? p[0] : p[1]);
    n = (n > null ? n : null) + 1;
    printf("select, data and room: %d\n", select(n, &rd, &wr, 0, &tv));
    printf("  read %d, write %d %d\n", FD_ISSET(p[0], &rd), FD_ISSET(p[1], &wr),
           FD_ISSET(null, &wr));
    read(p[0], buf, 1);
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    tv.tv_sec = 0;
    tv.tv_usec = 60000;
    start = now_ms();
    printf("select, 60 ms: %d\n", select(p[0] + 1, &rd, 0, 0, &tv));
    printf("waited at least 50 ms: %d\n", now_ms() - start >= 50);
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    start = now_ms();
    child = write_later(p[1], 80);
    printf("select forever, until a child writes: %d\n", select(p[0] + 1, &rd, 0, 0, 0));
    printf("waited for it: %d\n", now_ms() - start >= 50);
    waitpid(child, 0, 0);
    read(p[0], buf, 1);
    tv.tv_usec = 30000;
    start = now_ms();
    printf("select with no descriptors: %d\n", select(0, 0, 0, 0, &tv));
    printf("slept at least 20 ms: %d\n", now_ms() - start >= 20);
    FD_ZERO(&rd);
    FD_SET(60, &rd);
    tv.tv_usec = 0;
    printf("select on a closed descriptor: %s\n", err(select(61, &rd, 0, 0, &tv)));
    printf("select with a negative count: %s\n", err(select(-1, 0, 0, 0, &tv)));
    tv.tv_sec = -1;
    printf("select with a negative timeout: %s\n", err(select(1, 0, 0, 0, &tv)));

    /* pselect. */
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    write(p[1], "w", 1);
    printf("pselect with a mask, data: %d\n", pselect(p[0] + 1, &rd, 0, 0, &zero, &mask));
    printf("  set: %d\n", FD_ISSET(p[0], &rd));
    read(p[0], buf, 1);
    printf("pselect, bad timeout: %s\n", err(pselect(p[0] + 1, &rd, 0, 0, &bad, 0)));

    /* A signal ends a wait with EINTR (the handler runs). */
    struct sigaction sa = {.sa_handler = on_alarm};
    sigaction(SIGALRM, &sa, 0);
    struct itimerval it = {.it_value = {0, 50000}};
    setitimer(ITIMER_REAL, &it, 0);
    poll_one("forever, until SIGALRM", p[0], POLLIN, -1);
    setitimer(ITIMER_REAL, &it, 0);
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    printf("select forever, until SIGALRM: %s\n", err(select(p[0] + 1, &rd, 0, 0, 0)));
    return 0;
}
