/* sig_xstate.c -- signal delivery keeps the whole vector state (AVX's YMM
 * upper halves included) of the interrupted code, and the signal frame holds
 * it as Linux lays it out (UC_FP_XSTATE, FP_XSTATE_MAGIC1/2 around the XSAVE
 * area), where a handler may change it:
 *   sync:   100 signals raised by an inline `syscall` (tgkill) while
 *           ymm0-15 hold values; the handler clobbers every YMM register.
 *   async:  200 timer signals land in a loop that keeps values in ymm0-15.
 *   edit:   the handler writes xmm2 and ymm3's upper half into the frame;
 *           the interrupted code resumes with them.
 *   calls:  1000 inline getppid syscalls keep ymm0-15 and, where the CPU
 *           has AVX-512, zmm16-31 and k1-k7 (the LibOS's own code uses
 *           vector registers while it serves them); upper halves that were
 *           clean (XINUSE) before a syscall are clean after it, as on Linux
 *           (legacy SSE code pays for dirty ones on some CPUs). */
#define _GNU_SOURCE
#include <cpuid.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <ucontext.h>
#include <unistd.h>
#include "check.h"

#define UC_FP_XSTATE 1
#define MAGIC1 0x46505853u
#define MAGIC2 0x46505845u

static uint8_t pattern[16][32] __attribute__((aligned(32)));
static uint8_t after[16][32] __attribute__((aligned(32)));
static volatile int signals;
static volatile int bad_frames;
static volatile int edit_mode;
static unsigned avx_offset; /* of the YMM upper halves in the XSAVE area */

#define LOAD_YMM(src)                                                          \
    "vmovdqu 0(" src "), %%ymm0\n vmovdqu 32(" src "), %%ymm1\n"               \
    "vmovdqu 64(" src "), %%ymm2\n vmovdqu 96(" src "), %%ymm3\n"              \
    "vmovdqu 128(" src "), %%ymm4\n vmovdqu 160(" src "), %%ymm5\n"            \
    "vmovdqu 192(" src "), %%ymm6\n vmovdqu 224(" src "), %%ymm7\n"            \
    "vmovdqu 256(" src "), %%ymm8\n vmovdqu 288(" src "), %%ymm9\n"            \
    "vmovdqu 320(" src "), %%ymm10\n vmovdqu 352(" src "), %%ymm11\n"          \
    "vmovdqu 384(" src "), %%ymm12\n vmovdqu 416(" src "), %%ymm13\n"          \
    "vmovdqu 448(" src "), %%ymm14\n vmovdqu 480(" src "), %%ymm15\n"
#define STORE_YMM(dst)                                                         \
    "vmovdqu %%ymm0, 0(" dst ")\n vmovdqu %%ymm1, 32(" dst ")\n"               \
    "vmovdqu %%ymm2, 64(" dst ")\n vmovdqu %%ymm3, 96(" dst ")\n"              \
    "vmovdqu %%ymm4, 128(" dst ")\n vmovdqu %%ymm5, 160(" dst ")\n"            \
    "vmovdqu %%ymm6, 192(" dst ")\n vmovdqu %%ymm7, 224(" dst ")\n"            \
    "vmovdqu %%ymm8, 256(" dst ")\n vmovdqu %%ymm9, 288(" dst ")\n"            \
    "vmovdqu %%ymm10, 320(" dst ")\n vmovdqu %%ymm11, 352(" dst ")\n"          \
    "vmovdqu %%ymm12, 384(" dst ")\n vmovdqu %%ymm13, 416(" dst ")\n"          \
    "vmovdqu %%ymm14, 448(" dst ")\n vmovdqu %%ymm15, 480(" dst ")\n"
#define YMM_CLOBBERS                                                           \
    "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",    \
        "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15"

__attribute__((target("avx"))) static void clobber_ymm(void)
{
    __asm__ volatile("vpcmpeqd %%ymm0, %%ymm0, %%ymm0\n"
                     "vmovdqa %%ymm0, %%ymm1\n vmovdqa %%ymm0, %%ymm2\n"
                     "vmovdqa %%ymm0, %%ymm3\n vmovdqa %%ymm0, %%ymm4\n"
                     "vmovdqa %%ymm0, %%ymm5\n vmovdqa %%ymm0, %%ymm6\n"
                     "vmovdqa %%ymm0, %%ymm7\n vmovdqa %%ymm0, %%ymm8\n"
                     "vmovdqa %%ymm0, %%ymm9\n vmovdqa %%ymm0, %%ymm10\n"
                     "vmovdqa %%ymm0, %%ymm11\n vmovdqa %%ymm0, %%ymm12\n"
                     "vmovdqa %%ymm0, %%ymm13\n vmovdqa %%ymm0, %%ymm14\n"
                     "vmovdqa %%ymm0, %%ymm15\n" ::: YMM_CLOBBERS);
}

