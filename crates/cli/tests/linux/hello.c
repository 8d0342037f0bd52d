/* Prints its arguments and one environment variable, then exits 3. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    printf("hello from a static musl program\n");
    for (int i = 0; i < argc; i++)
        printf("argv[%d] = %s\n", i, argv[i]);
    const char *name = getenv("NAME");
    printf("NAME = %s\n", name ? name : "(unset)");
    return 3;
}
