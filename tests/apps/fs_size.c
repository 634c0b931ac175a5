/* fs_size.c -- file sizes and syncing: truncate/ftruncate (grow with zeros,
 * shrink, errors), fallocate mode 0 and FALLOC_FL_KEEP_SIZE,
 * posix_fallocate, fsync/fdatasync/syncfs/sync.
 * Args: argv[1] = an empty directory to work in (left empty again).
 * Prints "ok ..." lines, then "all ok" (exit 0) or "FAIL: ..." (exit 1). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fsutil.h"

static char buf[1 << 16];

static void truncation(void)
{
    check_eq(put_file("t", "abcdef", 6), 6, "create t (6 bytes)");
    check_eq(truncate("t", 10000), 0, "truncate to 10000");
    check_eq(fsize("t"), 10000, "size 10000");
    check(get_file("t", buf, sizeof buf) == 10000 && !memcmp(buf, "abcdef", 6) && all_bytes(buf + 6, 0, 9994),
          "the old bytes, then zeros");
    check(truncate("t", 3) == 0 && file_is("t", "abc"), "truncate to 3: abc");
    check(truncate("t", 10) == 0 && get_file("t", buf, sizeof buf) == 10 && !memcmp(buf, "abc", 3) &&
              all_bytes(buf + 3, 0, 7),
          "truncate to 10: the cut bytes come back as zeros");
    CHECK_ERR(truncate("t", -1), EINVAL, "truncate to -1");
    check_eq(mkdir("d", 0755), 0, "mkdir d");
    CHECK_ERR(truncate("d", 0), EISDIR, "truncate of a directory");
    CHECK_ERR(truncate("missing", 0), ENOENT, "truncate of a missing name");
    CHECK_ERR(truncate("t/x", 0), ENOTDIR, "truncate through a file");
    check_eq(symlink("t", "lnk"), 0, "symlink lnk -> t");
    check(truncate("lnk", 4) == 0 && fsize("t") == 4, "truncate through a symlink truncates the target");

    int fd = open("t", O_RDWR);
    int other = open("t", O_RDONLY);
    check_eq(lseek(fd, 5, SEEK_SET), 5, "lseek to 5");
    check_eq(ftruncate(fd, 2), 0, "ftruncate to 2");
    check_eq(lseek(fd, 0, SEEK_CUR), 5, "the offset stays at 5");
    struct stat st;
    check(fstat(other, &st) == 0 && st.st_size == 2, "another fd sees size 2");
    check_eq(write(fd, "X", 1), 1, "write at 5");
    check(get_file("t", buf, sizeof buf) == 6 && !memcmp(buf, "ab\0\0\0X", 6), "ab, a 3-byte hole, X");
    check(ftruncate(fd, 0) == 0 && fsize("t") == 0, "ftruncate to 0");
    check(ftruncate(fd, 1 << 20) == 0 && fsize("t") == 1 << 20, "ftruncate to 1 MiB");
    check(pread(fd, buf, sizeof buf, (1 << 20) - sizeof buf) == sizeof buf && all_bytes(buf, 0, sizeof buf),
          "its last 64 KiB read as zeros");
    CHECK_ERR(ftruncate(fd, -1), EINVAL, "ftruncate to -1");
    CHECK_ERR(ftruncate(other, 0), EINVAL, "ftruncate of an O_RDONLY fd");
    int pfd = open("t", O_PATH);
    CHECK_ERR(ftruncate(pfd, 0), EBADF, "ftruncate of an O_PATH fd");
    close(pfd);
    int p[2];
    check(pipe(p) == 0, "pipe");
    CHECK_ERR(ftruncate(p[1], 0), EINVAL, "ftruncate of a pipe");
    CHECK_ERR(ftruncate(-1, 0), EBADF, "ftruncate(-1)");
    check_eq(fsize("t"), 1 << 20, "the failed calls left the size alone");
    close(other);

    /* fsync and friends (here, while fd is open). */
    check_eq(fsync(fd), 0, "fsync");
    check_eq(fdatasync(fd), 0, "fdatasync");
    check_eq(syncfs(fd), 0, "syncfs");
    sync();
    int ro = open("t", O_RDONLY);
    check_eq(fsync(ro), 0, "fsync of an O_RDONLY fd");
    close(ro);
    int dfd = open("d", O_RDONLY | O_DIRECTORY);
    check_eq(fsync(dfd), 0, "fsync of a directory");
    check_eq(fdatasync(dfd), 0, "fdatasync of a directory");
    close(dfd);
    CHECK_ERR(fsync(-1), EBADF, "fsync(-1)");
    CHECK_ERR(fdatasync(-1), EBADF, "fdatasync(-1)");
    CHECK_ERR(fsync(p[1]), EINVAL, "fsync of a pipe");
    close(p[0]);
    close(p[1]);
    close(fd);
    check(unlink("t") == 0 && unlink("lnk") == 0 && rmdir("d") == 0, "remove t, lnk and d");
}

