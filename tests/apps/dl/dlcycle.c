/* Loads and unloads a shared library (argv[1]) many times, calling its
 * syscall each time: what a loaded library takes (its mappings, and in the
 * LibOS the room of its stubs) must all go when it is unloaded, so the
 * number of mappings in /proc/self/maps comes back to where it was. */

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int maps_lines(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) {
        perror("/proc/self/maps");
        exit(1);
    }
    int n = 0, c;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

static void cycle(const char *path)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        exit(1);
    }
    long (*sys_getppid)(void) = (long (*)(void))dlsym(h, "sys_getppid");
    if (!sys_getppid || sys_getppid() != getppid()) {
        fprintf(stderr, "sys_getppid is missing or wrong\n");
        exit(1);
    }
    if (dlclose(h) != 0) {
        fprintf(stderr, "dlclose: %s\n", dlerror());
        exit(1);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: dlcycle LIBRARY\n");
        return 2;
    }
    cycle(argv[1]);
    int before = maps_lines();
    for (int i = 0; i < 300; i++)
        cycle(argv[1]);
    int after = maps_lines();
    printf("300 cycles: the library's syscall answered each time\n");
    if (after != before) {
        printf("mappings grew from %d to %d\n", before, after);
        return 1;
    }
    printf("mappings as before\n");
    return 0;
}
