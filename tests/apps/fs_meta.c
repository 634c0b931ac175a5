/* fs_meta.c -- file metadata: stat/fstat/lstat/newfstatat (AT_SYMLINK_NOFOLLOW,
 * AT_EMPTY_PATH), statx, statfs/fstatfs, chmod/fchmod/fchmodat (setuid,
 * setgid, sticky bits), chown/fchown/fchownat/lchown (as root; chown clears
 * setuid), access/faccessat/faccessat2, umask. Sizes and times: fs_size and
 * fs_times. Values that differ between runs (inode and device numbers,
 * st_blocks, st_blksize, statfs fields) are only compared, never printed.
 * Args: argv[1] = an empty directory to work in (left empty again).
 * Prints "ok ..." lines, then "all ok" (exit 0) or "FAIL: ..." (exit 1). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "fsutil.h"

/* The kernel's struct statx (musl 1.2.3 has none). */
struct statx_ts_k {
    int64_t tv_sec;
    uint32_t tv_nsec;
    int32_t reserved;
};
struct statx_k {
    uint32_t mask, blksize;
    uint64_t attributes;
    uint32_t nlink, uid, gid;
    uint16_t mode, spare0;
    uint64_t ino, size, blocks, attributes_mask;
    struct statx_ts_k atime, btime, ctime, mtime;
    uint32_t rdev_major, rdev_minor, dev_major, dev_minor;
    uint64_t spare2[14];
};
#define K_STATX_BASIC_STATS 0x7ffu
#define K_STATX_RESERVED 0x80000000u

static long statx_(int dfd, const char *path, int flags, unsigned mask, struct statx_k *sx)
{
    memset(sx, 0, sizeof *sx);
    return syscall(SYS_statx, dfd, path, flags, mask, sx);
}

static int mode_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

