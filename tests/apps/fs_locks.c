/* fs_locks.c -- file locks. flock(2): LOCK_SH/LOCK_EX/LOCK_UN/LOCK_NB between
 * two open file descriptions of one process (they conflict), dup'd fds
 * sharing a lock, release on the last close, a lock conversion that fails
 * with LOCK_NB (Linux drops the old lock first), a blocked LOCK_EX woken by
 * LOCK_UN. fcntl(2) record locks between this process and a child (argv[2]/
 * fs_locks "child" FILE, driven by commands over pipes): F_GETLK reports the
 * other process's lock (type, range, l_pid), F_SETLK conflicts fail with
 * EAGAIN, shared read locks, splitting and merging ranges, l_len 0 (to EOF)
 * and negative, SEEK_END, F_SETLKW waiting for a release, closing any fd of
 * the file dropping the process's locks, exit releasing locks, flock and
 * fcntl locks being independent, and errors.
 * Args: argv[1] = an empty directory to work in (left empty again),
 * argv[2] = directory of the test programs.
 * Prints "ok ..." lines, then "all ok" (exit 0) or "FAIL: ..." (exit 1). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "fsutil.h"
#include "watchdog.h"

extern char **environ;

static struct flock lk(int type, long start, long len)
{
    struct flock f;
    memset(&f, 0, sizeof f);
    f.l_type = type;
    f.l_whence = SEEK_SET;
    f.l_start = start;
    f.l_len = len;
    return f;
}

static int type_of(char c)
{
    return c == 'r' ? F_RDLCK : c == 'w' ? F_WRLCK : c == 'u' ? F_UNLCK : 99;
}

static char type_char(int t)
{
    return t == F_RDLCK ? 'r' : t == F_WRLCK ? 'w' : t == F_UNLCK ? 'u' : '?';
}

static long read_line(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    char c;
    while (n + 1 < cap) {
        ssize_t r = read(fd, &c, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        if (c == '\n')
            break;
        buf[n++] = c;
    }
    buf[n] = 0;
    return n;
}

static void reply(const char *fmt, ...)
{
    char buf[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
    va_end(ap);
    buf[n++] = '\n';
    (void)!write(1, buf, n);
}

/* The child: executes commands read from stdin on FILE, replies on stdout:
 *   lock|lockw T S L  F_SETLK|F_SETLKW (T = r, w or u)  -> 0 or an errno name
 *   getlk T S L       F_GETLK -> "u" or "T START LEN PID"
 *   delayunlock S L   -> 0, then after 100 ms unlocks S L -> "released"
 *   flock OP          flock(fd, OP) -> 0 or an errno name
 *   closeother        opens FILE again and closes that fd -> 0
 *   exit              exits (status 0) */
static int child(const char *path)
{
    int fd = open(path, O_RDWR);
    if (fd < 0)
        return 3;
    char line[128], cmd[32], t;
    long s, l;
    while (read_line(0, line, sizeof line) >= 0) {
        struct flock f;
        int op;
        if (sscanf(line, "lock %c %ld %ld", &t, &s, &l) == 3 || sscanf(line, "lockw %c %ld %ld", &t, &s, &l) == 3) {
            f = lk(type_of(t), s, l);
            int r = fcntl(fd, line[4] == 'w' ? F_SETLKW : F_SETLK, &f);
            reply("%s", r == 0 ? "0" : errname(errno));
        } else if (sscanf(line, "getlk %c %ld %ld", &t, &s, &l) == 3) {
            f = lk(type_of(t), s, l);
            if (fcntl(fd, F_GETLK, &f) != 0)
                reply("%s", errname(errno));
            else if (f.l_type == F_UNLCK)
                reply("u");
            else
                reply("%c %ld %ld %ld", type_char(f.l_type), (long)f.l_start, (long)f.l_len, (long)f.l_pid);
        } else if (sscanf(line, "delayunlock %ld %ld", &s, &l) == 2) {
            reply("0");
            struct timespec ts = { 0, 100 * 1000 * 1000 };
            nanosleep(&ts, NULL);
            f = lk(F_UNLCK, s, l);
            reply("%s", fcntl(fd, F_SETLK, &f) == 0 ? "released" : errname(errno));
        } else if (sscanf(line, "flock %d", &op) == 1) {
            reply("%s", flock(fd, op) == 0 ? "0" : errname(errno));
        } else if (sscanf(line, "%31s", cmd) == 1 && !strcmp(cmd, "closeother")) {
            int o = open(path, O_RDONLY);
            reply("%s", o >= 0 && close(o) == 0 ? "0" : "failed");
        } else if (!strcmp(line, "exit")) {
            return 0;
        } else {
            reply("unknown command");
        }
    }
    return 0;
}

