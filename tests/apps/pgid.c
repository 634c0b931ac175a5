/* pgid.c -- process groups and sessions, as relative facts only (the group
 * and session the program starts in differ between a native run and the
 * LibOS): setpgid(0, 0) makes us a group leader (or we are a session leader
 * already, and then it fails with EPERM, as Linux does); a child spawned with
 * POSIX_SPAWN_SETPGROUP (pgroup 0) leads its own group; setsid() in a group
 * leader fails with EPERM; a vfork child's setsid() starts a session;
 * ESRCH/EINVAL/EACCES cases. Pids are compared, never printed.
 * Args: argv[1] = directory of the test programs. Prints "ok ..." lines, then
 * "all ok" (exit 0) or "FAIL: ..." (exit 1). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"

extern char **environ;
static char cat[512];

#include "spawn_cat.h"

static int reap(pid_t pid)
{
    int st = -1;
    pid_t r;
    do
        r = waitpid(pid, &st, 0);
    while (r == -1 && errno == EINTR);
    return r == pid ? st : -1;
}

static volatile pid_t v_pid, v_setsid, v_getsid, v_getpgrp, v_setpgid_err;

int main(int argc, char **argv)
{
    if (argc < 2) {
        printf("usage: pgid <dir of the test programs>\n");
        return 2;
    }
    snprintf(cat, sizeof cat, "%s/cat", argv[1]);
    pid_t me = getpid();
    long r;

    check(getpgid(0) == getpgrp() && getsid(0) == getsid(me), "getpgid(0) == getpgrp(), getsid(0) == getsid(getpid())");

    /* Become a process group leader. */
    int session_leader = getsid(0) == me;
    errno = 0;
    r = setpgid(0, 0);
    check((r == 0 && !session_leader) || (r == -1 && errno == EPERM && session_leader),
          "setpgid(0, 0): done, or EPERM for a session leader");
    check(getpgrp() == me, "getpgrp() == getpid()");
    check_eq(setpgid(0, 0) == 0 || (session_leader && errno == EPERM), 1, "setpgid(0, 0) again");
    errno = 0;
    r = setsid();
    check_err(r, errno, EPERM, "setsid() in a group leader");

    errno = 0;
    r = setpgid(0, -1);
    check_err(r, errno, EINVAL, "setpgid(0, -1)");

    /* A child in its own group. */
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    int wfd;
    pid_t child = spawn_cat(cat, &attr, &wfd);
    posix_spawnattr_destroy(&attr);
    if (child > 0) {
        check(getpgid(child) == child, "POSIX_SPAWN_SETPGROUP 0: getpgid(child) == child");
        check(getsid(child) == getsid(0), "the child is in our session");
        errno = 0;
        r = setpgid(child, child);
        check_err(r, errno, EACCES, "setpgid of a child after its execve");
        close(wfd);
        int st = reap(child);
        check(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child exited with 0");
        errno = 0;
        r = getpgid(child);
        check_err(r, errno, ESRCH, "getpgid of a reaped (nonexistent) pid");
        errno = 0;
        r = getsid(child);
        check_err(r, errno, ESRCH, "getsid of a reaped (nonexistent) pid");
        errno = 0;
        r = setpgid(child, 0);
        check_err(r, errno, ESRCH, "setpgid of a nonexistent pid");
    }

    /* A child spawned into our group. */
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, getpgrp());
    child = spawn_cat(cat, &attr, &wfd);
    posix_spawnattr_destroy(&attr);
    if (child > 0) {
        check(getpgid(child) == getpgrp(), "POSIX_SPAWN_SETPGROUP pgrp: the child is in our group");
        close(wfd);
        int st = reap(child);
        check(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child exited with 0");
    }

    /* A vfork child moves to its own group, then starts a session. */
    v_setsid = v_getsid = v_getpgrp = v_setpgid_err = -2;
    fflush(stdout);
    pid_t pid = vfork();
    if (pid == 0) {
        v_pid = getpid();
        /* The child is not a group leader, so setsid() succeeds... */
        v_setsid = setsid();
        v_getsid = getsid(0);
        v_getpgrp = getpgrp();
        /* ...and a session leader cannot change its group. */
        v_setpgid_err = setpgid(0, 0) == -1 ? errno : 0;
        _exit(0);
    }
    check(pid > 0, "vfork");
    if (pid > 0) {
        int st = reap(pid);
        check(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "the vfork child exited with 0");
        check(v_pid == pid, "the vfork child's getpid() is the pid vfork returned");
        check(v_setsid == pid, "setsid() in the vfork child returned its pid");
        check(v_getsid == pid, "getsid(0) == getpid() in the new session");
        check(v_getpgrp == pid, "getpgrp() == getpid() in the new session");
        check(v_setpgid_err == EPERM, "setpgid(0, 0) by a session leader: %s", errname(v_setpgid_err));
    }
    check(getsid(0) != pid && getpgrp() == me, "our own group and session are unchanged");
    return check_done();
}
