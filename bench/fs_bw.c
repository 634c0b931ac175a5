/* fs_bw.c -- file-system throughput in one directory:
 *   sequential write of MIB MiB in 1 MiB writes, then fsync  -> "write+fsync X MB/s"
 *   sequential read of it in 1 MiB reads                       -> "read X MB/s"
 *   READS random 4 KiB preads at 4 KiB-aligned offsets         -> "rand4k X us/read"
 * Usage: fs_bw DIR MIB [READS]   (static-PIE: also runs inside the LibOS) */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: fs_bw DIR MIB [READS]\n");
        return 2;
    }
    long mib = atol(argv[2]);
    long reads = argc > 3 ? atol(argv[3]) : 20000;
    char path[4096];
    snprintf(path, sizeof path, "%s/fs_bw.dat", argv[1]);
    size_t chunk = 1 << 20;
    char *buf = malloc(chunk);
    if (!buf)
        die("malloc");
    for (size_t i = 0; i < chunk; i++)
        buf[i] = (char)(i * 31 + 7);

    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    if (fd < 0)
        die("open for writing");
    double t0 = now();
    for (long i = 0; i < mib; i++)
        if (write(fd, buf, chunk) != (ssize_t)chunk)
            die("write");
    if (fsync(fd) != 0)
        die("fsync");
    double t1 = now();
    close(fd);
    printf("write+fsync %.1f MB/s\n", mib * 1.048576 / (t1 - t0));

    fd = open(path, O_RDONLY);
    if (fd < 0)
        die("open for reading");
    t0 = now();
    long total = 0;
    ssize_t n;
    while ((n = read(fd, buf, chunk)) > 0)
        total += n;
    t1 = now();
    if (total != mib * (long)chunk)
        die("short read");
    printf("read %.1f MB/s\n", mib * 1.048576 / (t1 - t0));

    unsigned long long x = 88172645463325252ULL;
    long pages = mib * 256;
    t0 = now();
    for (long i = 0; i < reads; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if (pread(fd, buf, 4096, (off_t)(x % pages) * 4096) != 4096)
            die("pread");
    }
    t1 = now();
    printf("rand4k %.2f us/read\n", (t1 - t0) * 1e6 / reads);
    close(fd);
    unlink(path);
    return 0;
}
