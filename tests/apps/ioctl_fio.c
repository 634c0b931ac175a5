/* ioctl_fio.c -- the generic descriptor ioctls: FIONREAD on a pipe and on
 * a socket, FIOCLEX/FIONCLEX (close-on-exec, as F_SETFD), FIOASYNC (the
 * O_ASYNC status flag, as nginx sets it on its channel socket pair), and
 * ENOTTY for a terminal request on a pipe. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>
#include "check.h"

int main(void)
{
    int p[2], s[2], n = -1, on = 1, off = 0;
    check(pipe(p) == 0 && write(p[1], "hello", 5) == 5, "pipe with 5 bytes");
    check(ioctl(p[0], FIONREAD, &n) == 0 && n == 5, "FIONREAD on a pipe: 5");
    check(socketpair(AF_UNIX, SOCK_STREAM, 0, s) == 0 && write(s[0], "abc", 3) == 3, "socket pair");
    check(ioctl(s[1], FIONREAD, &n) == 0 && n == 3, "FIONREAD on a socket: 3");

    check(ioctl(p[0], FIOCLEX) == 0 && fcntl(p[0], F_GETFD) == FD_CLOEXEC, "FIOCLEX sets close-on-exec");
    check(ioctl(p[0], FIONCLEX) == 0 && fcntl(p[0], F_GETFD) == 0, "FIONCLEX clears it");
    CHECK_ERR(ioctl(99, FIOCLEX), EBADF, "FIOCLEX on a closed descriptor");

    check(ioctl(s[0], FIOASYNC, &on) == 0 && (fcntl(s[0], F_GETFL) & O_ASYNC), "FIOASYNC on a socket sets O_ASYNC");
    check(ioctl(s[0], FIOASYNC, &off) == 0 && !(fcntl(s[0], F_GETFL) & O_ASYNC), "FIOASYNC off clears it");
    check(ioctl(p[1], FIOASYNC, &on) == 0 && (fcntl(p[1], F_GETFL) & O_ASYNC), "FIOASYNC on a pipe");

    struct termios t;
    CHECK_ERR(ioctl(p[0], TCGETS, &t), ENOTTY, "TCGETS on a pipe");
    return check_done();
}