static void stats(void)
{
    struct stat st, st2;
    check_eq(put_file("f", "12345", 5), 5, "create f (5 bytes)");
    check_eq(stat("f", &st), 0, "stat f");
    check_eq(st.st_mode & S_IFMT, S_IFREG, "S_IFREG");
    check(st.st_size == 5 && st.st_nlink == 1 && (st.st_mode & 07777) == 0644, "size 5, nlink 1, mode 0644");
    check(st.st_uid == geteuid() && st.st_gid == getegid(), "owned by the effective uid and gid");
    check(st.st_ino != 0 && st.st_blksize > 0, "st_ino and st_blksize are set");
    int fd = open("f", O_RDONLY);
    check(fstat(fd, &st2) == 0 && st2.st_ino == st.st_ino && st2.st_dev == st.st_dev && st2.st_size == 5,
          "fstat: same inode, device and size");
    check(lstat("f", &st2) == 0 && st2.st_ino == st.st_ino, "lstat of a file: the same");
    check_eq(symlink("f", "lnk"), 0, "symlink lnk -> f");
    check(lstat("lnk", &st2) == 0 && (st2.st_mode & S_IFMT) == S_IFLNK && st2.st_size == 1 && st2.st_ino != st.st_ino,
          "lstat lnk: S_IFLNK, st_size 1 (the target's length), its own inode");
    check_eq(st2.st_mode & 0777, 0777, "a symlink's mode is 0777");
    check(stat("lnk", &st2) == 0 && st2.st_ino == st.st_ino, "stat lnk: the file");
    check_eq(mkdir("d", 0755), 0, "mkdir d");
    check(stat("d", &st2) == 0 && (st2.st_mode & S_IFMT) == S_IFDIR, "stat d: S_IFDIR");
    check(put_file("d/g", "", 0) == 0 && stat("d/g", &st2) == 0 && st2.st_ino != st.st_ino && st2.st_dev == st.st_dev,
          "another file: another inode, same device");
    int dfd = open("d", O_RDONLY | O_DIRECTORY);
    check(fstatat(dfd, "g", &st2, 0) == 0 && st2.st_size == 0, "newfstatat(dirfd, \"g\")");
    check(fstatat(AT_FDCWD, "lnk", &st2, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st2.st_mode),
          "newfstatat(AT_SYMLINK_NOFOLLOW) of the symlink");
    check(fstatat(AT_FDCWD, "lnk", &st2, 0) == 0 && S_ISREG(st2.st_mode), "newfstatat without flags follows it");
    check(fstatat(fd, "", &st2, AT_EMPTY_PATH) == 0 && st2.st_ino == st.st_ino, "newfstatat(fd, \"\", AT_EMPTY_PATH)");
    CHECK_ERR(fstatat(fd, "", &st2, 0), ENOENT, "newfstatat(fd, \"\", 0)");
    CHECK_ERR(syscall(SYS_newfstatat, AT_FDCWD, "f", &st2, 0x1), EINVAL, "newfstatat with bad flags");
    CHECK_ERR(stat("missing", &st2), ENOENT, "stat of a missing name");
    CHECK_ERR(stat("f/x", &st2), ENOTDIR, "stat through a file");
    CHECK_ERR(fstat(-1, &st2), EBADF, "fstat(-1)");
    CHECK_ERR(syscall(SYS_newfstatat, AT_FDCWD, "f", (void *)1, 0), EFAULT, "newfstatat into a bad buffer");

    struct statx_k sx;
    check_eq(statx_(AT_FDCWD, "f", 0, K_STATX_BASIC_STATS, &sx), 0, "statx f");
    check_eq(sx.mask & K_STATX_BASIC_STATS, K_STATX_BASIC_STATS, "stx_mask has all basic stats");
    check(sx.size == 5 && sx.mode == st.st_mode && sx.nlink == 1 && sx.ino == st.st_ino, "size, mode, nlink and inode");
    check(sx.uid == st.st_uid && sx.gid == st.st_gid, "uid and gid");
    check(sx.dev_major == major(st.st_dev) && sx.dev_minor == minor(st.st_dev), "device numbers");
    check(sx.mtime.tv_sec == st.st_mtim.tv_sec && sx.mtime.tv_nsec == st.st_mtim.tv_nsec, "mtime equals stat's");
    check(statx_(AT_FDCWD, "lnk", AT_SYMLINK_NOFOLLOW, K_STATX_BASIC_STATS, &sx) == 0 && S_ISLNK(sx.mode) && sx.size == 1,
          "statx(AT_SYMLINK_NOFOLLOW) of the symlink");
    check(statx_(AT_FDCWD, "lnk", 0, K_STATX_BASIC_STATS, &sx) == 0 && S_ISREG(sx.mode), "statx follows it by default");
    check(statx_(fd, "", AT_EMPTY_PATH, K_STATX_BASIC_STATS, &sx) == 0 && sx.ino == st.st_ino,
          "statx(fd, \"\", AT_EMPTY_PATH)");
    check(statx_(dfd, "g", 0, K_STATX_BASIC_STATS, &sx) == 0 && sx.size == 0, "statx(dirfd, \"g\")");
    check(statx_(AT_FDCWD, "d", 0, K_STATX_BASIC_STATS, &sx) == 0 && S_ISDIR(sx.mode), "statx of a directory");
    CHECK_ERR(statx_(AT_FDCWD, "missing", 0, K_STATX_BASIC_STATS, &sx), ENOENT, "statx of a missing name");
    CHECK_ERR(statx_(AT_FDCWD, "f", 0x1, K_STATX_BASIC_STATS, &sx), EINVAL, "statx with bad flags");
    CHECK_ERR(statx_(AT_FDCWD, "f", 0, K_STATX_RESERVED, &sx), EINVAL, "statx with STATX__RESERVED in the mask");
    CHECK_ERR(syscall(SYS_statx, AT_FDCWD, "f", 0, K_STATX_BASIC_STATS, (void *)1), EFAULT, "statx into a bad buffer");

    struct statfs sf, sf2;
    check(statfs(".", &sf) == 0 && sf.f_bsize > 0, "statfs(\".\"): f_bsize > 0");
    check(fstatfs(fd, &sf2) == 0 && sf2.f_bsize == sf.f_bsize && sf2.f_type == sf.f_type,
          "fstatfs of a file in it: the same file system");
    CHECK_ERR(statfs("missing", &sf), ENOENT, "statfs of a missing name");
    CHECK_ERR(fstatfs(-1, &sf), EBADF, "fstatfs(-1)");
    close(fd);
    close(dfd);
    check(unlink("d/g") == 0 && rmdir("d") == 0 && unlink("lnk") == 0, "remove d/g, d and lnk");
}

