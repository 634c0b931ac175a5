/* fs_links.c -- names: rename/renameat/renameat2 (over files and
 * directories, RENAME_NOREPLACE, RENAME_EXCHANGE, errors), link/linkat
 * (nlink, AT_SYMLINK_FOLLOW), symlink/symlinkat/readlink/readlinkat (targets
 * kept verbatim, truncation, dangling links, loops, relative targets, "..",
 * lstat vs stat).
 * Args: argv[1] = an empty directory to work in (left empty again).
 * Prints "ok ..." lines, then "all ok" (exit 0) or "FAIL: ..." (exit 1). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "fsutil.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

static long renameat2_(int od, const char *o, int nd, const char *n, unsigned flags)
{
    return syscall(SYS_renameat2, od, o, nd, n, flags);
}

static ino_t ino_of(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 ? st.st_ino : 0;
}

static long nlink_of(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 ? (long)st.st_nlink : -1;
}

static void renames(void)
{
    check(put_file("a", "A", 1) == 1 && put_file("b", "B", 1) == 1, "create files a and b");
    ino_t ia = ino_of("a");
    check_eq(rename("a", "b"), 0, "rename a over b");
    check(!exists("a") && file_is("b", "A") && ino_of("b") == ia, "b is the old a");
    check_eq(rename("b", "b"), 0, "rename b to itself");
    check(file_is("b", "A"), "b is unchanged");
    check_eq(link("b", "b2"), 0, "link b2 to b");
    check_eq(rename("b", "b2"), 0, "rename between two links to the same file");
    check(exists("b") && exists("b2") && nlink_of("b") == 2, "does nothing: both names remain");
    check_eq(unlink("b2"), 0, "unlink b2");
    CHECK_ERR(rename("missing", "x"), ENOENT, "rename of a missing name");
    CHECK_ERR(rename("b", "nodir/x"), ENOENT, "rename into a missing directory");
    CHECK_ERR(rename("b", ""), ENOENT, "rename to an empty path");

    check(mkdir("d1", 0755) == 0 && put_file("d1/x", "x", 1) == 1 && mkdir("d2", 0755) == 0,
          "mkdir d1 (holding x) and an empty d2");
    check_eq(rename("d1", "d2"), 0, "rename a directory over an empty one");
    check(!exists("d1") && file_is("d2/x", "x"), "d2 now holds x");
    check_eq(mkdir("d3", 0755), 0, "mkdir d3");
    CHECK_ERR(rename("d3", "d2"), ENOTEMPTY, "rename a directory over a non-empty one");
    CHECK_ERR(rename("b", "d3"), EISDIR, "rename a file over a directory");
    CHECK_ERR(rename("d3", "b"), ENOTDIR, "rename a directory over a file");
    CHECK_ERR(rename("d2", "d2/sub"), EINVAL, "rename a directory into itself");
    check_eq(mkdir("d2/in", 0755), 0, "mkdir d2/in");
    CHECK_ERR(rename("d2", "d2/in/deeper"), EINVAL, "rename a directory into its subdirectory");
    CHECK_ERR(rename("d2/in", "d2"), ENOTEMPTY, "rename a directory onto the directory holding it");
    CHECK_ERR(rename("d2/in", "."), EBUSY, "rename a directory onto \".\"");
    CHECK_ERR(rename("b", "d3/"), ENOTDIR, "rename a file over \"d3/\" (trailing slash)");
    CHECK_ERR(rename("b/", "c"), ENOTDIR, "rename of a file with a trailing slash");
    check_eq(rename("d3/", "d4/"), 0, "rename directories with trailing slashes");
    check(exists("d4") && !exists("d3"), "d3 is now d4");
    check_eq(rename("d4", "d2/in/d4"), 0, "move d4 into d2/in");
    struct stat s1, s2;
    check(stat("d2/in/d4/..", &s1) == 0 && stat("d2/in", &s2) == 0 && s1.st_ino == s2.st_ino,
          "its \"..\" is now d2/in");
    int fd = open("b", O_RDONLY);
    int dfd = open("d2", O_RDONLY | O_DIRECTORY);
    check_eq(renameat(AT_FDCWD, "b", dfd, "moved"), 0, "renameat(AT_FDCWD, b, dirfd, moved)");
    char c = 0;
    check(read(fd, &c, 1) == 1 && c == 'A', "an open fd still reads the moved file");
    check_eq(renameat(dfd, "moved", dfd, "../b"), 0, "renameat(dirfd, moved, dirfd, ../b)");
    close(fd);
    close(dfd);

    check_eq(put_file("c", "C", 1), 1, "create c");
    CHECK_ERR(renameat2_(AT_FDCWD, "b", AT_FDCWD, "c", RENAME_NOREPLACE), EEXIST, "RENAME_NOREPLACE over a file");
    CHECK_ERR(renameat2_(AT_FDCWD, "d2", AT_FDCWD, "d2/in/d4", RENAME_NOREPLACE), EEXIST,
              "RENAME_NOREPLACE over an empty directory");
    check(file_is("b", "A") && file_is("c", "C"), "both files unchanged");
    check_eq(renameat2_(AT_FDCWD, "c", AT_FDCWD, "e", RENAME_NOREPLACE), 0, "RENAME_NOREPLACE to a new name");
    check(!exists("c") && file_is("e", "C"), "c is now e");
    check_eq(renameat2_(AT_FDCWD, "b", AT_FDCWD, "e", RENAME_EXCHANGE), 0, "RENAME_EXCHANGE of two files");
    check(file_is("b", "C") && file_is("e", "A"), "their contents swapped");
    check_eq(renameat2_(AT_FDCWD, "b", AT_FDCWD, "d2", RENAME_EXCHANGE), 0, "RENAME_EXCHANGE of a file and a directory");
    check(file_is("d2", "C") && file_is("b/x", "x"), "b is now the directory, d2 the file");
    CHECK_ERR(renameat2_(AT_FDCWD, "b", AT_FDCWD, "nothere", RENAME_EXCHANGE), ENOENT,
              "RENAME_EXCHANGE with a missing name");
    CHECK_ERR(renameat2_(AT_FDCWD, "b", AT_FDCWD, "e", RENAME_EXCHANGE | RENAME_NOREPLACE), EINVAL,
              "RENAME_EXCHANGE|RENAME_NOREPLACE");
    check_eq(renameat2_(AT_FDCWD, "e", AT_FDCWD, "e2", 0), 0, "renameat2 with flags 0");
    check_eq(symlink("e2", "sl"), 0, "symlink sl -> e2");
    check_eq(rename("sl", "sl2"), 0, "rename the symlink");
    char buf[64];
    check(readlink("sl2", buf, sizeof buf) == 2 && file_is("e2", "A"), "the link moved, its target did not");
    check(unlink("sl2") == 0 && unlink("e2") == 0 && unlink("d2") == 0, "unlink sl2, e2 and d2");
    check(rmdir("b/in/d4") == 0 && rmdir("b/in") == 0 && unlink("b/x") == 0 && rmdir("b") == 0,
          "remove the directory b");
}

static void links(void)
{
    struct stat st;
    check_eq(put_file("h", "hard", 4), 4, "create h");
    check_eq(nlink_of("h"), 1, "nlink 1");
    check_eq(link("h", "h2"), 0, "link h2 to h");
    check(nlink_of("h") == 2 && nlink_of("h2") == 2, "both names: nlink 2");
    check(ino_of("h") == ino_of("h2"), "the same inode");
    int fd = open("h2", O_WRONLY | O_APPEND);
    check(write(fd, "!", 1) == 1 && file_is("h", "hard!"), "a write through h2 shows in h");
    close(fd);
    CHECK_ERR(link("h", "h2"), EEXIST, "link to an existing name");
    check_eq(mkdir("dir", 0755), 0, "mkdir dir");
    CHECK_ERR(link("dir", "dir2"), EPERM, "link of a directory");
    CHECK_ERR(link("missing", "x"), ENOENT, "link of a missing name");
    CHECK_ERR(link("h", "nodir/x"), ENOENT, "link into a missing directory");
    CHECK_ERR(link("h", "dir"), EEXIST, "link over a directory");
    int dfd = open("dir", O_RDONLY | O_DIRECTORY);
    check_eq(linkat(AT_FDCWD, "h", dfd, "h3", 0), 0, "linkat(AT_FDCWD, h, dirfd, h3)");
    check_eq(nlink_of("h"), 3, "nlink 3");
    check_eq(unlinkat(dfd, "h3", 0), 0, "unlink it");
    close(dfd);
    check_eq(unlink("h"), 0, "unlink h");
    check(nlink_of("h2") == 1 && file_is("h2", "hard!"), "h2: nlink 1, content kept");

    check_eq(symlink("h2", "sl"), 0, "symlink sl -> h2");
    check_eq(linkat(AT_FDCWD, "sl", AT_FDCWD, "hf", AT_SYMLINK_FOLLOW), 0, "linkat(AT_SYMLINK_FOLLOW) of the symlink");
    check(lstat("hf", &st) == 0 && S_ISREG(st.st_mode) && st.st_ino == ino_of("h2") && st.st_nlink == 2,
          "linked the target: a regular file, nlink 2");
    check_eq(linkat(AT_FDCWD, "sl", AT_FDCWD, "hl", 0), 0, "linkat without flags of the symlink");
    check(lstat("hl", &st) == 0 && S_ISLNK(st.st_mode) && st.st_ino == ino_of("sl") && st.st_nlink == 2,
          "linked the symlink itself: nlink 2");
    check_eq(link("sl", "hl2"), 0, "link(2) of the symlink");
    check(lstat("hl2", &st) == 0 && S_ISLNK(st.st_mode), "link(2) does not follow it (Linux)");
    CHECK_ERR(linkat(AT_FDCWD, "h2", AT_FDCWD, "x", 0x2), EINVAL, "linkat with bad flags");
    check(unlink("hl2") == 0 && unlink("hl") == 0 && unlink("sl") == 0 && unlink("hf") == 0 && unlink("h2") == 0,
          "unlink hl2, hl, sl, hf and h2");
    check_eq(rmdir("dir"), 0, "rmdir dir");
}

static void symlinks(const char *base)
{
    char buf[2048];
    struct stat st;
    const char *t = "some/target/../x";
    check_eq(symlink(t, "s1"), 0, "symlink s1 -> some/target/../x");
    memset(buf, '#', sizeof buf);
    check_eq(readlink("s1", buf, sizeof buf), 16, "readlink returns the target's length");
    check(!memcmp(buf, t, 16) && buf[16] == '#', "the target verbatim, without a NUL");
    memset(buf, '#', sizeof buf);
    check_eq(readlink("s1", buf, 4), 4, "readlink into a 4-byte buffer -> 4");
    check(!memcmp(buf, "some#", 5), "truncated, without a NUL");
    /* musl's readlink() itself handles size 0: use the system call. */
    CHECK_ERR(syscall(SYS_readlink, "s1", buf, 0), EINVAL, "readlink into a 0-byte buffer");
    check(lstat("s1", &st) == 0 && S_ISLNK(st.st_mode) && st.st_size == 16, "lstat: a symlink, st_size 16");
    CHECK_ERR(stat("s1", &st), ENOENT, "stat of the dangling symlink");
    CHECK_ERR(open("s1", O_RDONLY), ENOENT, "open of the dangling symlink");
    check_eq(put_file("f", "F", 1), 1, "create f");
    check_eq(mkdir("d", 0755), 0, "mkdir d");
    CHECK_ERR(readlink("f", buf, sizeof buf), EINVAL, "readlink of a file");
    CHECK_ERR(readlink("d", buf, sizeof buf), EINVAL, "readlink of a directory");
    CHECK_ERR(readlink("missing", buf, sizeof buf), ENOENT, "readlink of a missing name");
    CHECK_ERR(symlink("x", "f"), EEXIST, "symlink over an existing file");
    CHECK_ERR(symlink("x", "s1"), EEXIST, "symlink over an existing symlink");
    CHECK_ERR(symlink("", "s2"), ENOENT, "symlink with an empty target");
    CHECK_ERR(symlink("x", "nodir/s"), ENOENT, "symlink in a missing directory");
    int dfd = open("d", O_RDONLY | O_DIRECTORY);
    check_eq(symlinkat("../f", dfd, "up"), 0, "symlinkat(\"../f\", dirfd, \"up\")");
    check(file_is("d/up", "F"), "d/up resolves relative to d");
    memset(buf, 0, sizeof buf);
    check(readlinkat(dfd, "up", buf, sizeof buf) == 4 && !strcmp(buf, "../f"), "readlinkat(dirfd, \"up\")");
    close(dfd);
    memset(buf, 'L', 1000);
    buf[1000] = 0;
    check_eq(symlink(buf, "long"), 0, "symlink with a 1000-byte target");
    char back[2048];
    check(readlink("long", back, sizeof back) == 1000 && !memcmp(back, buf, 1000), "readlink returns it");

    check_eq(symlink("loop2", "loop1"), 0, "symlink loop1 -> loop2");
    check_eq(symlink("loop1", "loop2"), 0, "symlink loop2 -> loop1");
    CHECK_ERR(open("loop1", O_RDONLY), ELOOP, "open of a symlink loop");
    CHECK_ERR(stat("loop1", &st), ELOOP, "stat of a symlink loop");
    CHECK_ERR(open("loop1/x", O_RDONLY), ELOOP, "a path through a symlink loop");
    check(lstat("loop1", &st) == 0 && S_ISLNK(st.st_mode), "lstat of it works");
    check_eq(symlink("self", "self"), 0, "symlink self -> self");
    CHECK_ERR(open("self", O_CREAT | O_WRONLY, 0644), ELOOP, "O_CREAT through a self-loop");

    check(mkdir("d/r2", 0755) == 0 && put_file("d/r2/file", "deep", 4) == 4, "create d/r2/file");
    check_eq(symlink("r2/file", "d/ln"), 0, "symlink d/ln -> r2/file");
    check(file_is("d/ln", "deep"), "a relative target resolves from the link's directory");
    check_eq(symlink("../r2/./file", "d/r2/up"), 0, "symlink d/r2/up -> ../r2/./file");
    check(file_is("d/r2/up", "deep"), "a target with \"..\" and \".\"");
    check_eq(symlink("d/r2", "dl"), 0, "symlink dl -> d/r2");
    check(lstat("dl", &st) == 0 && S_ISLNK(st.st_mode), "lstat dl: a symlink");
    check(stat("dl", &st) == 0 && S_ISDIR(st.st_mode), "stat dl: a directory");
    check(lstat("dl/", &st) == 0 && S_ISDIR(st.st_mode), "lstat dl/ (trailing slash): the directory");
    CHECK_ERR(readlink("dl/", buf, sizeof buf), EINVAL, "readlink dl/");
    check(file_is("dl/file", "deep"), "a path through the symlinked directory");
    check(file_is("dl/../r2/file", "deep"), "\"..\" after a symlink goes to the real parent");
    char abs[4200];
    snprintf(abs, sizeof abs, "%s/d/r2/file", base);
    check_eq(symlink(abs, "abs"), 0, "symlink abs -> an absolute path");
    check(file_is("abs", "deep"), "an absolute target");
    check_eq(symlink("dl", "chain"), 0, "symlink chain -> dl");
    check(file_is("chain/file", "deep"), "a chain of two symlinks to a directory");
    check_eq(unlink("dl"), 0, "unlink dl");
    check(file_is("d/r2/file", "deep"), "... removed the link, not the directory");

    check(unlink("s1") == 0 && unlink("long") == 0 && unlink("loop1") == 0 && unlink("loop2") == 0 &&
              unlink("self") == 0 && unlink("abs") == 0 && unlink("chain") == 0,
          "unlink the symlinks");
    check(unlink("d/up") == 0 && unlink("d/ln") == 0 && unlink("d/r2/up") == 0 && unlink("d/r2/file") == 0 &&
              rmdir("d/r2") == 0 && rmdir("d") == 0 && unlink("f") == 0,
          "remove d and f");
}

int main(int argc, char **argv)
{
    enter_workdir(argc, argv, 2, "fs_links DIR");
    char base[4096];
    check(getcwd(base, sizeof base) != NULL, "getcwd");
    renames();
    links();
    symlinks(base);
    check_workdir_empty();
    return check_done();
}
