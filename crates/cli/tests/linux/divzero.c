/* Integer division by zero ends the program with SIGFPE (status 136). */
#include <stdio.h>

int main(int argc, char **argv) {
    (void)argv;
    volatile int zero = argc - 1;
    printf("dividing by zero\n");
    fflush(stdout);
    return 10 / zero;
}
