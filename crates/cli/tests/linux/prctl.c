/* prctl: the name round trip (truncated to 15 bytes), the parent-death
 * signal (kept, and cleared in a child), dumpable, and unknown options. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *err(int r) { return r == -1 ? strerror(errno) : "ok"; }

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    char name[32];
    memset(name, 'x', sizeof name);
    printf("set name: %s\n", err(prctl(PR_SET_NAME, "vessel-test")));
    int r = prctl(PR_GET_NAME, name);
    printf("get name: %s, \"%s\"\n", err(r), name);
    printf("set a long name: %s\n", err(prctl(PR_SET_NAME, "a-name-longer-than-fifteen-bytes")));
    memset(name, 'x', sizeof name);
    prctl(PR_GET_NAME, name);
    printf("truncated to \"%s\" (%zu bytes), byte 16 untouched %d\n", name, strlen(name), name[16] == 'x');
    prctl(PR_SET_NAME, "ab");
    memset(name, 'x', sizeof name);
    prctl(PR_GET_NAME, name);
    printf("short name NUL padded %d\n", memcmp(name, "ab\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16) == 0);
    printf("set name from a bad pointer: %s\n", err(prctl(PR_SET_NAME, (char *)8)));
    printf("get name to a bad pointer: %s\n", err(prctl(PR_GET_NAME, (char *)8)));

    int sig = -1;
    r = prctl(PR_GET_PDEATHSIG, &sig);
    printf("pdeathsig initially: %s, %d\n", err(r), sig);
    printf("set pdeathsig SIGUSR1: %s\n", err(prctl(PR_SET_PDEATHSIG, SIGUSR1)));
    prctl(PR_GET_PDEATHSIG, &sig);
    printf("pdeathsig now %d\n", sig);
    printf("set pdeathsig 65: %s\n", err(prctl(PR_SET_PDEATHSIG, 65)));
    printf("get pdeathsig to a bad pointer: %s\n", err(prctl(PR_GET_PDEATHSIG, (int *)8)));

    printf("dumpable: %d\n", prctl(PR_GET_DUMPABLE));
    r = prctl(PR_SET_DUMPABLE, 0);
    printf("set dumpable 0: %s, now %d\n", err(r), prctl(PR_GET_DUMPABLE));
    printf("set dumpable 2: %s\n", err(prctl(PR_SET_DUMPABLE, 2)));
    r = prctl(PR_SET_DUMPABLE, 1);
    printf("set dumpable 1: %s, now %d\n", err(r), prctl(PR_GET_DUMPABLE));
    prctl(PR_SET_DUMPABLE, 0);

    pid_t c = fork();
    if (c == 0) {
        int s = -1;
        prctl(PR_GET_PDEATHSIG, &s);
        char n[16];
        prctl(PR_GET_NAME, n);
        printf("child: pdeathsig %d, name \"%s\", dumpable %d\n", s, n, prctl(PR_GET_DUMPABLE));
        _exit(0);
    }
    waitpid(c, NULL, 0);
    printf("unknown option: %s\n", err(prctl(0x7fff0000, 0, 0, 0, 0)));
    return 0;
}
