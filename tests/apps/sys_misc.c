/* sys_misc.c -- calls programs make to ask about or tune the system:
 * capget/capset (and the capabilities dropped by leaving uid 0),
 * fadvise64, readahead, sync_file_range, fchmodat2, membarrier,
 * adjtimex/clock_adjtime (reading), sethostname/setdomainname (to the
 * current names, so a native run changes nothing), syslog, the NUMA
 * memory policies, unshare and setns. Values that differ between machines are only
 * compared. Prints "ok ..." lines and "all ok". */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timex.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "check.h"

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

struct cap_header {
    uint32_t version;
    int pid;
};
struct cap_data {
    uint32_t effective, permitted, inheritable;
};
#define CAP_V3 0x20080522

static int capget_(struct cap_header *h, struct cap_data *d)
{
    return syscall(SYS_capget, h, d);
}

static int capset_(struct cap_header *h, struct cap_data *d)
{
    return syscall(SYS_capset, h, d);
}

static void capabilities(void)
{
    struct cap_header h = {CAP_V3, 0};
    struct cap_data d[2];
    check(capget_(&h, d) == 0, "capget");
    int subset = (d[0].effective & ~d[0].permitted) == 0 && (d[1].effective & ~d[1].permitted) == 0;
    check(subset, "effective within permitted");
    if (getuid() == 0 && d[0].effective != 0) {
        /* Drop the highest effective capability, then raise it again. */
        int bit = 31;
        while (!(d[0].effective & (1u << bit)))
            bit--;
        struct cap_data fewer[2] = {d[0], d[1]};
        fewer[0].effective &= ~(1u << bit);
        struct cap_data got[2];
        int ok = capset_(&h, fewer) == 0 && capget_(&h, got) == 0 && !(got[0].effective & (1u << bit));
        ok = ok && capset_(&h, d) == 0 && capget_(&h, got) == 0 && (got[0].effective & (1u << bit));
        check(ok, "capset drops an effective capability and raises it again");
    } else {
        check(1, "capset drops an effective capability and raises it again");
    }
    if (d[0].permitted & 1) {
        /* Once dropped from the permitted set, CAP_CHOWN cannot return. */
        pid_t pid = fork();
        if (pid == 0) {
            struct cap_data c[2] = {d[0], d[1]};
            c[0].permitted &= ~1u;
            c[0].effective &= ~1u;
            if (capset_(&h, c) != 0)
                _exit(2);
            c[0].permitted |= 1;
            _exit(capset_(&h, c) == -1 && errno == EPERM ? 0 : 1);
        }
        int status;
        waitpid(pid, &status, 0);
        check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "capset adding a permitted capability: EPERM");
    } else {
        check(1, "capset adding a permitted capability: EPERM");
    }
    struct cap_header bad = {0x1234, 0};
    CHECK_ERR(capget_(&bad, d), EINVAL, "capget with an unknown version");
    check(bad.version == CAP_V3, "... writes the version it prefers");
    bad.version = 0x1234;
    check(capget_(&bad, NULL) == 0 && bad.version == CAP_V3, "asking for the version alone");
    struct cap_header neg = {CAP_V3, -5};
    CHECK_ERR(capget_(&neg, d), EINVAL, "capget of a negative pid");
    struct cap_header none = {CAP_V3, 999999};
    CHECK_ERR(capget_(&none, d), ESRCH, "capget of no such process");
    struct cap_header other = {CAP_V3, 999999};
    CHECK_ERR(capset_(&other, d), EPERM, "capset of another process");
    if (getuid() == 0) {
        pid_t pid = fork();
        if (pid == 0) {
            struct cap_data c[2];
            if (setresuid(65534, 65534, 65534) != 0 || capget_(&h, c) != 0)
                _exit(2);
            _exit(c[0].effective == 0 && c[0].permitted == 0 && c[1].permitted == 0 ? 0 : 1);
        }
        int status;
        waitpid(pid, &status, 0);
        check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "leaving uid 0 drops every capability");
    } else {
        check(1, "leaving uid 0 drops every capability");
    }
}

static void file_hints(void)
{
    char path[] = "/tmp/sys_misc_XXXXXX";
    int fd = mkstemp(path);
    check(fd >= 0 && write(fd, "hints", 5) == 5, "a file to advise on");
    check(posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL) == 0, "fadvise SEQUENTIAL");
    check(posix_fadvise(fd, 0, 5, POSIX_FADV_DONTNEED) == 0, "fadvise DONTNEED");
    check(syscall(SYS_fadvise64, fd, 0, 0, 99) == -1 && errno == EINVAL, "fadvise with an unknown advice: EINVAL");
    check(syscall(SYS_fadvise64, 999, 0, 0, 0) == -1 && errno == EBADF, "fadvise of a closed fd: EBADF");
    int p[2];
    pipe(p);
    check(syscall(SYS_fadvise64, p[0], 0, 0, 0) == -1 && errno == ESPIPE, "fadvise of a pipe: ESPIPE");
    check(readahead(fd, 0, 4096) == 0, "readahead");
    CHECK_ERR(readahead(p[0], 0, 4096), EINVAL, "readahead of a pipe");
    CHECK_ERR(readahead(999, 0, 4096), EBADF, "readahead of a closed fd");
    check(sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER) == 0,
          "sync_file_range, waiting");
    CHECK_ERR(sync_file_range(fd, 0, 0, 8), EINVAL, "sync_file_range with an unknown flag");
    CHECK_ERR(sync_file_range(fd, -1, 0, 0), EINVAL, "sync_file_range at a negative offset");
    CHECK_ERR(sync_file_range(p[1], 0, 0, 0), ESPIPE, "sync_file_range of a pipe");
    close(p[0]);
    close(p[1]);

    check(syscall(SYS_fchmodat2, AT_FDCWD, path, 0640, 0) == 0, "fchmodat2");
    struct stat st;
    check(stat(path, &st) == 0 && (st.st_mode & 0777) == 0640, "the mode it set");
    check(syscall(SYS_fchmodat2, fd, "", 0600, AT_EMPTY_PATH) == 0 && stat(path, &st) == 0 && (st.st_mode & 0777) == 0600,
          "fchmodat2 AT_EMPTY_PATH on the fd");
    char link[64];
    snprintf(link, sizeof link, "%s.lnk", path);
    symlink(path, link);
    CHECK_ERR(syscall(SYS_fchmodat2, AT_FDCWD, link, 0600, AT_SYMLINK_NOFOLLOW), EOPNOTSUPP,
              "fchmodat2 of a symbolic link itself");
    CHECK_ERR(syscall(SYS_fchmodat2, AT_FDCWD, path, 0600, 0x8), EINVAL, "fchmodat2 with an unknown flag");
    unlink(link);
    unlink(path);
    close(fd);
}

