/* sched.c -- scheduling attributes are kept and reported as Linux does:
 * sched_setscheduler/getscheduler (SCHED_BATCH, SCHED_RESET_ON_FORK),
 * sched_setparam/getparam, sched_setattr/getattr, sched_rr_get_interval,
 * CPU affinity (set, read back, inherited by threads), ioprio_set/get, and
 * the errors of each. Only policies an unprivileged process may choose are
 * used, so that the native run needs no capability. Prints "ok ..." lines
 * and "all ok". */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "check.h"

#ifndef SCHED_RESET_ON_FORK
#define SCHED_RESET_ON_FORK 0x40000000
#endif

struct attr {
    uint32_t size, policy;
    uint64_t flags;
    int32_t nice;
    uint32_t priority;
    uint64_t runtime, deadline, period;
    uint32_t util_min, util_max;
};

/* musl's sched_* wrappers fail with ENOSYS: call the kernel. */
static long setscheduler(pid_t pid, int policy, const struct sched_param *p)
{
    return syscall(SYS_sched_setscheduler, pid, policy, p);
}

static long getscheduler(pid_t pid)
{
    return syscall(SYS_sched_getscheduler, pid);
}

static int first_cpu;

static void *thread_affinity(void *arg)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    int ok = sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) == 1 && CPU_ISSET(first_cpu, &set);
    return (void *)(intptr_t)ok;
}

int main(void)
{
    struct sched_param p = {.sched_priority = 0};
    check(getscheduler(0) == SCHED_OTHER, "the policy starts as SCHED_OTHER");
    check(setscheduler(0, SCHED_BATCH, &p) == 0 && getscheduler(0) == SCHED_BATCH, "SCHED_BATCH, read back");
    check(setscheduler(0, SCHED_OTHER | SCHED_RESET_ON_FORK, &p) == 0 &&
              getscheduler(0) == (SCHED_OTHER | SCHED_RESET_ON_FORK),
          "SCHED_RESET_ON_FORK is reported");
    pid_t pid = fork();
    if (pid == 0)
        _exit(getscheduler(0) == SCHED_OTHER ? 0 : 1);
    int status;
    waitpid(pid, &status, 0);
    check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the fork child does not have the flag");
    setscheduler(0, SCHED_OTHER, &p);
    p.sched_priority = 5;
    CHECK_ERR(setscheduler(0, SCHED_OTHER, &p), EINVAL, "priority 5 for SCHED_OTHER");
    CHECK_ERR(setscheduler(0, 9, &p), EINVAL, "an unknown policy");
    CHECK_ERR(setscheduler(0, SCHED_OTHER, NULL), EINVAL, "no parameters");
    CHECK_ERR(setscheduler(-1, SCHED_OTHER, &p), EINVAL, "a negative pid");
    CHECK_ERR(getscheduler(999999), ESRCH, "sched_getscheduler of no such thread");
    p.sched_priority = 0;
    check(syscall(SYS_sched_setparam, 0, &p) == 0, "sched_setparam priority 0");
    p.sched_priority = 7;
    check(syscall(SYS_sched_getparam, 0, &p) == 0 && p.sched_priority == 0, "sched_getparam: 0");
    p.sched_priority = 3;
    CHECK_ERR(syscall(SYS_sched_setparam, 0, &p), EINVAL, "sched_setparam priority 3 under SCHED_OTHER");
    CHECK_ERR(syscall(SYS_sched_getparam, 0, NULL), EINVAL, "sched_getparam without a buffer");

    struct attr a = {.size = sizeof a, .policy = SCHED_BATCH};
    check(syscall(SYS_sched_setattr, 0, &a, 0) == 0, "sched_setattr SCHED_BATCH");
    memset(&a, 0xff, sizeof a);
    check(syscall(SYS_sched_getattr, 0, &a, sizeof a, 0) == 0 && a.size == sizeof a && a.policy == SCHED_BATCH &&
              a.priority == 0 && a.nice == 0,
          "sched_getattr: its size, SCHED_BATCH, priority and nice 0");
    CHECK_ERR(syscall(SYS_sched_getattr, 0, &a, 8, 0), EINVAL, "sched_getattr with a size of 8");
    CHECK_ERR(syscall(SYS_sched_getattr, 0, &a, sizeof a, 1), EINVAL, "sched_getattr with flags");
    a.size = 8;
    CHECK_ERR(syscall(SYS_sched_setattr, 0, &a, 0), E2BIG, "sched_setattr with a size of 8");
    check(a.size >= 48, "... and the size the kernel knows written back");
    a = (struct attr){.size = sizeof a, .policy = SCHED_OTHER};
    CHECK_ERR(syscall(SYS_sched_setattr, 0, &a, 1), EINVAL, "sched_setattr with flags");
    check(syscall(SYS_sched_setattr, 0, &a, 0) == 0 && getscheduler(0) == SCHED_OTHER, "back to SCHED_OTHER");
    struct timespec ts = {9, 9};
    check(sched_rr_get_interval(0, &ts) == 0 && ts.tv_sec == 0, "sched_rr_get_interval: under a second");

    cpu_set_t all, one;
    CPU_ZERO(&all);
    check(sched_getaffinity(0, sizeof all, &all) == 0 && CPU_COUNT(&all) >= 1, "sched_getaffinity: some CPUs");
    for (first_cpu = 0; !CPU_ISSET(first_cpu, &all); first_cpu++)
        ;
    CPU_ZERO(&one);
    CPU_SET(first_cpu, &one);
    check(sched_setaffinity(0, sizeof one, &one) == 0, "sched_setaffinity to one CPU");
    cpu_set_t got;
    CPU_ZERO(&got);
    check(sched_getaffinity(0, sizeof got, &got) == 0 && CPU_EQUAL(&got, &one), "read back: that CPU only");
    pthread_t th;
    void *ok = 0;
    check(pthread_create(&th, NULL, thread_affinity, NULL) == 0 && pthread_join(th, &ok) == 0 && ok,
          "a new thread inherits it");
    cpu_set_t none;
    CPU_ZERO(&none);
    CHECK_ERR(sched_setaffinity(0, sizeof none, &none), EINVAL, "an empty set");
    CHECK_ERR(syscall(SYS_sched_getaffinity, 0, 4, &got), EINVAL, "sched_getaffinity into 4 bytes");
    sched_setaffinity(0, sizeof all, &all);

    int be7 = (2 << 13) | 7;
    check(syscall(SYS_ioprio_set, 1, 0, be7) == 0 && syscall(SYS_ioprio_get, 1, 0) == be7,
          "ioprio_set best-effort 7, read back");
    CHECK_ERR(syscall(SYS_ioprio_set, 1, 0, 5 << 13), EINVAL, "an unknown class");
    CHECK_ERR(syscall(SYS_ioprio_get, 9, 0), EINVAL, "an unknown 'which'");
    CHECK_ERR(syscall(SYS_ioprio_get, 1, 999999), ESRCH, "ioprio_get of no such thread");
    return check_done();
}
