/* brk.c -- program break semantics via the raw brk syscall (musl's sbrk()
 * refuses non-zero increments, so libc's sbrk/brk are not used):
 * brk(0) returns the current break; growing by 1 MiB four times returns the
 * requested break and the memory is usable; shrinking works; an absurd request
 * (or one below the start) fails by returning the unchanged break, and the
 * break never grows over another mapping.
 * Args: none. Prints only relative facts ("ok ..." / "FAIL: ..."). Results are
 * collected first and printed after the break is restored, so that malloc
 * (used by stdio) never sees a moved break. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MIB (1ul << 20)

static char out[4096];
static size_t outlen;
static int fails;

static void report(int ok, const char *what)
{
    outlen += snprintf(out + outlen, sizeof out - outlen, ok ? "ok %s\n" : "FAIL: %s\n", what);
    fails += !ok;
}

static uintptr_t sys_brk(uintptr_t addr) { return (uintptr_t)syscall(SYS_brk, addr); }

int main(void)
{
    printf("brk test\n");
    fflush(stdout); /* stdio buffer is allocated now */

    uintptr_t orig = sys_brk(0);
    report(orig != 0, "brk(0) returns a non-null break");
    report(sys_brk(0) == orig, "brk(0) is stable");

    int grew = 1, touched = 1;
    for (int i = 1; i <= 4; i++) {
        uintptr_t want = orig + i * MIB;
        if (sys_brk(want) != want) { grew = 0; break; }
        unsigned char *p = (unsigned char *)(want - MIB);
        memset(p, i, MIB);
        for (size_t j = 0; j < MIB; j += 4093)
            touched &= p[j] == i;
    }
    report(grew, "grow by 1 MiB x4 returns requested break");
    report(grew && touched, "grown memory is writable");
    report(sys_brk(0) == orig + 4 * MIB, "brk(0) after growth");
    report(grew && ((unsigned char *)orig)[0] == 1 && ((unsigned char *)orig)[3 * MIB] == 4,
           "earlier data still present");

    report(sys_brk(orig + MIB) == orig + MIB, "shrink to +1 MiB");
    report(sys_brk(0) == orig + MIB, "brk(0) after shrink");
    report(((unsigned char *)orig)[MIB - 1] == 1, "data below new break intact");

    uintptr_t absurd = (uintptr_t)1 << 62;
    report(sys_brk(absurd) == orig + MIB, "absurd brk returns unchanged break");
    report(sys_brk(orig - 64 * MIB) == orig + MIB, "brk below start returns unchanged break");
    report(sys_brk(0) == orig + MIB, "break unchanged after failures");

    /* Regrow over the released range: the memory comes back zeroed. */
    int zero = sys_brk(orig + 2 * MIB) == orig + 2 * MIB;
    for (size_t j = MIB; zero && j < 2 * MIB; j += 512)
        zero = ((unsigned char *)orig)[j] == 0;
    report(zero, "regrown memory is zero");

    /* A mapping above the break stops it from growing over it. */
    uintptr_t above = ((orig + 2 * MIB + 4095) & ~(uintptr_t)4095) + MIB;
    void *m = mmap((void *)above, 4096, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    report(m == (void *)above, "map a page 1 MiB above the break");
    report(sys_brk(above + MIB) == orig + 2 * MIB, "break does not grow over a mapping");
    report(sys_brk(above - 4096) == above - 4096, "break grows up to the mapping");
    munmap(m, 4096);

    report(sys_brk(orig) == orig, "restore original break");

    fputs(out, stdout);
    printf("%s\n", fails ? "FAILED" : "all ok");
    return fails ? 1 : 0;
}
