#define _GNU_SOURCE
/* uname: the fields a program looks at, and EFAULT. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

int main(void) {
    struct utsname u;
    memset(&u, 'x', sizeof u);
    printf("uname: %d\n", uname(&u));
    printf("sysname %s, machine %s\n", u.sysname, u.machine);
    int terminated = 1;
    const char *fields[] = {u.sysname, u.nodename, u.release, u.version, u.machine, u.domainname};
    for (int i = 0; i < 6; i++) terminated &= memchr(fields[i], 0, sizeof u.sysname) != NULL;
    printf("every field NUL-terminated %d\n", terminated);
    printf("release, version, nodename non-empty %d %d %d\n", u.release[0] != 0, u.version[0] != 0, u.nodename[0] != 0);
    int major = 0, minor = 0;
    int numbered = sscanf(u.release, "%d.%d", &major, &minor) == 2;
    printf("release starts with a version number %d, at least 3.2 %d\n", numbered,
           major > 3 || (major == 3 && minor >= 2));
    long r = syscall(SYS_uname, 8);
    printf("bad pointer: %ld %s\n", r, strerror(errno));
    return 0;
}
