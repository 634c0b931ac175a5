/* cpu_times.c -- CPU time accounting: after this thread has used 200 ms of
 * CPU (by its own clock), getrusage (self and thread), times() and
 * /proc/self/stat report at least that; a reaped child's CPU time shows in
 * RUSAGE_CHILDREN, times()'s children fields and cutime; a child blocked in
 * pause() shows state S in /proc/PID/stat. Only lower bounds are checked.
 * Prints "ok ..." lines and "all ok". */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "check.h"

static long thread_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void burn(long ms)
{
    long start = thread_ms();
    volatile unsigned long x = 0;
    while (thread_ms() - start < ms)
        for (int i = 0; i < 100000; i++)
            x += i;
}

static long ms_of(struct timeval tv)
{
    return tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* Fields 3 (state) and 14-17 (utime, stime, cutime, cstime) of /proc/PID/stat. */
static int proc_stat(pid_t pid, char *state, long t[4])
{
    char path[64], buf[1024] = {0};
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    read(fd, buf, sizeof buf - 1);
    close(fd);
    char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    return sscanf(p + 2, "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld %ld %ld", state, &t[0], &t[1], &t[2],
                  &t[3]) == 5
               ? 0
               : -1;
}

int main(void)
{
    long hz = sysconf(_SC_CLK_TCK);
    burn(200);
    struct rusage ru;
    check(getrusage(RUSAGE_SELF, &ru) == 0 && ms_of(ru.ru_utime) + ms_of(ru.ru_stime) >= 190,
          "getrusage(RUSAGE_SELF): at least the 200 ms used");
    check(getrusage(RUSAGE_THREAD, &ru) == 0 && ms_of(ru.ru_utime) + ms_of(ru.ru_stime) >= 190,
          "getrusage(RUSAGE_THREAD) too");
    struct tms t;
    times(&t);
    check((t.tms_utime + t.tms_stime) * 1000 / hz >= 190, "times(): the process's ticks");
    char state;
    long st[4];
    check(proc_stat(getpid(), &state, st) == 0 && (st[0] + st[1]) * 1000 / hz >= 190 && state == 'R',
          "/proc/self/stat: running, utime + stime");

    pid_t pid = fork();
    if (pid == 0) {
        burn(200);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    check(getrusage(RUSAGE_CHILDREN, &ru) == 0 && ms_of(ru.ru_utime) + ms_of(ru.ru_stime) >= 190,
          "getrusage(RUSAGE_CHILDREN): the reaped child's time");
    times(&t);
    check((t.tms_cutime + t.tms_cstime) * 1000 / hz >= 190, "times(): the children's ticks");
    check(proc_stat(getpid(), &state, st) == 0 && (st[2] + st[3]) * 1000 / hz >= 190, "/proc/self/stat: cutime + cstime");

    pid = fork();
    if (pid == 0) {
        pause();
        _exit(0);
    }
    int sleeping = 0;
    for (int i = 0; i < 500 && !sleeping; i++) {
        sleeping = proc_stat(pid, &state, st) == 0 && state == 'S';
        if (!sleeping)
            usleep(2000);
    }
    check(sleeping, "a child blocked in pause() is S");
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return check_done();
}
