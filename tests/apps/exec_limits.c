/* exec_limits.c -- execve's argument checks, as Linux makes them:
 * too many arguments or too much environment (pointers count too) give
 * E2BIG, one string over 128 KiB gives E2BIG, an argv array that runs into
 * unmapped memory gives EFAULT; nothing is executed. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "check.h"

int main(int argc, char **argv)
{
    const char *self = "/proc/self/exe";
    size_t n = 1000000; /* 8 MB of pointers: over what Linux allows with any stack limit */
    char **many = calloc(n + 1, sizeof *many);
    for (size_t i = 0; i < n; i++)
        many[i] = "";
    char *small[] = {"exec_limits", NULL};
    CHECK_ERR(execve(self, many, small), E2BIG, "execve with a million arguments");
    CHECK_ERR(execve(self, small, many), E2BIG, "execve with a million environment entries");

    size_t big = 32 * 4096 + 1;
    char *huge = malloc(big + 1);
    memset(huge, 'a', big);
    huge[big] = 0;
    char *one[] = {"exec_limits", huge, NULL};
    CHECK_ERR(execve(self, one, small), E2BIG, "execve with one 128 KiB + 1 argument");

    /* Pointers up to the end of a page, then an unmapped page: no NULL. */
    char *page = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(page + 4096, 4096);
    char **tail = (char **)(page + 4096) - 4;
    for (int i = 0; i < 4; i++)
        tail[i] = "x";
    CHECK_ERR(execve(self, tail, small), EFAULT, "execve with an argv running into unmapped memory");
    return check_done();
}
