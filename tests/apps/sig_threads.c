/* sig_threads.c -- signals and threads: pthread_kill interrupts a thread
 * spinning in a busy loop and the handler runs in that thread; SSE registers
 * survive handlers (periodic timer while computing); a process-directed
 * signal goes to the one thread that does not block it (running, or waiting
 * in sigsuspend); a thread-directed signal stays pending for its thread only;
 * new threads inherit the creator's mask; sigtimedwait in a dedicated thread;
 * pthread_cancel of a thread blocked in read() (cleanup handler runs), of one
 * calling pthread_testcancel, and of an asynchronously cancelable busy loop;
 * the process exits while a thread is blocked in read().
 * Args: none. Prints "ok ..." lines, then "all ok" (exit 0) or
 * "FAIL: ..." lines (exit 1). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "errname.h"

#include "check.h"

#include "watchdog.h"

static volatile sig_atomic_t flag, started, hcount;
static volatile pthread_t handler_thread;

static void on_sig(int sig)
{
    handler_thread = pthread_self();
    hcount++;
    flag = 1;
}

static void set_handler(int sig, void (*h)(int), int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = h;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

static void mask(int how, int sig)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    pthread_sigmask(how, &s, NULL);
}

static void *spin_until_flag(void *arg)
{
    started = 1;
    while (!flag)
        ;
    return NULL;
}

/* --- SSE state across handlers --- */
static volatile sig_atomic_t alrm_hits;

static void on_alrm_clobber(int sig)
{
    volatile double x = 1.0;
    for (int i = 0; i < 100; i++)
        x = x * 3.75 + 1e10 / (i + 1.5);
    alrm_hits++;
}

__attribute__((noinline)) static double fp_block(double seed)
{
    double a = seed, b = seed * 0.5, c = seed + 1.0, d = 1.0 / (seed + 2.0);
    for (int i = 0; i < 20000; i++) {
        a = a * 1.0000001 + d;
        b = b * 0.9999999 + a * 1e-9;
        c = c + b * d;
        d = d * 0.99999 + 1e-7;
    }
    return a + b + c + d;
}

/* --- process-directed signal to the only unblocking thread --- */
static sem_t ready;

static void *unblocked_spinner(void *arg)
{
    mask(SIG_UNBLOCK, SIGUSR2);
    sem_post(&ready);
    while (!flag)
        ;
    return NULL;
}

static void *sigsuspend_waiter(void *arg)
{
    sigset_t m;
    pthread_sigmask(SIG_BLOCK, NULL, &m);
    sigdelset(&m, SIGUSR2);
    sem_post(&ready);
    while (!flag)
        sigsuspend(&m);
    return NULL;
}

/* --- thread-directed pending --- */
static sem_t go;
static volatile int worker_saw_pending;

static void *pending_worker(void *arg)
{
    sigset_t p;
    mask(SIG_BLOCK, SIGUSR1);
    sem_post(&ready);
    sem_wait(&go);
    sigemptyset(&p);
    sigpending(&p);
    worker_saw_pending = sigismember(&p, SIGUSR1);
    mask(SIG_UNBLOCK, SIGUSR1);
    return NULL;
}

static void *report_mask(void *arg)
{
    sigset_t m;
    pthread_sigmask(SIG_BLOCK, NULL, &m);
    return (void *)(long)(sigismember(&m, SIGUSR1) && sigismember(&m, SIGRTMIN + 4) &&
                          !sigismember(&m, SIGUSR2));
}

static void *sigwaiter(void *arg)
{
    sigset_t s;
    struct timespec ts = {10, 0};
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    sem_post(&ready);
    return (void *)(long)sigtimedwait(&s, NULL, &ts); /* -1 EAGAIN after 10 s */
}

/* --- cancellation --- */
static int cancel_pipe[2];
static volatile int cleanup_ran;

static void cleanup(void *arg)
{
    cleanup_ran = 1;
}

static void *blocked_reader(void *arg)
{
    char c;
    pthread_cleanup_push(cleanup, NULL);
    sem_post(&ready);
    (void)!read(cancel_pipe[0], &c, 1);
    pthread_cleanup_pop(0);
    return (void *)1L;
}

static void *testcancel_loop(void *arg)
{
    sem_post(&ready);
    for (;;)
        pthread_testcancel();
    return NULL;
}

static volatile unsigned long async_spins;

static void *async_spinner(void *arg)
{
    pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, NULL);
    sem_post(&ready);
    for (;;)
        async_spins++;
    return NULL;
}

static void *forever_reader(void *arg)
{
    char c;
    sem_post(&ready);
    (void)!read(*(int *)arg, &c, 1);
    return NULL;
}

