/* mremap: shrink in place, grow in place into free pages, move (contents
 * kept) when the pages after are taken, MREMAP_FIXED, MREMAP_DONTUNMAP,
 * and the errors. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

#define PAGE 4096

static const char *err(void *p) { return p == MAP_FAILED ? strerror(errno) : "ok"; }

static void fill(char *p, int pages) {
    for (int i = 0; i < pages * PAGE; i++) p[i] = (char)(i * 7 + i / PAGE);
}

static int same(const char *p, int pages) {
    for (int i = 0; i < pages * PAGE; i++)
        if (p[i] != (char)(i * 7 + i / PAGE)) return 0;
    return 1;
}

static int zero(const char *p, int len) {
    for (int i = 0; i < len; i++)
        if (p[i]) return 0;
    return 1;
}

int main(void) {
    char *a = mmap(NULL, 6 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    fill(a, 6);

    char *r = mremap(a, 6 * PAGE, 2 * PAGE, 0);
    printf("shrink: %s, in place %d, contents kept %d\n", err(r), r == a, same(a, 2));
    char *probe = mmap(a + 2 * PAGE, 4 * PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    printf("the tail was unmapped: %s\n", err(probe));
    munmap(probe, 4 * PAGE);

    r = mremap(a, 2 * PAGE, 5 * PAGE, 0);
    printf("grow into free pages: %s, in place %d, contents kept %d, new pages zero %d\n", err(r), r == a,
           same(a, 2), zero(a + 2 * PAGE, 3 * PAGE));
    fill(a, 5);

    /* Block the pages after it, then grow: only with MREMAP_MAYMOVE. */
    char *block = mmap(a + 5 * PAGE, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    printf("blocker placed: %s\n", err(block));
    r = mremap(a, 5 * PAGE, 8 * PAGE, 0);
    printf("grow without MAYMOVE: %s\n", err(r));
    r = mremap(a, 5 * PAGE, 8 * PAGE, MREMAP_MAYMOVE);
    int kept = same(r, 5), zeroed = zero(r + 5 * PAGE, 3 * PAGE);
    r[8 * PAGE - 1] = 3;
    printf("grow with MAYMOVE: %s, moved %d, contents kept %d, new pages zero %d\n", err(r), r != a, kept, zeroed);
    probe = mmap(a, 5 * PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    printf("the old range was unmapped: %s\n", err(probe));
    munmap(probe, 5 * PAGE);

    /* MREMAP_FIXED: to an exact address, replacing what was there. */
    char *target = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(target, 'T', 4 * PAGE);
    fill(r, 3);
    char *f = mremap(r, 3 * PAGE, 3 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, target);
    printf("MREMAP_FIXED: %s, at the target %d, contents kept %d, the page after untouched %d\n", err(f),
           f == target, same(target, 3), target[3 * PAGE] == 'T');
    printf("overlapping MREMAP_FIXED: %s\n", err(mremap(target, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, target + PAGE)));

    /* Read-only pages keep their rights when moved (the writable page
     * after them is another mapping, so they cannot grow in place). */
    char *ro = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ro[0] = 'r';
    mprotect(ro, 2 * PAGE, PROT_READ);
    printf("grow a read-only part in place: %s\n", err(mremap(ro, 2 * PAGE, 4 * PAGE, 0)));
    char *moved = mremap(ro, 2 * PAGE, 4 * PAGE, MREMAP_MAYMOVE);
    int devzero = open("/dev/zero", O_RDONLY);
    long readin = read(devzero, moved + PAGE, 1);
    printf("read-only region moved: %s, %d, byte kept %d, still read-only: read into it %s\n", err(moved), moved != ro,
           moved != MAP_FAILED && moved[0] == 'r', readin == -1 ? strerror(errno) : "ok");
    readin = read(devzero, moved + 3 * PAGE, 1);
    printf("its grown part read-only too: %s\n", readin == -1 ? strerror(errno) : "ok");
    printf("the writable page that blocked it stayed: %d\n", (ro[2 * PAGE] = 1) == 1);

    /* MREMAP_DONTUNMAP: the old range stays, empty. */
    char *d = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    fill(d, 2);
    char *dn = mremap(d, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_DONTUNMAP);
    printf("DONTUNMAP: %s, moved %d, contents kept %d, old range readable and zero %d\n", err(dn), dn != d,
           dn != MAP_FAILED && same(dn, 2), zero(d, 2 * PAGE));

    /* Errors. */
    printf("unmapped old address: %s\n", err(mremap(a, PAGE, 2 * PAGE, MREMAP_MAYMOVE)));
    printf("unaligned old address: %s\n", err(mremap(target + 1, PAGE, 2 * PAGE, MREMAP_MAYMOVE)));
    printf("new length 0: %s\n", err(mremap(target, PAGE, 0, MREMAP_MAYMOVE)));
    printf("unknown flag: %s\n", err(mremap(target, PAGE, PAGE, 0x10)));
    printf("FIXED without MAYMOVE: %s\n", err(mremap(target, PAGE, PAGE, MREMAP_FIXED, a)));
    printf("DONTUNMAP with a new length: %s\n", err(mremap(target, PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_DONTUNMAP)));
    printf("old length 0 on a private mapping: %s\n", err(mremap(target, 0, PAGE, MREMAP_MAYMOVE)));
    printf("old range past its mapping: %s\n", err(mremap(target, 64 * PAGE, 65 * PAGE, MREMAP_MAYMOVE)));
    printf("shrink across a hole: %s\n", err(mremap(target, 64 * PAGE, PAGE, 0)));
    return 0;
}
