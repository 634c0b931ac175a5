/* thread_limit.c -- creates up to 64 threads that block (mutex + condition
 * variable) until main releases them; prints "created all 64" or "create
 * failed after N: <ERRNAME>" (N threads created), then releases and joins
 * the created ones and prints "joined". Not differential: the LibOS allows
 * resource_limits.max_num_of_threads (32) threads in all, main included.
 * Small (256 KiB) stacks keep memory out of the way.
 * Args: none. Exit status 0 (1 if a join fails). */
#include <pthread.h>
#include <stdio.h>
#include "errname.h"

#define WANT 64

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int released;

static void *blocker(void *arg)
{
    pthread_mutex_lock(&lock);
    while (!released)
        pthread_cond_wait(&cv, &lock);
    pthread_mutex_unlock(&lock);
    return arg;
}

int main(void)
{
    pthread_t th[WANT];
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    int n = 0, err = 0;
    for (; n < WANT; n++) {
        err = pthread_create(&th[n], &attr, blocker, (void *)(long)(n + 1));
        if (err)
            break;
    }
    pthread_attr_destroy(&attr);
    if (n == WANT)
        printf("created all %d\n", WANT);
    else
        printf("create failed after %d: %s\n", n, errname(err));

    pthread_mutex_lock(&lock);
    released = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&lock);
    int bad = 0;
    for (int i = 0; i < n; i++) {
        void *ret;
        if (pthread_join(th[i], &ret) != 0 || ret != (void *)(long)(i + 1))
            bad++;
    }
    if (bad) {
        printf("FAIL: %d joins\n", bad);
        return 1;
    }
    printf("joined\n");
    return 0;
}
