/* tls.c -- thread-local storage of the main thread: initialized and
 * zero-initialized __thread ints and arrays, an over-aligned TLS variable,
 * modify + read back, stable addresses, and errno (itself TLS).
 * Args: none. Prints "ok ..." / "FAIL: ..." lines. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

static __thread int t_init = 42;
static __thread int t_zero;
static __thread long t_arr[8] = {1, 2, 3, 4, 5, 6, 7, 8};
static __thread char t_zarr[1000];
static __thread _Alignas(64) char t_aligned[64] = "aligned";

static int fails;

static void report(int ok, const char *what)
{
    printf(ok ? "ok %s\n" : "FAIL: %s\n", what);
    fails += !ok;
}

/* noinline so the compiler must recompute the TLS address each call */
__attribute__((noinline)) static int *addr_init(void) { return &t_init; }
__attribute__((noinline)) static int *addr_errno(void) { return &errno; }

int main(void)
{
    report(t_init == 42, "initialized int");
    report(t_zero == 0, "zero-initialized int");
    long s = 0;
    for (int i = 0; i < 8; i++)
        s += t_arr[i];
    report(s == 36, "initialized array");
    int nz = 0;
    for (int i = 0; i < 1000; i++)
        nz += t_zarr[i] != 0;
    report(nz == 0, "zero-initialized array");
    report(((uintptr_t)t_aligned & 63) == 0 && t_aligned[0] == 'a', "64-byte aligned TLS var");

    t_init = 7;
    t_zero = -5;
    for (int i = 0; i < 8; i++)
        t_arr[i] *= 10;
    for (int i = 0; i < 1000; i++)
        t_zarr[i] = (char)(i % 100);
    s = 0;
    for (int i = 0; i < 8; i++)
        s += t_arr[i];
    int zs = 0;
    for (int i = 0; i < 1000; i++)
        zs += (unsigned char)t_zarr[i];
    report(t_init == 7 && t_zero == -5 && s == 360 && zs == 49500, "modify and read back");
    report(*addr_init() == 7, "read via pointer");
    report(addr_init() == addr_init() && addr_init() == &t_init, "TLS address stable");

    errno = 0;
    int r = close(-1);
    report(r == -1 && errno == EBADF, "errno set by failed close");
    errno = 0;
    report(errno == 0 && addr_errno() == &errno, "errno assignable, address stable");

    printf("%s\n", fails ? "FAILED" : "all ok");
    return fails ? 1 : 0;
}
