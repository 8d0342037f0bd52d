/* Robust futexes: a process-shared robust mutex (in MAP_SHARED memory)
 * whose owner ends holding it, by _exit or by SIGKILL, is handed to the next
 * locker with EOWNERDEAD (then pthread_mutex_consistent, or it becomes
 * unrecoverable); the kernel's walk of a robust list built by hand (only
 * words the ending thread owns change, FUTEX_WAITERS is kept, the entry
 * being locked is handled, a cycle or a bad pointer ends the walk, a waiter
 * sharing the memory is woken); set_robust_list and get_robust_list. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FUTEX_WAIT 0
#define FUTEX_WAITERS 0x80000000u
#define FUTEX_OWNER_DIED 0x40000000u
#define FUTEX_TID_MASK 0x3fffffffu

static const char *err(int r) { return r == 0 ? "ok" : strerror(r); }

static int status_of(pid_t pid) {
    int status = -1;
    if (waitpid(pid, &status, 0) != pid) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

static pthread_mutex_t *shared_mutex(void) {
    pthread_mutex_t *m =
        mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(m, &a);
    return m;
}

/* A child locks `m` and ends holding it: by _exit, or killed by the parent
 * once it holds it. */
static void owner_ends(pthread_mutex_t *m, int killed) {
    int ready[2];
    pipe(ready);
    pid_t pid = fork();
    if (pid == 0) {
        pthread_mutex_lock(m);
        write(ready[1], "x", 1);
        if (killed) pause();
        _exit(0);
    }
    char c;
    read(ready[0], &c, 1);
    if (killed) kill(pid, SIGKILL);
    printf("owner %s: status %d\n", killed ? "killed" : "exited", status_of(pid));
    close(ready[0]);
    close(ready[1]);
}

static void pthread_api(void) {
    pthread_mutex_t *m = shared_mutex();
    owner_ends(m, 0);
    printf("lock: %s\n", err(pthread_mutex_lock(m)));
    printf("consistent: %s\n", err(pthread_mutex_consistent(m)));
    printf("unlock: %s\n", err(pthread_mutex_unlock(m)));
    printf("lock again: %s\n", err(pthread_mutex_lock(m)));
    pthread_mutex_unlock(m);

    owner_ends(m, 1);
    printf("lock: %s\n", err(pthread_mutex_lock(m)));
    printf("unlock without consistent: %s\n", err(pthread_mutex_unlock(m)));
    printf("lock: %s\n", err(pthread_mutex_lock(m)));
}

/* A robust list built by hand, as libc lays it out: each entry is a `next`
 * pointer, the futex word sits `futex_offset` bytes from it. */
struct entry {
    struct entry *next;
    uint32_t word;
};

struct head {
    struct entry *next;
    long futex_offset;
    struct entry *pending;
};

enum { ENTRIES = 6 };

struct shared {
    struct head head;
    struct entry entries[ENTRIES];
    volatile int tid;
};

static struct shared *shared_memory(void) {
    return mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
}

static long set_list(struct head *h) {
    return syscall(SYS_set_robust_list, h, sizeof *h);
}

static void link_entries(struct shared *s, int count) {
    s->head.next = count ? &s->entries[0] : (struct entry *)&s->head;
    for (int i = 0; i < count; i++)
        s->entries[i].next = i + 1 < count ? &s->entries[i + 1] : (struct entry *)&s->head;
    s->head.futex_offset = offsetof(struct entry, word);
}

/* Runs `setup` in a child (which gets the shared memory and its tid), ends
 * it, then prints the words. */
static void walk(const char *what, struct shared *s, void (*setup)(struct shared *, uint32_t)) {
    memset(s, 0, sizeof *s);
    pid_t pid = fork();
    if (pid == 0) {
        setup(s, syscall(SYS_gettid));
        _exit(set_list(&s->head) == 0 ? 0 : 1);
    }
    int status = status_of(pid);
    printf("%s: status %d, words", what, status);
    for (int i = 0; i < ENTRIES; i++) {
        uint32_t w = s->entries[i].word;
        /* Thread ids are named, so that output does not depend on them. */
        if ((w & FUTEX_TID_MASK) == (uint32_t)pid)
            printf(" tid%s", w & FUTEX_WAITERS ? "|WAITERS" : "");
        else if ((w & FUTEX_TID_MASK) == (uint32_t)pid + 1)
            printf(" other");
        else
            printf(" %#x", w);
    }
    printf("\n");
}

