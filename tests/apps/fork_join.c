/* fork_join.c -- right after pthread_join returns, fork() works, every
 * time (1000 rounds of create 8 threads, join them, fork, wait). (Not checked: that
 * /proc/self/status says "Threads: 1" at once; Linux itself may still count
 * the joined thread for a moment, since the join wakes at the thread's
 * CLONE_CHILD_CLEARTID, before it has left its group.) */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"

static void *work(void *arg)
{
    return arg;
}

int main(void)
{
    int forked = 0;
    for (int i = 0; i < 1000; i++) {
        pthread_t t[8];
        for (int j = 0; j < 8; j++)
            pthread_create(&t[j], NULL, work, NULL);
        for (int j = 0; j < 8; j++)
            pthread_join(t[j], NULL);
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0)
            _exit(7);
        int st = 0;
        forked += pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 7;
    }
    check_eq(forked, 1000, "fork right after every join");
    return check_done();
}
