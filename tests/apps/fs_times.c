/* fs_times.c -- file times: utimensat (exact values with nanoseconds,
 * UTIME_NOW, UTIME_OMIT, AT_SYMLINK_NOFOLLOW, NULL times, a NULL path),
 * futimens, futimesat, utimes, utime, and which calls update mtime/ctime
 * implicitly (write, ftruncate, creating and removing names in a directory)
 * or leave mtime alone (read, chmod, rename, link). "Now" is checked
 * loosely (within 2 s of time(2)); times are never printed.
 * Args: argv[1] = an empty directory to work in (left empty again).
 * Prints "ok ..." lines, then "all ok" (exit 0) or "FAIL: ..." (exit 1). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <utime.h>
#include <unistd.h>
#include "fsutil.h"

static time_t t0;

/* Starts a "now" window. */
static void mark(void)
{
    t0 = time(NULL);
}

/* ts lies within the window started by mark() (with 2 s of slack). */
static int is_now(struct timespec ts)
{
    time_t t1 = time(NULL);
    return ts.tv_sec >= t0 - 2 && ts.tv_sec <= t1 + 2;
}

static int is_ts(struct timespec ts, long sec, long nsec)
{
    return ts.tv_sec == sec && ts.tv_nsec == nsec;
}

static struct stat st_of(const char *path)
{
    struct stat st;
    memset(&st, 0, sizeof st);
    lstat(path, &st);
    return st;
}

/* Sets atime and mtime of path (not following symlinks) to exact values. */
static int set_times(const char *path, long asec, long msec)
{
    struct timespec ts[2] = { { asec, 0 }, { msec, 0 } };
    return utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW);
}

