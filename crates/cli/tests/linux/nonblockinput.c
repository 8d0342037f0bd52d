/* O_NONBLOCK on standard input (the console under Vessel, a pipe natively)
 * while its writer has sent nothing yet: a read fails with EAGAIN; poll
 * waits for the input, which then reads, and for its end. The runner
 * writes the input only once the first line is out. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
	int r = fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
	char buf[64];
	long n = read(0, buf, sizeof buf);
	const char *first = n < 0 ? strerror(errno) : "data";
	/* Nothing is printed before the read: the runner waits for output. */
	printf("F_SETFL O_NONBLOCK: %d, stdin nonblocking %d, stdout %d\n", r,
	       (fcntl(0, F_GETFL) & O_NONBLOCK) != 0, (fcntl(1, F_GETFL) & O_NONBLOCK) != 0);
	printf("read before any input: %s\n", first);
	fflush(stdout);
	char input[64] = {0};
	size_t got = 0;
	for (;;) {
		struct pollfd p = {.fd = 0, .events = POLLIN};
		poll(&p, 1, -1);
		n = read(0, buf, sizeof buf);
		if (n <= 0)
			break;
		if (got + n < sizeof input) {
			memcpy(input + got, buf, n);
			got += n;
		}
	}
	printf("input %s", input);
	printf("then %s\n", n == 0 ? "end of file" : strerror(errno));
	return 0;
}
