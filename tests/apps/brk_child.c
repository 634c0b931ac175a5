/* brk_child.c -- a process started by posix_spawn (and one by vfork+exec)
 * has a program break that grows: brk by 1 MiB and by N MiB more works in
 * the child as in its parent, and errno is 0 when main starts. (The raw
 * syscall: musl's sbrk refuses to grow.) argv[1] = the directory of the
 * test programs, argv[2] = N (default 4). */
#define _GNU_SOURCE
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"

extern char **environ;

static int grow(const char *who, long mib)
{
    char what[80];
    snprintf(what, sizeof what, "%s: brk grows by 1 MiB and %ld MiB", who, mib);
    char *a = (char *)syscall(SYS_brk, 0);
    char *b = (char *)syscall(SYS_brk, a + (1 << 20));
    char *c = (char *)syscall(SYS_brk, b + (mib << 20));
    int ok = b == a + (1 << 20) && c == b + (mib << 20);
    b = a + (1 << 20);
    if (ok) {
        memset(a, 1, 1 << 20);
        memset(b, 2, mib << 20);
    }
    check(ok, "%s", what);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc > 3 && !strcmp(argv[3], "child")) {
        int e = errno;
        check_eq(e, 0, "child: errno is 0 at the start of main");
        grow("child", atol(argv[2]));
        return check_done();
    }
    char self[512];
    snprintf(self, sizeof self, "%s/brk_child", argc > 1 ? argv[1] : ".");
    char *mib = argc > 2 ? argv[2] : "4";
    grow("parent", atol(mib));
    fflush(stdout);
    char *args[] = {self, argv[1], mib, "child", NULL};
    pid_t pid;
    int st = 0;
    check_eq(posix_spawn(&pid, self, NULL, NULL, args, environ), 0, "posix_spawn");
    check(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0, "spawned child ok");
    pid = vfork();
    if (pid == 0) {
        execve(self, args, environ);
        _exit(127);
    }
    check(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0, "vfork+exec child ok");
    return check_done();
}
