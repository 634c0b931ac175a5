/* stdio_flags.c -- the status flags of the standard streams as the test
 * harness gives them (pipes: stdin read-only, stdout and stderr write-only),
 * which libuv (Node.js) checks before it writes to a pipe; O_NONBLOCK set
 * and cleared with F_SETFL; then a write through the non-blocking stdout. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "check.h"

static const char *mode(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return "error";
    switch (fl & O_ACCMODE) {
    case O_RDONLY: return "O_RDONLY";
    case O_WRONLY: return "O_WRONLY";
    default: return "O_RDWR";
    }
}

int main(void)
{
    printf("stdin %s, stdout %s, stderr %s\n", mode(0), mode(1), mode(2));
    fflush(stdout);
    int fl = fcntl(1, F_GETFL);
    check(fcntl(1, F_SETFL, fl | O_NONBLOCK) == 0 && (fcntl(1, F_GETFL) & O_NONBLOCK),
          "O_NONBLOCK set on stdout");
    check(strcmp(mode(1), "O_WRONLY") == 0, "the access mode stays");
    check(write(1, "written while non-blocking\n", 27) == 27, "a write to a non-blocking stdout");
    check(fcntl(1, F_SETFL, fl) == 0 && !(fcntl(1, F_GETFL) & O_NONBLOCK), "O_NONBLOCK cleared");
    return check_done();
}
