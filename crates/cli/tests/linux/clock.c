/* The clocks: monotonic never goes back, nanosleep sleeps at least as long
 * as asked, and the wall clock agrees with time(). */
#include <stdio.h>
#include <time.h>

static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

int main(void) {
    struct timespec a, b, wall;
    clock_gettime(CLOCK_MONOTONIC, &a);
    struct timespec nap = {0, 20 * 1000 * 1000};
    nanosleep(&nap, NULL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    clock_gettime(CLOCK_REALTIME, &wall);
    long long slept = ns(b) - ns(a);
    printf("slept at least 20 ms: %d\n", slept >= 20 * 1000 * 1000);
    long long skew = (long long)time(NULL) - wall.tv_sec;
    printf("time() agrees with CLOCK_REALTIME: %d\n", skew >= 0 && skew <= 1);
    printf("after 2020: %d\n", wall.tv_sec > 1577836800);
    return 0;
}
