/* fs_copy.c -- copying between descriptors and mapping files: sendfile
 * (file -> file with and without an offset pointer, file -> pipe, errors),
 * copy_file_range (fd offsets, explicit offsets, past EOF, errors), and mmap
 * of regular files: MAP_PRIVATE reads and private writes, MAP_SHARED writes
 * reaching the file after msync or munmap, offsets, SIGBUS past the end of
 * the file (also after shrinking it), ftruncate growing a mapped file, and
 * the EACCES/EINVAL/ENODEV cases.
 * Args: argv[1] = an empty directory to work in (left empty again).
 * Prints "ok ..." lines, then "all ok" (exit 0) or "FAIL: ..." (exit 1). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fsutil.h"

#define N 10000
static unsigned char src[N], buf[40000];

static void sendfiles(void)
{
    check_eq(put_file("src", src, N), N, "create src (10000 bytes)");
    int in = open("src", O_RDONLY);
    int out = open("dst", O_CREAT | O_WRONLY | O_TRUNC, 0644);
    check_eq(sendfile(out, in, NULL, N), N, "sendfile of 10000 bytes, NULL offset");
    check_eq(lseek(in, 0, SEEK_CUR), N, "it moved the input offset");
    check_eq(lseek(out, 0, SEEK_CUR), N, "and the output offset");
    check(get_file("dst", buf, sizeof buf) == N && !memcmp(buf, src, N), "dst equals src");
    check_eq(sendfile(out, in, NULL, 100), 0, "sendfile at the input's EOF -> 0");
    close(out);
    out = open("dst2", O_CREAT | O_WRONLY | O_TRUNC, 0644);
    off_t off = 100;
    check_eq(sendfile(out, in, &off, 500), 500, "sendfile of 500 bytes from offset 100");
    check_eq(off, 600, "the offset advanced to 600");
    check_eq(lseek(in, 0, SEEK_CUR), N, "the input's file offset did not move");
    off = N - 100;
    check_eq(sendfile(out, in, &off, 500), 100, "sendfile across EOF is short (100)");
    check_eq(off, N, "the offset is at EOF");
    check_eq(sendfile(out, in, &off, 500), 0, "sendfile at EOF -> 0");
    check_eq(sendfile(out, in, &off, 0), 0, "sendfile of 0 bytes -> 0");
    check(get_file("dst2", buf, sizeof buf) == 600 && !memcmp(buf, src + 100, 500) && !memcmp(buf + 500, src + N - 100, 100),
          "dst2 holds both pieces");
    int p[2];
    check(pipe(p) == 0, "pipe");
    off = 0;
    check_eq(sendfile(p[1], in, &off, 4000), 4000, "sendfile of 4000 bytes into a pipe");
    check(read_full(p[0], buf, 4000) == 4000 && !memcmp(buf, src, 4000), "read them from the pipe");
    off = -1;
    CHECK_ERR(sendfile(out, in, &off, 10), EINVAL, "sendfile from offset -1");
    CHECK_ERR(sendfile(in, in, NULL, 10), EBADF, "sendfile to an O_RDONLY fd");
    CHECK_ERR(sendfile(p[1], out, NULL, 10), EBADF, "sendfile from an O_WRONLY fd");
    CHECK_ERR(sendfile(out, -1, NULL, 10), EBADF, "sendfile from fd -1");
    int app = open("dst2", O_WRONLY | O_APPEND);
    CHECK_ERR(sendfile(app, in, NULL, 10), EINVAL, "sendfile to an O_APPEND fd");
    close(app);
    close(p[0]);
    close(p[1]);
    close(out);
    close(in);
    check(unlink("dst") == 0 && unlink("dst2") == 0, "unlink dst and dst2");
}

static void copy_ranges(void)
{
    int in = open("src", O_RDONLY);
    int out = open("cfr", O_CREAT | O_RDWR | O_TRUNC, 0644);
    check_eq(copy_file_range(in, NULL, out, NULL, 5000, 0), 5000, "copy_file_range of 5000 bytes, NULL offsets");
    check(lseek(in, 0, SEEK_CUR) == 5000 && lseek(out, 0, SEEK_CUR) == 5000, "both fd offsets moved to 5000");
    loff_t oi = 8000, oo = 20000;
    check_eq(copy_file_range(in, &oi, out, &oo, 1000, 0), 1000, "copy_file_range of 1000 bytes from 8000 to 20000");
    check(oi == 9000 && oo == 21000, "both offsets advanced by 1000");
    check(lseek(in, 0, SEEK_CUR) == 5000 && lseek(out, 0, SEEK_CUR) == 5000, "the fd offsets did not move");
    check(pread(out, buf, sizeof buf, 0) == 21000 && !memcmp(buf, src, 5000) && all_bytes(buf + 5000, 0, 15000) &&
              !memcmp(buf + 20000, src + 8000, 1000),
          "cfr: 5000 bytes, a hole, 1000 bytes");
    oi = N - 50;
    check_eq(copy_file_range(in, &oi, out, &oo, 1000, 0), 50, "copy_file_range across EOF is short (50)");
    oi = 20000;
    check_eq(copy_file_range(in, &oi, out, &oo, 100, 0), 0, "copy_file_range from past EOF -> 0");
    oi = 0;
    oo = 30000;
    check_eq(copy_file_range(out, &oi, out, &oo, 100, 0), 100, "copy_file_range within one file");
    check(pread(out, buf, 100, 30000) == 100 && !memcmp(buf, src, 100), "copied");
    oi = 0;
    oo = 50;
    CHECK_ERR(copy_file_range(out, &oi, out, &oo, 100, 0), EINVAL, "overlapping ranges in one file");
    CHECK_ERR(copy_file_range(in, NULL, out, NULL, 10, 1), EINVAL, "copy_file_range with flags 1");
    CHECK_ERR(copy_file_range(in, NULL, in, NULL, 10, 0), EBADF, "copy_file_range to an O_RDONLY fd");
    int wo = open("cfr", O_WRONLY), app = open("cfr", O_WRONLY | O_APPEND);
    CHECK_ERR(copy_file_range(wo, NULL, out, NULL, 10, 0), EBADF, "copy_file_range from an O_WRONLY fd");
    CHECK_ERR(copy_file_range(in, NULL, app, NULL, 10, 0), EBADF, "copy_file_range to an O_APPEND fd");
    int p[2];
    check(pipe(p) == 0, "pipe");
    CHECK_ERR(copy_file_range(in, NULL, p[1], NULL, 10, 0), EINVAL, "copy_file_range to a pipe");
    close(p[0]);
    close(p[1]);
    close(wo);
    close(app);
    close(out);
    close(in);
    check_eq(unlink("cfr"), 0, "unlink cfr");
}

static sigjmp_buf jb;
static volatile sig_atomic_t last_sig;
static void on_fault(int sig)
{
    last_sig = sig;
    siglongjmp(jb, 1);
}

/* Reads *p; returns 0, or the signal the read raised. */
static int try_read(const volatile char *p, char *out)
{
    last_sig = 0;
    if (sigsetjmp(jb, 1) == 0) {
        *out = *p;
        return 0;
    }
    return last_sig;
}

