/* spawn.c -- starting programs: posix_spawn + waitpid (exit status), file
 * actions that send the child's stdout into a pipe, posix_spawn of a missing
 * program (ENOENT from posix_spawn itself), vfork + execve, vfork + _exit,
 * getppid() in a vfork child, a child killed by SIGSEGV, and execve of a
 * missing program in a vfork child.
 * Args: argv[1] = directory of the test programs. Prints "ok ..." lines, then
 * "all ok" (exit 0) or "FAIL: ..." (exit 1). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"

extern char **environ;
static char prog[4][512];

static const char *path(int slot, const char *dir, const char *name)
{
    snprintf(prog[slot], sizeof prog[slot], "%s/%s", dir, name);
    return prog[slot];
}

/* Reads fd until EOF into buf (NUL-terminated); returns the length or -1. */
static long read_all(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        len += n;
        if (len == cap - 1)
            break;
    }
    buf[len] = 0;
    return len;
}

/* Waits for pid; returns its raw status, or -1 (with a FAIL line). */
static int reap(pid_t pid, const char *what)
{
    int st = 0;
    pid_t r;
    do
        r = waitpid(pid, &st, 0);
    while (r == -1 && errno == EINTR);
    if (r != pid) {
        printf("FAIL: %s: waitpid returned %d %s\n", what, (int)r, r == -1 ? errname(errno) : "");
        check_failures++;
        return -1;
    }
    return st;
}

static volatile pid_t vfork_ppid;
static volatile int vfork_errno;

int main(int argc, char **argv)
{
    if (argc < 2) {
        printf("usage: spawn <dir of the test programs>\n");
        return 2;
    }
    const char *dir = argv[1];
    pid_t pid;
    int e, st;

    /* posix_spawn + waitpid: exit status 7. */
    fflush(stdout);
    char *a1[] = { (char *)path(0, dir, "exit_code"), "7", NULL };
    e = posix_spawn(&pid, a1[0], NULL, NULL, a1, environ);
    check(e == 0, "posix_spawn exit_code 7");
    if (e == 0) {
        st = reap(pid, "exit_code 7");
        check(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 7, "exit_code 7: exited with 7");
    }

    /* File actions: the child's stdout is a pipe's write end. */
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) {
        printf("FAIL: pipe2: %s\n", errname(errno));
        return 1;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    char *a2[] = { (char *)path(1, dir, "hello"), "spawned", NULL };
    fflush(stdout);
    e = posix_spawn(&pid, a2[0], &fa, NULL, a2, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(p[1]);
    check(e == 0, "posix_spawn hello with stdout -> pipe");
    if (e == 0) {
        char buf[256];
        long n = read_all(p[0], buf, sizeof buf);
        check(n >= 0 && strcmp(buf, "Hello, world!\nspawned\n") == 0,
              "read the child's output from the pipe until EOF");
        st = reap(pid, "hello");
        check(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "hello: exited with 0");
    }
    close(p[0]);

    /* A missing program: posix_spawn reports the exec error. */
    char *a3[] = { (char *)path(2, dir, "no-such-program"), NULL };
    fflush(stdout);
    e = posix_spawn(&pid, a3[0], NULL, NULL, a3, environ);
    check(e == ENOENT, "posix_spawn of a missing program: %s", errname(e));
    if (e == 0)
        reap(pid, "missing program");

    /* vfork + execve. */
    char *a4[] = { (char *)path(3, dir, "exit_code"), "3", NULL };
    fflush(stdout);
    pid = vfork();
    if (pid == 0) {
        execve(a4[0], a4, environ);
        _exit(126);
    }
    check(pid > 0, "vfork");
    if (pid > 0) {
        st = reap(pid, "vfork + execve");
        check(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 3, "vfork + execve exit_code 3: exited with 3");
    }

    /* vfork + _exit, and getppid() in the child. */
    vfork_ppid = -1;
    pid = vfork();
    if (pid == 0) {
        vfork_ppid = getppid();
        _exit(5);
    }
    check(pid > 0 && pid != getpid(), "vfork child has its own pid");
    if (pid > 0) {
        st = reap(pid, "vfork + _exit");
        check(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 5, "vfork + _exit(5): exited with 5");
        check(vfork_ppid == getpid(), "vfork child's getppid() == parent's getpid()");
    }

    /* A child killed by SIGSEGV (its "before" line goes to a pipe). */
    if (pipe2(p, O_CLOEXEC) != 0) {
        printf("FAIL: pipe2: %s\n", errname(errno));
        return 1;
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    char *a5[] = { (char *)path(0, dir, "segv"), NULL };
    fflush(stdout);
    e = posix_spawn(&pid, a5[0], &fa, NULL, a5, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(p[1]);
    check(e == 0, "posix_spawn segv");
    if (e == 0) {
        char buf[64];
        long n = read_all(p[0], buf, sizeof buf);
        check(n >= 0 && strcmp(buf, "before\n") == 0, "segv wrote \"before\"");
        st = reap(pid, "segv");
        check(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "segv: killed by signal 11");
        check(st != -1 && !WIFEXITED(st), "segv: not WIFEXITED");
    }
    close(p[0]);

    /* execve of a missing program in a vfork child. */
    vfork_errno = 0;
    fflush(stdout);
    pid = vfork();
    if (pid == 0) {
        char *a6[] = { (char *)prog[2], NULL };
        execve(a6[0], a6, environ);
        vfork_errno = errno;
        _exit(127);
    }
    if (pid > 0) {
        st = reap(pid, "vfork + bad execve");
        check(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 127, "vfork + execve of a missing program: exited with 127");
        check(vfork_errno == ENOENT, "execve of a missing program: %s", errname(vfork_errno));
    }

    /* Nothing left to wait for. */
    errno = 0;
    pid_t r = waitpid(-1, &st, 0);
    check_err(r, errno, ECHILD, "waitpid(-1) with no children left");
    return check_done();
}
