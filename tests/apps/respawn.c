/* respawn.c -- a program started again and again: the parent spawns itself
 * N times (posix_spawn, then waitpid); each child asks the CPU (cpuid) and
 * the kernel (getppid, write to /dev/null) a few things and exits 0. Inside
 * the LibOS the children after the first come with the sites the earlier
 * ones rewrote already rewritten (vm/learned.rs); their answers must not
 * change. Built dynamically (build/other/respawn-dynamic), the sites in its
 * shared libc come rewritten too (vm/library.rs); each child then maps
 * libc's file read-only the way a dynamic loader maps a library's span
 * first, and must read the file's own bytes there.
 * Args: [N] (default 5). Prints "ok ..." lines, then "all ok" (exit 0) or
 * "FAIL: ..." (exit 1). */
#define _GNU_SOURCE
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <spawn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
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

/* The path and span (bytes from its lowest page) of a loaded shared libc. */
struct lib_span {
    const char *path;
    size_t span;
};

static int find_libc(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct lib_span *l = arg;
    if (!strstr(info->dlpi_name, "libc.so"))
        return 0;
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *p = &info->dlpi_phdr[i];
        if (p->p_type != PT_LOAD)
            continue;
        if ((p->p_vaddr & ~(uintptr_t)4095) < lo)
            lo = p->p_vaddr & ~(uintptr_t)4095;
        if (p->p_vaddr + p->p_memsz > hi)
            hi = p->p_vaddr + p->p_memsz;
    }
    l->path = info->dlpi_name;
    l->span = hi > lo ? hi - lo : 0;
    return 1;
}

/* 0 if a read-only mapping of libc's span (if this program has a shared
 * libc) holds the file's bytes. */
static int libc_mapping_reads_as_the_file(void)
{
    struct lib_span l = { NULL, 0 };
    dl_iterate_phdr(find_libc, &l);
    if (!l.path)
        return 0;
    int fd = open(l.path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0)
        return 1;
    const unsigned char *m = mmap(NULL, l.span, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED)
        return 1;
    size_t len = (size_t)st.st_size < l.span ? (size_t)st.st_size : l.span;
    static unsigned char buf[65536];
    int same = 1;
    for (size_t off = 0; off < len && same; off += sizeof buf) {
        size_t n = len - off < sizeof buf ? len - off : sizeof buf;
        if (pread(fd, buf, n, (off_t)off) != (ssize_t)n || memcmp(buf, m + off, n) != 0)
            same = 0;
    }
    munmap((void *)m, l.span);
    close(fd);
    return same ? 0 : 1;
}

static int child(void)
{
    if (libc_mapping_reads_as_the_file() != 0)
        return 3;
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