static void mappings(void)
{
    check_eq(put_file("m", src, 8192), 8192, "create m (2 pages)");
    int fd = open("m", O_RDWR);
    char *a = mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, fd, 0);
    check(a != MAP_FAILED && !memcmp(a, src, 8192), "MAP_PRIVATE PROT_READ shows the file");
    munmap(a, 8192);
    a = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    check(a != MAP_FAILED, "MAP_PRIVATE PROT_READ|PROT_WRITE");
    memcpy(a, "PRIV", 4);
    check(!memcmp(a, "PRIV", 4), "a private write shows in the mapping");
    check(pread(fd, buf, 4, 0) == 4 && !memcmp(buf, src, 4), "but not in the file");
    char *b = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    check(b != MAP_FAILED && !memcmp(b, src, 4), "nor in a MAP_SHARED mapping");
    munmap(a, 8192);
    memcpy(b + 100, "SHRD", 4);
    check_eq(msync(b, 8192, MS_SYNC), 0, "a MAP_SHARED write, then msync(MS_SYNC)");
    check(pread(fd, buf, 4, 100) == 4 && !memcmp(buf, "SHRD", 4), "read(2) sees it");
    memcpy(b + 5000, "UNMP", 4);
    check_eq(munmap(b, 8192), 0, "a MAP_SHARED write, then munmap");
    check(pread(fd, buf, 4, 5000) == 4 && !memcmp(buf, "UNMP", 4), "read(2) sees it");
    b = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    memcpy(b + 200, "CLSD", 4);
    check_eq(munmap(b, 4096), 0, "a MAP_SHARED write after closing the fd, then munmap");
    check(get_file("m", buf, sizeof buf) == 8192 && !memcmp(buf + 200, "CLSD", 4), "the file has it");
    fd = open("m", O_RDONLY);
    a = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 4096);
    check(a != MAP_FAILED && !memcmp(a, src + 4096, 904) && !memcmp(a + 904, "UNMP", 4), "mmap at file offset 4096");
    CHECK_ERR(mprotect(a, 4096, PROT_READ | PROT_WRITE), EACCES, "mprotect PROT_WRITE of a MAP_SHARED O_RDONLY mapping");
    munmap(a, 4096);
    a = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    check(a != MAP_FAILED, "MAP_PRIVATE PROT_WRITE of an O_RDONLY fd");
    munmap(a, 4096);
    CHECK_ERR(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), EACCES,
              "MAP_SHARED PROT_WRITE of an O_RDONLY fd");
    CHECK_ERR(mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 100), EINVAL, "mmap at an unaligned offset");
    CHECK_ERR(mmap(NULL, 0, PROT_READ, MAP_SHARED, fd, 0), EINVAL, "mmap of 0 bytes");
    close(fd);
    fd = open("m", O_WRONLY);
    CHECK_ERR(mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0), EACCES, "mmap of an O_WRONLY fd");
    close(fd);
    fd = open("m", O_RDWR | O_APPEND);
    a = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    check(a != MAP_FAILED, "MAP_SHARED PROT_WRITE of an O_APPEND fd works (EACCES is only for append-only inodes)");
    munmap(a, 4096);
    close(fd);
    fd = open(".", O_RDONLY | O_DIRECTORY);
    CHECK_ERR(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0), ENODEV, "mmap of a directory");
    close(fd);

    /* Past the end of the file. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fault;
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGSEGV, &sa, NULL);
    check_eq(put_file("small", src, 100), 100, "create small (100 bytes)");
    fd = open("small", O_RDWR);
    a = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    char *p = mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, fd, 0);
    check(a != MAP_FAILED && p != MAP_FAILED, "map 2 pages of it, MAP_SHARED and MAP_PRIVATE");
    check(!memcmp(a, src, 100) && all_bytes(a + 100, 0, 4096 - 100), "the first page: the file, then zeros");
    char c;
    check_eq(try_read(a + 4096, &c), SIGBUS, "reading the second page (past EOF) raises SIGBUS");
    check_eq(try_read(p + 5000, &c), SIGBUS, "also in the MAP_PRIVATE mapping");
    check_eq(ftruncate(fd, 8192), 0, "ftruncate to 8192");
    check(try_read(a + 4096, &c) == 0 && c == 0, "now the second page reads 0");
    check(try_read(p + 5000, &c) == 0 && c == 0, "also in the MAP_PRIVATE mapping");
    a[6000] = 'G';
    check(msync(a, 8192, MS_SYNC) == 0 && pread(fd, &c, 1, 6000) == 1 && c == 'G', "a write there reaches the file");
    char *n = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0);
    check(n != MAP_FAILED && n[6000] == 'G' && all_bytes(n + 100, 0, 5900), "a new mapping sees the new size and data");
    munmap(n, 8192);
    check_eq(ftruncate(fd, 100), 0, "ftruncate back to 100");
    check_eq(try_read(a + 4096, &c), SIGBUS, "the second page raises SIGBUS again");
    munmap(a, 8192);
    munmap(p, 8192);
    close(fd);
    signal(SIGBUS, SIG_DFL);
    signal(SIGSEGV, SIG_DFL);
    check(unlink("small") == 0 && unlink("m") == 0 && unlink("src") == 0, "unlink small, m and src");
}

int main(int argc, char **argv)
{
    enter_workdir(argc, argv, 2, "fs_copy DIR");
    for (int i = 0; i < N; i++)
        src[i] = (unsigned char)(i * 7 + i / 251);
    sendfiles();
    copy_ranges();
    mappings();
    check_workdir_empty();
    return check_done();
}
