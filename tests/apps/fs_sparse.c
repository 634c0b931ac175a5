/* fs_sparse.c -- huge sizes and far offsets cost nothing until written:
 * ftruncate/truncate to 64 GiB, pwrite at 2^40-1, fallocate, and a memfd,
 * in directory argv[1] (holes read as zeros, shrinking frees the tail). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"

#define BIG (1LL << 36)
#define FAR ((1LL << 40) - 1)

static long long size_of(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 ? (long long)st.st_size : -1;
}

static int all_zero(const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

static void sparse_checks(int fd, const char *what)
{
    char buf[64];
    char name[128];
    snprintf(name, sizeof name, "%s: ftruncate to 64 GiB", what);
    check_eq(ftruncate(fd, BIG), 0, name);
    snprintf(name, sizeof name, "%s: size is 64 GiB", what);
    check(size_of(fd) == BIG, "%s", name);
    memset(buf, 1, sizeof buf);
    snprintf(name, sizeof name, "%s: read at the end of the hole", what);
    check(pread(fd, buf, 10, BIG - 4) == 4 && all_zero(buf, 4), "%s", name);
    snprintf(name, sizeof name, "%s: read past the end", what);
    check_eq(pread(fd, buf, 10, BIG), 0, name);
    snprintf(name, sizeof name, "%s: pwrite at 2^40-1", what);
    check_eq(pwrite(fd, "x", 1, FAR), 1, name);
    snprintf(name, sizeof name, "%s: size is 2^40", what);
    check(size_of(fd) == FAR + 1, "%s", name);
    snprintf(name, sizeof name, "%s: the far byte reads back", what);
    check(pread(fd, buf, 4, FAR) == 1 && buf[0] == 'x', "%s", name);
    snprintf(name, sizeof name, "%s: shrink to 10", what);
    check_eq(ftruncate(fd, 10), 0, name);
    check_eq(pwrite(fd, "hello world", 11, 0), 11, "write at 0");
    check_eq(ftruncate(fd, 5), 0, "shrink to 5");
    check_eq(ftruncate(fd, 8192), 0, "grow to 8192");
    char page[8192];
    memset(page, 1, sizeof page);
    snprintf(name, sizeof name, "%s: bytes past a shrink read as zeros", what);
    check(pread(fd, page, sizeof page, 0) == 8192 && !memcmp(page, "hello", 5) &&
              all_zero(page + 5, sizeof page - 5),
          "%s", name);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: fs_sparse DIR\n");
        return 2;
    }
    char path[256];
    snprintf(path, sizeof path, "%s/sparse", argv[1]);
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
    check(fd >= 0, "create");
    sparse_checks(fd, "file");
    check_eq(truncate(path, BIG), 0, "truncate by path to 64 GiB");
    check(size_of(fd) == BIG, "size after truncate by path");
    check_eq(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 4096), 0, "fallocate keep size");
    check(size_of(fd) == BIG, "fallocate keep size leaves the size");
    check_eq(fallocate(fd, 0, 0, 8192), 0, "fallocate inside the file");
    close(fd);
    check_eq(unlink(path), 0, "unlink");

    int mfd = memfd_create("sparse", 0);
    check(mfd >= 0, "memfd_create");
    sparse_checks(mfd, "memfd");
    close(mfd);

    /* Natively, several runs of this test share /dev/shm: a name of its own. */
    char shm[64];
    snprintf(shm, sizeof shm, "/dev/shm/occlum-fs-sparse-%d", (int)getpid());
    int sfd = open(shm, O_CREAT | O_RDWR | O_TRUNC, 0600);
    check(sfd >= 0, "open in /dev/shm");
    sparse_checks(sfd, "shm");
    close(sfd);
    unlink(shm);
    return check_done();
}
