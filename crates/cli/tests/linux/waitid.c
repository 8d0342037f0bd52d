/* waitid: P_PID, P_ALL and P_PGID with WEXITED, WNOHANG and WNOWAIT, and
 * the siginfo_t fields Linux fills. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *err(int r) { return r == -1 ? strerror(errno) : "ok"; }

static void show(const char *what, int r, siginfo_t *si, pid_t expected) {
    printf("%s: %s, signo %d, code %d, status %d, pid matches %d\n", what, err(r), si->si_signo,
           si->si_code, si->si_status, si->si_pid == expected);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    siginfo_t si;
    memset(&si, 0x55, sizeof si);
    printf("no children: %s\n", err(waitid(P_ALL, 0, &si, WEXITED)));
    printf("  and the fields were zeroed: %d\n", si.si_signo == 0 && si.si_code == 0 && si.si_pid == 0 && si.si_status == 0);
    printf("no WEXITED: %s\n", err(waitid(P_ALL, 0, &si, WNOHANG)));
    printf("bad option: %s\n", err(waitid(P_ALL, 0, &si, WEXITED | 0x100)));
    printf("bad idtype: %s\n", err(waitid((idtype_t)7, 0, &si, WEXITED)));
    printf("P_PID 0: %s\n", err(waitid(P_PID, 0, &si, WEXITED)));

    int go[2];
    pipe(go);
    pid_t c = fork();
    if (c == 0) {
        char b;
        read(go[0], &b, 1);
        _exit(5);
    }
    memset(&si, 0x55, sizeof si);
    int r = waitid(P_PID, c, &si, WEXITED | WNOHANG);
    show("WNOHANG while it runs (zeros)", r, &si, 0);
    printf("the rest untouched: %d\n", ((unsigned char *)&si)[12] == 0x55 && ((unsigned char *)&si)[40] == 0x55);
    write(go[1], "x", 1);
    memset(&si, 0, sizeof si);
    r = waitid(P_PID, c, &si, WEXITED | WNOWAIT);
    show("WNOWAIT", r, &si, c);
    memset(&si, 0, sizeof si);
    r = waitid(P_ALL, 0, &si, WEXITED);
    show("then P_ALL reaps it", r, &si, c);
    printf("gone: %s\n", err(waitid(P_PID, c, &si, WEXITED | WNOHANG)));

    pid_t k = fork();
    if (k == 0) {
        raise(SIGTERM);
        _exit(1);
    }
    memset(&si, 0, sizeof si);
    r = waitid(P_PID, k, &si, WEXITED);
    show("killed by SIGTERM", r, &si, k);

    /* Waiting by process group: the child leads a group of its own. */
    pid_t g = fork();
    if (g == 0) {
        setpgid(0, 0);
        char b;
        read(go[0], &b, 1);
        _exit(9);
    }
    setpgid(g, g);
    printf("P_PGID of our own group: %s\n", err(waitid(P_PGID, 0, &si, WEXITED | WNOHANG)));
    write(go[1], "y", 1);
    memset(&si, 0, sizeof si);
    r = waitid(P_PGID, g, &si, WEXITED);
    show("P_PGID of the child's group", r, &si, g);

    /* Null infop, and the raw system call's rusage argument. */
    pid_t n = fork();
    if (n == 0) _exit(0);
    printf("null infop: %s\n", err(waitid(P_PID, n, NULL, WEXITED)));
    printf("bad infop: %s\n", err(waitid(P_ALL, 0, (siginfo_t *)8, WEXITED)));
    return 0;
}
