/* process_vm_readv / process_vm_writev between a parent and its fork child:
 * reads and writes across pages and iovec boundaries, a partial transfer
 * that stops at an inaccessible remote page, and the errors of
 * mm/process_vm_access.c. */
#define _GNU_SOURCE
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"

#define PAGE 4096

int main(void)
{
    /* Two pages the child fills, then a hole: the third page is inaccessible. */
    char *area = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (area == MAP_FAILED)
        return 2;
    mprotect(area + 2 * PAGE, PAGE, PROT_NONE);
    int to_parent[2], to_child[2];
    if (pipe(to_parent) || pipe(to_child))
        return 2;
    pid_t pid = fork();
    if (pid == 0) {
        for (int i = 0; i < 2 * PAGE; i++)
            area[i] = (char)('a' + i % 26);
        char c = 'r';
        write(to_parent[1], &c, 1);
        /* Wait until the parent has written into our pages. */
        read(to_child[0], &c, 1);
        int good = memcmp(area + PAGE - 3, "WRITTEN", 7) == 0 && area[0] == 'a';
        _exit(good ? 0 : 1);
    }
    char c;
    read(to_parent[0], &c, 1);

    /* The parent's own copy is untouched: the child's pages are its own. */
    check(area[0] == 0, "parent's copy is its own");

    /* One remote range that crosses a page, into two local buffers. */
    char a[10], b[20];
    struct iovec local[2] = {{a, sizeof a}, {b, sizeof b}};
    struct iovec remote[1] = {{area + PAGE - 15, 30}};
    ssize_t n = process_vm_readv(pid, local, 2, remote, 1, 0);
    check(n == 30, "readv across a page into two buffers: %zd", n);
    int same = 1;
    for (int i = 0; i < 30; i++) {
        char want = (char)('a' + (PAGE - 15 + i) % 26);
        same &= (i < 10 ? a[i] : b[i - 10]) == want;
    }
    check(same, "readv bytes are the child's");

    /* A remote range running into the unmapped page: a partial read. */
    char big[PAGE];
    struct iovec lbig = {big, sizeof big};
    struct iovec rpart = {area + 2 * PAGE - 100, 200};
    n = process_vm_readv(pid, &lbig, 1, &rpart, 1, 0);
    check(n == 100, "partial readv stops at the hole: %zd", n);

    /* Only the hole: EFAULT. */
    struct iovec rhole = {area + 2 * PAGE, 10};
    errno = 0;
    n = process_vm_readv(pid, &lbig, 1, &rhole, 1, 0);
    check_err(n, errno, EFAULT, "readv of an inaccessible remote page");

    /* A bad local buffer: EFAULT. */
    struct iovec lbad = {(void *)8, 10};
    errno = 0;
    n = process_vm_readv(pid, &lbad, 1, remote, 1, 0);
    check_err(n, errno, EFAULT, "readv into a bad local buffer");

    /* Flags must be 0. */
    errno = 0;
    n = process_vm_readv(pid, local, 2, remote, 1, 1);
    check_err(n, errno, EINVAL, "readv with flags");

    /* Too many iovecs. */
    errno = 0;
    n = process_vm_readv(pid, local, 1025, remote, 1, 0);
    check_err(n, errno, EINVAL, "readv with more than IOV_MAX iovecs");

    /* No such process. */
    errno = 0;
    n = process_vm_readv(99999, local, 2, remote, 1, 0);
    check_err(n, errno, ESRCH, "readv of a process that does not exist");

    /* A zero-length transfer. */
    n = process_vm_readv(pid, local, 0, remote, 1, 0);
    check(n == 0, "readv with no local iovecs reads nothing: %zd", n);

    /* Write into the child from two local pieces. */
    struct iovec wl[2] = {{"WRIT", 4}, {"TEN", 3}};
    struct iovec wr = {area + PAGE - 3, 7};
    n = process_vm_writev(pid, wl, 2, &wr, 1, 0);
    check(n == 7, "writev across a page: %zd", n);
    check(area[PAGE - 3] == 0, "writev did not touch the parent");

    /* A read-only remote page: EFAULT. */
    errno = 0;
    struct iovec wro = {(void *)main, 4};
    n = process_vm_writev(pid, wl, 1, &wro, 1, 0);
    check_err(n, errno, EFAULT, "writev into read-only code");

    /* The caller itself. */
    char mine[8] = "mine!!!", got[8] = {0};
    struct iovec lself = {got, 8}, rself = {mine, 8};
    n = process_vm_readv(getpid(), &lself, 1, &rself, 1, 0);
    check(n == 8 && strcmp(got, "mine!!!") == 0, "readv of the caller's own memory");

    write(to_child[1], "w", 1);
    int status;
    waitpid(pid, &status, 0);
    check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child saw the parent's write");
    return check_done();
}
