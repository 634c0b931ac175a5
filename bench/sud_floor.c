/* sud_floor.c -- the lower bound on syscall cost for a LibOS built on Syscall
 * User Dispatch (SUD): every trapped syscall costs a SIGSYS delivery plus an
 * rt_sigreturn. Measures N (argv[1], default 200,000) raw `syscall`
 * instructions for getppid:
 *   1. natively (before SUD is enabled)      -> "native: X ns/call"
 *   2. trapped by SUD, handled by a SIGSYS handler that only sets RAX in the
 *      ucontext and returns                   -> "sud_floor: X ns/call"
 *
 * SUD facts this relies on:
 *  - the "allowed" range check uses the address AFTER the syscall instruction;
 *  - rt_sigreturn is itself a syscall, so the signal restorer must be allowed.
 *    We install SIGSYS with a raw rt_sigaction(SA_SIGINFO|SA_RESTORER) whose
 *    restorer is our own asm stub, and the allowed range is exactly that stub
 *    (including the byte after its `syscall`).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#ifndef PR_SET_SYSCALL_USER_DISPATCH
#define PR_SET_SYSCALL_USER_DISPATCH 59
#define PR_SYS_DISPATCH_ON 1
#define PR_SYS_DISPATCH_OFF 0
#endif
#define SELECTOR_ALLOW 0
#define SELECTOR_BLOCK 1
#define KSA_RESTORER 0x04000000
#define FAKE_RET 4242

/* Restorer: rt_sigreturn. The trailing int3 makes the byte after `syscall`
 * part of [sud_restorer, sud_restorer_end), the SUD-allowed range. */
extern char sud_restorer[], sud_restorer_end[];
__asm__(".text\n"
        ".balign 16\n"
        ".globl sud_restorer\n"
        "sud_restorer:\n"
        "    mov $15, %eax\n" /* SYS_rt_sigreturn */
        "    syscall\n"
        "    int3\n"
        ".globl sud_restorer_end\n"
        "sud_restorer_end:\n");

struct kernel_sigaction {
    void *handler;
    unsigned long flags;
    void *restorer;
    unsigned long mask;
};

static volatile char selector = SELECTOR_ALLOW;

static void on_sigsys(int sig, siginfo_t *si, void *ctx)
{
    ((ucontext_t *)ctx)->uc_mcontext.gregs[REG_RAX] = FAKE_RET;
}

static inline long raw_getppid(void)
{
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "0"((long)SYS_getppid) : "rcx", "r11", "memory");
    return ret;
}

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 200000;
    if (n <= 0)
        n = 1;

    /* 1. native */
    long ppid = raw_getppid();
    double t0 = now_ns();
    for (long i = 0; i < n; i++)
        raw_getppid();
    printf("native: %.1f ns/call\n", (now_ns() - t0) / n);

    /* 2. SUD */
    struct kernel_sigaction ksa = {
        .handler = (void *)on_sigsys,
        .flags = SA_SIGINFO | KSA_RESTORER,
        .restorer = sud_restorer,
        .mask = 0,
    };
    if (syscall(SYS_rt_sigaction, SIGSYS, &ksa, NULL, sizeof ksa.mask) != 0) {
        perror("rt_sigaction");
        return 1;
    }
    if (prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON, (unsigned long)sud_restorer,
              (unsigned long)(sud_restorer_end - sud_restorer), &selector) != 0) {
        perror("prctl(PR_SET_SYSCALL_USER_DISPATCH)");
        return 1;
    }

    selector = SELECTOR_BLOCK;
    long bad = 0;
    t0 = now_ns(); /* clock_gettime is a vDSO call, not a syscall */
    for (long i = 0; i < n; i++)
        bad += raw_getppid() != FAKE_RET;
    double t1 = now_ns();
    selector = SELECTOR_ALLOW;

    prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_OFF, 0, 0, 0);
    if (bad || raw_getppid() != ppid) {
        fprintf(stderr, "sud_floor: %ld calls were not trapped\n", bad);
        return 1;
    }
    printf("sud_floor: %.1f ns/call\n", (t1 - t0) / n);
    return 0;
}
