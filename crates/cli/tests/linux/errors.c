/* System calls fail with the errno Linux gives. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <unistd.h>

static void show(const char *what, long r) {
    printf("%s = %ld (%s)\n", what, r, r < 0 ? strerror(errno) : "ok");
}

int main(void) {
    show("write(9)", write(9, "x", 1));
    struct winsize ws;
    show("ioctl(1, TIOCGWINSZ)", ioctl(1, TIOCGWINSZ, &ws));
    struct utsname u;
    show("uname", uname(&u));
    printf("sysname %s, machine %s\n", u.sysname, u.machine);
    show("getuid", getuid());
    return 0;
}
