/* alarm, pause, setitimer and getitimer (ITIMER_REAL): what alarm returns,
 * pause woken by SIGALRM, an interval timer firing three times, the
 * timer read back and disarmed, errors; at the end an alarm with the
 * default action ends the process (status 128 + 14). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static const char *err(long r) { return r == -1 ? strerror(errno) : "ok"; }

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	signal(SIGALRM, on_alarm);

	printf("alarm(5) first: %u\n", alarm(5));
	printf("alarm(3) after: %u\n", alarm(3));
	printf("alarm(0) after: %u\n", alarm(0));
	printf("alarm(0) again: %u\n", alarm(0));

	alarm(1);
	long r = pause();
	printf("pause: %ld, %s, alarms %d\n", r, err(r), (int)alarms);

	/* An interval timer: 50 ms, then every 50 ms. */
	sigset_t alrm, none;
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	sigemptyset(&none);
	sigprocmask(SIG_BLOCK, &alrm, NULL);
	struct itimerval it = {{0, 50000}, {0, 50000}}, old;
	printf("setitimer: %s\n", err(setitimer(ITIMER_REAL, &it, &old)));
	printf("old timer disarmed: %d\n", old.it_value.tv_sec == 0 && old.it_value.tv_usec == 0);
	struct itimerval now;
	getitimer(ITIMER_REAL, &now);
	printf("getitimer: interval 50 ms %d, value at most 50 ms %d\n",
	       now.it_interval.tv_sec == 0 && now.it_interval.tv_usec == 50000,
	       now.it_value.tv_sec == 0 && now.it_value.tv_usec <= 50000);
	alarms = 0;
	while (alarms < 3)
		sigsuspend(&none);
	printf("interval timer fired %d times\n", (int)alarms);
	struct itimerval off = {{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &off, &old);
	printf("old: interval 50 ms %d\n", old.it_interval.tv_usec == 50000);
	getitimer(ITIMER_REAL, &now);
	printf("after disarming: %ld %ld %ld %ld\n", (long)now.it_value.tv_sec,
	       (long)now.it_value.tv_usec, (long)now.it_interval.tv_sec,
	       (long)now.it_interval.tv_usec);
	sigprocmask(SIG_UNBLOCK, &alrm, NULL);

	struct itimerval bad = {{0, 0}, {0, 1000000}};
	printf("setitimer with 1000000 us: %s\n", err(setitimer(ITIMER_REAL, &bad, NULL)));
	printf("getitimer(99): %s\n", err(getitimer(99, &now)));

	/* alarm with the default action ends the process. */
	signal(SIGALRM, SIG_DFL);
	alarm(1);
	for (;;)
		pause();
}
