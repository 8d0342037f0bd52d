/* wait4: WNOHANG while a child runs, the status macros for exits and
 * signals, the child's rusage, ECHILD and EINVAL. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *err(int r) { return r == -1 ? strerror(errno) : "ok"; }

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int status = -1;
    printf("wait with no children: %s\n", err(wait(&status)));
    printf("WNOHANG with no children: %s\n", err(waitpid(-1, &status, WNOHANG)));

    int go[2];
    pipe(go);
    pid_t c = fork();
    if (c == 0) {
        char b;
        read(go[0], &b, 1);
        _exit(42);
    }
    status = -1;
    pid_t r = waitpid(c, &status, WNOHANG);
    printf("WNOHANG while it runs: returned %d, status untouched %d\n", r, status == -1);
    printf("bad options: %s\n", err(waitpid(c, &status, 0x1000)));
    write(go[1], "x", 1);
    struct rusage ru;
    memset(&ru, 0xff, sizeof ru);
    r = wait4(c, &status, 0, &ru);
    printf("wait4 got the child: %d\n", r == c);
    printf("exited %d, code %d, signaled %d, stopped %d\n", WIFEXITED(status), WEXITSTATUS(status),
           WIFSIGNALED(status), WIFSTOPPED(status));
    /* (ru_maxrss of children is not compared: some Linux versions report 0.) */
    printf("rusage filled: times are valid timevals %d\n",
           ru.ru_utime.tv_sec >= 0 && ru.ru_utime.tv_usec >= 0 && ru.ru_utime.tv_usec < 1000000 &&
               ru.ru_stime.tv_sec >= 0 && ru.ru_stime.tv_usec >= 0 && ru.ru_stime.tv_usec < 1000000);
    printf("reaped: %s\n", err(waitpid(c, &status, WNOHANG)));

    int sigs[] = {SIGUSR1, SIGTERM, SIGKILL, SIGHUP};
    for (int i = 0; i < 4; i++) {
        pid_t k = fork();
        if (k == 0) {
            raise(sigs[i]);
            _exit(1);
        }
        waitpid(k, &status, 0);
        printf("raise(%d): exited %d, signaled %d, termsig %d\n", sigs[i], WIFEXITED(status),
               WIFSIGNALED(status), WTERMSIG(status));
    }

    /* Several children, reaped in any order by pid -1. */
    int total = 0;
    for (int i = 1; i <= 5; i++)
        if (fork() == 0) _exit(i);
    while ((r = wait(&status)) > 0) total += WEXITSTATUS(status);
    printf("five children, codes sum %d, then %s\n", total, strerror(errno));

    printf("wait4 with a bad status pointer: ");
    pid_t z = fork();
    if (z == 0) _exit(0);
    r = wait4(z, (int *)8, 0, NULL);
    printf("%s, reaped anyway: %s\n", err(r), err(waitpid(z, &status, WNOHANG)));
    return 0;
}
