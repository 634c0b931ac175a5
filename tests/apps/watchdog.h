/* watchdog.h -- for test programs that could hang if the system under test
 * loses a wake-up. */
#ifndef WATCHDOG_H
#define WATCHDOG_H

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

/* Watchdog: a thread with every signal blocked ends the program with a FAIL
 * line if it still runs after `secs` seconds (instead of hanging). It waits
 * on a semaphore nobody posts (a futex wait, which does not delay exit). */
static sem_t watchdog_sem;

static void *watchdog(void *arg)
{
    static const char msg[] = "FAIL: watchdog: still running after the time limit\n";
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += (long)arg;
    while (sem_timedwait(&watchdog_sem, &deadline) != 0 && errno == EINTR)
        ;
    (void)!write(1, msg, sizeof msg - 1);
    _exit(1);
    return NULL;
}

static void start_watchdog(long secs)
{
    sigset_t all, old;
    pthread_t t;
    sem_init(&watchdog_sem, 0, 0);
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old); /* inherited by the watchdog */
    pthread_create(&t, NULL, watchdog, (void *)secs);
    pthread_detach(t);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

#endif
