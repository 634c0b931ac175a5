/* fifo.c -- named pipes and other nodes made by mknod: mkfifo/mknod and
 * their errors, open of a FIFO waiting for the other end (between two
 * processes), O_NONBLOCK opens (ENXIO for a writer without reader),
 * O_RDWR, data and end of file between processes, F_GETPIPE_SZ and
 * F_SETPIPE_SZ, FIONREAD, a socket node (ENXIO), and the old getdents, in
 * a fresh directory (argv[1]); and, many times over, a writer in another
 * process (posix_spawn, so that both run at once in the LibOS) that writes
 * and closes as soon as a reader's open lets its own open return: the
 * reader's open must not wait for another writer. Prints "ok ..." lines and
 * "all ok". (Internal mode: fifo DIR writer.) */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "fsutil.h"

static char dir[512];

static const char *at(const char *name)
{
    static char path[2][600];
    static int i;
    i ^= 1;
    snprintf(path[i], sizeof path[i], "%s/%s", dir, name);
    return path[i];
}

/* Old `struct linux_dirent`: the type is the record's last byte. */
struct old_dirent {
    unsigned long ino;
    unsigned long off;
    unsigned short reclen;
    char name[];
};

static void old_getdents(void)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    char buf[4096];
    long n = syscall(SYS_getdents, fd, buf, sizeof buf);
    int fifo = 0, dot = 0, regular = 0, ok = n > 0;
    for (long off = 0; ok && off < n;) {
        struct old_dirent *d = (struct old_dirent *)(buf + off);
        char type = buf[off + d->reclen - 1];
        if (d->reclen % 8 != 0 || d->ino == 0)
            ok = 0;
        if (!strcmp(d->name, "p2") && type == DT_FIFO)
            fifo = 1;
        if (!strcmp(d->name, ".") && type == DT_DIR)
            dot = 1;
        if (!strcmp(d->name, "file") && type == DT_REG)
            regular = 1;
        off += d->reclen;
    }
    if (!(ok && fifo && dot && regular))
        printf("n %ld ok %d fifo %d dot %d regular %d\n", n, ok, fifo, dot, regular);
    check(ok && fifo && dot && regular, "getdents: names and types (in each record's last byte)");
    lseek(fd, 0, SEEK_SET);
    CHECK_ERR(syscall(SYS_getdents, fd, buf, 8), EINVAL, "getdents with a buffer too small for one entry");
    close(fd);
    int file = open(at("file"), O_RDONLY);
    CHECK_ERR(syscall(SYS_getdents, file, buf, sizeof buf), ENOTDIR, "getdents of a regular file");
    close(file);
}

extern char **environ;

static void on_alarm(int sig)
{
    (void)sig;
}

