/* Named pipes (FIFOs): mkfifo and mknod, the open handshake (a reader
 * waits for a writer and the other way round, O_RDWR never waits),
 * O_NONBLOCK opens (a reader succeeds, a writer without a reader is
 * ENXIO), one pipe shared by all openers and dropped with the last,
 * end of file, EPIPE, poll, a signal interrupting a waiting open. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *err(long r) { return r == -1 ? strerror(errno) : "ok"; }

static short revents(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT};
	poll(&p, 1, 0);
	return p.revents;
}

static void on_alarm(int sig) { (void)sig; }

int main(void)
{
	char path[64], other[64], buf[64];
	snprintf(path, sizeof path, "/tmp/vessel-fifo-%d", (int)getpid());
	snprintf(other, sizeof other, "/tmp/vessel-fifo-%d-b", (int)getpid());
	umask(022);

	/* Making them. */
	printf("mkfifo: %s\n", err(mkfifo(path, 0666)));
	printf("mkfifo again: %s\n", err(mkfifo(path, 0666)));
	struct stat st;
	stat(path, &st);
	printf("S_ISFIFO %d, mode %o, size %ld, nlink %ld\n", S_ISFIFO(st.st_mode), st.st_mode & 07777,
	       (long)st.st_size, (long)st.st_nlink);
	long r = mknod(other, S_IFIFO | 0600, 0);
	stat(other, &st);
	printf("mknod S_IFIFO: %s, S_ISFIFO %d, mode %o\n", err(r), S_ISFIFO(st.st_mode), st.st_mode & 07777);
	unlink(other);
	r = mknod(other, 0644, 0);
	stat(other, &st);
	printf("mknod with no type: %s, regular %d\n", err(r), S_ISREG(st.st_mode));
	unlink(other);
	r = mknod(other, S_IFREG | 0644, 0);
	stat(other, &st);
	printf("mknod S_IFREG: %s, regular %d\n", err(r), S_ISREG(st.st_mode));
	unlink(other);
	printf("mknod S_IFDIR: %s\n", err(mknod(other, S_IFDIR | 0755, 0)));
	printf("mknod of a bad type: %s\n", err(mknod(other, 0170000 | 0644, 0)));
	printf("mknod over a name: %s\n", err(mknod(path, S_IFIFO | 0644, 0)));
	printf("mknod in a missing directory: %s\n", err(mknod("/tmp/no/such/fifo", S_IFIFO | 0644, 0)));
	printf("mknodat with a bad dirfd: %s\n", err(mknodat(99, "fifo", S_IFIFO | 0644, 0)));
	int tmp = open("/tmp", O_RDONLY | O_DIRECTORY);
	r = mknodat(tmp, strrchr(other, '/') + 1, S_IFIFO | 0640, 0);
	stat(other, &st);
	printf("mknodat: %s, S_ISFIFO %d, mode %o\n", err(r), S_ISFIFO(st.st_mode), st.st_mode & 07777);
	unlink(other);

	/* Nonblocking opens. */
	printf("O_WRONLY|O_NONBLOCK with no reader: %s\n", err(open(path, O_WRONLY | O_NONBLOCK)));
	int rd = open(path, O_RDONLY | O_NONBLOCK);
	printf("O_RDONLY|O_NONBLOCK with no writer: %s, F_GETFL %#o\n", err(rd), fcntl(rd, F_GETFL));
	printf("read with no writer: %ld\n", (long)read(rd, buf, sizeof buf));
	printf("poll with no writer yet: %#x\n", revents(rd));
	int wr = open(path, O_WRONLY | O_NONBLOCK);
	printf("O_WRONLY|O_NONBLOCK with a reader: %s, F_GETFL %#o\n", err(wr), fcntl(wr, F_GETFL));
	printf("read of an empty FIFO: %s\n", err(read(rd, buf, sizeof buf)));
	printf("poll: reader %#x, writer %#x\n", revents(rd), revents(wr));
	printf("write: %ld\n", (long)write(wr, "abc", 3));
	printf("poll: reader %#x\n", revents(rd));
	memset(buf, 0, sizeof buf);
	printf("read: %ld %s\n", (long)read(rd, buf, sizeof buf), buf);
	struct stat fst;
	fstat(rd, &fst);
	stat(path, &st);
	printf("fstat: S_ISFIFO %d, same inode %d\n", S_ISFIFO(fst.st_mode), fst.st_ino == st.st_ino);
	printf("lseek: %s\n", err(lseek(rd, 0, SEEK_SET)));
	snprintf(other, sizeof other, "/proc/self/fd/%d", rd);
	memset(buf, 0, sizeof buf);
	readlink(other, buf, sizeof buf - 1);
	printf("fd link names it: %d\n", strcmp(buf, path) == 0);
	close(wr);
	printf("after the writer closed: poll %#x, read %ld\n", revents(rd), (long)read(rd, buf, sizeof buf));
	close(rd);

	/* O_RDWR never waits; the pipe goes with the last close. */
	int both = open(path, O_RDWR);
	printf("O_RDWR: %s, F_GETFL %#o, poll %#x\n", err(both), fcntl(both, F_GETFL), revents(both));
	write(both, "lost", 4);
	printf("poll with data: %#x\n", revents(both));
	close(both);
	both = open(path, O_RDWR | O_NONBLOCK);
	printf("reopened: read %s\n", err(read(both, buf, sizeof buf)));

	/* A reader that leaves: EPIPE (SIGPIPE ignored). */
	signal(SIGPIPE, SIG_IGN);
	rd = open(path, O_RDONLY | O_NONBLOCK);
	wr = open(path, O_WRONLY);
	close(rd);
	close(both);
	printf("poll of the writer with no reader: %#x\n", revents(wr));
	printf("write with no reader: %s\n", err(write(wr, "x", 1)));
	close(wr);

	/* The blocking handshake between two processes. */
	pid_t child = fork();
	if (child == 0) {
		int w = open(path, O_WRONLY);
		const char *text = "hello through the FIFO";
		write(w, text, strlen(text));
		_exit(w < 0);
	}
	rd = open(path, O_RDONLY);
	printf("blocking open for reading: %s, F_GETFL %#o\n", err(rd), fcntl(rd, F_GETFL));
	size_t got = 0;
	long n;
	memset(buf, 0, sizeof buf);
	while ((n = read(rd, buf + got, sizeof buf - 1 - got)) > 0)
		got += n;
	printf("read until end of file: %s\n", buf);
	int status;
	waitpid(child, &status, 0);
	printf("writer's status %d\n", WEXITSTATUS(status));
	close(rd);

	child = fork();
	if (child == 0) {
		int r2 = open(path, O_RDONLY);
		n = read(r2, buf, sizeof buf);
		_exit(n);
	}
	wr = open(path, O_WRONLY);
	printf("blocking open for writing: %s\n", err(wr));
	write(wr, "12345", 5);
	close(wr);
	waitpid(child, &status, 0);
	printf("the reader read %d\n", WEXITSTATUS(status));

	/* A signal interrupts an open that waits; it then counts no more. */
	struct sigaction sa = {.sa_handler = on_alarm};
	sigaction(SIGALRM, &sa, NULL);
	alarm(1);
	printf("interrupted open: %s\n", err(open(path, O_RDONLY)));
	printf("no reader left: %s\n", err(open(path, O_WRONLY | O_NONBLOCK)));

	/* A FIFO unlinked while open still works. */
	both = open(path, O_RDWR);
	unlink(path);
	write(both, "still", 5);
	memset(buf, 0, sizeof buf);
	printf("unlinked: read %ld %s\n", (long)read(both, buf, sizeof buf), buf);
	return 0;
}
