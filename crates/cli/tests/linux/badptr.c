/* A bad pointer passed to a system call gets EFAULT, not a crash; an
 * unknown system call gets ENOSYS. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

int main(void) {
    long r = syscall(SYS_write, 1, (void *)16, 10);
    printf("write(bad pointer) = %ld, errno %s\n", r, strerror(errno));
    r = syscall(1000);
    printf("syscall(1000) = %ld, errno %s\n", r, strerror(errno));
    return 0;
}
