/* ill.c -- prints "before", then executes `ud2`.
 * Must die with SIGILL (exit status 132 from a shell); "after" never appears. */
#include <stdio.h>

int main(void)
{
    printf("before\n");
    fflush(stdout);
    __asm__ volatile("ud2");
    printf("after\n");
    return 0;
}
