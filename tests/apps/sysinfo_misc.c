/* sysinfo_misc.c -- assorted simple syscalls: process ids, credentials, uname,
 * clocks (monotonic, realtime agreement), nanosleep, getrandom, sched_yield,
 * rlimits, fstat/lseek/ioctl on stdout, set_tid_address, arch_prctl(ARCH_GET_FS).
 * Args: none. Expects stdout to be a PIPE (prints "stdout: fifo"; the lseek
 * and ioctl lines assume a pipe). Prints facts, never raw ids or times. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include "errname.h"

#define ARCH_GET_FS 0x1003

static int fails;

static void report(int ok, const char *what)
{
    printf(ok ? "ok %s\n" : "FAIL: %s\n", what);
    fails += !ok;
}

static double ts_sec(struct timespec t) { return t.tv_sec + t.tv_nsec * 1e-9; }

int main(void)
{
    long pid = getpid(), tid = syscall(SYS_gettid);
    report(pid > 0, "getpid > 0");
    report(getppid() >= 0, "getppid >= 0");
    report(tid == pid, "gettid == getpid (main thread)");
    printf("uid=%d euid=%d gid=%d egid=%d\n", (int)getuid(), (int)geteuid(), (int)getgid(),
           (int)getegid());

    struct utsname u;
    report(uname(&u) == 0, "uname");
    printf("sysname=%s machine=%s\n", u.sysname, u.machine);

    struct timespec a, b;
    int mono_ok = clock_gettime(CLOCK_MONOTONIC, &a) == 0;
    for (int i = 0; i < 1000 && mono_ok; i++) {
        mono_ok = clock_gettime(CLOCK_MONOTONIC, &b) == 0 &&
                  (b.tv_sec > a.tv_sec || (b.tv_sec == a.tv_sec && b.tv_nsec >= a.tv_nsec));
        a = b;
    }
    report(mono_ok, "CLOCK_MONOTONIC non-decreasing over 1000 calls");

    struct timespec rt;
    struct timeval tv;
    report(clock_gettime(CLOCK_REALTIME, &rt) == 0, "clock_gettime(CLOCK_REALTIME)");
    report(gettimeofday(&tv, NULL) == 0, "gettimeofday");
    time_t t = time(NULL);
    double d1 = tv.tv_sec + tv.tv_usec * 1e-6 - ts_sec(rt), d2 = (double)t - ts_sec(rt);
    report(d1 > -2 && d1 < 2 && d2 > -2 && d2 < 2, "gettimeofday/time agree with CLOCK_REALTIME");
    report(rt.tv_sec > 1600000000, "CLOCK_REALTIME is after 2020");

    struct timespec ms = {0, 1000000}, before, after;
    clock_gettime(CLOCK_MONOTONIC, &before);
    report(nanosleep(&ms, NULL) == 0, "nanosleep 1 ms returns 0");
    clock_gettime(CLOCK_MONOTONIC, &after);
    report(ts_sec(after) - ts_sec(before) >= 0.001, "nanosleep slept >= 1 ms");

    unsigned char rnd[32];
    report(syscall(SYS_getrandom, rnd, sizeof rnd, 0) == 32, "getrandom 32 bytes");
    report(sched_yield() == 0, "sched_yield");

    struct rlimit rl, rl2;
    report(getrlimit(RLIMIT_STACK, &rl) == 0, "getrlimit(RLIMIT_STACK)");
    report(syscall(SYS_prlimit64, 0, RLIMIT_STACK, NULL, &rl2) == 0 && rl2.rlim_cur == rl.rlim_cur,
           "prlimit64(RLIMIT_STACK) matches getrlimit");

    struct stat st;
    report(fstat(1, &st) == 0, "fstat(stdout)");
    printf("stdout: %s\n", S_ISFIFO(st.st_mode) ? "fifo" : S_ISCHR(st.st_mode) ? "chr"
                           : S_ISREG(st.st_mode) ? "reg" : "other");
    fflush(stdout);
    errno = 0;
    long r = lseek(1, 0, SEEK_CUR);
    printf("lseek(stdout): %ld %s\n", r, r == -1 ? errname(errno) : "");
    struct termios tio;
    errno = 0;
    r = ioctl(1, TCGETS, &tio);
    printf("ioctl(stdout, TCGETS): %ld %s\n", r, r == -1 ? errname(errno) : "");

    static int ctid;
    report(syscall(SYS_set_tid_address, &ctid) == tid, "set_tid_address returns tid");

    unsigned long fs = 0, self;
    __asm__ volatile("mov %%fs:0, %0" : "=r"(self));
    report(syscall(SYS_arch_prctl, ARCH_GET_FS, &fs) == 0, "arch_prctl(ARCH_GET_FS)");
    report(fs == self && fs == (unsigned long)__builtin_thread_pointer(), "FS base == thread pointer");

    printf("%s\n", fails ? "FAILED" : "all ok");
    return fails ? 1 : 0;
}
