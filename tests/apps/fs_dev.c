/* fs_dev.c -- device files and /proc: /dev/null, /dev/zero, /dev/full,
 * /dev/urandom, /dev/random (behaviour and device numbers),
 * /dev/stdin|stdout|stderr, /dev/fd/1 (writes the line "via /dev/fd/1" to
 * stdout), /dev/shm; /proc/self/{exe,cmdline,fd,stat,status,comm,maps,cwd},
 * /proc/self itself, /proc/PID, /proc/{cpuinfo,meminfo,mounts,uptime,loadavg,stat}.
 * Values that differ between runs (pids, paths, sizes) are only compared.
 * Args: argv[1] = an empty directory to work in (left empty again).
 * Prints "ok ..." lines, then "all ok" (exit 0) or "FAIL: ..." (exit 1). */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "fsutil.h"

static char buf[1 << 18];

/* Reads a whole (pseudo) file into buf, NUL-terminated; returns its length
 * or -1. */
static long slurp(const char *path)
{
    long n = get_file(path, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    return n;
}

static void char_dev(const char *path, int maj, int min)
{
    struct stat st;
    check(stat(path, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(maj, min),
          "%s: a character device %d:%d", path, maj, min);
}

static void devices(void)
{
    int fd = open("/dev/null", O_RDWR);
    check(fd >= 0, "open /dev/null O_RDWR");
    check_eq(read(fd, buf, 100), 0, "/dev/null: read -> 0");
    check_eq(write(fd, buf, 100), 100, "/dev/null: write of 100 bytes -> 100");
    close(fd);
    char_dev("/dev/null", 1, 3);

    fd = open("/dev/zero", O_RDWR);
    memset(buf, 0xff, 4096);
    check(fd >= 0 && read(fd, buf, 4096) == 4096 && all_bytes(buf, 0, 4096), "/dev/zero: reads 4096 zeros");
    check_eq(write(fd, buf, 10), 10, "/dev/zero: write -> 10");
    close(fd);
    char_dev("/dev/zero", 1, 5);

    fd = open("/dev/full", O_RDWR);
    check(fd >= 0, "open /dev/full");
    CHECK_ERR(write(fd, "x", 1), ENOSPC, "/dev/full: write");
    memset(buf, 0xff, 100);
    check(read(fd, buf, 100) == 100 && all_bytes(buf, 0, 100), "/dev/full: reads zeros");
    close(fd);
    char_dev("/dev/full", 1, 7);

    static const char *rnd[] = { "/dev/urandom", "/dev/random" };
    for (int i = 0; i < 2; i++) {
        unsigned char a[64], b[64];
        fd = open(rnd[i], O_RDONLY);
        check(fd >= 0 && read(fd, a, 64) == 64 && read(fd, b, 64) == 64, "%s: two reads of 64 bytes", rnd[i]);
        check(!all_bytes(a, 0, 64) && memcmp(a, b, 64) != 0, "%s: not all zero, and different", rnd[i]);
        close(fd);
    }
    char_dev("/dev/random", 1, 8);
    char_dev("/dev/urandom", 1, 9);

    static const char *std[] = { "/dev/stdin", "/dev/stdout", "/dev/stderr" };
    for (int i = 0; i < 3; i++) {
        struct stat s1, s2;
        check(stat(std[i], &s1) == 0 && fstat(i, &s2) == 0 && s1.st_ino == s2.st_ino && s1.st_dev == s2.st_dev,
              "%s is fd %d's file", std[i], i);
    }
    fflush(stdout);
    fd = open("/dev/fd/1", O_WRONLY);
    check(fd >= 0 && write(fd, "via /dev/fd/1\n", 14) == 14, "open /dev/fd/1 and write a line to it");
    close(fd);

    struct stat st;
    check(stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode), "/dev/shm is a directory");
    char path[64];
    unsigned long salt = 0;
    fd = open("/dev/urandom", O_RDONLY);
    (void)!read(fd, &salt, sizeof salt);
    close(fd);
    snprintf(path, sizeof path, "/dev/shm/fs_dev.%d.%lx", (int)getpid(), salt);
    fd = open(path, O_CREAT | O_EXCL | O_RDWR, 0600);
    check(fd >= 0 && write(fd, "shm", 3) == 3 && pread(fd, buf, 3, 0) == 3 && !memcmp(buf, "shm", 3),
          "create, write and read a file in /dev/shm");
    close(fd);
    check(unlink(path) == 0 && !exists(path), "unlink it");
}

static void proc_self(int argc, char **argv)
{
    char cwd[4096], link[4096], want[4200];
    pid_t pid = getpid();
    long n = readlink("/proc/self/exe", link, sizeof link);
    check(n > 1 && link[0] == '/', "readlink /proc/self/exe: an absolute path");
    snprintf(want, sizeof want, "%d", (int)pid);
    n = readlink("/proc/self", link, sizeof link - 1);
    check(n > 0 && (link[n] = 0, !strcmp(link, want)), "readlink /proc/self: the pid");

    size_t len = 0;
    for (int i = 0; i < argc; i++) {
        memcpy(want + len, argv[i], strlen(argv[i]) + 1);
        len += strlen(argv[i]) + 1;
    }
    n = slurp("/proc/self/cmdline");
    check(n == (long)len && !memcmp(buf, want, len), "/proc/self/cmdline: the arguments, each ending in NUL");
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    n = slurp(path);
    check(n == (long)len && !memcmp(buf, want, len), "/proc/PID/cmdline: the same");

    check(getcwd(cwd, sizeof cwd) != NULL, "getcwd");
    n = readlink("/proc/self/cwd", link, sizeof link - 1);
    check(n > 0 && (link[n] = 0, !strcmp(link, cwd)), "readlink /proc/self/cwd equals getcwd()");

    int fd = open("marker", O_CREAT | O_RDWR, 0644);
    int seen[4] = { 0 };
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char *end;
        long v = strtol(e->d_name, &end, 10);
        if (*end)
            continue;
        for (int i = 0; i < 3; i++)
            seen[i] |= v == i;
        seen[3] |= v == fd;
    }
    if (d)
        closedir(d);
    check(seen[0] && seen[1] && seen[2], "/proc/self/fd lists 0, 1 and 2");
    check(seen[3], "and a newly opened fd");
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    snprintf(want, sizeof want, "%s/marker", cwd);
    n = readlink(path, link, sizeof link - 1);
    check(n > 0 && (link[n] = 0, !strcmp(link, want)), "readlink /proc/self/fd/N: the file's path");
    close(fd);
    check_eq(unlink("marker"), 0, "unlink marker");

    n = slurp("/proc/self/stat");
    char *rp = strrchr(buf, ')');
    char state = 0;
    long ppid = 0;
    check(n > 0 && atol(buf) == pid, "/proc/self/stat: field 1 is the pid");
    check(!strncmp(buf + strcspn(buf, "("), "(fs_dev) ", 9), "field 2 is (fs_dev)");
    check(rp && sscanf(rp + 1, " %c %ld", &state, &ppid) == 2 && state == 'R' && ppid == getppid(),
          "field 3 is R, field 4 the parent's pid");
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    n = slurp(path);
    check(n > 0 && atol(buf) == pid, "/proc/PID/stat: field 1 is the pid");
    n = slurp("/proc/self/status");
    snprintf(want, sizeof want, "\nPid:\t%d\n", (int)pid);
    check(n > 0 && strstr(buf, want) != NULL, "/proc/self/status has a \"Pid:\\t<pid>\" line");
    snprintf(want, sizeof want, "\nPPid:\t%d\n", (int)getppid());
    check(strstr(buf, want) != NULL, "and a \"PPid:\\t<ppid>\" line");
    check(!strncmp(buf, "Name:\tfs_dev\n", 13), "and starts with \"Name:\\tfs_dev\"");
    check(slurp("/proc/self/comm") == 7 && !strcmp(buf, "fs_dev\n"), "/proc/self/comm: fs_dev");
    check(slurp("/proc/self/maps") > 0 && strstr(buf, "[stack]") != NULL, "/proc/self/maps has a [stack] line");
}

