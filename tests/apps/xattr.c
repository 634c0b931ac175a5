/* xattr.c -- extended attributes in a fresh directory (argv[1]): set, get,
 * list and remove user.* attributes on a file and a directory, through
 * a path, a link and an fd, with XATTR_CREATE/XATTR_REPLACE, size
 * queries, and the errors of each. Prints "ok ..." lines and "all ok". */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>
#include "fsutil.h"

int main(int argc, char **argv)
{
    enter_workdir(argc, argv, 2, "xattr DIR");
    int fd = open("f", O_CREAT | O_RDWR, 0644);
    char v[64] = {0};
    CHECK_ERR(getxattr("f", "user.color", v, sizeof v), ENODATA, "getxattr of an unset attribute");
    check(setxattr("f", "user.color", "blue", 4, 0) == 0, "setxattr user.color");
    check(getxattr("f", "user.color", v, sizeof v) == 4 && !memcmp(v, "blue", 4), "getxattr reads it");
    check(getxattr("f", "user.color", NULL, 0) == 4, "getxattr with size 0: the size");
    CHECK_ERR(getxattr("f", "user.color", v, 2), ERANGE, "getxattr into too small a buffer");
    CHECK_ERR(setxattr("f", "user.color", "red", 3, XATTR_CREATE), EEXIST, "XATTR_CREATE of a set one");
    CHECK_ERR(setxattr("f", "user.size", "1", 1, XATTR_REPLACE), ENODATA, "XATTR_REPLACE of an unset one");
    check(setxattr("f", "user.color", "red", 3, XATTR_REPLACE) == 0 && getxattr("f", "user.color", v, sizeof v) == 3 &&
              !memcmp(v, "red", 3),
          "XATTR_REPLACE of a set one");
    check(fsetxattr(fd, "user.size", "", 0, 0) == 0 && fgetxattr(fd, "user.size", v, sizeof v) == 0,
          "an empty value through the fd");
    char list[256];
    ssize_t n = listxattr("f", list, sizeof list);
    int color = 0, size = 0;
    for (char *p = list; n > 0 && p < list + n; p += strlen(p) + 1) {
        color |= !strcmp(p, "user.color");
        size |= !strcmp(p, "user.size");
    }
    check(n == (ssize_t)(sizeof "user.color" + sizeof "user.size") && color && size, "listxattr: both names");
    check(flistxattr(fd, NULL, 0) == n, "flistxattr with size 0: the size");
    CHECK_ERR(listxattr("f", list, 3), ERANGE, "listxattr into too small a buffer");
    symlink("f", "l");
    check(getxattr("l", "user.color", v, sizeof v) == 3, "getxattr follows a link");
    CHECK_ERR(lgetxattr("l", "user.color", v, sizeof v), ENODATA, "lgetxattr reads the link itself");
    CHECK_ERR(lsetxattr("l", "user.x", "1", 1, 0), EPERM, "user.* attributes on a link");
    check(llistxattr("l", list, sizeof list) == 0, "llistxattr: the link itself has none");
    CHECK_ERR(lremovexattr("l", "user.color"), EPERM, "lremovexattr of user.* on a link");
    check(removexattr("f", "user.color") == 0, "removexattr");
    CHECK_ERR(removexattr("f", "user.color"), ENODATA, "removexattr of an unset attribute");
    check(fremovexattr(fd, "user.size") == 0 && listxattr("f", list, sizeof list) == 0, "nothing left");
    mkdir("d", 0755);
    check(setxattr("d", "user.tag", "dir", 3, 0) == 0 && getxattr("d", "user.tag", v, sizeof v) == 3,
          "an attribute on a directory");
    removexattr("d", "user.tag");
    CHECK_ERR(setxattr("f", "nonamespace", "1", 1, 0), EOPNOTSUPP, "a name without a known namespace");
    CHECK_ERR(setxattr("f", "user.x", "1", 1, 4), EINVAL, "unknown flags");
    CHECK_ERR(setxattr("missing", "user.x", "1", 1, 0), ENOENT, "a missing file");
    CHECK_ERR(setxattr("f", "", "1", 1, 0), ERANGE, "an empty name");
    close(fd);
    unlink("l");
    unlink("f");
    rmdir("d");
    check_workdir_empty();
    return check_done();
}
