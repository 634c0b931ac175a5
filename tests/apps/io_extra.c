/* io_extra.c -- newer descriptor calls: epoll_pwait2, execveat (by a path
 * relative to a directory fd, and of an open file with AT_EMPTY_PATH),
 * sendmmsg/recvmmsg, openat2 with its resolution rules, pidfds
 * (pidfd_open, poll, pidfd_send_signal, pidfd_getfd, waitid P_PIDFD),
 * splice, tee and vmsplice. Prints "ok ..." lines and "all ok". */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "check.h"

#ifndef SYS_epoll_pwait2
#define SYS_epoll_pwait2 441
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

struct open_how {
    uint64_t flags, mode, resolve;
};

static char dir[64];

static void epoll2(void)
{
    int ep = epoll_create1(0), p[2];
    pipe(p);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 7}, out;
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
    struct timespec ts = {0, 20000000};
    check(syscall(SYS_epoll_pwait2, ep, &out, 1, &ts, NULL, 8) == 0, "epoll_pwait2 times out after 20 ms");
    write(p[1], "x", 1);
    check(syscall(SYS_epoll_pwait2, ep, &out, 1, NULL, NULL, 8) == 1 && out.data.u32 == 7, "epoll_pwait2 without a time-out");
    ts.tv_nsec = 2000000000L;
    CHECK_ERR(syscall(SYS_epoll_pwait2, ep, &out, 1, &ts, NULL, 8), EINVAL, "epoll_pwait2 with a bad time-out");
    close(ep);
    close(p[0]);
    close(p[1]);
}

static void exec_at(const char *self)
{
    char *argv[] = {"io_extra", "child", NULL};
    char *envp[] = {NULL};
    int fd = open(self, O_PATH | O_CLOEXEC);
    pid_t pid = fork();
    if (pid == 0) {
        syscall(SYS_execveat, fd, "", argv, envp, AT_EMPTY_PATH);
        _exit(99);
    }
    int status;
    waitpid(pid, &status, 0);
    check(WIFEXITED(status) && WEXITSTATUS(status) == 42, "execveat AT_EMPTY_PATH of an open program");
    char dirpath[PATH_MAX];
    strcpy(dirpath, self);
    *strrchr(dirpath, '/') = 0;
    int dfd = open(dirpath, O_RDONLY | O_DIRECTORY);
    pid = fork();
    if (pid == 0) {
        syscall(SYS_execveat, dfd, strrchr(self, '/') + 1, argv, envp, 0);
        _exit(99);
    }
    waitpid(pid, &status, 0);
    check(WIFEXITED(status) && WEXITSTATUS(status) == 42, "execveat by a name in a directory fd");
    CHECK_ERR(syscall(SYS_execveat, dfd, "", argv, envp, 0), ENOENT, "execveat of an empty path without AT_EMPTY_PATH");
    CHECK_ERR(syscall(SYS_execveat, dfd, "x", argv, envp, 0x4), EINVAL, "execveat with an unknown flag");
    close(fd);
    close(dfd);
}

static void mmsg(void)
{
    int sv[2];
    check(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0, "a datagram socket pair");
    char a[] = "first", b[] = "second!";
    struct iovec iov[2] = {{a, 5}, {b, 7}};
    struct mmsghdr msgs[2];
    memset(msgs, 0, sizeof msgs);
    msgs[0].msg_hdr.msg_iov = &iov[0];
    msgs[0].msg_hdr.msg_iovlen = 1;
    msgs[1].msg_hdr.msg_iov = &iov[1];
    msgs[1].msg_hdr.msg_iovlen = 1;
    check(sendmmsg(sv[0], msgs, 2, 0) == 2 && msgs[0].msg_len == 5 && msgs[1].msg_len == 7, "sendmmsg: two datagrams");
    char r1[16] = {0}, r2[16] = {0}, r3[16];
    struct iovec riov[3] = {{r1, 16}, {r2, 16}, {r3, 16}};
    struct mmsghdr in[3];
    memset(in, 0, sizeof in);
    for (int i = 0; i < 3; i++) {
        in[i].msg_hdr.msg_iov = &riov[i];
        in[i].msg_hdr.msg_iovlen = 1;
    }
    check(recvmmsg(sv[1], in, 3, MSG_WAITFORONE, NULL) == 2 && in[0].msg_len == 5 && in[1].msg_len == 7 &&
              !strcmp(r1, "first") && !strcmp(r2, "second!"),
          "recvmmsg MSG_WAITFORONE: both, then no wait for a third");
    CHECK_ERR(recvmmsg(sv[1], in, 1, MSG_DONTWAIT, NULL), EAGAIN, "recvmmsg with nothing queued");
    close(sv[0]);
    close(sv[1]);
}