static void allocation(void)
{
    struct stat st;
    check_eq(put_file("fa", "0123456789", 10), 10, "create fa (10 bytes)");
    int fd = open("fa", O_RDWR);
    check_eq(fallocate(fd, 0, 0, 8192), 0, "fallocate(0, 8192)");
    check(fstat(fd, &st) == 0 && st.st_size == 8192, "size 8192");
    check(pread(fd, buf, sizeof buf, 0) == 8192 && !memcmp(buf, "0123456789", 10) && all_bytes(buf + 10, 0, 8182),
          "the old bytes, then zeros");
    check(fallocate(fd, 0, 100, 50) == 0 && fstat(fd, &st) == 0 && st.st_size == 8192,
          "fallocate inside the file: size unchanged");
    check(pread(fd, buf, sizeof buf, 0) == 8192 && !memcmp(buf, "0123456789", 10) && all_bytes(buf + 10, 0, 8182),
          "contents unchanged");
    check(fallocate(fd, FALLOC_FL_KEEP_SIZE, 8192, 4096) == 0 && fstat(fd, &st) == 0 && st.st_size == 8192,
          "FALLOC_FL_KEEP_SIZE past EOF: size unchanged");
    check(fallocate(fd, 0, 10000, 100) == 0 && fstat(fd, &st) == 0 && st.st_size == 10100,
          "fallocate(10000, 100): size 10100");
    check(pread(fd, buf, sizeof buf, 8000) == 2100 && all_bytes(buf, 0, 2100), "the new range reads as zeros");
    check_eq(lseek(fd, 0, SEEK_CUR), 0, "fallocate left the offset at 0");
    CHECK_ERR(fallocate(fd, 0, 0, 0), EINVAL, "fallocate of 0 bytes");
    CHECK_ERR(fallocate(fd, 0, -1, 10), EINVAL, "fallocate at offset -1");
    int ro = open("fa", O_RDONLY);
    CHECK_ERR(fallocate(ro, 0, 0, 10), EBADF, "fallocate of an O_RDONLY fd");
    close(ro);
    int p[2];
    check(pipe(p) == 0, "pipe");
    CHECK_ERR(fallocate(p[1], 0, 0, 10), ESPIPE, "fallocate of a pipe");
    close(p[0]);
    close(p[1]);
    CHECK_ERR(fallocate(-1, 0, 0, 10), EBADF, "fallocate(-1)");
    check_eq(posix_fallocate(fd, 0, 20000), 0, "posix_fallocate(0, 20000)");
    check(fstat(fd, &st) == 0 && st.st_size == 20000, "size 20000");
    check(pread(fd, buf, sizeof buf, 0) == 20000 && !memcmp(buf, "0123456789", 10) && all_bytes(buf + 10, 0, 19990),
          "the old bytes, then zeros");
    close(fd);
    check_eq(unlink("fa"), 0, "unlink fa");
}

int main(int argc, char **argv)
{
    enter_workdir(argc, argv, 2, "fs_size DIR");
    umask(022);
    truncation();
    allocation();
    check_workdir_empty();
    return check_done();
}
