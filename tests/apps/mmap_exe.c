/* mmap_exe.c -- private mappings of a file that cannot change (the program's
 * own executable; inside the LibOS it lies in the read-only image, whose
 * pages are shared): contents match read(), writes stay private to one
 * mapping, MADV_DONTNEED brings the file's bytes back, mprotect can make
 * the pages writable, a forked child's writes never reach the parent, and a
 * vfork child runs the program again. Prints "ok ..." lines, then "all ok". */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"

static int wait_status(pid_t pid)
{
    int st;
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "again"))
        return 7;
    int fd = open("/proc/self/exe", O_RDONLY);
    check(fd >= 0, "open /proc/self/exe");
    struct stat st;
    check(fstat(fd, &st) == 0 && st.st_size > 3 * 4096, "the program is over three pages");
    static char file[3 * 4096];
    check(pread(fd, file, sizeof file, 0) == (ssize_t)sizeof file, "pread its first pages");

    unsigned char *ro = mmap(NULL, sizeof file, PROT_READ, MAP_PRIVATE, fd, 0);
    check(ro != MAP_FAILED && !memcmp(ro, file, sizeof file), "MAP_PRIVATE read-only: the file's bytes");
    unsigned char *rw = mmap(NULL, sizeof file, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    check(rw != MAP_FAILED && !memcmp(rw, file, sizeof file), "MAP_PRIVATE writable: the file's bytes");
    unsigned char *off = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 4096);
    check(off != MAP_FAILED && !memcmp(off, file + 4096, 4096), "mapping at offset 4096");

    memset(rw + 4096, 0x5a, 100);
    check(rw[4096] == 0x5a && ro[4096] == (unsigned char)file[4096] && off[0] == (unsigned char)file[4096],
          "a write stays in its own mapping");
    char again[4096];
    check(pread(fd, again, sizeof again, 4096) == 4096 && !memcmp(again, file + 4096, 4096),
          "and never reaches the file");
    check(madvise(rw, sizeof file, MADV_DONTNEED) == 0 && !memcmp(rw, file, sizeof file),
          "MADV_DONTNEED brings the file's bytes back");

    check(mprotect(ro, sizeof file, PROT_READ | PROT_WRITE) == 0, "mprotect read-only to writable");
    ro[10] ^= 0xff;
    check(ro[10] == (unsigned char)(file[10] ^ 0xff) && rw[10] == (unsigned char)file[10],
          "the written page is private");

    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        rw[20] ^= 0xff;
        off[0] = 0; /* read-only: SIGSEGV */
        _exit(1);
    }
    check(pid > 0 && wait_status(pid) == 128 + SIGSEGV, "a forked child's write to a read-only mapping: SIGSEGV");
    check(rw[20] == (unsigned char)file[20] && !memcmp(off, file + 4096, 4096), "the parent's mappings are unchanged");
    pid = fork();
    if (pid == 0) {
        munmap(off, 4096);
        memset(rw, 0, sizeof file);
        _exit(3);
    }
    check(pid > 0 && wait_status(pid) == 3, "a forked child unmaps and overwrites");
    check(!memcmp(off, file + 4096, 4096) && !memcmp(rw, file, sizeof file) && ro[10] == (unsigned char)(file[10] ^ 0xff),
          "the parent still sees its own contents");

    pid = vfork();
    if (pid == 0) {
        execl("/proc/self/exe", argv[0], "again", (char *)NULL);
        _exit(127);
    }
    check(pid > 0 && wait_status(pid) == 7, "vfork + exec of the same program");
    check(munmap(ro, sizeof file) == 0 && munmap(rw, sizeof file) == 0 && munmap(off, 4096) == 0, "munmap");
    close(fd);
    return check_done();
}
