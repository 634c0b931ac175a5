/* spawn_many.c -- 100 children at once: each is `<dir>/hello <i>` spawned
 * with its stdout on one shared pipe; the parent closes its write end, reads
 * until EOF (200 lines, every i in 0..99 exactly once), reaps all 100 with
 * waitpid(-1) (each status 0), and then waitpid(-1) fails with ECHILD.
 * If posix_spawn fails with EAGAIN (a thread limit: under the LibOS the
 * children still running count), the parent reaps one child and retries.
 * Args: argv[1] = directory of the test programs. Prints "ok ..." lines, then
 * "all ok" (exit 0) or "FAIL: ..." (exit 1). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"

#define N 100

extern char **environ;

int main(int argc, char **argv)
{
    if (argc < 2) {
        printf("usage: spawn_many <dir of the test programs>\n");
        return 2;
    }
    char hello[512];
    snprintf(hello, sizeof hello, "%s/hello", argv[1]);

    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) {
        printf("FAIL: pipe2: %s\n", errname(errno));
        return 1;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);

    int spawned = 0, reaped = 0, bad_status = 0, spawn_err = 0;
    fflush(stdout);
    for (int i = 0; i < N; i++) {
        char num[16];
        snprintf(num, sizeof num, "%d", i);
        char *args[] = { hello, num, NULL };
        pid_t pid;
        int e;
        while ((e = posix_spawn(&pid, hello, &fa, NULL, args, environ)) == EAGAIN) {
            int st;
            if (waitpid(-1, &st, 0) > 0) {
                reaped++;
                if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
                    bad_status++;
            }
        }
        if (e != 0) {
            spawn_err = e;
            break;
        }
        spawned++;
    }
    posix_spawn_file_actions_destroy(&fa);
    close(p[1]);
    if (spawn_err)
        printf("FAIL: posix_spawn after %d: %s\n", spawned, errname(spawn_err)), check_failures++;
    check_eq(spawned, N, "spawned 100 children");

    /* Everything the children wrote, until the last one closes the pipe. */
    static char buf[8192];
    size_t len = 0;
    for (;;) {
        ssize_t n = read(p[0], buf + len, sizeof buf - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += n;
        if (len == sizeof buf - 1)
            break;
    }
    buf[len] = 0;
    close(p[0]);

    int lines = 0, hellos = 0, seen[N] = { 0 }, other = 0;
    for (char *line = buf, *nl; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        if (!nl) {
            other++;
            break;
        }
        *nl = 0;
        lines++;
        if (strcmp(line, "Hello, world!") == 0) {
            hellos++;
            continue;
        }
        char *end;
        long v = strtol(line, &end, 10);
        if (*line && !*end && v >= 0 && v < N)
            seen[v]++;
        else
            other++;
    }
    check_eq(lines, 2 * N, "read 200 lines");
    check_eq(hellos, N, "100 \"Hello, world!\" lines");
    int once = 1;
    for (int i = 0; i < N; i++)
        once &= seen[i] == 1;
    check(once && !other, "every number 0..99 appears exactly once");

    for (;;) {
        int st;
        pid_t r = waitpid(-1, &st, 0);
        if (r == -1 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        reaped++;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            bad_status++;
    }
    check_eq(reaped, spawned, "reaped every child with waitpid(-1)");
    check_eq(bad_status, 0, "every child exited with status 0");
    int st;
    errno = 0;
    pid_t r = waitpid(-1, &st, 0);
    check_err(r, errno, ECHILD, "waitpid(-1) afterwards");
    return check_done();
}
