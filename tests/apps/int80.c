/* int80.c -- a 32-bit system call (`int $0x80`, i386 getpid = 20) made from
 * 64-bit code. Natively Linux serves it (IA-32 emulation) and it returns the
 * pid; the LibOS serves only the x86_64 ABI and answers -ENOSYS. Prints
 * "int80 getpid: ok" or "int80 getpid: <ERRNO>". Not a differential test. */
#include <stdio.h>
#include "errname.h"

int main(void)
{
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "0"(20L) : "memory");
    if (ret > 0)
        printf("int80 getpid: ok\n");
    else
        printf("int80 getpid: %s\n", errname((int)-ret));
    return 0;
}
