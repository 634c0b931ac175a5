/* legacy_calls.c -- older or narrower forms of calls that libcs route to
 * newer ones, called directly: gettimeofday, time, clock_gettime/getres
 * (the kernel's, not the vDSO's), getrlimit/setrlimit, setregid,
 * setresgid/getresgid, setfsgid, utime, utimes, epoll_create,
 * inotify_init, signalfd, eventfd, get_robust_list, rt_tgsigqueueinfo,
 * preadv2/pwritev2, mbind. Prints "ok ..." lines and "all ok". */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "check.h"

struct kernel_rlimit {
    unsigned long cur, max;
};

int main(void)
{
    struct timeval tv;
    check(syscall(SYS_gettimeofday, &tv, NULL) == 0 && tv.tv_sec > 1600000000, "gettimeofday");
    long t = syscall(SYS_time, NULL);
    check(t > 1600000000, "time");
    struct timespec ts;
    check(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts) == 0, "clock_gettime");
    check(syscall(SYS_clock_getres, CLOCK_REALTIME, &ts) == 0 && ts.tv_sec == 0, "clock_getres");
    CHECK_ERR(syscall(SYS_clock_gettime, 99, &ts), EINVAL, "clock_gettime of a bad clock");

    struct kernel_rlimit rl;
    check(syscall(SYS_getrlimit, RLIMIT_NOFILE, &rl) == 0 && rl.cur <= rl.max, "getrlimit");
    struct kernel_rlimit lower = {rl.cur > 64 ? 64 : rl.cur, rl.max};
    check(syscall(SYS_setrlimit, RLIMIT_NOFILE, &lower) == 0 && syscall(SYS_getrlimit, RLIMIT_NOFILE, &rl) == 0 &&
              rl.cur == lower.cur,
          "setrlimit lowers the soft limit");
    CHECK_ERR(syscall(SYS_getrlimit, 99, &rl), EINVAL, "getrlimit of a bad resource");

    if (getuid() == 0) {
        pid_t pid = fork();
        if (pid == 0) {
            unsigned r, e, s;
            int ok = syscall(SYS_setregid, 100, 200) == 0 && syscall(SYS_getresgid, &r, &e, &s) == 0 && r == 100 &&
                     e == 200 && s == 200;
            ok = ok && syscall(SYS_setresgid, 300, -1, -1) == 0 && syscall(SYS_getresgid, &r, &e, &s) == 0 &&
                 r == 300 && e == 200;
            ok = ok && syscall(SYS_setfsgid, 400) == 200 && syscall(SYS_setfsgid, -1) == 400;
            _exit(ok ? 0 : 1);
        }
        int status;
        waitpid(pid, &status, 0);
        check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "setregid, setresgid, getresgid, setfsgid");
    } else {
        check(1, "setregid, setresgid, getresgid, setfsgid");
    }

    char path[] = "/tmp/legacy_XXXXXX";
    int fd = mkstemp(path);
    struct {
        long actime, modtime;
    } ut = {1000000000, 1000000001};
    struct stat st;
    check(syscall(SYS_utime, path, &ut) == 0 && stat(path, &st) == 0 && st.st_mtime == 1000000001, "utime");
    struct timeval two[2] = {{1100000000, 0}, {1100000001, 0}};
    check(syscall(SYS_utimes, path, two) == 0 && stat(path, &st) == 0 && st.st_mtime == 1100000001, "utimes");
    char a[] = "ab", b[] = "cd";
    struct iovec w[2] = {{a, 2}, {b, 2}};
    check(syscall(SYS_pwritev2, fd, w, 2, 0, 0, 0) == 4, "pwritev2");
    char r1[3] = {0}, r2[3] = {0};
    struct iovec r[2] = {{r1, 2}, {r2, 2}};
    check(syscall(SYS_preadv2, fd, r, 2, 0, 0, 0) == 4 && !strcmp(r1, "ab") && !strcmp(r2, "cd"), "preadv2");
    close(fd);
    unlink(path);

    int ep = syscall(SYS_epoll_create, 1);
    check(ep >= 0, "epoll_create");
    CHECK_ERR(syscall(SYS_epoll_create, 0), EINVAL, "epoll_create with size 0");
    close(ep);
    int in = syscall(SYS_inotify_init);
    check(in >= 0, "inotify_init");
    close(in);
    uint64_t mask = 1ull << (SIGUSR1 - 1);
    int sfd = syscall(SYS_signalfd, -1, &mask, 8);
    check(sfd >= 0, "signalfd");
    close(sfd);
    int efd = syscall(SYS_eventfd, 3);
    uint64_t c = 0;
    check(efd >= 0 && read(efd, &c, 8) == 8 && c == 3, "eventfd with an initial value");
    close(efd);

    void *head;
    size_t len;
    check(syscall(SYS_get_robust_list, 0, &head, &len) == 0 && len > 0, "get_robust_list");
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    siginfo_t info;
    memset(&info, 0, sizeof info);
    info.si_code = SI_QUEUE;
    info.si_value.sival_int = 77;
    info.si_pid = getpid();
    check(syscall(SYS_rt_tgsigqueueinfo, getpid(), syscall(SYS_gettid), SIGUSR1, &info) == 0, "rt_tgsigqueueinfo");
    siginfo_t got;
    check(sigwaitinfo(&set, &got) == SIGUSR1 && got.si_code == SI_QUEUE && got.si_value.sival_int == 77,
          "its signal, with the value");
    CHECK_ERR(syscall(SYS_rt_tgsigqueueinfo, getpid(), 999999, SIGUSR1, &info), ESRCH, "to no such thread");

    long page = sysconf(_SC_PAGESIZE);
    char *m = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    long rc = syscall(SYS_mbind, m, page, 0, NULL, 0, 0);
    check(rc == 0 || errno == ENOSYS, "mbind MPOL_DEFAULT (or a kernel without NUMA)");
    if (rc == 0) {
        CHECK_ERR(syscall(SYS_mbind, m + 1, page, 0, NULL, 0, 0), EINVAL, "mbind of an unaligned address");
        CHECK_ERR(syscall(SYS_mbind, m, page, 0, NULL, 0, 64), EINVAL, "mbind with an unknown flag");
    } else {
        check(1, "mbind of an unaligned address: -1 EINVAL");
        check(1, "mbind with an unknown flag: -1 EINVAL");
    }
    munmap(m, page);
    return check_done();
}
