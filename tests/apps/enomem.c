/* enomem.c -- huge allocations fail cleanly: malloc(1 TiB) -> NULL/ENOMEM,
 * anonymous mmap of 1 TiB -> MAP_FAILED/ENOMEM (both also fail natively under
 * the default overcommit heuristic on a machine with far less than 1 TiB).
 * Optional argv[1] = N: additionally tries ONE mmap of N MiB and prints
 * "mmap N MiB: ok" or "mmap N MiB: ENOMEM" (the harness picks N). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include "errname.h"

int main(int argc, char **argv)
{
    size_t tib = (size_t)1 << 40;

    errno = 0;
    void *p = malloc(tib);
    printf("malloc 1 TiB: %s\n", p ? "ok" : errname(errno));
    free(p);

    errno = 0;
    p = mmap(NULL, tib, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("mmap 1 TiB: %s\n", p != MAP_FAILED ? "ok" : errname(errno));
    if (p != MAP_FAILED)
        munmap(p, tib);

    if (argc > 1) {
        unsigned long mib = strtoul(argv[1], NULL, 10);
        size_t len = (size_t)mib << 20;
        errno = 0;
        p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        printf("mmap %lu MiB: %s\n", mib, p != MAP_FAILED ? "ok" : errname(errno));
        if (p != MAP_FAILED)
            munmap(p, len);
    }
    return 0;
}
