/* stress.c -- repetition: 1,000 cycles of posix_spawn `<dir>/exit_code 0` +
 * waitpid (each status checked), then 10,000 64-byte messages through a pipe
 * from a writer thread to main (each carries a sequence number that main
 * checks); the lowest free fd is the same before and after (no fd leaks).
 * Args: argv[1] = directory of the test programs. Prints "spawned 1000",
 * "messages 10000", "fds unchanged", then "all ok" (exit 0) or "FAIL: ..." (exit 1). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "errname.h"

#define SPAWNS 1000
#define MESSAGES 10000
#define MSG 64

extern char **environ;

static int lowest_free_fd(void)
{
    int fd = dup(0);
    if (fd >= 0)
        close(fd);
    return fd;
}

static int wfd;

static void *writer(void *arg)
{
    char msg[MSG];
    for (int i = 0; i < MESSAGES; i++) {
        memset(msg, 'a' + i % 26, sizeof msg);
        snprintf(msg, sizeof msg, "%08d", i);
        msg[8] = ':';
        for (size_t off = 0; off < MSG;) {
            ssize_t n = write(wfd, msg + off, MSG - off);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                return (void *)1;
            off += n;
        }
    }
    close(wfd);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        printf("usage: stress <dir of the test programs>\n");
        return 2;
    }
    int fails = 0;
    int fd_before = lowest_free_fd();

    char prog[512];
    snprintf(prog, sizeof prog, "%s/exit_code", argv[1]);
    char *args[] = { prog, "0", NULL };
    int spawned = 0;
    for (int i = 0; i < SPAWNS; i++) {
        pid_t pid;
        int e = posix_spawn(&pid, prog, NULL, NULL, args, environ);
        if (e) {
            printf("FAIL: posix_spawn %d: %s\n", i, errname(e));
            fails++;
            break;
        }
        int st;
        pid_t r;
        do
            r = waitpid(pid, &st, 0);
        while (r == -1 && errno == EINTR);
        if (r != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            printf("FAIL: cycle %d: bad wait\n", i);
            fails++;
            break;
        }
        spawned++;
    }
    printf("spawned %d\n", spawned);

    int p[2];
    if (pipe(p) != 0) {
        printf("FAIL: pipe: %s\n", errname(errno));
        return 1;
    }
    wfd = p[1];
    pthread_t t;
    int e = pthread_create(&t, NULL, writer, NULL);
    if (e) {
        printf("FAIL: pthread_create: %s\n", errname(e));
        return 1;
    }
    int received = 0, bad = 0;
    char msg[MSG];
    for (;;) {
        size_t got = 0;
        while (got < MSG) {
            ssize_t n = read(p[0], msg + got, MSG - got);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            got += n;
        }
        if (got == 0)
            break;
        char want[MSG];
        memset(want, 'a' + received % 26, sizeof want);
        snprintf(want, sizeof want, "%08d", received);
        want[8] = ':';
        if (got != MSG || memcmp(msg, want, MSG) != 0)
            bad++;
        received++;
        if (got != MSG)
            break;
    }
    void *wret;
    pthread_join(t, &wret);
    close(p[0]);
    if (bad || wret) {
        printf("FAIL: %d bad messages, writer %s\n", bad, wret ? "failed" : "ok");
        fails++;
    }
    printf("messages %d\n", received - bad);

    int fd_after = lowest_free_fd();
    if (fd_after == fd_before) {
        printf("fds unchanged\n");
    } else {
        printf("FAIL: lowest free fd changed\n");
        fails++;
    }
    if (fails || spawned != SPAWNS || received != MESSAGES)
        return 1;
    printf("all ok\n");
    return 0;
}