static void modes(void)
{
    struct stat st;
    check_eq(chmod("f", 0600), 0, "chmod f 0600");
    check_eq(mode_of("f"), 0600, "mode 0600");
    int fd = open("f", O_RDONLY);
    check(fchmod(fd, 0640) == 0 && mode_of("f") == 0640, "fchmod 0640");
    check(fchmodat(AT_FDCWD, "f", 0604, 0) == 0 && mode_of("f") == 0604, "fchmodat 0604");
    check(chmod("f", 04755) == 0 && mode_of("f") == 04755, "chmod 04755 (setuid)");
    check(chmod("f", 02750) == 0 && mode_of("f") == 02750, "chmod 02750 (setgid)");
    check(chmod("f", 0170644) == 0 && stat("f", &st) == 0 && st.st_mode == (S_IFREG | 0644),
          "chmod ignores file type bits");
    check_eq(mkdir("d", 0755), 0, "mkdir d");
    check(chmod("d", 01777) == 0 && mode_of("d") == 01777, "chmod a directory 01777 (sticky)");
    check_eq(symlink("f", "lnk"), 0, "symlink lnk -> f");
    check(chmod("lnk", 0660) == 0 && mode_of("f") == 0660, "chmod through a symlink changes the target");
    check(lstat("lnk", &st) == 0 && (st.st_mode & 0777) == 0777, "... not the symlink");
    CHECK_ERR(chmod("missing", 0644), ENOENT, "chmod of a missing name");
    CHECK_ERR(fchmod(-1, 0644), EBADF, "fchmod(-1)");
    int pfd = open("f", O_PATH);
    /* (musl's fchmod retries an O_PATH fd through /proc/self/fd: use the system call) */
    CHECK_ERR(syscall(SYS_fchmod, pfd, 0644), EBADF, "fchmod of an O_PATH fd");
    close(pfd);

    check_eq(chown("f", 1234, 5678), 0, "chown f 1234:5678");
    check(stat("f", &st) == 0 && st.st_uid == 1234 && st.st_gid == 5678, "owner 1234:5678");
    check(fchown(fd, 4321, -1) == 0 && stat("f", &st) == 0 && st.st_uid == 4321 && st.st_gid == 5678,
          "fchown 4321:-1 keeps the group");
    check(fchownat(AT_FDCWD, "f", -1, 8765, 0) == 0 && stat("f", &st) == 0 && st.st_uid == 4321 && st.st_gid == 8765,
          "fchownat -1:8765 keeps the owner");
    check_eq(lchown("lnk", 11, 12), 0, "lchown lnk 11:12");
    check(lstat("lnk", &st) == 0 && st.st_uid == 11 && st.st_gid == 12, "the symlink is 11:12");
    check(stat("f", &st) == 0 && st.st_uid == 4321, "the target is unchanged");
    check(fchownat(AT_FDCWD, "lnk", 21, 22, AT_SYMLINK_NOFOLLOW) == 0 && lstat("lnk", &st) == 0 && st.st_uid == 21 &&
              st.st_gid == 22,
          "fchownat(AT_SYMLINK_NOFOLLOW) changes the symlink");
    check(chown("lnk", 31, 32) == 0 && stat("f", &st) == 0 && st.st_uid == 31 && st.st_gid == 32,
          "chown through the symlink changes the target");
    CHECK_ERR(chown("missing", 0, 0), ENOENT, "chown of a missing name");
    CHECK_ERR(fchown(-1, 0, 0), EBADF, "fchown(-1)");
    check(chmod("f", 04755) == 0 && chown("f", 41, 42) == 0 && mode_of("f") == 0755,
          "chown clears the setuid bit (also for root)");
    check(chmod("f", 02755) == 0 && chown("f", 0, 0) == 0 && mode_of("f") == 0755,
          "chown clears the setgid bit of a group-executable file");
    check(chmod("d", 02755) == 0 && chown("d", 5, 5) == 0 && mode_of("d") == 02755,
          "chown keeps the setgid bit of a directory");
    check_eq(put_file("d/in", "", 0), 0, "create d/in");
    check(stat("d/in", &st) == 0 && st.st_gid == 5, "a file in a setgid directory gets its group");
    check(mkdir("d/sub", 0755) == 0 && stat("d/sub", &st) == 0 && st.st_gid == 5 && (st.st_mode & 02000),
          "a directory in it also gets the setgid bit");
    close(fd);
    check(rmdir("d/sub") == 0 && unlink("d/in") == 0 && rmdir("d") == 0 && unlink("lnk") == 0, "remove d and lnk");
}