static void mixed(struct shared *s, uint32_t tid) {
    link_entries(s, 4);
    s->entries[0].word = tid;                      /* held: marked */
    s->entries[1].word = tid | FUTEX_WAITERS;      /* held, waited for */
    s->entries[2].word = (tid + 1) & FUTEX_TID_MASK; /* someone else's */
    s->entries[3].word = 0;                        /* free */
    s->entries[4].word = tid;                      /* not on the list */
    s->head.pending = &s->entries[5];              /* being locked: held */
    s->entries[5].word = tid;
}

static void cycle(struct shared *s, uint32_t tid) {
    link_entries(s, 2);
    s->entries[1].next = &s->entries[0]; /* 0 -> 1 -> 0 -> ... */
    s->entries[0].word = tid;
    s->entries[1].word = tid;
}

static void bad_pointer(struct shared *s, uint32_t tid) {
    link_entries(s, 3);
    s->entries[1].next = (struct entry *)8; /* unreadable */
    s->entries[0].word = tid;
    s->entries[1].word = tid;
    s->entries[2].word = tid;               /* never reached */
    s->head.pending = &s->entries[3];       /* not handled after a bad pointer */
    s->entries[3].word = tid;
}

static void pending_only(struct shared *s, uint32_t tid) {
    link_entries(s, 0);
    s->head.pending = &s->entries[0];
    s->entries[0].word = tid | FUTEX_WAITERS;
    s->entries[1].word = tid; /* not on the list */
}

static char stack[64 * 1024] __attribute__((aligned(16)));

/* A child sharing the memory (CLONE_VM) holds a word a waiter sleeps on. */
static int holder(void *arg) {
    struct shared *s = arg;
    link_entries(s, 1);
    s->tid = syscall(SYS_gettid);
    s->entries[0].word = s->tid;
    set_list(&s->head);
    while (!(s->entries[0].word & FUTEX_WAITERS)) sched_yield();
    struct timespec t = {0, 50 * 1000 * 1000};
    nanosleep(&t, NULL);
    syscall(SYS_exit, 0);
    return 0;
}

static void waiter_woken(struct shared *s) {
    memset(s, 0, sizeof *s);
    pid_t pid = clone(holder, stack + sizeof stack, CLONE_VM | SIGCHLD, s);
    while (!s->tid) sched_yield();
    uint32_t w = __sync_or_and_fetch(&s->entries[0].word, FUTEX_WAITERS);
    while ((w = s->entries[0].word) & FUTEX_TID_MASK)
        syscall(SYS_futex, &s->entries[0].word, FUTEX_WAIT, w, NULL, NULL, 0);
    printf("waiter woken: word %#x, holder status %d\n", w, status_of(pid));
}

static void list_calls(void) {
    static struct head h = {(struct entry *)&h, 0, NULL};
    printf("set_robust_list, wrong size: %s\n",
           syscall(SYS_set_robust_list, &h, sizeof h - 1) ? strerror(errno) : "ok");
    printf("set_robust_list: %s\n", set_list(&h) ? strerror(errno) : "ok");
    struct head *got = NULL;
    size_t len = 0;
    long r = syscall(SYS_get_robust_list, 0, &got, &len);
    printf("get_robust_list: %ld, the same head %d, size %zu\n", r, got == &h, len);
    got = NULL;
    r = syscall(SYS_get_robust_list, syscall(SYS_gettid), &got, &len);
    printf("get_robust_list by tid: %ld, the same head %d\n", r, got == &h);
    printf("get_robust_list of no thread: %s\n",
           syscall(SYS_get_robust_list, 999999, &got, &len) ? strerror(errno) : "ok");
    printf("get_robust_list of tid -1: %s\n",
           syscall(SYS_get_robust_list, -1, &got, &len) ? strerror(errno) : "ok");
    printf("get_robust_list to a bad pointer: %s\n",
           syscall(SYS_get_robust_list, 0, (void *)8, &len) ? strerror(errno) : "ok");
    pid_t pid = fork();
    if (pid == 0) {
        got = &h;
        syscall(SYS_get_robust_list, 0, &got, &len);
        _exit(got == NULL ? 0 : 1);
    }
    printf("a forked child starts without a list: %d\n", status_of(pid) == 0);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    pthread_api();
    struct shared *s = shared_memory();
    walk("mixed list", s, mixed);
    walk("cycle", s, cycle);
    walk("bad pointer", s, bad_pointer);
    walk("pending only", s, pending_only);
    waiter_woken(s);
    list_calls();
    return 0;
}
