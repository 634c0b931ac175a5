/* fs_files.c -- opening files: open/openat/creat/close and their flags
 * (O_CREAT, O_EXCL, O_TRUNC, O_DIRECTORY, O_NOFOLLOW, O_CLOEXEC -- also
 * across execve --, O_PATH) and errors (ENOENT, ENOTDIR, EISDIR, EEXIST,
 * ELOOP, ENAMETOOLONG, EBADF, EFAULT). Reading and writing: fs_rw.
 * Args: argv[1] = an empty directory to work in (left empty again),
 * argv[2] = directory of the test programs (spawns argv[2]/fs_files).
 * Prints "ok ..." lines, then "all ok" (exit 0) or "FAIL: ..." (exit 1). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "fsutil.h"

extern char **environ;

/* "fs_files exec-child CLOEXEC_FD KEPT_FD OFFSET": after execve, the first fd
 * must be closed and the second open at OFFSET; reads 3 bytes from it. Exit
 * status: a bit mask of what was wrong (0 = all fine). */
static int exec_child(char **argv)
{
    int gone = atoi(argv[2]), kept = atoi(argv[3]), bad = 0;
    long off = atol(argv[4]);
    char b[3];
    errno = 0;
    if (!(fcntl(gone, F_GETFD) == -1 && errno == EBADF))
        bad |= 1;
    if (fcntl(kept, F_GETFD) != 0)
        bad |= 2;
    if (lseek(kept, 0, SEEK_CUR) != off)
        bad |= 4;
    if (read(kept, b, 3) != 3 || memcmp(b, "def", 3) != 0)
        bad |= 8;
    return bad;
}

