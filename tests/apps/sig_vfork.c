/* sig_vfork.c -- a signal that a vfork child sends its parent (suspended
 * until the child execs) is delivered as the parent returns from vfork,
 * before it runs another instruction of its own: the parent, spinning
 * without a syscall, finds its handler already ran. The parent's floating-
 * point control (rounding mode, MXCSR) is its own again when it resumes.
 * Then the same with posix_spawn, whose child exits at once (SIGCHLD,
 * handled at the latest when the parent next enters the kernel), and a
 * vfork child that execs a program that is not there (the parent resumes
 * with the child gone).
 * Args: <dir> (the test programs, for exit_code). Prints "ok ..." lines,
 * then "all ok" (exit 0) or "FAIL: ..." lines (exit 1). */
#define _GNU_SOURCE
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"

extern char **environ;

static volatile sig_atomic_t usr1, chld;

static void on_usr1(int sig) { usr1 = sig; }
static void on_chld(int sig) { chld = sig; }

/* Spins up to `n` rounds, without a syscall, until `*flag` is set;
 * returns the rounds it took. */
static long spin_until(volatile sig_atomic_t *flag, long n)
{
    long i = 0;
    while (!*flag && i < n)
        i++;
    return i;
}

/* Whether the x87 control word and MXCSR are `cw` and `mxcsr`. */
static int fp_control_kept(unsigned short cw, unsigned mxcsr)
{
    unsigned short cw_now;
    unsigned mxcsr_now;
    __asm__ volatile("fnstcw %0" : "=m"(cw_now));
    __asm__ volatile("stmxcsr %0" : "=m"(mxcsr_now));
    return cw_now == cw && mxcsr_now == mxcsr;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: sig_vfork DIR\n");
        return 2;
    }
    char prog[4096];
    snprintf(prog, sizeof prog, "%s/exit_code", argv[1]);
    signal(SIGUSR1, on_usr1);
    signal(SIGCHLD, on_chld);

    /* Rounding upwards (x87 and SSE) and flush-to-zero (MXCSR bit 15),
     * all the caller's to keep across calls. */
    unsigned short cw;
    __asm__ volatile("fnstcw %0" : "=m"(cw));
    cw = (cw & ~0x0c00) | 0x0800;
    __asm__ volatile("fldcw %0" : : "m"(cw));
    unsigned mxcsr;
    __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
    mxcsr = (mxcsr & ~0x6000u) | 0x4000u | (1u << 15);
    __asm__ volatile("ldmxcsr %0" : : "m"(mxcsr));
    for (int round = 0; round < 20; round++) {
        usr1 = 0;
        pid_t pid = vfork();
        if (pid == 0) {
            kill(getppid(), SIGUSR1);
            execl(prog, "exit_code", "3", (char *)NULL);
            _exit(127);
        }
        long spun = spin_until(&usr1, 400000000L);
        if (!fp_control_kept(cw, mxcsr)) {
            check(0, "vfork round %d: the parent's x87 control word and MXCSR", round);
            return check_done();
        }
        int status = 0;
        waitpid(pid, &status, 0);
        if (spun != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 3) {
            check(0, "vfork round %d: the child's signal before the parent runs on"
                  " (spun %ld, status %#x)", round, spun, status);
            return check_done();
        }
    }
    check(1, "a vfork child's signal is handled as its parent resumes, 20 times,"
             " with the parent's own floating-point control");

    for (int round = 0; round < 20; round++) {
        chld = 0;
        pid_t pid;
        char *args[] = {"exit_code", "5", NULL};
        if (posix_spawn(&pid, prog, NULL, NULL, args, environ) != 0) {
            check(0, "posix_spawn %s", prog);
            return check_done();
        }
        int status = 0;
        if (!fp_control_kept(cw, mxcsr)) {
            check(0, "posix_spawn round %d: the parent's x87 control word and MXCSR", round);
            return check_done();
        }
        if (waitpid(pid, &status, 0) != pid || WEXITSTATUS(status) != 5 || !chld) {
            check(0, "posix_spawn round %d: status %#x, SIGCHLD %d", round, status, chld);
            return check_done();
        }
    }
    check(1, "posix_spawn children exit with their status and SIGCHLD, 20 times");

    pid_t pid = vfork();
    if (pid == 0) {
        execl("/nonexistent/program", "x", (char *)NULL);
        _exit(42);
    }
    int status = 0;
    check(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 42,
          "a vfork child whose exec fails ends, its parent goes on");
    return check_done();
}
