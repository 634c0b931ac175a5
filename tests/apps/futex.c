/* futex.c -- the raw futex(2) system call: WAIT with a mismatched value
 * (EAGAIN), WAIT with a timeout (ETIMEDOUT, relative and absolute), WAKE
 * without waiters, WAIT woken by WAKE, WAIT_BITSET/WAKE_BITSET with a
 * non-matching bitset, CMP_REQUEUE with a wrong value (EAGAIN), REQUEUE moving
 * a waiter, WAKE_OP, and an unaligned address (EINVAL). A waiter thread is
 * known to be blocked when a wake (or requeue) reports it; main retries with
 * sched_yield() until then, so no sleep is needed for correctness.
 * Args: none. Prints "ok ..." lines, then "all ok" (exit 0) or "FAIL: ..." (exit 1). */
#define _GNU_SOURCE
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "check.h"

/* From <linux/futex.h> (not among musl's headers). */
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_REQUEUE 3
#define FUTEX_CMP_REQUEUE 4
#define FUTEX_WAKE_OP 5
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAKE_BITSET 10
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_BITSET_MATCH_ANY 0xffffffffu
#define FUTEX_OP_SET 0
#define FUTEX_OP_ADD 1
#define FUTEX_OP_CMP_EQ 0
#define FUTEX_OP_CMP_GT 4
#define FUTEX_OP(op, oparg, cmp, cmparg) \
    (((op & 0xf) << 28) | ((cmp & 0xf) << 24) | ((oparg & 0xfff) << 12) | (cmparg & 0xfff))

static long futex(void *addr, int op, uint32_t val, const struct timespec *ts,
                  void *addr2, uint32_t val3)
{
    return syscall(SYS_futex, addr, op, val, ts, addr2, val3);
}

/* Same, with the "timeout" argument used as a count (val2). */
static long futex2(void *addr, int op, uint32_t val, long val2, void *addr2,
                   uint32_t val3)
{
    return syscall(SYS_futex, addr, op, val, val2, addr2, val3);
}

/* A thread that waits on *addr (expecting val) and records the result. */
struct waiter {
    uint32_t *addr;
    uint32_t val;
    int op;            /* FUTEX_WAIT or FUTEX_WAIT_BITSET (with private flag) */
    uint32_t bitset;
    long ret;
    int err;
    volatile int finished; /* the wait returned (ends the retry loops early) */
};

static void *wait_thread(void *arg)
{
    struct waiter *w = arg;
    for (;;) {
        w->ret = futex(w->addr, w->op, w->val, NULL, NULL, w->bitset);
        w->err = w->ret == -1 ? errno : 0;
        if (!(w->ret == -1 && w->err == EINTR)) {
            __atomic_store_n(&w->finished, 1, __ATOMIC_SEQ_CST);
            return NULL;
        }
    }
}

static void start(pthread_t *t, struct waiter *w)
{
    int e = pthread_create(t, NULL, wait_thread, w);
    if (e) {
        printf("FAIL: pthread_create: %s\n", errname(e));
        fflush(stdout);
        _exit(1);
    }
}

/* Calls WAKE on addr until it wakes one waiter; returns the calls made
 * (bounded, so a lost waiter fails instead of hanging). */
static long wake_until_one(struct waiter *w, uint32_t *addr, int op, uint32_t bitset)
{
    for (long i = 1; i <= 10000000 && !w->finished; i++) {
        long r = futex(addr, op, 1, NULL, NULL, bitset);
        if (r == 1)
            return i;
        if (r != 0)
            return -1;
        sched_yield();
    }
    return -1;
}

#define P FUTEX_PRIVATE_FLAG

