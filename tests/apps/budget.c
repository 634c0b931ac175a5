/* budget.c -- LibOS memory budgets (inside the LibOS only: natively the
 * disk or the machine's memory would be the limit):
 *   fill DIR: write 1 MiB blocks until the file system is full (ENOSPC),
 *             then check that removing the file gives the space back.
 *   pipes MB: fill 400 pipes without blocking; the bytes they hold stay
 *             within MB MiB plus one page per pipe, and closing them gives
 *             the memory back.
 *   unix MB:  the same with 400 AF_UNIX stream socket pairs. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "check.h"

#define BIG (1LL << 36)

static int fill(const char *dir)
{
    char path[256];
    snprintf(path, sizeof path, "%s/fill", dir);
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
    if (fd < 0) {
        perror("open");
        return 2;
    }
    static char block[1 << 20];
    memset(block, 'z', sizeof block);
    long long total = 0;
    ssize_t n;
    int err = 0;
    /* At most 64 GiB: a budget that never runs out fails the check below. */
    while (total < BIG) {
        n = write(fd, block, sizeof block);
        if (n < 0) {
            err = errno;
            break;
        }
        total += n;
    }
    check_err(err ? -1 : 0, err, ENOSPC, "writing until full");
    check(total > 0, "something was written first");
    close(fd);
    check_eq(unlink(path), 0, "unlink the full file");
    fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
    check(fd >= 0 && write(fd, block, sizeof block) == (ssize_t)sizeof block,
          "space is back after unlink");
    close(fd);
    unlink(path);
    return check_done();
}

static int pipes(long mb, int unix_sockets)
{
    enum { N = 400 };
    static int fds[N][2];
    static char chunk[65536];
    long long total = 0;
    int made = 0;
    for (; made < N; made++) {
        int r = unix_sockets ? socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds[made])
                             : pipe2(fds[made], O_NONBLOCK);
        if (r != 0)
            break;
        ssize_t n;
        while ((n = write(fds[made][1], chunk, sizeof chunk)) > 0)
            total += n;
        if (errno != EAGAIN)
            break;
    }
    check_eq(made, N, "400 pipes or socket pairs made and filled until EAGAIN");
    check(total <= mb * 1048576 + (long long)N * 4096,
          "the bytes held stay within the budget plus a page per pipe");
    check(total >= (long long)N * 4096, "every one holds at least a page");
    for (int i = 0; i < made; i++) {
        close(fds[i][0]);
        close(fds[i][1]);
    }
    int p[2];
    check(pipe(p) == 0 && write(p[1], chunk, sizeof chunk) == (ssize_t)sizeof chunk,
          "a full 64 KiB write fits again once the pipes are closed");
    return check_done();
}

int main(int argc, char **argv)
{
    if (argc > 2 && !strcmp(argv[1], "fill"))
        return fill(argv[2]);
    if (argc > 2 && !strcmp(argv[1], "pipes"))
        return pipes(atol(argv[2]), 0);
    if (argc > 2 && !strcmp(argv[1], "unix"))
        return pipes(atol(argv[2]), 1);
    fprintf(stderr, "usage: budget fill DIR | pipes MB | unix MB\n");
    return 2;
}
