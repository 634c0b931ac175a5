/* pipe_rtt.c -- round-trip latency of one byte between two processes over
 * two pipes. The parent spawns itself as an echoing child (its stdin and
 * stdout are the pipes), sends a byte and waits for it back, ROUNDS times.
 * Usage: pipe_rtt ROUNDS   (the child mode is internal).
 * Prints "pipe round trip: X us". */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
    if (argc > 2 && !strcmp(argv[2], "child")) {
        char c;
        while (read(0, &c, 1) == 1)
            if (write(1, &c, 1) != 1)
                return 1;
        return 0;
    }
    if (argc < 2) {
        fprintf(stderr, "usage: pipe_rtt ROUNDS\n");
        return 2;
    }
    long rounds = strtol(argv[1], NULL, 10);
    int down[2], up[2];
    if (pipe(down) != 0 || pipe(up) != 0)
        return 1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, down[0], 0);
    posix_spawn_file_actions_adddup2(&fa, up[1], 1);
    posix_spawn_file_actions_addclose(&fa, down[1]);
    posix_spawn_file_actions_addclose(&fa, up[0]);
    char *args[] = {argv[0], argv[1], "child", NULL};
    pid_t pid;
    if (posix_spawn(&pid, argv[0], &fa, NULL, args, environ) != 0) {
        fprintf(stderr, "spawn failed\n");
        return 1;
    }
    close(down[0]);
    close(up[1]);
    char c = 'x';
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < rounds; i++) {
        if (write(down[1], &c, 1) != 1 || read(up[0], &c, 1) != 1) {
            fprintf(stderr, "round trip failed\n");
            return 1;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    close(down[1]);
    int st;
    waitpid(pid, &st, 0);
    double us = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / 1e3 / rounds;
    printf("pipe round trip: %.2f us\n", us);
    return st == 0 ? 0 : 1;
}
