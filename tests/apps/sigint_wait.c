/* sigint_wait.c -- waits for SIGINT or SIGTERM sent from outside. With a
 * handler installed it prints "ready", waits in pause(), and on the signal
 * prints "got <NAME>" and exits 0. With argv[1] = "default" it installs
 * nothing, prints "ready" and blocks in read() on stdin (the signal's
 * default action ends it). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t got;

static void on_signal(int sig) { got = sig; }

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "default")) {
        printf("ready\n");
        fflush(stdout);
        char c;
        while (read(0, &c, 1) > 0)
            ;
        return 0;
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, 0);
    sigaction(SIGTERM, &sa, 0);
    printf("ready\n");
    fflush(stdout);
    while (!got)
        pause();
    printf("got %s\n", got == SIGINT ? "SIGINT" : "SIGTERM");
    return 0;
}