static void explicit_times(void)
{
    struct stat st;
    check_eq(put_file("f", "data", 4), 4, "create f");
    struct timespec ts[2] = { { 1000000000, 123456789 }, { 1200000000, 987654321 } };
    mark();
    check_eq(utimensat(AT_FDCWD, "f", ts, 0), 0, "utimensat with exact times");
    st = st_of("f");
    check(is_ts(st.st_atim, 1000000000, 123456789), "atime read back exactly, with nanoseconds");
    check(is_ts(st.st_mtim, 1200000000, 987654321), "mtime read back exactly, with nanoseconds");
    check(is_now(st.st_ctim), "ctime is now");
    struct timespec c0 = st.st_ctim;
    struct timespec omit2[2] = { { 0, UTIME_OMIT }, { 0, UTIME_OMIT } };
    check_eq(utimensat(AT_FDCWD, "f", omit2, 0), 0, "utimensat with both UTIME_OMIT");
    st = st_of("f");
    check(is_ts(st.st_atim, 1000000000, 123456789) && is_ts(st.st_mtim, 1200000000, 987654321) &&
              is_ts(st.st_ctim, c0.tv_sec, c0.tv_nsec),
          "changes nothing, not even ctime");
    struct timespec omit_a[2] = { { 0, UTIME_OMIT }, { 1300000000, 5 } };
    check_eq(utimensat(AT_FDCWD, "f", omit_a, 0), 0, "utimensat with atime UTIME_OMIT");
    st = st_of("f");
    check(is_ts(st.st_atim, 1000000000, 123456789) && is_ts(st.st_mtim, 1300000000, 5),
          "atime kept, mtime set");
    struct timespec now_m[2] = { { 1400000000, 0 }, { 12345, UTIME_NOW } };
    mark();
    check_eq(utimensat(AT_FDCWD, "f", now_m, 0), 0, "utimensat with mtime UTIME_NOW");
    st = st_of("f");
    check(is_ts(st.st_atim, 1400000000, 0) && is_now(st.st_mtim), "atime set, mtime now");
    mark();
    check_eq(utimensat(AT_FDCWD, "f", NULL, 0), 0, "utimensat with NULL times");
    st = st_of("f");
    check(is_now(st.st_atim) && is_now(st.st_mtim), "both now");

    int fd = open("f", O_RDONLY);
    check_eq(futimens(fd, ts), 0, "futimens on an O_RDONLY fd");
    st = st_of("f");
    check(is_ts(st.st_atim, 1000000000, 123456789) && is_ts(st.st_mtim, 1200000000, 987654321), "times set");
    struct timespec ts2[2] = { { 1500000000, 1 }, { 1500000000, 2 } };
    check_eq(syscall(SYS_utimensat, fd, NULL, ts2, 0), 0, "utimensat(fd, NULL path) system call");
    st = st_of("f");
    check(is_ts(st.st_atim, 1500000000, 1) && is_ts(st.st_mtim, 1500000000, 2), "times set");

    check_eq(symlink("f", "lnk"), 0, "symlink lnk -> f");
    struct timespec ts3[2] = { { 1600000000, 3 }, { 1600000000, 4 } };
    check_eq(utimensat(AT_FDCWD, "lnk", ts3, AT_SYMLINK_NOFOLLOW), 0, "utimensat(AT_SYMLINK_NOFOLLOW) of the symlink");
    st = st_of("lnk");
    check(is_ts(st.st_mtim, 1600000000, 4) && is_ts(st.st_atim, 1600000000, 3), "the symlink's times set");
    check(is_ts(st_of("f").st_mtim, 1500000000, 2), "the target's unchanged");
    check_eq(utimensat(AT_FDCWD, "lnk", ts, 0), 0, "utimensat through the symlink");
    check(is_ts(st_of("f").st_mtim, 1200000000, 987654321) && is_ts(st_of("lnk").st_mtim, 1600000000, 4),
          "changed the target, not the symlink");
    check_eq(mkdir("d", 0755), 0, "mkdir d");
    check_eq(put_file("d/g", "", 0), 0, "create d/g");
    int dfd = open("d", O_RDONLY | O_DIRECTORY);
    check(utimensat(dfd, "g", ts3, 0) == 0 && is_ts(st_of("d/g").st_mtim, 1600000000, 4), "utimensat(dirfd, \"g\")");

    struct timespec bad1[2] = { { 0, 1000000000 }, { 0, 0 } };
    struct timespec bad2[2] = { { 0, 0 }, { 0, -1 } };
    CHECK_ERR(utimensat(AT_FDCWD, "f", bad1, 0), EINVAL, "utimensat with tv_nsec 1000000000");
    CHECK_ERR(utimensat(AT_FDCWD, "f", bad2, 0), EINVAL, "utimensat with tv_nsec -1");
    CHECK_ERR(utimensat(AT_FDCWD, "f", ts, 0x1), EINVAL, "utimensat with bad flags");
    CHECK_ERR(utimensat(AT_FDCWD, "missing", ts, 0), ENOENT, "utimensat of a missing name");
    CHECK_ERR(futimens(-1, ts), EBADF, "futimens(-1)");

    struct timeval tv[2] = { { 1100000000, 250000 }, { 1100000001, 500000 } };
    check_eq(syscall(SYS_futimesat, AT_FDCWD, "f", tv), 0, "futimesat(AT_FDCWD, \"f\")");
    st = st_of("f");
    check(is_ts(st.st_atim, 1100000000, 250000000) && is_ts(st.st_mtim, 1100000001, 500000000),
          "microseconds read back as nanoseconds");
    check(syscall(SYS_futimesat, dfd, "g", tv) == 0 && is_ts(st_of("d/g").st_mtim, 1100000001, 500000000),
          "futimesat(dirfd, \"g\")");
    struct timeval badtv[2] = { { 0, 1000000 }, { 0, 0 } };
    CHECK_ERR(syscall(SYS_futimesat, AT_FDCWD, "f", badtv), EINVAL, "futimesat with tv_usec 1000000");
    mark();
    check_eq(syscall(SYS_futimesat, AT_FDCWD, "f", NULL), 0, "futimesat with NULL times");
    check(is_now(st_of("f").st_mtim), "mtime now");
    struct timeval tv2[2] = { { 1700000000, 1 }, { 1700000000, 2 } };
    check(utimes("f", tv2) == 0 && is_ts(st_of("f").st_mtim, 1700000000, 2000), "utimes");
    struct utimbuf ub = { 1000, 2000 };
    check(utime("f", &ub) == 0 && is_ts(st_of("f").st_atim, 1000, 0) && is_ts(st_of("f").st_mtim, 2000, 0), "utime");
    close(fd);
    close(dfd);
    check(unlink("d/g") == 0 && rmdir("d") == 0 && unlink("lnk") == 0, "remove d and lnk");
}

