/* Process groups and sessions across fork and execve: setpgid, getpgid,
 * getpgrp, setsid, getsid and their errors, and waiting by group. Prints
 * only comparisons, so that the output is the same whatever the pids. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void check(const char *what, int ok) { printf("%s: %s\n", what, ok ? "yes" : "NO"); }

static const char *err(int r) { return r == -1 ? strerror(errno) : "ok"; }

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "execed") == 0) {
        /* The re-executed child: tell the parent, wait for its go. */
        int fd = atoi(argv[2]);
        char c = 'x';
        write(fd, &c, 1);
        read(0, &c, 1); /* until the parent closes the other end */
        return 0;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    /* Everything below runs in a child, whose place (not a leader of
     * anything) is the same natively and under Vessel. */
    pid_t c = fork();
    if (c > 0) {
        int status;
        waitpid(c, &status, 0);
        printf("tester exited %d\n", WEXITSTATUS(status));
        return 0;
    }
    pid_t me = getpid(), parent = getppid();
    check("child in its parent's group", getpgrp() == getpgid(parent));
    check("getpgid(0) is getpgrp()", getpgid(0) == getpgrp());
    check("child in its parent's session", getsid(0) == getsid(parent));
    check("getsid(0) is getsid(getpid())", getsid(0) == getsid(me));
    errno = 0;
    printf("getpgid(unknown): %s\n", err(getpgid(99999)));
    printf("getsid(unknown): %s\n", err(getsid(99999)));
    printf("getpgid(-1): %s\n", err(getpgid(-1)));
    printf("setpgid(0, -1): %s\n", err(setpgid(0, -1)));
    printf("setpgid(parent): %s\n", err(setpgid(parent, parent)));
    printf("setpgid(unknown): %s\n", err(setpgid(99999, 0)));
    printf("setpgid into a missing group: %s\n", err(setpgid(0, 99999)));

    /* A group of our own. */
    printf("setpgid(0, 0): %s\n", err(setpgid(0, 0)));
    check("now a group leader", getpgrp() == me && getpgid(0) == me);
    printf("setsid as a group leader: %s\n", err(setsid()));
    printf("setpgid(0, 0) again: %s\n", err(setpgid(0, 0)));

    /* A grandchild starts in our group, then leads a session. */
    int go[2], ready[2];
    pipe(go);
    pipe(ready);
    pid_t g = fork();
    if (g == 0) {
        char c;
        check("grandchild inherits the group", getpgrp() == me);
        pid_t sid = setsid();
        check("setsid returns the new session id", sid == getpid());
        check("session and group ids are its pid", getsid(0) == getpid() && getpgrp() == getpid());
        printf("session leader setpgid(0, 0): %s\n", err(setpgid(0, 0)));
        printf("session leader setsid again: %s\n", err(setsid()));
        write(ready[1], "r", 1);
        read(go[0], &c, 1);
        _exit(0);
    }
    char byte;
    read(ready[0], &byte, 1);
    check("grandchild's session seen from outside", getsid(g) == g && getpgid(g) == g);
    printf("setpgid of a child in another session: %s\n", err(setpgid(g, me)));
    write(go[1], "g", 1);
    waitpid(g, NULL, 0);

    /* A child moved into a new group by its parent; waiting by group. */
    pid_t a = fork();
    if (a == 0) {
        read(go[0], &byte, 1);
        _exit(7);
    }
    printf("setpgid(child, child): %s\n", err(setpgid(a, a)));
    check("child leads its group", getpgid(a) == a);
    pid_t b = fork();
    if (b == 0) {
        read(go[0], &byte, 1);
        _exit(8);
    }
    printf("setpgid(second, first's group): %s\n", err(setpgid(b, a)));
    check("second child joined", getpgid(b) == a);
    int status;
    printf("waitpid(0) with no child in our group: %s\n", err(waitpid(0, &status, WNOHANG)));
    write(go[1], "ab", 2);
    int sum = 0;
    for (int i = 0; i < 2; i++) {
        pid_t w = waitpid(-a, &status, 0);
        if (w == a || w == b) sum += WEXITSTATUS(status);
    }
    printf("waited for group -a: statuses sum %d\n", sum);
    printf("waitpid(-a) now: %s\n", err(waitpid(-a, &status, 0)));

    /* After the child calls execve, its parent may no longer move it. */
    int told[2];
    pipe(told);
    int hold[2];
    pipe(hold);
    pid_t e = fork();
    if (e == 0) {
        char fd[16];
        snprintf(fd, sizeof fd, "%d", told[1]);
        dup2(hold[0], 0);
        close(hold[1]);
        char *args[] = {argv[0], "execed", fd, NULL};
        execv("/proc/self/exe", args);
        _exit(99);
    }
    read(told[0], &byte, 1);
    printf("setpgid after the child's execve: %s\n", err(setpgid(e, e)));
    close(hold[1]);
    waitpid(e, &status, 0);
    printf("execed child exited %d\n", WEXITSTATUS(status));
    return 3;
}
