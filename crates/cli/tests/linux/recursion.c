/* Unbounded recursion runs into the stack's end: SIGSEGV (status 139). */
#include <stdio.h>

static int depth(volatile char *previous) {
    volatile char frame[512];
    frame[0] = previous ? previous[0] + 1 : 0;
    return depth(frame) + frame[1];
}

int main(void) {
    printf("recursing\n");
    fflush(stdout);
    return depth(0);
}
