/* FIONREAD: bytes a pipe holds (on either end), bytes of a regular file
 * after the offset, ENOTTY for directories and /dev/null. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static void show(const char *what, int fd) {
    int n = -1;
    int rc = ioctl(fd, FIONREAD, &n);
    printf("%s: %d %d %s\n", what, rc, n, rc < 0 ? strerror(errno) : "");
}

int main(void) {
    int pipefd[2];
    pipe(pipefd);
    show("empty pipe", pipefd[0]);
    write(pipefd[1], "hello", 5);
    show("pipe read end", pipefd[0]);
    show("pipe write end", pipefd[1]);
    char buf[64];
    read(pipefd[0], buf, 2);
    show("after reading 2", pipefd[0]);

    int fd = open("/tmp/fionread.txt", O_CREAT | O_TRUNC | O_RDWR, 0600);
    char data[100];
    memset(data, 'x', sizeof data);
    write(fd, data, sizeof data);
    lseek(fd, 30, SEEK_SET);
    show("file at 30 of 100", fd);
    lseek(fd, 200, SEEK_SET);
    show("file past its end", fd);
    close(fd);
    unlink("/tmp/fionread.txt");

    show("directory", open("/tmp", O_RDONLY | O_DIRECTORY));
    show("/dev/null", open("/dev/null", O_RDONLY));
    return 0;
}
