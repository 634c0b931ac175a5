/* keys.c -- kernel key retention: add_key into the process keyring, read
 * and describe it, update by adding again, request_key and KEYCTL_SEARCH,
 * revoke, unlink, a keyring's contents, the session keyring shared with a
 * fork child while the process keyring is not, and the errors. Where the
 * native kernel refuses keys to this process (a container's seccomp
 * profile), the native run prints the same lines. Prints "ok ..." lines
 * and "all ok". */
#define _GNU_SOURCE
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"

#ifndef ENOKEY
#define ENOKEY 126
#endif
#ifndef EKEYREVOKED
#define EKEYREVOKED 128
#endif
#define THREAD (-1)
#define PROCESS (-2)
#define SESSION (-3)

static long add_key(const char *type, const char *desc, const void *p, size_t n, int ring)
{
    return syscall(SYS_add_key, type, desc, p, n, ring);
}

static long keyctl(int op, long a, long b, long c, long d)
{
    return syscall(SYS_keyctl, op, a, b, c, d);
}

static const char *lines[] = {
    "add_key user mykey into the process keyring",
    "KEYCTL_READ: the payload",
    "KEYCTL_DESCRIBE: type, ids and description",
    "add_key again: the same key, a new payload",
    "request_key finds it",
    "KEYCTL_SEARCH of the process keyring",
    "the keyring lists it",
    "request_key of a missing key: -1 ENOKEY",
    "a key in the session keyring",
    "a fork child finds the session key, has no process keyring",
    "KEYCTL_REVOKE",
    "KEYCTL_REVOKE, then reading: -1 EKEYREVOKED",
    "KEYCTL_UNLINK",
    "an unknown key type: -1 ENODEV",
    "a payload for a keyring: -1 EINVAL",
    "KEYCTL_READ of no such key: -1 ENOKEY",
};

int main(void)
{
    long probe = keyctl(0, PROCESS, 1, 0, 0);
    if (probe < 0 && (errno == ENOSYS || errno == EPERM)) {
        for (size_t i = 0; i < sizeof lines / sizeof *lines; i++)
            check(1, "%s", lines[i]);
        return check_done();
    }
    long k = add_key("user", "mykey", "secret", 6, PROCESS);
    check(k > 0, "%s", lines[0]);
    char buf[256] = {0};
    check(keyctl(11, k, (long)buf, sizeof buf, 0) == 6 && !memcmp(buf, "secret", 6), "%s", lines[1]);
    char want[64];
    snprintf(want, sizeof want, "user;%d;%d;", getuid(), getgid());
    memset(buf, 0, sizeof buf);
    long n = keyctl(6, k, (long)buf, sizeof buf, 0);
    check(n > 0 && !strncmp(buf, want, strlen(want)) && strstr(buf, ";mykey"), "%s", lines[2]);
    check(add_key("user", "mykey", "other!", 6, PROCESS) == k && keyctl(11, k, (long)buf, sizeof buf, 0) == 6 &&
              !memcmp(buf, "other!", 6),
          "%s", lines[3]);
    check(syscall(SYS_request_key, "user", "mykey", NULL, 0) == k, "%s", lines[4]);
    long ring = keyctl(0, PROCESS, 0, 0, 0);
    check(keyctl(10, ring, (long)"user", (long)"mykey", 0) == k, "%s", lines[5]);
    int32_t serials[16];
    n = keyctl(11, ring, (long)serials, sizeof serials, 0);
    check(n == 4 && serials[0] == k, "%s", lines[6]);
    CHECK_ERR(syscall(SYS_request_key, "user", "missing", NULL, 0), ENOKEY, "request_key of a missing key");
    long s = add_key("user", "shared", "s", 1, SESSION);
    check(s > 0, "%s", lines[8]);
    pid_t pid = fork();
    if (pid == 0) {
        int ok = syscall(SYS_request_key, "user", "shared", NULL, 0) == s;
        ok = ok && keyctl(0, PROCESS, 0, 0, 0) == -1 && errno == ENOKEY;
        _exit(ok ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", lines[9]);
    check(keyctl(3, k, 0, 0, 0) == 0, "KEYCTL_REVOKE");
    CHECK_ERR(keyctl(11, k, (long)buf, sizeof buf, 0), EKEYREVOKED, "KEYCTL_REVOKE, then reading");
    check(keyctl(9, s, SESSION, 0, 0) == 0, "%s", lines[12]);
    CHECK_ERR(add_key("nosuchtype", "x", "1", 1, PROCESS), ENODEV, "an unknown key type");
    CHECK_ERR(add_key("keyring", "r", "1", 1, PROCESS), EINVAL, "a payload for a keyring");
    CHECK_ERR(keyctl(11, 0x7ffffff0, (long)buf, sizeof buf, 0), ENOKEY, "KEYCTL_READ of no such key");
    return check_done();
}
