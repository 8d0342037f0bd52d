/* getrlimit and prlimit64: every limit reads as soft <= hard, the stack
 * and descriptor limits are sane, prlimit on the caller's own pid, and the
 * errors. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *err(long r) { return r == -1 ? strerror(errno) : "ok"; }

int main(void) {
    int ordered = 0;
    for (int r = 0; r < RLIM_NLIMITS; r++) {
        struct rlimit l;
        if (getrlimit(r, &l) == 0 && (l.rlim_cur <= l.rlim_max || l.rlim_max == RLIM_INFINITY)) ordered++;
    }
    printf("%d of %d limits read, soft <= hard\n", ordered, RLIM_NLIMITS);
    struct rlimit stack, files;
    getrlimit(RLIMIT_STACK, &stack);
    getrlimit(RLIMIT_NOFILE, &files);
    printf("stack soft limit at least 1 MiB %d\n", stack.rlim_cur >= (1 << 20));
    printf("at least 64 descriptors %d\n", files.rlim_cur >= 64);
    struct rlimit via;
    long r = syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &via);
    printf("prlimit64(0) agrees: %s %d\n", err(r), via.rlim_cur == files.rlim_cur && via.rlim_max == files.rlim_max);
    r = syscall(SYS_prlimit64, getpid(), RLIMIT_STACK, NULL, &via);
    printf("prlimit64(getpid()) agrees: %s %d\n", err(r), via.rlim_cur == stack.rlim_cur);
    pid_t c = fork();
    if (c == 0) {
        struct rlimit child;
        long cr = syscall(SYS_prlimit64, getpid(), RLIMIT_NOFILE, NULL, &child);
        _exit(cr == 0 && child.rlim_cur == files.rlim_cur ? 0 : 1);
    }
    int status;
    waitpid(c, &status, 0);
    printf("a child reads the same through its own pid %d\n", WEXITSTATUS(status) == 0);
    printf("an unknown resource: %s\n", err(syscall(SYS_prlimit64, 0, 99, NULL, &via)));
    printf("a missing process: %s\n", err(syscall(SYS_prlimit64, 99999, RLIMIT_STACK, NULL, &via)));
    printf("to a bad pointer: %s\n", err(syscall(SYS_prlimit64, 0, RLIMIT_STACK, NULL, 8)));
    printf("getrlimit to a bad pointer: %s\n", err(getrlimit(RLIMIT_STACK, (struct rlimit *)8)));
    printf("neither reading nor writing: %s\n", err(syscall(SYS_prlimit64, 0, RLIMIT_STACK, NULL, NULL)));
    return 0;
}
