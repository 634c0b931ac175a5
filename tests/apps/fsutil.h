/* fsutil.h -- helpers shared by the fs_* test programs (file system tests
 * that work inside the directory given as argv[1]). Includes check.h. The
 * program defines _GNU_SOURCE. */
#ifndef FSUTIL_H
#define FSUTIL_H

#include "errname.h"


#include "check.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Ends the program (status 2) unless argc >= need; then chdir(argv[1]). */
static inline void enter_workdir(int argc, char **argv, int need, const char *usage)
{
    if (argc < need) {
        fprintf(stderr, "usage: %s\n", usage);
        exit(2);
    }
    /* A directory that does not exist yet is made (silently): inside the
     * LibOS, a fresh directory on the persistent root is named, not made. */
    mkdir(argv[1], 0755);
    check(chdir(argv[1]) == 0, "chdir into the work directory");
}

/* "DIR/NAME" in out, with a relative DIR taken relative to the current
 * directory (call it before enter_workdir changes that). */
static inline void prog_path(char *out, size_t cap, const char *dir, const char *name)
{
    char cwd[4096] = "";
    if (dir[0] != '/' && !getcwd(cwd, sizeof cwd))
        cwd[0] = 0;
    snprintf(out, cap, "%s%s%s/%s", cwd, cwd[0] ? "/" : "", dir, name);
}

/* Reads fd until EOF or cap bytes; returns the count or -1. */
static inline long read_full(int fd, void *buf, size_t cap)
{
    size_t len = 0;
    while (len < cap) {
        ssize_t n = read(fd, (char *)buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        len += n;
    }
    return len;
}

/* Creates or truncates path (mode 0644) to hold exactly data[0..len);
 * returns len or -1. */
static inline long put_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, data, len);
    if (close(fd) != 0)
        return -1;
    return n;
}

/* Reads the whole file (at most cap bytes); returns its length or -1. */
static inline long get_file(const char *path, void *buf, size_t cap)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    long n = read_full(fd, buf, cap);
    close(fd);
    return n;
}

/* 1 if the file holds exactly the NUL-terminated string s. */
static inline int file_is(const char *path, const char *s)
{
    char buf[4096];
    long n = get_file(path, buf, sizeof buf);
    return n == (long)strlen(s) && memcmp(buf, s, n) == 0;
}

/* st_size of path (following symlinks), or -1. */
static inline long fsize(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* 1 if path exists (lstat succeeds). */
static inline int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* 1 if the n bytes at p are all equal to c. */
static inline int all_bytes(const void *p, int c, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != (unsigned char)c)
            return 0;
    return 1;
}

/* Number of entries of directory path besides "." and "..", or -1. */
static inline int count_entries(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

/* The last check of every fs_* program: everything it created is gone. */
static inline void check_workdir_empty(void)
{
    check_eq(count_entries("."), 0, "the work directory is empty again");
}

#endif
