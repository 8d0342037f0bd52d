/* A dynamically linked glibc program (plain `gcc`): glibc's ld.so loads
 * libc.so.6, relocates, binds symbols lazily through the PLT and sets up
 * thread-local storage before main; then libc works as usual. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int by_value(const void *a, const void *b) {
    return *(const int *)a - *(const int *)b;
}

int main(int argc, char **argv) {
    printf("hello from a dynamically linked glibc program\n");
    for (int i = 1; i < argc; i++)
        printf("argv[%d] = %s\n", i, argv[i]);
    const char *name = getenv("NAME");
    printf("NAME = %s\n", name ? name : "(unset)");

    int numbers[] = {42, 7, 19, 3, 25};
    qsort(numbers, 5, sizeof numbers[0], by_value);
    printf("sorted: %d %d %d %d %d\n", numbers[0], numbers[1], numbers[2],
           numbers[3], numbers[4]);

    size_t total = 0;
    for (int i = 1; i <= 64; i++) {
        char *block = malloc(i * 1024);
        memset(block, i, i * 1024);
        total += block[i * 1024 - 1];
        free(block);
    }
    printf("malloc'd 64 blocks, checksum %zu, %.3f\n", total, total / 7.0);

    /* errno lives in the thread-local storage ld.so set up. */
    if (open("/nonexistent/file", O_RDONLY) < 0)
        printf("open: %s\n", strerror(errno));
    return argc == 1 ? 0 : 4;
}
