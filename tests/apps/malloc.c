/* malloc.c -- exercises the heap: 10,000 small mallocs (sizes 1..512), large
 * ones (1, 8, 64 MiB; > 128 KiB normally means mmap), pattern fill + verify,
 * free, and realloc grow/shrink preserving contents.
 * Args: none. Prints "ok ..." / "FAIL: ..." lines and a checksum of the data. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NSMALL 10000

static uint32_t sum = 2166136261u; /* FNV-1a over every verified byte */
static int fails;

static unsigned char pat(size_t seed, size_t j) { return (unsigned char)(seed * 31 + j * 7 + 1); }

static void fill(unsigned char *p, size_t n, size_t seed)
{
    for (size_t j = 0; j < n; j++)
        p[j] = pat(seed, j);
}

/* Returns 1 if p[0..n) holds the pattern for seed; folds bytes into the checksum. */
static int check(const unsigned char *p, size_t n, size_t seed)
{
    for (size_t j = 0; j < n; j++) {
        if (p[j] != pat(seed, j))
            return 0;
        sum = (sum ^ p[j]) * 16777619u;
    }
    return 1;
}

static void report(int ok, const char *what)
{
    if (ok)
        printf("ok %s\n", what);
    else {
        printf("FAIL: %s\n", what);
        fails++;
    }
}

int main(void)
{
    /* Many small blocks, all live at once. */
    static unsigned char *small[NSMALL];
    int ok = 1;
    for (size_t i = 0; i < NSMALL; i++) {
        size_t n = i % 512 + 1;
        small[i] = malloc(n);
        if (!small[i]) { ok = 0; break; }
        fill(small[i], n, i);
    }
    for (size_t i = 0; ok && i < NSMALL; i++)
        ok = check(small[i], i % 512 + 1, i);
    report(ok, "10000 small mallocs");
    /* Free every other one, reallocate them, then free everything. */
    for (size_t i = 0; i < NSMALL; i += 2)
        free(small[i]);
    for (size_t i = 0; ok && i < NSMALL; i += 2) {
        small[i] = malloc(i % 300 + 1);
        if (!small[i]) { ok = 0; break; }
        fill(small[i], i % 300 + 1, i + 1);
    }
    for (size_t i = 1; ok && i < NSMALL; i += 2)
        ok = check(small[i], i % 512 + 1, i);
    for (size_t i = 0; ok && i < NSMALL; i += 2)
        ok = check(small[i], i % 300 + 1, i + 1);
    for (size_t i = 0; i < NSMALL; i++)
        free(small[i]);
    report(ok, "small free/reuse");

    /* Large blocks. */
    static const size_t mib[] = {1, 8, 64};
    for (int k = 0; k < 3; k++) {
        size_t n = mib[k] << 20;
        unsigned char *p = malloc(n);
        char what[32];
        snprintf(what, sizeof what, "malloc %zu MiB", mib[k]);
        if (!p) { report(0, what); continue; }
        fill(p, n, k);
        report(check(p, n, k), what);
        free(p);
    }

    /* calloc returns zeroed memory. */
    unsigned char *z = calloc(1 << 20, 1);
    ok = z != NULL;
    for (size_t j = 0; ok && j < (1 << 20); j++)
        ok = z[j] == 0;
    report(ok, "calloc 1 MiB zeroed");
    free(z);

    /* realloc grow and shrink keep the prefix. */
    unsigned char *p = malloc(100);
    ok = p != NULL;
    if (ok) {
        fill(p, 100, 7);
        static const size_t sizes[] = {200, 4096, 1 << 20, 16 << 20, 50, 10, 256 << 10};
        size_t keep = 100;
        for (int k = 0; ok && k < 7; k++) {
            unsigned char *q = realloc(p, sizes[k]);
            if (!q) { ok = 0; break; }
            p = q;
            if (sizes[k] < keep)
                keep = sizes[k];
            ok = check(p, keep, 7);
        }
        free(p);
    }
    report(ok, "realloc grow/shrink");

    printf("checksum: %08x\n", (unsigned)sum);
    printf("%s\n", fails ? "FAILED" : "all ok");
    return fails ? 1 : 0;
}