static void barriers_and_clock(void)
{
    long cmds = syscall(SYS_membarrier, 0, 0);
    check(cmds > 0 && (cmds & 8) && (cmds & 16), "membarrier QUERY: the private expedited commands");
    CHECK_ERR(syscall(SYS_membarrier, 8, 0), EPERM, "membarrier PRIVATE_EXPEDITED before registering");
    check(syscall(SYS_membarrier, 16, 0) == 0 && syscall(SYS_membarrier, 8, 0) == 0,
          "registered: PRIVATE_EXPEDITED");
    check(syscall(SYS_membarrier, 1, 0) == 0, "membarrier GLOBAL");
    CHECK_ERR(syscall(SYS_membarrier, 8, 5), EINVAL, "membarrier with flags");
    CHECK_ERR(syscall(SYS_membarrier, 1 << 20, 0), EINVAL, "membarrier with an unknown command");

    struct timex tx = {.modes = 0};
    int state = adjtimex(&tx);
    check(state >= 0 && state <= 5 && tx.tick > 0, "adjtimex reads the clock's state");
    memset(&tx, 0, sizeof tx);
    check(clock_adjtime(CLOCK_REALTIME, &tx) >= 0 && tx.tick > 0, "clock_adjtime CLOCK_REALTIME reads it too");
    CHECK_ERR(clock_adjtime(99, &tx), EINVAL, "clock_adjtime of a bad clock");
}

static void names_and_log(void)
{
    struct utsname u, v;
    uname(&u);
    if (sethostname(u.nodename, strlen(u.nodename)) == 0) {
        check(uname(&v) == 0 && !strcmp(v.nodename, u.nodename), "sethostname (or EPERM without CAP_SYS_ADMIN)");
    } else {
        check(errno == EPERM, "sethostname (or EPERM without CAP_SYS_ADMIN)");
    }
    if (setdomainname(u.domainname, strlen(u.domainname)) == 0) {
        check(uname(&v) == 0 && !strcmp(v.domainname, u.domainname), "setdomainname (or EPERM)");
    } else {
        check(errno == EPERM, "setdomainname (or EPERM)");
    }
    char big[100];
    memset(big, 'a', sizeof big);
    check(sethostname(big, sizeof big) == -1 && (errno == EINVAL || errno == EPERM), "sethostname of 100 bytes fails");
    long size = syscall(SYS_syslog, 10, NULL, 0);
    check(size > 0 || (size == -1 && errno == EPERM), "syslog SIZE_BUFFER");
    CHECK_ERR(syscall(SYS_syslog, 99, NULL, 0), EINVAL, "syslog with an unknown action");
}

static void memory_policy(void)
{
    int mode = -1;
    unsigned long nodes = 99;
    long r = syscall(SYS_get_mempolicy, &mode, &nodes, 64, NULL, 0);
    if (r == -1 && errno == ENOSYS) {
        /* A kernel built without NUMA: nothing to compare. */
        for (int i = 0; i < 5; i++)
            check(1, "memory policy %d", i);
        return;
    }
    check(r == 0 && mode == 0, "get_mempolicy: MPOL_DEFAULT");
    unsigned long one = 1;
    check(syscall(SYS_set_mempolicy, 2, &one, 64) == 0, "set_mempolicy MPOL_BIND to node 0");
    check(syscall(SYS_get_mempolicy, &mode, &nodes, 64, NULL, 0) == 0 && mode == 2 && nodes == 1,
          "get_mempolicy: MPOL_BIND, node 0");
    CHECK_ERR(syscall(SYS_set_mempolicy, 0, &one, 64), EINVAL, "MPOL_DEFAULT with nodes");
    check(syscall(SYS_set_mempolicy, 0, NULL, 0) == 0, "back to MPOL_DEFAULT");
    check(syscall(SYS_get_mempolicy, &mode, &nodes, 64, NULL, 4) == 0 && (nodes & 1), "MPOL_F_MEMS_ALLOWED: node 0");
}

static void namespaces(void)
{
    check(unshare(0) == 0, "unshare(0)");
    check(unshare(CLONE_FILES | CLONE_FS) == 0, "unshare CLONE_FILES|CLONE_FS");
    CHECK_ERR(unshare(0x1), EINVAL, "unshare with an unknown flag");
    int root = open("/", O_RDONLY);
    CHECK_ERR(setns(root, 0), EINVAL, "setns of a directory, not a namespace");
    close(root);
    CHECK_ERR(setns(999, 0), EBADF, "setns of a closed descriptor");
}

int main(void)
{
    capabilities();
    file_hints();
    barriers_and_clock();
    names_and_log();
    memory_policy();
    namespaces();
    return check_done();
}
