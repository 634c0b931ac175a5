/* getppid_loop.c -- benchmark helper (not a differential test): calls
 * syscall(SYS_getppid) argv[1] times (default 1,000,000) and prints
 * "getppid: X.X ns/call". Output is timing-dependent by design. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    if (n <= 0)
        n = 1;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < n; i++)
        syscall(SYS_getppid);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ns = (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
    printf("getppid: %.1f ns/call\n", ns / n);
    return 0;
}
