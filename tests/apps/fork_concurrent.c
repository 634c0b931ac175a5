/* fork_concurrent.c -- a fork child and its parent run side by side: each
 * has its own private memory while both write it in turns, pipes carry data
 * both ways, a counter in shared memory under a process-shared mutex ends
 * exact, a busy child is killed, a child creates and joins threads, a
 * process with a running thread forks (only the caller goes on in the
 * child), a child blocked in a TCP recv lets its parent answer, and a
 * child's protection of a mapping of the program file stays its own.
 * Prints "ok ..." lines, then "all ok". */
#include <arpa/inet.h>
#include <ctype.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"

#define BUF (1 << 20)
#define ROUNDS 200

static int wait_status(pid_t pid)
{
    int st;
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int all(const char *p, size_t n, char c)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != c)
            return 0;
    return 1;
}

/* Parent and child take turns (a token through two pipes); in its turn
 * each rewrites its half and the shared middle of `buf`, and checks that the
 * other's writes never show. The child exits with the number of bad rounds. */
static void private_memory(void)
{
    char *buf = malloc(BUF);
    memset(buf, 'P', BUF);
    int to_child[2], to_parent[2];
    check(pipe(to_child) == 0 && pipe(to_parent) == 0, "pipes");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        int bad = 0;
        char t;
        for (int r = 0; r < ROUNDS; r++) {
            if (read(to_child[0], &t, 1) != 1)
                _exit(100);
            char mine = 'a' + r % 26;
            memset(buf, mine, BUF / 2 + BUF / 8);
            if (!all(buf + BUF / 2 + BUF / 8, BUF / 2 - BUF / 8, 'P'))
                bad++;
            if (write(to_parent[1], &t, 1) != 1)
                _exit(101);
            if (!all(buf, BUF / 2 + BUF / 8, mine))
                bad++;
        }
        _exit(bad > 99 ? 99 : bad);
    }
    int bad = 0;
    char t = 't';
    for (int r = 0; r < ROUNDS; r++) {
        char mine = 'A' + r % 26;
        memset(buf + BUF / 2 - BUF / 8, mine, BUF / 2 + BUF / 8);
        if (write(to_child[1], &t, 1) != 1 || read(to_parent[0], &t, 1) != 1) {
            bad = 1000;
            break;
        }
        if (!all(buf, BUF / 2 - BUF / 8, 'P') || !all(buf + BUF / 2 - BUF / 8, BUF / 2 + BUF / 8, mine))
            bad++;
    }
    check_eq(bad, 0, "the parent never sees the child's writes");
    check_eq(wait_status(pid), 0, "the child never sees the parent's writes");
    free(buf);
    close(to_child[0]), close(to_child[1]), close(to_parent[0]), close(to_parent[1]);
}

/* The child upper-cases what the parent sends until end of file. */
static void pipes_both_ways(void)
{
    int down[2], up[2];
    check(pipe(down) == 0 && pipe(up) == 0, "pipes");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(down[1]), close(up[0]);
        char c;
        while (read(down[0], &c, 1) == 1) {
            c = toupper((unsigned char)c);
            if (write(up[1], &c, 1) != 1)
                _exit(1);
        }
        _exit(0);
    }
    close(down[0]), close(up[1]);
    const char *msg = "side by side";
    char back[32] = {0};
    int ok = 1;
    for (size_t i = 0; i < strlen(msg); i++) {
        if (write(down[1], msg + i, 1) != 1 || read(up[0], back + i, 1) != 1)
            ok = 0;
    }
    close(down[1]);
    check(ok && !strcmp(back, "SIDE BY SIDE"), "a child answers each byte the parent sends");
    char c;
    check_eq(read(up[0], &c, 1), 0, "end of file once the child is done");
    check_eq(wait_status(pid), 0, "the child's status");
    close(up[0]);
}

/* Parent and child map the start of the program file, read-only; the
 * child takes the whole mapping away from itself while both take turns:
 * the parent still reads it, and the child gets it back. */
