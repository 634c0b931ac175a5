/* threads.c -- POSIX threads: 16 workers each add 1 to a shared counter
 * 10,000 times under a mutex and report completion through a condition
 * variable (main waits until all 16 are done, then joins them and gets each
 * worker's return value back); every thread has gettid() != getpid() and a
 * distinct tid; a __thread variable is per-thread; a detached thread runs.
 * Args: none. Prints "ok ..." lines, then "all ok" (exit 0) or "FAIL: ..." (exit 1). */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "check.h"

#define NTHREADS 16
#define NITERS 10000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cv = PTHREAD_COND_INITIALIZER;
static long counter;
static int done;
static pid_t main_pid;

static __thread int tls_value = -1;

struct worker {
    int index;
    pid_t tid;
    int tid_differs;  /* gettid() != getpid() */
    int pid_same;     /* getpid() == main's getpid() */
    int tls_initial;  /* the __thread value the thread first saw */
    int tls_kept;     /* its own value survived the other threads */
};

static pid_t my_tid(void)
{
    return (pid_t)syscall(SYS_gettid);
}

static void *work(void *arg)
{
    struct worker *w = arg;
    w->tid = my_tid();
    w->tid_differs = w->tid != getpid();
    w->pid_same = getpid() == main_pid;
    w->tls_initial = tls_value;
    tls_value = w->index;
    for (int i = 0; i < NITERS; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
        if (i % 1000 == 0)
            sched_yield(); /* let the others run and touch their tls_value */
    }
    w->tls_kept = tls_value == w->index;
    pthread_mutex_lock(&lock);
    done++;
    pthread_cond_signal(&done_cv);
    pthread_mutex_unlock(&lock);
    return (void *)(intptr_t)(w->index * 3 + 1);
}

static pthread_mutex_t det_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t det_cv = PTHREAD_COND_INITIALIZER;
static int det_ran;
static pid_t det_tid;

static void *detached(void *arg)
{
    pthread_mutex_lock(&det_lock);
    det_ran = 1;
    det_tid = my_tid();
    pthread_cond_signal(&det_cv);
    pthread_mutex_unlock(&det_lock);
    return NULL;
}

int main(void)
{
    main_pid = getpid();
    check(my_tid() == getpid(), "main thread: gettid() == getpid()");
    tls_value = 1000;

    pthread_t th[NTHREADS];
    struct worker w[NTHREADS];
    int created = 1;
    for (int i = 0; i < NTHREADS; i++) {
        w[i] = (struct worker){ .index = i };
        int e = pthread_create(&th[i], NULL, work, &w[i]);
        if (e) {
            printf("FAIL: pthread_create %d: %s\n", i, errname(e));
            check_failures++;
            created = 0;
            break;
        }
    }
    if (!created)
        return check_done();
    check(1, "created %d threads", NTHREADS);

    pthread_mutex_lock(&lock);
    while (done < NTHREADS)
        pthread_cond_wait(&done_cv, &lock);
    int done_seen = done;
    pthread_mutex_unlock(&lock);
    check_eq(done_seen, NTHREADS, "condvar: all workers signalled done");

    int rets_ok = 1;
    for (int i = 0; i < NTHREADS; i++) {
        void *ret = NULL;
        int e = pthread_join(th[i], &ret);
        if (e || (intptr_t)ret != i * 3 + 1)
            rets_ok = 0;
    }
    check(rets_ok, "pthread_join returned each thread's value");
    check_eq(counter, (long)NTHREADS * NITERS, "counter == 160000");

    int differs = 1, same_pid = 1, distinct = 1, tls_init = 1, tls_kept = 1;
    for (int i = 0; i < NTHREADS; i++) {
        differs &= w[i].tid_differs;
        same_pid &= w[i].pid_same;
        tls_init &= w[i].tls_initial == -1;
        tls_kept &= w[i].tls_kept;
        if (w[i].tid == main_pid)
            distinct = 0;
        for (int j = 0; j < i; j++)
            if (w[j].tid == w[i].tid)
                distinct = 0;
    }
    check(differs, "every thread: gettid() != getpid()");
    check(same_pid, "every thread: same getpid() as main");
    check(distinct, "tids are distinct");
    check(tls_init, "__thread variable starts at its initial value in each thread");
    check(tls_kept, "__thread variable is per-thread");
    check_eq(tls_value, 1000, "main's __thread variable unchanged");

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int ds = -1;
    pthread_attr_getdetachstate(&attr, &ds);
    pthread_t dt;
    int e = pthread_create(&dt, &attr, detached, NULL);
    pthread_attr_destroy(&attr);
    check(e == 0 && ds == PTHREAD_CREATE_DETACHED, "detached thread created");
    if (e == 0) {
        pthread_mutex_lock(&det_lock);
        while (!det_ran)
            pthread_cond_wait(&det_cv, &det_lock);
        pthread_mutex_unlock(&det_lock);
        check(det_tid != main_pid, "detached thread ran");
    }
    return check_done();
}