static void proc_system(void)
{
    check(slurp("/proc/cpuinfo") > 0 && strstr(buf, "processor") && strstr(buf, "\nflags"),
          "/proc/cpuinfo has \"processor\" and \"flags\"");
    long kb = 0;
    char *mt = slurp("/proc/meminfo") > 0 ? strstr(buf, "MemTotal:") : NULL;
    check(mt && sscanf(mt, "MemTotal: %ld kB", &kb) == 1 && kb > 0, "/proc/meminfo has \"MemTotal: N kB\"");
    check(slurp("/proc/mounts") > 0, "/proc/mounts is readable and not empty");
    double up = 0, idle = 0, l1, l5, l15;
    check(slurp("/proc/uptime") > 0 && sscanf(buf, "%lf %lf", &up, &idle) == 2 && up > 0,
          "/proc/uptime: two numbers");
    check(slurp("/proc/loadavg") > 0 && sscanf(buf, "%lf %lf %lf", &l1, &l5, &l15) == 3, "/proc/loadavg: three numbers");
    check(slurp("/proc/stat") > 0 && !strncmp(buf, "cpu ", 4), "/proc/stat starts with a \"cpu \" line");
}

/* A device node made by mknod (root only) is the device of its number. */
static void mknod_device(void)
{
    const char *what = "mknod c 1:3 (as root): a null device, with its number in stat";
    if (geteuid() != 0) {
        check(1, "%s", what);
        return;
    }
    struct stat st;
    int ok = mknod("null", S_IFCHR | 0666, makedev(1, 3)) == 0 && stat("null", &st) == 0 &&
             S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 3;
    int fd = open("null", O_RDWR);
    ok = ok && fd >= 0 && write(fd, "gone", 4) == 4 && read(fd, buf, 8) == 0;
    close(fd);
    unlink("null");
    check(ok, "%s", what);
}

int main(int argc, char **argv)
{
    enter_workdir(argc, argv, 2, "fs_dev DIR");
    devices();
    mknod_device();
    proc_self(argc, argv);
    proc_system();
    check_workdir_empty();
    return check_done();
}
