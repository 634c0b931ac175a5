/* xproc.c -- a process cannot hand the LibOS a pointer into another
 * process's memory. argv[1] = directory of the test programs. The parent
 * maps a page holding a secret and spawns itself as "<dir>/xproc child
 * <address>"; the child passes that address to write(2) and reports the
 * result. Natively the page does not exist in the child (EFAULT); inside the
 * LibOS it exists in the shared region but belongs to the parent (EFAULT).
 * Also: read(2) into a bad buffer fails with EFAULT without consuming input
 * (stdin must hold "0123456789"). */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "errname.h"

extern char **environ;

int main(int argc, char **argv)
{
    if (argc > 3 && !strcmp(argv[1], "child")) {
        void *p = (void *)strtoul(argv[2], NULL, 16);
        errno = 0;
        ssize_t r = write(1, p, 6);
        printf("\nchild write of parent's page: %zd %s\n", r, r < 0 ? errname(errno) : "");
        return 0;
    }
    if (argc < 2) {
        fprintf(stderr, "usage: xproc DIR\n");
        return 2;
    }
    char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    strcpy(page, "SECRET");
    char prog[512], addr[32];
    snprintf(prog, sizeof prog, "%s/xproc", argv[1]);
    snprintf(addr, sizeof addr, "%lx", (unsigned long)page);
    char *args[] = {prog, "child", addr, "x", NULL};
    pid_t pid;
    fflush(stdout);
    if (posix_spawn(&pid, prog, NULL, NULL, args, environ) != 0) {
        printf("FAIL: spawn\n");
        return 1;
    }
    int st;
    waitpid(pid, &st, 0);
    printf("child status: %d\n", WEXITSTATUS(st));

    char buf[16] = {0};
    errno = 0;
    void *volatile bad = (void *)8;
    ssize_t r = read(0, bad, 4);
    printf("read into a bad buffer: %zd %s\n", r, r < 0 ? errname(errno) : "");
    r = read(0, buf, 4);
    printf("next read: %zd \"%s\"\n", r, buf);
    return 0;
}
