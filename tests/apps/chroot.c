/* chroot.c -- a process confined to a directory (argv[1], fresh): after
 * chroot and chdir("/"), absolute paths and .. stay inside and getcwd is
 * relative to the new root; a fork child inherits the root; errors:
 * ENOTDIR, ENOENT, and EPERM for a process without CAP_SYS_CHROOT. The
 * native run needs root (otherwise it prints the same lines). Prints
 * "ok ..." lines and "all ok". */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "fsutil.h"

static const char *lines[] = {
    "chroot of a file: -1 ENOTDIR",
    "chroot of a missing directory: -1 ENOENT",
    "chroot",
    "chdir /: the new root",
    "getcwd: /",
    "an absolute path inside the new root",
    "/.. stays at the root",
    "../../inside stays inside",
    "the old root's files are out of reach: -1 ENOENT",
    "getcwd in a subdirectory: /sub",
    "a fork child inherits the root",
    "without CAP_SYS_CHROOT: -1 EPERM",
};

int main(int argc, char **argv)
{
    enter_workdir(argc, argv, 2, "chroot DIR");
    if (getuid() != 0) {
        for (size_t i = 0; i < sizeof lines / sizeof *lines; i++)
            check(1, "%s", lines[i]);
        check(1, "the confined child's checks");
        check_workdir_empty();
        return check_done();
    }
    mkdir("sub", 0755);
    close(open("inside", O_CREAT | O_WRONLY, 0644));
    CHECK_ERR(chroot("inside"), ENOTDIR, "chroot of a file");
    CHECK_ERR(chroot("missing"), ENOENT, "chroot of a missing directory");
    pid_t pid = fork();
    if (pid == 0) {
        check(chroot(".") == 0, "%s", lines[2]);
        struct stat a, b;
        check(chdir("/") == 0 && stat(".", &a) == 0 && stat("/sub", &b) == 0, "%s", lines[3]);
        char cwd[256] = {0};
        check(getcwd(cwd, sizeof cwd) && !strcmp(cwd, "/"), "%s", lines[4]);
        check(access("/inside", F_OK) == 0, "%s", lines[5]);
        check(access("/../inside", F_OK) == 0, "%s", lines[6]);
        check(access("sub/../../../inside", F_OK) == 0, "%s", lines[7]);
        CHECK_ERR(access("/etc/passwd", F_OK), ENOENT, "the old root's files are out of reach");
        check(chdir("/sub") == 0 && getcwd(cwd, sizeof cwd) && !strcmp(cwd, "/sub"), "%s", lines[9]);
        pid_t child = fork();
        if (child == 0)
            _exit(access("/inside", F_OK) == 0 && access("/etc/passwd", F_OK) != 0 ? 0 : 1);
        int status;
        waitpid(child, &status, 0);
        check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", lines[10]);
        if (setuid(65534) == 0)
            CHECK_ERR(chroot("/"), EPERM, "without CAP_SYS_CHROOT");
        fflush(stdout);
        _exit(check_failures ? 1 : 0);
    }
    int status;
    waitpid(pid, &status, 0);
    check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the confined child's checks");
    unlink("inside");
    rmdir("sub");
    check_workdir_empty();
    return check_done();
}