static void open2(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/file", dir);
    close(open(path, O_CREAT | O_WRONLY, 0644));
    snprintf(path, sizeof path, "%s/link", dir);
    symlink("file", path);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    struct open_how how = {.flags = O_RDONLY};
    int fd = syscall(SYS_openat2, dfd, "file", &how, sizeof how);
    check(fd >= 0, "openat2");
    close(fd);
    how.resolve = 0x04; /* RESOLVE_NO_SYMLINKS */
    CHECK_ERR(syscall(SYS_openat2, dfd, "link", &how, sizeof how), ELOOP, "RESOLVE_NO_SYMLINKS through a link");
    how.resolve = 0x08; /* RESOLVE_BENEATH */
    CHECK_ERR(syscall(SYS_openat2, dfd, "../x", &how, sizeof how), EXDEV, "RESOLVE_BENEATH and ..");
    CHECK_ERR(syscall(SYS_openat2, dfd, "/etc", &how, sizeof how), EXDEV, "RESOLVE_BENEATH and an absolute path");
    fd = syscall(SYS_openat2, dfd, "./file", &how, sizeof how);
    check(fd >= 0, "RESOLVE_BENEATH within the directory");
    close(fd);
    how.resolve = 0x10; /* RESOLVE_IN_ROOT */
    fd = syscall(SYS_openat2, dfd, "/../file", &how, sizeof how);
    check(fd >= 0, "RESOLVE_IN_ROOT: / and .. stay in the directory");
    close(fd);
    how.resolve = 0x1000;
    CHECK_ERR(syscall(SYS_openat2, dfd, "file", &how, sizeof how), EINVAL, "an unknown resolve flag");
    how = (struct open_how){.flags = O_RDONLY, .mode = 0644};
    CHECK_ERR(syscall(SYS_openat2, dfd, "file", &how, sizeof how), EINVAL, "a mode without O_CREAT");
    how.mode = 0;
    CHECK_ERR(syscall(SYS_openat2, dfd, "file", &how, 8), EINVAL, "a size below the first version");
    struct {
        struct open_how h;
        uint64_t extra;
    } big = {{O_RDONLY, 0, 0}, 1};
    CHECK_ERR(syscall(SYS_openat2, dfd, "file", &big, sizeof big), E2BIG, "non-zero bytes past what is known");
    unlink(path);
    snprintf(path, sizeof path, "%s/file", dir);
    unlink(path);
    close(dfd);
}

