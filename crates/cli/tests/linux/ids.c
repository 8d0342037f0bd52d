/* The getpid family across fork and threads: getpid, getppid, gettid,
 * set_tid_address, and the identity calls (no pids printed). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t main_pid;
static volatile int thread_ok;

static void *thread(void *arg) {
    (void)arg;
    pid_t tid = syscall(SYS_gettid);
    /* (set_tid_address would take the word pthread_join waits on.) */
    thread_ok = getpid() == main_pid && tid != main_pid && tid > 0;
    return NULL;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    main_pid = getpid();
    printf("main thread: gettid is getpid %d\n", syscall(SYS_gettid) == main_pid);
    int dummy;
    printf("set_tid_address returns the tid %d\n", syscall(SYS_set_tid_address, &dummy) == main_pid);
    printf("pid positive %d, parent differs %d\n", main_pid > 0, getppid() != main_pid);
    printf("real and effective ids agree %d\n", getuid() == geteuid() && getgid() == getegid());

    pthread_t t;
    pthread_create(&t, NULL, thread, NULL);
    pthread_join(t, NULL);
    printf("thread: same pid, its own tid %d\n", thread_ok);

    int fds[2];
    pipe(fds);
    pid_t c = fork();
    if (c == 0) {
        pid_t me = getpid();
        int word;
        int ok = me != main_pid && getppid() == main_pid && syscall(SYS_gettid) == me &&
                 syscall(SYS_set_tid_address, &word) == me;
        write(fds[1], &me, sizeof me);
        pid_t g = fork();
        if (g == 0) _exit(getppid() == me ? 10 : 11);
        int st;
        waitpid(g, &st, 0);
        _exit(ok && WEXITSTATUS(st) == 10 ? 0 : 1);
    }
    pid_t told;
    read(fds[0], &told, sizeof told);
    int status;
    pid_t w = waitpid(c, &status, 0);
    printf("fork returns the child's pid %d, wait agrees %d, child saw its parent %d\n", told == c, w == c,
           WEXITSTATUS(status) == 0);
    printf("the pid did not change %d\n", getpid() == main_pid);
    return 0;
}