static void on_signal(int sig, siginfo_t *si, void *ctx)
{
    ucontext_t *uc = ctx;
    uint8_t *fp = (uint8_t *)uc->uc_mcontext.fpregs;
    uint32_t magic1, size, magic2 = 0;
    if (!fp || !(uc->uc_flags & UC_FP_XSTATE)) {
        bad_frames++;
    } else {
        memcpy(&magic1, fp + 464, 4);
        memcpy(&size, fp + 464 + 16, 4);
        if (size >= 576 && size < 65536)
            memcpy(&magic2, fp + size, 4);
        if (magic1 != MAGIC1 || magic2 != MAGIC2)
            bad_frames++;
        else if (edit_mode) {
            memset(fp + 160 + 2 * 16, 0x5a, 16);             /* xmm2 */
            memset(fp + avx_offset + 3 * 16, 0xa5, 16);      /* ymm3 high */
        }
    }
    clobber_ymm();
    signals++;
}

static int same_as_pattern(void)
{
    return memcmp(pattern, after, sizeof pattern) == 0;
}

__attribute__((target("avx"))) static int sync_round(void)
{
    long pid = getpid(), tid = syscall(SYS_gettid);
    long ret = SYS_tgkill;
    __asm__ volatile(LOAD_YMM("%[src]") "syscall\n" STORE_YMM("%[dst]")
                     : "+a"(ret)
                     : "D"(pid), "S"(tid), "d"((long)SIGUSR1),
                       [src] "r"(pattern), [dst] "r"(after)
                     : "rcx", "r11", "memory", YMM_CLOBBERS);
    return ret == 0 && same_as_pattern();
}

__attribute__((target("avx"))) static int async_round(void)
{
    int seen = signals;
    __asm__ volatile(LOAD_YMM("%[src]") "1: pause\n cmpl %[seen], (%[cnt])\n je 1b\n"
                     STORE_YMM("%[dst]")
                     :
                     : [src] "r"(pattern), [dst] "r"(after), [seen] "r"(seen),
                       [cnt] "r"(&signals)
                     : "memory", "cc", YMM_CLOBBERS);
    return same_as_pattern();
}

__attribute__((target("avx"))) static int call_round(void)
{
    long ret = SYS_getppid;
    __asm__ volatile(LOAD_YMM("%[src]") "syscall\n" STORE_YMM("%[dst]")
                     : "+a"(ret)
                     : [src] "r"(pattern), [dst] "r"(after)
                     : "rcx", "r11", "memory", YMM_CLOBBERS);
    return ret == getppid() && same_as_pattern();
}

/* Whether the AVX upper halves stay in their initial state across 1000
 * inline getppid calls made right after VZEROUPPER. */
__attribute__((target("avx"))) static int clean_uppers_stay_clean(void)
{
    int clean = 0;
    for (int i = 0; i < 1000; i++) {
        long ret = SYS_getppid;
        unsigned lo, hi;
        __asm__ volatile("vzeroupper\n syscall\n"
                         : "+a"(ret)
                         :
                         : "rcx", "r11", "memory", YMM_CLOBBERS);
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(1));
        clean += (lo & 4) == 0;
    }
    return clean;
}

static uint8_t zpattern[16][64] __attribute__((aligned(64)));
static uint8_t zafter[16][64] __attribute__((aligned(64)));
static uint64_t kpattern[7], kafter[7];

#define ZMM_HI_CLOBBERS                                                        \
    "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23",    \
        "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31"

