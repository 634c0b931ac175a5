/* sig_default.c -- default signal actions, seen from the parent's waitpid.
 * argv[1] = directory of the test programs (segv, cat, and sig_default itself).
 * Children killed by SIGSEGV, SIGKILL, SIGTERM, SIGUSR1 (a handler in the
 * parent is not inherited across exec); SIGCHLD/SIGWINCH/SIGURG do not kill
 * (a ping through cat still echoes); SIG_IGN and the blocked mask are
 * inherited across exec; SIGPIPE ignored, handled or blocked -> EPIPE.
 * Re-runs itself as `sig_default <dir> <mode>` for deaths from inside:
 * abort() despite a returning SIGABRT handler, SIGSEGV in a second thread,
 * SIGALRM, SIGPIPE, a fault with SIGSEGV blocked or ignored, raise(SIGKILL)
 * with everything blocked, and a SIGTERM that stays pending while blocked and
 * kills once unblocked.
 * Args: <dir> [mode]. Prints "ok ..." lines, then "all ok" (exit 0) or
 * "FAIL: ..." lines (exit 1). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include "errname.h"

extern char **environ;
#include "check.h"

static const char *dir;

/* Watchdog: SIGALRM after 60 s ends the program with a FAIL line (instead
 * of hanging). */
static void on_watchdog(int sig)
{
    static const char msg[] = "FAIL: watchdog: still running after the time limit\n";
    (void)!write(1, msg, sizeof msg - 1);
    _exit(1);
}

static void start_watchdog(void)
{
    signal(SIGALRM, on_watchdog);
    alarm(60);
}

/* ------------------------------------------------------------------ */
/* Child modes: each ends the process by a signal (or exits 0 if not). */

static void on_abrt(int sig)
{
    /* returns: abort() must still end the process */
}

static void *segv_thread(void *arg)
{
    *(volatile int *)0 = 1;
    return NULL;
}

