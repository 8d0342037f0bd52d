/* Clocks agree with each other: clock_getres for every clock, the
 * gettimeofday and time system calls against CLOCK_REALTIME, the monotonic
 * family, and errors. Prints comparisons only. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *err(long r) { return r == -1 ? strerror(errno) : "ok"; }

static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

int main(void) {
    static const struct { clockid_t id; const char *name; } clocks[] = {
        {CLOCK_REALTIME, "REALTIME"},
        {CLOCK_MONOTONIC, "MONOTONIC"},
        {CLOCK_PROCESS_CPUTIME_ID, "PROCESS_CPUTIME_ID"},
        {CLOCK_THREAD_CPUTIME_ID, "THREAD_CPUTIME_ID"},
        {CLOCK_MONOTONIC_RAW, "MONOTONIC_RAW"},
        {CLOCK_REALTIME_COARSE, "REALTIME_COARSE"},
        {CLOCK_MONOTONIC_COARSE, "MONOTONIC_COARSE"},
        {CLOCK_BOOTTIME, "BOOTTIME"},
        {CLOCK_TAI, "TAI"},
    };
    for (unsigned i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
        struct timespec res = {-1, -1}, now = {-1, -1};
        long r = syscall(SYS_clock_getres, clocks[i].id, &res);
        long g = syscall(SYS_clock_gettime, clocks[i].id, &now);
        printf("%s: getres %s, resolution in (0, 10ms] %d, gettime %s, valid %d\n", clocks[i].name,
               err(r), res.tv_sec == 0 && res.tv_nsec > 0 && res.tv_nsec <= 10000000, err(g),
               now.tv_sec >= 0 && now.tv_nsec >= 0 && now.tv_nsec < 1000000000);
    }
    printf("getres with a null pointer: %s\n", err(syscall(SYS_clock_getres, CLOCK_MONOTONIC, NULL)));
    printf("getres of clock 99: %s\n", err(syscall(SYS_clock_getres, 99, NULL)));
    printf("gettime of clock 99: %s\n", err(syscall(SYS_clock_gettime, 99, NULL)));
    printf("gettime to a bad pointer: %s\n", err(syscall(SYS_clock_gettime, CLOCK_REALTIME, 8)));
    printf("getres to a bad pointer: %s\n", err(syscall(SYS_clock_getres, CLOCK_REALTIME, 8)));
    printf("coarse resolution no finer: %d\n", ({
        struct timespec a, b;
        clock_getres(CLOCK_MONOTONIC, &a);
        clock_getres(CLOCK_MONOTONIC_COARSE, &b);
        ns(b) >= ns(a);
    }));

    /* The wall clock three ways, in order. */
    struct timespec before, after;
    struct timeval tv;
    struct timezone tz = {123, 456};
    clock_gettime(CLOCK_REALTIME, &before);
    long r = syscall(SYS_gettimeofday, &tv, &tz);
    long t = syscall(SYS_time, NULL);
    clock_gettime(CLOCK_REALTIME, &after);
    long long tv_ns = tv.tv_sec * 1000000000LL + tv.tv_usec * 1000LL;
    printf("gettimeofday %s, usec valid %d, between the realtime readings %d\n", err(r),
           tv.tv_usec >= 0 && tv.tv_usec < 1000000, tv_ns >= ns(before) / 1000 * 1000 && tv_ns <= ns(after));
    /* Linux answers time() from the coarse clock, which may lag up to a
       tick behind: just past a second boundary it still reads the last. */
    printf("time() between them %d\n", t >= before.tv_sec - 1 && t <= after.tv_sec);
    printf("timezone filled %d\n", tz.tz_minuteswest != 123 && tz.tz_dsttime != 456);
    printf("gettimeofday(NULL, NULL): %s\n", err(syscall(SYS_gettimeofday, NULL, NULL)));
    printf("gettimeofday to a bad pointer: %s\n", err(syscall(SYS_gettimeofday, 8, NULL)));
    printf("gettimeofday with a bad timezone: %s\n", err(syscall(SYS_gettimeofday, &tv, 8)));
    time_t tl = 0;
    long t2 = syscall(SYS_time, &tl);
    printf("time(&t) stores what it returns %d\n", tl == t2);
    printf("time to a bad pointer: %s\n", err(syscall(SYS_time, 8)));
    printf("the wall clock is past 2020: %d\n", before.tv_sec > 1577836800);

    /* The monotonic family moves forward together. */
    struct timespec m1, raw, boot, coarse, m2;
    clock_gettime(CLOCK_MONOTONIC, &m1);
    clock_gettime(CLOCK_MONOTONIC_RAW, &raw);
    clock_gettime(CLOCK_BOOTTIME, &boot);
    clock_gettime(CLOCK_MONOTONIC_COARSE, &coarse);
    clock_gettime(CLOCK_MONOTONIC, &m2);
    printf("monotonic never goes back %d\n", ns(m2) >= ns(m1));
    printf("boottime is at least monotonic %d\n", ns(boot) >= ns(m1));
    printf("coarse at most 20ms behind %d\n", ns(coarse) <= ns(m2) && ns(m2) - ns(coarse) < 20000000);
    printf("raw is positive %d\n", ns(raw) > 0);
    struct timespec tai, rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    clock_gettime(CLOCK_TAI, &tai);
    printf("TAI within 40s of realtime %d\n", tai.tv_sec - rt.tv_sec >= 0 && tai.tv_sec - rt.tv_sec <= 40);
    return 0;
}
