/* fsrec.c -- small file tools for the persistence, tamper and crash tests:
 *   fsrec put FILE TEXT        write TEXT to FILE (created/truncated), fsync
 *   fsrec get FILE             print FILE's contents; on error print
 *                              "error: <ERRNO name>" and exit 1
 *   fsrec append FILE          append 64-byte numbered records forever,
 *                              fsync after each, then print "synced N"
 *   fsrec check FILE N         the first N records are intact (at least N
 *                              records, each well formed, in order):
 *                              print "ok N" or "bad ..." and exit 1
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "errname.h"

#define REC 64

static void record(char *out, long i)
{
    memset(out, '.', REC);
    int n = snprintf(out, REC, "record %08ld checksum %08lx", i, (unsigned long)(i * 2654435761UL) & 0xffffffffUL);
    out[n] = '.';
    out[REC - 1] = '\n';
}

static int fail(const char *what)
{
    printf("error: %s (%s)\n", errname(errno), what);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && !strcmp(argv[1], "put")) {
        int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0)
            return fail("open");
        size_t len = strlen(argv[3]);
        if (write(fd, argv[3], len) != (ssize_t)len || fsync(fd) != 0)
            return fail("write");
        close(fd);
        printf("put %zu bytes\n", len);
        return 0;
    }
    if (argc >= 3 && !strcmp(argv[1], "get")) {
        int fd = open(argv[2], O_RDONLY);
        if (fd < 0)
            return fail("open");
        char buf[4096];
        ssize_t n;
        while ((n = read(fd, buf, sizeof buf)) > 0)
            fwrite(buf, 1, n, stdout);
        if (n < 0)
            return fail("read");
        return 0;
    }
    if (argc >= 3 && !strcmp(argv[1], "append")) {
        int fd = open(argv[2], O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd < 0)
            return fail("open");
        long have = lseek(fd, 0, SEEK_END) / REC;
        setvbuf(stdout, NULL, _IOLBF, 0);
        for (long i = have;; i++) {
            char r[REC];
            record(r, i);
            if (write(fd, r, REC) != REC || fsync(fd) != 0)
                return fail("append");
            printf("synced %ld\n", i + 1);
        }
    }
    if (argc >= 4 && !strcmp(argv[1], "check")) {
        long want = atol(argv[3]);
        int fd = open(argv[2], O_RDONLY);
        if (fd < 0)
            return want == 0 ? (printf("ok 0\n"), 0) : fail("open");
        for (long i = 0;; i++) {
            char r[REC], expect[REC];
            ssize_t n = read(fd, r, REC);
            if (n < 0)
                return fail("read");
            if (n == 0) {
                if (i < want) {
                    printf("bad: only %ld records, %ld were synced\n", i, want);
                    return 1;
                }
                printf("ok %ld\n", want);
                return 0;
            }
            record(expect, i);
            /* A record cut short by the crash is allowed past the synced ones. */
            if (i >= want && n < REC) {
                printf("ok %ld\n", want);
                return 0;
            }
            if (n != REC || memcmp(r, expect, REC)) {
                printf("bad: record %ld is damaged\n", i);
                return 1;
            }
        }
    }
    fprintf(stderr, "usage: fsrec put FILE TEXT | get FILE | append FILE | check FILE N\n");
    return 2;
}
