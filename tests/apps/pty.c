/* Pseudo-terminals: posix_openpt/grantpt/unlockpt/ptsname and openpty, the
 * terminal end under /dev/pts, canonical input with echo and erase, output
 * processing, raw mode, window size, end of file, Ctrl-C to the foreground
 * process group of a controlling terminal, and hang-up on either side. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include "check.h"

/* Reads exactly n bytes (the two ends' data may arrive in pieces). */
static int read_exact(int fd, char *buf, int n)
{
    int got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r <= 0)
            return got;
        got += r;
    }
    buf[got] = 0;
    return got;
}

static int expect(int fd, const char *want)
{
    char buf[256];
    int n = read_exact(fd, buf, strlen(want));
    return n == (int)strlen(want) && memcmp(buf, want, n) == 0;
}

static int readable(int fd)
{
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, 2000) == 1 && (p.revents & POLLIN);
}

int main(void)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    check(m >= 0, "posix_openpt");
    check(grantpt(m) == 0, "grantpt");
    char *name = ptsname(m);
    check(name && strncmp(name, "/dev/pts/", 9) == 0, "ptsname is under /dev/pts");
    char path[64];
    snprintf(path, sizeof path, "%s", name ? name : "");
    errno = 0;
    int locked = open(path, O_RDWR | O_NOCTTY);
    check_err(locked, errno, EIO, "opening a locked terminal end");
    check(unlockpt(m) == 0, "unlockpt");
    int s = open(path, O_RDWR | O_NOCTTY);
    check(s >= 0, "open the terminal end");
    check(isatty(m) && isatty(s), "both ends are terminals");
    char *tn = ttyname(s);
    check(tn && strcmp(tn, path) == 0, "ttyname names the terminal end");
    struct stat st;
    check(fstat(s, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 136,
          "the terminal end is character device 136");
    struct stat byname;
    check(stat(path, &byname) == 0 && byname.st_ino == st.st_ino && byname.st_dev == st.st_dev,
          "stat of its name is the open file's");

    struct termios t;
    check(tcgetattr(s, &t) == 0, "tcgetattr");
    check((t.c_lflag & (ICANON | ECHO | ISIG)) == (ICANON | ECHO | ISIG) &&
              (t.c_oflag & (OPOST | ONLCR)) == (OPOST | ONLCR) && (t.c_iflag & ICRNL) &&
              t.c_cc[VINTR] == 3 && t.c_cc[VEOF] == 4 && t.c_cc[VERASE] == 0177,
          "default modes: canonical, echo, signals, ONLCR, ICRNL");

    /* Canonical input: a line at a time, echoed with CR-NL. */
    write(m, "hello\r", 6);
    char buf[256];
    ssize_t n = read(s, buf, sizeof buf);
    check(n == 6 && memcmp(buf, "hello\n", 6) == 0, "a typed line reads with CR mapped to NL");
    check(expect(m, "hello\r\n"), "the line is echoed with CR-NL");

    /* Editing: erase and kill. */
    write(m, "abX\177c\n", 6);
    n = read(s, buf, sizeof buf);
    check(n == 4 && memcmp(buf, "abc\n", 4) == 0, "erase removes a character");
    check(expect(m, "abX\b \bc\r\n"), "erase is echoed as backspace-space-backspace");
    write(m, "gone\025kept\n", 10);
    n = read(s, buf, sizeof buf);
    check(n == 5 && memcmp(buf, "kept\n", 5) == 0, "kill removes the line");
    check(expect(m, "gone\b \b\b \b\b \b\b \bkept\r\n"), "kill is echoed as erasing the line");

    /* A short read leaves the rest of the line. */
    write(m, "12345\n", 6);
    n = read(s, buf, 2);
    ssize_t n2 = read(s, buf + 2, sizeof buf - 2);
    check(n == 2 && n2 == 4 && memcmp(buf, "12345\n", 6) == 0, "a line reads in pieces");
    check(expect(m, "12345\r\n"), "echo of the pieces' line");

    /* Output: NL becomes CR-NL. */
    write(s, "out\n", 4);
    check(expect(m, "out\r\n"), "output NL becomes CR-NL");
    int avail = -1;
    write(m, "q\n", 2);
    check(readable(s) && ioctl(s, FIONREAD, &avail) == 0 && avail == 2, "FIONREAD counts a line");
    read(s, buf, sizeof buf);
    expect(m, "q\r\n");

    /* End of file: ^D on an empty line. */
    write(m, "\004", 1);
    n = read(s, buf, sizeof buf);
    check(n == 0, "^D on an empty line reads as end of file");

    /* Raw mode: bytes as typed, no echo, no signals. */
    struct termios raw = t;
    cfmakeraw(&raw);
    check(tcsetattr(s, TCSANOW, &raw) == 0, "tcsetattr raw");
    write(m, "x\r\003", 3);
    n = read_exact(s, buf, 3);
    check(n == 3 && memcmp(buf, "x\r\003", 3) == 0, "raw input passes CR and ^C");
    int fl = fcntl(m, F_GETFL);
    fcntl(m, F_SETFL, fl | O_NONBLOCK);
    errno = 0;
    n = read(m, buf, sizeof buf);
    check_err(n, errno, EAGAIN, "raw mode does not echo");
    fcntl(m, F_SETFL, fl);
    write(s, "a\nb", 3);
    check(expect(m, "a\nb"), "raw output is not processed");
    check(tcsetattr(s, TCSANOW, &t) == 0, "back to the default modes");

    /* Window size, set on the master, read on the terminal end. */
    struct winsize ws = {.ws_row = 33, .ws_col = 101}, got = {0};
    check(ioctl(m, TIOCSWINSZ, &ws) == 0 && ioctl(s, TIOCGWINSZ, &got) == 0 &&
              got.ws_row == 33 && got.ws_col == 101,
          "window size");

    /* Not a controlling terminal yet. */
    errno = 0;
    pid_t fg = tcgetpgrp(s);
    check_err(fg, errno, ENOTTY, "tcgetpgrp of a terminal that is not ours");

    /* A session leader takes it as its controlling terminal; ^C signals
     * its foreground process group. */
    int sync[2];
    pipe(sync);
    pid_t child = fork();
    if (child == 0) {
        /* SIGINT may come ignored (a background job); a stuck test ends
         * with SIGALRM instead of hanging. */
        signal(SIGINT, SIG_DFL);
        alarm(10);
        setsid();
        int ok = ioctl(s, TIOCSCTTY, 0) == 0 && tcgetpgrp(s) == getpid() &&
                 tcgetsid(s) == getpid();
        int tty = open("/dev/tty", O_RDWR);
        ok = ok && tty >= 0 && write(tty, "via /dev/tty\n", 13) == 13;
        write(sync[1], ok ? "y" : "n", 1);
        for (;;)
            pause();
    }
    char c = 0;
    read(sync[0], &c, 1);
    check(c == 'y', "TIOCSCTTY makes it the session's terminal, its group in front");
    check(expect(m, "via /dev/tty\r\n"), "/dev/tty is the controlling terminal");
    write(m, "\003", 1);
    int status = 0;
    waitpid(child, &status, 0);
    check(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT, "^C sends SIGINT to the foreground group");
    check(expect(m, "^C"), "^C is echoed");

    /* openpty: a second pair, with a name. */
    int m2, s2;
    char name2[64];
    check(openpty(&m2, &s2, name2, NULL, NULL) == 0 && strcmp(name2, path) != 0 && isatty(s2),
          "openpty makes another pair");

    /* Hang-up: the master reads EIO once the terminal end is closed. */
    close(s2);
    errno = 0;
    n = read(m2, buf, sizeof buf);
    check_err(n, errno, EIO, "master read after the terminal end closed");
    close(m2);

    /* The other way: after the master closes, the terminal end reads end
     * of file and writes fail with EIO. */
    close(m);
    n = read(s, buf, sizeof buf);
    check(n == 0, "terminal read after the master closed");
    errno = 0;
    n = write(s, "x", 1);
    check_err(n, errno, EIO, "terminal write after the master closed");
    close(s);
    errno = 0;
    int gone = open(path, O_RDWR | O_NOCTTY);
    check_err(gone, errno, ENOENT, "the name is gone with the pair");
    return check_done();
}
