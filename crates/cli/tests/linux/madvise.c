/* madvise: MADV_DONTNEED zero-fills private anonymous pages (also ones
 * mapped PROT_NONE at the time), paging advice is accepted, errors. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#define PAGE 4096

static const char *err(int r) { return r == -1 ? strerror(errno) : "ok"; }

static int all(const char *p, int len, char c) {
    for (int i = 0; i < len; i++)
        if (p[i] != c) return 0;
    return 1;
}

int main(void) {
    char *p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(p, 'm', 4 * PAGE);
    printf("DONTNEED on pages 1-2: %s\n", err(madvise(p + PAGE, 2 * PAGE, MADV_DONTNEED)));
    printf("they read zero %d, pages 0 and 3 kept %d %d\n", all(p + PAGE, 2 * PAGE, 0), all(p, PAGE, 'm'),
           all(p + 3 * PAGE, PAGE, 'm'));
    printf("still writable %d\n", (p[PAGE] = 'w') == 'w');
    int r = madvise(p, 10, MADV_DONTNEED);
    printf("DONTNEED on a partial page length: %s, whole page zero %d\n", err(r), all(p, PAGE, 0));

    /* A reserved (PROT_NONE) range, advised, then opened up. */
    memset(p, 'n', 4 * PAGE);
    mprotect(p, 4 * PAGE, PROT_NONE);
    printf("DONTNEED on PROT_NONE pages: %s\n", err(madvise(p, 4 * PAGE, MADV_DONTNEED)));
    mprotect(p, 4 * PAGE, PROT_READ | PROT_WRITE);
    printf("after mprotect they read zero %d\n", all(p, 4 * PAGE, 0));

    /* Advice that only tunes paging changes nothing. */
    memset(p, 'k', 4 * PAGE);
    int advice[] = {MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MADV_DONTFORK, MADV_DOFORK,
                    MADV_DONTDUMP, MADV_DODUMP, MADV_COLD, MADV_PAGEOUT};
    int ok = 0;
    for (unsigned i = 0; i < sizeof advice / sizeof advice[0]; i++) ok += madvise(p, 4 * PAGE, advice[i]) == 0;
    printf("%d of %zu paging advice accepted, contents kept %d\n", ok, sizeof advice / sizeof advice[0],
           all(p, 4 * PAGE, 'k'));
    r = madvise(p, 4 * PAGE, MADV_FREE);
    printf("MADV_FREE: %s\n", err(r));
    printf("MADV_REMOVE on anonymous memory: %s\n", err(madvise(p, PAGE, MADV_REMOVE)));

    printf("unaligned address: %s\n", err(madvise(p + 1, PAGE, MADV_DONTNEED)));
    printf("unknown advice: %s\n", err(madvise(p, PAGE, 77)));
    printf("length 0: %s\n", err(madvise(p, 0, MADV_DONTNEED)));
    printf("wrapping length: %s\n", err(madvise(p, -1UL, MADV_NORMAL)));
    munmap(p + 2 * PAGE, PAGE);
    p[PAGE] = 'x';
    p[3 * PAGE] = 'y';
    printf("range with a hole: %s\n", err(madvise(p, 4 * PAGE, MADV_DONTNEED)));
    printf("  the mapped pages were still advised: %d %d\n", p[PAGE] == 0, p[3 * PAGE] == 0);
    printf("unmapped range: %s\n", err(madvise(p + 2 * PAGE, PAGE, MADV_WILLNEED)));
    return 0;
}
