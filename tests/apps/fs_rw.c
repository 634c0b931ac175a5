/* fs_rw.c -- reading and writing regular files: read/write, lseek
 * (SEEK_SET/CUR/END, holes past EOF, EINVAL), pread64/pwrite64,
 * readv/writev/preadv/pwritev, O_APPEND (also with pwrite, which appends on
 * Linux), O_RDWR read-after-write, the offset shared by dup'd fds and not by
 * separate opens, and a 3 MiB file written in odd-sized chunks and read back.
 * Args: argv[1] = an empty directory to work in (left empty again).
 * Prints "ok ..." lines, then "all ok" (exit 0) or "FAIL: ..." (exit 1). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include "fsutil.h"

/* Byte i of the large file. */
static unsigned char pattern(long i)
{
    return (unsigned char)((i * 2654435761u) >> 13) ^ (unsigned char)(i / 4099);
}

static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static unsigned char big[70000];

static void large_file(void)
{
    const long total = 3L << 20;
    static const size_t chunks[] = { 1, 4093, 65537, 333, 8191, 12 };
    uint64_t want = 1469598103934665603ull, got = want;
    int fd = open("big", O_CREAT | O_TRUNC | O_RDWR, 0644);
    check(fd >= 0, "create big");
    long off = 0;
    int short_writes = 0, k = 0;
    while (off < total) {
        size_t n = chunks[k++ % 6];
        if ((long)n > total - off)
            n = total - off;
        for (size_t i = 0; i < n; i++)
            big[i] = pattern(off + i);
        want = fnv(want, big, n);
        if (write(fd, big, n) != (ssize_t)n)
            short_writes++;
        off += n;
    }
    check_eq(short_writes, 0, "3 MiB written in odd-sized chunks, each write complete");
    struct stat st;
    check(fstat(fd, &st) == 0 && st.st_size == total, "fstat: size 3 MiB");
    check_eq(lseek(fd, 0, SEEK_SET), 0, "lseek to 0");
    long n, sum = 0;
    while ((n = read(fd, big, 7919)) > 0) {
        got = fnv(got, big, n);
        sum += n;
    }
    check(n == 0 && sum == total, "read it back in 7919-byte chunks up to EOF");
    check(got == want, "same checksum");
    int bad = 0;
    for (long o = 12345; o < total; o += 777777) {
        if (pread(fd, big, 5000, o) != (o + 5000 <= total ? 5000 : total - o))
            bad++;
        for (long i = 0; i < 5000 && o + i < total; i++)
            if (big[i] != pattern(o + i))
                bad++;
    }
    check_eq(bad, 0, "pread at scattered offsets matches");
    check_eq(pread(fd, big, 100, total - 10), 10, "pread across EOF is short");
    close(fd);
    check_eq(unlink("big"), 0, "unlink big");
}

