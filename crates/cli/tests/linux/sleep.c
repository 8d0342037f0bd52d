/* nanosleep and clock_nanosleep sleep at least the time asked, relative
 * or absolute (TIMER_ABSTIME), and fail as Linux does. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long long now(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* The raw system call's result: 0 or an error name. */
static const char *raw(long r) { return r == 0 ? "ok" : r == -1 ? strerror(errno) : "?"; }

int main(void) {
    struct timespec req = {0, 20 * 1000 * 1000}, rem = {77, 77};
    long long t0 = now(CLOCK_MONOTONIC);
    int r = nanosleep(&req, &rem);
    long long slept = now(CLOCK_MONOTONIC) - t0;
    printf("nanosleep 20ms: %d, slept at least that %d, remainder untouched %d\n", r,
           slept >= 20000000, rem.tv_sec == 77 && rem.tv_nsec == 77);
    req.tv_nsec = 0;
    printf("nanosleep 0: %d\n", nanosleep(&req, NULL));
    req.tv_nsec = 1000000000;
    printf("nanosleep with tv_nsec 1e9: %s\n", raw(syscall(SYS_nanosleep, &req, NULL)));
    req.tv_nsec = -1;
    printf("nanosleep with tv_nsec -1: %s\n", raw(syscall(SYS_nanosleep, &req, NULL)));
    req.tv_sec = -1;
    req.tv_nsec = 0;
    printf("nanosleep with tv_sec -1: %s\n", raw(syscall(SYS_nanosleep, &req, NULL)));
    printf("nanosleep from a bad pointer: %s\n", raw(syscall(SYS_nanosleep, 8, NULL)));
    req.tv_sec = 0;
    req.tv_nsec = 1000;
    printf("nanosleep with a bad remainder pointer: %s\n", raw(syscall(SYS_nanosleep, &req, 8)));

    /* Relative sleeps on each clock that can sleep. */
    clockid_t sleepers[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_TAI};
    for (int i = 0; i < 4; i++) {
        req.tv_sec = 0;
        req.tv_nsec = 10 * 1000 * 1000;
        t0 = now(CLOCK_MONOTONIC);
        r = clock_nanosleep(sleepers[i], 0, &req, NULL);
        printf("clock %d relative 10ms: %d, long enough %d\n", sleepers[i], r,
               now(CLOCK_MONOTONIC) - t0 >= 10000000);
    }

    /* Absolute deadlines. */
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_nsec += 30 * 1000 * 1000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }
    r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL);
    printf("absolute monotonic: %d, woke after the deadline %d\n", r,
           now(CLOCK_MONOTONIC) >= deadline.tv_sec * 1000000000LL + deadline.tv_nsec);
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 0;
    deadline.tv_nsec = deadline.tv_nsec / 2;
    t0 = now(CLOCK_MONOTONIC);
    r = clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &deadline, NULL);
    printf("absolute realtime in the past: %d, returned at once %d\n", r,
           now(CLOCK_MONOTONIC) - t0 < 500000000);
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 1;
    deadline.tv_nsec = 0;
    r = clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &deadline, NULL);
    printf("absolute realtime to the next whole second: %d, reached %d\n", r,
           now(CLOCK_REALTIME) >= deadline.tv_sec * 1000000000LL);

    /* Errors, through the raw system call (which returns -errno). */
    req.tv_sec = 0;
    req.tv_nsec = 1000;
    printf("clock_nanosleep on MONOTONIC_RAW: %s\n", raw(syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC_RAW, 0, &req, NULL)));
    printf("clock_nanosleep on REALTIME_COARSE: %s\n", raw(syscall(SYS_clock_nanosleep, CLOCK_REALTIME_COARSE, 0, &req, NULL)));
    printf("clock_nanosleep on THREAD_CPUTIME_ID: %s\n", raw(syscall(SYS_clock_nanosleep, CLOCK_THREAD_CPUTIME_ID, 0, &req, NULL)));
    printf("clock_nanosleep on clock 99: %s\n", raw(syscall(SYS_clock_nanosleep, 99, 0, &req, NULL)));
    printf("clock_nanosleep from a bad pointer: %s\n", raw(syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, 8, NULL)));
    req.tv_nsec = 2000000000;
    printf("clock_nanosleep with a bad tv_nsec: %s\n", raw(syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &req, NULL)));
    req.tv_nsec = 1000;
    printf("clock_nanosleep with unknown flags: %s\n", raw(syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0x10, &req, NULL)));

    /* The process's CPU clock: an absolute deadline already passed. */
    struct timespec cpu;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
    printf("CPU clock, deadline passed: %s\n",
           raw(syscall(SYS_clock_nanosleep, CLOCK_PROCESS_CPUTIME_ID, TIMER_ABSTIME, &cpu, NULL)));
    return 0;
}
