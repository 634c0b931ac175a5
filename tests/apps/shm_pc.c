/* shm_pc.c -- POSIX shared memory between processes: a producer and a
 * consumer map the same shm_open object (each mapping it itself) and pass
 * 10,000 numbers through a ring guarded by process-shared semaphores in the
 * mapping; read()/write() on the object see the mapping's bytes and the
 * other way round; a named semaphore (sem_open) is shared by a fork child.
 * Prints "ok ..." lines, then "all ok". */
#include <fcntl.h>
#include <stddef.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"

#define SLOTS 16
#define ITEMS 10000

struct ring {
    sem_t items, spaces;
    unsigned head, tail;
    long slot[SLOTS];
};

static int wait_status(pid_t pid)
{
    int st;
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static struct ring *open_ring(const char *name, int create)
{
    int fd = shm_open(name, O_RDWR | (create ? O_CREAT | O_EXCL : 0), 0600);
    if (fd < 0)
        return NULL;
    if (create && ftruncate(fd, sizeof(struct ring)) != 0)
        return NULL;
    void *p = mmap(NULL, sizeof(struct ring), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    return p == MAP_FAILED ? NULL : p;
}

static void producer_consumer(void)
{
    char name[64];
    snprintf(name, sizeof name, "/occlum-shm-pc-%d", (int)getpid());
    struct ring *r = open_ring(name, 1);
    check(r != NULL, "shm_open, ftruncate and a shared mapping");
    if (!r)
        return;
    check(sem_init(&r->items, 1, 0) == 0 && sem_init(&r->spaces, 1, SLOTS) == 0,
          "process-shared semaphores in the mapping");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        /* The consumer maps the object again, at an address of its own. */
        struct ring *c = open_ring(name, 0);
        if (!c)
            _exit(2);
        long sum = 0;
        for (int i = 0; i < ITEMS; i++) {
            sem_wait(&c->items);
            sum += c->slot[c->tail++ % SLOTS];
            sem_post(&c->spaces);
        }
        _exit(sum == (long)ITEMS * (ITEMS + 1) / 2 ? 0 : 1);
    }
    for (long i = 1; i <= ITEMS; i++) {
        sem_wait(&r->spaces);
        r->slot[r->head++ % SLOTS] = i;
        sem_post(&r->items);
    }
    check_eq(wait_status(pid), 0, "the consumer gets all 10000 numbers, in order");

    int fd = shm_open(name, O_RDWR, 0);
    unsigned head = 0;
    check(pread(fd, &head, sizeof head, offsetof(struct ring, head)) == sizeof head && head == ITEMS,
          "read() sees what the mapping wrote");
    long v = 42;
    check(pwrite(fd, &v, sizeof v, offsetof(struct ring, slot)) == sizeof v && r->slot[0] == 42,
          "the mapping sees what write() wrote");
    close(fd);
    munmap(r, sizeof *r);
    check_eq(shm_unlink(name), 0, "shm_unlink");
}

static void named_semaphore(void)
{
    char name[64];
    snprintf(name, sizeof name, "/occlum-sem-%d", (int)getpid());
    sem_t *s = sem_open(name, O_CREAT | O_EXCL, 0600, 0);
    check(s != SEM_FAILED, "sem_open");
    if (s == SEM_FAILED)
        return;
    sem_unlink(name);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        for (int i = 0; i < 100; i++)
            sem_post(s);
        _exit(0);
    }
    for (int i = 0; i < 100; i++)
        sem_wait(s);
    check_eq(wait_status(pid), 0, "a fork child posts a named semaphore 100 times, the parent takes them");
    sem_close(s);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    producer_consumer();
    named_semaphore();
    return check_done();
}
