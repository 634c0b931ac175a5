/* check.h -- tiny helpers for the test programs: each check
 * prints "ok <what>" or "FAIL: <what> (<details>)"; check_done() ends with
 * "all ok" (status 0) or a failure count (status 1). Details (values that may
 * differ between runs) are printed only on failure, so passing output is
 * deterministic. Print from one thread only. */
#ifndef CHECK_H
#define CHECK_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include "errname.h"

static int check_failures;

/* "ok <what>" if cond, else "FAIL: <what>". */
static inline void check(int cond, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline void check(int cond, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs(cond ? "ok " : "FAIL: ", stdout);
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
    if (!cond)
        check_failures++;
}

/* A call that must fail: r == -1 and err == want. */
static inline void check_err(long r, int err, int want, const char *what)
{
    if (r == -1 && err == want) {
        printf("ok %s: -1 %s\n", what, errname(want));
    } else {
        printf("FAIL: %s: got %ld %s, expected -1 %s\n", what, r,
               r == -1 ? errname(err) : "", errname(want));
        check_failures++;
    }
}

/* Runs `call`, which must fail with -1 and errno `want`. */
#define CHECK_ERR(call, want, what)                                            \
    do {                                                                       \
        errno = 0;                                                             \
        long r_ = (long)(call);                                                \
        check_err(r_, errno, want, what);                                      \
    } while (0)

/* A value that must equal want (the values are printed only on failure). */
static inline void check_eq(long got, long want, const char *what)
{
    if (got == want) {
        printf("ok %s\n", what);
    } else {
        printf("FAIL: %s: got %ld, expected %ld\n", what, got, want);
        check_failures++;
    }
}

/* Ends main: "all ok" and 0, or a failure count and 1. */
static inline int check_done(void)
{
    if (check_failures) {
        printf("FAIL: %d check(s) failed\n", check_failures);
        fflush(stdout);
        return 1;
    }
    printf("all ok\n");
    fflush(stdout);
    return 0;
}

#endif
