/* creds.c -- user and group ids (run as root): a child drops root as
 * daemons do (setgroups, setgid, setuid) and can never get it back; the saved
 * set-user-ID lets a process switch its effective uid back and forth; the ids
 * are inherited across fork and exec, show in /proc/self/status, and bad
 * calls fail as on Linux. Prints "ok ..." lines, then "all ok". */
#define _GNU_SOURCE
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"

static int wait_status(pid_t pid)
{
    int st;
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int status_line(const char *key, char *out, size_t n)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    int found = 0;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, key, strlen(key))) {
            snprintf(out, n, "%s", line + strlen(key));
            found = 1;
        }
    if (f)
        fclose(f);
    return found;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    check(getuid() == 0 && geteuid() == 0 && getgid() == 0 && getegid() == 0, "running as root");

    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        gid_t g[2] = {4, 24};
        int bad = 0;
        bad |= setgroups(2, g) != 0;
        gid_t back[4];
        bad |= getgroups(0, NULL) != 2 || getgroups(4, back) != 2 || back[1] != 24;
        bad |= (getgroups(1, back) != -1 || errno != EINVAL) << 1;
        bad |= (setgid(65534) != 0) << 2;
        bad |= (setuid(65534) != 0) << 3;
        uid_t r, e, s;
        getresuid(&r, &e, &s);
        bad |= (r != 65534 || e != 65534 || s != 65534) << 4;
        bad |= (setuid(0) != -1 || errno != EPERM) << 5;
        bad |= (setgroups(0, NULL) != -1 || errno != EPERM) << 6;
        bad |= (seteuid(0) != -1 || errno != EPERM) << 7;
        char line[128] = "";
        status_line("Uid:", line, sizeof line);
        bad |= (strcmp(line, "\t65534\t65534\t65534\t65534\n") != 0) << 8;
        status_line("Groups:", line, sizeof line);
        bad |= (strncmp(line, "\t4 24", 5) != 0) << 9;
        if (fork() == 0)
            _exit(getuid() == 65534 && getgid() == 65534 ? 0 : 1);
        int st;
        wait(&st);
        bad |= (!WIFEXITED(st) || WEXITSTATUS(st) != 0) << 10;
        _exit(bad ? 100 + __builtin_ctz(bad) : 0);
    }
    check_eq(wait_status(pid), 0, "a child drops root for good; its child inherits the ids");

    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        int bad = 0;
        bad |= setresuid(1000, 1000, 0) != 0;
        bad |= (geteuid() != 1000) << 1;
        bad |= (seteuid(0) != 0) << 2;
        bad |= (geteuid() != 0 || getuid() != 1000) << 3;
        bad |= (setreuid(-1, 1000) != 0) << 4;
        uid_t r, e, s;
        getresuid(&r, &e, &s);
        /* The new effective uid is the old real one: the saved id stays. */
        bad |= (r != 1000 || e != 1000 || s != 0) << 5;
        bad |= (setfsuid(0) != 1000) << 6;
        bad |= (setfsuid(-1) != 0) << 7;
        bad |= (setfsuid(4321) != 0 || setfsuid(-1) != 0) << 8;
        _exit(bad ? 100 + __builtin_ctz(bad) : 0);
    }
    check_eq(wait_status(pid), 0, "the saved set-user-ID switches the effective uid back");

    check_eq(setgid(0), 0, "root may setgid to its own id");
    CHECK_ERR(setuid(-1), EINVAL, "setuid(-1)");
    return check_done();
}
