/* Heap use through malloc (brk and mmap), and formatted output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
    size_t total = 0;
    for (int i = 1; i <= 64; i++) {
        size_t size = (size_t)i * 4096;
        unsigned char *block = malloc(size);
        if (!block)
            return 1;
        memset(block, i, size);
        total += block[size - 1];
        free(block);
    }
    char *big = malloc(8 << 20);
    if (!big)
        return 2;
    big[(8 << 20) - 1] = 7;
    printf("sum %zu, big %d\n", total, big[(8 << 20) - 1]);
    return 0;
}
