/* Many short-lived processes: fork, exit, wait, over and over. The memory
 * they used must all come back (sysinfo's freeram), and munmap must return
 * what it unmaps. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <unistd.h>

static long freeram(void) {
    struct sysinfo info;
    /* The last child's kernel task may still be on its way out after the
     * wait (its stack is freed once it has switched away): let it finish,
     * or a transient 128 KiB reads as a leak or a gain. */
    usleep(2000);
    sysinfo(&info);
    return (long)(info.freeram * info.mem_unit);
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 200;
    /* Warm up: the kernel's own structures reach their steady size. */
    for (int i = 0; i < 5; i++) {
        if (fork() == 0)
            _exit(0);
        wait(NULL);
    }
    long before = freeram();
    for (int i = 0; i < rounds; i++) {
        pid_t child = fork();
        if (child == 0)
            _exit(i & 0x7f);
        int status;
        if (waitpid(child, &status, 0) != child || WEXITSTATUS(status) != (i & 0x7f))
            return 1;
    }
    long after = freeram();
    printf("%d fork+exit+wait rounds; memory lost: %ld KiB\n", rounds, (before - after) / 1024);
    size_t len = 8 << 20;
    char *block = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (size_t i = 0; i < len; i += 4096)
        block[i] = 1;
    long touched = freeram();
    munmap(block, len);
    /* The page tables it emptied may come back too: up to 5 level-1 tables
     * (4 KiB each) for 8 MiB, and a few above them. */
    long returned = (freeram() - touched) / 1024;
    printf("munmap returned %s of 8192 KiB\n", returned >= 8192 && returned <= 8192 + 32 ? "all" : "not all");
    return 0;
}
