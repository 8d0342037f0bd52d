/* Anonymous mappings: fresh pages read as zero, keep what is written, and
 * munmap/mprotect succeed. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

int main(void) {
    size_t len = 4 << 20;
    unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return 1;
    int zero = 1;
    for (size_t i = 0; i < len; i += 4096)
        zero &= p[i] == 0;
    for (size_t i = 0; i < len; i += 4096)
        p[i] = (unsigned char)(i / 4096);
    unsigned sum = 0;
    for (size_t i = 0; i < len; i += 4096)
        sum += p[i];
    printf("fresh pages zero: %d, sum %u\n", zero, sum);
    printf("mprotect: %d\n", mprotect(p, 4096, PROT_READ));
    printf("munmap: %d\n", munmap(p, len));
    return 0;
}
