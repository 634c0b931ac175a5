/* kill_mt.c -- killing a process whose threads are blocked in the LibOS
 * ends all of them. argv[1] = directory of the test programs. The parent
 * spawns itself as "<dir>/kill_mt blocked"; that child starts threads blocked
 * in a futex wait (pthread_cond_wait), a pipe read, poll() and
 * sigtimedwait(), tells the parent it is ready, and blocks in read() itself.
 * The parent then kills it with SIGTERM (and another with SIGKILL) and checks
 * that waitpid reports the signal. */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
static int block_pipe[2];
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

static void *in_futex(void *a) { pthread_mutex_lock(&m); for (;;) pthread_cond_wait(&cv, &m); return a; }
static void *in_read(void *a) { char c; read(block_pipe[0], &c, 1); return a; }
static void *in_poll(void *a) { struct pollfd p = {block_pipe[0], POLLIN, 0}; poll(&p, 1, -1); return a; }
static void *in_sigwait(void *a)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    int sig;
    sigwait(&s, &sig);
    return a;
}

static int blocked_child(void)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &s, NULL);
    pipe(block_pipe);
    pthread_t t[4];
    void *(*fns[4])(void *) = {in_futex, in_read, in_poll, in_sigwait};
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, fns[i], NULL);
    write(1, "r", 1);
    char c;
    read(block_pipe[0], &c, 1);
    return 0;
}

static int run_and_kill(const char *prog, int sig)
{
    int ready[2];
    pipe(ready);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, ready[1], 1);
    char *args[] = {(char *)prog, "blocked", NULL};
    pid_t pid;
    if (posix_spawn(&pid, prog, &fa, NULL, args, environ) != 0)
        return -1;
    close(ready[1]);
    char c;
    if (read(ready[0], &c, 1) != 1)
        return -1;
    kill(pid, sig);
    int st;
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    close(ready[0]);
    return WIFSIGNALED(st) ? WTERMSIG(st) : -1;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "blocked"))
        return blocked_child();
    if (argc < 2)
        return 2;
    char prog[512];
    snprintf(prog, sizeof prog, "%s/kill_mt", argv[1]);
    int a = run_and_kill(prog, SIGTERM);
    printf("%s SIGTERM ends a process with 5 blocked threads\n", a == SIGTERM ? "ok" : "FAIL:");
    int b = run_and_kill(prog, SIGKILL);
    printf("%s SIGKILL ends a process with 5 blocked threads\n", b == SIGKILL ? "ok" : "FAIL:");
    printf("%s\n", a == SIGTERM && b == SIGKILL ? "all ok" : "FAILED");
    return !(a == SIGTERM && b == SIGKILL);
}
