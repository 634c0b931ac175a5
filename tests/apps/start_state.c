/* start_state.c -- prints what a process inherits across execve: its nice
 * value, the signals it ignores and the signals it blocks (1..64, SIGKILL
 * and SIGSTOP aside), so a test can start it in a chosen state. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>

int main(void)
{
    errno = 0;
    int nice = getpriority(PRIO_PROCESS, 0);
    printf("nice %d%s\n", nice, errno ? " (error)" : "");
    sigset_t blocked;
    sigprocmask(SIG_BLOCK, NULL, &blocked);
    printf("ignored:");
    for (int sig = 1; sig < 65; sig++) {
        struct sigaction sa;
        if (sig != SIGKILL && sig != SIGSTOP && sigaction(sig, NULL, &sa) == 0 &&
            sa.sa_handler == SIG_IGN)
            printf(" %d", sig);
    }
    printf("\nblocked:");
    for (int sig = 1; sig < 65; sig++)
        if (sig != SIGKILL && sig != SIGSTOP && sigismember(&blocked, sig) == 1)
            printf(" %d", sig);
    printf("\n");
    return 0;
}
