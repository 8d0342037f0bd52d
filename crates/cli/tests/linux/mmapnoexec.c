/* mmap of a file on a noexec tmpfs: PROT_EXEC is EPERM (after the EACCES
 * of a descriptor not open for reading), other mappings work, and the same
 * file maps executable once copied to a mount without noexec. Mounting
 * needs root: this runs under vessel only. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAGE 4096

static const char *err(void *r) { return r == MAP_FAILED ? strerror(errno) : "ok"; }

static int make_file(const char *path) {
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0755);
    char page[PAGE];
    memset(page, 0xc3, sizeof page); /* ret */
    write(fd, page, sizeof page);
    return fd;
}

int main(void) {
    mkdir("/nx", 0755);
    printf("mount noexec: %d\n", mount("none", "/nx", "tmpfs", MS_NOEXEC, NULL));
    close(make_file("/nx/f"));
    int fd = open("/nx/f", O_RDONLY);
    int wronly = open("/nx/f", O_WRONLY);
    printf("PROT_EXEC: %s\n", err(mmap(NULL, PAGE, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0)));
    printf("PROT_EXEC only: %s\n", err(mmap(NULL, PAGE, PROT_EXEC, MAP_PRIVATE, fd, 0)));
    printf("PROT_EXEC, shared: %s\n",
           err(mmap(NULL, PAGE, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0)));
    printf("PROT_EXEC, write-only descriptor: %s\n",
           err(mmap(NULL, PAGE, PROT_READ | PROT_EXEC, MAP_PRIVATE, wronly, 0)));
    unsigned char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    printf("read-write: %s, byte %#x\n", err(p), p == MAP_FAILED ? 0 : p[0]);

    close(make_file("/f"));
    int exec_fd = open("/f", O_RDONLY);
    void (*code)(void) = (void (*)(void))mmap(NULL, PAGE, PROT_READ | PROT_EXEC, MAP_PRIVATE,
                                              exec_fd, 0);
    printf("PROT_EXEC without noexec: %s\n", err((void *)code));
    if ((void *)code != MAP_FAILED) code();
    printf("ran its code\n");
    return 0;
}
