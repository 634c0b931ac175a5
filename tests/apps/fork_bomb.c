/* fork_bomb.c -- fork_bomb MIB: forks children that each touch MIB MiB of
 * their own and wait, until fork fails; then kills and reaps them all.
 * Prints how fork failed ("fork failed with EAGAIN" or "... ENOMEM") and
 * "all reaped". Run inside the LibOS only (natively it is a fork bomb). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"

int main(int argc, char **argv)
{
    size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 1;
    char *mem = malloc(mib << 20);
    memset(mem, 1, mib << 20);
    pid_t kids[4096];
    int n = 0, err = 0;
    while (n < 4096) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            memset(mem, 2, mib << 20);
            pause();
            _exit(0);
        }
        if (pid < 0) {
            err = errno;
            break;
        }
        kids[n++] = pid;
    }
    printf("fork failed with %s\n", errname(err));
    int reaped = 0;
    for (int i = 0; i < n; i++) {
        kill(kids[i], SIGKILL);
        int st;
        reaped += waitpid(kids[i], &st, 0) == kids[i] && WIFSIGNALED(st);
    }
    printf("%s\n", reaped == n && n > 0 ? "all reaped" : "FAIL: not all reaped");
    return 0;
}
