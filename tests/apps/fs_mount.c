/* fs_mount.c -- mount(2) and umount2(2) of the file systems a program may
 * mount by itself inside the LibOS (ramfs/tmpfs, proc). Usage: fs_mount DIR
 * Run only inside the LibOS: natively it needs CAP_SYS_ADMIN, which test
 * machines (containers) may not grant. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fsutil.h"

int main(int argc, char **argv)
{
    enter_workdir(argc, argv, 2, "fs_mount DIR");
    struct stat before, after;
    check_eq(mkdir("m", 0755), 0, "mkdir m");
    check_eq(stat("m", &before), 0, "stat m");
    check_eq(mount("none", "m", "tmpfs", 0, NULL), 0, "mount tmpfs on m");
    check(stat("m", &after) == 0 && after.st_dev != before.st_dev, "m is now another file system");
    int fd = open("m/x", O_CREAT | O_WRONLY, 0644);
    check(fd >= 0 && write(fd, "hi", 2) == 2 && close(fd) == 0, "create m/x");
    check_eq(access("m/x", F_OK), 0, "m/x exists");
    check_eq(mount(NULL, "m", NULL, MS_REMOUNT | MS_RDONLY, NULL), 0, "remount m read-only");
    CHECK_ERR(open("m/y", O_CREAT | O_WRONLY, 0644), EROFS, "no new file on a read-only tmpfs");
    CHECK_ERR(open("m/x", O_WRONLY), EROFS, "no writing either");
    check_eq(access("m/x", R_OK), 0, "reading still works");
    check_eq(mount(NULL, "m", NULL, MS_REMOUNT, NULL), 0, "remount m read-write");
    fd = open("m/y", O_CREAT | O_WRONLY, 0644);
    check(fd >= 0 && close(fd) == 0, "writable again");
    mkdir("d", 0755);
    CHECK_ERR(mount(NULL, "d", NULL, MS_REMOUNT | MS_RDONLY, NULL), EINVAL, "remount of a directory that is not a mount point");
    rmdir("d");
    check_eq(umount2("m", 0), 0, "umount2 m");
    CHECK_ERR(access("m/x", F_OK), ENOENT, "after umount, m/x is gone");
    check(stat("m", &after) == 0 && after.st_dev == before.st_dev, "m is the old directory again");
    CHECK_ERR(umount2("m", 0), EINVAL, "umount2 of a directory that is not a mount point");
    CHECK_ERR(mount("none", "m", "nosuchfs", 0, NULL), ENODEV, "mount of an unknown type");
    CHECK_ERR(mount("none", "missing", "tmpfs", 0, NULL), ENOENT, "mount on a missing directory");
    fd = open("f", O_CREAT | O_WRONLY, 0644);
    close(fd);
    CHECK_ERR(mount("none", "f", "tmpfs", 0, NULL), ENOTDIR, "mount on a file");
    CHECK_ERR(mount("m", "m", NULL, MS_BIND, NULL), EINVAL, "bind mounts are not supported");
    CHECK_ERR(umount2("m", 0x100), EINVAL, "umount2 with bad flags");
    check_eq(mount("proc", "m", "proc", 0, NULL), 0, "mount proc on m");
    check_eq(access("m/self/status", R_OK), 0, "m/self/status is there");
    check_eq(umount2("m", MNT_DETACH), 0, "umount2 MNT_DETACH");
    check(unlink("f") == 0 && rmdir("m") == 0, "remove f and m");
    return check_done();
}
