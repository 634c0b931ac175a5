/* spawn_cat.h -- starts a `cat` child whose stdin is a new pipe, for test
 * programs that need a child that runs until they let it end. Include after
 * check.h. */
#ifndef SPAWN_CAT_H
#define SPAWN_CAT_H

#include <fcntl.h>
#include <spawn.h>
#include <unistd.h>

extern char **environ;

/* Spawns the `cat` program at path `cat` with spawn attributes `attr` (may be
 * NULL); returns its pid and *wfd = the pipe's write end, or -1 (and a FAIL
 * line). */
static pid_t spawn_cat(const char *cat, posix_spawnattr_t *attr, int *wfd)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[0], 0);
    char *args[] = { (char *)cat, NULL };
    pid_t pid;
    fflush(stdout);
    int e = posix_spawn(&pid, cat, &fa, attr, args, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(p[0]);
    if (e) {
        printf("FAIL: posix_spawn: %s\n", errname(e));
        check_failures++;
        close(p[1]);
        return -1;
    }
    *wfd = p[1];
    return pid;
}

#endif
