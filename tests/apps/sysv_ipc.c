/* sysv_ipc.c -- System V IPC between processes: a semaphore ping-pong
 * over a shared memory counter, SEM_UNDO, waits that time out or end with
 * EIDRM, semctl commands; shared memory attached by two processes,
 * shmctl and shmdt; message queues by type (MSG_EXCEPT, negative types,
 * MSG_NOERROR), a blocking receive from another process; keys; and the
 * errors of each. Prints "ok ..." lines and "all ok". */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "check.h"

union semun {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
};

static int op(int id, int num, int delta, int flags)
{
    struct sembuf b = {.sem_num = num, .sem_op = delta, .sem_flg = flags};
    return semop(id, &b, 1);
}

static int wait_child(pid_t pid)
{
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

static void semaphores_and_shm(void)
{
    int sem = semget(IPC_PRIVATE, 2, 0600);
    check(sem >= 0, "semget a set of two");
    int shm = shmget(IPC_PRIVATE, 10000, 0600);
    check(shm >= 0, "shmget 10000 bytes");
    long *counter = shmat(shm, NULL, 0);
    check(counter != (void *)-1 && counter[0] == 0, "shmat: zero-filled");
    struct shmid_ds ds;
    check(shmctl(shm, IPC_STAT, &ds) == 0 && ds.shm_segsz == 10000 && ds.shm_nattch == 1 &&
              (ds.shm_perm.mode & 0777) == 0600,
          "shmctl IPC_STAT: size, one attach, mode");

    /* Ping-pong: sem 0 is the parent's turn, sem 1 the child's. */
    check(semctl(sem, 0, SETVAL, (union semun){.val = 1}) == 0, "SETVAL");
    pid_t pid = fork();
    if (pid == 0) {
        long *c = shmat(shm, NULL, 0);
        for (int i = 0; i < 100; i++) {
            if (op(sem, 1, -1, 0) != 0)
                _exit(1);
            c[0]++;
            op(sem, 0, 1, 0);
        }
        _exit(shmdt(c) == 0 ? 0 : 2);
    }
    for (int i = 0; i < 100; i++) {
        op(sem, 0, -1, 0);
        counter[0]++;
        op(sem, 1, 1, 0);
    }
    op(sem, 0, -1, 0);
    check(wait_child(pid) == 0 && counter[0] == 200, "a semaphore ping-pong of 200 turns over shared memory");
    check(semctl(sem, 0, GETVAL) == 0 && semctl(sem, 1, GETVAL) == 0, "GETVAL: both 0");
    check(semctl(sem, 0, GETPID) == getpid(), "GETPID: the last to change it");

    CHECK_ERR(op(sem, 0, -1, IPC_NOWAIT), EAGAIN, "semop that would wait, IPC_NOWAIT");
    struct sembuf b = {0, -1, 0};
    struct timespec ts = {0, 10000000};
    CHECK_ERR(semtimedop(sem, &b, 1, &ts), EAGAIN, "semtimedop: 10 ms then EAGAIN");
    struct sembuf two[2] = {{0, 1, 0}, {1, -1, IPC_NOWAIT}};
    CHECK_ERR(semop(sem, two, 2), EAGAIN, "two operations, one cannot: neither happens");
    check(semctl(sem, 0, GETVAL) == 0, "... the first did not happen");
    pid = fork();
    if (pid == 0) {
        op(sem, 0, 5, SEM_UNDO);
        _exit(semctl(sem, 0, GETVAL) == 5 ? 0 : 1);
    }
    check(wait_child(pid) == 0 && semctl(sem, 0, GETVAL) == 0, "SEM_UNDO: undone when the process ends");
    unsigned short all[2] = {3, 4}, got[2];
    check(semctl(sem, 0, SETALL, (union semun){.array = all}) == 0 &&
              semctl(sem, 0, GETALL, (union semun){.array = got}) == 0 && got[0] == 3 && got[1] == 4,
          "SETALL and GETALL");
    struct semid_ds sds;
    check(semctl(sem, 0, IPC_STAT, (union semun){.buf = &sds}) == 0 && sds.sem_nsems == 2, "IPC_STAT: two semaphores");
    sds.sem_perm.mode = 0640;
    check(semctl(sem, 0, IPC_SET, (union semun){.buf = &sds}) == 0 &&
              semctl(sem, 0, IPC_STAT, (union semun){.buf = &sds}) == 0 && (sds.sem_perm.mode & 0777) == 0640,
          "IPC_SET of the mode");
    CHECK_ERR(semctl(sem, 0, SETVAL, (union semun){.val = 40000}), ERANGE, "SETVAL past SEMVMX");
    CHECK_ERR(op(sem, 5, 1, 0), EFBIG, "semop on a semaphore past the set");
    CHECK_ERR(semop(sem, two, 0), EINVAL, "semop of no operation");
    CHECK_ERR(semctl(sem, 9, GETVAL), EINVAL, "GETVAL past the set");

    /* A waiter sees EIDRM when the set goes. */
    semctl(sem, 0, SETVAL, (union semun){.val = 0});
    pid = fork();
    if (pid == 0)
        _exit(op(sem, 0, -1, 0) == -1 && errno == EIDRM ? 0 : 1);
    while (semctl(sem, 0, GETNCNT) != 1)
        usleep(1000);
    check(semctl(sem, 0, GETNCNT) == 1, "GETNCNT: the child waits");
    check(semctl(sem, 0, IPC_RMID) == 0, "IPC_RMID");
    check(wait_child(pid) == 0, "the waiting child gets EIDRM");
    CHECK_ERR(op(sem, 0, 1, 0), EINVAL, "semop on a removed set");

    CHECK_ERR(shmdt((char *)counter + 8), EINVAL, "shmdt of an address not attached");
    check(shmdt(counter) == 0, "shmdt");
    check(shmctl(shm, IPC_STAT, &ds) == 0 && ds.shm_nattch == 0, "no attach left");
    CHECK_ERR((long)shmat(shm, (char *)0x10001, 0), EINVAL, "shmat at an unaligned address");
    check(shmctl(shm, IPC_RMID, NULL) == 0, "shmctl IPC_RMID");
    CHECK_ERR((long)shmat(shm, NULL, 0), EINVAL, "shmat of a removed segment");
    CHECK_ERR(shmget(IPC_PRIVATE, 0, 0600), EINVAL, "shmget of 0 bytes");
}

struct msg {
    long type;
    char text[32];
};

static void queues(void)
{
    int q = msgget(IPC_PRIVATE, 0600);
    check(q >= 0, "msgget");
    struct msg m;
    for (int t = 1; t <= 3; t++) {
        m.type = t;
        snprintf(m.text, sizeof m.text, "message %d", t);
        msgsnd(q, &m, strlen(m.text) + 1, 0);
    }
    struct msqid_ds ds;
    check(msgctl(q, IPC_STAT, &ds) == 0 && ds.msg_qnum == 3 && ds.msg_lspid == getpid(), "IPC_STAT: three messages");
    check(msgrcv(q, &m, sizeof m.text, 2, 0) == 10 && m.type == 2 && !strcmp(m.text, "message 2"), "msgrcv by type");
    check(msgrcv(q, &m, sizeof m.text, 1, MSG_EXCEPT) == 10 && m.type == 3, "MSG_EXCEPT: another type");
    m.type = 5;
    strcpy(m.text, "five");
    msgsnd(q, &m, 5, 0);
    check(msgrcv(q, &m, sizeof m.text, -4, 0) == 10 && m.type == 1, "a negative type: the lowest up to it");
    CHECK_ERR(msgrcv(q, &m, 2, 0, 0), E2BIG, "a message longer than the buffer");
    check(msgrcv(q, &m, 2, 0, MSG_NOERROR) == 2 && m.type == 5 && !memcmp(m.text, "fi", 2), "MSG_NOERROR cuts it");
    CHECK_ERR(msgrcv(q, &m, sizeof m.text, 0, IPC_NOWAIT), ENOMSG, "an empty queue, IPC_NOWAIT");
    m.type = 0;
    CHECK_ERR(msgsnd(q, &m, 4, 0), EINVAL, "a message of type 0");
    pid_t pid = fork();
    if (pid == 0) {
        usleep(20000);
        struct msg r = {.type = 9};
        strcpy(r.text, "from the child");
        _exit(msgsnd(q, &r, sizeof r.text, 0) == 0 ? 0 : 1);
    }
    check(msgrcv(q, &m, sizeof m.text, 9, 0) == sizeof m.text && !strcmp(m.text, "from the child"),
          "a blocking msgrcv gets the child's message");
    check(wait_child(pid) == 0, "the sender exited 0");
    pid = fork();
    if (pid == 0)
        _exit(msgrcv(q, &m, sizeof m.text, 0, 0) == -1 && errno == EIDRM ? 0 : 1);
    usleep(20000);
    check(msgctl(q, IPC_RMID, NULL) == 0, "msgctl IPC_RMID");
    check(wait_child(pid) == 0, "the waiting receiver gets EIDRM");
}

static void keys(void)
{
    key_t key = 0x5e000000 | (getpid() & 0xffff);
    int a = semget(key, 1, IPC_CREAT | 0600);
    check(a >= 0 && semget(key, 1, 0) == a, "a key finds the same set");
    CHECK_ERR(semget(key, 1, IPC_CREAT | IPC_EXCL | 0600), EEXIST, "IPC_EXCL on an existing key");
    CHECK_ERR(semget(key, 5, 0), EINVAL, "more semaphores than the set has");
    semctl(a, 0, IPC_RMID);
    CHECK_ERR(semget(key, 1, 0), ENOENT, "a key with no set");
    CHECK_ERR(semget(IPC_PRIVATE, 0, 0600), EINVAL, "a new set of no semaphore");
}

int main(void)
{
    semaphores_and_shm();
    queues();
    keys();
    return check_done();
}
