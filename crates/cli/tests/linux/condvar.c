/* Producer/consumer with pthread mutexes and condition variables: two
 * producers, two consumers, a bounded queue; every item is consumed once. */
#include <pthread.h>
#include <stdio.h>

#define ITEMS 2000
#define SLOTS 8

static int queue[SLOTS];
static int head, count, produced_all;
static long consumed_sum, consumed_n;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER;

static void *producer(void *arg)
{
	int base = *(int *)arg;
	for (int i = 1; i <= ITEMS; i++) {
		pthread_mutex_lock(&lock);
		while (count == SLOTS)
			pthread_cond_wait(&not_full, &lock);
		queue[(head + count) % SLOTS] = base + i;
		count++;
		pthread_cond_signal(&not_empty);
		pthread_mutex_unlock(&lock);
	}
	return NULL;
}

static void *consumer(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_mutex_lock(&lock);
		while (count == 0 && !produced_all)
			pthread_cond_wait(&not_empty, &lock);
		if (count == 0) {
			pthread_mutex_unlock(&lock);
			return NULL;
		}
		int item = queue[head];
		head = (head + 1) % SLOTS;
		count--;
		consumed_sum += item;
		consumed_n++;
		pthread_cond_signal(&not_full);
		pthread_mutex_unlock(&lock);
	}
}

int main(void)
{
	pthread_t p[2], c[2];
	int bases[2] = {0, 100000};
	for (int i = 0; i < 2; i++) {
		pthread_create(&c[i], NULL, consumer, NULL);
		pthread_create(&p[i], NULL, producer, &bases[i]);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(p[i], NULL);
	pthread_mutex_lock(&lock);
	produced_all = 1;
	pthread_cond_broadcast(&not_empty);
	pthread_mutex_unlock(&lock);
	for (int i = 0; i < 2; i++)
		pthread_join(c[i], NULL);
	printf("consumed %ld items, sum %ld\n", consumed_n, consumed_sum);
	return 0;
}
