/* Pipes between processes: data and end of file, dup2 onto stdout,
 * PIPE_BUF atomicity, and SIGPIPE (status 141) for a writer without readers. */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    int fds[2];
    if (pipe(fds) != 0)
        return 1;
    pid_t child = fork();
    if (child == 0) {
        close(fds[0]);
        dup2(fds[1], 1);
        close(fds[1]);
        printf("through the pipe\n");
        fflush(stdout);
        _exit(0);
    }
    close(fds[1]);
    char buf[256];
    size_t total = 0;
    ssize_t n;
    while ((n = read(fds[0], buf + total, sizeof buf - 1 - total)) > 0)
        total += (size_t)n;
    buf[total] = 0;
    close(fds[0]);
    int status;
    waitpid(child, &status, 0);
    printf("parent read %zu bytes: %s", total, buf);

    int big[2];
    pipe(big);
    char block[4096];
    memset(block, 'z', sizeof block);
    pid_t writer = fork();
    if (writer == 0) {
        close(big[0]);
        for (int i = 0; i < 64; i++)
            write(big[1], block, sizeof block);
        _exit(0);
    }
    close(big[1]);
    size_t got = 0;
    while ((n = read(big[0], block, sizeof block)) > 0)
        got += (size_t)n;
    waitpid(writer, &status, 0);
    printf("256 KiB through a 64 KiB pipe: %zu bytes\n", got);

    int lonely[2];
    pipe(lonely);
    close(lonely[0]);
    pid_t doomed = fork();
    if (doomed == 0) {
        write(lonely[1], "x", 1);
        _exit(0);
    }
    close(lonely[1]);
    waitpid(doomed, &status, 0);
    printf("writer without readers: signaled %d by %d\n", WIFSIGNALED(status), WTERMSIG(status));
    return 0;
}
