/* hardening.c -- CPU state that user code may set must not upset the LibOS.
 * argv[1] selects one case:
 *   gs: set GS base with wrgsbase and with arch_prctl(ARCH_SET_GS), then make
 *       syscalls; GS reads back as set.
 *   ac: set RFLAGS.AC (alignment checking) around a syscall, then clear it.
 *   tf: set RFLAGS.TF (single-step): the program dies of SIGTRAP (133). */
#define ARCH_SET_GS 0x1001
#define ARCH_GET_GS 0x1004
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static unsigned long rdgs(void)
{
    unsigned long v;
    __asm__ volatile("rdgsbase %0" : "=r"(v));
    return v;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (!strcmp(mode, "gs")) {
        __asm__ volatile("wrgsbase %0" ::"r"(0x12345000UL));
        write(1, "wrgsbase: syscall ok\n", 21);
        printf("gs after syscall: %s\n", rdgs() == 0x12345000UL ? "kept" : "changed");
        unsigned long got = 0;
        syscall(SYS_arch_prctl, ARCH_SET_GS, 0x2000UL);
        syscall(SYS_arch_prctl, ARCH_GET_GS, &got);
        printf("arch_prctl gs: %s %s\n", got == 0x2000UL ? "ok" : "bad", rdgs() == 0x2000UL ? "ok" : "bad");
        __asm__ volatile("wrgsbase %0" ::"r"(0UL));
    } else if (!strcmp(mode, "ac")) {
        __asm__ volatile("pushfq; orq $0x40000, (%%rsp); popfq" ::: "memory", "cc");
        long r = syscall(SYS_getppid);
        __asm__ volatile("pushfq; andq $-0x40001, (%%rsp); popfq" ::: "memory", "cc");
        printf("syscall with AC set: %s\n", r >= 0 ? "ok" : "failed");
    } else if (!strcmp(mode, "tf")) {
        printf("before\n");
        fflush(stdout);
        __asm__ volatile("pushfq; orq $0x100, (%%rsp); popfq; nop; nop" ::: "memory", "cc");
        printf("not reached\n");
    }
    return 0;
}
