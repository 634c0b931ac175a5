/* pipe_writers.c -- several processes write records of 1 to PIPE_BUF bytes
 * into one pipe at once while the parent reads it in pieces of varied sizes
 * (1 byte to 100 KiB): every record must arrive whole (writes of up to
 * PIPE_BUF bytes are never interleaved), each writer's records in order, and
 * nothing lost or added. Then one thread writes while another reads the
 * same pipe with non-blocking reads and poll().
 * Args: none. Prints "ok ..." lines, then "all ok" (exit 0) or "FAIL: ..." (exit 1). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"

#define WRITERS 4
#define RECORDS 3000
#define HEADER 7 /* id (1), sequence number (4), length (2) */

static unsigned next_rand(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

/* Record `seq` of writer `id`: its length (HEADER..PIPE_BUF), most short,
 * some as long as PIPE_BUF allows. */
static size_t record_len(unsigned *s)
{
    unsigned r = next_rand(s);
    if (r % 4 == 0)
        return HEADER + r % (PIPE_BUF - HEADER + 1);
    return HEADER + r % 200;
}

static void writer(int fd, int id)
{
    static unsigned char rec[PIPE_BUF];
    unsigned s = 1000u + (unsigned)id;
    for (uint32_t seq = 0; seq < RECORDS; seq++) {
        size_t len = record_len(&s);
        rec[0] = (unsigned char)id;
        memcpy(rec + 1, &seq, 4);
        uint16_t l = (uint16_t)len;
        memcpy(rec + 5, &l, 2);
        memset(rec + HEADER, 'a' + id, len - HEADER);
        if (write(fd, rec, len) != (ssize_t)len)
            _exit(2);
    }
    _exit(0);
}

/* Parses the stream: returns the bytes of whole records used from buf. */
static size_t parse(const unsigned char *buf, size_t n, uint32_t *next, int *bad)
{
    size_t at = 0;
    while (n - at >= HEADER) {
        int id = buf[at];
        uint32_t seq;
        uint16_t len;
        memcpy(&seq, buf + at + 1, 4);
        memcpy(&len, buf + at + 5, 2);
        if (id < 0 || id >= WRITERS || len < HEADER || len > PIPE_BUF) {
            (*bad)++;
            return n;
        }
        if (n - at < len)
            break;
        if (seq != next[id])
            (*bad)++;
        for (size_t i = HEADER; i < len; i++)
            if (buf[at + i] != 'a' + id) {
                (*bad)++;
                break;
            }
        next[id] = seq + 1;
        at += len;
    }
    return at;
}

static void many_writers(void)
{
    int p[2];
    if (pipe(p) != 0) {
        check(0, "pipe");
        return;
    }
    pid_t pids[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            close(p[0]);
            writer(p[1], i);
        }
    }
    close(p[1]);
    size_t cap = 1 << 20, held = 0;
    unsigned char *buf = malloc(cap);
    uint32_t next[WRITERS] = {0};
    int bad = 0;
    unsigned s = 7;
    long reads = 0;
    for (;;) {
        size_t want = 1 + next_rand(&s) % (next_rand(&s) % 3 ? 9000 : 100000);
        if (want > cap - held)
            want = cap - held;
        ssize_t n = read(p[0], buf + held, want);
        if (n <= 0)
            break;
        reads++;
        held += (size_t)n;
        size_t used = parse(buf, held, next, &bad);
        memmove(buf, buf + used, held - used);
        held -= used;
        if (bad)
            break;
    }
    close(p[0]);
    int exits = 0;
    for (int i = 0; i < WRITERS; i++) {
        int st;
        if (waitpid(pids[i], &st, 0) == pids[i] && WIFEXITED(st) && WEXITSTATUS(st) == 0)
            exits++;
    }
    free(buf);
    check(bad == 0, "%d writers' records arrive whole and in order", WRITERS);
    int all = held == 0;
    for (int i = 0; i < WRITERS; i++)
        all &= next[i] == RECORDS;
    check(all, "every record arrives, nothing more");
    check(exits == WRITERS && reads > 0, "writers exit 0");
}

struct stream {
    int fd;
    long bytes;
};

static void *stream_writer(void *arg)
{
    struct stream *st = arg;
    unsigned char chunk[3000];
    long sent = 0;
    unsigned s = 99;
    while (sent < st->bytes) {
        size_t n = 1 + next_rand(&s) % sizeof chunk;
        if ((long)n > st->bytes - sent)
            n = (size_t)(st->bytes - sent);
        for (size_t i = 0; i < n; i++)
            chunk[i] = (unsigned char)((sent + (long)i) % 251);
        ssize_t w = write(st->fd, chunk, n);
        if (w <= 0)
            return (void *)1;
        sent += w;
    }
    close(st->fd);
    return NULL;
}

/* A thread writes pieces of 1..3000 bytes; this one reads non-blocking,
 * polling when the pipe is empty: bytes come in order and EOF at the end. */
static void nonblocking_reader(void)
{
    int p[2];
    if (pipe2(p, O_NONBLOCK) != 0) {
        check(0, "pipe2");
        return;
    }
    int fl = fcntl(p[1], F_GETFL);
    fcntl(p[1], F_SETFL, fl & ~O_NONBLOCK);
    struct stream st = {p[1], 3 << 20};
    pthread_t t;
    pthread_create(&t, NULL, stream_writer, &st);
    long got = 0;
    int order = 1, eof = 0, eagain = 0;
    unsigned char buf[5000];
    while (!eof) {
        ssize_t n = read(p[0], buf, 1 + (size_t)(got % 4999));
        if (n > 0) {
            for (ssize_t i = 0; i < n; i++)
                if (buf[i] != (unsigned char)((got + i) % 251))
                    order = 0;
            got += n;
        } else if (n == 0) {
            eof = 1;
        } else if (errno == EAGAIN) {
            eagain = 1;
            struct pollfd pfd = {p[0], POLLIN, 0};
            poll(&pfd, 1, -1);
        } else {
            break;
        }
    }
    void *rv;
    pthread_join(t, &rv);
    close(p[0]);
    check(order && got == st.bytes, "non-blocking reads get the stream in order");
    check(eof && rv == NULL, "EOF after the writer closes");
    (void)eagain;
}

int main(void)
{
    many_writers();
    nonblocking_reader();
    return check_done();
}
