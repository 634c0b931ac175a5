/* pipeline.c -- `cat | cat | cat` from three posix_spawned <dir>/cat
 * processes joined by pipes (file actions: dup2 onto stdin/stdout, close of
 * every pipe end). A writer thread sends 200 KB of patterned data into the
 * first pipe and closes it; main reads the last pipe until EOF and checks
 * the bytes; all three children exit with status 0.
 * Args: argv[1] = directory of the test programs. Prints "ok ..." lines, then
 * "all ok" (exit 0) or "FAIL: ..." (exit 1). */
#define _GNU_SOURCE
#include <pthread.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"

#define SIZE (200 * 1024)
#define STAGES 3

extern char **environ;

static unsigned char pattern(size_t i)
{
    return (unsigned char)(i * 7 + i / 251 + (i >> 12));
}

static int write_fd;
static long written;

static void *writer(void *arg)
{
    static unsigned char data[SIZE];
    for (size_t i = 0; i < SIZE; i++)
        data[i] = pattern(i);
    size_t off = 0;
    while (off < SIZE) {
        size_t chunk = SIZE - off < 7000 ? SIZE - off : 7000; /* odd sizes on purpose */
        ssize_t n = write(write_fd, data + off, chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        off += n;
    }
    written = off;
    close(write_fd);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        printf("usage: pipeline <dir of the test programs>\n");
        return 2;
    }
    char cat[512];
    snprintf(cat, sizeof cat, "%s/cat", argv[1]);

    /* pipes[0]: parent -> cat 1, pipes[1]: cat 1 -> cat 2, pipes[2]: cat 2
     * -> cat 3, pipes[3]: cat 3 -> parent. No O_CLOEXEC: the file actions
     * must close what each child does not use. */
    int pipes[STAGES + 1][2];
    for (int i = 0; i <= STAGES; i++) {
        if (pipe(pipes[i]) != 0) {
            printf("FAIL: pipe: %s\n", errname(errno));
            return 1;
        }
    }
    pid_t pids[STAGES];
    int spawned = 0;
    fflush(stdout);
    for (int s = 0; s < STAGES; s++) {
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, pipes[s][0], 0);
        posix_spawn_file_actions_adddup2(&fa, pipes[s + 1][1], 1);
        for (int i = 0; i <= STAGES; i++) {
            posix_spawn_file_actions_addclose(&fa, pipes[i][0]);
            posix_spawn_file_actions_addclose(&fa, pipes[i][1]);
        }
        char *args[] = { cat, NULL };
        int e = posix_spawn(&pids[s], cat, &fa, NULL, args, environ);
        posix_spawn_file_actions_destroy(&fa);
        if (e != 0) {
            printf("FAIL: posix_spawn cat %d: %s\n", s + 1, errname(e));
            check_failures++;
            break;
        }
        spawned++;
    }
    check_eq(spawned, STAGES, "spawned cat | cat | cat");
    /* The parent keeps only the first pipe's write end and the last one's read end. */
    close(pipes[0][0]);
    for (int i = 1; i < STAGES; i++) {
        close(pipes[i][0]);
        close(pipes[i][1]);
    }
    close(pipes[STAGES][1]);
    write_fd = pipes[0][1];
    int rfd = pipes[STAGES][0];

    pthread_t t;
    int e = pthread_create(&t, NULL, writer, NULL);
    if (e) {
        printf("FAIL: pthread_create: %s\n", errname(e));
        return 1;
    }
    static unsigned char got[SIZE + 4096];
    size_t len = 0;
    for (;;) {
        ssize_t n = read(rfd, got + len, sizeof got - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += n;
        if (len == sizeof got)
            break;
    }
    close(rfd);
    pthread_join(t, NULL);
    check_eq(written, SIZE, "wrote 200 KB into the first pipe");
    check_eq((long)len, SIZE, "read 200 KB from the last pipe");
    size_t bad = 0;
    for (size_t i = 0; i < len && i < SIZE; i++)
        if (got[i] != pattern(i)) {
            bad = i + 1;
            break;
        }
    check(bad == 0, "the bytes are identical");

    int all_zero = 1;
    for (int s = 0; s < spawned; s++) {
        int st;
        pid_t r;
        do
            r = waitpid(pids[s], &st, 0);
        while (r == -1 && errno == EINTR);
        if (r != pids[s] || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            all_zero = 0;
    }
    check(spawned == STAGES && all_zero, "all three cats exited with status 0");
    return check_done();
}
