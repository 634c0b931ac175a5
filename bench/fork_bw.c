/* fork_bw.c -- fork_bw MIB ITERS: with MIB MiB of touched private memory,
 * (1) fork + child _exit + waitpid, ITERS times: "fork: X us/iter";
 * (2) a byte passed back and forth ITERS times between the parent and a
 * forked child that both stay alive (each turn needs the other to run; in
 * the LibOS each is a switch of the address space):
 * "pingpong: X us/roundtrip". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    size_t mib = strtoul(argv[1], NULL, 10);
    int iters = atoi(argv[2]);
    char *mem = malloc(mib << 20);
    if (mib && !mem)
        return 1;
    memset(mem, 1, mib << 20);

    double t0 = now_us();
    for (int i = 0; i < iters; i++) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(mem[i % (mib << 20 | 1)] == 1 ? 0 : 1);
        int st;
        if (pid < 0 || waitpid(pid, &st, 0) != pid || st != 0)
            return 1;
    }
    printf("fork: %.1f us/iter\n", (now_us() - t0) / iters);

    int down[2], up[2];
    if (pipe(down) || pipe(up))
        return 1;
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        close(down[1]);
        close(up[0]);
        while (read(down[0], &c, 1) == 1) {
            mem[0] = c;
            if (write(up[1], &c, 1) != 1)
                _exit(1);
        }
        _exit(0);
    }
    char c = 'x';
    t0 = now_us();
    for (int i = 0; i < iters; i++)
        if (write(down[1], &c, 1) != 1 || read(up[0], &c, 1) != 1)
            return 1;
    printf("pingpong: %.1f us/roundtrip\n", (now_us() - t0) / iters);
    close(down[1]);
    waitpid(pid, NULL, 0);
    return 0;
}
