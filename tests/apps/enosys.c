/* enosys.c -- nonexistent syscall numbers must fail with -1/ENOSYS.
 * Checks syscall(1000) and syscall(-1) (Linux returns ENOSYS for both).
 * Args: none. Prints "syscall(N): -1 ENOSYS" lines. */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include "errname.h"

static void try(long nr)
{
    errno = 0;
    long r = syscall(nr, 0, 0, 0, 0, 0, 0);
    printf("syscall(%ld): %ld %s\n", nr, r, r == -1 ? errname(errno) : "");
}

int main(void)
{
    try(1000);
    try(-1);
    return 0;
}
