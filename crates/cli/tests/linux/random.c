/* getrandom: fills what was asked, differs call to call, the flags Linux
 * accepts and refuses, EFAULT. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *err(long r) { return r == -1 ? strerror(errno) : "ok"; }

int main(void) {
    unsigned char a[64], b[64];
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    printf("getrandom 64: %ld\n", (long)getrandom(a, sizeof a, 0));
    long n = getrandom(b, sizeof b, 0);
    printf("again: %ld, differs %d\n", n, memcmp(a, b, sizeof a) != 0);
    int zeros = 0;
    for (int i = 0; i < 64; i++) zeros += a[i] == 0;
    printf("not mostly zeros %d\n", zeros < 8);
    printf("GRND_NONBLOCK: %ld\n", (long)getrandom(a, 16, GRND_NONBLOCK));
    printf("GRND_RANDOM: %ld\n", (long)getrandom(a, 16, GRND_RANDOM));
    printf("GRND_INSECURE: %ld\n", (long)getrandom(a, 16, 4));
    printf("GRND_INSECURE | GRND_RANDOM: %s\n", err(getrandom(a, 16, 4 | GRND_RANDOM)));
    printf("unknown flag: %s\n", err(getrandom(a, 16, 8)));
    printf("length 0: %ld\n", (long)getrandom(a, 0, 0));
    printf("bad pointer: %s\n", err(syscall(SYS_getrandom, 8, 16, 0)));
    static unsigned char big[1 << 16];
    n = getrandom(big, sizeof big, 0);
    int seen[256] = {0}, distinct = 0;
    for (long i = 0; i < n; i++) distinct += !seen[big[i]]++;
    printf("64 KiB: %ld bytes, all 256 values seen %d\n", n, distinct == 256);
    return 0;
}