int main(void)
{
    static uint32_t word, word2;
    long r;

    /* WAIT when the value differs. */
    word = 1;
    errno = 0;
    r = futex(&word, FUTEX_WAIT | P, 0, NULL, NULL, 0);
    check_err(r, errno, EAGAIN, "WAIT, value mismatch");
    r = futex(&word, FUTEX_WAIT, 0, NULL, NULL, 0);
    check_err(r, errno, EAGAIN, "WAIT (shared), value mismatch");

    /* WAIT with a 10 ms relative timeout. */
    struct timespec ten_ms = { 0, 10 * 1000 * 1000 };
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    r = futex(&word, FUTEX_WAIT | P, 1, &ten_ms, NULL, 0);
    int e = errno;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    check_err(r, e, ETIMEDOUT, "WAIT, 10 ms timeout");
    long waited_ns = (t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec);
    check(waited_ns >= 10 * 1000 * 1000, "WAIT timeout: waited at least 10 ms");

    /* WAIT_BITSET with an absolute CLOCK_MONOTONIC deadline 10 ms ahead. */
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_nsec += 10 * 1000 * 1000;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    r = futex(&word, FUTEX_WAIT_BITSET | P, 1, &deadline, NULL, FUTEX_BITSET_MATCH_ANY);
    check_err(r, errno, ETIMEDOUT, "WAIT_BITSET, absolute deadline");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    check(t1.tv_sec > deadline.tv_sec ||
              (t1.tv_sec == deadline.tv_sec && t1.tv_nsec >= deadline.tv_nsec),
          "WAIT_BITSET: returned after the deadline");

    /* An invalid timeout. */
    struct timespec bad_ts = { 0, 1000000000L };
    r = futex(&word, FUTEX_WAIT | P, 1, &bad_ts, NULL, 0);
    check_err(r, errno, EINVAL, "WAIT, tv_nsec out of range");

    /* WAKE without waiters. */
    check_eq(futex(&word, FUTEX_WAKE | P, 1, NULL, NULL, 0), 0, "WAKE, no waiters -> 0");
    check_eq(futex(&word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0), 0, "WAKE (shared), no waiters -> 0");

    pthread_t t;
    struct waiter w;

    /* A thread blocked in WAIT, woken by WAKE. */
    word = 0;
    w = (struct waiter){ &word, 0, FUTEX_WAIT | P, 0, -2, 0, 0 };
    start(&t, &w);
    check(wake_until_one(&w, &word, FUTEX_WAKE | P, 0) > 0, "WAKE woke the blocked thread");
    pthread_join(t, NULL);
    check(w.ret == 0, "woken WAIT returned 0");

    /* WAIT_BITSET(0x1): WAKE_BITSET(0x2) wakes nobody, WAKE_BITSET(0x1) wakes it. */
    word = 0;
    w = (struct waiter){ &word, 0, FUTEX_WAIT_BITSET | P, 0x1, -2, 0, 0 };
    start(&t, &w);
    int mismatch_woke = 0;
    long one = -1;
    for (long i = 0; i < 10000000 && !w.finished; i++) {
        struct timespec ms = { 0, 1000 * 1000 };
        if (i % 16 == 15)
            nanosleep(&ms, NULL); /* only to let the waiter block; not needed for correctness */
        if (futex(&word, FUTEX_WAKE_BITSET | P, 1, NULL, NULL, 0x2) != 0)
            mismatch_woke = 1;
        r = futex(&word, FUTEX_WAKE_BITSET | P, 1, NULL, NULL, 0x1);
        if (r != 0) {
            one = r;
            break;
        }
        sched_yield();
    }
    pthread_join(t, NULL);
    check(!mismatch_woke, "WAKE_BITSET with a non-matching bitset woke nobody");
    check_eq(one, 1, "WAKE_BITSET with the matching bitset woke the waiter");
    check(w.ret == 0, "woken WAIT_BITSET returned 0");
    r = futex(&word, FUTEX_WAIT_BITSET | P, 0, NULL, NULL, 0);
    check_err(r, errno, EINVAL, "WAIT_BITSET with bitset 0");
    r = futex(&word, FUTEX_WAKE_BITSET | P, 1, NULL, NULL, 0);
    check_err(r, errno, EINVAL, "WAKE_BITSET with bitset 0");

    /* CMP_REQUEUE when *addr != val3. */
    word = 5;
    r = futex2(&word, FUTEX_CMP_REQUEUE | P, 1, INT_MAX, &word2, 4);
    check_err(r, errno, EAGAIN, "CMP_REQUEUE, value mismatch");
    check_eq(futex2(&word, FUTEX_CMP_REQUEUE | P, 1, INT_MAX, &word2, 5), 0,
             "CMP_REQUEUE, value matches, no waiters -> 0");

    /* REQUEUE moves a waiter from word to word2. */
    word = 0;
    word2 = 0;
    w = (struct waiter){ &word, 0, FUTEX_WAIT | P, 0, -2, 0, 0 };
    start(&t, &w);
    long moved = -1;
    for (long i = 0; i < 10000000 && !w.finished; i++) {
        r = futex2(&word, FUTEX_REQUEUE | P, 0, 1, &word2, 0);
        if (r != 0) {
            moved = r;
            break;
        }
        sched_yield();
    }
    check_eq(moved, 1, "REQUEUE (wake 0, requeue 1) moved the waiter");
    check_eq(futex(&word, FUTEX_WAKE | P, INT_MAX, NULL, NULL, 0), 0,
             "WAKE on the old address wakes nobody");
    check_eq(futex(&word2, FUTEX_WAKE | P, INT_MAX, NULL, NULL, 0), 1,
             "WAKE on the new address wakes the waiter");
    pthread_join(t, NULL);
    check(w.ret == 0, "requeued WAIT returned 0");

    /* WAKE_OP: set word2 = 7 if it was 0 (it was), wake 1 on word and
     * (since the comparison holds) 1 on word2. */
    word = 0;
    word2 = 0;
    w = (struct waiter){ &word, 0, FUTEX_WAIT | P, 0, -2, 0, 0 };
    start(&t, &w);
    uint32_t op = FUTEX_OP(FUTEX_OP_SET, 7, FUTEX_OP_CMP_EQ, 0);
    long first = futex2(&word, FUTEX_WAKE_OP | P, 1, 1, &word2, op);
    check(first == 0 || first == 1, "WAKE_OP returned a count");
    check_eq(word2, 7, "WAKE_OP set the second word");
    long woke = first;
    /* The op applies on every call; (7 == 0) is false now, so word2 keeps
     * 7 and only word's waiter can be woken. */
    for (long i = 0; woke == 0 && i < 10000000 && !w.finished; i++) {
        woke = futex2(&word, FUTEX_WAKE_OP | P, 1, 1, &word2, op);
        if (woke == 0)
            sched_yield();
    }
    check_eq(woke, 1, "WAKE_OP woke the waiter on the first word");
    pthread_join(t, NULL);
    check(w.ret == 0, "WAIT woken by WAKE_OP returned 0");
    uint32_t add = FUTEX_OP(FUTEX_OP_ADD, 3, FUTEX_OP_CMP_GT, 5);
    check_eq(futex2(&word, FUTEX_WAKE_OP | P, 1, 1, &word2, add), 0,
             "WAKE_OP ADD, no waiters -> 0");
    check_eq(word2, 10, "WAKE_OP ADD added to the second word");

    /* A misaligned futex word. */
    static uint32_t pair[2];
    void *unaligned = (char *)pair + 1;
    r = futex(unaligned, FUTEX_WAIT | P, 0, NULL, NULL, 0);
    check_err(r, errno, EINVAL, "WAIT, unaligned address");
    r = futex(unaligned, FUTEX_WAKE | P, 1, NULL, NULL, 0);
    check_err(r, errno, EINVAL, "WAKE, unaligned address");

    /* An unknown operation. */
    r = futex(&word, 99 | P, 0, NULL, NULL, 0);
    check_err(r, errno, ENOSYS, "unknown futex op");

    return check_done();
}
