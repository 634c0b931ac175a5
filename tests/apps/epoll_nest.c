/* epoll_nest.c -- epoll files watching epoll files: one may not watch
 * itself (EINVAL), nor close a loop (ELOOP: polling either would poll
 * itself), nor nest deeper than Linux allows (ELOOP); polling a nested
 * epoll file sees its inner one's readiness. */
#define _GNU_SOURCE
#include <poll.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <unistd.h>
#include "check.h"

static int add(int ep, int fd)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

int main(void)
{
    int a = epoll_create1(0), b = epoll_create1(0), p[2];
    CHECK_ERR(add(a, a), EINVAL, "an epoll file watching itself");
    check_eq(add(a, b), 0, "a watches b");
    CHECK_ERR(add(b, a), ELOOP, "b watching a would close a loop");
    check(pipe(p) == 0 && add(b, p[0]) == 0 && write(p[1], "x", 1) == 1, "b watches a readable pipe");
    struct pollfd pf = {.fd = a, .events = POLLIN};
    check(poll(&pf, 1, 1000) == 1 && (pf.revents & POLLIN), "a is readable through b");

    int e[8];
    for (int i = 0; i < 8; i++)
        e[i] = epoll_create1(0);
    int depth = 0;
    for (int i = 0; i < 7; i++) {
        errno = 0;
        int r = add(e[i], e[i + 1]);
        printf("chain %d -> %d: %s\n", i, i + 1, r == 0 ? "ok" : errname(errno));
        depth += r == 0;
    }
    check(depth >= 4, "chains of at least 4 nested epoll files");
    return check_done();
}
