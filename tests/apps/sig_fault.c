/* sig_fault.c -- CPU faults delivered to user handlers (SA_SIGINFO):
 * NULL write -> SIGSEGV (si_addr 0, SEGV_MAPERR), twice in a row, leaving by
 * siglongjmp; write to a read-only page -> SEGV_ACCERR at that address;
 * non-canonical address -> SIGSEGV (SI_KERNEL); integer division by zero ->
 * SIGFPE (FPE_INTDIV); ud2 -> SIGILL (ILL_ILLOPN, si_addr and uc RIP at the
 * instruction), resumed by advancing RIP in the ucontext; int3 -> SIGTRAP;
 * misaligned load with EFLAGS.AC -> SIGBUS (BUS_ADRALN), resumed by clearing
 * AC in the ucontext; sigaltstack: initial SS_DISABLE, query returns the
 * stack, SS_ONSTACK and EPERM inside an SA_ONSTACK handler whose locals lie in
 * the alternate stack, stack overflow handled on it, ENOMEM/EINVAL, SS_DISABLE,
 * a new thread starts without one.
 * Args: none. Prints "ok ..." lines, then "all ok" (exit 0) or
 * "FAIL: ..." lines (exit 1). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>
#include "errname.h"

#include "check.h"

static sigjmp_buf env;
static volatile sig_atomic_t hits, h_signo, h_code, h_errno_in;
static void *volatile h_addr;
static volatile uintptr_t h_local, h_rip;
static volatile int h_ss_flags, h_ss_eperm;

/* SIGSEGV/SIGFPE: record, then leave by siglongjmp. */
static void jump_handler(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    volatile char local = 0;
    stack_t ss;
    hits++;
    h_signo = si->si_signo;
    h_code = si->si_code;
    h_addr = si->si_addr;
    h_rip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    h_local = (uintptr_t)&local;
    h_ss_flags = -1;
    if (sigaltstack(NULL, &ss) == 0)
        h_ss_flags = ss.ss_flags;
    /* Changing the alternate stack while running on it is EPERM. */
    if (ss.ss_flags & SS_ONSTACK) {
        stack_t other = ss;
        other.ss_flags = 0;
        h_ss_eperm = sigaltstack(&other, NULL) == -1 && errno == EPERM;
    }
    siglongjmp(env, 1);
}

/* SIGILL/SIGTRAP/SIGBUS: record, then resume by editing the ucontext. */
static void resume_handler(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    hits++;
    h_signo = si->si_signo;
    h_code = si->si_code;
    h_addr = si->si_addr;
    h_rip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    if (sig == SIGILL)
        uc->uc_mcontext.gregs[REG_RIP] += 2; /* skip ud2 */
    if (sig == SIGBUS) {
        if (hits >= 3) /* AC not cleared by the last return: give up */
            siglongjmp(env, 1);
        uc->uc_mcontext.gregs[REG_EFL] &= ~(1L << 18); /* clear AC, retry */
    }
}

static void set_handler(int sig, void (*h)(int, siginfo_t *, void *), int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = h;
    sa.sa_flags = SA_SIGINFO | flags;
    sigemptyset(&sa.sa_mask);
    if (sigaction(sig, &sa, NULL) != 0)
        printf("FAIL: sigaction(%d)\n", sig);
}

static void reset(void)
{
    hits = 0;
    h_signo = h_code = -1;
    h_addr = (void *)1;
    h_rip = h_local = 0;
}

extern char sig_fault_ud2[], sig_fault_int3_end[];

__attribute__((noinline)) static void do_ud2(void)
{
    __asm__ volatile(".globl sig_fault_ud2\n.hidden sig_fault_ud2\n"
                     "sig_fault_ud2: ud2" ::: "memory");
}

__attribute__((noinline)) static void do_int3(void)
{
    __asm__ volatile("int3\n.globl sig_fault_int3_end\n.hidden sig_fault_int3_end\n"
                     "sig_fault_int3_end:" ::: "memory");
}

/* A 4-byte load from a misaligned address with EFLAGS.AC set. */
__attribute__((noinline)) static int misaligned_load(const char *p)
{
    int v;
    __asm__ volatile("pushf\n"
                     "orl $0x40000, (%%rsp)\n"
                     "popf\n"
                     "movl (%1), %0\n"
                     "pushf\n"
                     "andl $~0x40000, (%%rsp)\n"
                     "popf\n"
                     : "=r"(v)
                     : "r"(p)
                     : "memory", "cc");
    return v;
}

static volatile int keep_going = 1;

