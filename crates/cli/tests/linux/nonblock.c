/* pipe2 with O_NONBLOCK and O_CLOEXEC: EAGAIN on an empty pipe and on a
 * full one, partial writes, the flags as fcntl reports them, EOF. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *err(long r) { return r == -1 ? strerror(errno) : "ok"; }

int main(void) {
    int p[2];
    printf("pipe2(O_NONBLOCK | O_CLOEXEC): %s\n", err(pipe2(p, O_NONBLOCK | O_CLOEXEC)));
    printf("O_NONBLOCK in F_GETFL: %d %d\n", (fcntl(p[0], F_GETFL) & O_NONBLOCK) != 0, (fcntl(p[1], F_GETFL) & O_NONBLOCK) != 0);
    printf("close-on-exec: %d %d\n", fcntl(p[0], F_GETFD), fcntl(p[1], F_GETFD));
    char buf[4096];
    printf("read of an empty pipe: %s\n", err(read(p[0], buf, sizeof buf)));

    memset(buf, 'z', sizeof buf);
    long total = 0, n;
    while ((n = write(p[1], buf, sizeof buf)) > 0) total += n;
    printf("filled with %ld bytes, then: %s\n", total, err(n));
    printf("even one byte: %s\n", err(write(p[1], buf, 1)));
    /* Reading a page's worth makes room for a page's worth. */
    n = read(p[0], buf, sizeof buf);
    printf("read %ld\n", n);
    printf("write of that much: %ld\n", (long)write(p[1], buf, sizeof buf));
    printf("full again: %s\n", err(write(p[1], buf, 1)));

    long drained = 0;
    while ((n = read(p[0], buf, sizeof buf)) > 0) drained += n;
    printf("drained %ld, then %s\n", drained, err(n));
    close(p[1]);
    printf("read after the writer closed: %ld\n", (long)read(p[0], buf, sizeof buf));

    int q[2];
    printf("pipe2 with an unknown flag: %s\n", err(pipe2(q, O_APPEND)));
    printf("pipe2 to a bad pointer: %s\n", err(syscall(SYS_pipe2, 8, 0)));
    printf("plain pipe is blocking: %d\n", pipe(q) == 0 && (fcntl(q[0], F_GETFL) & O_NONBLOCK) == 0);
    return 0;
}
