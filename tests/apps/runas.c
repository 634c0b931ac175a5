/* runas.c -- a helper for tests of programs that refuse to run as root
 * (PostgreSQL): runas UID GID DIR PROG ARGS... makes DIR (mode 0700, owned
 * by UID:GID) if missing, drops to UID:GID with no supplementary groups,
 * and runs PROG. Not a differential test by itself. */
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: runas UID GID DIR PROG ARGS...\n");
        return 2;
    }
    uid_t uid = (uid_t)atoi(argv[1]);
    gid_t gid = (gid_t)atoi(argv[2]);
    if (mkdir(argv[3], 0700) == 0 && chown(argv[3], uid, gid) != 0) {
        perror("runas: chown");
        return 3;
    }
    if (setgroups(0, NULL) != 0 || setgid(gid) != 0 || setuid(uid) != 0) {
        perror("runas: dropping to the user");
        return 3;
    }
    execv(argv[4], argv + 4);
    perror("runas: execv");
    return 4;
}
