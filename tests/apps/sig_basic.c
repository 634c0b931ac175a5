/* sig_basic.c -- signal dispositions, masks and pending sets in one thread:
 * siginfo of raise() (SI_TKILL) vs kill(getpid()) (SI_USER); the handled
 * signal and sa_mask are blocked while the handler runs; SA_NODEFER nesting vs
 * deferral; SA_RESETHAND; sigaction queries; blocking, sigpending and delivery
 * on unblock; standard signals coalesce, real-time ones queue; lowest number
 * first; uc_sigmask edited in a handler takes effect on return; SIG_IGN and
 * ignored-by-default signals (pending ones discarded); invalid arguments.
 * Args: none. Prints "ok ..." lines, then "all ok" (exit 0) or
 * "FAIL: ..." lines (exit 1). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>
#include "errname.h"

#include "check.h"

/* What the handler saw, for the last delivery. */
static volatile sig_atomic_t count, depth, max_depth, reraise;
static volatile sig_atomic_t last_signo, last_code, last_pid, last_uid;
static volatile sig_atomic_t self_blocked, usr2_blocked, uc_had_self;
static volatile sig_atomic_t order[8], norder;
static volatile sig_atomic_t rt_count;
static volatile sig_atomic_t edit_uc_mask;

static void handler(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    sigset_t cur;
    count++;
    depth++;
    if (depth > max_depth)
        max_depth = depth;
    last_signo = si->si_signo;
    last_code = si->si_code;
    last_pid = si->si_pid;
    last_uid = si->si_uid;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    self_blocked = sigismember(&cur, sig);
    usr2_blocked = sigismember(&cur, SIGUSR2);
    uc_had_self = sigismember(&uc->uc_sigmask, sig);
    if (edit_uc_mask) {
        edit_uc_mask = 0;
        sigaddset(&uc->uc_sigmask, SIGUSR2);
    }
    if (norder < 8)
        order[norder++] = sig;
    if (reraise) {
        reraise = 0;
        raise(sig);
    }
    depth--;
}

static void rt_handler(int sig)
{
    rt_count++;
}

static int install(int sig, int flags, int also_block)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO | flags;
    sigemptyset(&sa.sa_mask);
    if (also_block)
        sigaddset(&sa.sa_mask, also_block);
    return sigaction(sig, &sa, NULL);
}

static void reset_counts(void)
{
    count = depth = max_depth = reraise = norder = 0;
    last_signo = last_code = last_pid = last_uid = -1;
}

static int is_pending(int sig)
{
    sigset_t p;
    sigemptyset(&p);
    if (sigpending(&p) != 0)
        return -1;
    return sigismember(&p, sig);
}

static int is_blocked(int sig)
{
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    return sigismember(&cur, sig);
}

static void block(int sig, int how)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    sigprocmask(how, &s, NULL);
}

