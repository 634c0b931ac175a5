/* abi_edges.c -- edge cases where the LibOS once differed from Linux:
 * PR_SET/GET_TIMERSLACK, futimesat on a descriptor, utimensat with no
 * path and AT_SYMLINK_NOFOLLOW, epoll refusing regular files, statfs of
 * /dev/shm (tmpfs), fallocate punching holes and zeroing ranges, sysinfo's
 * uptime, /proc/sys (limits and names programs read), and the signal
 * sets of /proc/self/status, PROT_GROWSDOWN. Prints "ok ..."
 * lines and "all ok". */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
#include <unistd.h>
#include "check.h"

#ifndef FALLOC_FL_ZERO_RANGE
#define FALLOC_FL_ZERO_RANGE 0x10
#endif
#ifndef FALLOC_FL_PUNCH_HOLE
#define FALLOC_FL_PUNCH_HOLE 0x02
#endif

static long read_num(const char *path)
{
    char buf[64] = {0};
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    long n = read(fd, buf, sizeof buf - 1);
    close(fd);
    return n > 0 ? atol(buf) : -1;
}

static int read_text(const char *path, char *buf, size_t cap)
{
    memset(buf, 0, cap);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    int n = read(fd, buf, cap - 1);
    close(fd);
    if (n > 0 && buf[n - 1] == '\n')
        buf[--n] = 0;
    return n;
}

static void on_term(int sig)
{
    (void)sig;
}

/* The hex set after `key` in /proc/self/status. */
static unsigned long long status_set(const char *key)
{
    char buf[8192];
    if (read_text("/proc/self/status", buf, sizeof buf) <= 0)
        return ~0ull;
    char *p = strstr(buf, key);
    return p ? strtoull(p + strlen(key), NULL, 16) : ~0ull;
}

/* /proc/self/status shows the blocked, ignored, caught and pending sets. */
static void signal_sets(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGUSR2, SIG_IGN);
    signal(SIGTERM, on_term);
    kill(getpid(), SIGUSR1);
    unsigned long long bit = 1ull << (SIGUSR1 - 1);
    check(status_set("SigBlk:\t") & bit, "/proc/self/status SigBlk: SIGUSR1");
    check(status_set("SigIgn:\t") & (1ull << (SIGUSR2 - 1)), "SigIgn: SIGUSR2");
    check(status_set("SigCgt:\t") & (1ull << (SIGTERM - 1)), "SigCgt: SIGTERM");
    check((status_set("ShdPnd:\t") | status_set("SigPnd:\t")) & bit, "SigPnd/ShdPnd: the pending SIGUSR1");
    signal(SIGUSR1, SIG_IGN);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
}

/* PROT_GROWSDOWN applies to the stack, a grows-down mapping, only. */
static void growsdown(void)
{
    volatile char local = 1;
    long page = sysconf(_SC_PAGESIZE);
    char *p = (char *)((unsigned long)&local & ~(unsigned long)(page - 1));
    check(mprotect(p, page, PROT_READ | PROT_WRITE | PROT_GROWSDOWN) == 0 && local == 1,
          "mprotect PROT_GROWSDOWN on the stack");
    char *m = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK_ERR(mprotect(m, page, PROT_READ | PROT_GROWSDOWN), EINVAL, "PROT_GROWSDOWN on another mapping");
    CHECK_ERR(mprotect(m, page, PROT_READ | PROT_GROWSUP), EINVAL, "PROT_GROWSUP");
    munmap(m, page);
}