int main(int argc, char **argv)
{
    enter_workdir(argc, argv, 2, "fs_rw DIR");
    char buf[512];
    struct stat st;
    long r;
    int fd, fd2;

    /* lseek. */
    check_eq(put_file("f", "hello world", 11), 11, "create f (11 bytes)");
    fd = open("f", O_RDWR);
    check(fd >= 0, "open f O_RDWR");
    check_eq(lseek(fd, 6, SEEK_SET), 6, "SEEK_SET 6");
    r = read(fd, buf, 5);
    check(r == 5 && !memcmp(buf, "world", 5), "read 5 bytes there");
    check_eq(lseek(fd, 0, SEEK_CUR), 11, "SEEK_CUR 0 -> 11");
    check_eq(lseek(fd, -5, SEEK_CUR), 6, "SEEK_CUR -5 -> 6");
    check_eq(lseek(fd, 0, SEEK_END), 11, "SEEK_END 0 -> 11");
    check_eq(lseek(fd, -11, SEEK_END), 0, "SEEK_END -11 -> 0");
    CHECK_ERR(lseek(fd, -1, SEEK_SET), EINVAL, "SEEK_SET -1");
    CHECK_ERR(lseek(fd, -12, SEEK_END), EINVAL, "SEEK_END to before the start");
    CHECK_ERR(lseek(fd, -1, SEEK_CUR), EINVAL, "SEEK_CUR to before the start");
    CHECK_ERR(lseek(fd, 0, 42), EINVAL, "lseek with whence 42");
    check_eq(lseek(fd, 0, SEEK_CUR), 0, "failed lseeks left the offset alone");
    check_eq(lseek(fd, 100, SEEK_SET), 100, "SEEK_SET past EOF");
    check(fstat(fd, &st) == 0 && st.st_size == 11, "seeking does not change the size");
    check_eq(read(fd, buf, 10), 0, "read past EOF -> 0");
    check_eq(write(fd, "X", 1), 1, "write past EOF");
    check(fstat(fd, &st) == 0 && st.st_size == 101, "size is now 101");
    memset(buf, 'q', sizeof buf);
    check_eq(pread(fd, buf, 200, 0), 101, "pread the whole file");
    check(!memcmp(buf, "hello world", 11) && all_bytes(buf + 11, 0, 89) && buf[100] == 'X',
          "the hole reads as zeros");
    check_eq(lseek(fd, 10, SEEK_END), 111, "SEEK_END +10 -> 111");

    /* pread / pwrite. */
    check_eq(lseek(fd, 2, SEEK_SET), 2, "SEEK_SET 2");
    r = pread(fd, buf, 5, 6);
    check(r == 5 && !memcmp(buf, "world", 5), "pread 5 bytes at 6");
    check_eq(pwrite(fd, "WOR", 3, 6), 3, "pwrite 3 bytes at 6");
    check_eq(lseek(fd, 0, SEEK_CUR), 2, "pread/pwrite left the offset at 2");
    r = read(fd, buf, 9);
    check(r == 9 && !memcmp(buf, "llo WORld", 9), "read sees the pwrite");
    check_eq(pread(fd, buf, 10, 101), 0, "pread at EOF -> 0");
    check_eq(pread(fd, buf, 10, 5000), 0, "pread past EOF -> 0");
    CHECK_ERR(pread(fd, buf, 1, -1), EINVAL, "pread at offset -1");
    CHECK_ERR(pwrite(fd, "x", 1, -1), EINVAL, "pwrite at offset -1");
    check_eq(pwrite(fd, "E", 1, 200), 1, "pwrite at 200, past EOF");
    check(fstat(fd, &st) == 0 && st.st_size == 201, "size is now 201");
    check(pread(fd, buf, 200, 101) == 100 && all_bytes(buf, 0, 99) && buf[99] == 'E',
          "the new hole reads as zeros");
    check_eq(read(fd, buf, 0), 0, "read of 0 bytes -> 0");
    check_eq(write(fd, buf, 0), 0, "write of 0 bytes -> 0");
    check(fstat(fd, &st) == 0 && st.st_size == 201, "... and does not change the size");
    close(fd);

    /* Vectored I/O. */
    fd = open("v", O_CREAT | O_RDWR | O_TRUNC, 0644);
    struct iovec out[3] = { { "ab", 2 }, { "", 0 }, { "cdefg", 5 } };
    check_eq(writev(fd, out, 3), 7, "writev of 3 iovecs -> 7");
    check_eq(lseek(fd, 0, SEEK_CUR), 7, "writev moved the offset");
    struct iovec wv[2] = { { "XY", 2 }, { "Z", 1 } };
    check_eq(pwritev(fd, wv, 2, 3), 3, "pwritev 3 bytes at 3");
    check_eq(lseek(fd, 0, SEEK_CUR), 7, "pwritev left the offset alone");
    char a[3] = { 0 }, b[8] = { 0 };
    struct iovec in[2] = { { a, 3 }, { b, sizeof b } };
    check_eq(lseek(fd, 0, SEEK_SET), 0, "lseek to 0");
    r = readv(fd, in, 2);
    check(r == 7 && !memcmp(a, "abc", 3) && !memcmp(b, "XYZg", 4), "readv scatters the file");
    memset(a, 0, 3);
    memset(b, 0, sizeof b);
    r = preadv(fd, in, 2, 2);
    check(r == 5 && !memcmp(a, "cXY", 3) && !memcmp(b, "Zg", 2), "preadv at 2");
    check_eq(lseek(fd, 0, SEEK_CUR), 7, "preadv left the offset alone");
    check_eq(writev(fd, out, 0), 0, "writev of 0 iovecs -> 0");
    volatile int minus1 = -1;
    CHECK_ERR(writev(fd, out, minus1), EINVAL, "writev with iovcnt -1");
    static struct iovec many[IOV_MAX + 1];
    for (int i = 0; i <= IOV_MAX; i++)
        many[i] = (struct iovec){ buf, 1 };
    CHECK_ERR(writev(fd, many, IOV_MAX + 1), EINVAL, "writev with IOV_MAX + 1 iovecs");
    check_eq(pwritev(fd, many, IOV_MAX, 0), IOV_MAX, "pwritev with IOV_MAX iovecs");
    close(fd);

    /* O_APPEND. */
    check_eq(put_file("ap", "0123", 4), 4, "create ap (4 bytes)");
    fd = open("ap", O_RDWR | O_APPEND);
    check((fcntl(fd, F_GETFL) & O_APPEND) != 0, "F_GETFL shows O_APPEND");
    check_eq(lseek(fd, 0, SEEK_CUR), 0, "an O_APPEND fd starts at offset 0");
    r = read(fd, buf, 2);
    check(r == 2 && !memcmp(buf, "01", 2), "read from the start");
    check_eq(write(fd, "ab", 2), 2, "write");
    check_eq(lseek(fd, 0, SEEK_CUR), 6, "the write went to the end (offset 6)");
    check_eq(lseek(fd, 1, SEEK_SET), 1, "lseek to 1");
    check_eq(write(fd, "c", 1), 1, "write after lseek");
    check(file_is("ap", "0123abc"), "it also went to the end");
    check_eq(pwrite(fd, "P", 1, 0), 1, "pwrite at 0 on an O_APPEND fd");
    check(file_is("ap", "0123abcP"), "Linux appends it anyway");
    check_eq(lseek(fd, 0, SEEK_CUR), 7, "and pwrite does not move the offset");
    fd2 = open("ap", O_WRONLY | O_APPEND);
    check(write(fd2, "B", 1) == 1 && write(fd, "A", 1) == 1 && write(fd2, "B", 1) == 1,
          "alternate writes through two O_APPEND fds");
    check(file_is("ap", "0123abcPBAB"), "none overwrote another");
    close(fd2);
    check_eq(fcntl(fd, F_SETFL, 0), 0, "F_SETFL 0 clears O_APPEND");
    check(lseek(fd, 0, SEEK_SET) == 0 && write(fd, "_", 1) == 1, "write at 0");
    check(file_is("ap", "_123abcPBAB"), "overwrote the first byte");
    close(fd);
    fd = open("ap", O_WRONLY);
    check_eq(fcntl(fd, F_SETFL, O_APPEND), 0, "F_SETFL O_APPEND");
    check(write(fd, "!", 1) == 1 && file_is("ap", "_123abcPBAB!"), "now writes append");
    close(fd);

    /* O_RDWR read-after-write; offsets of dup'd and separately opened fds. */
    fd = open("rw", O_CREAT | O_RDWR | O_TRUNC, 0644);
    check_eq(write(fd, "abc", 3), 3, "write abc");
    check_eq(read(fd, buf, 10), 0, "read right after the write -> EOF");
    check_eq(lseek(fd, 0, SEEK_SET), 0, "lseek to 0");
    r = read(fd, buf, 10);
    check(r == 3 && !memcmp(buf, "abc", 3), "read back abc");
    check(write(fd, "d", 1) == 1 && lseek(fd, 1, SEEK_SET) == 1 && write(fd, "X", 1) == 1,
          "write d at the end, X at 1");
    check(file_is("rw", "aXcd"), "file holds aXcd");
    fd2 = dup(fd);
    check_eq(lseek(fd, 1, SEEK_SET), 1, "lseek fd to 1");
    check_eq(lseek(fd2, 0, SEEK_CUR), 1, "the dup'd fd is at 1 too");
    r = read(fd2, buf, 2);
    check(r == 2 && !memcmp(buf, "Xc", 2), "read 2 bytes through the dup");
    check_eq(lseek(fd, 0, SEEK_CUR), 3, "the original fd moved to 3");
    check_eq(fcntl(fd, F_SETFL, O_APPEND), 0, "F_SETFL O_APPEND on the original");
    check((fcntl(fd2, F_GETFL) & O_APPEND) != 0, "the dup shares the status flags");
    close(fd2);
    int fd3 = fcntl(fd, F_DUPFD, 0);
    check_eq(lseek(fd3, 0, SEEK_CUR), 3, "an F_DUPFD copy shares the offset");
    close(fd3);
    fd2 = open("rw", O_RDWR);
    check_eq(lseek(fd2, 0, SEEK_CUR), 0, "a separate open starts at 0");
    check(write(fd2, "12", 2) == 2 && lseek(fd, 0, SEEK_CUR) == 3, "its writes do not move the other fd");
    check(file_is("rw", "12cd"), "it overwrote from 0");
    close(fd2);
    close(fd);

    large_file();

    check(unlink("f") == 0 && unlink("v") == 0 && unlink("ap") == 0 && unlink("rw") == 0,
          "unlink f, v, ap and rw");
    check_workdir_empty();
    return check_done();
}
