/* A null dereference ends the program with SIGSEGV (status 139). */
#include <stdio.h>

int main(void) {
    printf("about to dereference null\n");
    fflush(stdout);
    volatile int *p = 0;
    return *p;
}
