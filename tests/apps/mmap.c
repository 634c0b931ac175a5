/* mmap.c -- anonymous memory mappings: mmap/write/read back, mprotect(PROT_READ),
 * munmap of a middle page, MAP_FIXED remap into the hole, mremap grow with
 * MREMAP_MAYMOVE, invalid arguments -> EINVAL, madvise(MADV_DONTNEED) zeroing,
 * mremap growing a private file mapping.
 * Args: none. Prints one "ok ..." / "FAIL: ..." line per check. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "errname.h"

static int fails;
static size_t ps;

static void report(int ok, const char *what)
{
    printf(ok ? "ok %s\n" : "FAIL: %s\n", what);
    fails += !ok;
}

/* Page i of a region is filled with byte (i + 1). */
static int page_is(const unsigned char *p, int val)
{
    for (size_t j = 0; j < ps; j++)
        if (p[j] != (unsigned char)val)
            return 0;
    return 1;
}

static void expect_err(void *r, int want, const char *what)
{
    char buf[96];
    int e = errno;
    snprintf(buf, sizeof buf, "%s -> %s", what, r == MAP_FAILED ? errname(e) : "success");
    report(r == MAP_FAILED && e == want, buf);
}

int main(void)
{
    ps = (size_t)sysconf(_SC_PAGESIZE);
    const int RW = PROT_READ | PROT_WRITE, AP = MAP_PRIVATE | MAP_ANONYMOUS;

    /* Map 8 pages, fresh memory is zero; write and read back. */
    unsigned char *base = mmap(NULL, 8 * ps, RW, AP, -1, 0);
    report(base != MAP_FAILED, "mmap 8 pages");
    if (base == MAP_FAILED)
        return 1;
    report(((uintptr_t)base & (ps - 1)) == 0, "mmap result page-aligned");
    int ok = 1;
    for (int i = 0; i < 8; i++)
        ok &= page_is(base + i * ps, 0);
    report(ok, "fresh pages are zero");
    for (int i = 0; i < 8; i++)
        memset(base + i * ps, i + 1, ps);
    ok = 1;
    for (int i = 0; i < 8; i++)
        ok &= page_is(base + i * ps, i + 1);
    report(ok, "write/read back");

    /* mprotect read-only: reading still works. */
    report(mprotect(base, ps, PROT_READ) == 0, "mprotect PROT_READ");
    report(page_is(base, 1), "read after mprotect");
    report(mprotect(base, ps, RW) == 0, "mprotect back to RW");

    /* Punch a hole at page 3, then MAP_FIXED a new page into it. */
    report(munmap(base + 3 * ps, ps) == 0, "munmap middle page");
    unsigned char *fix = mmap(base + 3 * ps, ps, RW, AP | MAP_FIXED, -1, 0);
    report(fix == base + 3 * ps, "MAP_FIXED into hole at requested address");
    report(fix != MAP_FAILED && page_is(fix, 0), "MAP_FIXED page is zero");
    report(page_is(base + 2 * ps, 3) && page_is(base + 4 * ps, 5), "neighbours intact");

    /* MAP_FIXED over existing data replaces it. */
    fix = mmap(base + 5 * ps, ps, RW, AP | MAP_FIXED, -1, 0);
    report(fix == base + 5 * ps && page_is(fix, 0), "MAP_FIXED over mapping zeroes it");

    /* mremap grow with MREMAP_MAYMOVE keeps contents. */
    unsigned char *small = mmap(NULL, 2 * ps, RW, AP, -1, 0);
    memset(small, 0x5a, 2 * ps);
    unsigned char *big = mremap(small, 2 * ps, 64 * ps, MREMAP_MAYMOVE);
    report(big != MAP_FAILED, "mremap grow 2 -> 64 pages");
    if (big != MAP_FAILED) {
        report(page_is(big, 0x5a) && page_is(big + ps, 0x5a), "mremap preserved contents");
        report(page_is(big + 63 * ps, 0), "mremap new pages zero");
        memset(big + 63 * ps, 1, ps);
        report(page_is(big + 63 * ps, 1), "mremap new pages writable");
        big = mremap(big, 64 * ps, ps, 0);
        report(big != MAP_FAILED && page_is(big, 0x5a), "mremap shrink 64 -> 1 page");
        report(munmap(big, ps) == 0, "munmap remapped");
    }

    /* Invalid arguments. */
    errno = 0;
    expect_err(mmap(NULL, 0, RW, AP, -1, 0), EINVAL, "mmap len 0");
    errno = 0;
    expect_err(mmap(base + 1, ps, RW, AP | MAP_FIXED, -1, 0), EINVAL, "mmap unaligned MAP_FIXED");
    errno = 0;
    int r = munmap(base + 1, ps);
    char buf[64];
    snprintf(buf, sizeof buf, "munmap unaligned -> %s", r ? errname(errno) : "success");
    report(r == -1 && errno == EINVAL, buf);

    /* madvise(MADV_DONTNEED) on private anonymous memory gives zero pages. */
    memset(base + 6 * ps, 0x77, 2 * ps);
    report(madvise(base + 6 * ps, 2 * ps, MADV_DONTNEED) == 0, "madvise DONTNEED");
    report(page_is(base + 6 * ps, 0) && page_is(base + 7 * ps, 0), "DONTNEED pages read as zero");
    report(page_is(base + 4 * ps, 5), "page before DONTNEED range intact");

    report(munmap(base, 8 * ps) == 0, "munmap whole region");

    /* mremap growing a private file mapping shows the file's next pages. */
    char path[] = "/tmp/mmap_grow_XXXXXX";
    int fd = mkstemp(path);
    unsigned char page[4096];
    for (int i = 0; i < 3; i++) {
        memset(page, 'a' + i, sizeof page);
        write(fd, page, sizeof page);
    }
    unsigned char *m = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    unsigned char *g = mremap(m, 4096, 3 * 4096, MREMAP_MAYMOVE);
    report(g != MAP_FAILED && g[0] == 'a' && g[4096] == 'b' && g[8191] == 'b' && g[8192] == 'c',
           "mremap grows a private file mapping with the file's next pages");
    report(g != MAP_FAILED && munmap(g, 3 * 4096) == 0, "munmap it");
    /* /proc/self/maps names a file mapping: offset, shared or private, path. */
    char *sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 4096);
    char maps[65536] = {0}, want[128];
    int mfd = open("/proc/self/maps", O_RDONLY);
    size_t got = 0;
    ssize_t n;
    while (mfd >= 0 && (n = read(mfd, maps + got, sizeof maps - 1 - got)) > 0)
        got += n;
    close(mfd);
    snprintf(want, sizeof want, "%lx-%lx rw-s 00001000 ", (unsigned long)sh, (unsigned long)sh + 4096);
    char *line = strstr(maps, want);
    char *eol = line ? strchr(line, '\n') : NULL;
    if (eol)
        *eol = 0;
    report(line && strstr(line, path), "/proc/self/maps: a shared file mapping, its offset and path");
    munmap(sh, 4096);
    close(fd);
    unlink(path);
    printf("%s\n", fails ? "FAILED" : "all ok");
    return fails ? 1 : 0;
}