static void program_pages_in_turns(void)
{
    int fd = open("/proc/self/exe", O_RDONLY);
    volatile const unsigned char *elf = mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, fd, 0);
    check(fd >= 0 && elf != MAP_FAILED, "the program file mapped");
    if (fd < 0 || elf == MAP_FAILED)
        return;
    close(fd);
    int down[2], up[2];
    check(pipe(down) == 0 && pipe(up) == 0, "pipes");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(down[1]), close(up[0]);
        if (mprotect((void *)elf, 8192, PROT_NONE) != 0)
            _exit(2);
        char c;
        for (int i = 0; i < ROUNDS / 4; i++) {
            if (read(down[0], &c, 1) != 1 || write(up[1], &c, 1) != 1)
                _exit(3);
        }
        if (mprotect((void *)elf, 8192, PROT_READ) != 0)
            _exit(4);
        _exit(elf[0] == 0x7f && elf[1] == 'E' ? 0 : 5);
    }
    close(down[0]), close(up[1]);
    int ok = 1;
    char c = 'x';
    for (int i = 0; i < ROUNDS / 4; i++) {
        if (write(down[1], &c, 1) != 1 || read(up[0], &c, 1) != 1)
            ok = 0;
        if (elf[0] != 0x7f || elf[1] != 'E' || elf[2] != 'L' || elf[3] != 'F')
            ok = 0;
    }
    close(down[1]);
    close(up[0]);
    check(ok, "the parent reads the mapping between turns");
    check_eq(wait_status(pid), 0, "the child protected all of it and got it back");
    munmap((void *)elf, 8192);
}

struct shared_counter {
    pthread_mutex_t lock;
    long count;
};

static void shared_counter(void)
{
    struct shared_counter *s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    check(s != MAP_FAILED, "a shared anonymous mapping");
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(&s->lock, &a);
    s->count = 0;
    enum { N = 100000 };
    fflush(stdout);
    pid_t pid = fork();
    for (int i = 0; i < N; i++) {
        pthread_mutex_lock(&s->lock);
        long v = s->count;
        if (i % 1000 == 0)
            sched_yield();
        s->count = v + 1;
        pthread_mutex_unlock(&s->lock);
    }
    if (pid == 0)
        _exit(0);
    check_eq(wait_status(pid), 0, "the child's status");
    check_eq(s->count, 2L * N, "a counter in shared memory, locked by both, ends exact");
    munmap(s, sizeof *s);
}

static void busy_child_is_killed(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        for (volatile unsigned long i = 0;; i++)
            ;
    }
    usleep(50000);
    check_eq(kill(pid, SIGKILL), 0, "kill a child that never stops computing");
    check_eq(wait_status(pid), 128 + SIGKILL, "it ends by SIGKILL");
}

static void *add_one(void *arg)
{
    __atomic_fetch_add((int *)arg, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void child_threads(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        pthread_t t[8];
        int n = 0;
        for (int i = 0; i < 8; i++)
            if (pthread_create(&t[i], NULL, add_one, &n) != 0)
                _exit(1);
        for (int i = 0; i < 8; i++)
            pthread_join(t[i], NULL);
        _exit(n == 8 ? 0 : 2);
    }
    check_eq(wait_status(pid), 0, "a fork child creates and joins 8 threads");
}

static volatile int spinning = 1;

static void *spin(void *arg)
{
    (void)arg;
    while (spinning)
        usleep(1000);
    return NULL;
}

static int threads_in_status(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    int n = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "Threads:", 8))
            n = atoi(line + 8);
    if (f)
        fclose(f);
    return n;
}

static void fork_with_a_running_thread(void)
{
    pthread_t t;
    check_eq(pthread_create(&t, NULL, spin, NULL), 0, "a thread that keeps running");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        _exit(threads_in_status() == 1 ? 0 : 1);
    check(pid > 0, "fork from a process with two threads");
    check_eq(wait_status(pid), 0, "only the calling thread goes on in the child");
    spinning = 0;
    pthread_join(t, NULL);
}

/* The child blocks in recv() on a TCP connection to its parent, which
 * accepts and answers only later: the parent runs while the child waits. */
static void tcp_between_parent_and_child(void)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int ok = l >= 0 && bind(l, (struct sockaddr *)&a, sizeof a) == 0 && listen(l, 1) == 0 &&
             getsockname(l, (struct sockaddr *)&a, &len) == 0;
    check(ok, "a TCP listener on 127.0.0.1");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        char buf[16];
        if (connect(s, (struct sockaddr *)&a, sizeof a) != 0)
            _exit(2);
        ssize_t n = recv(s, buf, sizeof buf, MSG_WAITALL);
        _exit(n == 5 && !memcmp(buf, "hello", 5) ? 0 : 1);
    }
    usleep(50000);
    int c = accept(l, NULL, NULL);
    check(c >= 0 && send(c, "hello", 5, 0) == 5, "the parent accepts and answers while the child waits in recv");
    close(c);
    close(l);
    check_eq(wait_status(pid), 0, "the child gets the answer");
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    private_memory();
    pipes_both_ways();
    program_pages_in_turns();
    shared_counter();
    busy_child_is_killed();
    child_threads();
    fork_with_a_running_thread();
    tcp_between_parent_and_child();
    return check_done();
}
