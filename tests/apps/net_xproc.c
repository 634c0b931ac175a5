/* net_xproc.c -- sockets between processes. argv[1] = a directory to work
 * in, argv[2] = the directory of the test programs. The parent listens on
 * 127.0.0.1 (ephemeral port) and on a path under argv[1], spawns itself as
 * "net_xproc client DIR PORT" with posix_spawn, and serves both connections;
 * the client also inherits one end of a socketpair. Prints "ok ..." lines
 * and "all ok". */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"
#include "watchdog.h"

extern char **environ;

static void unix_path(struct sockaddr_un *a, const char *dir)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    snprintf(a->sun_path, sizeof a->sun_path, "%s/xproc.sock", dir);
}

/* The client: talks to both servers and to the inherited socketpair end
 * (fd 3); its exit status counts failures. */
static int client(const char *dir, int port)
{
    int fails = 0;
    int t = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char buf[64] = {0};
    if (connect(t, (struct sockaddr *)&a, sizeof a) || write(t, "tcp?", 4) != 4 ||
        read(t, buf, sizeof buf) != 4 || memcmp(buf, "tcp!", 4))
        fails++;
    close(t);
    int u = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un ua;
    unix_path(&ua, dir);
    if (connect(u, (struct sockaddr *)&ua, sizeof ua) || write(u, "unix?", 5) != 5 ||
        read(u, buf, sizeof buf) != 5 || memcmp(buf, "unix!", 5))
        fails++;
    close(u);
    if (write(3, "pair", 4) != 4)
        fails++;
    return fails;
}

int main(int argc, char **argv)
{
    if (argc == 5 && !strcmp(argv[1], "client"))
        return client(argv[2], atoi(argv[3]));
    if (argc < 3) {
        fprintf(stderr, "usage: net_xproc DIR BINDIR\n");
        return 2;
    }
    start_watchdog(30);
    int t = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    check(bind(t, (struct sockaddr *)&a, sizeof a) == 0 && listen(t, 1) == 0 &&
              getsockname(t, (struct sockaddr *)&a, &len) == 0,
          "tcp listener");
    int u = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un ua;
    unix_path(&ua, argv[1]);
    check(bind(u, (struct sockaddr *)&ua, sizeof ua) == 0 && listen(u, 1) == 0, "unix listener");
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);

    char prog[512], port[16];
    snprintf(prog, sizeof prog, "%s/net_xproc", argv[2]);
    snprintf(port, sizeof port, "%d", ntohs(a.sin_port));
    char *args[] = {prog, "client", argv[1], port, "x", NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, sv[1], 3);
    pid_t pid;
    fflush(stdout);
    check(posix_spawn(&pid, prog, &fa, NULL, args, environ) == 0, "spawn the client");
    close(sv[1]);

    char buf[64] = {0};
    int c = accept(t, NULL, NULL);
    check(c >= 0 && read(c, buf, sizeof buf) == 4 && !memcmp(buf, "tcp?", 4) &&
              write(c, "tcp!", 4) == 4,
          "tcp between processes");
    close(c);
    c = accept(u, NULL, NULL);
    check(c >= 0 && read(c, buf, sizeof buf) == 5 && !memcmp(buf, "unix?", 5) &&
              write(c, "unix!", 5) == 5,
          "unix path socket between processes");
    close(c);
    check(read(sv[0], buf, sizeof buf) == 4 && !memcmp(buf, "pair", 4),
          "inherited socketpair end");
    int st;
    check(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0, "client ok");
    return check_done();
}
