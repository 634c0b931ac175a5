/* clone_fork.c -- clone(fn, stack, SIGCHLD, arg): a fork-like child that
 * runs fn on its own stack, with its own copy of memory; the parent gets
 * its pid, and waitpid its exit status (fn's return value). */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"

static int value = 1;

static int child_fn(void *arg)
{
    value = 2;
    return (int)(long)arg + (value == 2);
}

int main(void)
{
    size_t size = 256 * 1024;
    char *stack = malloc(size);
    fflush(stdout);
    pid_t pid = clone(child_fn, stack + size, SIGCHLD, (void *)41);
    check(pid > 0, "clone returns the child's pid");
    int st = 0;
    check_eq(waitpid(pid, &st, 0), pid, "waitpid finds the child");
    check(WIFEXITED(st) && WEXITSTATUS(st) == 42, "the child ran fn on its stack and returned 42");
    check_eq(value, 1, "the child's writes stay in the child");
    return check_done();
}