static void implicit_times(void)
{
    char buf[16];
    struct stat st;
    int fd = open("f", O_RDWR);
    check_eq(set_times("f", 1000, 2000), 0, "set f's times to 1000 and 2000");
    check(read(fd, buf, sizeof buf) == 4 && is_ts(st_of("f").st_mtim, 2000, 0), "read leaves mtime alone");
    mark();
    check_eq(write(fd, "more", 4), 4, "write");
    st = st_of("f");
    check(is_now(st.st_mtim) && is_now(st.st_ctim), "write sets mtime and ctime to now");
    check_eq(set_times("f", 1000, 2000), 0, "set f's times again");
    mark();
    check_eq(ftruncate(fd, 2), 0, "ftruncate to a smaller size");
    st = st_of("f");
    check(is_now(st.st_mtim) && is_now(st.st_ctim), "ftruncate sets mtime and ctime to now");
    check_eq(set_times("f", 1000, 2000), 0, "set f's times again");
    check_eq(chmod("f", 0600), 0, "chmod");
    st = st_of("f");
    check(is_ts(st.st_mtim, 2000, 0) && is_ts(st.st_atim, 1000, 0), "chmod leaves atime and mtime alone");
    check_eq(rename("f", "f2"), 0, "rename f to f2");
    check(is_ts(st_of("f2").st_mtim, 2000, 0), "rename leaves mtime alone");
    check_eq(link("f2", "f3"), 0, "link f3 to f2");
    check(is_ts(st_of("f2").st_mtim, 2000, 0), "link leaves mtime alone");
    close(fd);

    check_eq(mkdir("d", 0755), 0, "mkdir d");
    check_eq(set_times("d", 1000, 2000), 0, "set d's times to 1000 and 2000");
    mark();
    check_eq(put_file("d/new", "", 0), 0, "create a file in d");
    st = st_of("d");
    check(is_now(st.st_mtim) && is_now(st.st_ctim), "d's mtime and ctime are now");
    check_eq(set_times("d", 1000, 2000), 0, "set d's times again");
    mark();
    check_eq(rename("d/new", "d/new2"), 0, "rename a file in d");
    check(is_now(st_of("d").st_mtim), "d's mtime is now");
    check_eq(set_times("d", 1000, 2000), 0, "set d's times again");
    mark();
    check_eq(unlink("d/new2"), 0, "unlink a file in d");
    check(is_now(st_of("d").st_mtim), "d's mtime is now");
    check_eq(set_times("d", 1000, 2000), 0, "set d's times again");
    mark();
    check_eq(mkdir("d/sub", 0755), 0, "mkdir in d");
    check(is_now(st_of("d").st_mtim), "d's mtime is now");
    check(rmdir("d/sub") == 0 && rmdir("d") == 0 && unlink("f2") == 0 && unlink("f3") == 0, "remove d, f2 and f3");
}

int main(int argc, char **argv)
{
    enter_workdir(argc, argv, 2, "fs_times DIR");
    umask(022);
    explicit_times();
    implicit_times();
    check_workdir_empty();
    return check_done();
}
