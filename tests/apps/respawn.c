/* respawn.c -- a program started again and again: the parent spawns itself
 * N times (posix_spawn, then waitpid); each child asks the CPU (cpuid) and
 * the kernel (getppid, write to /dev/null) a few things and exits 0. Inside
 * the LibOS the children after the first come with the sites the earlier
 * ones rewrote already rewritten (vm/learned.rs); their answers must not
 * change.
 * Args: [N] (default 5). Prints "ok ..." lines, then "all ok" (exit 0) or
 * "FAIL: ..." (exit 1). */
#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"

extern char **environ;

static uint32_t vendor_sum(void)
{
    uint32_t a = 0, b, c = 0, d;
    __asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
    return b ^ c ^ d;
}

static int child(void)
{
    int fd = open("/dev/null", O_WRONLY);
    for (int i = 0; i < 20; i++) {
        if (getppid() <= 0 || write(fd, "x", 1) != 1)
            return 2;
    }
    close(fd);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "child") == 0)
        return child();
    int n = argc > 1 ? atoi(argv[1]) : 5;
    uint32_t sum = vendor_sum();
    int exited = 0;
    for (int i = 0; i < n; i++) {
        pid_t pid;
        char *args[] = { argv[0], "child", NULL };
        int st;
        if (posix_spawn(&pid, "/proc/self/exe", NULL, NULL, args, environ) != 0 ||
            waitpid(pid, &st, 0) != pid)
            break;
        exited += WIFEXITED(st) && WEXITSTATUS(st) == 0;
    }
    check_eq(exited, n, "every child ran and exited 0");
    check(vendor_sum() == sum, "cpuid answers the same after them");
    return check_done();
}
