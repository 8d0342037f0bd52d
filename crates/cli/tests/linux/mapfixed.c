/* mmap placement: MAP_FIXED replaces what was there, MAP_FIXED_NOREPLACE
 * refuses with EEXIST, a free hint is honoured, and the argument errors. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define PAGE 4096

static const char *err(void *p) { return p == MAP_FAILED ? strerror(errno) : "ok"; }

int main(void) {
    /* A region to play in: 8 pages, then given back to find a free hole. */
    char *base = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(base, 'a', 8 * PAGE);

    char *p = mmap(base + 2 * PAGE, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    printf("MAP_FIXED over it: %s, at the address %d\n", err(p), p == base + 2 * PAGE);
    printf("replaced pages read zero %d, neighbours kept %d %d\n", p[0] == 0 && p[2 * PAGE - 1] == 0,
           base[2 * PAGE - 1] == 'a', base[4 * PAGE] == 'a');

    p = mmap(base + 3 * PAGE, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    printf("MAP_FIXED_NOREPLACE over a mapping: %s\n", err(p));
    printf("the old page is still writable: %d\n", (base[3 * PAGE] = 'z') == 'z');

    munmap(base + 5 * PAGE, 2 * PAGE);
    p = mmap(base + 5 * PAGE, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    printf("MAP_FIXED_NOREPLACE into a hole: %s, at the address %d, zero %d\n", err(p), p == base + 5 * PAGE,
           p != MAP_FAILED && p[0] == 0);
    munmap(base + 5 * PAGE, PAGE);
    p = mmap(base + 4 * PAGE, 2 * PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    printf("MAP_FIXED_NOREPLACE half over a mapping: %s\n", err(p));

    /* A hint is used when that range is free. */
    munmap(base, 8 * PAGE);
    p = mmap(base + PAGE, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("free hint honoured %d\n", p == base + PAGE);
    char *q = mmap(base + PAGE, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("hint in use: placed elsewhere %d, the old mapping intact %d\n",
           q != MAP_FAILED && (q < p || q >= p + 3 * PAGE), (p[0] = 1) == 1);
    char *r = mmap(base + PAGE + 100, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("unaligned hint accepted: %s\n", err(r));

    /* Errors. */
    printf("unaligned MAP_FIXED: %s\n", err(mmap(base + 1, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)));
    printf("length 0: %s\n", err(mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)));
    printf("neither private nor shared: %s\n", err(mmap(NULL, PAGE, PROT_READ, MAP_ANONYMOUS, -1, 0)));
    printf("unaligned offset: %s\n", err(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 5)));
    printf("no such descriptor: %s\n", err(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, 99, 0)));
    printf("a pipe: %s\n", ({
        int fds[2];
        pipe(fds);
        err(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fds[0], 0));
    }));
    printf("huge length: %s\n", err(mmap(NULL, 1ULL << 62, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)));
    printf("MAP_FIXED past the user range: %s\n",
           err(mmap((void *)0x7ffffffff000ULL, 2 * PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)));
    /* Anonymous mappings ignore the descriptor. */
    printf("anonymous with fd 42: %s\n", err(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, 42, 0)));
    /* Private /dev/zero is anonymous memory. */
    int zero = open("/dev/zero", O_RDWR);
    char *z = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, zero, 0);
    printf("private /dev/zero: %s, zero %d, writable %d\n", err(z), z != MAP_FAILED && z[PAGE] == 0,
           z != MAP_FAILED && (z[0] = 5) == 5);
    return 0;
}
