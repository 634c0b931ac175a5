/* net_nonblock.c -- non-blocking TCP over 127.0.0.1: EINPROGRESS connect
 * finished with poll and SO_ERROR, EAGAIN, readiness through poll, select
 * and epoll (EPOLLIN, EPOLLOUT), FIONBIO, a refused non-blocking connect,
 * a blocking accept interrupted by a signal, and waits that mix an idle
 * socket with a pipe another thread writes to. Prints "ok ..." lines and
 * "all ok". */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include "check.h"
#include "watchdog.h"

static struct sockaddr_in loopback(unsigned short port)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static void on_alarm(int sig)
{
    (void)sig;
}

static int wake_fd;

static void *late_writer(void *arg)
{
    (void)arg;
    usleep(20000);
    write(wake_fd, "w", 1);
    return NULL;
}

int main(void)
{
    start_watchdog(30);
    int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = loopback(0);
    socklen_t len = sizeof a;
    check(l >= 0 && bind(l, (struct sockaddr *)&a, sizeof a) == 0 && listen(l, 4) == 0 &&
              getsockname(l, (struct sockaddr *)&a, &len) == 0,
          "non-blocking listener");
    unsigned short port = ntohs(a.sin_port);
    CHECK_ERR(accept(l, NULL, NULL), EAGAIN, "accept with no connection pending");

    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    errno = 0;
    int r = connect(c, (struct sockaddr *)&a, sizeof a);
    check(r == 0 || errno == EINPROGRESS, "non-blocking connect: 0 or EINPROGRESS");
    struct pollfd pf = {c, POLLOUT, 0};
    check(poll(&pf, 1, 5000) == 1 && (pf.revents & POLLOUT), "poll: connected socket writable");
    int err = -1;
    socklen_t el = sizeof err;
    check(getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0, "SO_ERROR: connected");

    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 1};
    check(epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev) == 0, "epoll_ctl ADD listener");
    struct epoll_event out[4];
    check(epoll_wait(ep, out, 4, 5000) == 1 && out[0].data.u32 == 1 && (out[0].events & EPOLLIN),
          "epoll: listener readable with a pending connection");
    int s = accept4(l, NULL, NULL, SOCK_NONBLOCK);
    check(s >= 0, "accept the pending connection");
    check(epoll_wait(ep, out, 4, 0) == 0, "epoll: listener idle again");

    char buf[256];
    CHECK_ERR(read(s, buf, sizeof buf), EAGAIN, "read: nothing yet");
    ev.events = EPOLLIN;
    ev.data.u32 = 2;
    epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
    ev.events = EPOLLOUT;
    ev.data.u32 = 3;
    epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
    int n = epoll_wait(ep, out, 4, 5000);
    check(n == 1 && out[0].data.u32 == 3 && out[0].events == EPOLLOUT,
          "epoll: client writable, server not readable");
    check(write(c, "ping", 4) == 4, "write ping");
    ev.events = EPOLLIN;
    ev.data.u32 = 3;
    epoll_ctl(ep, EPOLL_CTL_MOD, c, &ev);
    n = epoll_wait(ep, out, 4, 5000);
    check(n == 1 && out[0].data.u32 == 2 && (out[0].events & EPOLLIN), "epoll: server readable");
    check(read(s, buf, sizeof buf) == 4 && !memcmp(buf, "ping", 4), "read ping");

    fd_set rs;
    FD_ZERO(&rs);
    FD_SET(c, &rs);
    struct timeval tv = {0, 0};
    check(select(c + 1, &rs, NULL, NULL, &tv) == 0, "select: nothing to read");
    write(s, "pong", 4);
    FD_SET(c, &rs);
    tv.tv_sec = 5;
    check(select(c + 1, &rs, NULL, NULL, &tv) == 1 && FD_ISSET(c, &rs), "select: pong readable");
    check(read(c, buf, sizeof buf) == 4 && !memcmp(buf, "pong", 4), "read pong");

    /* Fill the connection: writes end with EAGAIN, then EPOLLOUT is off. */
    static char big[65536];
    long total = 0;
    for (;;) {
        ssize_t w = write(c, big, sizeof big);
        if (w < 0)
            break;
        total += w;
    }
    check(errno == EAGAIN && total > 0, "writes fill the connection, then EAGAIN");
    pf.fd = c;
    pf.events = POLLOUT;
    check(poll(&pf, 1, 0) == 0, "poll: a full connection is not writable");
    /* Drain it from the other end: writable again. */
    long drained = 0;
    while (drained < total) {
        ssize_t m = read(s, big, sizeof big);
        if (m > 0)
            drained += m;
        else {
            struct pollfd sp = {s, POLLIN, 0};
            poll(&sp, 1, 5000);
        }
    }
    check(drained == total, "all of it arrives");
    check(poll(&pf, 1, 5000) == 1 && (pf.revents & POLLOUT), "poll: writable again");

    /* FIONBIO: blocking again, then non-blocking. */
    int off = 0, on = 1;
    check(ioctl(s, FIONBIO, &off) == 0 && !(fcntl(s, F_GETFL) & O_NONBLOCK), "FIONBIO off");
    check(ioctl(s, FIONBIO, &on) == 0 && (fcntl(s, F_GETFL) & O_NONBLOCK), "FIONBIO on");

    /* Peer closes: readable with end of file, POLLIN. */
    close(c);
    pf.fd = s;
    pf.events = POLLIN;
    check(poll(&pf, 1, 5000) == 1 && (pf.revents & POLLIN), "poll: readable when the peer closes");
    check(read(s, buf, sizeof buf) == 0, "end of file");
    close(s);

    /* A refused non-blocking connect: the error comes through SO_ERROR. */
    struct sockaddr_in closed = a;
    close(l);
    c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    errno = 0;
    r = connect(c, (struct sockaddr *)&closed, sizeof closed);
    if (r == -1 && errno == EINPROGRESS) {
        pf.fd = c;
        pf.events = POLLOUT;
        poll(&pf, 1, 5000);
        el = sizeof err;
        getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el);
    } else {
        err = r == -1 ? errno : 0;
    }
    check(err == ECONNREFUSED, "refused non-blocking connect: ECONNREFUSED");
    close(c);

    /* A blocking accept is interrupted by a signal without SA_RESTART. */
    l = socket(AF_INET, SOCK_STREAM, 0);
    a = loopback(0);
    bind(l, (struct sockaddr *)&a, sizeof a);
    listen(l, 1);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 0}, {0, 50000}};
    setitimer(ITIMER_REAL, &it, NULL);
    CHECK_ERR(accept(l, NULL, NULL), EINTR, "blocking accept interrupted by a signal");

    /* Waits that mix an idle host socket with a pipe, or end by time-out
     * or signal. */
    int p[2];
    check(pipe(p) == 0, "pipe");
    struct pollfd two[2] = {{l, POLLIN, 0}, {p[0], POLLIN, 0}};
    check(poll(two, 2, 20) == 0, "poll: an idle socket and an empty pipe time out");
    pthread_t th;
    wake_fd = p[1];
    pthread_create(&th, NULL, late_writer, NULL);
    check(poll(two, 2, -1) == 1 && two[0].revents == 0 && two[1].revents == POLLIN,
          "poll: woken by another thread's write to the pipe");
    pthread_join(th, NULL);
    read(p[0], buf, 1);
    struct epoll_event pe = {.events = EPOLLIN, .data.u32 = 9};
    int ep2 = epoll_create1(0);
    epoll_ctl(ep2, EPOLL_CTL_ADD, l, &pe);
    epoll_ctl(ep2, EPOLL_CTL_ADD, p[0], &pe);
    pthread_create(&th, NULL, late_writer, NULL);
    check(epoll_wait(ep2, out, 4, -1) == 1 && out[0].data.u32 == 9, "epoll: woken by another thread's write");
    pthread_join(th, NULL);
    read(p[0], buf, 1);
    setitimer(ITIMER_REAL, &it, NULL);
    CHECK_ERR(epoll_wait(ep2, out, 4, -1), EINTR, "epoll_wait on an idle socket interrupted by a signal");
    setitimer(ITIMER_REAL, &it, NULL);
    CHECK_ERR(poll(two, 1, -1), EINTR, "poll on an idle socket interrupted by a signal");
    close(ep2);
    close(p[0]);
    close(p[1]);
    close(l);
    close(ep);
    (void)port;
    return check_done();
}