static int cmd_w = -1, rep_r = -1;

/* Sends a command to the child; returns its reply line. */
static const char *ask(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *ask(const char *fmt, ...)
{
    static char buf[128];
    char line[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    line[n++] = '\n';
    if (write(cmd_w, line, n) != n || read_line(rep_r, buf, sizeof buf) < 0)
        strcpy(buf, "(no reply)");
    return buf;
}

/* The child's reply equals want (the reply is printed only on failure). */
static void check_reply(const char *got, const char *want, const char *what)
{
    int ok = !strcmp(got, want);
    check(ok, "%s", what);
    if (!ok)
        printf("(child replied \"%s\", expected \"%s\")\n", got, want);
}

/* The child's getlk reply is "T START LEN <our pid>". */
static void check_ours(const char *got, char t, long start, long len, const char *what)
{
    char want[96];
    snprintf(want, sizeof want, "%c %ld %ld %ld", t, start, len, (long)getpid());
    check_reply(got, want, what);
}

/* F_GETLK by this process reports type/start/len held by pid. */
static void check_getlk(int fd, int qtype, long qs, long ql, int type, long start, long len, pid_t pid, const char *what)
{
    struct flock f = lk(qtype, qs, ql);
    int r = fcntl(fd, F_GETLK, &f);
    int ok = r == 0 && f.l_type == type &&
             (type == F_UNLCK || (f.l_whence == SEEK_SET && f.l_start == start && f.l_len == len && f.l_pid == pid));
    check(ok, "%s", what);
    if (!ok)
        printf("(F_GETLK: %d, type %d start %ld len %ld pid %ld)\n", r, f.l_type, (long)f.l_start, (long)f.l_len,
               (long)f.l_pid);
}

static long setlk(int fd, int cmd, int type, long start, long len)
{
    struct flock f = lk(type, start, len);
    return fcntl(fd, cmd, &f);
}

static int thread_fd;
static int thread_pipe[2];
static void *flock_waiter(void *arg)
{
    (void)arg;
    char r = flock(thread_fd, LOCK_EX) == 0 ? '0' : 'E';
    (void)!write(thread_pipe[1], &r, 1);
    return NULL;
}

static void flocks(void)
{
    check_eq(put_file("fl", "x", 1), 1, "create fl");
    int fd1 = open("fl", O_RDWR), fd2 = open("fl", O_RDWR), fd3 = open("fl", O_RDONLY);
    check(fd1 >= 0 && fd2 >= 0 && fd3 >= 0, "open fl three times");
    check_eq(flock(fd1, LOCK_EX), 0, "fd1: LOCK_EX");
    CHECK_ERR(flock(fd2, LOCK_EX | LOCK_NB), EWOULDBLOCK, "fd2: LOCK_EX|LOCK_NB conflicts");
    CHECK_ERR(flock(fd2, LOCK_SH | LOCK_NB), EWOULDBLOCK, "fd2: LOCK_SH|LOCK_NB conflicts");
    check_eq(flock(fd1, LOCK_EX | LOCK_NB), 0, "fd1: LOCK_EX again (already held)");
    int d = dup(fd1);
    check_eq(flock(d, LOCK_UN), 0, "LOCK_UN through a dup of fd1");
    close(d);
    check_eq(flock(fd2, LOCK_SH | LOCK_NB), 0, "fd2: LOCK_SH|LOCK_NB now succeeds");
    check_eq(flock(fd1, LOCK_SH | LOCK_NB), 0, "fd1: LOCK_SH|LOCK_NB too (shared)");
    check_eq(flock(fd3, LOCK_SH | LOCK_NB), 0, "fd3 (O_RDONLY): LOCK_SH|LOCK_NB too");
    check_eq(flock(fd3, LOCK_UN), 0, "fd3: LOCK_UN");
    CHECK_ERR(flock(fd1, LOCK_EX | LOCK_NB), EWOULDBLOCK, "fd1: converting to LOCK_EX|LOCK_NB conflicts");
    check_eq(flock(fd2, LOCK_UN), 0, "fd2: LOCK_UN");
    check_eq(flock(fd3, LOCK_EX | LOCK_NB), 0, "fd3: LOCK_EX|LOCK_NB succeeds (the failed conversion dropped fd1's lock)");
    check_eq(flock(fd3, LOCK_UN), 0, "fd3: LOCK_UN");
    check_eq(flock(fd1, LOCK_SH), 0, "fd1: LOCK_SH");
    check_eq(flock(fd1, LOCK_EX | LOCK_NB), 0, "fd1: converting to LOCK_EX without conflict");
    CHECK_ERR(flock(fd2, LOCK_SH | LOCK_NB), EWOULDBLOCK, "fd2: LOCK_SH|LOCK_NB conflicts with it");

    /* A blocked LOCK_EX is woken by LOCK_UN. */
    check(pipe(thread_pipe) == 0, "pipe");
    thread_fd = fd2;
    pthread_t t;
    check(pthread_create(&t, NULL, flock_waiter, NULL) == 0, "a thread waits for LOCK_EX on fd2");
    struct pollfd pf = { thread_pipe[0], POLLIN, 0 };
    check_eq(poll(&pf, 1, 100), 0, "it has not got the lock after 100 ms");
    check_eq(flock(fd1, LOCK_UN), 0, "fd1: LOCK_UN");
    char c = 0;
    check(read(thread_pipe[0], &c, 1) == 1 && c == '0', "the thread got the lock");
    pthread_join(t, NULL);
    close(thread_pipe[0]);
    close(thread_pipe[1]);
    CHECK_ERR(flock(fd1, LOCK_SH | LOCK_NB), EWOULDBLOCK, "fd1: LOCK_SH|LOCK_NB conflicts with it");
    d = dup(fd2);
    close(fd2);
    CHECK_ERR(flock(fd1, LOCK_SH | LOCK_NB), EWOULDBLOCK, "after closing fd2, its dup still holds the lock");
    close(d);
    check_eq(flock(fd1, LOCK_EX | LOCK_NB), 0, "after closing the dup too, fd1 gets LOCK_EX");
    close(fd1);
    check_eq(flock(fd3, LOCK_EX | LOCK_NB), 0, "closing fd1 released it: fd3 gets LOCK_EX");
    close(fd3);

    CHECK_ERR(flock(-1, LOCK_SH), EBADF, "flock(-1)");
    fd1 = open("fl", O_RDONLY);
    CHECK_ERR(flock(fd1, 0), EINVAL, "flock with operation 0");
    CHECK_ERR(flock(fd1, LOCK_NB), EINVAL, "flock with just LOCK_NB");
    close(fd1);
    fd1 = open("fl", O_PATH);
    CHECK_ERR(flock(fd1, LOCK_SH), EBADF, "flock of an O_PATH fd");
    close(fd1);
    fd1 = open(".", O_RDONLY | O_DIRECTORY);
    check(flock(fd1, LOCK_EX) == 0 && flock(fd1, LOCK_UN) == 0, "flock of a directory");
    close(fd1);
    check_eq(unlink("fl"), 0, "unlink fl");
}

static void record_locks(const char *prog)
{
    static char data[200];
    memset(data, 'r', sizeof data);
    check_eq(put_file("lockf", data, sizeof data), 200, "create lockf (200 bytes)");
    char cwd[4096], path[4200];
    check(getcwd(cwd, sizeof cwd) != NULL, "getcwd");
    snprintf(path, sizeof path, "%s/lockf", cwd);
    int fd = open("lockf", O_RDWR);
    int cp[2], rp[2];
    check(pipe2(cp, O_CLOEXEC) == 0 && pipe2(rp, O_CLOEXEC) == 0, "two pipes to talk to the child");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, cp[0], 0);
    posix_spawn_file_actions_adddup2(&fa, rp[1], 1);
    char *args[] = { (char *)prog, "child", path, NULL };
    pid_t pid;
    fflush(stdout);
    int e = posix_spawn(&pid, prog, &fa, NULL, args, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(cp[0]);
    close(rp[1]);
    cmd_w = cp[1];
    rep_r = rp[0];
    check(e == 0, "spawn fs_locks child");
    if (e) {
        printf("(posix_spawn %s: %s)\n", prog, errname(e));
        return;
    }

    check_reply(ask("lock w 10 20"), "0", "child: F_SETLK F_WRLCK [10, 30)");
    check_getlk(fd, F_WRLCK, 0, 100, F_WRLCK, 10, 20, pid, "F_GETLK F_WRLCK [0, 100): the child's F_WRLCK [10, 30), its pid");
    check_getlk(fd, F_RDLCK, 15, 1, F_WRLCK, 10, 20, pid, "F_GETLK F_RDLCK [15, 16): the same");
    check_getlk(fd, F_WRLCK, 30, 10, F_UNLCK, 0, 0, 0, "F_GETLK F_WRLCK [30, 40): F_UNLCK");
    CHECK_ERR(setlk(fd, F_SETLK, F_WRLCK, 20, 5), EAGAIN, "F_SETLK F_WRLCK [20, 25)");
    CHECK_ERR(setlk(fd, F_SETLK, F_RDLCK, 0, 15), EAGAIN, "F_SETLK F_RDLCK [0, 15)");
    check_eq(setlk(fd, F_SETLK, F_WRLCK, 30, 10), 0, "F_SETLK F_WRLCK [30, 40) (next to it)");
    check_eq(setlk(fd, F_SETLK, F_WRLCK, 0, 10), 0, "F_SETLK F_WRLCK [0, 10)");
    check_getlk(fd, F_WRLCK, 30, 10, F_UNLCK, 0, 0, 0, "F_GETLK on our own lock: F_UNLCK");
    check_ours(ask("getlk w 30 5"), 'w', 30, 10, "child: F_GETLK [30, 35) reports our lock and pid");
    check_reply(ask("lock w 35 1"), "EAGAIN", "child: F_SETLK F_WRLCK [35, 36): EAGAIN");
    check_reply(ask("lock u 10 20"), "0", "child: F_UNLCK [10, 30)");
    check_getlk(fd, F_WRLCK, 10, 20, F_UNLCK, 0, 0, 0, "F_GETLK [10, 30): F_UNLCK");

    check_reply(ask("lock r 50 10"), "0", "child: F_RDLCK [50, 60)");
    check_eq(setlk(fd, F_SETLK, F_RDLCK, 55, 3), 0, "F_SETLK F_RDLCK [55, 58): read locks share");
    CHECK_ERR(setlk(fd, F_SETLK, F_WRLCK, 55, 3), EAGAIN, "upgrading it to F_WRLCK");
    check_reply(ask("lock w 55 1"), "EAGAIN", "child: F_WRLCK [55, 56): EAGAIN");
    check_getlk(fd, F_WRLCK, 50, 5, F_RDLCK, 50, 10, pid, "F_GETLK F_WRLCK [50, 55): the child's F_RDLCK");
    check_reply(ask("lock u 0 0"), "0", "child: unlock everything (l_len 0)");

    check_eq(setlk(fd, F_SETLK, F_WRLCK, 100, 100), 0, "F_SETLK F_WRLCK [100, 200)");
    check_eq(setlk(fd, F_SETLK, F_UNLCK, 140, 20), 0, "F_UNLCK [140, 160) splits it");
    check_ours(ask("getlk w 150 50"), 'w', 160, 40, "child: F_GETLK [150, 200) -> [160, 200)");
    check_ours(ask("getlk w 100 10"), 'w', 100, 40, "child: F_GETLK [100, 110) -> [100, 140)");
    check_reply(ask("getlk w 145 10"), "u", "child: F_GETLK [145, 155) -> F_UNLCK");
    check_eq(setlk(fd, F_SETLK, F_WRLCK, 140, 20), 0, "F_SETLK F_WRLCK [140, 160) again");
    check_ours(ask("getlk w 150 1"), 'w', 100, 100, "child: F_GETLK [150, 151) -> merged [100, 200)");
    check_eq(setlk(fd, F_SETLK, F_WRLCK, 1000, 0), 0, "F_SETLK F_WRLCK [1000, EOF) (l_len 0)");
    check_ours(ask("getlk w 5000 1"), 'w', 1000, 0, "child: F_GETLK [5000, 5001) -> start 1000, len 0");
    check_eq(setlk(fd, F_SETLK, F_WRLCK, 320, -5), 0, "F_SETLK F_WRLCK start 320, l_len -5");
    check_ours(ask("getlk w 300 30"), 'w', 315, 5, "child: F_GETLK [300, 330) -> [315, 320)");
    check_eq(setlk(fd, F_SETLK, F_UNLCK, 100, 100), 0, "F_UNLCK [100, 200)");
    struct flock f = lk(F_WRLCK, -10, 10);
    f.l_whence = SEEK_END;
    check_eq(fcntl(fd, F_SETLK, &f), 0, "F_SETLK F_WRLCK SEEK_END -10, l_len 10");
    check_ours(ask("getlk w 195 1"), 'w', 190, 10, "child: F_GETLK [195, 196) -> [190, 200)");
    check_eq(setlk(fd, F_SETLK, F_UNLCK, 0, 0), 0, "F_UNLCK [0, EOF)");
    check_reply(ask("getlk w 0 0"), "u", "child: F_GETLK [0, EOF) -> F_UNLCK");

    /* F_SETLKW waits for the release. */
    check_reply(ask("lock w 0 10"), "0", "child: F_WRLCK [0, 10)");
    check_getlk(fd, F_WRLCK, 0, 10, F_WRLCK, 0, 10, pid, "F_GETLK: the child holds [0, 10)");
    check_reply(ask("delayunlock 0 10"), "0", "child: unlock [0, 10) after 100 ms");
    check_eq(setlk(fd, F_SETLKW, F_WRLCK, 0, 10), 0, "F_SETLKW F_WRLCK [0, 10) waits and succeeds");
    char line[64];
    check(read_line(rep_r, line, sizeof line) >= 0 && !strcmp(line, "released"), "the child had released it");
    check_ours(ask("getlk w 0 10"), 'w', 0, 10, "child: F_GETLK [0, 10) -> ours now");
    check_eq(setlk(fd, F_SETLK, F_UNLCK, 0, 10), 0, "F_UNLCK [0, 10)");

    /* Closing any fd of the file drops all of the process's locks on it. */
    check_reply(ask("lock w 0 10"), "0", "child: F_WRLCK [0, 10)");
    check_reply(ask("closeother"), "0", "child: open and close the file again");
    check_getlk(fd, F_WRLCK, 0, 10, F_UNLCK, 0, 0, 0, "the child's lock is gone");

    /* flock and fcntl locks are independent. */
    check_eq(flock(fd, LOCK_EX), 0, "flock LOCK_EX");
    check_reply(ask("lock w 0 10"), "0", "child: F_SETLK F_WRLCK [0, 10) still succeeds");
    char op[32];
    snprintf(op, sizeof op, "flock %d", LOCK_EX | LOCK_NB);
    check_reply(ask("%s", op), "EAGAIN", "child: flock LOCK_EX|LOCK_NB: EAGAIN");
    check_eq(flock(fd, LOCK_UN), 0, "flock LOCK_UN");
    check_reply(ask("%s", op), "0", "child: flock LOCK_EX|LOCK_NB now succeeds");
    CHECK_ERR(flock(fd, LOCK_SH | LOCK_NB), EWOULDBLOCK, "flock LOCK_SH|LOCK_NB conflicts with the child's");

    /* Exiting releases everything. */
    check_reply(ask("lock w 20 100"), "0", "child: F_WRLCK [20, 120)");
    check_eq(write(cmd_w, "exit\n", 5), 5, "tell the child to exit");
    int st = -1;
    check(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child exited with status 0");
    check_getlk(fd, F_WRLCK, 0, 0, F_UNLCK, 0, 0, 0, "F_GETLK [0, EOF): no locks left");
    check_eq(setlk(fd, F_SETLK, F_WRLCK, 0, 0), 0, "F_SETLK F_WRLCK [0, EOF)");
    check_eq(flock(fd, LOCK_EX | LOCK_NB), 0, "flock LOCK_EX|LOCK_NB");
    close(cmd_w);
    close(rep_r);

    /* Errors. */
    int ro = open("lockf", O_RDONLY), wo = open("lockf", O_WRONLY);
    CHECK_ERR(setlk(ro, F_SETLK, F_WRLCK, 0, 1), EBADF, "F_WRLCK on an O_RDONLY fd");
    CHECK_ERR(setlk(wo, F_SETLK, F_RDLCK, 0, 1), EBADF, "F_RDLCK on an O_WRONLY fd");
    CHECK_ERR(setlk(fd, F_SETLK, 99, 0, 1), EINVAL, "F_SETLK with l_type 99");
    CHECK_ERR(setlk(fd, F_GETLK, F_UNLCK, 0, 1), EINVAL, "F_GETLK with F_UNLCK");
    CHECK_ERR(setlk(fd, F_SETLK, F_WRLCK, -1, 1), EINVAL, "F_SETLK at start -1");
    CHECK_ERR(setlk(fd, F_SETLK, F_WRLCK, 5, -10), EINVAL, "F_SETLK with a range before the start");
    CHECK_ERR(setlk(-1, F_SETLK, F_WRLCK, 0, 1), EBADF, "F_SETLK on fd -1");
    close(ro);
    close(wo);
    close(fd);
    check_eq(unlink("lockf"), 0, "unlink lockf");
}

int main(int argc, char **argv)
{
    if (argc > 2 && !strcmp(argv[1], "child"))
        return child(argv[2]);
    static char prog[4096];
    if (argc > 2)
        prog_path(prog, sizeof prog, argv[2], "fs_locks");
    enter_workdir(argc, argv, 3, "fs_locks DIR BINDIR");
    start_watchdog(60);
    flocks();
    record_locks(prog);
    check_workdir_empty();
    return check_done();
}
