/* mlock.c -- page residency and locking: mincore of touched and untouched
 * anonymous pages and its errors; mlock/munlock/mlock2 of mapped memory
 * and of a hole (ENOMEM); mlockall/munlockall flags. Prints "ok ..." lines
 * and "all ok". */
#define _GNU_SOURCE
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "check.h"

int main(void)
{
    long page = sysconf(_SC_PAGESIZE);
    char *m = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    m[0] = 1;
    m[2 * page] = 1;
    unsigned char vec[4] = {9, 9, 9, 9};
    check(mincore(m, 4 * page, vec) == 0, "mincore");
    check((vec[0] & 1) && !(vec[1] & 1) && (vec[2] & 1) && !(vec[3] & 1), "touched pages resident, others not");
    CHECK_ERR(mincore(m + 1, page, vec), EINVAL, "mincore of an unaligned address");
    munmap(m + 3 * page, page);
    CHECK_ERR(mincore(m, 4 * page, vec), ENOMEM, "mincore over a hole");
    CHECK_ERR(mincore(m, page, (unsigned char *)1), EFAULT, "mincore into a bad vector");
    check(mincore(m, 0, vec) == 0, "mincore of nothing");

    check(mlock(m + 10, 100) == 0, "mlock of part of a page");
    check(munlock(m + 10, 100) == 0, "munlock");
    CHECK_ERR(mlock(m, 4 * page), ENOMEM, "mlock over a hole");
    check(syscall(SYS_mlock2, m, page, 1) == 0, "mlock2 MLOCK_ONFAULT");
    CHECK_ERR(syscall(SYS_mlock2, m, page, 2), EINVAL, "mlock2 with bad flags");
    munlock(m, page);
    CHECK_ERR(mlockall(0), EINVAL, "mlockall without flags");
    CHECK_ERR(mlockall(MCL_ONFAULT), EINVAL, "mlockall MCL_ONFAULT alone");
    CHECK_ERR(mlockall(16), EINVAL, "mlockall with an unknown flag");
    check(munlockall() == 0, "munlockall");
    munmap(m, 3 * page);
    return check_done();
}
