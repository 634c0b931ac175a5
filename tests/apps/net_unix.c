/* net_unix.c -- AF_UNIX sockets: stream and datagram sockets bound to paths
 * under argv[1] and to abstract names, socketpair(SOCK_DGRAM), addresses,
 * errors, readiness, FIONREAD, MSG_PEEK, shutdown and EPIPE. Prints "ok ..."
 * lines and "all ok". */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <unistd.h>
#include "check.h"
#include "watchdog.h"

static socklen_t path_addr(struct sockaddr_un *a, const char *dir, const char *name)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    snprintf(a->sun_path, sizeof a->sun_path, "%s/%s", dir, name);
    return offsetof(struct sockaddr_un, sun_path) + strlen(a->sun_path) + 1;
}

static socklen_t abstract_addr(struct sockaddr_un *a, const char *name)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    size_t n = strlen(name);
    memcpy(a->sun_path + 1, name, n);
    return offsetof(struct sockaddr_un, sun_path) + 1 + n;
}

static int listen_fd;
static void *echo_once(void *arg)
{
    (void)arg;
    int c = accept(listen_fd, NULL, NULL);
    char buf[256];
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

static void stream_path(const char *dir)
{
    struct sockaddr_un a, got;
    socklen_t alen = path_addr(&a, dir, "stream.sock");
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    check(bind(l, (struct sockaddr *)&a, alen) == 0, "stream: bind to a path");
    struct stat st;
    check(stat(a.sun_path, &st) == 0 && S_ISSOCK(st.st_mode), "the path is a socket file");
    socklen_t gl = sizeof got;
    check(getsockname(l, (struct sockaddr *)&got, &gl) == 0 && gl == alen &&
              !strcmp(got.sun_path, a.sun_path),
          "getsockname: the path");
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK_ERR(connect(c, (struct sockaddr *)&a, alen), ECONNREFUSED, "connect: bound, not listening");
    check(listen(l, 4) == 0, "listen");
    int v = 0;
    socklen_t vl = sizeof v;
    check(getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl) == 0 && v == 1, "SO_ACCEPTCONN");
    int l2 = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK_ERR(bind(l2, (struct sockaddr *)&a, alen), EADDRINUSE, "bind: path exists");
    close(l2);

    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 7}, out;
    epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
    check(epoll_wait(ep, &out, 1, 0) == 0, "epoll: idle listener");
    check(connect(c, (struct sockaddr *)&a, alen) == 0, "connect by path");
    check(epoll_wait(ep, &out, 1, 5000) == 1 && out.data.u32 == 7, "epoll: listener readable");
    close(ep);
    CHECK_ERR(connect(c, (struct sockaddr *)&a, alen), EISCONN, "connect again");
    gl = sizeof got;
    check(getpeername(c, (struct sockaddr *)&got, &gl) == 0 && gl == alen &&
              !strcmp(got.sun_path, a.sun_path),
          "getpeername: the listener's path");
    gl = sizeof got;
    check(getsockname(c, (struct sockaddr *)&got, &gl) == 0 && gl == sizeof(sa_family_t),
          "getsockname of an unbound client: the family only");
    struct sockaddr_un from;
    socklen_t fl = sizeof from;
    int s = accept(l, (struct sockaddr *)&from, &fl);
    check(s >= 0 && fl == sizeof(sa_family_t), "accept: the unbound client has no name");
    gl = sizeof got;
    check(getsockname(s, (struct sockaddr *)&got, &gl) == 0 && !strcmp(got.sun_path, a.sun_path),
          "getsockname of the accepted socket: the path");

    check(write(c, "hello", 5) == 5, "write");
    int avail = 0;
    check(ioctl(s, FIONREAD, &avail) == 0 && avail == 5, "FIONREAD");
    char buf[64] = {0};
    check(recv(s, buf, 3, MSG_PEEK) == 3 && !memcmp(buf, "hel", 3), "MSG_PEEK");
    check(read(s, buf, sizeof buf) == 5 && !memcmp(buf, "hello", 5), "read");
    CHECK_ERR(recv(s, buf, 1, MSG_DONTWAIT), EAGAIN, "MSG_DONTWAIT with nothing to read");
    check(shutdown(c, SHUT_WR) == 0, "shutdown SHUT_WR");
    check(read(s, buf, sizeof buf) == 0, "the peer sees end of file");
    struct pollfd pf = {s, POLLIN, 0};
    check(poll(&pf, 1, 0) == 1 && (pf.revents & POLLIN), "poll: end of file is readable");
    close(s);
    signal(SIGPIPE, on_sigpipe);
    CHECK_ERR(send(c, "x", 1, MSG_NOSIGNAL), EPIPE, "send after SHUT_WR, MSG_NOSIGNAL");
    check(sigpipes == 0, "no SIGPIPE");
    close(c);

    /* A peer that closed: EPIPE and SIGPIPE. */
    c = socket(AF_UNIX, SOCK_STREAM, 0);
    connect(c, (struct sockaddr *)&a, alen);
    s = accept(l, NULL, NULL);
    close(s);
    CHECK_ERR(write(c, "x", 1), EPIPE, "write to a closed peer");
    check(sigpipes == 1, "SIGPIPE");
    close(c);

    /* An echo thread, through a relative path. */
    pthread_t th;
    listen_fd = l;
    pthread_create(&th, NULL, echo_once, NULL);
    c = socket(AF_UNIX, SOCK_STREAM, 0);
    char cwd[4096];
    getcwd(cwd, sizeof cwd);
    chdir(dir);
    struct sockaddr_un rel = {.sun_family = AF_UNIX};
    strcpy(rel.sun_path, "stream.sock");
    check(connect(c, (struct sockaddr *)&rel, sizeof rel) == 0, "connect by relative path");
    chdir(cwd);
    char big[100000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)i;
    /* Half in each direction at a time, so neither buffer has to hold it all. */
    char back[sizeof big];
    size_t got_n = 0;
    for (size_t off = 0; off < sizeof big; off += 1000) {
        write(c, big + off, 1000);
        while (got_n < off + 1000) {
            ssize_t n = read(c, back + got_n, sizeof back - got_n);
            if (n <= 0)
                break;
            got_n += n;
        }
    }
    check(got_n == sizeof big && !memcmp(big, back, sizeof big), "100 kB echoed");
    close(c);
    pthread_join(th, NULL);
    close(l);
    check(connect(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr *)&a, alen) == -1 &&
              errno == ECONNREFUSED,
          "connect after the listener closed: ECONNREFUSED");
    check(unlink(a.sun_path) == 0, "unlink the socket file");
    c = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK_ERR(connect(c, (struct sockaddr *)&a, alen), ENOENT, "connect to a missing path");
    CHECK_ERR(connect(c, (struct sockaddr *)&a, 1), EINVAL, "connect with a short address");
    CHECK_ERR(connect(c, (struct sockaddr *)8, alen), EFAULT, "connect with a bad pointer");
    struct sockaddr_un file;
    socklen_t flen = path_addr(&file, dir, "plain");
    close(open(file.sun_path, O_CREAT | O_WRONLY, 0644));
    CHECK_ERR(connect(c, (struct sockaddr *)&file, flen), ECONNREFUSED, "connect to a regular file");
    CHECK_ERR(read(c, buf, 1), EINVAL, "read from an unconnected stream socket");
    close(c);
}

