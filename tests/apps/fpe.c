/* fpe.c -- prints "before", then does an integer division by zero.
 * Must die with SIGFPE (exit status 136 from a shell); "after" never appears. */
#include <stdio.h>

int main(void)
{
    volatile int a = 1, b = 0;
    printf("before\n");
    fflush(stdout);
    int c = a / b;
    printf("after %d\n", c);
    return 0;
}
