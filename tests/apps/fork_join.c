/* fork_join.c -- right after pthread_join returns, the process has one
 * thread again: /proc/self/status says "Threads: 1" and fork() works, every
 * time (50 rounds of create, join, check, fork, wait). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"

static void *work(void *arg)
{
    return arg;
}

static int threads_now(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    int n = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "Threads: %d", &n) == 1)
            break;
    if (f)
        fclose(f);
    return n;
}

int main(void)
{
    int one = 0, forked = 0;
    for (int i = 0; i < 50; i++) {
        pthread_t t;
        pthread_create(&t, NULL, work, NULL);
        pthread_join(t, NULL);
        one += threads_now() == 1;
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0)
            _exit(7);
        int st = 0;
        forked += pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 7;
    }
    check_eq(one, 50, "one thread right after every join");
    check_eq(forked, 50, "fork right after every join");
    return check_done();
}