static void access_umask(void)
{
    check(chmod("f", 0644) == 0, "chmod f 0644");
    check_eq(access("f", F_OK), 0, "access F_OK");
    check_eq(access("f", R_OK | W_OK), 0, "access R_OK|W_OK");
    CHECK_ERR(access("f", X_OK), EACCES, "access X_OK of a 0644 file (also for root)");
    CHECK_ERR(access("f", R_OK | X_OK), EACCES, "access R_OK|X_OK of it");
    check(chmod("f", 0755) == 0 && access("f", X_OK) == 0, "access X_OK of a 0755 file");
    check(chmod("f", 0010) == 0 && access("f", X_OK) == 0, "access X_OK of a 0010 file (root: any x bit)");
    CHECK_ERR(access("missing", F_OK), ENOENT, "access of a missing name");
    CHECK_ERR(access("f/x", F_OK), ENOTDIR, "access through a file");
    CHECK_ERR(access("f", 8), EINVAL, "access with a bad mode");
    check_eq(mkdir("d", 0755), 0, "mkdir d");
    check_eq(put_file("d/g", "", 0), 0, "create d/g");
    int dfd = open("d", O_RDONLY | O_DIRECTORY);
    check_eq(faccessat(dfd, "g", R_OK | W_OK, 0), 0, "faccessat(dirfd, \"g\", R_OK|W_OK)");
    CHECK_ERR(faccessat(dfd, "g", X_OK, 0), EACCES, "faccessat X_OK of a 0644 file");
    check_eq(faccessat(AT_FDCWD, "d/g", F_OK, AT_EACCESS), 0, "faccessat(AT_EACCESS)");
    check_eq(symlink("nowhere", "dangle"), 0, "symlink dangle -> nowhere");
    CHECK_ERR(syscall(SYS_faccessat2, AT_FDCWD, "dangle", F_OK, 0), ENOENT, "faccessat2 of a dangling symlink");
    check_eq(syscall(SYS_faccessat2, AT_FDCWD, "dangle", F_OK, AT_SYMLINK_NOFOLLOW), 0,
             "faccessat2(AT_SYMLINK_NOFOLLOW) of it");
    check_eq(syscall(SYS_faccessat2, dfd, "g", R_OK, AT_EACCESS), 0, "faccessat2(dirfd, \"g\", AT_EACCESS)");
    check_eq(syscall(SYS_faccessat2, dfd, "", R_OK, AT_EMPTY_PATH), 0, "faccessat2(dirfd, \"\", AT_EMPTY_PATH)");
    CHECK_ERR(syscall(SYS_faccessat2, dfd, "g", X_OK, 0), EACCES, "faccessat2 X_OK of a 0644 file");
    CHECK_ERR(syscall(SYS_faccessat2, dfd, "g", F_OK, 0x1), EINVAL, "faccessat2 with bad flags");
    close(dfd);
    check(unlink("d/g") == 0 && rmdir("d") == 0 && unlink("dangle") == 0, "remove d and dangle");

    mode_t old = umask(077);
    check_eq(umask(022), 077, "umask returns the previous mask");
    check(put_file("m1", "", 0) == 0 && mode_of("m1") == 0644, "umask 022: a 0666 file gets 0644");
    check(mkdir("m2", 0777) == 0 && mode_of("m2") == 0755, "umask 022: a 0777 directory gets 0755");
    check(mkdir("m3", 01777) == 0 && mode_of("m3") == 01755, "mkdir keeps the sticky bit: 01755");
    check(mkdir("m6", 06755) == 0 && mode_of("m6") == 0755 && rmdir("m6") == 0,
          "mkdir drops set-ID bits its parent lacks");
    umask(077);
    int fd = open("m4", O_CREAT | O_WRONLY, 0666);
    check(fd >= 0 && mode_of("m4") == 0600, "umask 077: a 0666 file gets 0600");
    close(fd);
    check(mkdir("m5", 0777) == 0 && mode_of("m5") == 0700, "umask 077: a 0777 directory gets 0700");
    check(chmod("m4", 0777) == 0 && mode_of("m4") == 0777, "chmod ignores the umask");
    umask(0);
    fd = open("m6", O_CREAT | O_WRONLY, 0777);
    check(fd >= 0 && mode_of("m6") == 0777, "umask 0: a 0777 file gets 0777");
    close(fd);
    umask(01777);
    check_eq(umask(022), 0777, "umask keeps only the permission bits");
    umask(old);
    check(unlink("m1") == 0 && rmdir("m2") == 0 && rmdir("m3") == 0 && unlink("m4") == 0 && rmdir("m5") == 0 &&
              unlink("m6") == 0,
          "remove m1 to m6");
}

int main(int argc, char **argv)
{
    enter_workdir(argc, argv, 2, "fs_meta DIR");
    umask(022);
    stats();
    modes();
    access_umask();
    check_eq(unlink("f"), 0, "unlink f");
    check_workdir_empty();
    return check_done();
}
