/* net_tcp.c -- TCP over 127.0.0.1 with blocking sockets: an echo server
 * thread and a client, accept4 flags, shutdown, EPIPE and SIGPIPE, socket
 * options, FIONREAD, time-outs, and the error cases of socket, bind,
 * connect, getsockopt. Prints "ok ..." lines and "all ok". */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
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

/* A listening socket on 127.0.0.1 with an ephemeral port, returned in *port. */
static int listener(unsigned short *port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = loopback(0);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 8))
        return -1;
    socklen_t len = sizeof a;
    getsockname(s, (struct sockaddr *)&a, &len);
    *port = ntohs(a.sin_port);
    return s;
}

static int connect_to(unsigned short port)
{
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = loopback(port);
    if (connect(c, (struct sockaddr *)&a, sizeof a))
        return -1;
    return c;
}

static int listen_fd;

/* Echoes everything on one connection until end of file, then closes. */
static void *echo_server(void *arg)
{
    (void)arg;
    int c = accept(listen_fd, NULL, NULL);
    char buf[4096];
    ssize_t n;
    while ((n = read(c, buf, sizeof buf)) > 0)
        write(c, buf, n);
    close(c);
    return NULL;
}

static volatile sig_atomic_t sigpipes;
static void on_sigpipe(int sig)
{
    (void)sig;
    sigpipes++;
}

static ssize_t read_full(int fd, char *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n <= 0)
            return n < 0 ? -1 : (ssize_t)got;
        got += n;
    }
    return got;
}

