/* segv.c -- prints "before", then writes through a NULL pointer.
 * Must die with SIGSEGV (exit status 139 from a shell); "after" never appears. */
#include <stdio.h>

int main(void)
{
    printf("before\n");
    fflush(stdout);
    *(volatile int *)0 = 1;
    printf("after\n");
    return 0;
}
