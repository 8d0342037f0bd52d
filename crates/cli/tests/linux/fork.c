/* fork, wait and exit statuses; copy-on-write-style isolation (the child's
 * writes do not reach the parent); execve of the program itself. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int shared = 1;

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "exec-child") == 0) {
        printf("exec'd with argument %s\n", argv[2]);
        return 5;
    }
    fflush(stdout);
    pid_t child = fork();
    if (child < 0)
        return 100;
    if (child == 0) {
        shared = 2;
        printf("child sees %d\n", shared);
        fflush(stdout);
        _exit(42);
    }
    int status = 0;
    pid_t reaped = waitpid(child, &status, 0);
    printf("parent sees %d; reaped the child: %d; exited: %d with %d\n", shared,
           reaped == child, WIFEXITED(status), WEXITSTATUS(status));
    for (int i = 0; i < 3; i++) {
        pid_t p = fork();
        if (p == 0)
            _exit(i + 10);
    }
    int sum = 0;
    for (int i = 0; i < 3; i++) {
        wait(&status);
        sum += WEXITSTATUS(status);
    }
    printf("three children, status sum %d; no more: %d\n", sum, wait(&status) == -1);
    fflush(stdout);
    pid_t execer = fork();
    if (execer == 0) {
        execl(argv[0], argv[0], "exec-child", "xyz", (char *)0);
        _exit(99);
    }
    waitpid(execer, &status, 0);
    printf("exec'd child exited with %d\n", WEXITSTATUS(status));
    pid_t killed = fork();
    if (killed == 0) {
        volatile int *null = 0;
        return *null;
    }
    waitpid(killed, &status, 0);
    printf("crashed child: signaled %d by signal %d\n", WIFSIGNALED(status), WTERMSIG(status));
    return 0;
}
