/* sig_child.c -- SIGCHLD and signals between processes. argv[1] = directory
 * of the test programs (exit_code, cat). SIGCHLD per child exit with siginfo
 * (CLD_EXITED + status + pid, CLD_KILLED + signal), waited for race-free with
 * sigsuspend; a burst of exits reaped inside the handler; wait4 interrupted
 * (EINTR) vs restarted (SA_RESTART); SIGCHLD ignored or SA_NOCLDWAIT: children
 * are reaped automatically and waitpid fails with ECHILD once they are gone;
 * kill(-pgid) and kill(0) on process groups; kill of a zombie, of a reaped
 * and of a nonexistent pid; kill with signal 0.
 * Args: <dir>. Prints "ok ..." lines, then "all ok" (exit 0) or
 * "FAIL: ..." lines (exit 1). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
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

/* SIGCHLD handler state. */
static volatile sig_atomic_t chld_count, chld_code, chld_status, chld_pid;
/* Burst mode: the handler reaps; statuses as a bit set. */
static volatile sig_atomic_t reap_mode, reaped, reaped_bits;

static void on_chld(int sig, siginfo_t *si, void *uc)
{
    int saved = errno;
    chld_count++;
    chld_code = si->si_code;
    chld_status = si->si_status;
    chld_pid = si->si_pid;
    if (reap_mode) {
        int st;
        pid_t p;
        while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
            reaped++;
            if (WIFEXITED(st) && WEXITSTATUS(st) < 31)
                reaped_bits |= 1 << WEXITSTATUS(st);
        }
    }
    errno = saved;
}

static volatile sig_atomic_t alrm_count;
static volatile int close_on_alrm = -1;

static void on_alrm(int sig)
{
    alrm_count++;
    if (close_on_alrm >= 0) {
        close(close_on_alrm);
        close_on_alrm = -1;
    }
}

static void set_chld(int flags, void (*h)(int, siginfo_t *, void *))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = h;
    sa.sa_flags = SA_SIGINFO | flags;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGCHLD, &sa, NULL);
}