static int child_mode(const char *mode)
{
    if (!strcmp(mode, "abort")) {
        signal(SIGABRT, on_abrt);
        abort();
    } else if (!strcmp(mode, "thread_segv")) {
        pthread_t t;
        pthread_create(&t, NULL, segv_thread, NULL);
        pthread_join(t, NULL);
    } else if (!strcmp(mode, "alarm")) {
        struct itimerval it = {{0, 0}, {0, 50 * 1000}};
        setitimer(ITIMER_REAL, &it, NULL);
        for (;;)
            pause();
    } else if (!strcmp(mode, "sigpipe")) {
        int p[2];
        if (pipe(p) != 0)
            return 2;
        close(p[0]);
        (void)!write(p[1], "x", 1);
    } else if (!strcmp(mode, "blocked_segv") || !strcmp(mode, "ignored_segv")) {
        if (mode[0] == 'b') {
            struct sigaction sa;
            memset(&sa, 0, sizeof sa);
            sa.sa_handler = on_abrt;
            sigaction(SIGSEGV, &sa, NULL);
            sigset_t s;
            sigemptyset(&s);
            sigaddset(&s, SIGSEGV);
            sigprocmask(SIG_BLOCK, &s, NULL);
        } else {
            signal(SIGSEGV, SIG_IGN);
        }
        *(volatile int *)0 = 1;
    } else if (!strcmp(mode, "blockall_kill")) {
        sigset_t all;
        sigfillset(&all);
        sigprocmask(SIG_BLOCK, &all, NULL);
        raise(SIGKILL);
    } else if (!strcmp(mode, "term_blocked")) {
        /* stdin and stdout are pipes to the parent */
        sigset_t s;
        char c;
        sigemptyset(&s);
        sigaddset(&s, SIGTERM);
        sigprocmask(SIG_BLOCK, &s, NULL);
        (void)!write(1, "r", 1);
        (void)!read(0, &c, 1);
        sigprocmask(SIG_UNBLOCK, &s, NULL);
    } else {
        return 2;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Parent. */

/* posix_spawn <dir>/<name> [a1 [a2]] with stdin/stdout from in_fd/out_fd
 * (if >= 0) and signal mask `mask` (empty if NULL). */
static pid_t spawn(const char *name, const char *a1, const char *a2, int in_fd, int out_fd,
                   const sigset_t *mask)
{
    char path[4096];
    char *argv[4] = {(char *)name, (char *)a1, (char *)a2, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t m;
    pid_t pid;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    posix_spawn_file_actions_init(&fa);
    if (in_fd >= 0)
        posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
    if (out_fd >= 0)
        posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    posix_spawnattr_init(&at);
    sigemptyset(&m);
    posix_spawnattr_setsigmask(&at, mask ? mask : &m);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK);
    fflush(stdout);
    int e = posix_spawn(&pid, path, &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (e != 0) {
        printf("FAIL: posix_spawn %s: %s\n", name, errname(e));
        check_failures++;
        return -1;
    }
    return pid;
}

/* A cat child with its stdin and stdout on pipes. */
struct cat {
    pid_t pid;
    int in, out; /* our ends */
};

static struct cat spawn_cat(const sigset_t *mask)
{
    struct cat c = {-1, -1, -1};
    int i[2], o[2];
    if (pipe2(i, O_CLOEXEC) != 0 || pipe2(o, O_CLOEXEC) != 0)
        return c;
    c.pid = spawn("cat", NULL, NULL, i[0], o[1], mask);
    close(i[0]);
    close(o[1]);
    c.in = i[1];
    c.out = o[0];
    return c;
}

/* Writes "ping" to cat and reads it back: 1 if it echoed. */
static int ping(struct cat *c)
{
    char buf[4];
    size_t got = 0;
    if (write(c->in, "ping", 4) != 4)
        return 0;
    while (got < 4) {
        ssize_t n = read(c->out, buf + got, 4 - got);
        if (n <= 0)
            return 0;
        got += n;
    }
    return memcmp(buf, "ping", 4) == 0;
}

/* Closes cat's stdin and waits: 1 if it exited 0. */
static int finish_cat(struct cat *c)
{
    int st;
    close(c->in);
    pid_t r = waitpid(c->pid, &st, 0);
    close(c->out);
    return r == c->pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static int killed_by(pid_t pid, int sig)
{
    int st;
    return waitpid(pid, &st, 0) == pid && WIFSIGNALED(st) && WTERMSIG(st) == sig;
}

static volatile sig_atomic_t pipe_hits;

static void on_pipe(int sig)
{
    pipe_hits++;
}

static void on_usr1(int sig)
{
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        printf("FAIL: usage: sig_default <dir> [mode]\n");
        return 1;
    }
    dir = argv[1];
    if (argc > 2)
        return child_mode(argv[2]);
    setvbuf(stdout, NULL, _IOLBF, 0);
    start_watchdog();

    /* --- deaths by signals from outside --- */
    check(killed_by(spawn("segv", NULL, NULL, -1, -1, NULL), SIGSEGV), "segv: killed by SIGSEGV");

    static const struct {
        int sig;
        const char *name;
    } fatal[] = {{SIGKILL, "SIGKILL"}, {SIGTERM, "SIGTERM"}, {SIGUSR1, "SIGUSR1"},
                 {SIGHUP, "SIGHUP"},   {SIGINT, "SIGINT"},   {SIGALRM, "SIGALRM"}};
    signal(SIGUSR1, on_usr1); /* reset to SIG_DFL in the child by exec */
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++) {
        struct cat c = spawn_cat(NULL);
        check(ping(&c), "cat is running (before %s)", fatal[i].name);
        kill(c.pid, fatal[i].sig);
        check(killed_by(c.pid, fatal[i].sig), "cat: killed by %s", fatal[i].name);
        close(c.in);
        close(c.out);
    }

    /* --- default-ignored signals do not kill --- */
    {
        struct cat c = spawn_cat(NULL);
        kill(c.pid, SIGCHLD);
        kill(c.pid, SIGWINCH);
        kill(c.pid, SIGURG);
        check(ping(&c), "cat survives SIGCHLD, SIGWINCH and SIGURG (still echoes)");
        check(finish_cat(&c), "cat then exits 0 at end of input");
    }

    /* --- SIG_IGN is inherited across exec --- */
    signal(SIGTERM, SIG_IGN);
    {
        struct cat c = spawn_cat(NULL);
        kill(c.pid, SIGTERM);
        check(ping(&c), "SIG_IGN inherited across exec: cat survives SIGTERM");
        check(finish_cat(&c), "cat then exits 0");
    }
    signal(SIGTERM, SIG_DFL);

    /* --- the blocked mask is inherited across exec --- */
    {
        sigset_t m;
        sigemptyset(&m);
        sigaddset(&m, SIGTERM);
        struct cat c = spawn_cat(&m);
        kill(c.pid, SIGTERM);
        check(ping(&c), "SIGTERM blocked in the spawned cat: it survives");
        check(finish_cat(&c), "cat exits 0 with SIGTERM still pending");
    }

    /* --- SIGPIPE in this process --- */
    {
        int p[2];
        if (pipe(p) != 0)
            return 1;
        close(p[0]);
        signal(SIGPIPE, SIG_IGN);
        CHECK_ERR(write(p[1], "x", 1), EPIPE, "SIGPIPE ignored: write to a pipe without reader");
        signal(SIGPIPE, on_pipe);
        pipe_hits = 0;
        CHECK_ERR(write(p[1], "x", 1), EPIPE, "SIGPIPE handled: write");
        check(pipe_hits == 1, "SIGPIPE handler ran once");
        sigset_t s, pend;
        sigemptyset(&s);
        sigaddset(&s, SIGPIPE);
        sigprocmask(SIG_BLOCK, &s, NULL);
        pipe_hits = 0;
        CHECK_ERR(write(p[1], "x", 1), EPIPE, "SIGPIPE blocked: write");
        sigpending(&pend);
        check(sigismember(&pend, SIGPIPE) && pipe_hits == 0, "SIGPIPE blocked: pending, not delivered");
        sigprocmask(SIG_UNBLOCK, &s, NULL);
        check(pipe_hits == 1, "SIGPIPE delivered on unblock");
        signal(SIGPIPE, SIG_DFL);
        close(p[1]);
    }

    /* --- deaths from inside (this program re-run in a mode) --- */
    static const struct {
        const char *mode;
        int sig;
        const char *what;
    } inside[] = {
        {"abort", SIGABRT, "abort() with a returning SIGABRT handler: killed by SIGABRT"},
        {"thread_segv", SIGSEGV, "SIGSEGV in a second thread: process killed by SIGSEGV"},
        {"alarm", SIGALRM, "timer expiry without handler: killed by SIGALRM"},
        {"sigpipe", SIGPIPE, "write to a pipe without reader: killed by SIGPIPE"},
        {"blocked_segv", SIGSEGV, "fault with SIGSEGV blocked (handler set): killed by SIGSEGV"},
        {"ignored_segv", SIGSEGV, "fault with SIGSEGV ignored: killed by SIGSEGV"},
        {"blockall_kill", SIGKILL, "raise(SIGKILL) with all signals blocked: killed by SIGKILL"},
    };
    for (size_t i = 0; i < sizeof inside / sizeof inside[0]; i++)
        check(killed_by(spawn("sig_default", dir, inside[i].mode, -1, -1, NULL), inside[i].sig), "%s",
              inside[i].what);

    /* --- SIGTERM pending while blocked, fatal once unblocked --- */
    {
        int i[2], o[2], st;
        char c = 0;
        if (pipe2(i, O_CLOEXEC) != 0 || pipe2(o, O_CLOEXEC) != 0)
            return 1;
        pid_t pid = spawn("sig_default", dir, "term_blocked", i[0], o[1], NULL);
        close(i[0]);
        close(o[1]);
        check(read(o[0], &c, 1) == 1 && c == 'r', "term_blocked child: SIGTERM blocked");
        kill(pid, SIGTERM);
        check(waitpid(pid, &st, WNOHANG) == 0, "blocked SIGTERM sent: the child still lives");
        (void)!write(i[1], "g", 1);
        check(killed_by(pid, SIGTERM), "child unblocks SIGTERM: killed by SIGTERM");
        close(i[1]);
        close(o[0]);
    }

    if (check_failures) {
        printf("FAIL: %d check(s) failed\n", check_failures);
        return 1;
    }
    printf("all ok\n");
    return 0;
}
