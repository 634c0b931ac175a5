/* wait.c -- waiting for children: ECHILD without children; WNOHANG while a
 * child (<dir>/cat reading a pipe) runs; reaping after it exits; waitid with
 * WNOWAIT leaving the child waitable; waitid(P_ALL, WNOHANG) with a running
 * child; waitpid(0) and waitpid(-pgid); EINVAL for bad options; ECHILD for a
 * pid that is not a child; an orphan's getppid() moving away from its
 * parent once that exits. Pids are compared, never printed.
 * Args: argv[1] = directory of the test programs. Prints "ok ..." lines, then
 * "all ok" (exit 0) or "FAIL: ..." (exit 1). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"

extern char **environ;
static char cat[512], exit_code[512];

#include "spawn_cat.h"

static pid_t spawn_exit(const char *code)
{
    char *args[] = { exit_code, (char *)code, NULL };
    pid_t pid;
    fflush(stdout);
    return posix_spawn(&pid, exit_code, NULL, NULL, args, environ) ? -1 : pid;
}

static void fill(siginfo_t *si)
{
    memset(si, 0x55, sizeof *si);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        printf("usage: wait <dir of the test programs>\n");
        return 2;
    }
    snprintf(cat, sizeof cat, "%s/cat", argv[1]);
    snprintf(exit_code, sizeof exit_code, "%s/exit_code", argv[1]);
    int st;
    pid_t r;
    siginfo_t si;

    errno = 0;
    r = waitpid(-1, &st, WNOHANG);
    check_err(r, errno, ECHILD, "waitpid(-1, WNOHANG) without children");
    errno = 0;
    r = waitpid(-1, &st, 0);
    check_err(r, errno, ECHILD, "waitpid(-1) without children");
    errno = 0;
    r = waitid(P_ALL, 0, &si, WEXITED);
    check_err(r, errno, ECHILD, "waitid(P_ALL) without children");

    /* Bad options and non-children. */
    errno = 0;
    r = waitpid(-1, &st, 0x00100000);
    check_err(r, errno, EINVAL, "waitpid with bad options");
    errno = 0;
    r = waitid(P_ALL, 0, &si, WNOHANG);
    check_err(r, errno, EINVAL, "waitid without WEXITED/WSTOPPED/WCONTINUED");
    errno = 0;
    r = waitid(7, 0, &si, WEXITED);
    check_err(r, errno, EINVAL, "waitid with a bad idtype");
    errno = 0;
    r = wait4(getpid(), &st, 0, NULL);
    check_err(r, errno, ECHILD, "wait4 of our own pid (not a child)");
    errno = 0;
    r = wait4(getppid(), &st, WNOHANG, NULL);
    check_err(r, errno, ECHILD, "wait4 of our parent (not a child)");

    /* A running child. */
    int wfd;
    pid_t pid = spawn_cat(cat, NULL, &wfd);
    check(pid > 0, "spawned cat");
    if (pid <= 0)
        return check_done();
    check_eq(waitpid(pid, &st, WNOHANG), 0, "waitpid(pid, WNOHANG) while it runs -> 0");
    check_eq(waitpid(-1, &st, WNOHANG), 0, "waitpid(-1, WNOHANG) while it runs -> 0");
    fill(&si);
    r = waitid(P_ALL, 0, &si, WEXITED | WNOHANG);
    check_eq(r, 0, "waitid(P_ALL, WEXITED|WNOHANG) while it runs -> 0");
    check_eq(si.si_pid, 0, "... and si_pid == 0");
    fill(&si);
    r = waitid(P_PID, pid, &si, WEXITED | WNOHANG);
    check(r == 0 && si.si_pid == 0, "waitid(P_PID, WEXITED|WNOHANG) while it runs -> 0, si_pid 0");

    /* The child exits when its stdin is closed. */
    close(wfd);
    do
        r = waitpid(pid, &st, 0);
    while (r == -1 && errno == EINTR);
    check(r == pid, "waitpid(pid) reaped cat");
    check(r == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0, "cat exited with 0");
    errno = 0;
    r = waitpid(pid, &st, WNOHANG);
    check_err(r, errno, ECHILD, "waitpid of the reaped child");

    /* WNOWAIT leaves the child waitable. */
    pid = spawn_exit("9");
    check(pid > 0, "spawned exit_code 9");
    fill(&si);
    r = waitid(P_PID, pid, &si, WEXITED | WNOWAIT);
    check(r == 0 && si.si_pid == pid, "waitid(P_PID, WNOWAIT): si_pid == pid");
    check(si.si_signo == SIGCHLD && si.si_code == CLD_EXITED, "si_signo == SIGCHLD, si_code == CLD_EXITED");
    check_eq(si.si_status, 9, "si_status == 9");
    fill(&si);
    r = waitid(P_ALL, 0, &si, WEXITED | WNOWAIT | WNOHANG);
    check(r == 0 && si.si_pid == pid && si.si_status == 9, "waitid(P_ALL, WNOWAIT) sees it again");
    do
        r = waitpid(pid, &st, 0);
    while (r == -1 && errno == EINTR);
    check(r == pid && WIFEXITED(st) && WEXITSTATUS(st) == 9, "waitpid then reaps it: status 9");
    errno = 0;
    r = waitid(P_PID, pid, &si, WEXITED | WNOHANG);
    check_err(r, errno, ECHILD, "waitid after it was reaped");

    /* waitid reaps (no WNOWAIT). */
    pid = spawn_exit("4");
    fill(&si);
    r = waitid(P_PID, pid, &si, WEXITED);
    check(r == 0 && si.si_pid == pid && si.si_code == CLD_EXITED && si.si_status == 4,
          "waitid(P_PID, WEXITED) reaps exit_code 4");
    errno = 0;
    r = waitpid(pid, &st, WNOHANG);
    check_err(r, errno, ECHILD, "nothing left after waitid");

    /* waitpid(0): a child in our process group; waitpid(-pgid) likewise. */
    pid = spawn_exit("11");
    do
        r = waitpid(0, &st, 0);
    while (r == -1 && errno == EINTR);
    check(r == pid && WEXITSTATUS(st) == 11, "waitpid(0) reaps a child of our group");
    pid = spawn_exit("12");
    do
        r = waitpid(-getpgrp(), &st, 0);
    while (r == -1 && errno == EINTR);
    check(r == pid && WEXITSTATUS(st) == 12, "waitpid(-pgid) reaps a child of that group");
    pid = spawn_exit("13");
    fill(&si);
    r = waitid(P_PGID, getpgrp(), &si, WEXITED);
    check(r == 0 && si.si_pid == pid && si.si_status == 13, "waitid(P_PGID) reaps a child of that group");

    /* wait4 with rusage. */
    pid = spawn_exit("0");
    struct rusage ru;
    do
        r = wait4(pid, &st, 0, &ru);
    while (r == -1 && errno == EINTR);
    check(r == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0, "wait4(pid, rusage) reaps exit_code 0");

    errno = 0;
    r = waitpid(-1, &st, 0);
    check_err(r, errno, ECHILD, "waitpid(-1) at the end");

    /* An orphan: its getppid() moves away from its parent once that exits
     * (to init, or a subreaper natively: only the change is checked). */
    int pfd[2];
    check(pipe(pfd) == 0, "pipe for the orphan");
    pid = fork();
    if (pid == 0) {
        pid_t mid = getpid();
        if (fork() == 0) {
            int moved = 0;
            for (int i = 0; i < 5000 && !moved; i++) {
                moved = getppid() != mid;
                if (!moved)
                    usleep(1000);
            }
            char c = moved ? 'y' : 'n';
            _exit(write(pfd[1], &c, 1) == 1 ? 0 : 1);
        }
        _exit(0);
    }
    close(pfd[1]);
    do
        r = waitpid(pid, &st, 0);
    while (r == -1 && errno == EINTR);
    char moved = 0;
    check(read(pfd[0], &moved, 1) == 1 && moved == 'y',
          "an orphan's getppid() changes once its parent exits");
    close(pfd[0]);
    /* Where this process adopts orphans (init of a pid namespace), it
     * reaps the grandchild here. */
    while (waitpid(-1, &st, 0) > 0 || errno == EINTR)
        ;

    return check_done();
}