/* Rounds of a spawned writer that is gone as soon as it has written. */
static void writers_gone_at_once(const char *self)
{
    struct sigaction sa = {.sa_handler = on_alarm};
    sigaction(SIGALRM, &sa, NULL);
    int ok = 1, rounds = 100;
    for (int i = 0; i < rounds && ok; i++) {
        char *args[] = {(char *)self, ".", "writer", NULL};
        pid_t pid;
        if (posix_spawn(&pid, self, NULL, NULL, args, environ) != 0) {
            ok = 0;
            break;
        }
        alarm(10);
        int r = open("p", O_RDONLY);
        char c = 0;
        ok = r >= 0 && read(r, &c, 1) == 1 && c == 'w' && read(r, &c, 1) == 0;
        alarm(0);
        if (r >= 0)
            close(r);
        int status;
        ok = ok && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    check(ok, "a reader's open returns though its writer wrote and closed at once (%d rounds)", rounds);
}

int main(int argc, char **argv)
{
    if (argc > 2 && !strcmp(argv[2], "writer")) {
        if (chdir(argv[1]) != 0)
            return 2;
        int fd = open("p", O_WRONLY);
        return fd >= 0 && write(fd, "w", 1) == 1 ? 0 : 3;
    }
    char self[4096];
    if (!realpath("/proc/self/exe", self))
        snprintf(self, sizeof self, "%s", argv[0]);
    enter_workdir(argc, argv, 2, "fifo DIR");
    strcpy(dir, ".");
    umask(022);

    check(mkfifo(at("p"), 0666) == 0, "mkfifo");
    struct stat st;
    check(stat(at("p"), &st) == 0 && S_ISFIFO(st.st_mode) && (st.st_mode & 0777) == 0644,
          "stat: a FIFO, mode 0666 less the umask");
    CHECK_ERR(mkfifo(at("p"), 0600), EEXIST, "mkfifo over an existing name");
    CHECK_ERR(mkfifo(at("none/p"), 0600), ENOENT, "mkfifo in a missing directory");
    CHECK_ERR(mknod(at("d"), S_IFDIR | 0755, 0), EPERM, "mknod of a directory");
    CHECK_ERR(mknod(at("x"), 0170000 | 0644, 0), EINVAL, "mknod of an unknown type");
    check(mknod(at("r"), 0644, 0) == 0 && stat(at("r"), &st) == 0 && S_ISREG(st.st_mode),
          "mknod with no type makes a regular file");
    close(open(at("file"), O_CREAT | O_WRONLY, 0644));

    CHECK_ERR(open(at("p"), O_WRONLY | O_NONBLOCK), ENXIO, "non-blocking write-only open without a reader");
    int r = open(at("p"), O_RDONLY | O_NONBLOCK);
    check(r >= 0, "non-blocking read-only open without a writer");
    char buf[64] = {0};
    check(read(r, buf, sizeof buf) == 0, "read without a writer: end of file");
    int w = open(at("p"), O_WRONLY | O_NONBLOCK);
    check(w >= 0, "non-blocking write-only open with a reader");
    check(write(w, "abc", 3) == 3, "write");
    int avail = -1;
    check(ioctl(r, FIONREAD, &avail) == 0 && avail == 3, "FIONREAD: 3 bytes");
    check(fcntl(w, F_GETPIPE_SZ) == 65536, "F_GETPIPE_SZ: 64 KiB");
    check(fcntl(w, F_SETPIPE_SZ, 5000) == 8192 && fcntl(r, F_GETPIPE_SZ) == 8192,
          "F_SETPIPE_SZ rounds up to a power of two pages, for both ends");
    static char page[4096];
    check(write(w, page, sizeof page) == sizeof page, "fill a second page");
    CHECK_ERR(fcntl(w, F_SETPIPE_SZ, 1), EBUSY, "F_SETPIPE_SZ below what is in the pipe");
    int reg = open(at("file"), O_RDONLY);
    CHECK_ERR(fcntl(reg, F_GETPIPE_SZ), EBADF, "F_GETPIPE_SZ of a regular file");
    close(reg);
    check(read(r, buf, 3) == 3 && !memcmp(buf, "abc", 3), "read what was written");
    check(read(r, page, sizeof page) == sizeof page, "and the page");
    CHECK_ERR(read(r, buf, sizeof buf), EAGAIN, "read of an empty FIFO with a writer: EAGAIN");
    CHECK_ERR(read(w, buf, 1), EBADF, "read from the write-only end");
    CHECK_ERR(write(r, "x", 1), EBADF, "write to the read-only end");
    close(w);
    check(read(r, buf, sizeof buf) == 0, "end of file once the writer closed");
    close(r);

    /* Blocking opens meet across processes; the data outlives neither. */
    int sync[2];
    check(pipe(sync) == 0, "pipe");
    pid_t pid = fork();
    if (pid == 0) {
        close(sync[0]);
        int fd = open(at("p"), O_WRONLY);
        if (fd < 0)
            _exit(2);
        write(sync[1], "o", 1);
        if (write(fd, "from the child", 14) != 14)
            _exit(3);
        _exit(0);
    }
    close(sync[1]);
    r = open(at("p"), O_RDONLY);
    check(r >= 0, "a blocking read-only open waits for the child's write-only open");
    char c;
    check(read(sync[0], &c, 1) == 1, "the child's open returned too");
    memset(buf, 0, sizeof buf);
    size_t got = 0;
    ssize_t n;
    while ((n = read(r, buf + got, sizeof buf - 1 - got)) > 0)
        got += n;
    check(n == 0 && got == 14 && !strcmp(buf, "from the child"), "the child's bytes, then end of file");
    int status;
    check(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child exited 0");
    close(r);
    close(sync[0]);

    /* A writer blocked in open is woken by a reader in another process. */
    pid = fork();
    if (pid == 0) {
        usleep(50000);
        int fd = open(at("p"), O_RDONLY);
        char b[8] = {0};
        _exit(fd >= 0 && read(fd, b, sizeof b) == 2 && !strcmp(b, "hi") ? 0 : 1);
    }
    w = open(at("p"), O_WRONLY);
    check(w >= 0 && write(w, "hi", 2) == 2, "a blocking write-only open waits for a reader");
    close(w);
    check(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "the reading child got the bytes");

    writers_gone_at_once(self);

    /* O_RDWR: both ends, no wait; poll sees it writable, then readable. */
    int rw = open(at("p"), O_RDWR);
    check(rw >= 0, "O_RDWR open does not wait");
    struct pollfd pfd = {.fd = rw, .events = POLLIN | POLLOUT};
    check(poll(&pfd, 1, 0) == 1 && pfd.revents == POLLOUT, "poll: writable, not readable");
    check(write(rw, "xy", 2) == 2, "write through O_RDWR");
    pfd.revents = 0;
    check(poll(&pfd, 1, 0) == 1 && pfd.revents == (POLLIN | POLLOUT), "poll: readable and writable");
    check(read(rw, buf, 2) == 2 && !memcmp(buf, "xy", 2), "read back through O_RDWR");
    check(fstat(rw, &st) == 0 && S_ISFIFO(st.st_mode), "fstat of an open FIFO");
    close(rw);

    /* Opening writer and reader then unlinking: the pipe still works. */
    r = open(at("p"), O_RDONLY | O_NONBLOCK);
    w = open(at("p"), O_WRONLY);
    check(unlink(at("p")) == 0, "unlink an open FIFO");
    check(write(w, "z", 1) == 1 && read(r, buf, 1) == 1 && buf[0] == 'z', "it still carries data");
    close(r);
    signal(SIGPIPE, SIG_IGN);
    CHECK_ERR(write(w, "z", 1), EPIPE, "write with no reader left: EPIPE");
    close(w);

    check(mknod(at("p2"), S_IFIFO | 0600, 0) == 0 && stat(at("p2"), &st) == 0 && S_ISFIFO(st.st_mode),
          "mknod S_IFIFO");
    check(mknodat(AT_FDCWD, at("s"), S_IFSOCK | 0600, 0) == 0 && stat(at("s"), &st) == 0 && S_ISSOCK(st.st_mode),
          "mknodat S_IFSOCK");
    CHECK_ERR(open(at("s"), O_RDONLY), ENXIO, "open of a socket node");

    old_getdents();

    unlink(at("p2"));
    unlink(at("s"));
    unlink(at("r"));
    unlink(at("file"));
    check_workdir_empty();
    return check_done();
}
