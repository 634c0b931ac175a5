/* polling.c -- readiness and event descriptors: poll, ppoll, select,
 * pselect, epoll, eventfd, and socketpair(AF_UNIX, SOCK_STREAM). Prints
 * "ok ..." lines and "all ok". */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "errname.h"

static int fails;
#define CHECK(cond, what) do { if (cond) printf("ok %s\n", what); else { printf("FAIL: %s (errno %s)\n", what, errname(errno)); fails++; } } while (0)

static int wake_fd;
static void *late_writer(void *arg)
{
    (void)arg;
    struct timespec t = {0, 20 * 1000 * 1000};
    nanosleep(&t, NULL);
    write(wake_fd, "w", 1);
    return NULL;
}

int main(void)
{
    int p[2];
    pipe(p);
    struct pollfd pf[3] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}, {-1, POLLIN, 0}};
    CHECK(poll(pf, 3, 0) == 1 && pf[0].revents == 0 && pf[1].revents == POLLOUT && pf[2].revents == 0,
          "poll: empty pipe is writable, not readable");
    write(p[1], "x", 1);
    CHECK(poll(pf, 2, 0) == 2 && pf[0].revents == POLLIN, "poll: readable after a write");
    int gone = dup(p[0]);
    close(gone);
    struct pollfd bad = {gone, POLLIN, 0};
    CHECK(poll(&bad, 1, 0) == 1 && bad.revents == POLLNVAL, "poll: POLLNVAL for a closed fd");
    char c;
    read(p[0], &c, 1);
    CHECK(poll(pf, 1, 10) == 0, "poll: times out");
    struct timespec ts = {0, 1000000};
    sigset_t none;
    sigemptyset(&none);
    CHECK(ppoll(pf, 1, &ts, &none) == 0, "ppoll: times out");

    wake_fd = p[1];
    pthread_t th;
    pthread_create(&th, NULL, late_writer, NULL);
    pf[0].revents = 0;
    CHECK(poll(pf, 1, -1) == 1 && pf[0].revents == POLLIN, "poll: woken by another thread's write");
    pthread_join(th, NULL);
    read(p[0], &c, 1);

    fd_set rs, ws;
    FD_ZERO(&rs);
    FD_ZERO(&ws);
    FD_SET(p[0], &rs);
    FD_SET(p[1], &ws);
    struct timeval tv = {0, 0};
    CHECK(select(p[1] + 1, &rs, &ws, NULL, &tv) == 1 && !FD_ISSET(p[0], &rs) && FD_ISSET(p[1], &ws),
          "select: write end ready");
    write(p[1], "y", 1);
    FD_ZERO(&rs);
    FD_SET(p[0], &rs);
    struct timespec pts = {1, 0};
    CHECK(pselect(p[0] + 1, &rs, NULL, NULL, &pts, &none) == 1 && FD_ISSET(p[0], &rs), "pselect: read end ready");
    int closed = dup(p[0]);
    close(closed);
    FD_ZERO(&rs);
    FD_SET(closed, &rs);
    tv.tv_sec = 0;
    errno = 0;
    CHECK(select(closed + 1, &rs, NULL, NULL, &tv) == -1 && errno == EBADF, "select: EBADF for a closed fd");

    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 42};
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) == 0, "epoll_ctl ADD");
    errno = 0;
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) == -1 && errno == EEXIST, "epoll_ctl ADD twice: EEXIST");
    errno = 0;
    CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, p[1], &ev) == -1 && errno == ENOENT, "epoll_ctl MOD absent: ENOENT");
    errno = 0;
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev) == -1 && errno == EINVAL, "epoll_ctl on itself: EINVAL");
    struct epoll_event out[4];
    CHECK(epoll_wait(ep, out, 4, 0) == 1 && out[0].data.u64 == 42 && out[0].events == EPOLLIN, "epoll_wait: one ready");
    read(p[0], &c, 1);
    CHECK(epoll_wait(ep, out, 4, 10) == 0, "epoll_wait: times out");
    ev.events = EPOLLIN | EPOLLONESHOT;
    CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev) == 0, "epoll_ctl MOD");
    write(p[1], "zz", 2);
    CHECK(epoll_wait(ep, out, 4, 0) == 1 && epoll_wait(ep, out, 4, 0) == 0, "EPOLLONESHOT fires once");
    read(p[0], &c, 1);
    read(p[0], &c, 1);
    ev.events = EPOLLIN;
    epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev);
    pthread_create(&th, NULL, late_writer, NULL);
    CHECK(epoll_wait(ep, out, 4, -1) == 1, "epoll_wait: woken by another thread's write");
    pthread_join(th, NULL);
    read(p[0], &c, 1);
    CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL) == 0, "epoll_ctl DEL");
    errno = 0;
    CHECK(epoll_wait(ep, out, 0, 0) == -1 && errno == EINVAL, "epoll_wait maxevents 0: EINVAL");
    close(ep);

    int efd = eventfd(3, EFD_NONBLOCK);
    uint64_t v = 0;
    CHECK(read(efd, &v, 8) == 8 && v == 3, "eventfd: read returns the count");
    errno = 0;
    CHECK(read(efd, &v, 8) == -1 && errno == EAGAIN, "eventfd: empty read EAGAIN");
    v = 5;
    write(efd, &v, 8);
    v = 2;
    write(efd, &v, 8);
    struct pollfd epf = {efd, POLLIN, 0};
    CHECK(poll(&epf, 1, 0) == 1, "eventfd: readable when non-zero");
    CHECK(read(efd, &v, 8) == 8 && v == 7, "eventfd: writes add up");
    errno = 0;
    CHECK(read(efd, &v, 4) == -1 && errno == EINVAL, "eventfd: short buffer EINVAL");
    close(efd);
    int sem = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK);
    CHECK(read(sem, &v, 8) == 8 && v == 1 && read(sem, &v, 8) == 8 && v == 1 && read(sem, &v, 8) == -1,
          "eventfd: semaphore mode");
    close(sem);

    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
    char buf[16] = {0};
    write(sv[0], "ping", 4);
    CHECK(read(sv[1], buf, sizeof buf) == 4 && !memcmp(buf, "ping", 4), "socketpair: one way");
    send(sv[1], "pong", 4, 0);
    CHECK(recv(sv[0], buf, sizeof buf, 0) == 4 && !memcmp(buf, "pong", 4), "socketpair: other way");
    errno = 0;
    CHECK(recv(sv[0], buf, sizeof buf, MSG_DONTWAIT) == -1 && errno == EAGAIN, "recv MSG_DONTWAIT: EAGAIN");
    shutdown(sv[1], SHUT_WR);
    CHECK(read(sv[0], buf, sizeof buf) == 0, "shutdown(SHUT_WR): peer reads EOF");
    close(sv[0]);
    errno = 0;
    CHECK(send(sv[1], "x", 1, MSG_NOSIGNAL) == -1 && errno == EPIPE, "send to a closed peer: EPIPE");
    errno = 0;
    CHECK(socketpair(AF_INET, SOCK_STREAM, 0, sv) == -1 && errno == EOPNOTSUPP, "socketpair(AF_INET): EOPNOTSUPP");

    printf("%s\n", fails ? "FAILED" : "all ok");
    return fails != 0;
}
