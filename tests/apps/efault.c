/* efault.c -- syscalls given a bad user pointer must fail with -1/EFAULT
 * (not crash): write, uname, getrandom, writev.
 * Args: none. Prints "name: -1 EFAULT" style lines. */
#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>
#include "errname.h"

static void show(const char *name, long r)
{
    printf("%s: %ld %s\n", name, r, r == -1 ? errname(errno) : "");
}

int main(void)
{
    void *volatile bad_v = (void *)1; /* volatile: keep gcc from flagging it */
    void *bad = bad_v;
    errno = 0;
    show("write", write(1, bad, 10));
    errno = 0;
    show("uname", uname(bad));
    errno = 0;
    show("getrandom", syscall(SYS_getrandom, bad, 16, 0));
    errno = 0;
    show("writev", syscall(SYS_writev, 1, bad, 1));
    return 0;
}
