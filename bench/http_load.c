/* http_load.c -- http_load PORT CLIENTS SECONDS: CLIENTS threads, each with
 * a keep-alive connection to 127.0.0.1:PORT, send GET / and read the reply
 * (Content-Length) for SECONDS seconds: "X requests/s". */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int port;
static double deadline;
static long total;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int connect_to(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* One request and its whole reply; 0 on success. */
static int request(int fd, char *buf, size_t size)
{
    static const char req[] = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
    if (write(fd, req, sizeof req - 1) != (ssize_t)(sizeof req - 1))
        return -1;
    size_t have = 0;
    char *end = NULL;
    while (!end) {
        ssize_t n = read(fd, buf + have, size - 1 - have);
        if (n <= 0)
            return -1;
        have += n;
        buf[have] = 0;
        end = strstr(buf, "\r\n\r\n");
    }
    char *cl = strcasestr(buf, "content-length:");
    long len = cl ? atol(cl + 15) : 0;
    long body = have - (end + 4 - buf);
    while (body < len) {
        ssize_t n = read(fd, buf, size);
        if (n <= 0)
            return -1;
        body += n;
    }
    return 0;
}

static void *client(void *arg)
{
    (void)arg;
    char buf[65536];
    long done = 0;
    int fd = connect_to();
    while (fd >= 0 && now() < deadline) {
        if (request(fd, buf, sizeof buf) != 0) {
            close(fd);
            fd = connect_to();
            continue;
        }
        done++;
    }
    if (fd >= 0)
        close(fd);
    pthread_mutex_lock(&lock);
    total += done;
    pthread_mutex_unlock(&lock);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 4)
        return 2;
    port = atoi(argv[1]);
    int clients = atoi(argv[2]);
    double secs = atof(argv[3]);
    pthread_t t[clients];
    double start = now();
    deadline = start + secs;
    for (int i = 0; i < clients; i++)
        pthread_create(&t[i], NULL, client, NULL);
    for (int i = 0; i < clients; i++)
        pthread_join(t[i], NULL);
    printf("%.0f requests/s\n", total / (now() - start));
    return total > 0 ? 0 : 1;
}
