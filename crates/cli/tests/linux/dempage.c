/* Demand paging: large private mappings, the program break and bss cost
 * nothing until touched, read zeros, keep what is written, take mprotect
 * and fork like any memory, fault with the right si_code, and the kernel's
 * own copies (read(2) into a fresh buffer, write(2) from one) work on
 * pages never touched. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096L
#define MIB (1024L * 1024)

static sigjmp_buf back;
static volatile int fault_code;

static void on_segv(int sig, siginfo_t *si, void *ctx) {
    (void)sig;
    (void)ctx;
    fault_code = si->si_code;
    siglongjmp(back, 1);
}

/* The si_code of a write to p (0 if it went through). */
static int write_fault(volatile char *p) {
    fault_code = 0;
    if (sigsetjmp(back, 1) == 0) *p = 'x';
    return fault_code;
}

/* The si_code of a read of p (0 if it went through). */
static int read_fault(volatile char *p) {
    fault_code = 0;
    if (sigsetjmp(back, 1) == 0) (void)*p;
    return fault_code;
}

static const char *code_name(int code) {
    return code == SEGV_MAPERR ? "SEGV_MAPERR" : code == SEGV_ACCERR ? "SEGV_ACCERR" : code ? "other" : "none";
}

/* Resident pages, from /proc/self/statm. */
static long resident(void) {
    long size = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f || fscanf(f, "%ld %ld", &size, &rss) != 2) rss = -1;
    if (f) fclose(f);
    return rss;
}

static int zeros(const char *p, long len) {
    for (long i = 0; i < len; i++)
        if (p[i]) return 0;
    return 1;
}

static char bss[32 * MIB];

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &sa, NULL);

    /* 256 MiB, a few scattered pages touched. */
    long before = resident();
    long len = 256 * MIB;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int zero = 1, kept = 1;
    for (long off = 3 * PAGE + 17; off < len; off += 16 * MIB + 5 * PAGE) {
        zero &= p[off] == 0;
        p[off] = (char)(off >> 20);
    }
    for (long off = 3 * PAGE + 17; off < len; off += 16 * MIB + 5 * PAGE) kept &= p[off] == (char)(off >> 20);
    printf("256 MiB mapping: zero before %d, writes kept %d, resident grew < 4 MiB %d\n", zero, kept,
           resident() - before < 4 * MIB / PAGE);

    /* mprotect of pages never touched: a write is refused, a read sees 0. */
    char *ro = p + 100 * MIB;
    printf("mprotect untouched range read-only: %d\n", mprotect(ro, 4 * MIB, PROT_READ));
    printf("write fault: %s\n", code_name(write_fault(ro + PAGE + 3)));
    printf("read fault: %s, reads %d\n", code_name(read_fault(ro + 2 * PAGE)), ro[2 * PAGE]);
    printf("mprotect none: %d", mprotect(ro, PAGE, PROT_NONE));
    printf(", read fault: %s\n", code_name(read_fault(ro + 9)));
    printf("mprotect back: %d", mprotect(ro, 4 * MIB, PROT_READ | PROT_WRITE));
    printf(", write fault: %s", code_name(write_fault(ro + 5)));
    printf(", reads back %c\n", ro[5]);

    /* read(2) into a page never touched, across a page boundary; write(2)
     * from a page never touched. */
    int fds[2];
    pipe(fds);
    const char msg[] = "through a pipe into fresh memory";
    write(fds[1], msg, sizeof msg);
    char *buf = p + 200 * MIB - 10;
    long got = read(fds[0], buf, sizeof msg);
    printf("read %ld bytes into untouched pages: %s\n", got, buf);
    char *fresh = p + 210 * MIB;
    char back_bytes[64];
    memset(back_bytes, 'z', sizeof back_bytes);
    printf("write from an untouched page: %ld", (long)write(fds[1], fresh, sizeof back_bytes));
    printf(", read back zeros %d\n", read(fds[0], back_bytes, sizeof back_bytes) == 64 && zeros(back_bytes, 64));

    /* MADV_DONTNEED gives the frames back; the pages read zero again. */
    char *dn = p + 220 * MIB;
    memset(dn, 'd', 256 * 1024);
    long full = resident();
    printf("MADV_DONTNEED: %d", madvise(dn, 256 * 1024, MADV_DONTNEED));
    printf(", resident went down %d", resident() < full);
    printf(", zeros %d", zeros(dn, 256 * 1024));
    dn[7] = 'w';
    printf(", writable %d\n", dn[7] == 'w');

    /* A sequential fill reads back as written. */
    char *seq = p + 230 * MIB;
    for (long i = 0; i < 2 * MIB; i++) seq[i] = (char)(i * 7);
    long sum = 0;
    for (long i = 0; i < 2 * MIB; i += 511) sum += (unsigned char)seq[i];
    printf("sequential 2 MiB fill: checksum %ld\n", sum);

    printf("munmap: %d", munmap(p, len));
    printf(", access after: %s\n", code_name(read_fault(p + 3 * PAGE)));

    /* fork: a page touched before, one untouched: each side has its own. */
    char *f = mmap(NULL, 8 * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *touched = f + 1 * MIB, *untouched = f + 5 * MIB;
    touched[0] = 'p';
    pid_t child = fork();
    if (child == 0) {
        int saw = touched[0] == 'p' && untouched[0] == 0;
        touched[0] = 'c';
        untouched[0] = 'c';
        _exit(saw && touched[0] == 'c' && untouched[0] == 'c' ? 0 : 1);
    }
    int status;
    waitpid(child, &status, 0);
    printf("fork: child saw and wrote its own copy %d, parent kept %c and %d\n",
           WIFEXITED(status) && WEXITSTATUS(status) == 0, touched[0], untouched[0]);

    /* PROT_NONE reservations opened piecewise (how glibc makes its
     * arenas). */
    char *arena = mmap(NULL, 128 * MIB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    printf("PROT_NONE 128 MiB: read fault %s", code_name(read_fault(arena + 64 * MIB)));
    printf(", mprotect 132 KiB: %d", mprotect(arena, 132 * 1024, PROT_READ | PROT_WRITE));
    memset(arena, 'a', 132 * 1024);
    printf(", filled %d, past it %s\n", arena[132 * 1024 - 1] == 'a', code_name(write_fault(arena + 132 * 1024)));
    munmap(arena, 128 * MIB);

    /* The program break: 64 MiB more, a touch every MiB. */
    char *start = (char *)syscall(SYS_brk, 0);
    char *end = (char *)syscall(SYS_brk, start + 64 * MIB);
    zero = 1;
    kept = 1;
    for (char *q = start; q < end; q += MIB) {
        zero &= *q == 0;
        *q = 'b';
    }
    for (char *q = start; q < end; q += MIB) kept &= *q == 'b';
    printf("brk grew 64 MiB: %d, zero before %d, writes kept %d\n", end - start == 64 * MIB, zero, kept);

    /* bss: 32 MiB of zeros, a few pages touched. */
    zero = zeros(bss + 5 * MIB, PAGE) && zeros(bss + 31 * MIB, PAGE);
    bss[5 * MIB] = 's';
    bss[31 * MIB + 100] = 's';
    printf("bss: zero %d, writes kept %d\n", zero, bss[5 * MIB] == 's' && bss[31 * MIB + 100] == 's');

    /* MAP_POPULATE still maps. */
    char *pop = mmap(NULL, 64 * 1024, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    printf("MAP_POPULATE: zero %d\n", zeros(pop, 64 * 1024));
    return 0;
}
