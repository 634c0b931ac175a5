/* fs_errors.c -- Linux error cases of path-based calls not covered by the
 * other fs_* programs: EFAULT for bad path and buffer pointers (also a path
 * running into unmapped memory), ELOOP after 40 symlinks (chains and
 * symlinked path components), ENAMETOOLONG (paths of 4096 bytes, long
 * components anywhere, long symlink targets), EBADF/ENOTDIR for a bad or
 * non-directory dirfd with a relative path (absolute paths ignore the dirfd),
 * ENOENT for empty paths, ENOTDIR for "file/." and "file/..", ESPIPE, ENXIO
 * of SEEK_DATA/SEEK_HOLE, EINVAL for bad flags and whence, EBUSY for
 * renaming ".".
 * Args: argv[1] = an empty directory to work in (left empty again).
 * Prints "ok ..." lines, then "all ok" (exit 0) or "FAIL: ..." (exit 1). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "fsutil.h"

static char path[8192];

static void efault(void)
{
    const char *volatile bad = (const char *)1;
    struct stat st;
    char buf[64];
    CHECK_ERR(open(bad, O_RDONLY), EFAULT, "open of a bad path pointer");
    CHECK_ERR(open(bad, O_CREAT | O_WRONLY, 0644), EFAULT, "O_CREAT of a bad path pointer");
    CHECK_ERR(syscall(SYS_newfstatat, AT_FDCWD, bad, &st, 0), EFAULT, "newfstatat of a bad path pointer");
    CHECK_ERR(syscall(SYS_statx, AT_FDCWD, bad, 0, 0x7ff, buf), EFAULT, "statx of a bad path pointer");
    CHECK_ERR(mkdir(bad, 0755), EFAULT, "mkdir of a bad path pointer");
    CHECK_ERR(rmdir(bad), EFAULT, "rmdir of a bad path pointer");
    CHECK_ERR(unlink(bad), EFAULT, "unlink of a bad path pointer");
    CHECK_ERR(rename(bad, "x"), EFAULT, "rename from a bad path pointer");
    CHECK_ERR(rename("f", bad), EFAULT, "rename to a bad path pointer");
    CHECK_ERR(link("f", bad), EFAULT, "link to a bad path pointer");
    CHECK_ERR(symlink(bad, "x"), EFAULT, "symlink with a bad target pointer");
    CHECK_ERR(chdir(bad), EFAULT, "chdir to a bad path pointer");
    CHECK_ERR(access(bad, F_OK), EFAULT, "access of a bad path pointer");
    CHECK_ERR(truncate(bad, 0), EFAULT, "truncate of a bad path pointer");
    CHECK_ERR(chmod(bad, 0644), EFAULT, "chmod of a bad path pointer");
    CHECK_ERR(readlink(bad, buf, sizeof buf), EFAULT, "readlink of a bad path pointer");
    CHECK_ERR(readlink("lnk", (char *)bad, 10), EFAULT, "readlink into a bad buffer");
    CHECK_ERR(syscall(SYS_getcwd, bad, 100), EFAULT, "getcwd into a bad buffer");
    CHECK_ERR(syscall(SYS_statfs, ".", bad), EFAULT, "statfs into a bad buffer");
    int dfd = open(".", O_RDONLY | O_DIRECTORY);
    CHECK_ERR(syscall(SYS_getdents64, dfd, bad, 4096), EFAULT, "getdents64 into a bad buffer");
    close(dfd);
    CHECK_ERR(syscall(SYS_utimensat, AT_FDCWD, "f", bad, 0), EFAULT, "utimensat with a bad times pointer");
    char *pg = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check(pg != MAP_FAILED && munmap(pg + 4096, 4096) == 0, "map a page, the next one unmapped");
    memset(pg + 3996, 'a', 100);
    CHECK_ERR(open(pg + 3996, O_RDONLY), EFAULT, "a path running into unmapped memory");
    memset(pg, 'a', 4096);
    CHECK_ERR(open(pg, O_RDONLY), ENAMETOOLONG, "4096 bytes without a NUL before unmapped memory");
    munmap(pg, 4096);
}

static void eloop(void)
{
    char name[16], prev[16];
    int bad = symlink("f", "l0") != 0;
    for (int i = 1; i <= 40; i++) {
        snprintf(prev, sizeof prev, "l%d", i - 1);
        snprintf(name, sizeof name, "l%d", i);
        bad += symlink(prev, name) != 0;
    }
    check_eq(bad, 0, "a chain of symlinks l40 -> l39 -> ... -> l0 -> f");
    int fd = open("l39", O_RDONLY);
    check(fd >= 0, "open through 40 symlinks");
    close(fd);
    CHECK_ERR(open("l40", O_RDONLY), ELOOP, "open through 41 symlinks");
    struct stat st;
    CHECK_ERR(stat("l40", &st), ELOOP, "stat through 41 symlinks");
    check(lstat("l40", &st) == 0 && S_ISLNK(st.st_mode), "lstat of l40 works");
    bad = 0;
    for (int i = 0; i <= 40; i++) {
        snprintf(name, sizeof name, "l%d", i);
        bad += unlink(name) != 0;
    }
    check_eq(bad, 0, "unlink the chain");
    check_eq(symlink(".", "s"), 0, "symlink s -> .");
    path[0] = 0;
    for (int i = 0; i < 40; i++)
        strcat(path, "s/");
    strcat(path, "f");
    fd = open(path, O_RDONLY);
    check(fd >= 0, "open of s/s/.../s/f with 40 symlinked components");
    close(fd);
    memmove(path + 2, path, strlen(path) + 1);
    memcpy(path, "s/", 2);
    CHECK_ERR(open(path, O_RDONLY), ELOOP, "with 41 symlinked components");
    check_eq(unlink("s"), 0, "unlink s");
}

static void enametoolong(void)
{
    struct stat st;
    path[0] = 0;
    for (int i = 0; i < 2047; i++)
        strcat(path, "./");
    strcat(path, "f");
    check_eq(strlen(path), 4095, "a 4095-byte path ./././.../f");
    int fd = open(path, O_RDONLY);
    check(fd >= 0, "open of it works");
    close(fd);
    strcat(path, "f");
    CHECK_ERR(open(path, O_RDONLY), ENAMETOOLONG, "open of a 4096-byte path");
    CHECK_ERR(stat(path, &st), ENAMETOOLONG, "stat of a 4096-byte path");
    CHECK_ERR(mkdir(path, 0755), ENAMETOOLONG, "mkdir of a 4096-byte path");
    CHECK_ERR(chdir(path), ENAMETOOLONG, "chdir to a 4096-byte path");
    char name[300];
    memset(name, 'n', 256);
    name[256] = 0;
    CHECK_ERR(stat(name, &st), ENAMETOOLONG, "stat of a 256-byte name");
    CHECK_ERR(mkdir(name, 0755), ENAMETOOLONG, "mkdir of a 256-byte name");
    CHECK_ERR(unlink(name), ENAMETOOLONG, "unlink of a 256-byte name");
    CHECK_ERR(rename("f", name), ENAMETOOLONG, "rename to a 256-byte name");
    CHECK_ERR(symlink("f", name), ENAMETOOLONG, "symlink named by 256 bytes");
    CHECK_ERR(link("f", name), ENAMETOOLONG, "link named by 256 bytes");
    snprintf(path, sizeof path, "%s/f", name);
    CHECK_ERR(open(path, O_RDONLY), ENAMETOOLONG, "a 256-byte directory component");
    memset(path, 't', 4096);
    path[4096] = 0;
    CHECK_ERR(symlink(path, "x"), ENAMETOOLONG, "symlink with a 4096-byte target");
}

static void dirfds(void)
{
    struct stat st;
    char cwd[4096], abs[4200];
    check(getcwd(cwd, sizeof cwd) != NULL, "getcwd");
    snprintf(abs, sizeof abs, "%s/f", cwd);
    CHECK_ERR(openat(999, "f", O_RDONLY), EBADF, "openat(999, relative)");
    CHECK_ERR(openat(-5, "f", O_RDONLY), EBADF, "openat(-5, relative)");
    CHECK_ERR(fstatat(999, "f", &st, 0), EBADF, "newfstatat(999, relative)");
    CHECK_ERR(fstatat(999, "", &st, AT_EMPTY_PATH), EBADF, "newfstatat(999, \"\", AT_EMPTY_PATH)");
    CHECK_ERR(mkdirat(999, "x", 0755), EBADF, "mkdirat(999, relative)");
    CHECK_ERR(unlinkat(999, "f", 0), EBADF, "unlinkat(999, relative)");
    CHECK_ERR(renameat(999, "f", AT_FDCWD, "x"), EBADF, "renameat(999, relative, ...)");
    int fd = openat(999, abs, O_RDONLY);
    check(fd >= 0, "openat(999, absolute path) ignores the dirfd");
    close(fd);
    check(fstatat(999, abs, &st, 0) == 0 && st.st_size == 5, "newfstatat(999, absolute path)");
    int ffd = open("f", O_RDONLY);
    CHECK_ERR(openat(ffd, "x", O_RDONLY), ENOTDIR, "openat(file fd, relative)");
    CHECK_ERR(openat(ffd, "x", O_CREAT | O_WRONLY, 0644), ENOTDIR, "openat(file fd, relative, O_CREAT)");
    CHECK_ERR(mkdirat(ffd, "x", 0755), ENOTDIR, "mkdirat(file fd, relative)");
    CHECK_ERR(fstatat(ffd, "x", &st, 0), ENOTDIR, "newfstatat(file fd, relative)");
    CHECK_ERR(openat(ffd, "", O_RDONLY), ENOENT, "openat(file fd, \"\")");
    check(fstatat(ffd, "", &st, AT_EMPTY_PATH) == 0 && st.st_size == 5, "newfstatat(file fd, \"\", AT_EMPTY_PATH)");
    fd = openat(ffd, abs, O_RDONLY);
    check(fd >= 0, "openat(file fd, absolute path)");
    close(fd);
    close(ffd);
}

static void misc(void)
{
    struct stat st;
    char buf[16];
    CHECK_ERR(stat("", &st), ENOENT, "stat(\"\")");
    CHECK_ERR(unlink(""), ENOENT, "unlink(\"\")");
    CHECK_ERR(rename("", "x"), ENOENT, "rename(\"\", ...)");
    CHECK_ERR(link("", "x"), ENOENT, "link(\"\", ...)");
    CHECK_ERR(symlink("x", ""), ENOENT, "symlink(..., \"\")");
    CHECK_ERR(readlink("", buf, sizeof buf), ENOENT, "readlink(\"\")");
    CHECK_ERR(access("", F_OK), ENOENT, "access(\"\")");
    CHECK_ERR(truncate("", 0), ENOENT, "truncate(\"\")");
    CHECK_ERR(chmod("", 0644), ENOENT, "chmod(\"\")");
    CHECK_ERR(stat("missing/x", &st), ENOENT, "a missing directory component");
    CHECK_ERR(open("f/.", O_RDONLY), ENOTDIR, "open(\"f/.\")");
    CHECK_ERR(open("f/..", O_RDONLY), ENOTDIR, "open(\"f/..\")");
    CHECK_ERR(rename(".", "x"), EBUSY, "rename(\".\", ...)");
    CHECK_ERR(rename("f", "."), EBUSY, "rename(..., \".\")");

    int fd = open("f", O_RDWR);
    CHECK_ERR(lseek(fd, 0, 99), EINVAL, "lseek with whence 99");
    check_eq(lseek(fd, 0, SEEK_DATA), 0, "SEEK_DATA from 0 -> 0");
    check_eq(lseek(fd, 0, SEEK_HOLE), 5, "SEEK_HOLE from 0 -> 5 (EOF)");
    CHECK_ERR(lseek(fd, 5, SEEK_DATA), ENXIO, "SEEK_DATA at EOF");
    CHECK_ERR(lseek(fd, 6, SEEK_HOLE), ENXIO, "SEEK_HOLE past EOF");
    CHECK_ERR(fcntl(fd, 12345), EINVAL, "fcntl with command 12345");
    CHECK_ERR(syscall(SYS_readlink, "lnk", buf, -1), EINVAL, "readlink with a negative size");
    CHECK_ERR(unlinkat(AT_FDCWD, "f", 0x1), EINVAL, "unlinkat with flags 1");
    CHECK_ERR(syscall(SYS_newfstatat, AT_FDCWD, "f", &st, 0x4), EINVAL, "newfstatat with flags 4");
    CHECK_ERR(syscall(SYS_faccessat, AT_FDCWD, "f", 8), EINVAL, "faccessat with mode 8");
    CHECK_ERR(linkat(AT_FDCWD, "f", AT_FDCWD, "x", 0x1), EINVAL, "linkat with flags 1");
    CHECK_ERR(syscall(SYS_renameat2, AT_FDCWD, "f", AT_FDCWD, "x", 0x100), EINVAL, "renameat2 with flags 0x100");
    close(fd);
    int p[2];
    check(pipe(p) == 0, "pipe");
    CHECK_ERR(lseek(p[0], 0, SEEK_SET), ESPIPE, "lseek on a pipe");
    CHECK_ERR(pread(p[0], buf, 1, 0), ESPIPE, "pread on a pipe");
    CHECK_ERR(pwrite(p[1], "x", 1, 0), ESPIPE, "pwrite on a pipe");
    close(p[0]);
    close(p[1]);
    CHECK_ERR(lseek(-1, 0, SEEK_SET), EBADF, "lseek(-1)");
    CHECK_ERR(pread(-1, buf, 1, 0), EBADF, "pread(-1)");
}

int main(int argc, char **argv)
{
    enter_workdir(argc, argv, 2, "fs_errors DIR");
    check_eq(put_file("f", "hello", 5), 5, "create f (5 bytes)");
    check_eq(symlink("f", "lnk"), 0, "symlink lnk -> f");
    efault();
    eloop();
    enametoolong();
    dirfds();
    misc();
    check(!exists("x"), "no call created x");
    check(unlink("lnk") == 0 && unlink("f") == 0, "unlink lnk and f");
    check_workdir_empty();
    return check_done();
}