int main(void)
{
    struct sigaction sa, old;
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* --- siginfo of raise() and kill() --- */
    check(install(SIGUSR1, 0, SIGUSR2) == 0, "sigaction SIGUSR1 SA_SIGINFO");
    reset_counts();
    check(raise(SIGUSR1) == 0 && count == 1, "raise: handler ran once before raise returned");
    check(last_signo == SIGUSR1, "raise: si_signo == SIGUSR1");
    check(last_code == SI_TKILL, "raise: si_code == SI_TKILL");
    check(last_pid == getpid(), "raise: si_pid == getpid()");
    check(last_uid == (sig_atomic_t)getuid(), "raise: si_uid == getuid()");
    check(self_blocked == 1, "handler: the handled signal is blocked inside");
    check(usr2_blocked == 1, "handler: sa_mask (SIGUSR2) is blocked inside");
    check(uc_had_self == 0, "handler: uc_sigmask is the mask before delivery");
    check(!is_blocked(SIGUSR1) && !is_blocked(SIGUSR2), "mask restored after the handler");

    reset_counts();
    check(kill(getpid(), SIGUSR1) == 0 && count == 1, "kill(getpid()): handler ran before kill returned");
    check(last_code == SI_USER, "kill: si_code == SI_USER");
    check(last_pid == getpid(), "kill: si_pid == getpid()");

    /* --- sigaction query returns what was set --- */
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGTERM);
    sigaddset(&sa.sa_mask, SIGRTMIN + 3);
    check(sigaction(SIGUSR1, &sa, &old) == 0, "sigaction set with SA_RESTART|SA_ONSTACK");
    check(old.sa_sigaction == handler && (old.sa_flags & SA_SIGINFO) &&
              !(old.sa_flags & SA_RESTART) && sigismember(&old.sa_mask, SIGUSR2),
          "sigaction oldact is the previous action");
    memset(&old, 0, sizeof old);
    check(sigaction(SIGUSR1, NULL, &old) == 0, "sigaction query");
    check(old.sa_sigaction == handler, "query: same handler");
    check((old.sa_flags & (SA_SIGINFO | SA_RESTART | SA_ONSTACK | SA_NODEFER | SA_RESETHAND)) ==
              (SA_SIGINFO | SA_RESTART | SA_ONSTACK),
          "query: same flags");
    check(sigismember(&old.sa_mask, SIGTERM) == 1 && sigismember(&old.sa_mask, SIGRTMIN + 3) == 1 &&
              sigismember(&old.sa_mask, SIGUSR2) == 0 && sigismember(&old.sa_mask, SIGINT) == 0,
          "query: same sa_mask");
    check(sigaction(SIGHUP, NULL, &old) == 0 && old.sa_handler == SIG_DFL,
          "query of an untouched signal: SIG_DFL");
    check(signal(SIGUSR2, SIG_IGN) == SIG_DFL && signal(SIGUSR2, SIG_DFL) == SIG_IGN,
          "signal() returns the previous handler");

    /* --- SA_NODEFER: nested delivery inside the handler --- */
    install(SIGUSR1, SA_NODEFER, 0);
    reset_counts();
    reraise = 1;
    raise(SIGUSR1);
    check(count == 2 && max_depth == 2, "SA_NODEFER: re-raise nests (depth 2)");
    check(self_blocked == 0, "SA_NODEFER: the handled signal is not blocked inside");

    /* --- without SA_NODEFER: re-raise is deferred until the handler returns --- */
    install(SIGUSR1, 0, 0);
    reset_counts();
    reraise = 1;
    raise(SIGUSR1);
    check(count == 2 && max_depth == 1, "no SA_NODEFER: re-raise deferred (2 runs, depth 1)");

    /* --- SA_RESETHAND --- */
    install(SIGUSR1, SA_RESETHAND, 0);
    reset_counts();
    raise(SIGUSR1);
    check(count == 1, "SA_RESETHAND: handler ran");
    check(sigaction(SIGUSR1, NULL, &old) == 0 && old.sa_handler == SIG_DFL,
          "SA_RESETHAND: disposition is SIG_DFL afterwards");

    /* --- block, pending, unblock --- */
    install(SIGUSR1, 0, 0);
    reset_counts();
    block(SIGUSR1, SIG_BLOCK);
    kill(getpid(), SIGUSR1);
    check(count == 0, "blocked: handler not run");
    check(is_pending(SIGUSR1) == 1, "blocked: sigpending has SIGUSR1");
    check(is_pending(SIGUSR2) == 0, "blocked: sigpending lacks SIGUSR2");
    kill(getpid(), SIGUSR1);
    block(SIGUSR1, SIG_UNBLOCK);
    check(count == 1, "unblock: two kill()s delivered once (standard signals coalesce)");
    check(is_pending(SIGUSR1) == 0, "unblock: no longer pending");
    reset_counts();
    block(SIGUSR1, SIG_BLOCK);
    raise(SIGUSR1);
    raise(SIGUSR1);
    check(count == 0 && is_pending(SIGUSR1) == 1, "raise() while blocked: pending");
    block(SIGUSR1, SIG_UNBLOCK);
    check(count == 1, "unblock: two raise()s delivered once");
    reset_counts();
    block(SIGUSR1, SIG_BLOCK);
    kill(getpid(), SIGUSR1);
    raise(SIGUSR1);
    block(SIGUSR1, SIG_UNBLOCK);
    check(count == 2, "kill() + raise(): process and thread queues hold one each (2 runs)");

    /* --- real-time signals queue --- */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = rt_handler;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGRTMIN + 2, &sa, NULL);
    block(SIGRTMIN + 2, SIG_BLOCK);
    for (int i = 0; i < 3; i++)
        kill(getpid(), SIGRTMIN + 2);
    check(rt_count == 0 && is_pending(SIGRTMIN + 2) == 1, "real-time signal pending while blocked");
    block(SIGRTMIN + 2, SIG_UNBLOCK);
    check(rt_count == 3, "real-time signal queued: delivered 3 times");

    /* --- lowest number first (each handler blocks the other) --- */
    install(SIGUSR1, 0, SIGUSR2);
    install(SIGUSR2, 0, SIGUSR1);
    reset_counts();
    {
        sigset_t both, prev;
        sigemptyset(&both);
        sigaddset(&both, SIGUSR1);
        sigaddset(&both, SIGUSR2);
        sigprocmask(SIG_BLOCK, &both, &prev);
        raise(SIGUSR2);
        raise(SIGUSR1);
        sigprocmask(SIG_SETMASK, &prev, NULL);
    }
    check(norder == 2 && order[0] == SIGUSR1 && order[1] == SIGUSR2,
          "two pending signals: SIGUSR1 delivered before SIGUSR2");

    /* --- uc_sigmask edited in the handler is the mask after return --- */
    install(SIGUSR1, 0, 0);
    reset_counts();
    edit_uc_mask = 1;
    kill(getpid(), SIGUSR1);
    check(count == 1 && is_blocked(SIGUSR2) == 1 && is_blocked(SIGUSR1) == 0,
          "rt_sigreturn restores the edited uc_sigmask");
    block(SIGUSR2, SIG_UNBLOCK);

    /* --- SIG_IGN and ignored-by-default signals --- */
    signal(SIGUSR2, SIG_IGN);
    reset_counts();
    check(raise(SIGUSR2) == 0 && count == 0, "SIG_IGN: raise(SIGUSR2) does nothing");
    raise(SIGCHLD);
    raise(SIGURG);
    raise(SIGWINCH);
    check(1, "SIG_DFL SIGCHLD/SIGURG/SIGWINCH: ignored");
    block(SIGUSR2, SIG_BLOCK);
    raise(SIGUSR2);
    check(is_pending(SIGUSR2) == 1, "blocked and ignored: still pending (Linux)");
    block(SIGUSR2, SIG_UNBLOCK);
    check(is_pending(SIGUSR2) == 0 && count == 0, "unblocked ignored signal: discarded");

    install(SIGUSR2, 0, 0);
    block(SIGUSR2, SIG_BLOCK);
    raise(SIGUSR2);
    check(is_pending(SIGUSR2) == 1, "blocked with handler: pending");
    signal(SIGUSR2, SIG_IGN);
    check(is_pending(SIGUSR2) == 0, "setting SIG_IGN discards the pending signal");
    install(SIGUSR2, 0, 0);
    block(SIGUSR2, SIG_UNBLOCK);
    check(count == 0, "discarded signal never delivered");

    install(SIGWINCH, 0, 0);
    block(SIGWINCH, SIG_BLOCK);
    raise(SIGWINCH);
    check(is_pending(SIGWINCH) == 1, "blocked SIGWINCH with handler: pending");
    signal(SIGWINCH, SIG_DFL);
    check(is_pending(SIGWINCH) == 0, "SIG_DFL for ignored-by-default SIGWINCH discards it");
    block(SIGWINCH, SIG_UNBLOCK);

    /* --- SIGKILL/SIGSTOP cannot be caught or blocked --- */
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    CHECK_ERR(sigaction(SIGKILL, &sa, NULL), EINVAL, "sigaction(SIGKILL)");
    CHECK_ERR(sigaction(SIGSTOP, &sa, NULL), EINVAL, "sigaction(SIGSTOP)");
    CHECK_ERR(signal(SIGKILL, SIG_IGN) == SIG_ERR ? -1 : 0, EINVAL, "signal(SIGKILL, SIG_IGN)");
    check(sigaction(SIGKILL, NULL, &old) == 0 && old.sa_handler == SIG_DFL, "sigaction query of SIGKILL: SIG_DFL");
    {
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGKILL);
        sigaddset(&s, SIGSTOP);
        sigaddset(&s, SIGUSR1);
        sigprocmask(SIG_BLOCK, &s, NULL);
        check(is_blocked(SIGKILL) == 0 && is_blocked(SIGSTOP) == 0 && is_blocked(SIGUSR1) == 1,
              "blocking SIGKILL/SIGSTOP is silently ignored");
        sigprocmask(SIG_UNBLOCK, &s, NULL);
    }

    /* --- invalid arguments --- */
    CHECK_ERR(sigaction(0, &sa, NULL), EINVAL, "sigaction(0)");
    CHECK_ERR(sigaction(65, &sa, NULL), EINVAL, "sigaction(65)");
    CHECK_ERR(kill(getpid(), 65), EINVAL, "kill(getpid(), 65)");
    CHECK_ERR(raise(-1) ? -1 : 0, EINVAL, "raise(-1)");
    {
        unsigned long k[4];
        sigset_t s;
        sigemptyset(&s);
        CHECK_ERR(syscall(SYS_rt_sigaction, SIGUSR1, NULL, k, 16), EINVAL,
                  "rt_sigaction with sigsetsize 16");
        CHECK_ERR(syscall(SYS_rt_sigprocmask, 99, &s, NULL, 8), EINVAL,
                  "rt_sigprocmask with how 99");
        CHECK_ERR(syscall(SYS_rt_sigprocmask, SIG_BLOCK, &s, NULL, 4), EINVAL,
                  "rt_sigprocmask with sigsetsize 4");
    }
    check(kill(getpid(), 0) == 0, "kill(getpid(), 0) == 0");

    if (check_failures) {
        printf("FAIL: %d check(s) failed\n", check_failures);
        return 1;
    }
    printf("all ok\n");
    return 0;
}
