/* fs_dirs.c -- directories: mkdir/mkdirat, rmdir, unlink/unlinkat (also
 * AT_REMOVEDIR), getdents64 over 300 entries with a small buffer (names, "."
 * and "..", d_type, d_ino, rewinding), chdir/fchdir/getcwd (nested, "..",
 * ".", through a symlink, a removed cwd), and an unlinked file that stays
 * usable while open. Renames and links: fs_links.
 * Args: argv[1] = an empty directory to work in (left empty again).
 * Prints "ok ..." lines, then "all ok" (exit 0) or "FAIL: ..." (exit 1). */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "fsutil.h"

struct dirent64_k {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

#define NFILES 297 /* + "sd" + "sl" + "sf" = 300 names */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void mkdir_rmdir_unlink(void)
{
    struct stat st;
    check_eq(mkdir("d", 0755), 0, "mkdir d");
    check(stat("d", &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0755, "d is a directory, mode 0755");
    CHECK_ERR(mkdir("d", 0755), EEXIST, "mkdir of an existing directory");
    check_eq(put_file("f", "x", 1), 1, "create file f");
    CHECK_ERR(mkdir("f", 0755), EEXIST, "mkdir over a file");
    CHECK_ERR(mkdir(".", 0755), EEXIST, "mkdir .");
    CHECK_ERR(mkdir("nope/x", 0755), ENOENT, "mkdir in a missing directory");
    CHECK_ERR(mkdir("f/x", 0755), ENOTDIR, "mkdir under a file");
    CHECK_ERR(mkdir("", 0755), ENOENT, "mkdir of an empty path");
    check_eq(symlink("nowhere", "dangle"), 0, "symlink dangle -> nowhere");
    CHECK_ERR(mkdir("dangle", 0755), EEXIST, "mkdir over a dangling symlink");
    check(!exists("nowhere"), "... did not create its target");
    check_eq(mkdir("d2/", 0755), 0, "mkdir with a trailing slash");
    int dfd = open("d", O_RDONLY | O_DIRECTORY);
    check_eq(mkdirat(dfd, "in", 0700), 0, "mkdirat(dirfd, \"in\")");
    check(stat("d/in", &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0700, "d/in exists, mode 0700");
    check_eq(mkdirat(AT_FDCWD, "d/in2", 0755), 0, "mkdirat(AT_FDCWD, \"d/in2\")");
    CHECK_ERR(mkdirat(dfd, "in", 0755), EEXIST, "mkdirat of an existing name");

    CHECK_ERR(rmdir("d"), ENOTEMPTY, "rmdir of a non-empty directory");
    CHECK_ERR(rmdir("f"), ENOTDIR, "rmdir of a file");
    CHECK_ERR(rmdir("."), EINVAL, "rmdir .");
    CHECK_ERR(rmdir("d/in/."), EINVAL, "rmdir d/in/.");
    CHECK_ERR(rmdir(".."), ENOTEMPTY, "rmdir ..");
    CHECK_ERR(rmdir("missing"), ENOENT, "rmdir of a missing name");
    CHECK_ERR(rmdir(""), ENOENT, "rmdir of an empty path");
    check_eq(symlink("d2", "dlink"), 0, "symlink dlink -> d2");
    CHECK_ERR(rmdir("dlink"), ENOTDIR, "rmdir of a symlink to a directory");
    check_eq(unlink("dlink"), 0, "unlink the symlink to a directory");
    check(exists("d2"), "... leaves the directory");
    check_eq(rmdir("d2/"), 0, "rmdir with a trailing slash");
    check(!exists("d2"), "d2 is gone");

    CHECK_ERR(unlink("d"), EISDIR, "unlink of a directory");
    CHECK_ERR(unlink("missing"), ENOENT, "unlink of a missing name");
    CHECK_ERR(unlink("f/"), ENOTDIR, "unlink of a file with a trailing slash");
    CHECK_ERR(unlinkat(AT_FDCWD, "f", AT_REMOVEDIR), ENOTDIR, "unlinkat(AT_REMOVEDIR) of a file");
    CHECK_ERR(unlinkat(dfd, "in", 0), EISDIR, "unlinkat(dirfd, dir, 0)");
    CHECK_ERR(unlinkat(dfd, "in", 0x1), EINVAL, "unlinkat with bad flags");
    check_eq(unlinkat(dfd, "in", AT_REMOVEDIR), 0, "unlinkat(dirfd, \"in\", AT_REMOVEDIR)");
    check_eq(unlinkat(AT_FDCWD, "d/in2", AT_REMOVEDIR), 0, "unlinkat(AT_FDCWD, \"d/in2\", AT_REMOVEDIR)");
    check_eq(put_file("d/g", "", 0), 0, "create d/g");
    check_eq(unlinkat(dfd, "g", 0), 0, "unlinkat(dirfd, \"g\", 0)");
    CHECK_ERR(open("d/g", O_RDONLY), ENOENT, "d/g is gone");
    check_eq(unlink("f"), 0, "unlink f");
    CHECK_ERR(open("f", O_RDONLY), ENOENT, "f is gone");
    check_eq(unlink("dangle"), 0, "unlink a dangling symlink");
    close(dfd);
    check_eq(rmdir("d"), 0, "rmdir d, empty now");
    CHECK_ERR(stat("d", &st), ENOENT, "d is gone");
}

static void list_dir(void)
{
    static char names[400][8], want_names[400][8];
    char *got[400], *want[400];
    char buf[512] __attribute__((aligned(8)));
    char name[32];
    int bad = 0, n = 0, calls = 0, reclen_bad = 0;
    int t_dot = -1, t_dotdot = -1, t_reg = -1, t_dir = -1, t_lnk = -1;
    uint64_t ino_f000 = 0;
    long r;

    check_eq(mkdir("many", 0755), 0, "mkdir many");
    for (int i = 0; i < NFILES; i++) {
        snprintf(name, sizeof name, "many/f%03d", i);
        if (put_file(name, "", 0) != 0)
            bad++;
    }
    check_eq(bad, 0, "create 297 files in it");
    check(mkdir("many/sd", 0755) == 0 && symlink("f000", "many/sl") == 0 && mkdir("many/sf", 0755) == 0,
          "and 2 directories and a symlink");
    int dfd = open("many", O_RDONLY | O_DIRECTORY);
    check(dfd >= 0, "open many");
    for (;;) {
        r = syscall(SYS_getdents64, dfd, buf, sizeof buf);
        if (r <= 0)
            break;
        calls++;
        for (long off = 0; off < r;) {
            struct dirent64_k *d = (struct dirent64_k *)(buf + off);
            if (d->d_reclen == 0 || d->d_reclen % 8) {
                reclen_bad++;
                break;
            }
            if (n < 400) {
                snprintf(names[n], sizeof names[n], "%s", d->d_name);
                got[n] = names[n];
            }
            n++;
            if (!strcmp(d->d_name, "."))
                t_dot = d->d_type;
            else if (!strcmp(d->d_name, ".."))
                t_dotdot = d->d_type;
            else if (!strcmp(d->d_name, "f000"))
                t_reg = d->d_type, ino_f000 = d->d_ino;
            else if (!strcmp(d->d_name, "sd"))
                t_dir = d->d_type;
            else if (!strcmp(d->d_name, "sl"))
                t_lnk = d->d_type;
            off += d->d_reclen;
        }
    }
    check_eq(r, 0, "getdents64 with a 512-byte buffer until it returns 0");
    check(calls >= 5, "that took several calls");
    check_eq(reclen_bad, 0, "every d_reclen is a non-zero multiple of 8");
    check_eq(n, 302, "302 entries (300 names, \".\" and \"..\")");
    if (n == 302) {
        int m = 0;
        for (int i = -2; i < NFILES + 3; i++, m++) {
            if (i < 0 || i >= NFILES)
                snprintf(want_names[m], sizeof want_names[m], "%s",
                         i == -2 ? "." : i == -1 ? ".." : i == NFILES ? "sd" : i == NFILES + 1 ? "sf" : "sl");
            else
                snprintf(want_names[m], sizeof want_names[m], "f%03d", i);
            want[m] = want_names[m];
        }
        qsort(got, n, sizeof got[0], cmp_str);
        qsort(want, m, sizeof want[0], cmp_str);
        int diff = 0;
        for (int i = 0; i < n; i++)
            if (strcmp(got[i], want[i]))
                diff++;
        check_eq(diff, 0, "sorted, they are exactly the expected names");
    }
    check(t_dot == DT_DIR && t_dotdot == DT_DIR, "d_type of \".\" and \"..\": DT_DIR");
    check_eq(t_reg, DT_REG, "d_type of a file: DT_REG");
    check_eq(t_dir, DT_DIR, "d_type of a directory: DT_DIR");
    check_eq(t_lnk, DT_LNK, "d_type of a symlink: DT_LNK");
    struct stat st;
    check(lstat("many/f000", &st) == 0 && st.st_ino == ino_f000, "d_ino equals st_ino");
    check_eq(syscall(SYS_getdents64, dfd, buf, sizeof buf), 0, "getdents64 at the end again -> 0");
    check_eq(lseek(dfd, 0, SEEK_SET), 0, "lseek the directory back to 0");
    static char bigbuf[32768] __attribute__((aligned(8)));
    int n2 = 0;
    while ((r = syscall(SYS_getdents64, dfd, bigbuf, sizeof bigbuf)) > 0)
        for (long off = 0; off < r; off += ((struct dirent64_k *)(bigbuf + off))->d_reclen)
            n2++;
    check(r == 0 && n2 == 302, "listing it again with a 32 KiB buffer: 302 entries");
    check_eq(syscall(SYS_getdents64, dfd, buf, 1), 0, "getdents64 with a 1-byte buffer at the end -> 0");
    check_eq(lseek(dfd, 0, SEEK_SET), 0, "lseek the directory back to 0");
    CHECK_ERR(syscall(SYS_getdents64, dfd, buf, 1), EINVAL, "getdents64 with a 1-byte buffer");
    check_eq(count_entries("many"), 300, "readdir(3) also sees 300 names");
    int ffd = open("many/f001", O_RDONLY);
    CHECK_ERR(syscall(SYS_getdents64, ffd, buf, sizeof buf), ENOTDIR, "getdents64 on a file");
    close(ffd);
    CHECK_ERR(syscall(SYS_getdents64, 999, buf, sizeof buf), EBADF, "getdents64 on a bad fd");
    close(dfd);

    bad = 0;
    for (int i = 0; i < NFILES; i += 2) {
        snprintf(name, sizeof name, "many/f%03d", i);
        bad += unlink(name) != 0;
    }
    check(bad == 0 && count_entries("many") == 300 - 149, "after unlinking every other file: 151 names");
    for (int i = 1; i < NFILES; i += 2) {
        snprintf(name, sizeof name, "many/f%03d", i);
        bad += unlink(name) != 0;
    }
    check(bad == 0 && unlink("many/sl") == 0 && rmdir("many/sd") == 0 && rmdir("many/sf") == 0,
          "remove all the rest");
    check_eq(count_entries("many"), 0, "many is empty");
    check_eq(rmdir("many"), 0, "rmdir many");
}

/* getcwd() equals base + suffix. */
static int cwd_is(const char *base, const char *suffix)
{
    char cwd[4096], want[4096];
    snprintf(want, sizeof want, "%s%s", base, suffix);
    if (!getcwd(cwd, sizeof cwd))
        return 0;
    if (strcmp(cwd, want))
        printf("(cwd is %s, expected %s)\n", cwd, want);
    return !strcmp(cwd, want);
}

static void cwd(void)
{
    char base[4096], buf[4096];
    check(getcwd(base, sizeof base) != NULL && base[0] == '/', "getcwd returns an absolute path");
    int basefd = open(".", O_RDONLY | O_DIRECTORY);
    check_eq(syscall(SYS_getcwd, buf, sizeof buf), (long)strlen(base) + 1, "the getcwd syscall returns its length + 1");
    CHECK_ERR(syscall(SYS_getcwd, buf, 2), ERANGE, "getcwd with a 2-byte buffer");
    check(mkdir("c1", 0755) == 0 && mkdir("c1/c2", 0755) == 0 && mkdir("c1/c2/c3", 0755) == 0, "mkdir c1/c2/c3");
    check_eq(chdir("c1/c2/c3"), 0, "chdir c1/c2/c3");
    check(cwd_is(base, "/c1/c2/c3"), "getcwd: .../c1/c2/c3");
    check_eq(chdir(".."), 0, "chdir ..");
    check(cwd_is(base, "/c1/c2"), "getcwd: .../c1/c2");
    check_eq(chdir("."), 0, "chdir .");
    check(cwd_is(base, "/c1/c2"), "getcwd: still .../c1/c2");
    check_eq(chdir("c3/../c3/./"), 0, "chdir c3/../c3/./");
    check(cwd_is(base, "/c1/c2/c3"), "getcwd: .../c1/c2/c3");
    check_eq(put_file("here", "3", 1), 1, "create a file by a relative name");
    check_eq(chdir("../../.."), 0, "chdir ../../..");
    check(cwd_is(base, ""), "getcwd: back at the start");
    check(file_is("c1/c2/c3/here", "3"), "the file is in c1/c2/c3");
    int fd = open("c1/c2", O_RDONLY | O_DIRECTORY);
    check_eq(fchdir(fd), 0, "fchdir to c1/c2");
    check(cwd_is(base, "/c1/c2"), "getcwd: .../c1/c2");
    close(fd);
    check_eq(fchdir(basefd), 0, "fchdir back");
    fd = open("c1", O_PATH | O_DIRECTORY);
    check_eq(fchdir(fd), 0, "fchdir to an O_PATH fd of c1");
    check(cwd_is(base, "/c1"), "getcwd: .../c1");
    close(fd);
    check_eq(fchdir(basefd), 0, "fchdir back");
    check_eq(symlink("c1/c2", "c2link"), 0, "symlink c2link -> c1/c2");
    check_eq(chdir("c2link"), 0, "chdir c2link");
    check(cwd_is(base, "/c1/c2"), "getcwd shows the real path, .../c1/c2");
    check_eq(fchdir(basefd), 0, "fchdir back");
    check_eq(chdir("c2link/.."), 0, "chdir c2link/..");
    check(cwd_is(base, "/c1"), "\"..\" after a symlink is the real parent: .../c1");
    check_eq(fchdir(basefd), 0, "fchdir back");
    check_eq(put_file("file", "", 0), 0, "create file");
    CHECK_ERR(chdir("file"), ENOTDIR, "chdir to a file");
    CHECK_ERR(chdir("missing"), ENOENT, "chdir to a missing name");
    CHECK_ERR(chdir(""), ENOENT, "chdir to an empty path");
    fd = open("file", O_RDONLY);
    CHECK_ERR(fchdir(fd), ENOTDIR, "fchdir to a file");
    close(fd);
    CHECK_ERR(fchdir(-1), EBADF, "fchdir(-1)");
    check(cwd_is(base, ""), "failed calls left the cwd alone");

    /* A removed cwd. */
    check_eq(mkdir("gone", 0755), 0, "mkdir gone");
    check_eq(chdir("gone"), 0, "chdir gone");
    check_eq(rmdir("../gone"), 0, "rmdir the cwd");
    CHECK_ERR(syscall(SYS_getcwd, buf, sizeof buf), ENOENT, "getcwd in a removed directory");
    CHECK_ERR(open("new", O_CREAT | O_WRONLY, 0644), ENOENT, "creating a file in it");
    check_eq(fchdir(basefd), 0, "fchdir back");
    check(unlink("file") == 0 && unlink("c2link") == 0 && unlink("c1/c2/c3/here") == 0, "unlink the files");
    check(rmdir("c1/c2/c3") == 0 && rmdir("c1/c2") == 0 && rmdir("c1") == 0, "rmdir c1/c2/c3, c1/c2, c1");
    close(basefd);
}

static void unlinked_open(void)
{
    char buf[64];
    struct stat st;
    int fd = open("u", O_CREAT | O_RDWR, 0644);
    check_eq(write(fd, "before", 6), 6, "write 6 bytes to u");
    int fd2 = open("u", O_RDONLY);
    check_eq(unlink("u"), 0, "unlink u while open");
    CHECK_ERR(stat("u", &st), ENOENT, "the name is gone");
    check(fstat(fd, &st) == 0 && st.st_nlink == 0 && st.st_size == 6, "fstat: nlink 0, size 6");
    check_eq(write(fd, " after", 6), 6, "write more to it");
    check(pread(fd, buf, sizeof buf, 0) == 12 && !memcmp(buf, "before after", 12), "read it all back");
    check(read(fd2, buf, sizeof buf) == 12 && !memcmp(buf, "before after", 12), "another fd reads it too");
    check_eq(put_file("u", "new", 3), 3, "create a new u");
    check(pread(fd, buf, sizeof buf, 0) == 12, "the open file is a different one");
    check_eq(ftruncate(fd, 3), 0, "ftruncate the unlinked file");
    check(fstat(fd2, &st) == 0 && st.st_size == 3 && st.st_nlink == 0, "the other fd sees size 3");
    close(fd);
    close(fd2);
    check(file_is("u", "new"), "the new u is untouched");
    check_eq(unlink("u"), 0, "unlink the new u");

    check_eq(mkdir("rd", 0755), 0, "mkdir rd");
    int dfd = open("rd", O_RDONLY | O_DIRECTORY);
    check_eq(rmdir("rd"), 0, "rmdir rd while open");
    check(fstat(dfd, &st) == 0 && S_ISDIR(st.st_mode) && st.st_nlink == 0, "fstat: a directory, nlink 0");
    CHECK_ERR(syscall(SYS_getdents64, dfd, buf, sizeof buf), ENOENT, "getdents64 on it");
    CHECK_ERR(openat(dfd, "x", O_CREAT | O_WRONLY, 0644), ENOENT, "creating a file in it");
    CHECK_ERR(mkdirat(dfd, "x", 0755), ENOENT, "mkdirat in it");
    close(dfd);
}

int main(int argc, char **argv)
{
    enter_workdir(argc, argv, 2, "fs_dirs DIR");
    umask(022);
    mkdir_rmdir_unlink();
    list_dir();
    cwd();
    unlinked_open();
    check_workdir_empty();
    return check_done();
}