int main(void)
{
    check(prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0) > 0, "PR_GET_TIMERSLACK: a slack");
    check(prctl(PR_SET_TIMERSLACK, 123456, 0, 0, 0) == 0 && prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0) == 123456,
          "PR_SET_TIMERSLACK, read back");

    char path[] = "/tmp/abi_edges_XXXXXX";
    int fd = mkstemp(path);
    struct timeval tv[2] = {{1000, 0}, {2000, 0}};
    struct stat st;
    check(syscall(SYS_futimesat, fd, NULL, tv) == 0 && fstat(fd, &st) == 0 && st.st_mtime == 2000,
          "futimesat with no path sets the descriptor's file");
    struct timespec ts[2] = {{1, 0}, {2, 0}};
    CHECK_ERR(syscall(SYS_utimensat, fd, NULL, ts, AT_SYMLINK_NOFOLLOW), EINVAL,
              "utimensat with no path and AT_SYMLINK_NOFOLLOW");
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN};
    CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), EPERM, "epoll_ctl of a regular file");
    int dir = open("/tmp", O_RDONLY | O_DIRECTORY);
    CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_ADD, dir, &ev), EPERM, "epoll_ctl of a directory");
    close(dir);
    close(ep);

    char data[8192];
    memset(data, 'x', sizeof data);
    write(fd, data, sizeof data);
    check(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 100, 200) == 0, "fallocate PUNCH_HOLE");
    char back[400];
    pread(fd, back, sizeof back, 0);
    int zeros = 1, kept = back[99] == 'x' && back[300] == 'x';
    for (int i = 100; i < 300; i++)
        zeros &= back[i] == 0;
    check(zeros && kept && fstat(fd, &st) == 0 && st.st_size == 8192, "the hole reads as zeros, the size stays");
    CHECK_ERR(fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 10), EOPNOTSUPP, "PUNCH_HOLE without KEEP_SIZE");
    check(fallocate(fd, FALLOC_FL_ZERO_RANGE, 8000, 1000) == 0 && fstat(fd, &st) == 0 && st.st_size == 9000,
          "ZERO_RANGE past the end grows the file");
    pread(fd, back, 10, 8100);
    check(back[0] == 0 && back[9] == 0, "the range reads as zeros");
    close(fd);
    unlink(path);

    struct statfs sf;
    check(statfs("/dev/shm", &sf) == 0 && sf.f_type == 0x01021994, "/dev/shm is a tmpfs");
    struct sysinfo si;
    check(sysinfo(&si) == 0 && si.uptime > 0, "sysinfo: uptime above 0");

    check(read_num("/proc/sys/kernel/pid_max") > 1000, "/proc/sys/kernel/pid_max");
    check(read_num("/proc/sys/fs/file-max") > 1000, "/proc/sys/fs/file-max");
    check(read_num("/proc/sys/fs/pipe-max-size") >= 65536, "/proc/sys/fs/pipe-max-size");
    check(read_num("/proc/sys/kernel/ngroups_max") == 65536, "/proc/sys/kernel/ngroups_max");
    check(read_num("/proc/sys/vm/overcommit_memory") >= 0, "/proc/sys/vm/overcommit_memory");
    check(read_num("/proc/sys/net/core/somaxconn") > 0, "/proc/sys/net/core/somaxconn");
    char a[64], b[64];
    check(read_text("/proc/sys/kernel/ostype", a, sizeof a) > 0 && !strcmp(a, "Linux"), "/proc/sys/kernel/ostype");
    struct utsname u;
    uname(&u);
    check(read_text("/proc/sys/kernel/osrelease", a, sizeof a) > 0 && !strcmp(a, u.release),
          "/proc/sys/kernel/osrelease is uname's release");
    check(read_text("/proc/sys/kernel/hostname", a, sizeof a) > 0 && !strcmp(a, u.nodename),
          "/proc/sys/kernel/hostname is uname's node name");
    check(read_text("/proc/sys/kernel/random/uuid", a, sizeof a) == 36 &&
              read_text("/proc/sys/kernel/random/uuid", b, sizeof b) == 36 && strcmp(a, b) && a[14] == '4',
          "/proc/sys/kernel/random/uuid: a new version-4 UUID each read");
    check(read_text("/proc/sys/kernel/random/boot_id", a, sizeof a) == 36 &&
              read_text("/proc/sys/kernel/random/boot_id", b, sizeof b) == 36 && !strcmp(a, b),
          "/proc/sys/kernel/random/boot_id stays");
    DIR *d = opendir("/proc/sys");
    int kernel = 0, fs = 0, vm = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        kernel |= !strcmp(e->d_name, "kernel") && e->d_type == DT_DIR;
        fs |= !strcmp(e->d_name, "fs");
        vm |= !strcmp(e->d_name, "vm");
    }
    if (d)
        closedir(d);
    check(kernel && fs && vm, "/proc/sys lists kernel, fs and vm");
    signal_sets();
    growsdown();
    return check_done();
}
