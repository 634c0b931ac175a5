/* info_misc.c -- process and system information programs ask for:
 * prctl(PR_SET_NAME/PR_GET_NAME) and /proc/self/comm, getrusage, sysinfo,
 * times, getpriority/setpriority, sched_getscheduler/getparam, getresuid,
 * getcpu, personality, memfd_create, close_range. Values that differ between
 * machines are only compared; prints "ok ..." lines and "all ok". */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/times.h>
#include <unistd.h>
#include "check.h"

int main(void)
{
    char name[16] = {0};
    check(prctl(PR_SET_NAME, "worker-thread-name-too-long") == 0, "prctl PR_SET_NAME");
    check(prctl(PR_GET_NAME, name) == 0 && !strcmp(name, "worker-thread-n"), "PR_GET_NAME: the first 15 bytes");
    char comm[64] = {0};
    int fd = open("/proc/self/comm", O_RDONLY);
    check(fd >= 0 && read(fd, comm, sizeof comm - 1) > 0 && !strcmp(comm, "worker-thread-n\n"), "/proc/self/comm follows it");
    close(fd);
    CHECK_ERR(prctl(12345, 0, 0, 0, 0), EINVAL, "prctl with an unknown option");
    /* A short name right before an unmapped page: read up to its NUL only. */
    char *pages = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(pages + 4096, 4096);
    memcpy(pages + 4093, "ab", 3);
    check(prctl(PR_SET_NAME, pages + 4093) == 0 && prctl(PR_GET_NAME, name) == 0 && !strcmp(name, "ab"),
          "PR_SET_NAME with a short name at the end of the mapped memory");
    munmap(pages, 4096);

    struct rusage ru;
    check(getrusage(RUSAGE_SELF, &ru) == 0 && ru.ru_maxrss > 0, "getrusage(RUSAGE_SELF): a resident size");
    check(getrusage(RUSAGE_CHILDREN, &ru) == 0, "getrusage(RUSAGE_CHILDREN)");
    CHECK_ERR(getrusage(7, &ru), EINVAL, "getrusage with a bad who");
    struct sysinfo si;
    check(sysinfo(&si) == 0 && si.totalram > 0 && si.mem_unit > 0 && si.procs > 0, "sysinfo: memory and processes");
    struct tms t;
    check(times(&t) != (clock_t)-1, "times");

    errno = 0;
    check(getpriority(PRIO_PROCESS, 0) == 0 && errno == 0, "getpriority: nice 0");
    check(setpriority(PRIO_PROCESS, 0, 0) == 0, "setpriority to 0");
    CHECK_ERR(getpriority(99, 0), EINVAL, "getpriority with a bad which");
    /* musl's wrappers always fail with ENOSYS: call the kernel directly. */
    check(syscall(SYS_sched_getscheduler, 0) == SCHED_OTHER, "sched_getscheduler: SCHED_OTHER");
    struct sched_param sp = {.sched_priority = 7};
    check(syscall(SYS_sched_getparam, 0, &sp) == 0 && sp.sched_priority == 0, "sched_getparam: priority 0");
    check(sched_get_priority_max(SCHED_FIFO) == 99 && sched_get_priority_min(SCHED_FIFO) == 1, "SCHED_FIFO priorities 1..99");
    uid_t r = 1, e = 1, s = 1;
    check(getresuid(&r, &e, &s) == 0 && r == getuid() && e == geteuid() && s == geteuid(), "getresuid matches getuid/geteuid");
    unsigned cpu = 9999;
    check(syscall(SYS_getcpu, &cpu, NULL, NULL) == 0 && cpu < 4096, "getcpu");
    check(personality(0xffffffff) == PER_LINUX, "personality: PER_LINUX");

    fd = memfd_create("buffer", MFD_CLOEXEC);
    check(fd >= 0, "memfd_create");
    check(write(fd, "memory file", 11) == 11 && lseek(fd, 0, SEEK_SET) == 0, "write to it and rewind");
    char buf[32] = {0};
    check(read(fd, buf, sizeof buf) == 11 && !strcmp(buf, "memory file"), "read it back");
    struct stat st;
    check(fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 11 && st.st_nlink == 0, "fstat: a regular file of 11 bytes, no links");
    check(fcntl(fd, F_GETFD) == FD_CLOEXEC, "MFD_CLOEXEC");
    char link[64] = {0}, path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    check(readlink(path, link, sizeof link - 1) > 0 && !strncmp(link, "/memfd:buffer", 13), "/proc/self/fd shows /memfd:buffer");
    check(ftruncate(fd, 8192) == 0, "ftruncate it");
    char *m = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0);
    check(m != MAP_FAILED && !memcmp(m, "memory file", 11), "mmap it");
    munmap(m, 8192);
    CHECK_ERR(memfd_create("x", 0x1000), EINVAL, "memfd_create with bad flags");

    int a = dup(fd), b = dup(fd);
    check(syscall(SYS_close_range, a < b ? a : b, a < b ? b : a, 4) == 0, "close_range CLOSE_RANGE_CLOEXEC");
    check(fcntl(a, F_GETFD) == FD_CLOEXEC && fcntl(b, F_GETFD) == FD_CLOEXEC, "both marked close-on-exec");
    check(syscall(SYS_close_range, a < b ? a : b, ~0U, 0) == 0, "close_range to the end");
    CHECK_ERR(fcntl(a, F_GETFD), EBADF, "the first is closed");
    CHECK_ERR(fcntl(b, F_GETFD), EBADF, "the second too");
    CHECK_ERR(syscall(SYS_close_range, 5, 4, 0), EINVAL, "close_range with first > last");
    return check_done();
}
