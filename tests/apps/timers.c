/* timers.c -- timers and signals as files: timerfd (relative, absolute,
 * periodic, disarmed, errors), signalfd (signals of the caller, a changed
 * set, several records per read, a signal from a child, errors), both in
 * an epoll loop, sigqueue (rt_sigqueueinfo) values, and POSIX timers
 * (SIGEV_SIGNAL with its value, SIGEV_NONE, SIGEV_THREAD, not inherited by
 * fork, errors). Only lower bounds on elapsed time are checked (a sleep
 * lasts at least as long as asked). Prints "ok ..." lines and "all ok". */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "check.h"

static struct itimerspec ms(long value_ms, long interval_ms)
{
    struct itimerspec t = {
        .it_value = {value_ms / 1000, (value_ms % 1000) * 1000000},
        .it_interval = {interval_ms / 1000, (interval_ms % 1000) * 1000000},
    };
    return t;
}

static void timerfds(void)
{
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    check(fd >= 0, "timerfd_create");
    check(fcntl(fd, F_GETFD) == FD_CLOEXEC && (fcntl(fd, F_GETFL) & O_NONBLOCK), "TFD_CLOEXEC and TFD_NONBLOCK");
    uint64_t n = 0;
    CHECK_ERR(read(fd, &n, 8), EAGAIN, "read of a disarmed timerfd");
    struct itimerspec t = ms(20, 10), cur;
    check(timerfd_settime(fd, 0, &t, NULL) == 0, "arm: 20 ms, then every 10 ms");
    check(timerfd_gettime(fd, &cur) == 0 && cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0 &&
              cur.it_value.tv_nsec <= 20000000 && cur.it_interval.tv_nsec == 10000000,
          "timerfd_gettime: time left and period");
    struct pollfd p = {.fd = fd, .events = POLLIN};
    check(poll(&p, 1, 10000) == 1 && p.revents == POLLIN, "poll wakes when it expires");
    check(read(fd, &n, 8) == 8 && n >= 1, "read: at least one expiration");
    usleep(25000);
    check(read(fd, &n, 8) == 8 && n >= 2, "read after 25 ms: at least two more");
    CHECK_ERR(read(fd, &n, 4), EINVAL, "read into 4 bytes");
    struct itimerspec old;
    t = ms(0, 0);
    check(timerfd_settime(fd, 0, &t, &old) == 0 && old.it_interval.tv_nsec == 10000000, "disarm; the old setting");
    check(timerfd_gettime(fd, &cur) == 0 && cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0, "disarmed: nothing left");
    close(fd);

    /* Absolute time on the real-time clock, read blocking. */
    fd = timerfd_create(CLOCK_REALTIME, 0);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    t = ms(0, 0);
    t.it_value = now;
    t.it_value.tv_nsec += 10000000;
    if (t.it_value.tv_nsec >= 1000000000) {
        t.it_value.tv_sec++;
        t.it_value.tv_nsec -= 1000000000;
    }
    check(timerfd_settime(fd, TFD_TIMER_ABSTIME, &t, NULL) == 0, "arm at an absolute time 10 ms ahead");
    check(read(fd, &n, 8) == 8 && n == 1, "a blocking read returns its one expiration");
    t.it_value.tv_sec -= 100;
    check(timerfd_settime(fd, TFD_TIMER_ABSTIME, &t, NULL) == 0 && read(fd, &n, 8) == 8 && n == 1,
          "an absolute time in the past expires at once");
    CHECK_ERR(timerfd_create(99, 0), EINVAL, "timerfd_create with a bad clock");
    CHECK_ERR(timerfd_create(CLOCK_MONOTONIC, 0x10), EINVAL, "timerfd_create with bad flags");
    CHECK_ERR(timerfd_settime(fd, 0x80, &t, NULL), EINVAL, "timerfd_settime with bad flags");
    t.it_value.tv_nsec = 1000000000;
    CHECK_ERR(timerfd_settime(fd, 0, &t, NULL), EINVAL, "timerfd_settime with tv_nsec of a second");
    int pipefd[2];
    pipe(pipefd);
    t = ms(10, 0);
    CHECK_ERR(timerfd_settime(pipefd[0], 0, &t, NULL), EINVAL, "timerfd_settime on a pipe");
    CHECK_ERR(timerfd_gettime(999, &cur), EBADF, "timerfd_gettime on a closed fd");
    close(pipefd[0]);
    close(pipefd[1]);
    close(fd);
}

