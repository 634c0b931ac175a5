/* syscall_mix.c -- 8 threads, started together so that they race to the
 * first calls of every syscall site, each call the libc wrappers of common
 * syscalls many times (getpid, getppid, gettid, write and read on a pipe,
 * lseek, fstat, sched_yield, a futex wake, clock_nanosleep of 0, a blocked
 * signal raised and taken by sigtimedwait) and check every result. Inside
 * the LibOS the sites get rewritten into direct calls while the threads run
 * them; the results must not change. argv[1] = rounds per thread (default
 * 2000). */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "check.h"

#define NTHREADS 8

static long rounds = 2000;
static pid_t pid, ppid;
static pthread_barrier_t start;
static atomic_int bad;

static void fail(const char *what)
{
    if (atomic_fetch_add(&bad, 1) == 0)
        fprintf(stderr, "first failure: %s\n", what);
}

static void *worker(void *arg)
{
    int fds[2];
    if (pipe(fds) != 0) {
        fail("pipe");
        return NULL;
    }
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &usr1, NULL);
    pid_t tid = gettid();
    int futex_word = 0;
    pthread_barrier_wait(&start);
    for (long i = 0; i < rounds; i++) {
        char out[8], in[8] = {0};
        memcpy(out, &i, sizeof out);
        if (getpid() != pid || getppid() != ppid || gettid() != tid)
            fail("ids");
        if (write(fds[1], out, sizeof out) != sizeof out || read(fds[0], in, sizeof in) != sizeof in ||
            memcmp(in, out, sizeof in))
            fail("pipe round trip");
        struct stat st;
        if (fstat(fds[0], &st) != 0 || !S_ISFIFO(st.st_mode))
            fail("fstat");
        if (lseek(fds[0], 0, SEEK_CUR) != -1)
            fail("lseek on a pipe");
        if (sched_yield() != 0)
            fail("sched_yield");
        if (syscall(SYS_futex, &futex_word, 1 /* FUTEX_WAKE */, 1, NULL, NULL, 0) != 0)
            fail("futex wake");
        struct timespec zero = {0, 0};
        if (clock_nanosleep(CLOCK_MONOTONIC, 0, &zero, NULL) != 0)
            fail("clock_nanosleep");
        if (i % 100 == 0) {
            struct timespec t = {1, 0};
            if (syscall(SYS_tgkill, pid, tid, SIGUSR1) != 0 || sigtimedwait(&usr1, NULL, &t) != SIGUSR1)
                fail("tgkill and sigtimedwait");
        }
    }
    close(fds[0]);
    close(fds[1]);
    (void)arg;
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        rounds = atol(argv[1]);
    pid = getpid();
    ppid = getppid();
    pthread_t t[NTHREADS];
    pthread_barrier_init(&start, NULL, NTHREADS);
    int created = 0;
    for (int i = 0; i < NTHREADS; i++)
        created += pthread_create(&t[i], NULL, worker, NULL) == 0;
    check(created == NTHREADS, "%d threads created", NTHREADS);
    for (int i = 0; i < created; i++)
        pthread_join(t[i], NULL);
    check(atomic_load(&bad) == 0, "every call of every thread gave the right result");
    return check_done();
}