int main(void)
{
    start_watchdog(30);
    unsigned short port;
    listen_fd = listener(&port);
    check(listen_fd >= 0 && port != 0, "listen on 127.0.0.1, ephemeral port");
    struct stat st;
    check(fstat(listen_fd, &st) == 0 && S_ISSOCK(st.st_mode), "fstat: S_IFSOCK");
    int v = 0;
    socklen_t vl = sizeof v;
    check(getsockopt(listen_fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl) == 0 && v == 1,
          "SO_ACCEPTCONN of a listener");
    vl = sizeof v;
    check(getsockopt(listen_fd, SOL_SOCKET, SO_TYPE, &v, &vl) == 0 && v == SOCK_STREAM &&
              vl == sizeof v,
          "SO_TYPE");
    vl = sizeof v;
    check(getsockopt(listen_fd, SOL_SOCKET, SO_DOMAIN, &v, &vl) == 0 && v == AF_INET, "SO_DOMAIN");
    vl = sizeof v;
    check(getsockopt(listen_fd, SOL_SOCKET, SO_PROTOCOL, &v, &vl) == 0 && v == IPPROTO_TCP,
          "SO_PROTOCOL");

    /* Blocking echo through a server thread. */
    pthread_t th;
    pthread_create(&th, NULL, echo_server, NULL);
    int c = connect_to(port);
    check(c >= 0, "connect to the listener");
    struct sockaddr_in peer;
    socklen_t plen = sizeof peer;
    check(getpeername(c, (struct sockaddr *)&peer, &plen) == 0 && plen == sizeof peer &&
              ntohs(peer.sin_port) == port && peer.sin_addr.s_addr == htonl(INADDR_LOOPBACK),
          "getpeername is the listener");
    int one = 1;
    check(setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0, "set TCP_NODELAY");
    vl = sizeof v;
    check(getsockopt(c, IPPROTO_TCP, TCP_NODELAY, &v, &vl) == 0 && v != 0, "get TCP_NODELAY");
    check(setsockopt(c, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one) == 0, "set SO_KEEPALIVE");
    check(write(c, "hello", 5) == 5, "write");
    char buf[65536];
    check(read_full(c, buf, 5) == 5 && memcmp(buf, "hello", 5) == 0, "read the echo");
    check(send(c, "world", 5, 0) == 5, "send");
    memset(buf, 0, sizeof buf);
    check(recv(c, buf, 5, MSG_WAITALL) == 5 && memcmp(buf, "world", 5) == 0,
          "recv MSG_WAITALL the echo");
    struct iovec iov[2] = {{"ab", 2}, {"cdef", 4}};
    check(writev(c, iov, 2) == 6, "writev");
    char x[3], y[3];
    struct iovec riov[2] = {{x, 3}, {y, 3}};
    struct pollfd pf = {c, POLLIN, 0};
    poll(&pf, 1, 5000);
    int avail = 0;
    for (int i = 0; i < 100 && ioctl(c, FIONREAD, &avail) == 0 && avail < 6; i++)
        usleep(10000);
    check(avail == 6, "FIONREAD counts the echo");
    check(readv(c, riov, 2) == 6 && !memcmp(x, "abc", 3) && !memcmp(y, "def", 3), "readv");
    /* A large transfer: 1 MiB through the echo. */
    static char big[1 << 20], back[1 << 20];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)(i * 7);
    size_t sent = 0;
    /* Interleave writes and reads so neither side's buffers fill up. */
    size_t got = 0;
    while (got < sizeof big) {
        if (sent < sizeof big) {
            ssize_t n = send(c, big + sent, sizeof big - sent > 65536 ? 65536 : sizeof big - sent,
                             MSG_DONTWAIT);
            if (n > 0)
                sent += n;
        }
        ssize_t n = recv(c, back + got, sizeof back - got, sent < sizeof big ? MSG_DONTWAIT : 0);
        if (n > 0)
            got += n;
        else if (n == 0)
            break;
    }
    check(got == sizeof big && memcmp(big, back, sizeof big) == 0, "1 MiB echoed intact");

    /* shutdown(SHUT_WR): the server sees end of file and closes: we do too. */
    check(shutdown(c, SHUT_WR) == 0, "shutdown SHUT_WR");
    check(read(c, buf, sizeof buf) == 0, "end of file after the peer closes");
    pthread_join(th, NULL);

    /* Writing after our own SHUT_WR: EPIPE, and SIGPIPE unless MSG_NOSIGNAL. */
    signal(SIGPIPE, on_sigpipe);
    CHECK_ERR(send(c, "x", 1, MSG_NOSIGNAL), EPIPE, "send after SHUT_WR with MSG_NOSIGNAL");
    check(sigpipes == 0, "no SIGPIPE with MSG_NOSIGNAL");
    CHECK_ERR(write(c, "x", 1), EPIPE, "write after SHUT_WR");
    check(sigpipes == 1, "SIGPIPE for write");
    close(c);

    /* accept4 flags. */
    c = connect_to(port);
    struct sockaddr_in from;
    socklen_t flen = sizeof from;
    int a = accept4(listen_fd, (struct sockaddr *)&from, &flen, SOCK_NONBLOCK | SOCK_CLOEXEC);
    check(a >= 0 && flen == sizeof from && from.sin_family == AF_INET &&
              from.sin_addr.s_addr == htonl(INADDR_LOOPBACK),
          "accept4 reports the peer");
    check((fcntl(a, F_GETFL) & O_NONBLOCK) && (fcntl(a, F_GETFD) & FD_CLOEXEC),
          "accept4: SOCK_NONBLOCK and SOCK_CLOEXEC");
    CHECK_ERR(read(a, buf, 1), EAGAIN, "non-blocking read with nothing to read");
    CHECK_ERR(syscall(SYS_accept4, listen_fd, NULL, NULL, 0x1234), EINVAL, "accept4 with bad flags");
    struct sockaddr_in local;
    socklen_t llen = sizeof local;
    check(getsockname(a, (struct sockaddr *)&local, &llen) == 0 && ntohs(local.sin_port) == port,
          "getsockname of an accepted socket");

    /* Receive time-out. */
    struct timeval tv = {0, 100000};
    check(setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0, "set SO_RCVTIMEO");
    struct timeval tv2;
    socklen_t tl = sizeof tv2;
    check(getsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv2, &tl) == 0 && tl == sizeof tv2 &&
              tv2.tv_sec == 0 && tv2.tv_usec == 100000,
          "get SO_RCVTIMEO");
    CHECK_ERR(recv(c, buf, 1, 0), EAGAIN, "recv times out");
    CHECK_ERR(recv(c, buf, 1, MSG_DONTWAIT), EAGAIN, "recv MSG_DONTWAIT");
    /* MSG_PEEK. */
    write(a, "peek", 4);
    pf.fd = c;
    poll(&pf, 1, 5000);
    memset(buf, 0, 8);
    check(recv(c, buf, 4, MSG_PEEK) == 4 && !memcmp(buf, "peek", 4), "MSG_PEEK sees the data");
    memset(buf, 0, 8);
    check(recv(c, buf, 4, 0) == 4 && !memcmp(buf, "peek", 4), "and it is still there");
    close(a);
    check(read(c, buf, 1) == 0, "end of file when the accepted socket closes");
    close(c);

    /* Errors. */
    struct sockaddr_in used = loopback(port);
    int s2 = socket(AF_INET, SOCK_STREAM, 0);
    CHECK_ERR(bind(s2, (struct sockaddr *)&used, sizeof used), EADDRINUSE, "bind to a port in use");
    CHECK_ERR(bind(s2, (struct sockaddr *)&used, 4), EINVAL, "bind with a short address");
    CHECK_ERR(bind(s2, (struct sockaddr *)8, sizeof used), EFAULT, "bind with a bad pointer");
    close(s2);
    close(listen_fd);
    s2 = socket(AF_INET, SOCK_STREAM, 0);
    CHECK_ERR(connect(s2, (struct sockaddr *)&used, sizeof used), ECONNREFUSED,
               "connect to a closed port");
    close(s2);
    CHECK_ERR(socket(12345, SOCK_STREAM, 0), EAFNOSUPPORT, "socket: bad family");
    CHECK_ERR(socket(AF_INET, SOCK_STREAM, IPPROTO_UDP), EPROTONOSUPPORT, "socket: TCP with UDP");
    CHECK_ERR(socket(AF_INET, 77, 0), EINVAL, "socket: bad type");
    s2 = socket(AF_INET, SOCK_STREAM, 0);
    vl = sizeof v;
    CHECK_ERR(getsockopt(s2, SOL_SOCKET, 12345, &v, &vl), ENOPROTOOPT, "getsockopt: unknown option");
    CHECK_ERR(getsockopt(s2, SOL_SOCKET, SO_TYPE, (void *)8, &vl), EFAULT,
               "getsockopt: bad pointer");
    CHECK_ERR(getpeername(s2, (struct sockaddr *)&peer, &plen), ENOTCONN,
               "getpeername: not connected");
    CHECK_ERR(recv(s2, buf, 1, 0), ENOTCONN, "recv: not connected");
    vl = sizeof v;
    check(getsockopt(s2, SOL_SOCKET, SO_ERROR, &v, &vl) == 0 && v == 0, "SO_ERROR: none");
    check(setsockopt(s2, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0, "set SO_REUSEADDR");
    vl = sizeof v;
    check(getsockopt(s2, SOL_SOCKET, SO_REUSEADDR, &v, &vl) == 0 && v == 1, "get SO_REUSEADDR");
    struct linger lg = {1, 0};
    check(setsockopt(s2, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == 0, "set SO_LINGER");
    close(s2);
    int pfd[2];
    pipe(pfd);
    CHECK_ERR(shutdown(pfd[0], SHUT_RD), ENOTSOCK, "shutdown of a pipe");
    return check_done();
}