static void signalfds(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGRTMIN);
    sigprocmask(SIG_BLOCK, &set, NULL);
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, SIGUSR1);
    sigaddset(&one, SIGRTMIN);
    int fd = signalfd(-1, &one, SFD_NONBLOCK | SFD_CLOEXEC);
    check(fd >= 0, "signalfd");
    struct signalfd_siginfo si[2];
    CHECK_ERR(read(fd, si, sizeof si), EAGAIN, "read with nothing pending");
    kill(getpid(), SIGUSR1);
    memset(si, 0, sizeof si);
    check(read(fd, si, sizeof si) == sizeof si[0] && si[0].ssi_signo == SIGUSR1 && si[0].ssi_code == SI_USER &&
              si[0].ssi_pid == (uint32_t)getpid(),
          "kill: SIGUSR1 from this process, SI_USER");
    union sigval v = {.sival_int = 42};
    check(sigqueue(getpid(), SIGUSR1, v) == 0, "sigqueue with a value");
    check(read(fd, si, sizeof si) == sizeof si[0] && si[0].ssi_code == SI_QUEUE && si[0].ssi_int == 42,
          "its record: SI_QUEUE and the value");
    v.sival_int = 1;
    sigqueue(getpid(), SIGRTMIN, v);
    v.sival_int = 2;
    sigqueue(getpid(), SIGRTMIN, v);
    check(read(fd, si, sizeof si) == 2 * sizeof si[0] && si[0].ssi_int == 1 && si[1].ssi_int == 2,
          "two queued real-time signals in one read, in order");
    kill(getpid(), SIGUSR2);
    CHECK_ERR(read(fd, si, sizeof si), EAGAIN, "SIGUSR2 is not in the set");
    sigset_t two;
    sigemptyset(&two);
    sigaddset(&two, SIGUSR2);
    check(signalfd(fd, &two, 0) == fd, "signalfd on the same fd changes the set");
    check(read(fd, si, sizeof si) == sizeof si[0] && si[0].ssi_signo == SIGUSR2, "now SIGUSR2 is read");
    CHECK_ERR(read(fd, si, 64), EINVAL, "read into less than one record");
    CHECK_ERR(syscall(SYS_signalfd4, -1, &one, 4, 0), EINVAL, "a set size other than 8");
    CHECK_ERR(signalfd(-1, &one, 0x10), EINVAL, "bad flags");
    int pipefd[2];
    pipe(pipefd);
    CHECK_ERR(signalfd(pipefd[0], &one, 0), EINVAL, "signalfd on a pipe");
    close(pipefd[0]);
    close(pipefd[1]);
    union sigval z = {0};
    CHECK_ERR(sigqueue(getpid(), 99, z), EINVAL, "sigqueue of a bad signal");
    siginfo_t raw;
    memset(&raw, 0, sizeof raw);
    raw.si_code = SI_USER;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        /* Codes the kernel uses may only be sent to oneself. */
        int denied = syscall(SYS_rt_sigqueueinfo, parent, SIGUSR2, &raw) == -1 && errno == EPERM;
        kill(parent, SIGUSR2);
        _exit(denied ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "rt_sigqueueinfo with SI_USER to another process: EPERM");
    fcntl(fd, F_SETFL, 0);
    check(read(fd, si, sizeof si) == sizeof si[0] && si[0].ssi_signo == SIGUSR2 && si[0].ssi_pid == (uint32_t)pid,
          "a blocking read: SIGUSR2 from the child, with its pid");
    close(fd);
}

