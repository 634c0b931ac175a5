/* sig_eintr.c -- blocking calls vs signal handlers, timers and waiting for
 * signals: a pipe read interrupted by SIGALRM fails with EINTR without
 * SA_RESTART and is restarted with it; the same for a write to a full pipe
 * and for sem_wait (futex); ignored or blocked signals interrupt nothing;
 * nanosleep/clock_nanosleep/pause/sigsuspend/sigtimedwait end with EINTR even
 * with SA_RESTART; setitimer one-shot and periodic, getitimer, alarm
 * cancel/return values; sigsuspend woken by another thread restores the mask;
 * sigtimedwait takes a signal sent by another thread (no handler runs) or times
 * out with EAGAIN.
 * Args: none. Takes about 2.5 s. Prints "ok ..." lines, then "all ok"
 * (exit 0) or "FAIL: ..." lines (exit 1). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "errname.h"

#include "check.h"

#include "watchdog.h"

/* What the SIGALRM handler does besides counting. */
enum { ACT_NONE, ACT_WRITE_BYTE, ACT_DRAIN, ACT_SEM_POST };
static volatile sig_atomic_t alrm_count, alrm_action, usr_count;
static int act_fd = -1;
static sem_t sem;

static void on_alrm(int sig)
{
    int saved = errno;
    char buf[4096];
    alrm_count++;
    switch (alrm_action) {
    case ACT_WRITE_BYTE:
        (void)!write(act_fd, "x", 1);
        break;
    case ACT_DRAIN:
        (void)!read(act_fd, buf, sizeof buf);
        break;
    case ACT_SEM_POST:
        sem_post(&sem);
        break;
    }
    errno = saved;
}

