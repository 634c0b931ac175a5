/* inotify.c -- inotify in a fresh directory (argv[1]): events of files
 * made, written, closed, changed, renamed and removed by another process,
 * watches on a file itself (to IN_DELETE_SELF and IN_IGNORED), one-shot
 * watches, merged events, FIONREAD, poll, and the errors of each call.
 * Prints "ok ..." lines and "all ok". */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "fsutil.h"

struct ev {
    int wd;
    unsigned mask, cookie;
    char name[64];
};

static struct ev evs[64];

/* Reads every queued event into evs; returns how many. */
static int drain(int fd)
{
    char buf[4096] __attribute__((aligned(8)));
    int n = 0;
    ssize_t len;
    while ((len = read(fd, buf, sizeof buf)) > 0) {
        for (char *p = buf; p < buf + len && n < 64;) {
            struct inotify_event *e = (struct inotify_event *)p;
            evs[n].wd = e->wd;
            evs[n].mask = e->mask;
            evs[n].cookie = e->cookie;
            snprintf(evs[n].name, sizeof evs[n].name, "%s", e->len ? e->name : "");
            n++;
            p += sizeof *e + e->len;
        }
    }
    return n;
}

static int is(int i, int wd, unsigned mask, const char *name)
{
    return evs[i].wd == wd && evs[i].mask == mask && !strcmp(evs[i].name, name);
}

/* Whether the events include (wd, mask, name). */
static int has(int n, int wd, unsigned mask, const char *name)
{
    for (int i = 0; i < n; i++)
        if (is(i, wd, mask, name))
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    enter_workdir(argc, argv, 2, "inotify DIR");
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    check(fd >= 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC), "inotify_init1");
    unsigned mask = IN_CREATE | IN_DELETE | IN_MODIFY | IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE | IN_ATTRIB;
    int wd = inotify_add_watch(fd, ".", mask);
    check(wd > 0, "watch the directory");
    check(inotify_add_watch(fd, ".", mask) == wd, "watching it again gives the same descriptor");
    char b[64];
    CHECK_ERR(read(fd, b, sizeof b), EAGAIN, "read with no event");

    pid_t pid = fork();
    if (pid == 0) {
        int f = open("a", O_CREAT | O_WRONLY, 0644);
        write(f, "x", 1);
        write(f, "y", 1);
        close(f);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    int avail = 0;
    check(ioctl(fd, FIONREAD, &avail) == 0 && avail > 0, "FIONREAD: bytes queued");
    struct pollfd p = {.fd = fd, .events = POLLIN};
    check(poll(&p, 1, 0) == 1 && p.revents == POLLIN, "poll: readable");
    CHECK_ERR(read(fd, b, 8), EINVAL, "read into less than one event");
    int n = drain(fd);
    check(n == 3 && is(0, wd, IN_CREATE, "a") && is(1, wd, IN_MODIFY, "a") && is(2, wd, IN_CLOSE_WRITE, "a"),
          "another process made a file: IN_CREATE, one IN_MODIFY for two writes, IN_CLOSE_WRITE");

    chmod("a", 0600);
    rename("a", "b");
    mkdir("d", 0755);
    n = drain(fd);
    check(n == 4 && is(0, wd, IN_ATTRIB, "a") && is(1, wd, IN_MOVED_FROM, "a") && is(2, wd, IN_MOVED_TO, "b") &&
              is(3, wd, IN_CREATE | IN_ISDIR, "d"),
          "chmod, rename and mkdir");
    check(n == 4 && evs[1].cookie != 0 && evs[1].cookie == evs[2].cookie, "the rename's two events share a cookie");

    int f = open("b", O_WRONLY);
    int wf = inotify_add_watch(fd, "b", IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF);
    check(wf > 0 && wf != wd, "watch the file itself");
    write(f, "z", 1);
    close(f);
    n = drain(fd);
    check(n == 3 && has(n, wf, IN_MODIFY, "") && has(n, wd, IN_MODIFY, "b") && has(n, wd, IN_CLOSE_WRITE, "b"),
          "a write seen by both watches");
    unlink("b");
    rmdir("d");
    n = drain(fd);
    check(n == 5 && is(0, wf, IN_ATTRIB, "") && is(1, wf, IN_DELETE_SELF, "") && is(2, wf, IN_IGNORED, "") &&
              has(n, wd, IN_DELETE, "b") && has(n, wd, IN_DELETE | IN_ISDIR, "d"),
          "unlink: the file's watch ends with IN_DELETE_SELF and IN_IGNORED");
    CHECK_ERR(inotify_rm_watch(fd, wf), EINVAL, "rm_watch of the ended watch");

    int once = inotify_add_watch(fd, ".", IN_CREATE | IN_ONESHOT);
    check(once == wd, "IN_ONESHOT on the same directory replaces its mask");
    close(open("c1", O_CREAT | O_WRONLY, 0644));
    close(open("c2", O_CREAT | O_WRONLY, 0644));
    n = drain(fd);
    check(n == 2 && is(0, wd, IN_CREATE, "c1") && is(1, wd, IN_IGNORED, ""), "a one-shot watch: one event, then IN_IGNORED");
    unlink("c1");
    unlink("c2");

    int w2 = inotify_add_watch(fd, ".", IN_DELETE);
    check(w2 > 0 && inotify_rm_watch(fd, w2) == 0, "rm_watch");
    n = drain(fd);
    check(n == 1 && is(0, w2, IN_IGNORED, ""), "rm_watch queues IN_IGNORED");
    CHECK_ERR(inotify_add_watch(fd, ".", IN_DELETE | IN_MASK_CREATE | IN_MASK_ADD), EINVAL, "IN_MASK_CREATE with IN_MASK_ADD");
    w2 = inotify_add_watch(fd, ".", IN_DELETE);
    CHECK_ERR(inotify_add_watch(fd, ".", IN_DELETE | IN_MASK_CREATE), EEXIST, "IN_MASK_CREATE on a watched inode");
    CHECK_ERR(inotify_add_watch(fd, "missing", IN_DELETE), ENOENT, "a missing path");
    close(open("file", O_CREAT | O_WRONLY, 0644));
    CHECK_ERR(inotify_add_watch(fd, "file", IN_DELETE | IN_ONLYDIR), ENOTDIR, "IN_ONLYDIR on a file");
    CHECK_ERR(inotify_add_watch(fd, ".", 0), EINVAL, "no event asked for");
    int pfd[2];
    pipe(pfd);
    CHECK_ERR(inotify_add_watch(pfd[0], ".", IN_DELETE), EINVAL, "a pipe is no inotify instance");
    CHECK_ERR(inotify_rm_watch(fd, 12345), EINVAL, "rm_watch of an unknown descriptor");
    CHECK_ERR(inotify_init1(0x1), EINVAL, "inotify_init1 with a bad flag");
    unlink("file");
    close(pfd[0]);
    close(pfd[1]);
    close(fd);
    check_workdir_empty();
    return check_done();
}
