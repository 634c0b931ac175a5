/* mqueue.c -- POSIX message queues: open/create with attributes,
 * priorities, non-blocking and timed sends and receives, mq_notify with a
 * signal, a blocking receive of another process's message, mq_getattr /
 * mq_setattr, unlink, and the errors of each. Prints "ok ..." lines and
 * "all ok". */
#define _GNU_SOURCE
#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "check.h"

int main(void)
{
    char name[64];
    snprintf(name, sizeof name, "/mq-test-%d", getpid());
    struct mq_attr attr = {.mq_maxmsg = 3, .mq_msgsize = 64};
    mqd_t q = mq_open(name, O_CREAT | O_EXCL | O_RDWR | O_NONBLOCK, 0600, &attr);
    check(q != (mqd_t)-1, "mq_open O_CREAT|O_EXCL");
    check(fcntl(q, F_GETFD) & FD_CLOEXEC, "a queue descriptor is close-on-exec");
    CHECK_ERR(mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, &attr), EEXIST, "O_EXCL on an existing queue");
    struct mq_attr got;
    check(mq_getattr(q, &got) == 0 && got.mq_maxmsg == 3 && got.mq_msgsize == 64 && got.mq_curmsgs == 0 &&
              (got.mq_flags & O_NONBLOCK),
          "mq_getattr");
    check(mq_send(q, "low", 4, 1) == 0 && mq_send(q, "high", 5, 9) == 0 && mq_send(q, "low2", 5, 1) == 0,
          "three messages, two priorities");
    CHECK_ERR(mq_send(q, "full", 5, 1), EAGAIN, "a full queue, non-blocking");
    char buf[64];
    unsigned prio = 0;
    check(mq_receive(q, buf, sizeof buf, &prio) == 5 && prio == 9 && !strcmp(buf, "high"), "the highest priority first");
    check(mq_receive(q, buf, sizeof buf, &prio) == 4 && !strcmp(buf, "low"), "then the oldest of the rest");
    check(mq_receive(q, buf, sizeof buf, NULL) == 5 && !strcmp(buf, "low2"), "then the next");
    CHECK_ERR(mq_receive(q, buf, sizeof buf, NULL), EAGAIN, "an empty queue, non-blocking");
    CHECK_ERR(mq_receive(q, buf, 10, NULL), EMSGSIZE, "a buffer below the message size");
    char big[100] = {0};
    CHECK_ERR(mq_send(q, big, sizeof big, 1), EMSGSIZE, "a message above the message size");
    CHECK_ERR(mq_send(q, "x", 1, 40000), EINVAL, "a priority past MQ_PRIO_MAX");

    struct mq_attr blocking = {.mq_flags = 0};
    check(mq_setattr(q, &blocking, &got) == 0 && (got.mq_flags & O_NONBLOCK) && mq_getattr(q, &got) == 0 &&
              !(got.mq_flags & O_NONBLOCK),
          "mq_setattr clears O_NONBLOCK");
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 20000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    CHECK_ERR(mq_timedreceive(q, buf, sizeof buf, NULL, &ts), ETIMEDOUT, "mq_timedreceive times out");
    ts.tv_nsec = 2000000000;
    CHECK_ERR(mq_timedreceive(q, buf, sizeof buf, NULL, &ts), EINVAL, "a bad time-out");

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1};
    ev.sigev_value.sival_int = 5;
    check(mq_notify(q, &ev) == 0, "mq_notify SIGEV_SIGNAL");
    CHECK_ERR(mq_notify(q, &ev), EBUSY, "a second registration");
    pid_t pid = fork();
    if (pid == 0) {
        mqd_t c = mq_open(name, O_WRONLY);
        _exit(c != (mqd_t)-1 && mq_send(c, "from the child", 15, 3) == 0 ? 0 : 1);
    }
    siginfo_t info;
    check(sigwaitinfo(&set, &info) == SIGUSR1 && info.si_code == SI_MESGQ && info.si_value.sival_int == 5 &&
              info.si_pid == pid,
          "the signal: SI_MESGQ, the value, the sender");
    check(mq_receive(q, buf, sizeof buf, &prio) == 15 && prio == 3 && !strcmp(buf, "from the child"),
          "the child's message");
    int status;
    waitpid(pid, &status, 0);
    check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child exited 0");

    pid = fork();
    if (pid == 0) {
        usleep(20000);
        mqd_t c = mq_open(name, O_WRONLY);
        _exit(mq_send(c, "late", 5, 0) == 0 ? 0 : 1);
    }
    check(mq_receive(q, buf, sizeof buf, NULL) == 5 && !strcmp(buf, "late"), "a blocking receive waits for it");
    waitpid(pid, &status, 0);

    mqd_t ro = mq_open(name, O_RDONLY);
    CHECK_ERR(mq_send(ro, "x", 1, 0), EBADF, "mq_send on a read-only descriptor");
    mq_close(ro);
    check(mq_unlink(name) == 0, "mq_unlink");
    CHECK_ERR(mq_unlink(name), ENOENT, "mq_unlink twice");
    CHECK_ERR(mq_open(name, O_RDWR), ENOENT, "mq_open of an unlinked queue");
    check(mq_send(q, "still", 6, 0) == 0 && mq_receive(q, buf, sizeof buf, NULL) == 6, "the open queue still works");
    struct mq_attr bad = {.mq_maxmsg = 0, .mq_msgsize = 8};
    CHECK_ERR(mq_open(name, O_CREAT | O_RDWR, 0600, &bad), EINVAL, "mq_maxmsg of 0");
    mq_close(q);
    return check_done();
}
