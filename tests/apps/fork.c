/* fork.c -- fork(2): the child sees a copy of the parent's memory and
 * descriptors, its changes (globals, heap, new mappings, the break) never
 * reach the parent, it can write to a pipe, exec a program, fork again, two
 * children form a pipeline, and the parent collects each status.
 * Args: argv[1] = the directory of the test programs (for exec). Prints "ok ..." lines, then "all ok". */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"

static int global = 1;

static int wait_status(pid_t pid)
{
    int st;
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(int argc, char **argv)
{
    char *heap = malloc(64);
    strcpy(heap, "parent heap");
    int p[2];
    check(pipe(p) == 0, "pipe");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        global = 2;
        strcpy(heap, "child heap");
        char *more = malloc(1 << 20);
        memset(more, 7, 1 << 20);
        void *m = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        memset(m, 1, 1 << 16);
        sbrk(1 << 16);
        char msg[64];
        int n = snprintf(msg, sizeof msg, "child sees global=%d heap=%s", global, heap);
        write(p[1], msg, n);
        _exit(5);
    }
    check(pid > 0, "fork returns the child's pid");
    check_eq(wait_status(pid), 5, "the child's exit status");
    char buf[128] = {0};
    close(p[1]);
    check(read(p[0], buf, sizeof buf - 1) > 0 && !strcmp(buf, "child sees global=2 heap=child heap"), "the child's message through the pipe");
    close(p[0]);
    check(global == 1 && !strcmp(heap, "parent heap"), "the parent's memory is unchanged");
    char *after = malloc(1 << 20);
    check(after != NULL, "the parent's heap still works");
    memset(after, 3, 1 << 20);
    free(after);

    int *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int *private = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    *shared = 1;
    *private = 1;
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        *shared = 42;
        *private = 42;
        _exit(0);
    }
    check_eq(wait_status(pid), 0, "a child writes to shared and private mappings");
    check(*shared == 42, "the parent sees the child's write to MAP_SHARED memory");
    check(*private == 1, "but not to MAP_PRIVATE memory");
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        munmap(shared, 4096);
        _exit(0);
    }
    check_eq(wait_status(pid), 0, "a child unmaps the shared mapping");
    check(*shared == 42, "the parent's shared mapping is still there");

    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        char path[4096];
        snprintf(path, sizeof path, "%s/exit_code", argc > 1 ? argv[1] : ".");
        execl(path, "exit_code", "3", (char *)NULL);
        _exit(99);
    }
    check_eq(wait_status(pid), 3, "a forked child execs a program");

    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        global = 10;
        pid_t grandchild = fork();
        if (grandchild == 0) {
            global = 20;
            _exit(global);
        }
        int st = wait_status(grandchild);
        _exit(st == 20 && global == 10 ? 11 : 1);
    }
    check_eq(wait_status(pid), 11, "a child forks a grandchild; each keeps its own memory");
    check(global == 1, "the parent's global is still 1");

    /* A shell pipeline of two forked children, `producer | consumer`: the
     * producer writes more than a pipe holds before the consumer exists. */
    check(pipe(p) == 0, "pipe for a pipeline");
    fflush(stdout);
    pid_t producer = fork();
    if (producer == 0) {
        close(p[0]);
        static char chunk[4096];
        memset(chunk, 'x', sizeof chunk);
        for (int i = 0; i < 64; i++)
            if (write(p[1], chunk, sizeof chunk) != (ssize_t)sizeof chunk)
                _exit(1);
        _exit(0);
    }
    close(p[1]); /* as a shell does before it starts the consumer */
    pid_t consumer = fork();
    if (consumer == 0) {
        static char in[65536];
        long total = 0;
        ssize_t n;
        while ((n = read(p[0], in, sizeof in)) > 0)
            total += n;
        _exit(total == 64 * 4096 ? 0 : 1);
    }
    close(p[0]);
    check_eq(wait_status(producer), 0, "a pipeline's producer writes 256 KiB");
    check_eq(wait_status(consumer), 0, "and its consumer reads all of it");
    free(heap);
    return check_done();
}