int main(void)
{
    pthread_t t;
    void *res;
    setvbuf(stdout, NULL, _IOLBF, 0);
    sem_init(&ready, 0, 0);
    sem_init(&go, 0, 0);
    start_watchdog(30);

    /* --- pthread_kill interrupts a busy loop; handler runs in that thread --- */
    set_handler(SIGUSR1, on_sig, 0);
    flag = started = 0;
    handler_thread = pthread_self();
    pthread_create(&t, NULL, spin_until_flag, NULL);
    while (!started)
        sched_yield();
    check(pthread_kill(t, SIGUSR1) == 0, "pthread_kill(spinning thread, SIGUSR1)");
    pthread_join(t, NULL);
    check(flag == 1, "busy loop interrupted: the handler set the flag, the thread ended");
    check(pthread_equal(handler_thread, t), "the handler ran in the target thread");

    /* --- SSE registers survive handlers --- */
    {
        double expect[8];
        int bad = 0, rounds = 0;
        for (int i = 0; i < 8; i++)
            expect[i] = fp_block(i + 0.25);
        set_handler(SIGALRM, on_alrm_clobber, SA_RESTART);
        alrm_hits = 0;
        struct itimerval it = {{0, 1000}, {0, 1000}};
        setitimer(ITIMER_REAL, &it, NULL);
        while (alrm_hits < 20 || rounds < 8) {
            if (fp_block((rounds % 8) + 0.25) != expect[rounds % 8])
                bad++;
            rounds++;
        }
        memset(&it, 0, sizeof it);
        setitimer(ITIMER_REAL, &it, NULL);
        check(bad == 0, "20+ SIGALRMs during floating-point work: all results exact");
    }

    /* --- process-directed signal: the only thread not blocking it --- */
    set_handler(SIGUSR2, on_sig, 0);
    mask(SIG_BLOCK, SIGUSR2);
    flag = 0;
    handler_thread = pthread_self();
    pthread_create(&t, NULL, unblocked_spinner, NULL);
    sem_wait(&ready);
    kill(getpid(), SIGUSR2);
    pthread_join(t, NULL);
    check(flag == 1 && pthread_equal(handler_thread, t),
          "kill(getpid()) while main blocks SIGUSR2: delivered to the spinning worker");

    flag = 0;
    handler_thread = pthread_self();
    pthread_create(&t, NULL, sigsuspend_waiter, NULL);
    sem_wait(&ready);
    kill(getpid(), SIGUSR2);
    pthread_join(t, NULL);
    check(flag == 1 && pthread_equal(handler_thread, t),
          "kill(getpid()) while all block SIGUSR2: delivered to the worker's sigsuspend");
    {
        sigset_t p;
        sigpending(&p);
        check(!sigismember(&p, SIGUSR2), "nothing left pending");
    }
    mask(SIG_UNBLOCK, SIGUSR2);

    /* --- thread-directed signal stays pending for its thread --- */
    hcount = 0;
    handler_thread = pthread_self();
    pthread_create(&t, NULL, pending_worker, NULL);
    sem_wait(&ready);
    pthread_kill(t, SIGUSR1);
    {
        sigset_t p;
        sigemptyset(&p);
        sigpending(&p);
        check(!sigismember(&p, SIGUSR1) && hcount == 0,
              "pthread_kill to a blocking worker: not pending for main, not delivered");
    }
    sem_post(&go);
    pthread_join(t, NULL);
    check(worker_saw_pending == 1, "the worker's sigpending shows SIGUSR1");
    check(hcount == 1 && pthread_equal(handler_thread, t), "delivered in the worker when it unblocked");

    /* --- mask inheritance --- */
    {
        sigset_t s, old;
        sigemptyset(&s);
        sigaddset(&s, SIGUSR1);
        sigaddset(&s, SIGRTMIN + 4);
        pthread_sigmask(SIG_BLOCK, &s, &old);
        pthread_create(&t, NULL, report_mask, NULL);
        pthread_join(t, &res);
        check(res == (void *)1L, "a new thread inherits the creator's signal mask");

        /* sigtimedwait in a dedicated thread; all threads block SIGUSR1 */
        hcount = 0;
        pthread_create(&t, NULL, sigwaiter, NULL);
        sem_wait(&ready);
        /* Let the worker reach sigtimedwait first (the result does not
         * depend on it; this exercises waking a waiting thread). */
        struct timespec d = {0, 50 * 1000 * 1000}, t0, t1;
        nanosleep(&d, NULL);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        kill(getpid(), SIGUSR1);
        pthread_join(t, &res);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        check(t1.tv_sec - t0.tv_sec < 5, "sigtimedwait (10 s timeout) woken at once, not at the timeout");
        check(res == (void *)(long)SIGUSR1 && hcount == 0,
              "sigtimedwait in a worker takes a process-directed SIGUSR1; no handler runs");
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }

    /* --- cancellation --- */
    if (pipe(cancel_pipe) != 0)
        return 1;
    cleanup_ran = 0;
    pthread_create(&t, NULL, blocked_reader, NULL);
    sem_wait(&ready);
    check(pthread_cancel(t) == 0, "pthread_cancel of a thread blocked in read()");
    res = NULL;
    pthread_join(t, &res);
    check(res == PTHREAD_CANCELED, "join: PTHREAD_CANCELED");
    check(cleanup_ran == 1, "cleanup handler ran");

    pthread_create(&t, NULL, testcancel_loop, NULL);
    sem_wait(&ready);
    pthread_cancel(t);
    res = NULL;
    pthread_join(t, &res);
    check(res == PTHREAD_CANCELED, "pthread_testcancel loop: PTHREAD_CANCELED");

    pthread_create(&t, NULL, async_spinner, NULL);
    sem_wait(&ready);
    pthread_cancel(t);
    res = NULL;
    pthread_join(t, &res);
    check(res == PTHREAD_CANCELED, "asynchronous cancel of a busy loop: PTHREAD_CANCELED");

    /* --- exit while a thread is blocked in read() --- */
    pthread_create(&t, NULL, forever_reader, &cancel_pipe[0]);
    sem_wait(&ready);

    if (check_failures) {
        printf("FAIL: %d check(s) failed\n", check_failures);
        return 1;
    }
    printf("all ok\n");
    return 0;
}
