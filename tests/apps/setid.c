/* setid.c -- setid PATH: makes PATH a set-user-ID and set-group-ID file
 * owned by 1234:5678 and PATH.d a set-group-ID directory, and prints what
 * stat says of them (mode in octal, owner). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void show(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        perror(path);
        return;
    }
    printf("%o %u:%u\n", (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid, (unsigned)st.st_gid);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    char dir[512];
    snprintf(dir, sizeof dir, "%s.d", argv[1]);
    int fd = open(argv[1], O_CREAT | O_WRONLY | O_TRUNC, 04755);
    if (fd < 0 || write(fd, "#!/bin/sh\n", 10) != 10)
        perror("create");
    close(fd);
    show(argv[1]);
    if (chown(argv[1], 1234, 5678) != 0 || chmod(argv[1], 06755) != 0)
        perror("chown/chmod");
    show(argv[1]);
    if (mkdir(dir, 02755) != 0)
        perror("mkdir");
    show(dir);
    if (chmod(dir, 02755) != 0)
        perror("chmod");
    show(dir);
    return 0;
}