static void on_usr(int sig)
{
    usr_count++;
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

/* Arms ITIMER_REAL once, after `ms` milliseconds. */
static void arm_ms(long ms)
{
    struct itimerval it;
    memset(&it, 0, sizeof it);
    it.it_value.tv_sec = ms / 1000;
    it.it_value.tv_usec = (ms % 1000) * 1000;
    setitimer(ITIMER_REAL, &it, NULL);
}

static void reset_alrm(int action, int fd)
{
    alrm_count = 0;
    alrm_action = action;
    act_fd = fd;
}

static pthread_t main_thread;

static void *send_usr1_to_main(void *arg)
{
    pthread_kill(main_thread, SIGUSR1);
    return NULL;
}

static void *kill_process_usr2(void *arg)
{
    kill(getpid(), SIGUSR2);
    return NULL;
}

/* Sends an ignored and a blocked signal, then writes one byte to the pipe. */
static void *ignored_then_byte(void *arg)
{
    int fd = *(int *)arg;
    struct timespec d = {0, 50 * 1000 * 1000};
    nanosleep(&d, NULL);
    kill(getpid(), SIGWINCH);
    kill(getpid(), SIGUSR1);
    nanosleep(&d, NULL);
    (void)!write(fd, "y", 1);
    return NULL;
}

int main(void)
{
    int p[2];
    char c;
    long r;
    setvbuf(stdout, NULL, _IOLBF, 0);
    main_thread = pthread_self();
    start_watchdog(30);
    if (pipe(p) != 0) {
        printf("FAIL: pipe\n");
        return 1;
    }

    /* --- pipe read: EINTR without SA_RESTART (alarm) --- */
    set_handler(SIGALRM, on_alrm, 0);
    reset_alrm(ACT_NONE, -1);
    alarm(1);
    CHECK_ERR(read(p[0], &c, 1), EINTR, "read on empty pipe, SIGALRM without SA_RESTART");
    check(alrm_count == 1, "alarm(1) handler ran once");

    /* --- pipe read: restarted with SA_RESTART; the handler writes a byte --- */
    set_handler(SIGALRM, on_alrm, SA_RESTART);
    reset_alrm(ACT_WRITE_BYTE, p[1]);
    arm_ms(100);
    c = 0;
    r = read(p[0], &c, 1);
    check(r == 1 && c == 'x' && alrm_count == 1, "read restarted after SA_RESTART handler: 1 byte");

    /* --- ignored and blocked signals do not interrupt a read --- */
    set_handler(SIGUSR1, on_usr, 0);
    {
        sigset_t s, old;
        sigemptyset(&s);
        sigaddset(&s, SIGUSR1);
        pthread_sigmask(SIG_BLOCK, &s, &old);
        usr_count = 0;
        pthread_t t;
        pthread_create(&t, NULL, ignored_then_byte, &p[1]);
        c = 0;
        r = read(p[0], &c, 1);
        check(r == 1 && c == 'y', "read not interrupted by ignored SIGWINCH or blocked SIGUSR1");
        pthread_join(t, NULL);
        check(usr_count == 0, "blocked SIGUSR1 not delivered yet");
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        check(usr_count == 1, "blocked SIGUSR1 delivered on unblock");
    }

    /* --- write to a full pipe --- */
    {
        int q[2];
        char big[4096];
        memset(big, 'z', sizeof big);
        if (pipe(q) != 0)
            printf("FAIL: pipe\n");
        fcntl(q[1], F_SETFL, O_NONBLOCK);
        long total = 0;
        while ((r = write(q[1], big, sizeof big)) > 0)
            total += r;
        while ((r = write(q[1], big, 1)) > 0)
            total += r;
        check(r == -1 && errno == EAGAIN && total > 0, "pipe filled (O_NONBLOCK write: EAGAIN)");
        fcntl(q[1], F_SETFL, 0);
        set_handler(SIGALRM, on_alrm, 0);
        reset_alrm(ACT_NONE, -1);
        arm_ms(100);
        CHECK_ERR(write(q[1], big, 1), EINTR, "write to full pipe, SIGALRM without SA_RESTART");
        set_handler(SIGALRM, on_alrm, SA_RESTART);
        reset_alrm(ACT_DRAIN, q[0]);
        arm_ms(100);
        r = write(q[1], big, 1);
        check(r == 1 && alrm_count == 1, "write to full pipe restarted after SA_RESTART handler drained it");
        close(q[0]);
        close(q[1]);
    }

    /* --- futex: sem_wait --- */
    sem_init(&sem, 0, 0);
    set_handler(SIGALRM, on_alrm, 0);
    reset_alrm(ACT_NONE, -1);
    arm_ms(100);
    CHECK_ERR(sem_wait(&sem), EINTR, "sem_wait, SIGALRM without SA_RESTART");
    set_handler(SIGALRM, on_alrm, SA_RESTART);
    reset_alrm(ACT_SEM_POST, -1);
    arm_ms(100);
    check(sem_wait(&sem) == 0 && alrm_count == 1, "sem_wait restarted, gets the handler's sem_post");

    /* --- setitimer interrupts pause(); getitimer --- */
    set_handler(SIGALRM, on_alrm, SA_RESTART);
    reset_alrm(ACT_NONE, -1);
    {
        struct itimerval it, q, old;
        memset(&it, 0, sizeof it);
        it.it_value.tv_usec = 50 * 1000;
        check(setitimer(ITIMER_REAL, &it, NULL) == 0, "setitimer 50 ms one-shot");
        memset(&q, 0, sizeof q);
        getitimer(ITIMER_REAL, &q);
        check(q.it_value.tv_sec == 0 && q.it_value.tv_usec > 0 && q.it_value.tv_usec <= 50000 &&
                  q.it_interval.tv_sec == 0 && q.it_interval.tv_usec == 0,
              "getitimer while armed: 0 < value <= 50 ms, no interval");
        CHECK_ERR(pause(), EINTR, "pause() interrupted by the timer (even with SA_RESTART)");
        check(alrm_count == 1, "timer handler ran once");
        memset(&q, 1, sizeof q);
        getitimer(ITIMER_REAL, &q);
        check(q.it_value.tv_sec == 0 && q.it_value.tv_usec == 0, "getitimer after expiry: zero");

        /* periodic: 3 expirations, waited for race-free with sigsuspend */
        sigset_t s, old_mask, wait_mask;
        sigemptyset(&s);
        sigaddset(&s, SIGALRM);
        pthread_sigmask(SIG_BLOCK, &s, &old_mask);
        wait_mask = old_mask;
        sigdelset(&wait_mask, SIGALRM);
        reset_alrm(ACT_NONE, -1);
        it.it_value.tv_usec = 20 * 1000;
        it.it_interval.tv_usec = 20 * 1000;
        setitimer(ITIMER_REAL, &it, NULL);
        while (alrm_count < 3)
            sigsuspend(&wait_mask);
        memset(&it, 0, sizeof it);
        setitimer(ITIMER_REAL, &it, &old);
        check(old.it_interval.tv_sec == 0 && old.it_interval.tv_usec == 20000,
              "periodic timer: 3 expirations; setitimer returns the old interval");
        pthread_sigmask(SIG_SETMASK, &old_mask, NULL); /* a late one runs here */
    }

    /* --- alarm return values --- */
    alarm(0);
    {
        unsigned first = alarm(5);
        unsigned left = alarm(0);
        check(first == 0, "alarm(5) with no alarm pending returns 0");
        check(left == 4 || left == 5, "alarm(0) after alarm(5) returns 4 or 5");
        struct itimerval q;
        memset(&q, 1, sizeof q);
        getitimer(ITIMER_REAL, &q);
        check(q.it_value.tv_sec == 0 && q.it_value.tv_usec == 0, "alarm(0) cancelled it (getitimer zero)");
        CHECK_ERR(setitimer(99, &q, NULL), EINVAL, "setitimer(99)");
    }

    /* --- sigsuspend woken by a signal from another thread --- */
    set_handler(SIGUSR1, on_usr, 0);
    {
        sigset_t s, old, waitm, after;
        sigemptyset(&s);
        sigaddset(&s, SIGUSR1);
        pthread_sigmask(SIG_BLOCK, &s, &old);
        usr_count = 0;
        pthread_t t;
        pthread_create(&t, NULL, send_usr1_to_main, NULL);
        sigprocmask(SIG_BLOCK, NULL, &waitm);
        sigdelset(&waitm, SIGUSR1);
        CHECK_ERR(sigsuspend(&waitm), EINTR, "sigsuspend woken by pthread_kill from another thread");
        check(usr_count == 1, "sigsuspend: the handler ran once");
        sigprocmask(SIG_BLOCK, NULL, &after);
        check(sigismember(&after, SIGUSR1) == 1, "sigsuspend: original mask restored (SIGUSR1 blocked)");
        pthread_join(t, NULL);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }

    /* --- sigtimedwait --- */
    set_handler(SIGUSR2, on_usr, 0);
    {
        sigset_t s, old;
        siginfo_t si;
        struct timespec ts = {5, 0};
        sigemptyset(&s);
        sigaddset(&s, SIGUSR2);
        pthread_sigmask(SIG_BLOCK, &s, &old);
        usr_count = 0;
        pthread_t t;
        pthread_create(&t, NULL, kill_process_usr2, NULL);
        memset(&si, 0, sizeof si);
        r = sigtimedwait(&s, &si, &ts);
        check(r == SIGUSR2, "sigtimedwait takes SIGUSR2 sent by another thread");
        check(si.si_signo == SIGUSR2 && si.si_code == SI_USER && si.si_pid == getpid(),
              "sigtimedwait siginfo: SIGUSR2, SI_USER, si_pid");
        pthread_join(t, NULL);
        check(usr_count == 0, "sigtimedwait: no handler ran");

        raise(SIGUSR2);
        ts.tv_sec = 0;
        ts.tv_nsec = 0;
        memset(&si, 0, sizeof si);
        r = sigtimedwait(&s, &si, &ts);
        check(r == SIGUSR2 && si.si_signo == SIGUSR2, "sigtimedwait with zero timeout takes a pending raise()");

        ts.tv_nsec = 10 * 1000 * 1000;
        CHECK_ERR(sigtimedwait(&s, &si, &ts), EAGAIN, "sigtimedwait 10 ms with nothing pending");
        ts.tv_nsec = 2000000000;
        CHECK_ERR(sigtimedwait(&s, &si, &ts), EINVAL, "sigtimedwait with tv_nsec 2e9");

        /* a handled signal outside the set interrupts it (raw system call:
         * musl's sigtimedwait() retries on EINTR) */
        set_handler(SIGALRM, on_alrm, SA_RESTART);
        reset_alrm(ACT_NONE, -1);
        arm_ms(100);
        ts.tv_sec = 5;
        ts.tv_nsec = 0;
        CHECK_ERR(syscall(SYS_rt_sigtimedwait, &s, &si, &ts, 8), EINTR, "sigtimedwait interrupted by SIGALRM handler");
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }

    /* --- nanosleep / clock_nanosleep --- */
    set_handler(SIGALRM, on_alrm, 0);
    reset_alrm(ACT_NONE, -1);
    {
        struct timespec req = {2, 0}, rem = {0, 0};
        alarm(1);
        CHECK_ERR(nanosleep(&req, &rem), EINTR, "nanosleep(2 s) interrupted by alarm(1)");
        check(rem.tv_sec < 2 && (rem.tv_sec > 0 || rem.tv_nsec > 0), "nanosleep: 0 < rem < 2 s");

        set_handler(SIGALRM, on_alrm, SA_RESTART);
        arm_ms(100);
        CHECK_ERR(nanosleep(&req, &rem), EINTR, "nanosleep interrupted even with SA_RESTART");

        arm_ms(100);
        r = clock_nanosleep(CLOCK_MONOTONIC, 0, &req, &rem);
        check(r == EINTR, "clock_nanosleep(CLOCK_MONOTONIC, relative) returns EINTR");
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        now.tv_sec += 2;
        arm_ms(100);
        r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &now, NULL);
        check(r == EINTR, "clock_nanosleep(TIMER_ABSTIME) returns EINTR");
        check(alrm_count == 4, "4 SIGALRMs handled");
    }

    if (check_failures) {
        printf("FAIL: %d check(s) failed\n", check_failures);
        return 1;
    }
    printf("all ok\n");
    return 0;
}
