/* dup, dup2, dup3 and fcntl: descriptor numbers, the close-on-exec flag,
 * status flags, and the errors. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *err(int r) { return r == -1 ? strerror(errno) : "ok"; }

int main(void) {
    int p[2];
    pipe(p); /* lowest free descriptors: 3 and 4 */
    printf("pipe gave %d %d\n", p[0], p[1]);
    int d = dup(p[1]);
    printf("dup gives the lowest free: %d\n", d);
    printf("dup2 to 10: %d\n", dup2(p[1], 10));
    printf("dup2 to itself: %d\n", dup2(p[1], p[1]));
    printf("dup2 of a closed fd to itself: %s\n", err(dup2(20, 20)));
    printf("dup2 from a closed fd: %s\n", err(dup2(20, 21)));
    printf("dup2 to a huge fd: %s\n", err(dup2(p[1], 1 << 20)));
    printf("dup3 to itself: %s\n", err(dup3(p[1], p[1], 0)));
    /* (musl's dup3 falls back to dup2 for flags the kernel refuses.) */
    printf("dup3 with bad flags: %s\n", err(syscall(SYS_dup3, p[1], 11, 1)));
    int r = dup3(p[1], 11, O_CLOEXEC);
    printf("dup3 with O_CLOEXEC: %d, flag %d\n", r, fcntl(11, F_GETFD));
    r = dup2(p[1], 11);
    printf("dup2 over it clears the flag: %d, flag %d\n", r, fcntl(11, F_GETFD));
    printf("dup keeps no close-on-exec: %d\n", fcntl(d, F_GETFD));

    printf("F_DUPFD from 7: %d\n", fcntl(p[0], F_DUPFD, 7));
    printf("F_DUPFD from 7 again: %d\n", fcntl(p[0], F_DUPFD, 7));
    int c = fcntl(p[0], F_DUPFD_CLOEXEC, 0);
    printf("F_DUPFD_CLOEXEC: %d, flag %d\n", c, fcntl(c, F_GETFD));
    r = fcntl(c, F_SETFD, 0);
    printf("F_SETFD: %d, now %d\n", r, fcntl(c, F_GETFD));
    fcntl(c, F_SETFD, FD_CLOEXEC);
    printf("F_SETFD again: %d\n", fcntl(c, F_GETFD));
    printf("F_DUPFD with a negative minimum: %s\n", err(fcntl(p[0], F_DUPFD, -1)));
    printf("F_DUPFD past the descriptor limit: %s\n", err(fcntl(p[0], F_DUPFD, 1 << 30)));
    printf("F_GETFD of a closed fd: %s\n", err(fcntl(30, F_GETFD)));
    printf("read end access mode O_RDONLY %d, write end O_WRONLY %d\n", (fcntl(p[0], F_GETFL) & O_ACCMODE) == O_RDONLY,
           (fcntl(p[1], F_GETFL) & O_ACCMODE) == O_WRONLY);
    printf("unknown command: %s\n", err(fcntl(p[0], 9999)));

    /* The duplicates share the pipe: what one writes the other end reads. */
    write(10, "via 10 ", 7);
    write(d, "via dup", 7);
    char buf[32] = {0};
    int n = read(p[0], buf, sizeof buf - 1);
    printf("read %d: %s\n", n, buf);
    close(p[1]);
    close(d);
    close(10);
    close(11);
    printf("closing twice: %s\n", err(close(11)));
    printf("close of a negative fd: %s\n", err(close(-1)));
    return 0;
}