static int recurse(volatile char *prev, int n)
{
    volatile char frame[1024];
    frame[0] = (char)n;
    frame[1023] = prev ? prev[0] : 0;
    if (!keep_going)
        return frame[0];
    return recurse(frame, n + 1) + frame[1];
}

static void *thread_altstack(void *arg)
{
    stack_t ss;
    memset(&ss, 0, sizeof ss);
    if (sigaltstack(NULL, &ss) != 0)
        return (void *)-1L;
    return (void *)(long)ss.ss_flags;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* --- SIGSEGV from a NULL write, twice --- */
    set_handler(SIGSEGV, jump_handler, 0);
    for (int round = 1; round <= 2; round++) {
        reset();
        if (sigsetjmp(env, 1) == 0) {
            *(volatile int *)0 = 1;
            printf("FAIL: NULL write %d did not fault\n", round);
            check_failures++;
        } else {
            check(hits == 1 && h_signo == SIGSEGV, "NULL write %d: SIGSEGV handler ran", round);
            check(h_addr == NULL, "NULL write %d: si_addr == 0", round);
            check(h_code == SEGV_MAPERR, "NULL write %d: si_code == SEGV_MAPERR", round);
        }
    }
    {
        sigset_t cur;
        sigprocmask(SIG_BLOCK, NULL, &cur);
        check(!sigismember(&cur, SIGSEGV), "siglongjmp restored the mask (SIGSEGV unblocked)");
    }

    /* --- SIGSEGV from a write to a read-only page --- */
    char *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check(ro != MAP_FAILED, "mmap PROT_READ");
    if (ro != MAP_FAILED) {
        reset();
        if (sigsetjmp(env, 1) == 0) {
            ((volatile char *)ro)[8] = 1;
            printf("FAIL: write to read-only page did not fault\n");
            check_failures++;
        } else {
            check(h_signo == SIGSEGV && h_code == SEGV_ACCERR, "read-only page: SIGSEGV SEGV_ACCERR");
            check(h_addr == ro + 8, "read-only page: si_addr is the written byte");
        }
    }

    /* --- SIGSEGV from a non-canonical address (general protection) --- */
    reset();
    if (sigsetjmp(env, 1) == 0) {
        *(volatile int *)0x8000000000000000UL = 1;
        printf("FAIL: non-canonical write did not fault\n");
        check_failures++;
    } else {
        check(h_signo == SIGSEGV && h_code == SI_KERNEL && h_addr == NULL,
              "non-canonical address: SIGSEGV, SI_KERNEL, si_addr 0");
    }

    /* --- SIGFPE from integer division by zero --- */
    set_handler(SIGFPE, jump_handler, 0);
    reset();
    if (sigsetjmp(env, 1) == 0) {
        volatile int a = 1, b = 0;
        volatile int c = a / b;
        (void)c;
        printf("FAIL: division by zero did not fault\n");
        check_failures++;
    } else {
        check(hits == 1 && h_signo == SIGFPE, "divide by zero: SIGFPE handler ran");
        check(h_code == FPE_INTDIV, "divide by zero: si_code == FPE_INTDIV");
        check(h_addr == (void *)h_rip, "divide by zero: si_addr == uc RIP");
    }

    /* --- SIGILL from ud2, resumed by advancing RIP --- */
    set_handler(SIGILL, resume_handler, 0);
    reset();
    do_ud2();
    check(hits == 1 && h_signo == SIGILL, "ud2: SIGILL handler ran and execution resumed");
    check(h_code == ILL_ILLOPN, "ud2: si_code == ILL_ILLOPN");
    check(h_addr == sig_fault_ud2 && h_rip == (uintptr_t)sig_fault_ud2,
          "ud2: si_addr and uc RIP are the ud2 instruction");

    /* --- SIGTRAP from int3 --- */
    set_handler(SIGTRAP, resume_handler, 0);
    reset();
    do_int3();
    check(hits == 1 && h_signo == SIGTRAP, "int3: SIGTRAP handler ran and execution resumed");
    check(h_code == SI_KERNEL, "int3: si_code == SI_KERNEL");
    check(h_rip == (uintptr_t)sig_fault_int3_end, "int3: uc RIP is after the int3");

    /* --- SIGBUS from a misaligned load with alignment checking --- */
    set_handler(SIGBUS, resume_handler, 0);
    reset();
    {
        static char buf[16] __attribute__((aligned(16))) = {1, 2, 3, 4, 5, 6, 7, 8};
        volatile int v = 0, jumped = 0;
        if (sigsetjmp(env, 1) == 0) {
            v = misaligned_load(buf + 1);
        } else {
            __asm__ volatile("pushf\nandl $~0x40000, (%%rsp)\npopf" ::: "memory", "cc");
            jumped = 1;
        }
        check(hits >= 1 && h_signo == SIGBUS, "EFLAGS.AC misaligned load: SIGBUS handler ran");
        check(h_code == BUS_ADRALN, "misaligned load: si_code == BUS_ADRALN");
        int want;
        memcpy(&want, buf + 1, 4);
        check(!jumped && hits == 1 && v == want,
              "misaligned load: resumed once the handler cleared AC in uc_mcontext; right value");
    }

    /* --- sigaltstack --- */
    stack_t ss, q;
    memset(&q, 0, sizeof q);
    check(sigaltstack(NULL, &q) == 0 && q.ss_flags == SS_DISABLE, "initial sigaltstack: SS_DISABLE");
    size_t alt_size = 256 * 1024;
    char *alt = malloc(alt_size);
    ss.ss_sp = alt;
    ss.ss_size = alt_size;
    ss.ss_flags = 0;
    check(sigaltstack(&ss, NULL) == 0, "sigaltstack set");
    memset(&q, 0, sizeof q);
    check(sigaltstack(NULL, &q) == 0 && q.ss_sp == alt && q.ss_size == alt_size && q.ss_flags == 0,
          "sigaltstack query returns the stack");

    /* Without SA_ONSTACK the handler runs on the normal stack. */
    set_handler(SIGSEGV, jump_handler, 0);
    reset();
    if (sigsetjmp(env, 1) == 0)
        *(volatile int *)0 = 1;
    check(hits == 1 && !(h_local >= (uintptr_t)alt && h_local < (uintptr_t)alt + alt_size),
          "no SA_ONSTACK: handler not on the alternate stack");
    check(h_ss_flags == 0, "no SA_ONSTACK: sigaltstack in handler: flags 0");

    /* With SA_ONSTACK it runs on the alternate stack. */
    set_handler(SIGSEGV, jump_handler, SA_ONSTACK);
    reset();
    h_ss_eperm = 0;
    if (sigsetjmp(env, 1) == 0)
        *(volatile int *)0 = 1;
    check(hits == 1 && h_local >= (uintptr_t)alt && h_local < (uintptr_t)alt + alt_size,
          "SA_ONSTACK: handler's local variable lies in the alternate stack");
    check(h_ss_flags == SS_ONSTACK, "SA_ONSTACK: sigaltstack in handler reports SS_ONSTACK");
    check(h_ss_eperm == 1, "SA_ONSTACK: changing the stack in the handler: EPERM");
    memset(&q, 0, sizeof q);
    check(sigaltstack(NULL, &q) == 0 && q.ss_flags == 0, "after siglongjmp: not on the alternate stack");

    /* Stack overflow: only an alternate stack can run the handler. */
    reset();
    if (sigsetjmp(env, 1) == 0) {
        keep_going = 1;
        recurse(NULL, 0);
        printf("FAIL: recursion returned\n");
        check_failures++;
    } else {
        check(hits == 1 && h_signo == SIGSEGV, "stack overflow: SIGSEGV handler ran");
        check(h_local >= (uintptr_t)alt && h_local < (uintptr_t)alt + alt_size,
              "stack overflow: handler ran on the alternate stack");
    }

    /* Errors and SS_DISABLE. */
    ss.ss_size = 1024;
    CHECK_ERR(sigaltstack(&ss, NULL), ENOMEM, "sigaltstack with 1 KiB");
    ss.ss_size = alt_size;
    ss.ss_flags = 0x1234;
    CHECK_ERR(sigaltstack(&ss, NULL), EINVAL, "sigaltstack with bad flags");
    ss.ss_flags = SS_DISABLE;
    check(sigaltstack(&ss, NULL) == 0, "sigaltstack SS_DISABLE");
    memset(&q, 0, sizeof q);
    check(sigaltstack(NULL, &q) == 0 && q.ss_flags == SS_DISABLE, "query after SS_DISABLE: SS_DISABLE");

    /* A new thread has no alternate stack even though main had one. */
    ss.ss_flags = 0;
    sigaltstack(&ss, NULL);
    pthread_t t;
    void *res = NULL;
    check(pthread_create(&t, NULL, thread_altstack, NULL) == 0 && pthread_join(t, &res) == 0 &&
              (long)res == SS_DISABLE,
          "new thread: sigaltstack is SS_DISABLE");
    ss.ss_flags = SS_DISABLE;
    sigaltstack(&ss, NULL);

    if (check_failures) {
        printf("FAIL: %d check(s) failed\n", check_failures);
        return 1;
    }
    printf("all ok\n");
    return 0;
}
