/* bigwrite.c -- writes exactly 1 MiB (1048576 bytes) to stdout: the pattern
 * 'a'..'z' repeating, using write() in 1000-byte chunks (partial writes handled).
 * Args: none. Stdin: unused. Exit 0, or 1 on a write error (stderr). */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#define TOTAL (1 << 20)
#define CHUNK 1000

int main(void)
{
    static char data[TOTAL];
    for (int i = 0; i < TOTAL; i++)
        data[i] = 'a' + i % 26;

    size_t off = 0;
    while (off < TOTAL) {
        size_t len = TOTAL - off < CHUNK ? TOTAL - off : CHUNK;
        ssize_t w = write(1, data + off, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            perror("write");
            return 1;
        }
        off += w;
    }
    return 0;
}
