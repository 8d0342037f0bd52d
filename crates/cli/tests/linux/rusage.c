/* getrusage and the CPU-time clocks: time spent computing shows up in the
 * process's and the thread's clocks and in RUSAGE_SELF, a reaped child's in
 * RUSAGE_CHILDREN; errors as Linux. Prints comparisons only. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long ns(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static long long us(struct timeval t) { return t.tv_sec * 1000000LL + t.tv_usec; }

/* Computes until the process's CPU clock has advanced `ms` milliseconds. */
static volatile unsigned long sink;
static void spin(int ms) {
    long long start = ns(CLOCK_PROCESS_CPUTIME_ID);
    while (ns(CLOCK_PROCESS_CPUTIME_ID) - start < ms * 1000000LL)
        for (int i = 0; i < 10000; i++) sink += i;
}

static const char *err(long r) { return r == -1 ? strerror(errno) : "ok"; }

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    struct rusage ru;
    memset(&ru, 0x55, sizeof ru);
    long r = getrusage(RUSAGE_CHILDREN, &ru);
    printf("children before any: %s, times zero %d\n", err(r), us(ru.ru_utime) == 0 && us(ru.ru_stime) == 0);

    /* The wall-clock interval encloses the CPU-clock one (w0 first, w1
     * last), so CPU time can only be slower, however long the clock reads
     * themselves take. */
    long long w0 = ns(CLOCK_MONOTONIC);
    long long p0 = ns(CLOCK_PROCESS_CPUTIME_ID), t0 = ns(CLOCK_THREAD_CPUTIME_ID);
    spin(30);
    long long t1 = ns(CLOCK_THREAD_CPUTIME_ID);
    long long p1 = ns(CLOCK_PROCESS_CPUTIME_ID);
    long long w1 = ns(CLOCK_MONOTONIC);
    printf("process CPU clock advanced >= 30ms %d\n", p1 - p0 >= 30000000);
    printf("thread CPU clock advanced >= 30ms %d\n", t1 - t0 >= 30000000);
    printf("thread clock within the process clock %d\n", t1 <= p1);
    printf("CPU time no faster than the wall clock %d\n", p1 - p0 <= w1 - w0 + 1000000);

    clockid_t mine;
    printf("clock_getcpuclockid(0): %d\n", clock_getcpuclockid(0, &mine));
    struct timespec t;
    r = clock_gettime(mine, &t);
    printf("reading it: %s, at least 30ms %d\n", err(r), t.tv_sec * 1000000000LL + t.tv_nsec >= 30000000);
    printf("CPU clock of pid 99999: %d\n", clock_getcpuclockid(99999, &mine) != 0);

    struct rusage th;
    long rt = getrusage(RUSAGE_THREAD, &th);
    r = getrusage(RUSAGE_SELF, &ru);
    printf("getrusage(RUSAGE_SELF): %s\n", err(r));
    printf("  user+system covers the CPU clock %d\n", us(ru.ru_utime) + us(ru.ru_stime) >= p1 / 1000 - 1000);
    printf("  usec fields valid %d\n", ru.ru_utime.tv_usec < 1000000 && ru.ru_stime.tv_usec < 1000000);
    printf("  maxrss > 0 %d\n", ru.ru_maxrss > 0);
    printf("getrusage(RUSAGE_THREAD) just before: %s, within SELF %d\n", err(rt),
           us(th.ru_utime) + us(th.ru_stime) <= us(ru.ru_utime) + us(ru.ru_stime));

    pid_t c = fork();
    if (c == 0) {
        spin(40);
        _exit(0);
    }
    r = getrusage(RUSAGE_CHILDREN, &ru);
    printf("children while it runs, still zero %d\n", r == 0 && us(ru.ru_utime) + us(ru.ru_stime) == 0);
    struct rusage child;
    wait4(c, NULL, 0, &child);
    printf("wait4's rusage has the child's 40ms %d\n", us(child.ru_utime) + us(child.ru_stime) >= 39000);
    getrusage(RUSAGE_CHILDREN, &ru);
    printf("RUSAGE_CHILDREN has it too %d\n", us(ru.ru_utime) + us(ru.ru_stime) >= 39000);
    printf("and matches wait4's %d\n", us(ru.ru_utime) == us(child.ru_utime) && us(ru.ru_stime) == us(child.ru_stime));

    printf("getrusage(5): %s\n", err(getrusage(5, &ru)));
    printf("getrusage(-2): %s\n", err(getrusage(-2, &ru)));
    printf("getrusage to a bad pointer: %s\n", err(syscall(SYS_getrusage, RUSAGE_SELF, 8)));
    return 0;
}
