/* stack_overflow.c -- unbounded recursion overflows the stack and the program
 * dies of SIGSEGV (status 139 from a shell), after printing "start". */
#include <stdio.h>

static volatile int keep_going = 1;

static int depth(volatile char *prev, int n)
{
    volatile char frame[1024];
    frame[0] = (char)n;
    frame[1023] = prev ? prev[0] : 0;
    if (!keep_going)
        return frame[0];
    return depth(frame, n + 1) + frame[1];
}

int main(void)
{
    printf("start\n");
    fflush(stdout);
    return depth(NULL, 0);
}
