/* pipe_bw.c -- pipe throughput between two processes. The parent spawns
 * itself as a reader whose stdin is the pipe, writes TOTAL MiB in CHUNK-byte
 * writes, closes the pipe and waits for the reader to finish.
 * Usage: pipe_bw CHUNK TOTAL_MIB   (the reader mode is internal).
 * Prints "pipe CHUNK: X MB/s". */
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
    if (argc > 1 && !strcmp(argv[1], "reader")) {
        static char buf[1 << 16];
        long total = 0;
        ssize_t n;
        while ((n = read(0, buf, sizeof buf)) > 0)
            total += n;
        return total > 0 ? 0 : 1;
    }
    if (argc < 3) {
        fprintf(stderr, "usage: pipe_bw CHUNK TOTAL_MIB\n");
        return 2;
    }
    size_t chunk = strtoul(argv[1], NULL, 10);
    long total = strtol(argv[2], NULL, 10) << 20;
    int p[2];
    pipe(p);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[0], 0);
    posix_spawn_file_actions_addclose(&fa, p[1]);
    char *args[] = {argv[0], "reader", NULL};
    pid_t pid;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (posix_spawn(&pid, argv[0], &fa, NULL, args, environ) != 0) {
        fprintf(stderr, "spawn failed\n");
        return 1;
    }
    close(p[0]);
    char *buf = malloc(chunk);
    memset(buf, 'x', chunk);
    for (long done = 0; done < total;) {
        ssize_t n = write(p[1], buf, chunk);
        if (n <= 0) {
            fprintf(stderr, "write failed\n");
            return 1;
        }
        done += n;
    }
    close(p[1]);
    int st;
    waitpid(pid, &st, 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("pipe %zu: %.0f MB/s\n", chunk, total / s / 1e6);
    return st == 0 ? 0 : 1;
}
