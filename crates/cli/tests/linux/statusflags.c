/* Status flags of open file descriptions: what open keeps and F_GETFL
 * reports, F_SETFL changing O_NONBLOCK (a pipe's reads and writes then
 * fail with EAGAIN) and O_APPEND (writes go to the end, pwrite too), the
 * flags shared by dup and fork but not by a second open, FIONBIO,
 * FIOASYNC, FIOCLEX, O_NOATIME, and the errors. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *err(long r) { return r == -1 ? strerror(errno) : "ok"; }

/* F_SETFL, then what F_GETFL says. */
static void setfl(const char *what, int fd, int flags)
{
	const char *e = err(fcntl(fd, F_SETFL, flags));
	printf("%s: %s, now %#o\n", what, e, fcntl(fd, F_GETFL));
}

/* An int-argument ioctl, then what F_GETFL says. */
static void ioctl_int(const char *what, int fd, unsigned long request, int on)
{
	const char *e = err(ioctl(fd, request, &on));
	printf("%s: %s, now %#o\n", what, e, fcntl(fd, F_GETFL));
}

int main(void)
{
	char path[64], buf[64];
	snprintf(path, sizeof path, "/tmp/vessel-statusflags-%d", (int)getpid());

	/* What open keeps: the access mode and status flags, O_LARGEFILE
	 * added; O_CREAT, O_TRUNC, O_EXCL, O_NOCTTY, O_CLOEXEC act at open. */
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0600);
	printf("O_RDWR|O_CREAT|...: %#o\n", fcntl(fd, F_GETFL));
	int other = open(path, O_WRONLY | O_APPEND | O_NONBLOCK | O_SYNC | O_NOATIME);
	printf("O_WRONLY|O_APPEND|O_NONBLOCK|O_SYNC|O_NOATIME: %#o\n", fcntl(other, F_GETFL));
	close(other);
	other = open(path, O_RDONLY | O_ASYNC);
	printf("O_ASYNC: %#o\n", fcntl(other, F_GETFL));
	close(other);
	int dir = open("/tmp", O_RDONLY | O_DIRECTORY);
	printf("a directory: %#o\n", fcntl(dir, F_GETFL));
	int opath = open(path, O_PATH | O_RDWR | O_APPEND);
	printf("O_PATH: %#o\n", fcntl(opath, F_GETFL));
	int null = open("/dev/null", O_RDONLY);
	printf("/dev/null: %#o\n", fcntl(null, F_GETFL));
	printf("O_DIRECT on /dev/null: %s\n", err(open("/dev/null", O_RDONLY | O_DIRECT)));
	printf("O_DIRECT on a directory: %s\n", err(open("/tmp", O_RDONLY | O_DIRECT)));
	printf("write to a read-only /dev/null: %s\n", err(write(null, "x", 1)));

	/* F_SETFL changes O_APPEND, O_NONBLOCK, O_DIRECT, O_NOATIME; not the
	 * access mode, O_SYNC or (on a file) O_ASYNC. */
	setfl("F_SETFL of every bit but O_DIRECT", fd, ~O_DIRECT);
	setfl("F_SETFL 0", fd, 0);
	setfl("F_SETFL O_DIRECT on a file", fd, O_DIRECT);
	setfl("F_SETFL O_DIRECT on /dev/null", null, O_DIRECT);
	setfl("F_SETFL O_APPEND on a directory", dir, O_APPEND);
	setfl("F_SETFL on O_PATH", opath, O_NONBLOCK);
	printf("F_GETFD on O_PATH: %d\n", fcntl(opath, F_GETFD));
	printf("ioctl on O_PATH: %s\n", err(ioctl(opath, FIONBIO, &(int){1})));

	/* O_APPEND switched on: writes go to the end; pwrite too. */
	setfl("F_SETFL 0 again", fd, 0);
	write(fd, "hello", 5);
	lseek(fd, 0, SEEK_SET);
	write(fd, "J", 1);
	setfl("F_SETFL O_APPEND", fd, O_APPEND);
	lseek(fd, 0, SEEK_SET);
	write(fd, "!", 1);
	printf("offset after an appending write: %ld\n", (long)lseek(fd, 0, SEEK_CUR));
	pwrite(fd, "?", 1, 0);
	setfl("F_SETFL 0", fd, 0);
	pwrite(fd, "j", 1, 0);
	memset(buf, 0, sizeof buf);
	pread(fd, buf, sizeof buf - 1, 0);
	printf("contents: %s\n", buf);

	/* O_NOATIME: a read leaves the access time. */
	struct timespec times[2] = {{.tv_sec = 1000}, {.tv_nsec = UTIME_OMIT}};
	futimens(fd, times);
	setfl("F_SETFL O_NOATIME", fd, O_NOATIME);
	pread(fd, buf, 1, 0);
	struct stat st;
	fstat(fd, &st);
	printf("atime after a read with O_NOATIME: %ld\n", (long)st.st_atime);
	setfl("F_SETFL 0", fd, 0);
	pread(fd, buf, 1, 0);
	fstat(fd, &st);
	printf("atime after a read without: moved %d\n", st.st_atime != 1000);

	/* A pipe made nonblocking with F_SETFL; the flag is shared by dup and
	 * by a child's copy, not by the pipe's other end. */
	int p[2];
	pipe(p);
	printf("pipe: %#o %#o\n", fcntl(p[0], F_GETFL), fcntl(p[1], F_GETFL));
	int d = dup(p[0]);
	setfl("F_SETFL O_NONBLOCK on the read end", p[0], O_NONBLOCK);
	printf("the dup sees it: %#o, the write end not: %#o\n", fcntl(d, F_GETFL), fcntl(p[1], F_GETFL));
	printf("read of the empty pipe: %s\n", err(read(d, buf, sizeof buf)));
	setfl("F_SETFL O_NONBLOCK on the write end", p[1], O_NONBLOCK);
	long total = 0, n;
	char block[4096] = {0};
	while ((n = write(p[1], block, sizeof block)) > 0)
		total += n;
	printf("filled with %ld, then %s\n", total, err(n));
	pid_t child = fork();
	if (child == 0) {
		fcntl(p[1], F_SETFL, 0);
		_exit(0);
	}
	waitpid(child, NULL, 0);
	printf("the child cleared O_NONBLOCK for the parent too: %#o\n", fcntl(p[1], F_GETFL));
	while (read(p[0], block, sizeof block) > 0)
		;
	printf("drained, then: %s\n", err(read(p[0], block, sizeof block)));

	/* A second open of the pipe (through /proc) is its own description. */
	snprintf(buf, sizeof buf, "/proc/self/fd/%d", p[0]);
	int again = open(buf, O_RDONLY);
	printf("reopened: %#o; the first still %#o\n", fcntl(again, F_GETFL), fcntl(p[0], F_GETFL));
	write(p[1], "x", 1);
	printf("read through the second open: %ld\n", (long)read(again, buf, sizeof buf));

	/* ioctls every file takes. */
	ioctl_int("FIONBIO 1", p[1], FIONBIO, 1);
	ioctl_int("FIONBIO 0", p[1], FIONBIO, 0);
	ioctl_int("FIONBIO 2 on a file", fd, FIONBIO, 2);
	printf("FIONBIO with a bad pointer: %s\n", err(ioctl(fd, FIONBIO, (void *)8)));
	ioctl_int("FIOASYNC 1 on a pipe", p[0], FIOASYNC, 1);
	ioctl_int("FIOASYNC 0 on a pipe", p[0], FIOASYNC, 0);
	ioctl_int("FIOASYNC 1 on a file", fd, FIOASYNC, 1);
	ioctl_int("FIOASYNC 0 on a file", fd, FIOASYNC, 0);
	setfl("F_SETFL O_ASYNC on a pipe", p[0], O_ASYNC);
	setfl("F_SETFL O_ASYNC on a file", fd, O_ASYNC);
	const char *e = err(ioctl(fd, FIOCLEX));
	printf("FIOCLEX: %s, flag %d\n", e, fcntl(fd, F_GETFD));
	e = err(ioctl(fd, FIONCLEX));
	printf("FIONCLEX: %s, flag %d\n", e, fcntl(fd, F_GETFD));
	printf("an unknown ioctl on a pipe: %s\n", err(ioctl(p[0], 0x12345678, 0)));
	unlink(path);
	return 0;
}