static void abstract(void)
{
    struct sockaddr_un a, got;
    char name[64];
    snprintf(name, sizeof name, "occlum-test-%d", (int)getpid());
    socklen_t alen = abstract_addr(&a, name);
    int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    check(bind(l, (struct sockaddr *)&a, alen) == 0 && listen(l, 1) == 0, "abstract: bind, listen");
    int l2 = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK_ERR(bind(l2, (struct sockaddr *)&a, alen), EADDRINUSE, "abstract: name in use");
    CHECK_ERR(bind(l, (struct sockaddr *)&a, alen), EINVAL, "bind a bound socket");
    close(l2);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    check(connect(c, (struct sockaddr *)&a, alen) == 0, "abstract: connect");
    socklen_t gl = sizeof got;
    check(getpeername(c, (struct sockaddr *)&got, &gl) == 0 && gl == alen && got.sun_path[0] == 0 &&
              !memcmp(got.sun_path + 1, name, strlen(name)),
          "abstract: getpeername");
    int s = accept4(l, NULL, NULL, SOCK_NONBLOCK);
    check(s >= 0 && (fcntl(s, F_GETFL) & O_NONBLOCK), "abstract: accept4 SOCK_NONBLOCK");
    write(s, "abc", 3);
    char buf[8] = {0};
    check(read(c, buf, 8) == 3 && !memcmp(buf, "abc", 3), "abstract: data");
    close(s);
    close(c);
    close(l);
    l = socket(AF_UNIX, SOCK_STREAM, 0);
    check(bind(l, (struct sockaddr *)&a, alen) == 0, "abstract: the name is free after close");
    close(l);
    c = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK_ERR(connect(c, (struct sockaddr *)&a, alen), ECONNREFUSED, "abstract: nobody there");
    close(c);
    /* Autobind: bind with only the family picks an abstract name. */
    l = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un fam = {.sun_family = AF_UNIX};
    gl = sizeof got;
    check(bind(l, (struct sockaddr *)&fam, sizeof(sa_family_t)) == 0 &&
              getsockname(l, (struct sockaddr *)&got, &gl) == 0 &&
              gl == offsetof(struct sockaddr_un, sun_path) + 6 && got.sun_path[0] == 0,
          "autobind: a 5-character abstract name");
    close(l);
}