int main(int argc, char **argv)
{
    if (argc > 4 && !strcmp(argv[1], "exec-child"))
        return exec_child(argv);
    static char prog[4096];
    if (argc > 2)
        prog_path(prog, sizeof prog, argv[2], "fs_files");
    enter_workdir(argc, argv, 3, "fs_files DIR BINDIR");
    umask(022);
    char buf[512];
    struct stat st;
    long r;
    int fd, fd2;

    /* open, close, creat. */
    fd = open("a", O_CREAT | O_WRONLY, 0644);
    check(fd >= 0, "open(O_CREAT|O_WRONLY) creates a file");
    check_eq(write(fd, "hello world", 11), 11, "write 11 bytes");
    check_eq(fcntl(fd, F_GETFL) & O_ACCMODE, O_WRONLY, "F_GETFL: O_WRONLY");
    CHECK_ERR(read(fd, buf, 1), EBADF, "read on an O_WRONLY fd");
    check_eq(close(fd), 0, "close");
    CHECK_ERR(close(fd), EBADF, "close of a closed fd");
    fd = open("a", O_RDONLY);
    check(fd >= 0, "open(O_RDONLY)");
    r = read(fd, buf, sizeof buf);
    check(r == 11 && !memcmp(buf, "hello world", 11), "read back what was written");
    check_eq(read(fd, buf, sizeof buf), 0, "read at EOF -> 0");
    check_eq(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY, "F_GETFL: O_RDONLY");
    CHECK_ERR(write(fd, "x", 1), EBADF, "write on an O_RDONLY fd");
    close(fd);
    fd = open("new_ro", O_CREAT | O_RDONLY, 0644);
    check(fd >= 0 && fsize("new_ro") == 0, "open(O_CREAT|O_RDONLY) creates an empty file");
    CHECK_ERR(write(fd, "x", 1), EBADF, "write on it");
    close(fd);
    check_eq(unlink("new_ro"), 0, "unlink it");

    fd = creat("a", 0600);
    check(fd >= 0, "creat of an existing file");
    check(fstat(fd, &st) == 0 && st.st_size == 0, "creat truncated it");
    check_eq(st.st_mode & 07777, 0644, "creat kept the existing file's mode");
    check_eq(fcntl(fd, F_GETFL) & O_ACCMODE, O_WRONLY, "creat opens O_WRONLY");
    check_eq(write(fd, "abcdefghij", 10), 10, "write 10 bytes");
    close(fd);
    fd = creat("c", 0640);
    check(fd >= 0 && fstat(fd, &st) == 0 && (st.st_mode & 07777) == 0640, "creat of a new file: mode 0640");
    close(fd);

    /* openat. */
    check_eq(mkdir("sub", 0755), 0, "mkdir sub");
    int dfd = open("sub", O_RDONLY | O_DIRECTORY);
    check(dfd >= 0, "open a directory with O_DIRECTORY");
    fd = openat(dfd, "in_sub", O_CREAT | O_RDWR, 0644);
    check(fd >= 0, "openat(dirfd, name, O_CREAT)");
    check_eq(write(fd, "sub!", 4), 4, "write through it");
    close(fd);
    check(file_is("sub/in_sub", "sub!"), "the file was created inside the directory");
    fd = openat(AT_FDCWD, "sub/in_sub", O_RDONLY);
    check(fd >= 0 && read(fd, buf, 10) == 4, "openat(AT_FDCWD, relative path)");
    close(fd);
    fd = openat(dfd, "../a", O_RDONLY);
    check(fd >= 0 && read(fd, buf, 3) == 3 && !memcmp(buf, "abc", 3), "openat(dirfd, \"../a\")");
    close(fd);
    fd = openat(dfd, "./in_sub", O_RDONLY);
    check(fd >= 0, "openat(dirfd, \"./in_sub\")");
    close(fd);
    fd = open("sub/../sub/./in_sub", O_RDONLY);
    check(fd >= 0, "open(\"sub/../sub/./in_sub\")");
    close(fd);
    CHECK_ERR(openat(dfd, "a", O_RDONLY), ENOENT, "openat resolves relative to dirfd, not the cwd");

    /* O_TRUNC. */
    check_eq(put_file("t", "0123456789", 10), 10, "create t with 10 bytes");
    fd = open("t", O_RDONLY);
    check(fd >= 0 && read(fd, buf, 4) == 4, "open t and read 4 bytes");
    fd2 = open("t", O_WRONLY | O_TRUNC);
    check(fd2 >= 0 && fstat(fd2, &st) == 0 && st.st_size == 0, "O_TRUNC empties the file");
    check_eq(read(fd, buf, sizeof buf), 0, "another fd now reads EOF");
    check_eq(write(fd2, "xy", 2), 2, "write after O_TRUNC");
    close(fd2);
    check(file_is("t", "xy"), "the file holds just the new data");
    close(fd);

    /* O_EXCL. */
    CHECK_ERR(open("a", O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST, "O_CREAT|O_EXCL on an existing file");
    CHECK_ERR(open("sub", O_CREAT | O_EXCL | O_RDONLY, 0644), EEXIST, "O_CREAT|O_EXCL on a directory");
    fd = open("x", O_CREAT | O_EXCL | O_WRONLY, 0644);
    check(fd >= 0, "O_CREAT|O_EXCL on a new name");
    close(fd);
    check_eq(unlink("x"), 0, "unlink x");
    check_eq(symlink("target", "dangling"), 0, "symlink dangling -> target");
    CHECK_ERR(open("dangling", O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST,
              "O_CREAT|O_EXCL on a dangling symlink");
    check(!exists("target"), "it did not create the target");
    fd = open("dangling", O_CREAT | O_WRONLY, 0644);
    check(fd >= 0, "O_CREAT without O_EXCL through a dangling symlink");
    close(fd);
    check(exists("target") && fsize("target") == 0, "it created the symlink's target");
    check_eq(unlink("target"), 0, "unlink target");
    check_eq(unlink("dangling"), 0, "unlink dangling");

    /* O_DIRECTORY, O_NOFOLLOW. */
    CHECK_ERR(open("a", O_RDONLY | O_DIRECTORY), ENOTDIR, "O_DIRECTORY on a file");
    check_eq(symlink("a", "lnk"), 0, "symlink lnk -> a");
    CHECK_ERR(open("lnk", O_RDONLY | O_NOFOLLOW), ELOOP, "O_NOFOLLOW on a symlink");
    fd = open("lnk", O_RDONLY);
    check(fd >= 0 && read(fd, buf, 3) == 3 && !memcmp(buf, "abc", 3), "open follows the symlink");
    close(fd);
    fd = open("a", O_RDONLY | O_NOFOLLOW);
    check(fd >= 0, "O_NOFOLLOW on a regular file");
    close(fd);
    check_eq(symlink("sub", "sublnk"), 0, "symlink sublnk -> sub");
    fd = open("sublnk/in_sub", O_RDONLY | O_NOFOLLOW);
    check(fd >= 0, "O_NOFOLLOW only concerns the last component");
    close(fd);
    fd = open("sublnk", O_RDONLY | O_DIRECTORY);
    check(fd >= 0, "O_DIRECTORY through a symlink to a directory");
    close(fd);

    /* O_CLOEXEC, also across execve. */
    fd = open("a", O_RDONLY | O_CLOEXEC);
    check_eq(fcntl(fd, F_GETFD), FD_CLOEXEC, "O_CLOEXEC sets FD_CLOEXEC");
    fd2 = open("a", O_RDONLY);
    check_eq(fcntl(fd2, F_GETFD), 0, "without O_CLOEXEC: F_GETFD 0");
    check_eq(lseek(fd2, 3, SEEK_SET), 3, "lseek the kept fd to 3");
    char a1[16], a2[16];
    snprintf(a1, sizeof a1, "%d", fd);
    snprintf(a2, sizeof a2, "%d", fd2);
    char *args[] = { prog, "exec-child", a1, a2, "3", NULL };
    pid_t pid;
    int status = -1;
    fflush(stdout);
    int e = posix_spawn(&pid, prog, NULL, NULL, args, environ);
    check(e == 0 && waitpid(pid, &status, 0) == pid, "spawn fs_files exec-child and wait");
    if (status != 0)
        printf("(child status %#x)\n", status);
    check(WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "after execve: the O_CLOEXEC fd is closed, the other open at the same offset");
    check_eq(lseek(fd2, 0, SEEK_CUR), 6, "the child's read moved the shared offset");
    close(fd);
    close(fd2);

    /* O_PATH. */
    fd = open("a", O_PATH);
    check(fd >= 0, "open(O_PATH)");
    check(fstat(fd, &st) == 0 && st.st_size == 10 && S_ISREG(st.st_mode), "fstat on an O_PATH fd");
    CHECK_ERR(read(fd, buf, 1), EBADF, "read on an O_PATH fd");
    CHECK_ERR(write(fd, "x", 1), EBADF, "write on an O_PATH fd");
    check((fcntl(fd, F_GETFL) & O_PATH) != 0, "F_GETFL shows O_PATH");
    close(fd);
    fd = open("sub", O_PATH | O_DIRECTORY);
    check(fd >= 0, "open(O_PATH|O_DIRECTORY) of a directory");
    fd2 = openat(fd, "in_sub", O_RDONLY);
    check(fd2 >= 0 && read(fd2, buf, 4) == 4, "an O_PATH directory fd works as dirfd");
    close(fd2);
    close(fd);
    fd = open("lnk", O_PATH | O_NOFOLLOW);
    check(fd >= 0 && fstat(fd, &st) == 0 && S_ISLNK(st.st_mode), "O_PATH|O_NOFOLLOW opens the symlink itself");
    close(fd);

    /* Errors. */
    CHECK_ERR(open("missing", O_RDONLY), ENOENT, "open of a missing file");
    CHECK_ERR(open("nodir/x", O_CREAT | O_WRONLY, 0644), ENOENT, "O_CREAT in a missing directory");
    CHECK_ERR(open("a/x", O_RDONLY), ENOTDIR, "path through a file");
    CHECK_ERR(open("a/x", O_CREAT | O_WRONLY, 0644), ENOTDIR, "O_CREAT on a path through a file");
    CHECK_ERR(open("a/", O_RDONLY), ENOTDIR, "a file with a trailing slash");
    CHECK_ERR(open("sub", O_WRONLY), EISDIR, "open a directory O_WRONLY");
    CHECK_ERR(open("sub", O_RDWR), EISDIR, "open a directory O_RDWR");
    CHECK_ERR(open("sub", O_CREAT | O_WRONLY, 0644), EISDIR, "O_CREAT on a directory");
    CHECK_ERR(open("newdir/", O_CREAT | O_WRONLY, 0644), EISDIR, "O_CREAT with a trailing slash");
    CHECK_ERR(read(dfd, buf, sizeof buf), EISDIR, "read on a directory fd");
    CHECK_ERR(open("", O_RDONLY), ENOENT, "open of an empty path");
    CHECK_ERR(open("", O_CREAT | O_WRONLY, 0644), ENOENT, "O_CREAT of an empty path");
    char name[300];
    memset(name, 'n', 256);
    name[256] = 0;
    CHECK_ERR(open(name, O_CREAT | O_WRONLY, 0644), ENAMETOOLONG, "O_CREAT of a 256-byte name");
    CHECK_ERR(open(name, O_RDONLY), ENAMETOOLONG, "open of a 256-byte name");
    name[255] = 0;
    fd = open(name, O_CREAT | O_WRONLY, 0644);
    check(fd >= 0, "O_CREAT of a 255-byte name");
    close(fd);
    check_eq(unlink(name), 0, "unlink the 255-byte name");
    void *volatile bad = (void *)1;
    fd = open("a", O_RDONLY);
    CHECK_ERR(read(fd, bad, 5), EFAULT, "read into a bad buffer");
    check_eq(lseek(fd, 0, SEEK_CUR), 0, "the failed read left the offset at 0");
    close(fd);
    fd = open("a", O_WRONLY | O_APPEND);
    CHECK_ERR(write(fd, bad, 5), EFAULT, "write from a bad buffer");
    close(fd);
    check_eq(fsize("a"), 10, "the failed write left the size alone");
    CHECK_ERR(open(bad, O_RDONLY), EFAULT, "open of a bad path pointer");
    CHECK_ERR(read(-1, buf, 1), EBADF, "read(-1)");
    CHECK_ERR(write(1000, buf, 1), EBADF, "write(1000)");

    /* Clean up. */
    close(dfd);
    check(unlink("lnk") == 0 && unlink("sublnk") == 0, "unlink the symlinks");
    check(unlink("a") == 0 && unlink("c") == 0 && unlink("t") == 0, "unlink a, c and t");
    check_eq(unlink("sub/in_sub"), 0, "unlink sub/in_sub");
    check_eq(rmdir("sub"), 0, "rmdir sub");
    check_workdir_empty();
    return check_done();
}
