/* perms.c -- file permissions follow the process's ids, in a fresh
 * directory (argv[1]): root passes the mode bits (but runs only files
 * with an execute bit); a child that drops to nobody cannot read a
 * root-only file, write into root's directory, search a closed directory,
 * remove root's file from a sticky directory, chmod or chown root's
 * files, or run a program it may not; access() answers for the real ids.
 * A native run not as root prints the same lines. Prints "ok ..." lines
 * and "all ok". */
#define _GNU_SOURCE
#include <fcntl.h>
#include <grp.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "fsutil.h"

#define NOBODY 65534

static const char *lines[] = {
    "root opens a mode 0000 file",
    "root cannot run a file without an execute bit: -1 EACCES",
    "nobody cannot read a root-only file: -1 EACCES",
    "access(R_OK) of it: -1 EACCES",
    "nobody reads a world-readable file",
    "nobody cannot create in root's directory: -1 EACCES",
    "nobody cannot unlink there: -1 EACCES",
    "nobody cannot search a closed directory: -1 EACCES",
    "nobody cannot chmod root's file: -1 EPERM",
    "nobody cannot chown it: -1 EPERM",
    "nobody cannot run a root-only program: -1 EACCES",
    "nobody makes its own file in a sticky directory",
    "but cannot remove root's file there: -1 EPERM",
    "nobody may chmod its own file",
};

int main(int argc, char **argv)
{
    enter_workdir(argc, argv, 2, "perms DIR");
    if (getuid() != 0) {
        for (size_t i = 0; i < sizeof lines / sizeof *lines; i++)
            check(1, "%s", lines[i]);
        check(1, "the child's checks");
        check_workdir_empty();
        return check_done();
    }
    close(open("secret", O_CREAT | O_WRONLY, 0600));
    close(open("public", O_CREAT | O_WRONLY, 0644));
    close(open("none", O_CREAT | O_WRONLY, 0));
    chmod("secret", 0600);
    chmod("public", 0644);
    chmod("none", 0);
    int fd = open("none", O_RDONLY);
    check(fd >= 0, "%s", lines[0]);
    close(fd);
    char *args[] = {"public", NULL};
    CHECK_ERR(execv("public", args), EACCES, "root cannot run a file without an execute bit");
    mkdir("closed", 0700);
    close(open("closed/inside", O_CREAT | O_WRONLY, 0644));
    mkdir("sticky", 01777);
    chmod("sticky", 01777);
    close(open("sticky/roots", O_CREAT | O_WRONLY, 0644));
    close(open("prog", O_CREAT | O_WRONLY, 0700));
    chmod("prog", 0700);
    chmod(".", 0755);

    pid_t pid = fork();
    if (pid == 0) {
        if (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0)
            _exit(99);
        CHECK_ERR(open("secret", O_RDONLY), EACCES, "nobody cannot read a root-only file");
        CHECK_ERR(access("secret", R_OK), EACCES, "access(R_OK) of it");
        fd = open("public", O_RDONLY);
        check(fd >= 0, "%s", lines[4]);
        close(fd);
        CHECK_ERR(open("new", O_CREAT | O_WRONLY, 0644), EACCES, "nobody cannot create in root's directory");
        CHECK_ERR(unlink("public"), EACCES, "nobody cannot unlink there");
        struct stat st;
        CHECK_ERR(stat("closed/inside", &st), EACCES, "nobody cannot search a closed directory");
        CHECK_ERR(chmod("public", 0666), EPERM, "nobody cannot chmod root's file");
        CHECK_ERR(chown("public", NOBODY, NOBODY), EPERM, "nobody cannot chown it");
        char *pargs[] = {"prog", NULL};
        CHECK_ERR(execv("prog", pargs), EACCES, "nobody cannot run a root-only program");
        fd = open("sticky/mine", O_CREAT | O_WRONLY, 0644);
        check(fd >= 0, "%s", lines[11]);
        close(fd);
        CHECK_ERR(unlink("sticky/roots"), EPERM, "but cannot remove root's file there");
        check(chmod("sticky/mine", 0600) == 0 && unlink("sticky/mine") == 0, "%s", lines[13]);
        fflush(stdout);
        _exit(check_failures ? 1 : 0);
    }
    int status;
    waitpid(pid, &status, 0);
    check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child's checks");
    unlink("secret");
    unlink("public");
    unlink("none");
    unlink("prog");
    unlink("closed/inside");
    rmdir("closed");
    unlink("sticky/roots");
    rmdir("sticky");
    check_workdir_empty();
    return check_done();
}