static void set_simple(int sig, void (*h)(int), int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = h;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

/* posix_spawn <dir>/<name> [arg] with an empty signal mask; stdin from
 * in_fd if >= 0; into process group pgroup if >= 0; SIGTERM reset to the
 * default if term_dfl. Returns the pid, or -1. */
static pid_t spawn(const char *name, const char *arg, int in_fd, pid_t pgroup, int term_dfl)
{
    char path[4096];
    char *argv[3] = {(char *)name, (char *)arg, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t empty, def;
    short flags = POSIX_SPAWN_SETSIGMASK;
    pid_t pid;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    posix_spawn_file_actions_init(&fa);
    if (in_fd >= 0)
        posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
    posix_spawnattr_init(&at);
    sigemptyset(&empty);
    posix_spawnattr_setsigmask(&at, &empty);
    if (pgroup >= 0) {
        flags |= POSIX_SPAWN_SETPGROUP;
        posix_spawnattr_setpgroup(&at, pgroup);
    }
    if (term_dfl) {
        flags |= POSIX_SPAWN_SETSIGDEF;
        sigemptyset(&def);
        sigaddset(&def, SIGTERM);
        posix_spawnattr_setsigdefault(&at, &def);
    }
    posix_spawnattr_setflags(&at, flags);
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

/* Waits (sigsuspend with `waitmask`) until chld_count reaches n. */
static void wait_chld_count(int n, const sigset_t *waitmask)
{
    while (chld_count < n)
        sigsuspend(waitmask);
}

static void arm_ms(long ms)
{
    struct itimerval it;
    memset(&it, 0, sizeof it);
    it.it_value.tv_usec = ms * 1000;
    setitimer(ITIMER_REAL, &it, NULL);
}

int main(int argc, char **argv)
{
    sigset_t chld, orig, waitmask;
    int st;
    pid_t pid;
    if (argc < 2) {
        printf("FAIL: usage: sig_child <dir>\n");
        return 1;
    }
    dir = argv[1];
    setvbuf(stdout, NULL, _IOLBF, 0);
    start_watchdog();

    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, &orig);
    waitmask = orig;
    sigdelset(&waitmask, SIGCHLD);

    /* --- one SIGCHLD per exit, with siginfo --- */
    set_chld(SA_RESTART, on_chld);
    for (int i = 1; i <= 5; i++) {
        chld_count = 0;
        char code[8];
        snprintf(code, sizeof code, "%d", i);
        pid = spawn("exit_code", code, -1, -1, 0);
        wait_chld_count(1, &waitmask);
        check(chld_code == CLD_EXITED && chld_status == i && chld_pid == pid,
              "child %d: SIGCHLD with CLD_EXITED, si_status %d, si_pid", i, i);
        check(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == i,
              "child %d: waitpid: exited %d", i, i);
    }

    /* --- a burst of 5 exits, reaped inside the handler --- */
    reap_mode = 1;
    reaped = reaped_bits = 0;
    chld_count = 0;
    {
        static const char *codes[5] = {"10", "11", "12", "13", "14"};
        for (int i = 0; i < 5; i++)
            spawn("exit_code", codes[i], -1, -1, 0);
    }
    while (reaped < 5)
        sigsuspend(&waitmask);
    check(reaped == 5 && reaped_bits == 0x7c00, "burst: handler reaped 5 children with statuses 10..14");
    check(chld_count >= 1 && chld_count <= 5, "burst: 1 to 5 SIGCHLDs (standard signals coalesce)");
    reap_mode = 0;
    CHECK_ERR(waitpid(-1, &st, WNOHANG), ECHILD, "burst: no children left");
    {
        /* A last SIGCHLD of the burst may still be pending (SIGCHLD is
         * blocked outside sigsuspend): drop it, so that it is not taken for
         * the next child's. */
        sigset_t only_chld;
        sigemptyset(&only_chld);
        sigaddset(&only_chld, SIGCHLD);
        struct timespec zero = {0, 0};
        while (sigtimedwait(&only_chld, NULL, &zero) > 0)
            ;
    }

    /* --- CLD_KILLED --- */
    {
        int p[2];
        if (pipe2(p, O_CLOEXEC) != 0)
            return 1;
        chld_count = 0;
        pid = spawn("cat", NULL, p[0], -1, 0);
        kill(pid, SIGKILL);
        wait_chld_count(1, &waitmask);
        check(chld_code == CLD_KILLED && chld_status == SIGKILL && chld_pid == pid,
              "SIGKILLed child: SIGCHLD with CLD_KILLED, si_status SIGKILL");
        check(waitpid(pid, &st, 0) == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
              "SIGKILLed child: waitpid: WTERMSIG SIGKILL");
        close(p[0]);
        close(p[1]);
    }
    sigprocmask(SIG_SETMASK, &orig, NULL);

    /* --- wait4 interrupted, then restarted --- */
    {
        int p[2];
        if (pipe2(p, O_CLOEXEC) != 0)
            return 1;
        pid = spawn("cat", NULL, p[0], -1, 0);
        close(p[0]);
        set_simple(SIGALRM, on_alrm, 0);
        alrm_count = 0;
        arm_ms(100);
        CHECK_ERR(waitpid(pid, &st, 0), EINTR, "waitpid on a blocked child, SIGALRM without SA_RESTART");
        set_simple(SIGALRM, on_alrm, SA_RESTART);
        close_on_alrm = p[1]; /* the handler closes cat's stdin: cat exits */
        arm_ms(100);
        pid_t r = waitpid(pid, &st, 0);
        check(r == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0 && alrm_count == 2,
              "waitpid restarted after SA_RESTART handler; child exited 0");
        start_watchdog();
    }

    /* --- SIGCHLD ignored: automatic reaping --- */
    set_simple(SIGCHLD, SIG_IGN, 0);
    pid = spawn("exit_code", "3", -1, -1, 0);
    CHECK_ERR(waitpid(-1, &st, 0), ECHILD, "SIGCHLD SIG_IGN: waitpid(-1) after the child exits");
    CHECK_ERR(kill(pid, 0), ESRCH, "SIGCHLD SIG_IGN: the child is gone (kill 0)");

    /* --- SA_NOCLDWAIT with a handler: reaped, handler still runs --- */
    set_chld(SA_NOCLDWAIT | SA_RESTART, on_chld);
    chld_count = 0;
    pid = spawn("exit_code", "4", -1, -1, 0);
    CHECK_ERR(waitpid(-1, &st, 0), ECHILD, "SA_NOCLDWAIT: waitpid(-1) after the child exits");
    check(chld_count == 1 && chld_status == 4, "SA_NOCLDWAIT: SIGCHLD handler ran (si_status 4)");
    set_chld(SA_RESTART, on_chld);

    /* --- zombie, reaped and nonexistent pids --- */
    {
        siginfo_t si;
        pid = spawn("exit_code", "7", -1, -1, 0);
        memset(&si, 0, sizeof si);
        check(waitid(P_PID, pid, &si, WEXITED | WNOWAIT) == 0 && si.si_pid == pid && si.si_status == 7,
              "waitid WNOWAIT: child exited 7, still a zombie");
        check(kill(pid, 0) == 0, "kill(zombie, 0) == 0");
        check(kill(pid, SIGTERM) == 0, "kill(zombie, SIGTERM) == 0");
        check(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 7,
              "zombie reaped: exit status 7 (SIGTERM had no effect)");
        CHECK_ERR(kill(pid, 0), ESRCH, "kill(reaped pid, 0)");
        CHECK_ERR(kill(0x3fffffff, SIGTERM), ESRCH, "kill(nonexistent pid)");
        CHECK_ERR(kill(-0x3fffffff, SIGTERM), ESRCH, "kill(-nonexistent pgid)");
        check(kill(getpid(), 0) == 0, "kill(self, 0) == 0");
        CHECK_ERR(kill(getpid(), -1), EINVAL, "kill(self, -1)");
    }

    /* --- kill(-pgid): three cats in their own process group --- */
    {
        int p[2];
        pid_t kids[3];
        if (pipe2(p, O_CLOEXEC) != 0)
            return 1;
        kids[0] = spawn("cat", NULL, p[0], 0, 0);
        kids[1] = spawn("cat", NULL, p[0], kids[0], 0);
        kids[2] = spawn("cat", NULL, p[0], kids[0], 0);
        check(getpgid(kids[0]) == kids[0] && getpgid(kids[1]) == kids[0] && getpgid(kids[2]) == kids[0],
              "3 children in a new process group");
        check(kill(-kids[0], SIGTERM) == 0, "kill(-pgid, SIGTERM)");
        int good = 0;
        for (int i = 0; i < 3; i++)
            if (waitpid(kids[i], &st, 0) == kids[i] && WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM)
                good++;
        check(good == 3, "kill(-pgid): all 3 children died of SIGTERM");
        CHECK_ERR(kill(-kids[0], SIGTERM), ESRCH, "kill(-pgid) of an empty group");
        close(p[0]);
        close(p[1]);
    }

    /* --- kill(0): own process group; the parent ignores SIGTERM --- */
    setpgid(0, 0); /* fails harmlessly (EPERM) if already a session leader */
    if (getpgrp() != getpid()) {
        printf("FAIL: could not become a process group leader; kill(0) skipped\n");
        check_failures++;
    } else {
        int p[2];
        pid_t kids[2];
        if (pipe2(p, O_CLOEXEC) != 0)
            return 1;
        set_simple(SIGTERM, SIG_IGN, 0);
        kids[0] = spawn("cat", NULL, p[0], -1, 1);
        kids[1] = spawn("cat", NULL, p[0], -1, 1);
        check(getpgid(kids[0]) == getpid() && getpgid(kids[1]) == getpid(),
              "2 children in the parent's process group");
        check(kill(0, SIGTERM) == 0, "kill(0, SIGTERM) with SIGTERM ignored in the parent");
        int good = 0;
        for (int i = 0; i < 2; i++)
            if (waitpid(kids[i], &st, 0) == kids[i] && WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM)
                good++;
        check(good == 2, "kill(0): both children died of SIGTERM, the parent lives");
        set_simple(SIGTERM, SIG_DFL, 0);
        close(p[0]);
        close(p[1]);
    }

    if (check_failures) {
        printf("FAIL: %d check(s) failed\n", check_failures);
        return 1;
    }
    printf("all ok\n");
    return 0;
}
