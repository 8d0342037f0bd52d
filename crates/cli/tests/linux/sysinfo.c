/* sysinfo: the fields make sense together (no values printed). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(void) {
    struct sysinfo s;
    memset(&s, 0xff, sizeof s);
    printf("sysinfo: %d\n", sysinfo(&s));
    printf("uptime non-negative %d\n", s.uptime >= 0);
    printf("mem_unit at least 1 %d\n", s.mem_unit >= 1);
    printf("total RAM at least 16 MiB %d\n", (unsigned long long)s.totalram * s.mem_unit >= 16ULL << 20);
    printf("free RAM within total %d\n", s.freeram <= s.totalram);
    printf("at least one process %d\n", s.procs >= 1);
    struct timespec boot;
    clock_gettime(CLOCK_BOOTTIME, &boot);
    printf("uptime agrees with CLOCK_BOOTTIME %d\n", s.uptime <= boot.tv_sec + 1 && s.uptime + 1 >= boot.tv_sec);

    /* A child is one more process while it lives. */
    int go[2];
    pipe(go);
    pid_t c = fork();
    if (c == 0) {
        char b;
        read(go[0], &b, 1);
        _exit(0);
    }
    struct sysinfo with;
    sysinfo(&with);
    printf("procs counts the child %d\n", with.procs >= 2);
    write(go[1], "x", 1);
    waitpid(c, NULL, 0);

    long r = syscall(SYS_sysinfo, 8);
    printf("bad pointer: %ld %s\n", r, strerror(errno));
    return 0;
}
