/* The extended-attribute calls on a file system without extended
 * attributes: EOPNOTSUPP once the file is found, its lookup errors first. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>
#include <fcntl.h>
#include <unistd.h>
static void show(const char *what, long rc) { printf("%s: %ld %s\n", what, rc, rc < 0 ? strerror(errno) : ""); }
int main(void) {
    char buf[64];
    int fd = open("/tmp", O_RDONLY);
    show("getxattr /tmp", getxattr("/tmp", "user.a", buf, sizeof buf));
    show("getxattr missing", getxattr("/nonexistent/x", "user.a", buf, sizeof buf));
    show("lgetxattr /tmp", lgetxattr("/tmp", "user.a", buf, sizeof buf));
    show("listxattr /tmp", listxattr("/tmp", buf, sizeof buf));
    show("setxattr /tmp", setxattr("/tmp", "user.a", "v", 1, 0));
    show("removexattr /tmp", removexattr("/tmp", "user.a"));
    show("fgetxattr fd", fgetxattr(fd, "user.a", buf, sizeof buf));
    show("fgetxattr bad fd", fgetxattr(99, "user.a", buf, sizeof buf));
    show("getxattr bad path", getxattr((const char *)8, "user.a", buf, sizeof buf));
    return 0;
}
