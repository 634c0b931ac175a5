/* cpuid.c -- `cpuid` answers as the CPU does (the LibOS serves it, for a
 * program started before, from a fault the first time a site runs it and
 * through a rewritten site after):
 *   the answers for common leaves (APIC IDs, which depend on the CPU that
 *   answers, masked out); the same answers 2000 times from one site, with
 *   varying sub-leaves; every other register, the flags and the red zone
 *   below the stack pointer kept, and the upper halves of RAX-RDX zeroed;
 *   4 threads racing through one site.
 * Args: none, or "again": run itself (a second start) and exit as it does.
 * Prints the answers, "ok ..." lines, then "all ok" (exit 0) or
 * "FAIL: ..." (exit 1). */
#include <pthread.h>
#include <spawn.h>
#include <sys/wait.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "check.h"

struct regs {
    uint32_t a, b, c, d;
};

static struct regs ask(uint32_t leaf, uint32_t sub)
{
    struct regs r;
    __asm__ volatile("cpuid" : "=a"(r.a), "=b"(r.b), "=c"(r.c), "=d"(r.d) : "a"(leaf), "c"(sub));
    return r;
}

/* Fields that name the CPU answering (APIC IDs) zeroed. */
static struct regs masked(uint32_t leaf, uint32_t sub)
{
    struct regs r = ask(leaf, sub);
    if (leaf == 1)
        r.b &= 0x00ffffff;
    if (leaf == 0xb || leaf == 0x1f)
        r.d = 0;
    if (leaf == 4)
        r.a &= ~0xfc000000u; /* cores per package: varies in some VMs */
    return r;
}

static void show(uint32_t leaf, uint32_t sub)
{
    struct regs r = masked(leaf, sub);
    printf("leaf %#x.%u: %08x %08x %08x %08x\n", leaf, sub, r.a, r.b, r.c, r.d);
}

/* What keeps_the_rest puts in and reads back. */
struct probe {
    uint64_t in[6];   /* RSI, RDI, R8, R9, R10, R11 before */
    uint64_t out[6];  /* and after */
    uint64_t zone[8]; /* the red zone after */
    uint64_t carry;   /* CF after (set before) */
};

/* RSI, RDI, R8-R11 and the flags across a cpuid, the 64 bytes of the red
 * zone below RSP, and the upper halves of RAX-RDX (zeroed by cpuid). The
 * stack pointer is lowered first, so that the red zone tested is not the
 * compiler's. */
__attribute__((noinline)) static int keeps_the_rest(void)
{
    struct probe p = { .in = { 0x1111111111111111, 0x2222222222222222, 0x3333333333333333,
                         0x4444444444444444, 0x5555555555555555, 0x6666666666666666 },
                       .out = { 0 } };
    uint64_t rax = 0xffffffff00000000ull, rbx, rcx = 0xffffffff00000000ull, rdx;
    __asm__ volatile(
        "sub $256, %%rsp\n"
        "mov 0(%[p]), %%rsi\n mov 8(%[p]), %%rdi\n mov 16(%[p]), %%r8\n"
        "mov 24(%[p]), %%r9\n mov 32(%[p]), %%r10\n mov 40(%[p]), %%r11\n"
        "movq $0x77, -8(%%rsp)\n movq $0x77, -16(%%rsp)\n movq $0x77, -24(%%rsp)\n"
        "movq $0x77, -32(%%rsp)\n movq $0x77, -40(%%rsp)\n movq $0x77, -48(%%rsp)\n"
        "movq $0x77, -56(%%rsp)\n movq $0x77, -64(%%rsp)\n"
        "stc\n cpuid\n setc 160(%[p])\n"
        "mov %%rsi, 48(%[p])\n mov %%rdi, 56(%[p])\n mov %%r8, 64(%[p])\n"
        "mov %%r9, 72(%[p])\n mov %%r10, 80(%[p])\n mov %%r11, 88(%[p])\n"
        "mov -8(%%rsp), %%rsi\n mov %%rsi, 96(%[p])\n mov -16(%%rsp), %%rsi\n mov %%rsi, 104(%[p])\n"
        "mov -24(%%rsp), %%rsi\n mov %%rsi, 112(%[p])\n mov -32(%%rsp), %%rsi\n mov %%rsi, 120(%[p])\n"
        "mov -40(%%rsp), %%rsi\n mov %%rsi, 128(%[p])\n mov -48(%%rsp), %%rsi\n mov %%rsi, 136(%[p])\n"
        "mov -56(%%rsp), %%rsi\n mov %%rsi, 144(%[p])\n mov -64(%%rsp), %%rsi\n mov %%rsi, 152(%[p])\n"
        "add $256, %%rsp\n"
        : "+a"(rax), "=&b"(rbx), "+c"(rcx), "=&d"(rdx)
        : [p] "r"(&p)
        : "rsi", "rdi", "r8", "r9", "r10", "r11", "memory", "cc");
    int ok = memcmp(p.in, p.out, sizeof p.in) == 0 && (p.carry & 0xff) == 1;
    for (int i = 0; i < 8; i++)
        ok &= p.zone[i] == 0x77;
    ok &= (rax >> 32) == 0 && (rbx >> 32) == 0 && (rcx >> 32) == 0 && (rdx >> 32) == 0;
    return ok;
}

static struct regs expected[4];

static int same_from_one_site(int rounds)
{
    int same = 0;
    for (int i = 0; i < rounds; i++) {
        uint32_t sub = i % 4;
        struct regs r = masked(4, sub);
        same += memcmp(&r, &expected[sub], sizeof r) == 0;
    }
    return same;
}

static void *racer(void *arg)
{
    (void)arg;
    return (void *)(long)same_from_one_site(1000);
}

extern char **environ;

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "again") == 0) {
        char *args[] = { argv[0], NULL };
        pid_t pid;
        int st;
        if (posix_spawn(&pid, "/proc/self/exe", NULL, NULL, args, environ) != 0 ||
            waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
            return 2;
        return WEXITSTATUS(st);
    }
    uint32_t max = ask(0, 0).a;
    show(0, 0);
    show(1, 0);
    if (max >= 7)
        show(7, 0);
    if (max >= 0xd) {
        show(0xd, 0);
        show(0xd, 1);
    }
    for (uint32_t sub = 0; sub < 4; sub++) {
        expected[sub] = masked(4, sub);
        show(4, sub);
    }
    show(0x80000000, 0);
    check_eq(same_from_one_site(2000), 2000, "the same answers 2000 times from one site");
    check(keeps_the_rest(), "other registers, flags and the red zone kept");
    check(keeps_the_rest(), "again, from the rewritten site");
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, racer, NULL);
    long all = 0;
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(t[i], &r);
        all += (long)r;
    }
    check_eq(all, 4000, "4 threads racing through one site get the same answers");
    return check_done();
}
