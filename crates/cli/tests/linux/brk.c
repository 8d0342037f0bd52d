/* The program break (the raw brk system call; musl's sbrk refuses to
 * move it): it grows, the new memory is usable, and it shrinks. */
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    long start = syscall(SYS_brk, 0);
    long grown = syscall(SYS_brk, start + (1 << 20));
    if (grown != start + (1 << 20))
        return 1;
    for (long i = 0; i < (1 << 20); i += 4096)
        ((volatile char *)start)[i] = 1;
    printf("grew by %ld\n", grown - start);
    long shrunk = syscall(SYS_brk, start + (1 << 19));
    printf("shrank to %ld\n", shrunk - start);
    printf("below the start is refused: %d\n", syscall(SYS_brk, start - 4096) == shrunk);
    return 0;
}
