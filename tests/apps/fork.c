/* fork.c -- calls fork(): prints "fork: ok" when it works (the child
 * _exit(0)s, the parent waits for it) or "fork: -1 <ERRNAME>" when it fails.
 * Not differential: the LibOS refuses fork by design (ENOSYS).
 * Args: none. Exit status 0. */
#include <sys/wait.h>
#include <unistd.h>
#include "errname.h"

int main(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == -1) {
        printf("fork: -1 %s\n", errname(errno));
        return 0;
    }
    if (pid == 0)
        _exit(0);
    int st;
    pid_t r = waitpid(pid, &st, 0);
    if (r == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0)
        printf("fork: ok\n");
    else
        printf("FAIL: waitpid after fork\n");
    return 0;
}