static void pidfds(void)
{
    int ready[2];
    pipe(ready);
    pid_t pid = fork();
    if (pid == 0) {
        close(ready[0]);
        int keep = open("/dev/null", O_RDONLY);
        dup2(keep, 50);
        write(ready[1], "r", 1);
        pause();
        _exit(0);
    }
    close(ready[1]);
    char c;
    read(ready[0], &c, 1);
    int pfd = syscall(SYS_pidfd_open, pid, 0);
    check(pfd >= 0 && (fcntl(pfd, F_GETFD) & FD_CLOEXEC), "pidfd_open, close-on-exec");
    struct pollfd p = {.fd = pfd, .events = POLLIN};
    check(poll(&p, 1, 0) == 0, "poll: not readable while the child runs");
    int got = syscall(SYS_pidfd_getfd, pfd, 50, 0);
    struct stat st;
    check(got >= 0 && fstat(got, &st) == 0 && S_ISCHR(st.st_mode), "pidfd_getfd: the child's /dev/null");
    close(got);
    CHECK_ERR(syscall(SYS_pidfd_getfd, pfd, 77, 0), EBADF, "pidfd_getfd of a closed fd");
    check(syscall(SYS_pidfd_send_signal, pfd, SIGTERM, NULL, 0) == 0, "pidfd_send_signal SIGTERM");
    check(poll(&p, 1, 5000) == 1 && (p.revents & POLLIN), "poll: readable once it ended");
    siginfo_t info;
    memset(&info, 0, sizeof info);
    check(waitid(P_PIDFD, pfd, &info, WEXITED) == 0 && info.si_pid == pid && info.si_code == CLD_KILLED &&
              info.si_status == SIGTERM,
          "waitid P_PIDFD: killed by SIGTERM");
    CHECK_ERR(syscall(SYS_pidfd_send_signal, pfd, SIGTERM, NULL, 0), ESRCH, "pidfd_send_signal after it ended");
    CHECK_ERR(syscall(SYS_pidfd_send_signal, ready[0], SIGTERM, NULL, 0), EBADF, "pidfd_send_signal on a pipe");
    CHECK_ERR(syscall(SYS_pidfd_open, 999999, 0), ESRCH, "pidfd_open of no such process");
    CHECK_ERR(syscall(SYS_pidfd_open, getpid(), 1), EINVAL, "pidfd_open with a bad flag");
    close(pfd);
    close(ready[0]);
}

static void splices(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/data", dir);
    int f = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
    write(f, "0123456789", 10);
    int p[2], q[2];
    pipe(p);
    pipe(q);
    loff_t off = 2;
    check(splice(f, &off, p[1], NULL, 5, 0) == 5 && off == 7, "splice file to pipe at an offset");
    check(tee(p[0], q[1], 100, 0) == 5, "tee copies the 5 bytes to another pipe");
    char buf[16] = {0};
    check(read(q[0], buf, sizeof buf) == 5 && !memcmp(buf, "23456", 5), "the copy");
    off = 20;
    check(splice(p[0], NULL, f, &off, 100, 0) == 5 && off == 25, "splice pipe to file at an offset");
    memset(buf, 0, sizeof buf);
    check(pread(f, buf, 5, 20) == 5 && !memcmp(buf, "23456", 5), "the file holds them");
    CHECK_ERR(splice(p[0], NULL, q[1], NULL, 1, SPLICE_F_NONBLOCK), EAGAIN, "splice from an empty pipe, non-blocking");
    CHECK_ERR(splice(f, NULL, f, NULL, 1, 0), EINVAL, "splice between two files");
    off = 0;
    CHECK_ERR(splice(p[0], &off, f, NULL, 1, 0), ESPIPE, "splice with an offset on a pipe");
    CHECK_ERR(tee(p[0], f, 1, 0), EINVAL, "tee to a file");
    char x[] = "vm", y[] = "splice";
    struct iovec iov[2] = {{x, 2}, {y, 6}};
    check(vmsplice(p[1], iov, 2, 0) == 8, "vmsplice into a pipe");
    memset(buf, 0, sizeof buf);
    check(read(p[0], buf, sizeof buf) == 8 && !strcmp(buf, "vmsplice"), "what it carried");
    CHECK_ERR(vmsplice(f, iov, 2, 0), EBADF, "vmsplice to a file");
    close(p[0]);
    close(p[1]);
    close(q[0]);
    close(q[1]);
    close(f);
    unlink(path);
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "child"))
        return 42;
    snprintf(dir, sizeof dir, "/tmp/io_extra-%d", getpid());
    mkdir(dir, 0755);
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    self[n > 0 ? n : 0] = 0;
    epoll2();
    exec_at(self);
    mmsg();
    open2();
    pidfds();
    splices();
    rmdir(dir);
    return check_done();
}
