/* spawn.c -- posix_spawn + waitpid latency. argv[1] = program to spawn (a
 * static-PIE that exits at once, e.g. exit_code), argv[2] = iterations
 * (default 200), argv[3...] = its arguments (default: "0"). Its standard
 * output goes to /dev/null. Prints "spawn: X us/iter". */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: spawn PROGRAM [N]\n");
        return 2;
    }
    int n = argc > 2 ? atoi(argv[2]) : 200;
    char *zero[] = {argv[1], "0", NULL};
    char **args = zero;
    if (argc > 3) {
        args = argv + 2;
        args[0] = argv[1];
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < n; i++) {
        pid_t pid;
        int st;
        if (posix_spawn(&pid, argv[1], &fa, NULL, args, environ) != 0 || waitpid(pid, &st, 0) != pid ||
            st != 0) {
            fprintf(stderr, "spawn failed at %d\n", i);
            return 1;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double us = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / 1e3 / n;
    printf("spawn: %.1f us/iter\n", us);
    return 0;
}
