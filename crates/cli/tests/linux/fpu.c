/* Threads computing with floating point at the same time: each thread's
 * SSE registers must survive preemption by the others. */
#include <pthread.h>
#include <stdio.h>

static void *work(void *arg) {
    double step = (double)(long)arg + 0.5, sum = 0;
    for (int i = 0; i < 20000; i++) {
        sum += step;
        if (i % 1000 == 0)
            sched_yield();
    }
    return (void *)(long)(sum / step);
}

int main(void) {
    pthread_t threads[4];
    for (long i = 0; i < 4; i++)
        pthread_create(&threads[i], NULL, work, (void *)i);
    int exact = 1;
    for (int i = 0; i < 4; i++) {
        void *result;
        pthread_join(threads[i], &result);
        exact &= (long)result == 20000;
    }
    printf("every thread's sum exact: %d\n", exact);
    return 0;
}