__attribute__((target("avx512f,avx512bw"))) static int zmm_call_round(void)
{
    long ret = SYS_getppid;
    __asm__ volatile(
        "vmovdqu64 0(%[z]), %%zmm16\n vmovdqu64 64(%[z]), %%zmm17\n"
        "vmovdqu64 128(%[z]), %%zmm18\n vmovdqu64 192(%[z]), %%zmm19\n"
        "vmovdqu64 256(%[z]), %%zmm20\n vmovdqu64 320(%[z]), %%zmm21\n"
        "vmovdqu64 384(%[z]), %%zmm22\n vmovdqu64 448(%[z]), %%zmm23\n"
        "vmovdqu64 512(%[z]), %%zmm24\n vmovdqu64 576(%[z]), %%zmm25\n"
        "vmovdqu64 640(%[z]), %%zmm26\n vmovdqu64 704(%[z]), %%zmm27\n"
        "vmovdqu64 768(%[z]), %%zmm28\n vmovdqu64 832(%[z]), %%zmm29\n"
        "vmovdqu64 896(%[z]), %%zmm30\n vmovdqu64 960(%[z]), %%zmm31\n"
        "kmovq 0(%[k]), %%k1\n kmovq 8(%[k]), %%k2\n kmovq 16(%[k]), %%k3\n"
        "kmovq 24(%[k]), %%k4\n kmovq 32(%[k]), %%k5\n kmovq 40(%[k]), %%k6\n"
        "kmovq 48(%[k]), %%k7\n"
        "syscall\n"
        "vmovdqu64 %%zmm16, 0(%[zo])\n vmovdqu64 %%zmm17, 64(%[zo])\n"
        "vmovdqu64 %%zmm18, 128(%[zo])\n vmovdqu64 %%zmm19, 192(%[zo])\n"
        "vmovdqu64 %%zmm20, 256(%[zo])\n vmovdqu64 %%zmm21, 320(%[zo])\n"
        "vmovdqu64 %%zmm22, 384(%[zo])\n vmovdqu64 %%zmm23, 448(%[zo])\n"
        "vmovdqu64 %%zmm24, 512(%[zo])\n vmovdqu64 %%zmm25, 576(%[zo])\n"
        "vmovdqu64 %%zmm26, 640(%[zo])\n vmovdqu64 %%zmm27, 704(%[zo])\n"
        "vmovdqu64 %%zmm28, 768(%[zo])\n vmovdqu64 %%zmm29, 832(%[zo])\n"
        "vmovdqu64 %%zmm30, 896(%[zo])\n vmovdqu64 %%zmm31, 960(%[zo])\n"
        "kmovq %%k1, 0(%[ko])\n kmovq %%k2, 8(%[ko])\n kmovq %%k3, 16(%[ko])\n"
        "kmovq %%k4, 24(%[ko])\n kmovq %%k5, 32(%[ko])\n kmovq %%k6, 40(%[ko])\n"
        "kmovq %%k7, 48(%[ko])\n"
        : "+a"(ret)
        : [z] "r"(zpattern), [zo] "r"(zafter), [k] "r"(kpattern), [ko] "r"(kafter)
        : "rcx", "r11", "memory", ZMM_HI_CLOBBERS, "k1", "k2", "k3", "k4", "k5", "k6", "k7");
    return ret == getppid() && !memcmp(zpattern, zafter, sizeof zpattern) &&
           !memcmp(kpattern, kafter, sizeof kpattern);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "sync";
    unsigned a, b, c, d;
    if (!__builtin_cpu_supports("avx") || !__get_cpuid_count(0xd, 2, &a, &b, &c, &d)) {
        printf("no AVX: nothing to check\n");
        return 0;
    }
    avx_offset = b;
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 32; j++)
            pattern[i][j] = (uint8_t)(i * 32 + j + 1);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGALRM, &sa, NULL);

    int good = 0;
    if (!strcmp(mode, "sync")) {
        for (int i = 0; i < 100; i++)
            good += sync_round();
        check_eq(good, 100, "YMM registers kept across 100 signals at a syscall");
    } else if (!strcmp(mode, "async")) {
        struct itimerval it = {{0, 500}, {0, 500}};
        setitimer(ITIMER_REAL, &it, NULL);
        for (int i = 0; i < 200; i++)
            good += async_round();
        struct itimerval off = {{0, 0}, {0, 0}};
        setitimer(ITIMER_REAL, &off, NULL);
        check_eq(good, 200, "YMM registers kept across 200 timer signals");
    } else if (!strcmp(mode, "calls")) {
        for (int i = 0; i < 1000; i++)
            good += call_round();
        check_eq(good, 1000, "YMM registers kept across 1000 syscalls");
        unsigned a1, b1, c1, d1;
        if (__get_cpuid_count(0xd, 1, &a1, &b1, &c1, &d1) && (a1 & 4))
            check_eq(clean_uppers_stay_clean(), 1000,
                     "clean YMM upper halves stay clean across 1000 syscalls");
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")) {
            for (int i = 0; i < 16; i++)
                for (int j = 0; j < 64; j++)
                    zpattern[i][j] = (uint8_t)(0x80 + i * 7 + j);
            for (int i = 0; i < 7; i++)
                kpattern[i] = 0x0123456789abcdefULL * (uint64_t)(i + 1);
            good = 0;
            for (int i = 0; i < 1000; i++)
                good += zmm_call_round();
            check_eq(good, 1000, "ZMM16-31 and k1-k7 kept across 1000 syscalls");
        }
    } else if (!strcmp(mode, "edit")) {
        edit_mode = 1;
        sync_round();
        uint8_t want2[32], want3[32];
        memset(want2, 0x5a, 16);
        memcpy(want2 + 16, pattern[2] + 16, 16);
        memcpy(want3, pattern[3], 16);
        memset(want3 + 16, 0xa5, 16);
        check(!memcmp(after[2], want2, 32), "xmm2 written in the frame is restored");
        check(!memcmp(after[3], want3, 32), "ymm3's upper half written in the frame is restored");
        check(!memcmp(after[4], pattern[4], 32), "other registers as they were");
    }
    check_eq(bad_frames, 0, "every frame has the XSAVE layout");
    return check_done();
}
