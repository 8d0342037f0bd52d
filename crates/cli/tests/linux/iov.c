/* readv and writev: gathering, scattering, zero-length entries, short
 * reads, and the errors. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

static const char *err(long r) { return r == -1 ? strerror(errno) : "ok"; }

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int p[2];
    pipe(p);
    struct iovec out[4] = {
        {"Hello, ", 7},
        {"", 0},
        {"scattered ", 10},
        {"world!", 6},
    };
    printf("writev: %ld\n", (long)writev(p[1], out, 4));

    char a[5], b[8], c[16];
    memset(c, 0, sizeof c);
    struct iovec in[3] = {{a, sizeof a}, {b, sizeof b}, {c, sizeof c}};
    long n = readv(p[0], in, 3);
    printf("readv: %ld: [%.5s] [%.8s] [%s]\n", n, a, b, c);

    write(p[1], "short", 5);
    memset(c, 0, sizeof c);
    n = readv(p[0], in, 3);
    printf("short readv: %ld, first buffer [%.5s]\n", n, a);

    printf("readv of nothing: %ld\n", (long)readv(p[0], in, 0));
    printf("writev to stdout: ");
    struct iovec line[2] = {{"two ", 4}, {"parts\n", 6}};
    writev(1, line, 2);

    struct iovec bad[1] = {{(void *)8, 4}};
    write(p[1], "data", 4);
    printf("readv into a bad buffer: %s\n", err(readv(p[0], bad, 1)));
    printf("writev from a bad buffer: %s\n", err(writev(p[1], bad, 1)));
    printf("bad iovec array: %s\n", err(readv(p[0], (struct iovec *)8, 1)));
    printf("too many entries: %s\n", err(readv(p[0], in, IOV_MAX + 1)));
    struct iovec huge[2] = {{a, LONG_MAX}, {b, LONG_MAX}};
    printf("lengths past the user range: %s\n", err(readv(p[0], huge, 2)));
    struct iovec negative[2] = {{a, 1}, {b, (size_t)-1}};
    printf("a negative length: %s\n", err(readv(p[0], negative, 2)));
    printf("readv from a closed fd: %s\n", err(readv(42, in, 1)));
    return 0;
}
