/* cat.c -- copies stdin to stdout with read()/write() in 4 KiB chunks until EOF.
 * Prints nothing else; exits 0 (1 on a read/write error, reported on stderr). */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
    char buf[4096];
    for (;;) {
        ssize_t n = read(0, buf, sizeof buf);
        if (n == 0)
            return 0;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("read");
            return 1;
        }
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(1, buf + off, n - off);
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                perror("write");
                return 1;
            }
            off += w;
        }
    }
}