static void datagram(const char *dir)
{
    struct sockaddr_un sa, ca, from;
    socklen_t slen = path_addr(&sa, dir, "server.dgram");
    socklen_t clen = path_addr(&ca, dir, "client.dgram");
    int s = socket(AF_UNIX, SOCK_DGRAM, 0);
    int c = socket(AF_UNIX, SOCK_DGRAM, 0);
    check(bind(s, (struct sockaddr *)&sa, slen) == 0 && bind(c, (struct sockaddr *)&ca, clen) == 0,
          "dgram: bind two paths");
    int v = 0;
    socklen_t vl = sizeof v;
    check(getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &vl) == 0 && v == SOCK_DGRAM, "dgram: SO_TYPE");
    CHECK_ERR(send(c, "x", 1, 0), ENOTCONN, "dgram: send without a destination");
    check(sendto(c, "one", 3, 0, (struct sockaddr *)&sa, slen) == 3, "dgram: sendto a path");
    check(sendto(c, "second", 6, 0, (struct sockaddr *)&sa, slen) == 6, "dgram: sendto again");
    int avail = 0;
    check(ioctl(s, FIONREAD, &avail) == 0 && avail == 3, "dgram: FIONREAD, next datagram");
    char buf[64] = {0};
    socklen_t fl = sizeof from;
    check(recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl) == 3 &&
              !memcmp(buf, "one", 3) && fl == clen && !strcmp(from.sun_path, ca.sun_path),
          "dgram: recvfrom reports the sender's path");
    check(recv(s, buf, 2, MSG_PEEK | MSG_TRUNC) == 6, "dgram: MSG_PEEK|MSG_TRUNC: full length");
    check(recv(s, buf, 2, 0) == 2 && !memcmp(buf, "se", 2), "dgram: the rest of a datagram is lost");
    CHECK_ERR(recv(s, buf, 2, MSG_DONTWAIT), EAGAIN, "dgram: empty");
    check(connect(c, (struct sockaddr *)&sa, slen) == 0 && send(c, "conn", 4, 0) == 4,
          "dgram: connect, then send");
    struct sockaddr_un p;
    socklen_t pl = sizeof p;
    check(getpeername(c, (struct sockaddr *)&p, &pl) == 0 && !strcmp(p.sun_path, sa.sun_path),
          "dgram: getpeername");
    check(read(s, buf, sizeof buf) == 4 && !memcmp(buf, "conn", 4), "dgram: read");
    int st = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK_ERR(connect(st, (struct sockaddr *)&sa, slen), EPROTOTYPE, "stream to dgram: EPROTOTYPE");
    close(st);
    int anon = socket(AF_UNIX, SOCK_DGRAM, 0);
    sendto(anon, "anon", 4, 0, (struct sockaddr *)&sa, slen);
    fl = sizeof from;
    check(recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl) == 4 && fl == 0,
          "dgram: an unbound sender has no address");
    struct sockaddr_un ta;
    socklen_t tlen = path_addr(&ta, dir, "third.dgram");
    int third = socket(AF_UNIX, SOCK_DGRAM, 0);
    bind(third, (struct sockaddr *)&ta, tlen);
    check(connect(third, (struct sockaddr *)&sa, slen) == 0, "dgram: a third socket connects");
    CHECK_ERR(sendto(anon, "no", 2, 0, (struct sockaddr *)&ta, tlen), EPERM,
               "dgram: sendto a socket connected to another");
    check(sendto(s, "ok", 2, 0, (struct sockaddr *)&ta, tlen) == 2 &&
              read(third, buf, sizeof buf) == 2,
          "dgram: its peer may send to it");
    close(third);
    close(anon);
    close(c);
    close(s);

    int sv[2];
    check(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0, "socketpair SOCK_DGRAM");
    send(sv[0], "a", 1, 0);
    send(sv[0], "bc", 2, 0);
    check(recv(sv[1], buf, sizeof buf, 0) == 1 && recv(sv[1], buf, sizeof buf, 0) == 2,
          "socketpair SOCK_DGRAM keeps message boundaries");
    struct pollfd pf = {sv[1], POLLIN | POLLOUT, 0};
    check(poll(&pf, 1, 0) == 1 && pf.revents == POLLOUT, "socketpair dgram: writable, not readable");
    close(sv[0]);
    close(sv[1]);
    CHECK_ERR(socket(AF_UNIX, SOCK_STREAM, 5), EPROTONOSUPPORT, "socket: AF_UNIX protocol 5");
    s = socket(AF_UNIX, SOCK_STREAM, 0);
    vl = sizeof v;
    CHECK_ERR(getsockopt(s, SOL_SOCKET, 12345, &v, &vl), ENOPROTOOPT, "getsockopt: unknown option");
    CHECK_ERR(listen(s, 1), EINVAL, "listen on an unbound socket");
    close(s);
}

