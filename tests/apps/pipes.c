/* pipes.c -- pipes and file descriptors in one process: a write/read round
 * trip, EOF after the write end is closed, O_NONBLOCK (EAGAIN when empty;
 * filling with 4096-byte writes; F_GETFL/F_SETFL), PIPE_BUF atomicity of a
 * non-blocking write, O_CLOEXEC (F_GETFD/F_SETFD), dup/dup2/dup3, F_DUPFD and
 * F_DUPFD_CLOEXEC, EBADF cases, readv/writev, EFAULT from bad buffers (the
 * data stays), data wrapping around the buffer and a capacity raised under it,
 * pipe2 with bad flags.
 * Fd numbers are compared, never printed (except fixed ones like 100).
 * Args: none. Prints "ok ..." lines, then "all ok" (exit 0) or "FAIL: ..." (exit 1). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include "check.h"

int main(void)
{
    int p[2], q[2];
    char buf[8192];
    long r;
    int first_free = dup(0); /* the lowest free fd, to compare at the end */
    close(first_free);

    /* Round trip and EOF. */
    check(pipe(p) == 0, "pipe");
    check_eq(write(p[1], "hello", 5), 5, "write 5 bytes");
    r = read(p[0], buf, sizeof buf);
    check(r == 5 && memcmp(buf, "hello", 5) == 0, "read them back");
    check_eq(read(p[0], buf, 0), 0, "read of 0 bytes -> 0");
    check_eq(write(p[1], buf, 0), 0, "write of 0 bytes -> 0");
    check_eq(fcntl(p[0], F_GETFL) & O_ACCMODE, O_RDONLY, "read end is O_RDONLY");
    check_eq(fcntl(p[1], F_GETFL) & O_ACCMODE, O_WRONLY, "write end is O_WRONLY");
    errno = 0;
    r = write(p[0], "x", 1);
    check_err(r, errno, EBADF, "write to the read end");
    errno = 0;
    r = read(p[1], buf, 1);
    check_err(r, errno, EBADF, "read from the write end");
    check_eq(write(p[1], "tail", 4), 4, "write before close");
    close(p[1]);
    r = read(p[0], buf, sizeof buf);
    check(r == 4 && memcmp(buf, "tail", 4) == 0, "data written before close is still read");
    check_eq(read(p[0], buf, sizeof buf), 0, "read after the write end is closed -> 0 (EOF)");
    close(p[0]);

    /* Non-blocking. */
    check(pipe2(p, O_NONBLOCK) == 0, "pipe2(O_NONBLOCK)");
    errno = 0;
    r = read(p[0], buf, sizeof buf);
    check_err(r, errno, EAGAIN, "read on an empty non-blocking pipe");
    check((fcntl(p[0], F_GETFL) & O_NONBLOCK) != 0, "F_GETFL has O_NONBLOCK");
    check_eq(fcntl(p[0], F_GETFD), 0, "F_GETFD without O_CLOEXEC is 0");
    long total = 0;
    memset(buf, 'z', sizeof buf);
    for (;;) {
        r = write(p[1], buf, 4096);
        if (r < 0)
            break;
        total += r;
        if (total > (64L << 20))
            break;
    }
    int fill_err = errno;
    check(r == -1 && fill_err == EAGAIN && total >= 4096 && total % 4096 == 0, "filled");
    errno = 0;
    r = write(p[1], buf, 1);
    check_err(r, errno, EAGAIN, "1-byte write to a full pipe");
    /* Free fewer than PIPE_BUF bytes: a PIPE_BUF-sized write must not be split. */
    check_eq(read(p[0], buf, 100), 100, "read 100 bytes from the full pipe");
    errno = 0;
    r = write(p[1], buf, 4096);
    check_err(r, errno, EAGAIN, "4096-byte write with less room (no partial write)");
    long drained = 100;
    for (;;) {
        r = read(p[0], buf, sizeof buf);
        if (r <= 0)
            break;
        drained += r;
    }
    check(r == -1 && errno == EAGAIN && drained == total, "drained exactly what was written");
    check_eq(fcntl(p[0], F_SETFL, 0), 0, "F_SETFL 0");
    check((fcntl(p[0], F_GETFL) & O_NONBLOCK) == 0, "F_SETFL cleared O_NONBLOCK");
    check((fcntl(p[1], F_GETFL) & O_NONBLOCK) != 0, "the write end keeps O_NONBLOCK");
    close(p[1]);
    check_eq(read(p[0], buf, 1), 0, "blocking read after close -> 0 (EOF)");
    close(p[0]);

    /* O_NONBLOCK set with F_SETFL. */
    check(pipe(p) == 0, "pipe");
    check_eq(fcntl(p[0], F_SETFL, O_NONBLOCK), 0, "F_SETFL O_NONBLOCK");
    errno = 0;
    r = read(p[0], buf, 1);
    check_err(r, errno, EAGAIN, "read after F_SETFL O_NONBLOCK");
    close(p[0]);
    close(p[1]);

    /* O_CLOEXEC. */
    check(pipe2(p, O_CLOEXEC) == 0, "pipe2(O_CLOEXEC)");
    check(fcntl(p[0], F_GETFD) == FD_CLOEXEC && fcntl(p[1], F_GETFD) == FD_CLOEXEC,
          "F_GETFD == FD_CLOEXEC on both ends");
    int d = dup(p[0]);
    check(d >= 0 && fcntl(d, F_GETFD) == 0, "dup clears FD_CLOEXEC");
    check_eq(fcntl(p[1], F_SETFD, 0), 0, "F_SETFD 0");
    check_eq(fcntl(p[1], F_GETFD), 0, "F_GETFD after F_SETFD 0");
    check_eq(fcntl(p[1], F_SETFD, FD_CLOEXEC), 0, "F_SETFD FD_CLOEXEC");
    check_eq(fcntl(p[1], F_GETFD), FD_CLOEXEC, "F_GETFD after F_SETFD FD_CLOEXEC");
    close(d);

    /* dup returns the lowest free fd. */
    check(pipe(q) == 0, "pipe");
    int x = dup(0), y = dup(0);
    check(x >= 0 && y > x, "dup twice");
    close(x);
    d = dup(0);
    check(d == x, "dup returns the lowest free fd");
    close(d);
    close(y);

    /* dup2 onto an open fd closes it. */
    int w1 = q[1], r1 = q[0], r2 = p[0], w2 = p[1];
    check_eq(dup2(w2, w1), w1, "dup2 onto an open fd returns it");
    check_eq(read(r1, buf, 1) == 0 ? 0 : -1, 0, "the old file was closed (its reader gets EOF)");
    check_eq(write(w1, "Q", 1), 1, "write through the new fd");
    r = read(r2, buf, 1);
    check(r == 1 && buf[0] == 'Q', "data arrives in the other pipe");
    check_eq(fcntl(w1, F_GETFD), 0, "dup2 clears FD_CLOEXEC");
    check_eq(dup2(w2, w2), w2, "dup2(fd, fd) returns fd");
    check_eq(fcntl(w2, F_GETFD), FD_CLOEXEC, "dup2(fd, fd) keeps FD_CLOEXEC");
    errno = 0;
    r = dup2(1000, 1000);
    check_err(r, errno, EBADF, "dup2(bad, bad)");
    errno = 0;
    r = dup2(1000, 50);
    check_err(r, errno, EBADF, "dup2 of a bad fd");
    errno = 0;
    r = dup3(w2, w2, 0);
    check_err(r, errno, EINVAL, "dup3(fd, fd, 0)");
    check_eq(dup3(w2, 60, O_CLOEXEC), 60, "dup3(fd, 60, O_CLOEXEC) -> 60");
    check_eq(fcntl(60, F_GETFD), FD_CLOEXEC, "dup3 with O_CLOEXEC sets FD_CLOEXEC");
    check_eq(dup3(r2, 60, 0), 60, "dup3 onto an open fd");
    check_eq(fcntl(60, F_GETFD), 0, "dup3 without O_CLOEXEC: no FD_CLOEXEC");
    check_eq(fcntl(60, F_GETFL) & O_ACCMODE, O_RDONLY, "fd 60 is now a read end");
    errno = 0;
    r = syscall(SYS_dup3, w2, 61, O_NONBLOCK);
    check_err(r, errno, EINVAL, "dup3 with bad flags");
    close(60);
    close(r1);

    /* F_DUPFD / F_DUPFD_CLOEXEC. */
    check_eq(fcntl(w2, F_DUPFD, 100), 100, "F_DUPFD minimum 100 -> 100");
    check_eq(fcntl(w2, F_DUPFD, 100), 101, "F_DUPFD minimum 100 again -> 101");
    check_eq(fcntl(100, F_GETFD), 0, "F_DUPFD: no FD_CLOEXEC");
    check_eq(fcntl(w2, F_DUPFD_CLOEXEC, 100), 102, "F_DUPFD_CLOEXEC minimum 100 -> 102");
    check_eq(fcntl(102, F_GETFD), FD_CLOEXEC, "F_DUPFD_CLOEXEC sets FD_CLOEXEC");
    close(100);
    check_eq(fcntl(w2, F_DUPFD, 100), 100, "F_DUPFD reuses the freed 100");
    errno = 0;
    r = fcntl(w2, F_DUPFD, -1);
    check_err(r, errno, EINVAL, "F_DUPFD with a negative minimum");
    close(100);
    close(101);
    close(102);

    /* Bad fds. */
    errno = 0;
    r = close(1000);
    check_err(r, errno, EBADF, "close(1000)");
    errno = 0;
    r = close(-1);
    check_err(r, errno, EBADF, "close(-1)");
    int tmp = dup(w2);
    close(tmp);
    errno = 0;
    r = close(tmp);
    check_err(r, errno, EBADF, "close twice");
    errno = 0;
    r = fcntl(1000, F_GETFD);
    check_err(r, errno, EBADF, "fcntl on a bad fd");
    errno = 0;
    r = dup(1000);
    check_err(r, errno, EBADF, "dup of a bad fd");
    errno = 0;
    r = read(1000, buf, 1);
    check_err(r, errno, EBADF, "read of a bad fd");

    /* writev / readv. */
    struct iovec out[3] = {
        { "abc", 3 }, { "", 0 }, { "defghij", 7 },
    };
    check_eq(writev(w1, out, 3), 10, "writev of 3 iovecs -> 10");
    char a[4] = { 0 }, b[16] = { 0 };
    struct iovec in[2] = { { a, 4 }, { b, sizeof b } };
    r = readv(r2, in, 2);
    check(r == 10 && memcmp(a, "abcd", 4) == 0 && memcmp(b, "efghij", 6) == 0,
          "readv scatters the 10 bytes over 2 iovecs");
    close(w1);
    close(w2);
    close(r2);

    /* Bad buffers: EFAULT, and the pipe's data stays. */
    check(pipe(p) == 0, "pipe for bad buffers");
    void *volatile bad_v = (void *)1;
    errno = 0;
    r = write(p[1], bad_v, 10);
    check_err(r, errno, EFAULT, "write from a bad buffer");
    check_eq(write(p[1], "kept", 4), 4, "write 4 bytes");
    errno = 0;
    r = read(p[0], bad_v, 4);
    check_err(r, errno, EFAULT, "read into a bad buffer");
    r = read(p[0], buf, sizeof buf);
    check(r == 4 && memcmp(buf, "kept", 4) == 0, "the bytes a bad read left are read next");

    /* Data that wraps around the buffer's end, and a capacity raised
     * while it does, keep their order. */
    static unsigned char big[3 << 16], back[3 << 16];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (unsigned char)(i * 7 + i / 251);
    check_eq(write(p[1], big, 60000), 60000, "write 60000 bytes");
    check_eq(read(p[0], back, 50000), 50000, "read 50000 of them");
    check_eq(write(p[1], big + 60000, 40000), 40000, "write 40000 more (past the end)");
    check(fcntl(p[0], F_SETPIPE_SZ, 1 << 18) >= 1 << 18, "F_SETPIPE_SZ to 256 KiB");
    check_eq(write(p[1], big + 100000, 90000), 90000, "write 90000 more");
    long got = 50000;
    while (got < 190000 && (r = read(p[0], back + got, sizeof back - got)) > 0)
        got += r;
    check(got == 190000 && memcmp(big, back, 190000) == 0, "all 190000 bytes in order");
    close(p[0]);
    close(p[1]);

    /* Bad flags. */
    errno = 0;
    r = syscall(SYS_pipe2, p, O_APPEND);
    check_err(r, errno, EINVAL, "pipe2 with bad flags");

    /* Every fd opened here was closed again. */
    d = dup(0);
    check_eq(d, first_free, "the lowest free fd is the same as at the start");
    close(d);
    return check_done();
}