/* A timerfd and a signalfd in one epoll loop. */
static void epoll_loop(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    int sfd = signalfd(-1, &set, SFD_NONBLOCK);
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 1};
    epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
    ev.data.u32 = 2;
    epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
    struct itimerspec t = ms(5, 5);
    timerfd_settime(tfd, 0, &t, NULL);
    int ticks = 0, signals = 0, rounds = 0;
    while ((ticks < 3 || signals < 1) && rounds++ < 1000) {
        struct epoll_event out[2];
        int n = epoll_wait(ep, out, 2, 5000);
        for (int i = 0; i < n; i++) {
            if (out[i].data.u32 == 1) {
                uint64_t c;
                if (read(tfd, &c, 8) == 8)
                    ticks += c;
                if (ticks >= 3 && signals == 0)
                    kill(getpid(), SIGUSR1);
            } else {
                struct signalfd_siginfo si;
                if (read(sfd, &si, sizeof si) == sizeof si && si.ssi_signo == SIGUSR1)
                    signals++;
            }
        }
    }
    check(ticks >= 3 && signals == 1, "epoll loop: timer expirations, then the signal");
    close(ep);
    close(tfd);
    close(sfd);
}

static sem_t fired;

static void on_timer(union sigval v)
{
    if (v.sival_int == 5)
        sem_post(&fired);
}

static void posix_timers(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    sigprocmask(SIG_BLOCK, &set, NULL);
    struct sigevent sev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR2};
    sev.sigev_value.sival_int = 7;
    timer_t id;
    check(timer_create(CLOCK_MONOTONIC, &sev, &id) == 0, "timer_create SIGEV_SIGNAL");
    struct itimerspec t = ms(10, 0), cur;
    check(timer_settime(id, 0, &t, NULL) == 0, "timer_settime 10 ms");
    siginfo_t info;
    check(sigwaitinfo(&set, &info) == SIGUSR2 && info.si_code == SI_TIMER && info.si_value.sival_int == 7,
          "its signal: SI_TIMER with the value");
    check(timer_gettime(id, &cur) == 0 && cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0,
          "a one-shot timer that fired: nothing left");
    check(timer_getoverrun(id) == 0, "timer_getoverrun: 0");
    pid_t pid = fork();
    if (pid == 0)
        _exit(timer_gettime(id, &cur) == -1 && errno == EINVAL ? 0 : 1);
    int status;
    waitpid(pid, &status, 0);
    check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a fork child has no timers");
    check(timer_delete(id) == 0, "timer_delete");
    CHECK_ERR(timer_settime(id, 0, &t, NULL), EINVAL, "timer_settime of a deleted timer");

    struct sigevent none = {.sigev_notify = SIGEV_NONE};
    check(timer_create(CLOCK_REALTIME, &none, &id) == 0, "timer_create SIGEV_NONE");
    t = ms(3600 * 1000, 1000);
    check(timer_settime(id, 0, &t, NULL) == 0 && timer_gettime(id, &cur) == 0 && cur.it_value.tv_sec <= 3600 &&
              cur.it_value.tv_sec >= 3500 && cur.it_interval.tv_sec == 1,
          "timer_gettime: about an hour left, period 1 s");
    timer_delete(id);

    sem_init(&fired, 0, 0);
    struct sigevent thr = {.sigev_notify = SIGEV_THREAD, .sigev_notify_function = on_timer};
    thr.sigev_value.sival_int = 5;
    check(timer_create(CLOCK_MONOTONIC, &thr, &id) == 0, "timer_create SIGEV_THREAD");
    t = ms(10, 0);
    timer_settime(id, 0, &t, NULL);
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 10;
    check(sem_timedwait(&fired, &deadline) == 0, "its function ran with the value");
    timer_delete(id);

    CHECK_ERR(timer_create(99, &none, &id), EINVAL, "timer_create with a bad clock");
    struct sigevent bad = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = 99};
    CHECK_ERR(timer_create(CLOCK_MONOTONIC, &bad, &id), EINVAL, "timer_create with a bad signal");
}

int main(void)
{
    timerfds();
    signalfds();
    epoll_loop();
    posix_timers();
    return check_done();
}