/* Sends `fd` with one byte of data `c` over `s` (SCM_RIGHTS). */
static int send_fd(int s, int fd, char c)
{
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } u;
    memset(&u, 0, sizeof u);
    struct iovec iov = {&c, 1};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                        .msg_controllen = sizeof u.buf};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fd, sizeof fd);
    return sendmsg(s, &mh, 0);
}

/* Receives up to `len` bytes and at most one descriptor (-1 if none);
 * `controllen` limits the control buffer. */
static int recv_fd(int s, char *data, size_t len, size_t controllen, int flags, int *fd, int *mflags)
{
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } u;
    memset(&u, 0, sizeof u);
    struct iovec iov = {data, len};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                        .msg_controllen = controllen};
    int n = recvmsg(s, &mh, flags);
    *fd = -1;
    *mflags = mh.msg_flags;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    if (n >= 0 && cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
        cm->cmsg_len == CMSG_LEN(sizeof(int)))
        memcpy(fd, CMSG_DATA(cm), sizeof(int));
    return n;
}

static void rights(void)
{
    int sv[2], p[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    pipe(p);
    check(send_fd(sv[0], p[1], 'A') == 1, "SCM_RIGHTS: send a pipe's write end");
    write(sv[0], "BC", 2);
    char buf[16] = {0};
    int fd, mf;
    check(recv_fd(sv[1], buf, sizeof buf, CMSG_SPACE(sizeof(int)), MSG_CMSG_CLOEXEC, &fd, &mf) == 1 &&
              buf[0] == 'A' && fd >= 0 && !(mf & MSG_CTRUNC),
          "SCM_RIGHTS: the read ends with the byte the descriptor came with");
    check(fd >= 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC), "SCM_RIGHTS: MSG_CMSG_CLOEXEC");
    check(write(fd, "via", 3) == 3 && read(p[0], buf, sizeof buf) == 3 && !memcmp(buf, "via", 3),
          "SCM_RIGHTS: the received descriptor is the same pipe");
    close(fd);
    check(read(sv[1], buf, sizeof buf) == 2 && !memcmp(buf, "BC", 2), "SCM_RIGHTS: then the rest");
    send_fd(sv[0], p[1], 'D');
    check(recv_fd(sv[1], buf, sizeof buf, 0, 0, &fd, &mf) == 1 && fd == -1 && (mf & MSG_CTRUNC),
          "SCM_RIGHTS: no room for the descriptor: MSG_CTRUNC");
    close(sv[0]);
    close(sv[1]);

    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    check(send_fd(sv[0], p[0], 'E') == 1, "SCM_RIGHTS over a datagram socket");
    check(recv_fd(sv[1], buf, sizeof buf, CMSG_SPACE(sizeof(int)), 0, &fd, &mf) == 1 && fd >= 0 &&
              !(fcntl(fd, F_GETFD) & FD_CLOEXEC),
          "SCM_RIGHTS: datagram received with its descriptor");
    write(p[1], "z", 1);
    check(read(fd, buf, 1) == 1 && buf[0] == 'z', "SCM_RIGHTS: the pipe's read end");
    close(fd);
    close(sv[0]);
    close(sv[1]);
    int t = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_un dummy;
    (void)dummy;
    errno = 0;
    int r = send_fd(t, p[0], 'F');
    check(r == -1, "SCM_RIGHTS on an Internet socket fails");
    close(t);
    close(p[0]);
    close(p[1]);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: net_unix DIR\n");
        return 2;
    }
    start_watchdog(30);
    stream_path(argv[1]);
    abstract();
    datagram(argv[1]);
    rights();
    return check_done();
}
