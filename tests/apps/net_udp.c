/* net_udp.c -- UDP over 127.0.0.1: sendto/recvfrom with addresses,
 * MSG_PEEK, MSG_TRUNC, FIONREAD, connected UDP sockets, sendmsg/recvmsg;
 * then TCP and UDP over ::1 if the machine has IPv6 (else one "skip" line,
 * the same natively and in the LibOS). Prints "ok ..." lines and "all ok". */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include "check.h"
#include "watchdog.h"

static int udp_bound(struct sockaddr_in *a)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof *a;
    if (s < 0 || bind(s, (struct sockaddr *)a, sizeof *a) ||
        getsockname(s, (struct sockaddr *)a, &len))
        return -1;
    return s;
}

static void ipv6(void)
{
    int s = socket(AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof a);
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0) {
        printf("skip ipv6: no ::1\n");
        if (s >= 0)
            close(s);
        return;
    }
    socklen_t len = sizeof a;
    getsockname(s, (struct sockaddr *)&a, &len);
    check(len == sizeof a && a.sin6_family == AF_INET6 && a.sin6_port != 0,
          "ipv6 udp: bound to ::1");
    int c = socket(AF_INET6, SOCK_DGRAM, 0);
    check(sendto(c, "six", 3, 0, (struct sockaddr *)&a, sizeof a) == 3, "ipv6 udp: sendto");
    struct sockaddr_in6 from;
    socklen_t fl = sizeof from;
    char buf[16] = {0};
    check(recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl) == 3 &&
              !memcmp(buf, "six", 3) && fl == sizeof from &&
              IN6_IS_ADDR_LOOPBACK(&from.sin6_addr),
          "ipv6 udp: recvfrom ::1");
    close(c);
    close(s);

    int v = 0;
    socklen_t vl = sizeof v;
    int l = socket(AF_INET6, SOCK_STREAM, 0);
    int one = 1;
    check(setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) == 0 &&
              getsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &v, &vl) == 0 && v == 1,
          "ipv6: IPV6_V6ONLY");
    a.sin6_port = 0;
    len = sizeof a;
    check(bind(l, (struct sockaddr *)&a, sizeof a) == 0 && listen(l, 1) == 0 &&
              getsockname(l, (struct sockaddr *)&a, &len) == 0,
          "ipv6 tcp: listen on ::1");
    c = socket(AF_INET6, SOCK_STREAM, 0);
    check(connect(c, (struct sockaddr *)&a, sizeof a) == 0, "ipv6 tcp: connect");
    int t = accept(l, NULL, NULL);
    check(t >= 0 && write(c, "v6", 2) == 2 && read(t, buf, 2) == 2 && !memcmp(buf, "v6", 2),
          "ipv6 tcp: data");
    struct sockaddr_in v4 = {.sin_family = AF_INET};
    CHECK_ERR(bind(c, (struct sockaddr *)&v4, sizeof v4), EINVAL,
               "ipv6: bind with a short IPv4 address");
    close(t);
    close(c);
    close(l);
}

int main(void)
{
    start_watchdog(30);
    struct sockaddr_in sa, ca;
    int s = udp_bound(&sa);
    int c = udp_bound(&ca);
    check(s >= 0 && c >= 0, "two bound UDP sockets");
    int v = 0;
    socklen_t vl = sizeof v;
    check(getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &vl) == 0 && v == SOCK_DGRAM, "SO_TYPE");
    check(sendto(c, "hello", 5, 0, (struct sockaddr *)&sa, sizeof sa) == 5, "sendto");
    check(sendto(c, "second!", 7, 0, (struct sockaddr *)&sa, sizeof sa) == 7, "sendto again");
    struct pollfd pf = {s, POLLIN, 0};
    check(poll(&pf, 1, 5000) == 1 && (pf.revents & POLLIN), "poll: readable");
    int avail = 0;
    check(ioctl(s, FIONREAD, &avail) == 0 && avail == 5, "FIONREAD: size of the next datagram");
    char buf[64] = {0};
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    check(recvfrom(s, buf, sizeof buf, MSG_PEEK, (struct sockaddr *)&from, &fl) == 5 &&
              !memcmp(buf, "hello", 5),
          "MSG_PEEK");
    check(fl == sizeof from && from.sin_port == ca.sin_port &&
              from.sin_addr.s_addr == htonl(INADDR_LOOPBACK),
          "recvfrom reports the sender");
    memset(buf, 0, sizeof buf);
    check(recvfrom(s, buf, sizeof buf, 0, NULL, NULL) == 5 && !memcmp(buf, "hello", 5),
          "recvfrom after the peek");
    check(recv(s, buf, 3, MSG_TRUNC) == 7 && !memcmp(buf, "sec", 3),
          "MSG_TRUNC gives the full length");
    CHECK_ERR(recv(s, buf, sizeof buf, MSG_DONTWAIT), EAGAIN, "nothing left");

    /* Connected UDP: send without an address, recvmsg with one. */
    check(connect(c, (struct sockaddr *)&sa, sizeof sa) == 0, "connect UDP");
    struct sockaddr_in peer;
    socklen_t pl = sizeof peer;
    check(getpeername(c, (struct sockaddr *)&peer, &pl) == 0 && peer.sin_port == sa.sin_port,
          "getpeername of connected UDP");
    struct iovec iov[2] = {{"ab", 2}, {"cd", 2}};
    struct msghdr mh;
    memset(&mh, 0, sizeof mh);
    mh.msg_iov = iov;
    mh.msg_iovlen = 2;
    check(sendmsg(c, &mh, 0) == 4, "sendmsg with two iovecs");
    char x[3] = {0}, y[3] = {0};
    struct iovec riov[2] = {{x, 3}, {y, 3}};
    memset(&mh, 0, sizeof mh);
    mh.msg_iov = riov;
    mh.msg_iovlen = 2;
    mh.msg_name = &from;
    mh.msg_namelen = sizeof from;
    check(recvmsg(s, &mh, 0) == 4 && !memcmp(x, "abc", 3) && y[0] == 'd' &&
              mh.msg_namelen == sizeof from && from.sin_port == ca.sin_port && mh.msg_flags == 0,
          "recvmsg scatters and reports the sender");
    sendto(c, "0123456789", 10, 0, NULL, 0);
    char small[4];
    struct iovec one = {small, 4};
    memset(&mh, 0, sizeof mh);
    mh.msg_iov = &one;
    mh.msg_iovlen = 1;
    check(recvmsg(s, &mh, 0) == 4 && (mh.msg_flags & MSG_TRUNC), "recvmsg: MSG_TRUNC in msg_flags");
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK_ERR(send(u, "x", 1, 0), EDESTADDRREQ, "send on an unconnected UDP socket");
    CHECK_ERR(sendto(u, "x", 1, 0, (struct sockaddr *)&sa, 3), EINVAL, "sendto: short address");
    struct sockaddr bad = {.sa_family = 12345};
    CHECK_ERR(sendto(u, "x", 1, 0, &bad, sizeof bad), EAFNOSUPPORT, "sendto: unknown family");
    send(c, "z", 1, 0);
    pf.fd = s;
    poll(&pf, 1, 5000);
    CHECK_ERR(recvfrom(s, (void *)8, 4, MSG_DONTWAIT, NULL, NULL), EFAULT,
               "recvfrom into a bad buffer");
    close(u);
    close(c);
    close(s);
    ipv6();
    return check_done();
}
