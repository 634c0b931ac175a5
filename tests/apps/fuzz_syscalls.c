/* fuzz_syscalls.c -- a syscall fuzzer: runs CALLS random raw syscalls
 * (syscall(2)) spread over THREADS threads and prints
 * "fuzz: CALLS calls done" (exit 0). Any call may fail with any errno; what
 * must not happen is a crash, an abort or a hang of the system under test.
 *
 * Usage: fuzz_syscalls SEED CALLS THREADS [trace]
 *   The calls of each thread are a function of SEED (an own xorshift PRNG per
 *   thread, seeded from SEED and the thread's index); with THREADS = 1 a run
 *   repeats the same calls (results that depend on timing aside). "trace"
 *   prints every call and its result on stderr (to find the call that
 *   crashed or hung the system under test). At the end, a summary line on
 *   stderr: calls per second, how many succeeded, the common errnos.
 *
 * Arguments come from per-syscall kinds (fd, path, buffer, length, flags,
 * sockaddr, timeout, ...) drawn from edge values (0, -1, 1, small ints,
 * INT_MAX, huge, page-aligned and unaligned pointers into a scratch buffer
 * the fuzzer owns, pointers that straddle into a guard page, into read-only
 * memory, NULL, 8, 0x7fffffffe000, 0xffff800000000000, non-canonical
 * addresses, lengths 0..2^40) and random numbers.
 *
 * What keeps the fuzzer (and the machine) alive:
 *  - Never called: exit/exit_group, signal senders (kill, tkill, tgkill,
 *    rt_sigqueueinfo, ...), fork/vfork/clone/clone3, execve/execveat,
 *    rt_sigreturn, sigaltstack, set_tid_address, set_robust_list, rseq,
 *    seccomp, ptrace, process_vm_*, pause, reboot, userfaultfd, uretprobe,
 *    and calls that change the host rather than the caller (time, hostname,
 *    modules, swap, SysV IPC, keyrings, perf, ...).
 *  - Shaped arguments: munmap/mprotect/madvise/mremap/mseal only on the
 *    calling thread's scratch mapping; mmap never MAP_FIXED, at most 4 MiB,
 *    and what it maps is unmapped again; brk only grows (or is asked for
 *    addresses below the heap) and is put back; fallocate, sendfile, splice,
 *    tee and copy_file_range move at most 1 MiB (a memfd or a RAM file
 *    system would turn more into memory); rt_sigaction never
 *    touches SIGUSR1/SIGUSR2 or the fault signals and installs only a no-op
 *    handler or SIG_IGN; signal masks never block SIGUSR1; setrlimit only on
 *    harmless resources; close/dup2/dup3/close_range never onto fds 0-2 or
 *    the fuzzer's own fds (900-903); prctl and arch_prctl without the
 *    options that change the caller's execution (SET_FS, seccomp, Syscall
 *    User Dispatch, ...); sockets only in AF_UNIX/INET/INET6 and addresses
 *    only the fuzzer's own (127.0.0.1 ports it bound, ::1, AF_UNIX names
 *    under its directory); timeouts of at most 1 ms.
 *  - Paths point at strings under /tmp/fuzz-<pid> (a directory it creates),
 *    at /dev/{null,zero,urandom} and /proc files, or at garbage. Pointers
 *    that the kernel could write a user address to (ARCH_GET_FS, ...) point
 *    into a sink page that no other call is given.
 *  - Any value that would point into memory the fuzzer itself uses (its
 *    image, stacks, heap, TLS; read from /proc/self/maps at start) is turned
 *    into a non-canonical address.
 *  - All signals are blocked and have no-op handlers, except the faults:
 *    a fault prints where it happened and what each thread was calling,
 *    then ends the run with the signal. A watchdog (the main
 *    thread) interrupts a call that blocks for more than a few ms with
 *    SIGUSR1 (no SA_RESTART): EINTR. A call still blocked after 10 s is a
 *    hang: reported on stderr with its arguments, exit 3.
 *  - The periodic resets of a thread's scratch buffer, directory tree and
 *    fds run alone (no other call runs meanwhile).
 *  - Checks: the read-only pages must never change (exit 4); mmap/mremap
 *    must not return memory the fuzzer already uses (exit 4).
 *  - No call pattern is skipped for a known LibOS bug: the three it found
 *    are fixed and have tests of their own: a rename deadlock in ramfs
 *    (fs_links.c), a panic in prctl(PR_SET_NAME) (info_misc.c), and epoll
 *    files watching each other in a loop (epoll_nest.c).
 * Natively, run it as an unprivileged user (for example `setpriv
 * --reuid=65534 --regid=65534 --clear-groups`): as root, calls such as
 * setpriority on pid 1 reach the machine. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <ucontext.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

typedef uint64_t u64;

/* ---------------------------------------------------------------- table */

/* Argument kinds, one letter per argument (missing ones are 'g'):
 *  g generic value      f fd             d dirfd (AT_FDCWD or fd)
 *  p path/name string   b buffer pointer n length           o open flags
 *  m mode               x flag bits      s signal number    P pid
 *  u uid/gid            c clockid        a sockaddr ptr     l sockaddr len
 *  T timespec ptr       V timeval ptr    S sigset ptr       I iovec array
 *  N small count        k sink pointer   i small int        w whence */
enum { F_L = 1,     /* served by the LibOS: picked more often */
       F_X = 2,     /* never called: would end or wreck the fuzzer */
       F_H = 4,     /* never called: changes the host, not the caller */
       F_S = 8 };   /* arguments shaped by special() */

struct sc {
    const char *name;
    const char *args;
    unsigned char fl;
};

#define NSYS 470
static const struct sc table[NSYS] = {
    [0] = {"read", "fbn", F_L},
    [1] = {"write", "fbn", F_L},
    [2] = {"open", "pom", F_L},
    [3] = {"close", "f", F_L | F_S},
    [4] = {"stat", "pb", F_L},
    [5] = {"fstat", "fb", F_L},
    [6] = {"lstat", "pb", F_L},
    [7] = {"poll", "bNi", F_L | F_S},
    [8] = {"lseek", "fgw", F_L},
    [9] = {"mmap", "bnxxfg", F_L | F_S},
    [10] = {"mprotect", "bnx", F_L | F_S},
    [11] = {"munmap", "bn", F_L | F_S},
    [12] = {"brk", "g", F_L | F_S},
    [13] = {"rt_sigaction", "sbkn", F_L | F_S},
    [14] = {"rt_sigprocmask", "iSbn", F_L | F_S},
    [15] = {"rt_sigreturn", "", F_X},
    [16] = {"ioctl", "fgb", F_L | F_S},
    [17] = {"pread64", "fbng", F_L},
    [18] = {"pwrite64", "fbng", F_L},
    [19] = {"readv", "fIN", F_L},
    [20] = {"writev", "fIN", F_L},
    [21] = {"access", "pm", F_L},
    [22] = {"pipe", "b", F_L},
    [23] = {"select", "ibbbV", F_L | F_S},
    [24] = {"sched_yield", "", F_L},
    [25] = {"mremap", "bnnxg", F_L | F_S},
    [26] = {"msync", "bnx", F_L},
    [27] = {"mincore", "bnb", 0},
    [28] = {"madvise", "bni", F_L | F_S},
    [29] = {"shmget", "", F_H},
    [30] = {"shmat", "", F_H},
    [31] = {"shmctl", "", F_H},
    [32] = {"dup", "f", F_L},
    [33] = {"dup2", "ff", F_L | F_S},
    [34] = {"pause", "", F_X},
    [35] = {"nanosleep", "Tb", F_L},
    [36] = {"getitimer", "ib", F_L},
    [37] = {"alarm", "i", F_L},
    [38] = {"setitimer", "ibb", F_L | F_S},
    [39] = {"getpid", "", F_L},
    [40] = {"sendfile", "ffbn", F_L | F_S},
    [41] = {"socket", "iii", F_L | F_S},
    [42] = {"connect", "fal", F_L},
    [43] = {"accept", "fbb", F_L},
    [44] = {"sendto", "fbnxal", F_L | F_S},
    [45] = {"recvfrom", "fbnxbb", F_L | F_S},
    [46] = {"sendmsg", "fbx", F_L | F_S},
    [47] = {"recvmsg", "fbx", F_L | F_S},
    [48] = {"shutdown", "fi", F_L},
    [49] = {"bind", "fal", F_L},
    [50] = {"listen", "fi", F_L},
    [51] = {"getsockname", "fbb", F_L},
    [52] = {"getpeername", "fbb", F_L},
    [53] = {"socketpair", "iiib", F_L | F_S},
    [54] = {"setsockopt", "fiibn", F_L},
    [55] = {"getsockopt", "fiibb", F_L},
    [56] = {"clone", "", F_X},
    [57] = {"fork", "", F_X},
    [58] = {"vfork", "", F_X},
    [59] = {"execve", "", F_X},
    [60] = {"exit", "", F_X},
    [61] = {"wait4", "Pbxb", F_L},
    [62] = {"kill", "", F_X},
    [63] = {"uname", "b", F_L},
    [64] = {"semget", "", F_H},
    [65] = {"semop", "", F_H},
    [66] = {"semctl", "", F_H},
    [67] = {"shmdt", "", F_H},
    [68] = {"msgget", "", F_H},
    [69] = {"msgsnd", "", F_H},
    [70] = {"msgrcv", "", F_H},
    [71] = {"msgctl", "", F_H},
    [72] = {"fcntl", "fig", F_L | F_S},
    [73] = {"flock", "fx", F_L},
    [74] = {"fsync", "f", F_L},
    [75] = {"fdatasync", "f", F_L},
    [76] = {"truncate", "pn", F_L},
    [77] = {"ftruncate", "fn", F_L},
    [78] = {"getdents", "fbn", 0},
    [79] = {"getcwd", "bn", F_L},
    [80] = {"chdir", "p", F_L},
    [81] = {"fchdir", "f", F_L},
    [82] = {"rename", "pp", F_L},
    [83] = {"mkdir", "pm", F_L},
    [84] = {"rmdir", "p", F_L},
    [85] = {"creat", "pm", F_L},
    [86] = {"link", "pp", F_L},
    [87] = {"unlink", "p", F_L},
    [88] = {"symlink", "pp", F_L},
    [89] = {"readlink", "pbn", F_L},
    [90] = {"chmod", "pm", F_L},
    [91] = {"fchmod", "fm", F_L},
    [92] = {"chown", "puu", F_L},
    [93] = {"fchown", "fuu", F_L},
    [94] = {"lchown", "puu", F_L},
    [95] = {"umask", "m", F_L},
    [96] = {"gettimeofday", "bb", F_L},
    [97] = {"getrlimit", "ib", F_L},
    [98] = {"getrusage", "ib", F_L},
    [99] = {"sysinfo", "b", F_L},
    [100] = {"times", "b", F_L},
    [101] = {"ptrace", "", F_X},
    [102] = {"getuid", "", F_L},
    [103] = {"syslog", "", F_H},
    [104] = {"getgid", "", F_L},
    [105] = {"setuid", "u", 0},
    [106] = {"setgid", "u", 0},
    [107] = {"geteuid", "", F_L},
    [108] = {"getegid", "", F_L},
    [109] = {"setpgid", "PP", F_L},
    [110] = {"getppid", "", F_L},
    [111] = {"getpgrp", "", F_L},
    [112] = {"setsid", "", F_L},
    [113] = {"setreuid", "uu", 0},
    [114] = {"setregid", "uu", 0},
    [115] = {"getgroups", "nb", F_L},
    [116] = {"setgroups", "nb", 0},
    [117] = {"setresuid", "uuu", 0},
    [118] = {"getresuid", "bbb", F_L},
    [119] = {"setresgid", "uuu", 0},
    [120] = {"getresgid", "bbb", F_L},
    [121] = {"getpgid", "P", F_L},
    [122] = {"setfsuid", "u", 0},
    [123] = {"setfsgid", "u", 0},
    [124] = {"getsid", "P", F_L},
    [125] = {"capget", "bb", 0},
    [126] = {"capset", "bb", 0},
    [127] = {"rt_sigpending", "bn", F_L},
    [128] = {"rt_sigtimedwait", "bbTn", F_L | F_S},
    [129] = {"rt_sigqueueinfo", "", F_X},
    [130] = {"rt_sigsuspend", "Sn", F_L | F_S},
    [131] = {"sigaltstack", "", F_X},
    [132] = {"utime", "pb", F_L},
    [133] = {"mknod", "pmg", F_S},
    [134] = {"uselib", "p", 0},
    [135] = {"personality", "g", F_L},
    [136] = {"ustat", "gb", 0},
    [137] = {"statfs", "pb", F_L},
    [138] = {"fstatfs", "fb", F_L},
    [139] = {"sysfs", "iib", 0},
    [140] = {"getpriority", "iP", F_L},
    [141] = {"setpriority", "iPi", F_L},
    [142] = {"sched_setparam", "Pb", 0},
    [143] = {"sched_getparam", "Pb", F_L},
    [144] = {"sched_setscheduler", "Pib", 0},
    [145] = {"sched_getscheduler", "P", F_L},
    [146] = {"sched_get_priority_max", "i", F_L},
    [147] = {"sched_get_priority_min", "i", F_L},
    [148] = {"sched_rr_get_interval", "Pb", 0},
    [149] = {"mlock", "bn", 0},
    [150] = {"munlock", "bn", 0},
    [151] = {"mlockall", "x", 0},
    [152] = {"munlockall", "", 0},
    [153] = {"vhangup", "", F_H},
    [154] = {"modify_ldt", "ibn", 0},
    [155] = {"pivot_root", "", F_H},
    [156] = {"_sysctl", "b", 0},
    [157] = {"prctl", "igggg", F_L | F_S},
    [158] = {"arch_prctl", "ig", F_L | F_S},
    [159] = {"adjtimex", "", F_H},
    [160] = {"setrlimit", "ib", F_L | F_S},
    [161] = {"chroot", "p", 0},
    [162] = {"sync", "", F_L},
    [163] = {"acct", "", F_H},
    [164] = {"settimeofday", "", F_H},
    [165] = {"mount", "pppxb", F_L | F_S},
    [166] = {"umount2", "px", F_L},
    [167] = {"swapon", "", F_H},
    [168] = {"swapoff", "", F_H},
    [169] = {"reboot", "", F_X},
    [170] = {"sethostname", "", F_H},
    [171] = {"setdomainname", "", F_H},
    [172] = {"iopl", "", F_H},
    [173] = {"ioperm", "", F_H},
    [174] = {"create_module", "pn", 0},
    [175] = {"init_module", "", F_H},
    [176] = {"delete_module", "", F_H},
    [177] = {"get_kernel_syms", "b", 0},
    [178] = {"query_module", "pibnb", 0},
    [179] = {"quotactl", "", F_H},
    [180] = {"nfsservctl", "ibb", 0},
    [181] = {"getpmsg", "fbbbb", 0},
    [182] = {"putpmsg", "fbbii", 0},
    [183] = {"afs_syscall", "gggggg", 0},
    [184] = {"tuxcall", "gggggg", 0},
    [185] = {"security", "gggggg", 0},
    [186] = {"gettid", "", F_L},
    [187] = {"readahead", "fgn", 0},
    [188] = {"setxattr", "ppbnx", F_L},
    [189] = {"lsetxattr", "ppbnx", F_L},
    [190] = {"fsetxattr", "fpbnx", F_L},
    [191] = {"getxattr", "ppbn", F_L},
    [192] = {"lgetxattr", "ppbn", F_L},
    [193] = {"fgetxattr", "fpbn", F_L},
    [194] = {"listxattr", "pbn", F_L},
    [195] = {"llistxattr", "pbn", F_L},
    [196] = {"flistxattr", "fbn", F_L},
    [197] = {"removexattr", "pp", F_L},
    [198] = {"lremovexattr", "pp", F_L},
    [199] = {"fremovexattr", "fp", F_L},
    [200] = {"tkill", "", F_X},
    [201] = {"time", "b", F_L},
    [202] = {"futex", "bigbbg", F_L | F_S},
    [203] = {"sched_setaffinity", "Pnb", F_L},
    [204] = {"sched_getaffinity", "Pnb", F_L},
    [205] = {"set_thread_area", "b", 0},
    [206] = {"io_setup", "nk", 0},
    [207] = {"io_destroy", "g", 0},
    [208] = {"io_getevents", "gnnbT", 0},
    [209] = {"io_submit", "gnb", 0},
    [210] = {"io_cancel", "gbb", 0},
    [211] = {"get_thread_area", "b", 0},
    [212] = {"lookup_dcookie", "gbn", 0},
    [213] = {"epoll_create", "n", F_L},
    [214] = {"epoll_ctl_old", "fifb", 0},
    [215] = {"epoll_wait_old", "fbi", 0},
    [216] = {"remap_file_pages", "bnxnx", F_S},
    [217] = {"getdents64", "fbn", F_L},
    [218] = {"set_tid_address", "", F_X},
    [219] = {"restart_syscall", "", 0},
    [220] = {"semtimedop", "", F_H},
    [221] = {"fadvise64", "fggi", 0},
    [222] = {"timer_create", "cbb", F_S},
    [223] = {"timer_settime", "ixbb", F_S},
    [224] = {"timer_gettime", "ib", 0},
    [225] = {"timer_getoverrun", "i", 0},
    [226] = {"timer_delete", "i", 0},
    [227] = {"clock_settime", "", F_H},
    [228] = {"clock_gettime", "cb", F_L},
    [229] = {"clock_getres", "cb", F_L},
    [230] = {"clock_nanosleep", "cxTb", F_L},
    [231] = {"exit_group", "", F_X},
    [232] = {"epoll_wait", "fbii", F_L | F_S},
    [233] = {"epoll_ctl", "fifb", F_L},
    [234] = {"tgkill", "", F_X},
    [235] = {"utimes", "pb", F_L},
    [236] = {"vserver", "gggggg", 0},
    [237] = {"mbind", "bnibnx", 0},
    [238] = {"set_mempolicy", "ibn", 0},
    [239] = {"get_mempolicy", "bbnbx", 0},
    [240] = {"mq_open", "", F_H},
    [241] = {"mq_unlink", "", F_H},
    [242] = {"mq_timedsend", "fbnxT", 0},
    [243] = {"mq_timedreceive", "fbnbT", 0},
    [244] = {"mq_notify", "fb", 0},
    [245] = {"mq_getsetattr", "fbb", 0},
    [246] = {"kexec_load", "", F_H},
    [247] = {"waitid", "iPbxb", F_L},
    [248] = {"add_key", "", F_H},
    [249] = {"request_key", "", F_H},
    [250] = {"keyctl", "", F_H},
    [251] = {"ioprio_set", "iPi", 0},
    [252] = {"ioprio_get", "iP", 0},
    [253] = {"inotify_init", "", 0},
    [254] = {"inotify_add_watch", "fpx", 0},
    [255] = {"inotify_rm_watch", "fi", 0},
    [256] = {"migrate_pages", "Pnbb", 0},
    [257] = {"openat", "dpom", F_L},
    [258] = {"mkdirat", "dpm", F_L},
    [259] = {"mknodat", "dpmg", F_S},
    [260] = {"fchownat", "dpuux", F_L},
    [261] = {"futimesat", "dpb", F_L},
    [262] = {"newfstatat", "dpbx", F_L},
    [263] = {"unlinkat", "dpx", F_L},
    [264] = {"renameat", "dpdp", F_L},
    [265] = {"linkat", "dpdpx", F_L},
    [266] = {"symlinkat", "pdp", F_L},
    [267] = {"readlinkat", "dpbn", F_L},
    [268] = {"fchmodat", "dpmx", F_L},
    [269] = {"faccessat", "dpm", F_L},
    [270] = {"pselect6", "ibbbTb", F_L | F_S},
    [271] = {"ppoll", "bNTSn", F_L | F_S},
    [272] = {"unshare", "x", 0},
    [273] = {"set_robust_list", "", F_X},
    [274] = {"get_robust_list", "Pkb", F_L},
    [275] = {"splice", "fbfbnx", F_S},
    [276] = {"tee", "ffnx", F_S},
    [277] = {"sync_file_range", "fggx", 0},
    [278] = {"vmsplice", "fINx", 0},
    [279] = {"move_pages", "Pnbbbx", 0},
    [280] = {"utimensat", "dpbx", F_L},
    [281] = {"epoll_pwait", "fbiiSn", F_L | F_S},
    [282] = {"signalfd", "fbn", 0},
    [283] = {"timerfd_create", "cx", 0},
    [284] = {"eventfd", "g", F_L},
    [285] = {"fallocate", "fxnn", F_L | F_S},
    [286] = {"timerfd_settime", "fxbb", 0},
    [287] = {"timerfd_gettime", "fb", 0},
    [288] = {"accept4", "fbbx", F_L},
    [289] = {"signalfd4", "fbnx", 0},
    [290] = {"eventfd2", "gx", F_L},
    [291] = {"epoll_create1", "x", F_L},
    [292] = {"dup3", "ffx", F_L | F_S},
    [293] = {"pipe2", "bx", F_L},
    [294] = {"inotify_init1", "x", 0},
    [295] = {"preadv", "fINgg", F_L},
    [296] = {"pwritev", "fINgg", F_L},
    [297] = {"rt_tgsigqueueinfo", "", F_X},
    [298] = {"perf_event_open", "", F_H},
    [299] = {"recvmmsg", "fbNxT", F_S},
    [300] = {"fanotify_init", "xx", 0},
    [301] = {"fanotify_mark", "fxgdp", 0},
    [302] = {"prlimit64", "Pibb", F_L | F_S},
    [303] = {"name_to_handle_at", "dpbbx", 0},
    [304] = {"open_by_handle_at", "fbo", 0},
    [305] = {"clock_adjtime", "", F_H},
    [306] = {"syncfs", "f", F_L},
    [307] = {"sendmmsg", "fbNx", F_S},
    [308] = {"setns", "fx", 0},
    [309] = {"getcpu", "bbb", F_L},
    [310] = {"process_vm_readv", "", F_X},
    [311] = {"process_vm_writev", "", F_X},
    [312] = {"kcmp", "PPigg", 0},
    [313] = {"finit_module", "", F_H},
    [314] = {"sched_setattr", "Pbx", 0},
    [315] = {"sched_getattr", "Pbnx", 0},
    [316] = {"renameat2", "dpdpx", F_L},
    [317] = {"seccomp", "", F_X},
    [318] = {"getrandom", "bnx", F_L},
    [319] = {"memfd_create", "px", F_L},
    [320] = {"kexec_file_load", "", F_H},
    [321] = {"bpf", "ibn", 0},
    [322] = {"execveat", "", F_X},
    [323] = {"userfaultfd", "", F_X},
    [324] = {"membarrier", "xxi", 0},
    [325] = {"mlock2", "bnx", 0},
    [326] = {"copy_file_range", "fbfbnx", F_L | F_S},
    [327] = {"preadv2", "fINggx", F_L},
    [328] = {"pwritev2", "fINggx", F_L},
    [329] = {"pkey_mprotect", "bnxi", F_S},
    [330] = {"pkey_alloc", "xx", 0},
    [331] = {"pkey_free", "i", 0},
    [332] = {"statx", "dpxxb", F_L},
    [333] = {"io_pgetevents", "gnnbTb", 0},
    [334] = {"rseq", "", F_X},
    [335] = {"uretprobe", "", F_X},
    [336] = {"uprobe", "", F_X},
    [424] = {"pidfd_send_signal", "", F_X},
    [425] = {"io_uring_setup", "nb", 0},
    [426] = {"io_uring_enter", "fnnxbn", 0},
    [427] = {"io_uring_register", "fibn", 0},
    [428] = {"open_tree", "dpx", 0},
    [429] = {"move_mount", "dpdpx", 0},
    [430] = {"fsopen", "px", 0},
    [431] = {"fsconfig", "fippi", 0},
    [432] = {"fsmount", "fxx", 0},
    [433] = {"fspick", "dpx", 0},
    [434] = {"pidfd_open", "Px", 0},
    [435] = {"clone3", "", F_X},
    [436] = {"close_range", "iix", F_L | F_S},
    [437] = {"openat2", "dpbn", F_S},
    [438] = {"pidfd_getfd", "ffx", 0},
    [439] = {"faccessat2", "dpmx", F_L},
    [440] = {"process_madvise", "", F_X},
    [441] = {"epoll_pwait2", "fbiTSn", F_S},
    [442] = {"mount_setattr", "dpxbn", 0},
    [443] = {"quotactl_fd", "", F_H},
    [444] = {"landlock_create_ruleset", "bnx", 0},
    [445] = {"landlock_add_rule", "fibx", 0},
    [446] = {"landlock_restrict_self", "fx", 0},
    [447] = {"memfd_secret", "x", 0},
    [448] = {"process_mrelease", "fx", 0},
    [449] = {"futex_waitv", "bNxTc", F_S},
    [450] = {"set_mempolicy_home_node", "bnix", 0},
    [451] = {"cachestat", "fbbx", 0},
    [452] = {"fchmodat2", "dpmx", 0},
    [453] = {"map_shadow_stack", "bnx", F_S},
    [454] = {"futex_wake", "bgix", 0},
    [455] = {"futex_wait", "bggxTc", F_S},
    [456] = {"futex_requeue", "bxii", 0},
    [457] = {"statmount", "bbnx", 0},
    [458] = {"listmount", "bbnx", 0},
    [459] = {"lsm_get_self_attr", "ibbx", 0},
    [460] = {"lsm_set_self_attr", "ibnx", 0},
    [461] = {"lsm_list_modules", "bbx", 0},
    [462] = {"mseal", "bnx", F_S},
    [463] = {"setxattrat", "dpxpbn", 0},
    [464] = {"getxattrat", "dpxpbn", 0},
    [465] = {"listxattrat", "dpxbn", 0},
    [466] = {"removexattrat", "dpxp", 0},
    [467] = {"open_tree_attr", "dpxbn", 0},
    [468] = {"file_getattr", "dpbnx", 0},
    [469] = {"file_setattr", "dpbnx", 0},
};

/* Syscall numbers the harness itself uses or shapes. */
enum {
    NR_sendfile = 40, NR_splice = 275, NR_tee = 276, NR_fallocate = 285,
    NR_copy_file_range = 326,
    NR_close = 3, NR_poll = 7, NR_mmap = 9, NR_mprotect = 10, NR_munmap = 11,
    NR_brk = 12, NR_rt_sigaction = 13, NR_rt_sigprocmask = 14, NR_ioctl = 16,
    NR_pipe = 22, NR_select = 23, NR_mremap = 25, NR_madvise = 28,
    NR_dup2 = 33, NR_setitimer = 38, NR_socket = 41, NR_sendto = 44,
    NR_recvfrom = 45, NR_sendmsg = 46, NR_recvmsg = 47, NR_socketpair = 53,
    NR_fcntl = 72, NR_rt_sigtimedwait = 128, NR_rt_sigsuspend = 130,
    NR_mknod = 133, NR_prctl = 157, NR_arch_prctl = 158, NR_setrlimit = 160,
    NR_mount = 165, NR_gettid = 186, NR_futex = 202, NR_remap_file_pages = 216,
    NR_timer_create = 222, NR_timer_settime = 223, NR_epoll_wait = 232,
    NR_tgkill = 234, NR_epoll_ctl = 233, NR_mknodat = 259, NR_pselect6 = 270, NR_ppoll = 271,
    NR_epoll_pwait = 281, NR_dup3 = 292, NR_pipe2 = 293, NR_recvmmsg = 299,
    NR_prlimit64 = 302, NR_sendmmsg = 307, NR_pkey_mprotect = 329,
    NR_close_range = 436, NR_openat2 = 437, NR_epoll_pwait2 = 441,
    NR_futex_waitv = 449, NR_map_shadow_stack = 453, NR_futex_wait = 455,
    NR_mseal = 462,
};

/* Syscalls whose successful result is a new fd. */
static int returns_fd(int nr)
{
    switch (nr) {
    case 2: case 32: case 33: case 41: case 43: case 85: case 213: case 253:
    case 257: case 282: case 283: case 284: case 288: case 289: case 290:
    case 291: case 292: case 294: case 300: case 304: case 319: case 425:
    case 428: case 430: case 432: case 433: case 434: case 437: case 438:
    case 447:
        return 1;
    }
    return 0;
}

/* ---------------------------------------------------------------- state */

#define PAGE 4096UL
#define SCRATCH_PAGES 16
#define SCRATCH (SCRATCH_PAGES * PAGE)
#define BUILD (2 * PAGE)
/* Per thread: guard | scratch | guard | build | guard | sink | guard */
#define AREA (SCRATCH + BUILD + 5 * PAGE)
#define RO_PAGES 4
#define MAX_THREADS 16
#define RESET_EVERY 1000
#define FD_OUT 900 /* the fuzzer's stdout */
#define FD_ERR 901 /* and stderr */
#define FD_LISTEN 902
#define FD_UDP 903
#define FD_LAST_FUZZ 899
#define HANG_MS 10000
#define TICK_US 2000

struct fz {
    int idx;
    pid_t tid;
    u64 rng;
    unsigned long calls;
    unsigned char *scratch, *build, *sink;
    int ring[16];
    unsigned ring_pos;
    unsigned long seq; /* odd while in a fuzzed call (atomic) */
    u64 cur[7];        /* the call in progress: nr and arguments */
    unsigned long done;
    /* The monitor's view. */
    unsigned long last_seq;
    unsigned long stuck_ticks, kicks;
    /* Results. */
    unsigned long ok, errs[135], interrupted;
    pthread_t th;
};

static struct fz fzs[MAX_THREADS];
static int nthreads;
static int trace;
static pid_t g_pid;
static char g_dir[64];
static unsigned char *g_ro; /* RO_PAGES read-only pages, then a guard page */
static u64 g_ro_sum;
static volatile int g_go, g_left;
static uintptr_t g_brk0;
static pthread_mutex_t g_brk_lock = PTHREAD_MUTEX_INITIALIZER;

struct range {
    uintptr_t lo, hi;
};
static struct range g_prot[512];
static int g_nprot;

/* What lives in the read-only pages. */
static const char *g_paths[64];
static int g_npaths;
static const char *g_names[32]; /* xattr names, fs types, memfd names */
static int g_nnames;
static const char *g_unterminated;
struct sa {
    const void *p;
    unsigned len;
};
static struct sa g_sa[16];
static int g_nsa;
static const void *g_ts[16], *g_tv[8], *g_itv[8], *g_its[8], *g_sigset[8];
static int g_nts, g_ntv, g_nitv, g_nits, g_nsigset;
static const void *g_sev[8];
static int g_nsev;

struct ksigaction {
    u64 handler, flags, restorer, mask;
};
static struct ksigaction g_ksa; /* a no-op handler, with libc's restorer */
/* Actions for rt_sigaction, in read-only memory: the first two are SIG_DFL
 * (only for signals that are ignored by default), the others a no-op
 * handler or SIG_IGN with assorted flags and masks. */
static const struct ksigaction *g_acts[16];
static int g_nacts;

/* ---------------------------------------------------------------- helpers */

static u64 splitmix(u64 *x)
{
    u64 z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static u64 rnd(struct fz *t)
{
    u64 x = t->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    t->rng = x;
    return x * 0x2545f4914f6cdd1dULL;
}

static u64 below(struct fz *t, u64 n)
{
    return n ? rnd(t) % n : 0;
}

/* One in n. */
static int one_in(struct fz *t, u64 n)
{
    return below(t, n) == 0;
}

static void out(int fd, const char *s)
{
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (w <= 0)
            return;
        s += w;
        n -= w;
    }
}

static void fatal(int status, const char *what)
{
    char buf[700];
    snprintf(buf, sizeof buf, "fuzz: %s\n", what);
    out(FD_ERR, buf);
    _exit(status);
}

static const char *sysname(u64 nr)
{
    u64 base = nr & 0xffffffffu & ~0x40000000ULL;
    if (base < NSYS && table[base].name)
        return table[base].name;
    return "?";
}

/* "name(nr) (args)", with the strings of the read-only pages the
 * arguments point at (paths, names). */
static void describe(char *buf, size_t n, const u64 *c)
{
    int k = snprintf(buf, n, "%s(%#llx) (%#llx, %#llx, %#llx, %#llx, %#llx, %#llx)",
                     sysname(c[0]), (unsigned long long)c[0], (unsigned long long)c[1],
                     (unsigned long long)c[2], (unsigned long long)c[3],
                     (unsigned long long)c[4], (unsigned long long)c[5],
                     (unsigned long long)c[6]);
    for (int i = 1; i <= 6 && k > 0 && (size_t)k < n; i++) {
        uintptr_t p = c[i], ro = (uintptr_t)g_ro;
        if (!g_ro || p < ro || p >= ro + RO_PAGES * PAGE)
            continue;
        size_t len = strnlen((const char *)p, ro + RO_PAGES * PAGE - p);
        if (len == 0 || len > 60 || p + len == ro + RO_PAGES * PAGE)
            continue;
        int printable = 1;
        for (size_t j = 0; j < len; j++)
            if (((const char *)p)[j] < 32 || ((const char *)p)[j] > 126)
                printable = 0;
        if (printable)
            k += snprintf(buf + k, n - k, " arg%d=\"%s\"", i, (const char *)p);
    }
}

static u64 ro_sum(void)
{
    u64 h = 0xcbf29ce484222325ULL;
    const u64 *p = (const u64 *)g_ro;
    for (size_t i = 0; i < RO_PAGES * PAGE / 8; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

static int protected_addr(uintptr_t v)
{
    for (int i = 0; i < g_nprot; i++)
        if (v >= g_prot[i].lo && v < g_prot[i].hi)
            return 1;
    return 0;
}

static int overlap(uintptr_t lo, uintptr_t hi, uintptr_t a, uintptr_t b)
{
    return lo < b && hi > a;
}

/* Whether [lo, lo + len) holds memory that is mapped for the fuzzer (all
 * but the scratch buffers, where holes may be). */
static int overlaps_in_use(uintptr_t lo, uintptr_t len)
{
    uintptr_t hi = lo + len;
    if (hi < lo)
        hi = UINTPTR_MAX;
    for (int i = 0; i < g_nprot; i++)
        if (overlap(lo, hi, g_prot[i].lo, g_prot[i].hi))
            return 1;
    if (overlap(lo, hi, (uintptr_t)g_ro, (uintptr_t)g_ro + (RO_PAGES + 1) * PAGE))
        return 1;
    for (int i = 0; i < nthreads; i++) {
        uintptr_t s = (uintptr_t)fzs[i].scratch;
        if (overlap(lo, hi, s - PAGE, s) || overlap(lo, hi, s + SCRATCH, s - PAGE + AREA))
            return 1;
    }
    return 0;
}

/* A value that is not one of the fuzzer's own fds nor an address of the
 * memory it relies on. */
static u64 sanitize(u64 v)
{
    u64 lo = v & 0xffffffff; /* fd arguments are ints */
    if (lo >= FD_OUT && lo <= FD_UDP)
        return v + 4;
    if (protected_addr(v))
        return v ^ (1ULL << 63);
    return v;
}

/* ---------------------------------------------------------------- values */

static u64 v_len(struct fz *t)
{
    switch (below(t, 16)) {
    case 0: return 0;
    case 1: return 1;
    case 2: return 2 + below(t, 15);
    case 3: return below(t, 256);
    case 4: return PAGE - 1 + below(t, 3);
    case 5: return below(t, SCRATCH);
    case 6: return SCRATCH;
    case 7: return 65536;
    case 8: return 1 << 20;
    case 9: return 1ULL << below(t, 41);
    case 10: return (1ULL << below(t, 41)) + below(t, 3) - 1;
    case 11: return (u64)-1;
    case 12: return INT_MAX;
    case 13: return 0x80000000ULL;
    case 14: return rnd(t);
    default: return below(t, 64);
    }
}

/* A pointer into the thread's scratch buffer. */
static u64 p_scratch(struct fz *t)
{
    uintptr_t s = (uintptr_t)t->scratch;
    switch (below(t, 8)) {
    case 0: case 1: case 2:
        return s + below(t, SCRATCH_PAGES) * PAGE;
    case 3:
        return s + below(t, SCRATCH_PAGES) * PAGE + 64; /* zeroed at reset */
    case 4: case 5:
        return s + below(t, SCRATCH);
    case 6:
        return s + below(t, SCRATCH) / 8 * 8;
    default:
        return s + SCRATCH - 1 - below(t, 64); /* runs into the guard */
    }
}

/* A pointer that does not point at writable memory of the fuzzer. */
static u64 p_bad(struct fz *t)
{
    switch (below(t, 14)) {
    case 0: return 0;
    case 1: return 8;
    case 2: return PAGE - 1;
    case 3: return 0x7fffffffe000ULL;
    case 4: return 0x7fffffffe000ULL + below(t, PAGE);
    case 5: return 0x7ffffffff000ULL;
    case 6: return 0xffff800000000000ULL;
    case 7: return 0xffffffffff600000ULL;
    case 8: return 0x0000800000000000ULL;
    case 9: return 0x8000000000000000ULL;
    case 10: return (u64)-1 - below(t, 16);
    case 11: return (uintptr_t)g_ro + below(t, RO_PAGES * PAGE); /* read-only */
    case 12: return (uintptr_t)g_ro + RO_PAGES * PAGE + below(t, PAGE); /* guard */
    default: return (uintptr_t)t->scratch - 1 - below(t, PAGE); /* guard */
    }
}

/* A bad pointer that cannot be read either: for structures whose contents
 * matter (signal masks and actions, timeouts, timers). */
static u64 p_unreadable(struct fz *t)
{
    u64 p;
    do
        p = p_bad(t);
    while (p >= (uintptr_t)g_ro && p < (uintptr_t)g_ro + RO_PAGES * PAGE);
    return p;
}

/* A buffer pointer. */
static u64 v_buf(struct fz *t)
{
    u64 r = below(t, 20);
    if (r < 14)
        return p_scratch(t);
    if (r < 19)
        return p_bad(t);
    return sanitize(rnd(t));
}

/* Where a pointer to a user address may be written. */
static u64 v_sink(struct fz *t)
{
    switch (below(t, 6)) {
    case 0: case 1: case 2: return (uintptr_t)t->sink + below(t, 64) * 8;
    case 3: return 0;
    case 4: return (uintptr_t)g_ro;
    default: return p_bad(t);
    }
}

static u64 v_fd(struct fz *t)
{
    switch (below(t, 20)) {
    case 0: case 1: case 2: case 3: case 4: case 5: case 6: case 7:
        return (u64)(int64_t)t->ring[below(t, 16)];
    case 8: case 9: case 10: case 11: case 12: case 13:
        return below(t, 16);
    case 14: case 15:
        return 16 + below(t, 48);
    case 16: return (u64)-1;
    case 17: return (u64)(int64_t)AT_FDCWD;
    case 18: {
        static const u64 big[] = {INT_MAX, 1 << 20, 1023, 1024, 4095, 4096,
                                  0x80000000ULL, 0x100000003ULL};
        return big[below(t, 8)];
    }
    default: return sanitize(rnd(t) & 0xffffffff);
    }
}

static u64 v_path(struct fz *t)
{
    switch (below(t, 20)) {
    case 0: return (uintptr_t)g_names[below(t, g_nnames)];
    case 1: return (uintptr_t)g_unterminated;
    case 2: case 3: return v_buf(t);
    default: return (uintptr_t)g_paths[below(t, g_npaths)];
    }
}

static u64 v_flags(struct fz *t)
{
    switch (below(t, 8)) {
    case 0: case 1: case 2: return 0;
    case 3: return below(t, 16);
    case 4: return below(t, 256);
    case 5: return 1ULL << below(t, 32);
    case 6: return rnd(t) & 0xffffffff;
    default: return rnd(t) & rnd(t) & 0xfffff;
    }
}

static u64 v_open_flags(struct fz *t)
{
    static const int bits[] = {O_CREAT, O_EXCL, O_NOCTTY, O_TRUNC, O_APPEND,
                               O_DSYNC, O_DIRECT, O_LARGEFILE, O_DIRECTORY,
                               O_NOFOLLOW, O_NOATIME, O_CLOEXEC, O_PATH,
                               O_TMPFILE, O_SYNC};
    if (one_in(t, 16))
        return rnd(t) & 0xffffffff;
    u64 f = below(t, 4);
    int n = below(t, 4);
    for (int i = 0; i < n; i++)
        f |= bits[below(t, sizeof bits / sizeof bits[0])];
    if (!one_in(t, 4))
        f |= O_NONBLOCK;
    return f;
}

static u64 v_mode(struct fz *t)
{
    switch (below(t, 6)) {
    case 0: return 0644;
    case 1: return 0755;
    case 2: return 0;
    case 3: return 07777;
    case 4: return below(t, 010000);
    default: return rnd(t) & 0xffffffff;
    }
}

static u64 v_pid(struct fz *t)
{
    switch (below(t, 10)) {
    case 0: case 1: return 0;
    case 2: case 3: return g_pid;
    case 4: return t->tid;
    case 5: return (u64)-1;
    case 6: return 1;
    case 7: return (u64)(int64_t)-g_pid;
    case 8: return INT_MAX;
    default: return rnd(t) & 0xffffffff;
    }
}

static u64 v_id(struct fz *t)
{
    switch (below(t, 6)) {
    case 0: case 1: return 0;
    case 2: case 3: return (u64)-1;
    case 4: return 65534;
    default: return rnd(t) & 0xffffffff;
    }
}

static u64 v_small(struct fz *t)
{
    switch (below(t, 10)) {
    case 8: return (u64)-1;
    case 9: return rnd(t) & 0xffffffff;
    default: return below(t, 65);
    }
}

static u64 v_count(struct fz *t)
{
    switch (below(t, 10)) {
    case 7: return 1024 + below(t, 2);
    case 8: return (u64)-1;
    case 9: return rnd(t) & 0xffffffff;
    default: return below(t, 9);
    }
}

static u64 v_timespec(struct fz *t)
{
    return one_in(t, 6) ? p_unreadable(t) | 1 : (uintptr_t)g_ts[below(t, g_nts)];
}

static u64 v_timeval(struct fz *t)
{
    return one_in(t, 6) ? p_unreadable(t) | 1 : (uintptr_t)g_tv[below(t, g_ntv)];
}

static u64 v_sigset(struct fz *t)
{
    switch (below(t, 8)) {
    case 0: return 0;
    case 1: return p_unreadable(t);
    default: return (uintptr_t)g_sigset[below(t, g_nsigset)];
    }
}

static u64 v_sockaddr(struct fz *t, u64 *len)
{
    if (one_in(t, 8)) {
        *len = v_len(t);
        return one_in(t, 2) ? 0 : p_unreadable(t);
    }
    struct sa *s = &g_sa[below(t, g_nsa)];
    static const u64 lens[] = {0, 1, 2, 3, 16, 28, 110, 111, 128, 1000};
    if (one_in(t, 4))
        *len = one_in(t, 5) ? rnd(t) : lens[below(t, 10)];
    else
        *len = s->len;
    return (uintptr_t)s->p;
}

/* An iovec array built in the build area (or a plain buffer pointer). */
static u64 v_iov(struct fz *t, unsigned char **bp)
{
    if (one_in(t, 8))
        return v_buf(t);
    struct iovec *iov = (struct iovec *)*bp;
    for (int i = 0; i < 4; i++) {
        iov[i].iov_base = (void *)(uintptr_t)(one_in(t, 8) ? p_bad(t) : p_scratch(t));
        iov[i].iov_len = one_in(t, 4) ? v_len(t) : below(t, 2 * PAGE);
    }
    *bp += 4 * sizeof *iov;
    return (uintptr_t)iov;
}

static u64 v_generic(struct fz *t)
{
    switch (below(t, 20)) {
    case 0: return 0;
    case 1: return (u64)-1;
    case 2: return 1;
    case 3: return below(t, 65);
    case 4: return INT_MAX;
    case 5: return 0x80000000ULL;
    case 6: return 0xffffffffULL;
    case 7: return LLONG_MAX;
    case 8: {
        static const u64 huge[] = {1ULL << 40, 1ULL << 63, (u64)-PAGE,
                                   1ULL << 32, 0x7fffffffffffULL};
        return huge[below(t, 5)];
    }
    case 9: return sanitize(rnd(t));
    case 10: return sanitize(rnd(t) & 0xffffffff);
    case 11: return rnd(t) & 0xffff;
    case 12: case 13: return v_buf(t);
    case 14: return v_len(t);
    case 15: return below(t, 64) * PAGE;
    case 16: case 17: return v_fd(t);
    case 18: return v_flags(t);
    default: return sanitize(rnd(t) >> below(t, 64));
    }
}

/* ---------------------------------------------------------------- picking */

static int allowed(u64 base)
{
    if (base >= NSYS)
        return 1;
    return !(table[base].fl & (F_X | F_H));
}

static const char *args_of(u64 base)
{
    if (base < NSYS && table[base].name)
        return table[base].args;
    return "gggggg";
}

/* A syscall number: mostly one the LibOS serves, sometimes any number, an
 * unknown one, or a known one with junk in the high bits or the x32 bit. */
static u64 pick_nr(struct fz *t, u64 *base)
{
    static int served[NSYS];
    static int nserved = -1;
    if (__atomic_load_n(&nserved, __ATOMIC_ACQUIRE) < 0) {
        /* Built once, by whichever thread gets here first (same result). */
        static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
        pthread_mutex_lock(&m);
        if (nserved < 0) {
            int n = 0;
            for (int i = 0; i < NSYS; i++)
                if ((table[i].fl & F_L) && allowed(i))
                    served[n++] = i;
            __atomic_store_n(&nserved, n, __ATOMIC_RELEASE);
        }
        pthread_mutex_unlock(&m);
    }
    for (;;) {
        u64 r = below(t, 100), b, nr;
        if (r < 78) {
            b = served[below(t, nserved)];
            nr = b;
        } else if (r < 95) {
            b = below(t, NSYS);
            nr = b;
        } else {
            switch (below(t, 5)) {
            case 0: b = nr = 512 + below(t, 600); break; /* ENOSYS on x86_64 */
            case 1: b = nr = (u64)-1 - below(t, 2); break;
            case 2:
                b = served[below(t, nserved)];
                nr = b | 0x40000000; /* the x32 bit */
                break;
            case 3:
                b = served[below(t, nserved)];
                nr = b | (rnd(t) << 32);
                break;
            default:
                b = nr = 0x80000000ULL | below(t, NSYS);
                break;
            }
        }
        u64 low = b & 0xffffffffu & ~0x40000000ULL;
        if (b >= NSYS && low < NSYS)
            continue; /* 0x80000000|n: keep it simple, never a real call */
        if (!allowed(b))
            continue;
        *base = b;
        return nr;
    }
}

/* Syscalls whose argument kinds alone are not enough: shape them. */
static int signal_ok(int s)
{
    switch (s) {
    case SIGUSR1: case SIGUSR2: case SIGSEGV: case SIGBUS: case SIGILL:
    case SIGFPE: case SIGTRAP: case SIGSYS: case 32: case 33: case 34:
        return 0;
    }
    return 1;
}

static int fd_closable(u64 fd)
{
    int32_t f = (int32_t)fd; /* the kernel reads an int */
    return f < 0 || (f > 2 && f < FD_OUT) || f > FD_UDP;
}

/* A range inside the thread's scratch (or one the kernel rejects). */
static void scratch_range(struct fz *t, u64 *addr, u64 *len)
{
    uintptr_t s = (uintptr_t)t->scratch;
    u64 p = below(t, SCRATCH_PAGES);
    *addr = s + p * PAGE;
    u64 k = below(t, SCRATCH_PAGES - p + 1);
    *len = k * PAGE;
    switch (below(t, 12)) {
    case 0: *addr += 1 + below(t, PAGE - 1); break; /* unaligned: EINVAL */
    case 1: if (*len) *len -= below(t, PAGE); break;
    case 2: *len = (u64)-1; break;
    case 3: *len = (u64)-PAGE; break;
    case 4: *addr = 0xffff800000000000ULL; break;
    case 5: *addr = 0x0000800000000000ULL - PAGE; *len = 2 * PAGE; break;
    }
}

static void special(struct fz *t, u64 base, u64 *a)
{
    unsigned char *bp = t->build + 256; /* build area after v_iov's arrays */
    switch (base) {
    case NR_close:
        while (!fd_closable(a[0]))
            a[0] = v_fd(t);
        break;
    case NR_dup2:
    case NR_dup3:
        while (!fd_closable(a[1]))
            a[1] = v_fd(t);
        break;
    case NR_close_range:
        a[0] = one_in(t, 4) ? v_small(t) : 3 + below(t, 64);
        a[1] = one_in(t, 3) ? (u64)-1 : a[0] + below(t, 64) - 2;
        if (a[0] < 3)
            a[0] = 3;
        if (a[1] > FD_LAST_FUZZ && a[0] <= FD_UDP)
            a[1] = FD_LAST_FUZZ;
        if (a[0] > FD_LAST_FUZZ)
            a[0] = FD_UDP + 1 + below(t, 8);
        a[2] = one_in(t, 2) ? 0 : (one_in(t, 2) ? 4 : v_flags(t));
        break;
    case NR_mmap: {
        static const u64 bits[] = {0x20, 0x100, 0x800, 0x1000, 0x2000, 0x4000,
                                   0x8000, 0x10000, 0x20000, 0x40000,
                                   0x80000, 0x100000, 0x40, 0x4000000};
        a[0] = one_in(t, 2) ? 0 : v_generic(t);
        a[1] = v_len(t);
        if (a[1] > (4 << 20) && a[1] < (1ULL << 44))
            a[1] = (4 << 20) + (a[1] & 0xfff); /* populated, it is memory */
        a[2] = one_in(t, 8) ? v_flags(t) : below(t, 8);
        u64 f = below(t, 4);
        int n = below(t, 4);
        for (int i = 0; i < n; i++)
            f |= bits[below(t, sizeof bits / sizeof bits[0])];
        if (one_in(t, 2))
            f |= 0x20; /* anonymous */
        if (one_in(t, 16))
            f = v_flags(t);
        a[3] = f & ~(u64)MAP_FIXED;
        a[4] = (a[3] & 0x20) && !one_in(t, 4) ? (u64)-1 : v_fd(t);
        static const u64 offs[] = {0, PAGE, 1, (u64)-PAGE, 1ULL << 40, 65536};
        a[5] = offs[below(t, 6)];
        break;
    }
    case NR_munmap:
    case NR_mprotect:
    case NR_pkey_mprotect:
    case NR_madvise:
    case NR_mseal:
    case NR_remap_file_pages:
        scratch_range(t, &a[0], &a[1]);
        if (base == NR_madvise && (a[2] == 100 || a[2] == 101))
            a[2] = 4; /* MADV_HWPOISON, MADV_SOFT_OFFLINE: never */
        if (base == NR_mprotect || base == NR_pkey_mprotect)
            a[2] = one_in(t, 8) ? v_flags(t) : below(t, 16);
        if (base == NR_mseal)
            a[2] = one_in(t, 4) ? v_flags(t) : 0;
        break;
    case NR_mremap:
        scratch_range(t, &a[0], &a[1]);
        a[2] = v_len(t);
        if (a[2] > (4 << 20) && a[2] < (1ULL << 44))
            a[2] = (4 << 20) + (a[2] & 0xfff);
        a[3] = below(t, 8) & ~2ULL; /* MAYMOVE, DONTUNMAP; never FIXED */
        if (one_in(t, 16))
            a[3] = v_flags(t) & ~2ULL;
        break;
    case NR_map_shadow_stack:
        a[0] = one_in(t, 2) ? 0 : sanitize(a[0]);
        break;
    case NR_brk: {
        uintptr_t b = g_brk0;
        static const u64 fixed[] = {0, 8, PAGE, 0x10000, INT_MAX,
                                    0xffff800000000000ULL, (u64)-1, (u64)-PAGE};
        switch (below(t, 4)) {
        case 0: a[0] = fixed[below(t, 8)]; break;
        case 1: a[0] = b + 1 + below(t, 2 * PAGE); break;
        case 2: a[0] = b + below(t, 64) * PAGE; break;
        default: a[0] = b + (1ULL << (12 + below(t, 29))); break;
        }
        break;
    }
    case NR_rt_sigaction: {
        int s;
        do {
            s = below(t, 70) - 2;
        } while (!signal_ok(s));
        a[0] = (u64)(int64_t)s;
        if (one_in(t, 10)) {
            a[1] = 0;
        } else if (one_in(t, 12)) {
            a[1] = p_unreadable(t);
        } else {
            int i = below(t, g_nacts);
            if (i < 2 && s != SIGCHLD && s != SIGCONT && s != SIGURG && s != SIGWINCH)
                i += 2;
            a[1] = (uintptr_t)g_acts[i];
        }
        a[3] = one_in(t, 6) ? v_len(t) : 8;
        break;
    }
    case NR_rt_sigprocmask:
        a[0] = one_in(t, 8) ? v_small(t) : below(t, 3);
        a[3] = one_in(t, 8) ? v_len(t) : 8;
        break;
    case NR_rt_sigsuspend:
        if (a[0] == 0)
            a[0] = (uintptr_t)g_sigset[0];
        a[1] = one_in(t, 8) ? v_len(t) : 8;
        break;
    case NR_rt_sigtimedwait:
        a[3] = one_in(t, 8) ? v_len(t) : 8;
        break;
    case NR_ioctl: {
        static const u64 reqs[] = {0x541b, 0x5421, 0x5451, 0x5450, 0x5452,
                                   0x5401, 0x5402, 0x5413, 0x5414, 0x540f,
                                   0x8912, 0x8913, 0x8933, 0x8905, 0x5411,
                                   2, 1, 0x80086601, 0x40086602, 0x80081272};
        u64 r;
        for (;;) {
            r = one_in(t, 2) ? reqs[below(t, 20)] : v_generic(t);
            u64 c = r & 0xffffffff;
            /* Socket and wireless requests that configure the host's
             * network, tty requests that reach other processes. */
            if ((c & 0xffff0000) == 0 && ((c & 0xff00) == 0x8900 || (c & 0xff00) == 0x8b00) &&
                c != 0x8912 && c != 0x8913 && c != 0x8933 && c != 0x8905 &&
                c != 0x8915 && c != 0x8921 && c != 0x8927 && c != 0x8910)
                continue;
            if (c == 0x5410 || c == 0x5412 || c == 0x540e || c == 0x5422 ||
                c == 0x541d || c == 0x40045436 || c == 0x5437)
                continue;
            break;
        }
        a[1] = r;
        break;
    }
    case NR_fcntl: {
        static const u64 cmds[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 15, 16,
                                   36, 37, 38, 1024, 1025, 1026, 1027, 1030,
                                   1031, 1032, 1033, 1034, 1035, 1036, 1037,
                                   1038, 99};
        u64 c = one_in(t, 10) ? v_small(t) : cmds[below(t, 30)];
        if ((c & 0xffffffff) == 10) /* F_SETSIG: a signal of any number */
            c = 11;
        a[1] = c;
        switch (c) {
        case 4: a[2] = v_open_flags(t); break;
        case 8: {
            const u64 owners[] = {0, g_pid, t->tid, 0x7ffffff0};
            a[2] = owners[below(t, 4)];
            break;
        }
        case 15: {
            int *o = (int *)bp;
            o[0] = below(t, 2); /* F_OWNER_TID or F_OWNER_PID */
            o[1] = one_in(t, 2) ? t->tid : g_pid;
            a[2] = one_in(t, 8) ? p_unreadable(t) : (uintptr_t)o;
            break;
        }
        case 5: case 6: case 7: case 36: case 37: case 38: {
            struct flock *l = (struct flock *)bp;
            memset(l, 0, sizeof *l);
            l->l_type = below(t, 4);
            l->l_whence = below(t, 4);
            l->l_start = one_in(t, 2) ? (int64_t)below(t, 64) : (int64_t)v_len(t);
            l->l_len = one_in(t, 2) ? (int64_t)below(t, 64) : (int64_t)v_len(t);
            a[2] = one_in(t, 6) ? v_buf(t) : (uintptr_t)l;
            break;
        }
        }
        break;
    }
    case NR_socket:
    case NR_socketpair: {
        static const u64 doms[] = {AF_UNIX, AF_UNIX, AF_INET, AF_INET6, 0, 38, 40, 99};
        static const u64 types[] = {SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET, 0, 4, 99};
        u64 d = base == NR_socketpair && !one_in(t, 4) ? AF_UNIX : doms[below(t, 8)];
        u64 ty = types[below(t, 6)];
        if (d == AF_UNIX && one_in(t, 8))
            ty = SOCK_RAW;
        if (!one_in(t, 3))
            ty |= SOCK_NONBLOCK;
        if (one_in(t, 3))
            ty |= SOCK_CLOEXEC;
        static const u64 protos[] = {0, 0, 0, 0, 6, 17, 1, 132};
        a[0] = d;
        a[1] = ty;
        a[2] = protos[below(t, 8)];
        break;
    }
    case NR_sendto:
    case NR_recvfrom:
        a[3] = v_flags(t) | (one_in(t, 3) ? 0 : MSG_DONTWAIT);
        if (base == NR_sendto)
            a[4] = v_sockaddr(t, &a[5]);
        break;
    case NR_sendmsg:
    case NR_recvmsg:
    case NR_sendmmsg:
    case NR_recvmmsg: {
        int many = base == NR_sendmmsg || base == NR_recvmmsg;
        int send = base == NR_sendmsg || base == NR_sendmmsg;
        int n = many ? 1 + below(t, 3) : 1;
        struct mmsghdr *mm = (struct mmsghdr *)bp;
        bp += 3 * sizeof *mm;
        for (int i = 0; i < n; i++) {
            struct msghdr *m = &mm[i].msg_hdr;
            memset(&mm[i], 0, sizeof mm[i]);
            if (send) {
                u64 len;
                m->msg_name = (void *)(uintptr_t)v_sockaddr(t, &len);
                m->msg_namelen = len;
            } else if (!one_in(t, 3)) {
                m->msg_name = (void *)(uintptr_t)v_buf(t);
                m->msg_namelen = one_in(t, 2) ? 128 : v_len(t);
            }
            unsigned char *ib = bp;
            m->msg_iov = (struct iovec *)(uintptr_t)v_iov(t, &bp);
            m->msg_iovlen = bp == ib ? v_count(t) : below(t, 5);
            if (one_in(t, 3)) {
                /* Ancillary data: fds, credentials or junk. */
                struct cmsghdr *c = (struct cmsghdr *)bp;
                memset(bp, 0, 64);
                c->cmsg_level = one_in(t, 6) ? v_small(t) : SOL_SOCKET;
                c->cmsg_type = one_in(t, 6) ? v_small(t) : 1 + below(t, 2);
                int *fds = (int *)CMSG_DATA(c);
                if (c->cmsg_type == SCM_CREDENTIALS) {
                    fds[0] = g_pid;
                    fds[1] = 0;
                    fds[2] = 0;
                    c->cmsg_len = CMSG_LEN(12);
                } else {
                    int k = 1 + below(t, 3);
                    for (int j = 0; j < k; j++)
                        fds[j] = v_fd(t);
                    c->cmsg_len = CMSG_LEN(4 * k);
                }
                if (one_in(t, 6))
                    c->cmsg_len = v_len(t);
                m->msg_control = c;
                m->msg_controllen = one_in(t, 6) ? v_len(t) : CMSG_SPACE(12);
                bp += 64;
            } else if (one_in(t, 4)) {
                m->msg_control = (void *)(uintptr_t)v_buf(t);
                m->msg_controllen = v_len(t);
            }
            m->msg_flags = v_flags(t);
        }
        a[1] = one_in(t, 10) ? v_buf(t) : (uintptr_t)mm;
        if (many) {
            a[2] = one_in(t, 6) ? v_count(t) : (u64)n;
            a[3] = v_flags(t) | (one_in(t, 3) ? 0 : MSG_DONTWAIT);
            a[4] = one_in(t, 2) ? v_timespec(t) : 0;
        } else {
            a[2] = v_flags(t) | (one_in(t, 3) ? 0 : MSG_DONTWAIT);
        }
        break;
    }
    case NR_poll:
    case NR_ppoll: {
        if (!one_in(t, 10)) {
            struct { int fd; short ev, rev; } *p = (void *)bp;
            int n = below(t, 9);
            for (int i = 0; i < n; i++) {
                p[i].fd = v_fd(t);
                p[i].ev = one_in(t, 4) ? rnd(t) : below(t, 8);
                p[i].rev = rnd(t);
            }
            a[0] = (uintptr_t)p;
            a[1] = one_in(t, 8) ? v_count(t) : (u64)n;
        }
        if (base == NR_poll) {
            a[2] = below(t, 2);
        } else {
            a[2] = v_timespec(t);
            a[4] = one_in(t, 8) ? v_len(t) : 8;
        }
        break;
    }
    case NR_select:
    case NR_pselect6: {
        static const u64 nfds[] = {0, 1, 3, 8, 64, 1024, 1025, (u64)-1, INT_MAX};
        a[0] = one_in(t, 3) ? below(t, 64) : nfds[below(t, 9)];
        for (int i = 1; i <= 3; i++)
            if (one_in(t, 3))
                a[i] = 0;
        if (base == NR_select) {
            a[4] = v_timeval(t);
        } else {
            a[4] = v_timespec(t);
            u64 *sig = (u64 *)bp;
            sig[0] = v_sigset(t);
            sig[1] = one_in(t, 8) ? v_len(t) : 8;
            a[5] = one_in(t, 4) ? 0 : (one_in(t, 8) ? p_unreadable(t) : (uintptr_t)sig);
        }
        break;
    }
    case NR_epoll_wait:
    case NR_epoll_pwait:
    case NR_epoll_pwait2: {
        static const u64 maxev[] = {1, 2, 8, 64, 0, (u64)-1, INT_MAX};
        a[2] = one_in(t, 3) ? below(t, 64) : maxev[below(t, 7)];
        if (base == NR_epoll_pwait2)
            a[3] = v_timespec(t);
        else
            a[3] = below(t, 2);
        a[5] = one_in(t, 8) ? v_len(t) : 8;
        break;
    }
    case NR_futex: {
        static const u64 ops[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13};
        u64 op = one_in(t, 10) ? below(t, 32) : ops[below(t, 14)];
        if (one_in(t, 2))
            op |= 128; /* FUTEX_PRIVATE_FLAG */
        if (one_in(t, 5))
            op |= 256; /* FUTEX_CLOCK_REALTIME */
        if (one_in(t, 20))
            op = v_generic(t);
        a[1] = op;
        a[2] = one_in(t, 2) ? 0 : v_generic(t);
        switch (op & 127) {
        case 0: case 6: case 9: case 11: case 13:
            a[3] = v_timespec(t); /* a wait: bounded */
            break;
        default:
            a[3] = one_in(t, 2) ? below(t, 4) : v_generic(t);
        }
        if ((op & 127) == 9 && one_in(t, 2))
            a[5] = 0xffffffff; /* a bitset that matches */
        break;
    }
    case NR_futex_waitv:
    case NR_futex_wait:
        if (base == NR_futex_wait)
            a[1] = one_in(t, 2) ? 0 : a[1];
        a[base == NR_futex_wait ? 4 : 3] = v_timespec(t);
        break;
    case NR_prctl: {
        u64 o;
        for (;;) {
            o = one_in(t, 10) ? v_generic(t) : below(t, 80);
            if (one_in(t, 20))
                o = one_in(t, 2) ? 0x53564d41 /* PR_SET_VMA */ : 0x41555856 /* PR_GET_AUXV */;
            u64 lo = o & 0xffffffff;
            /* PR_SET_SECCOMP, PR_SET_TSC, PR_SET_MM, Syscall User Dispatch,
             * shadow stacks: they change how the caller runs. */
            if (lo == 22 || lo == 26 || lo == 35 || lo == 59 || (lo >= 74 && lo <= 76))
                continue;
            break;
        }
        a[0] = o;
        u64 lo = o & 0xffffffff;
        if (lo == 40 || lo == 0x41555856) /* PR_GET_TID_ADDRESS, PR_GET_AUXV */
            a[1] = v_sink(t);
        if (lo == 1) /* PR_SET_PDEATHSIG */
            a[1] = below(t, 66);
        break;
    }
    case NR_arch_prctl: {
        static const u64 codes[] = {0x1003, 0x1004, 0x1011, 0x1021, 0x1022,
                                    0x1023, 0x1024, 0x1025, 0x4001, 0x4003,
                                    0x5005, 0, 1, 0x9999};
        u64 c = codes[below(t, 14)];
        a[0] = c;
        if (c == 0x1003 || c == 0x1004 || c == 0x4001 || c == 0x4003 || c == 0x5005 ||
            c == 0x1021 || c == 0x1022 || c == 0x1024)
            a[1] = v_sink(t);
        break;
    }
    case NR_setrlimit:
    case NR_prlimit64: {
        /* Lowered, these stay harmless; NOFILE, AS, STACK, CPU, DATA,
         * FSIZE, NPROC and RTTIME are only read. */
        static const u64 safe[] = {4, 5, 8, 10, 11, 12, 13, 14, 16, 99,
                                   (u64)-1, 0x80000000ULL};
        u64 *newp = &a[base == NR_setrlimit ? 1 : 2];
        u64 *res = &a[base == NR_setrlimit ? 0 : 1];
        u64 *l = (u64 *)bp;
        static const u64 vals[] = {0, 1, 64, 1024, 1ULL << 20, (u64)-1};
        l[0] = one_in(t, 4) ? rnd(t) : vals[below(t, 6)];
        l[1] = one_in(t, 2) ? (u64)-1 : vals[below(t, 6)];
        if (base == NR_prlimit64 && one_in(t, 2)) {
            *newp = 0; /* a query: any resource */
            *res = one_in(t, 8) ? v_small(t) : below(t, 17);
        } else {
            *res = safe[below(t, 12)];
            *newp = one_in(t, 8) ? p_unreadable(t) : (uintptr_t)l;
        }
        break;
    }
    case NR_setitimer:
        a[0] = one_in(t, 8) ? v_small(t) : below(t, 3);
        a[1] = one_in(t, 8) ? p_unreadable(t) : (uintptr_t)g_itv[below(t, g_nitv)];
        break;
    case NR_timer_create: {
        int *e = (int *)bp; /* the kernel's struct sigevent */
        memset(e, 0, 64);
        e[2] = SIGALRM;   /* sigev_signo */
        e[3] = 4;         /* sigev_notify: SIGEV_THREAD_ID */
        e[4] = t->tid;
        switch (below(t, 4)) {
        case 0: a[1] = 0; break;
        case 1: a[1] = (uintptr_t)e; break;
        case 2: a[1] = p_unreadable(t); break;
        default: a[1] = (uintptr_t)g_sev[below(t, g_nsev)]; break;
        }
        break;
    }
    case NR_timer_settime:
        a[0] = below(t, 8);
        a[1] = below(t, 2);
        a[2] = one_in(t, 8) ? p_unreadable(t) : (uintptr_t)g_its[below(t, g_nits)];
        break;
    case NR_mount:
        a[0] = one_in(t, 4) ? 0 : v_path(t);
        a[2] = one_in(t, 8) ? v_path(t) : (uintptr_t)g_names[5 + below(t, 7)];
        a[3] = one_in(t, 2) ? 0 : v_flags(t);
        a[4] = one_in(t, 2) ? 0 : v_buf(t);
        break;
    /* Calls that fill files (memory, when the file is a memfd or lives in
     * a RAM file system) with as many bytes as asked: at most 1 MiB. */
    case NR_fallocate:
        for (int i = 2; i <= 3; i++)
            if (a[i] > (1 << 20) && (int64_t)a[i] > 0)
                a[i] &= 0xfffff;
        break;
    case NR_sendfile:
    case NR_splice:
    case NR_tee:
    case NR_copy_file_range: {
        int i = base == NR_sendfile ? 3 : base == NR_tee ? 2 : 4;
        if (a[i] > (1 << 20))
            a[i] &= 0xfffff;
        break;
    }
    case NR_mknod:
    case NR_mknodat: {
        static const u64 types[] = {0, S_IFREG, S_IFIFO, S_IFSOCK, S_IFDIR};
        u64 *m = &a[base == NR_mknod ? 1 : 2];
        *m = types[below(t, 5)] | below(t, 010000); /* never a device */
        break;
    }
    case NR_openat2: {
        u64 *how = (u64 *)bp;
        how[0] = v_open_flags(t);
        how[1] = v_mode(t);
        how[2] = one_in(t, 2) ? 0 : below(t, 64);
        a[2] = one_in(t, 8) ? v_buf(t) : (uintptr_t)how;
        a[3] = one_in(t, 4) ? v_len(t) : 24;
        break;
    }
    }
}

static void gen_args(struct fz *t, u64 base, u64 *a)
{
    const char *k = args_of(base);
    unsigned char *bp = t->build;
    for (int i = 0; i < 6; i++) {
        char c = k[0] ? *k++ : 'g';
        u64 v;
        switch (c) {
        case 'f': v = v_fd(t); break;
        case 'd': v = one_in(t, 2) ? (u64)(int64_t)AT_FDCWD : v_fd(t); break;
        case 'p': v = v_path(t); break;
        case 'b': v = v_buf(t); break;
        case 'n': v = v_len(t); break;
        case 'o': v = v_open_flags(t); break;
        case 'm': v = v_mode(t); break;
        case 'x': v = v_flags(t); break;
        case 's': v = below(t, 68) - 2; break;
        case 'P': v = v_pid(t); break;
        case 'u': v = v_id(t); break;
        case 'c': v = one_in(t, 8) ? v_generic(t) : below(t, 12); break;
        case 'a': /* and its length ('l') */
            a[i] = v_sockaddr(t, &a[i + 1]);
            i++;
            if (*k)
                k++;
            continue;
        case 'l': v = v_len(t); break;
        case 'T': v = v_timespec(t); break;
        case 'V': v = v_timeval(t); break;
        case 'S': v = v_sigset(t); break;
        case 'I': v = bp + 4 * sizeof(struct iovec) <= t->build + 256 ? v_iov(t, &bp) : v_buf(t); break;
        case 'N': v = v_count(t); break;
        case 'k': v = v_sink(t); break;
        case 'i': v = v_small(t); break;
        case 'w': v = one_in(t, 8) ? v_generic(t) : below(t, 6); break;
        default: v = v_generic(t); break;
        }
        a[i] = v;
    }
    if (base < NSYS && (table[base].fl & F_S))
        special(t, base, a);
    for (int i = 0; i < 6; i++)
        a[i] = sanitize(a[i]);
}

/* ---------------------------------------------------------------- running */

static long raw(long nr, long a, long b, long c, long d, long e, long f)
{
    return syscall(nr, a, b, c, d, e, f);
}

static void ring_push(struct fz *t, long fd)
{
    if (fd < 0 || fd > FD_LAST_FUZZ)
        return;
    t->ring[t->ring_pos++ % 16] = fd;
}

/* Calls run side by side, but a reset runs alone. A small lock that lets a
 * waiting reset in first. */
static pthread_mutex_t g_world = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_world_cv = PTHREAD_COND_INITIALIZER;
static int g_sharers, g_alone, g_alone_waiting;

static void world_enter(int alone)
{
    pthread_mutex_lock(&g_world);
    if (alone) {
        g_alone_waiting++;
        while (g_alone || g_sharers)
            pthread_cond_wait(&g_world_cv, &g_world);
        g_alone_waiting--;
        g_alone = 1;
    } else {
        while (g_alone || g_alone_waiting)
            pthread_cond_wait(&g_world_cv, &g_world);
        g_sharers++;
    }
    pthread_mutex_unlock(&g_world);
}

static void world_leave(int alone)
{
    pthread_mutex_lock(&g_world);
    if (alone)
        g_alone = 0;
    if (alone || --g_sharers == 0)
        pthread_cond_broadcast(&g_world_cv);
    pthread_mutex_unlock(&g_world);
}

/* Puts the thread's scratch memory, the directory tree and a few fds back. */
static void reset(struct fz *t)
{
    void *p = mmap(t->scratch, SCRATCH, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (p == t->scratch) {
        u64 *w = (u64 *)t->scratch;
        for (size_t i = 0; i < SCRATCH / 8; i++)
            w[i] = rnd(t);
        for (int i = 0; i < SCRATCH_PAGES; i++)
            memset(t->scratch + i * PAGE + 64, 0, 64);
    }
    char path[128];
    mkdir(g_dir, 0700);
    chmod(g_dir, 0700);
    if (t->idx == 0)
        (void)!chdir(g_dir);
    snprintf(path, sizeof path, "%s/d", g_dir);
    mkdir(path, 0700);
    chmod(path, 0700);
    snprintf(path, sizeof path, "%s/d/e", g_dir);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/f", g_dir);
    (void)!truncate(path, 0);

    int maxfd = 0;
    for (int i = 0; i < 16; i++)
        if (t->ring[i] > maxfd)
            maxfd = t->ring[i];
    if (maxfd > 600)
        raw(NR_close_range, 3, FD_LAST_FUZZ, 0, 0, 0, 0);
    int fds[2];
    if (pipe2(fds, O_NONBLOCK) == 0) {
        ring_push(t, fds[0]);
        ring_push(t, fds[1]);
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds) == 0) {
        ring_push(t, fds[0]);
        ring_push(t, fds[1]);
    }
    ring_push(t, raw(290, 0, O_NONBLOCK, 0, 0, 0, 0)); /* eventfd2 */
    ring_push(t, raw(291, 0, 0, 0, 0, 0, 0));          /* epoll_create1 */
    ring_push(t, open(path, O_RDWR | O_CREAT | O_NONBLOCK, 0600));
    ring_push(t, open("/dev/null", O_RDWR));
    ring_push(t, socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0));
    int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (s >= 0) {
        (void)!connect(s, g_sa[0].p, g_sa[0].len); /* the listener */
        ring_push(t, s);
    }
    snprintf(path, sizeof path, "%s/d", g_dir);
    ring_push(t, open(path, O_RDONLY | O_DIRECTORY));
}

static void count(struct fz *t, long r, int err)
{
    if (r != -1)
        t->ok++;
    else if (err > 0 && err < 134)
        t->errs[err]++;
    else
        t->errs[134]++;
    if (r == -1 && err == EINTR)
        t->interrupted++;
}

/* What a call made that the fuzzer must clean up (memory it mapped) or may
 * use (fds). Runs before the next reset can map the scratch buffers anew:
 * a mapping made here may sit in a hole of another thread's scratch. */
static void after_call(struct fz *t, u64 base, const u64 *a, long r)
{
    if (r == -1)
        return;
    if (base == NR_mmap || base == NR_mremap || base == NR_map_shadow_stack) {
        u64 len = base == NR_mremap ? a[2] : a[1];
        if (base == NR_mremap && (uintptr_t)r == a[0] && len <= a[1])
            return; /* shrunk (or kept) in place: still scratch */
        uintptr_t lo = r, span = len;
        if (base == NR_mremap && (uintptr_t)r == a[0]) {
            lo = r + a[1];
            span = len - a[1]; /* grown in place */
        }
        if (overlaps_in_use(lo, span)) {
            char buf[400], d[300];
            describe(d, sizeof d, t->cur);
            snprintf(buf, sizeof buf,
                     "BUG: %s returned %#lx, which overlaps memory already in use",
                     d, (unsigned long)r);
            fatal(4, buf);
        }
        munmap((void *)lo, span);
    } else if (returns_fd(base)) {
        ring_push(t, r);
    } else if (base == NR_pipe || base == NR_pipe2 || base == NR_socketpair) {
        uintptr_t p = base == NR_socketpair ? a[3] : a[0];
        uintptr_t s = (uintptr_t)t->scratch;
        if (p >= s && p + 8 <= s + SCRATCH) {
            int fds[2];
            memcpy(fds, (void *)p, 8);
            ring_push(t, fds[0]);
            ring_push(t, fds[1]);
        }
    }
}

static void *fuzz_thread(void *arg)
{
    struct fz *t = arg;
    t->tid = raw(NR_gettid, 0, 0, 0, 0, 0, 0);
    for (int i = 0; i < 16; i++)
        t->ring[i] = i;
    reset(t);
    __atomic_sub_fetch(&g_left, 1, __ATOMIC_ACQ_REL);
    while (!__atomic_load_n(&g_go, __ATOMIC_ACQUIRE))
        sched_yield();
    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    for (unsigned long i = 0; i < t->calls; i++) {
        if (i % RESET_EVERY == RESET_EVERY - 1) {
            world_enter(1); /* alone: see after_call() */
            reset(t);
            world_leave(1);
        }
        if (i % 256 == 255 && ro_sum() != g_ro_sum) {
            char buf[400], d[300];
            describe(d, sizeof d, t->cur);
            snprintf(buf, sizeof buf,
                     "BUG: read-only memory was written (thread %d, call %lu; last call %s)",
                     t->idx, i, d);
            fatal(4, buf);
        }
        u64 base, a[6];
        u64 nr = pick_nr(t, &base);
        gen_args(t, base, a);
        int alone = 0;
        world_enter(alone);
        if (base == NR_rt_sigsuspend) {
            /* A pending signal that the suspend mask lets in: it returns. */
            pthread_sigmask(SIG_BLOCK, &usr2, NULL);
            raw(NR_tgkill, g_pid, t->tid, SIGUSR2, 0, 0, 0);
        }
        if (base == NR_brk)
            pthread_mutex_lock(&g_brk_lock);
        t->cur[0] = nr;
        memcpy(&t->cur[1], a, sizeof a);
        if (trace) {
            char buf[400], d[300];
            describe(d, sizeof d, t->cur);
            snprintf(buf, sizeof buf, "t%d %lu: %s\n", t->idx, i, d);
            out(FD_ERR, buf);
        }
        __atomic_add_fetch(&t->seq, 1, __ATOMIC_SEQ_CST);
        errno = 0;
        long r = raw(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
        int err = errno;
        __atomic_add_fetch(&t->seq, 1, __ATOMIC_SEQ_CST);
        if (base == NR_brk) {
            raw(NR_brk, g_brk0, 0, 0, 0, 0, 0);
            pthread_mutex_unlock(&g_brk_lock);
        }
        after_call(t, base, a, r);
        world_leave(alone);
        if (trace) {
            char buf[100];
            snprintf(buf, sizeof buf, "t%d %lu: = %ld (%d)\n", t->idx, i, r, r == -1 ? err : 0);
            out(FD_ERR, buf);
        }
        count(t, r, err);
    }
    t->done = t->calls;
    return NULL;
}

/* ---------------------------------------------------------------- setup */

static void noop(int sig)
{
    (void)sig;
}

int main(int argc, char **argv);

/* What each thread is calling (for a crash or a hang). */
static void report_threads(void)
{
    char buf[600], d[300];
    for (int i = 0; i < nthreads; i++) {
        describe(d, sizeof d, fzs[i].cur);
        snprintf(buf, sizeof buf, "fuzz:   thread %d (tid %d, %s): %s\n", i, (int)fzs[i].tid,
                 __atomic_load_n(&fzs[i].seq, __ATOMIC_SEQ_CST) & 1 ? "in the call" : "after it", d);
        out(FD_ERR, buf);
    }
}

/* A fault in the fuzzer: says where, and what each thread was calling,
 * then dies of the signal. */
static void crashed(int sig, siginfo_t *si, void *uc)
{
    char buf[600];
    u64 rip = ((ucontext_t *)uc)->uc_mcontext.gregs[REG_RIP];
    pid_t tid = raw(NR_gettid, 0, 0, 0, 0, 0, 0);
    snprintf(buf, sizeof buf, "fuzz: signal %d (code %d) at address %#lx, rip %#llx (main%+lld), thread %d\n",
             sig, si->si_code, (unsigned long)(uintptr_t)si->si_addr,
             (unsigned long long)rip, (long long)(rip - (uintptr_t)main), (int)tid);
    out(FD_ERR, buf);
    report_threads();
    signal(sig, SIG_DFL);
    raise(sig);
}

static unsigned char *ro_cursor;

static void *ro_alloc(size_t n)
{
    ro_cursor = (unsigned char *)(((uintptr_t)ro_cursor + 15) & ~(uintptr_t)15);
    void *p = ro_cursor;
    ro_cursor += n;
    if (ro_cursor > g_ro + RO_PAGES * PAGE - 64)
        fatal(2, "setup: read-only area too small");
    return p;
}

static const char *ro_str(const char *s)
{
    char *p = ro_alloc(strlen(s) + 1);
    strcpy(p, s);
    return p;
}

static void add_path(const char *suffix)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s%s", g_dir, suffix);
    g_paths[g_npaths++] = ro_str(buf);
}

static void setup_ro(int tcp_port, int udp_port)
{
    g_ro = mmap(NULL, (RO_PAGES + 1) * PAGE, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (g_ro == MAP_FAILED)
        fatal(2, "setup: mmap");
    ro_cursor = g_ro;
    static const char *const sub[] = {"", "/f", "/g", "/d", "/d/e", "/d/f",
                                      "/l", "/s", "/t", "/nonexistent/x",
                                      "/f/x", "/", "//d", "/d/.", "/d/e/h"};
    for (size_t i = 0; i < sizeof sub / sizeof sub[0]; i++)
        add_path(sub[i]);
    static const char *const other[] = {"/dev/null", "/dev/zero", "/dev/urandom",
                                        "/proc/self/maps", "/proc/self/status",
                                        "/proc/meminfo", "/proc/self/stat", "",
                                        "f", "d", "d/e", "l", "x", "."};
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
        g_paths[g_npaths++] = ro_str(other[i]);
    char *longname = ro_alloc(256 + 300);
    snprintf(longname, 80, "%s/", g_dir);
    memset(longname + strlen(longname), 'b', 255); /* the longest name */
    g_paths[g_npaths++] = longname;
    char *toolong = ro_alloc(320);
    snprintf(toolong, 80, "%s/", g_dir);
    memset(toolong + strlen(toolong), 'a', 300); /* ENAMETOOLONG */
    g_paths[g_npaths++] = toolong;
    char *deep = ro_alloc(4300);
    strcpy(deep, g_dir);
    size_t dn = strlen(deep);
    while (dn < 4200) { /* a path beyond PATH_MAX */
        deep[dn++] = '/';
        deep[dn++] = 'a';
    }
    deep[dn] = 0;
    g_paths[g_npaths++] = deep;

    static const char *const names[] = {"user.fuzz", "user.", "trusted.fuzz",
                                        "security.fuzz", "system.posix_acl_access",
                                        "ramfs", "tmpfs", "proc", "devtmpfs",
                                        "hostfs", "sefs", "bogus", "fuzz"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        g_names[g_nnames++] = ro_str(names[i]);

    /* Socket addresses: only the fuzzer's own. */
    struct sockaddr_in *in = ro_alloc(sizeof *in);
    in->sin_family = AF_INET;
    in->sin_port = htons(tcp_port);
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_sa[g_nsa++] = (struct sa){in, sizeof *in};
    in = ro_alloc(sizeof *in);
    in->sin_family = AF_INET;
    in->sin_port = htons(udp_port);
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_sa[g_nsa++] = (struct sa){in, sizeof *in};
    in = ro_alloc(sizeof *in);
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_sa[g_nsa++] = (struct sa){in, sizeof *in};
    struct sockaddr_in6 *in6 = ro_alloc(sizeof *in6);
    in6->sin6_family = AF_INET6;
    in6->sin6_addr = in6addr_loopback;
    g_sa[g_nsa++] = (struct sa){in6, sizeof *in6};
    in6 = ro_alloc(sizeof *in6);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(tcp_port);
    in6->sin6_addr.s6_addr[10] = 0xff; /* ::ffff:127.0.0.1 */
    in6->sin6_addr.s6_addr[11] = 0xff;
    in6->sin6_addr.s6_addr[12] = 127;
    in6->sin6_addr.s6_addr[15] = 1;
    g_sa[g_nsa++] = (struct sa){in6, sizeof *in6};
    static const char *const un[] = {"/s", "/t", "/d/e/u"};
    for (int i = 0; i < 3; i++) {
        struct sockaddr_un *u = ro_alloc(sizeof *u);
        u->sun_family = AF_UNIX;
        snprintf(u->sun_path, sizeof u->sun_path, "%s%s", g_dir, un[i]);
        g_sa[g_nsa++] = (struct sa){u, offsetof(struct sockaddr_un, sun_path) + strlen(u->sun_path) + 1};
    }
    struct sockaddr_un *u = ro_alloc(sizeof *u);
    u->sun_family = AF_UNIX;
    snprintf(u->sun_path + 1, sizeof u->sun_path - 1, "fuzz-%d", (int)g_pid); /* abstract */
    g_sa[g_nsa++] = (struct sa){u, offsetof(struct sockaddr_un, sun_path) + 1 + strlen(u->sun_path + 1)};
    u = ro_alloc(sizeof *u);
    u->sun_family = AF_UNIX;
    g_sa[g_nsa++] = (struct sa){u, sizeof(sa_family_t)}; /* autobind */
    u = ro_alloc(sizeof *u);
    u->sun_family = AF_UNIX;
    memset(u->sun_path, 'u', sizeof u->sun_path); /* not terminated */
    g_sa[g_nsa++] = (struct sa){u, sizeof *u};
    unsigned short *fam = ro_alloc(16);
    fam[0] = AF_UNSPEC;
    g_sa[g_nsa++] = (struct sa){fam, 16};
    fam = ro_alloc(16);
    fam[0] = 0xffff;
    g_sa[g_nsa++] = (struct sa){fam, 16};

    /* Timeouts of at most 1 ms, and invalid ones. */
    static const long ts[][2] = {{0, 0}, {0, 1}, {0, 1000}, {0, 100000},
                                 {0, 1000000}, {0, 1000000000}, {-1, 0}, {0, -1}};
    for (int i = 0; i < 8; i++) {
        struct timespec *p = ro_alloc(sizeof *p);
        p->tv_sec = ts[i][0];
        p->tv_nsec = ts[i][1];
        g_ts[g_nts++] = p;
        struct itimerspec *its = ro_alloc(sizeof *its);
        its->it_value = *p;
        its->it_interval.tv_nsec = i == 3 ? 20000000 : 0;
        g_its[g_nits++] = its;
    }
    static const long tv[][2] = {{0, 0}, {0, 1}, {0, 1000}, {0, 1000000}, {-1, 0}};
    for (int i = 0; i < 5; i++) {
        struct timeval *p = ro_alloc(sizeof *p);
        p->tv_sec = tv[i][0];
        p->tv_usec = tv[i][1];
        g_tv[g_ntv++] = p;
        struct itimerval *itv = ro_alloc(sizeof *itv);
        itv->it_value = *p;
        itv->it_interval.tv_usec = i == 2 ? 20000 : 0;
        g_itv[g_nitv++] = itv;
    }
    /* Signal masks: never SIGUSR1 (the watchdog's), SIGUSR2 (for
     * rt_sigsuspend) nor the faults (their report). */
    u64 keep = ~((1ULL << (SIGUSR1 - 1)) | (1ULL << (SIGUSR2 - 1)));
    static const int faults[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS};
    for (int i = 0; i < 6; i++)
        keep &= ~(1ULL << (faults[i] - 1));
    static const u64 masks[] = {0, ~0ULL, 0x5555555555555555ULL,
                                (1ULL << (SIGALRM - 1)) | (1ULL << (SIGPIPE - 1)) |
                                    (1ULL << (SIGCHLD - 1)) | (1ULL << (SIGIO - 1)),
                                0xffffffff00000000ULL};
    for (int i = 0; i < 5; i++) {
        u64 *m = ro_alloc(8);
        *m = masks[i] & keep;
        g_sigset[g_nsigset++] = m;
    }
    /* Timer events: none, a signal, an invalid one. */
    static const int sev[][2] = {{SIGEV_NONE, 0}, {SIGEV_SIGNAL, SIGALRM},
                                 {SIGEV_SIGNAL, SIGUSR2}, {99, 0}, {SIGEV_SIGNAL, 0},
                                 {SIGEV_SIGNAL, 65}};
    for (int i = 0; i < 6; i++) {
        struct sigevent *e = ro_alloc(sizeof *e);
        e->sigev_notify = sev[i][0];
        e->sigev_signo = sev[i][1];
        g_sev[g_nsev++] = e;
    }
    static const u64 fl[] = {0, SA_SIGINFO, SA_NODEFER, SA_RESTART, SA_ONSTACK,
                             SA_NOCLDSTOP | SA_NOCLDWAIT, 0x400 | SA_SIGINFO, 0x800,
                             SA_SIGINFO | SA_RESTART | SA_NODEFER, SA_ONSTACK | SA_SIGINFO};
    for (int i = 0; i < 12; i++) {
        struct ksigaction *k = ro_alloc(sizeof *k);
        *k = g_ksa;
        k->handler = i < 2 ? 0 : (i % 3 == 0 ? 1 /* SIG_IGN */ : g_ksa.handler);
        k->flags |= fl[i % 10];
        k->mask = (i * 0x9e3779b97f4a7c15ULL) & keep;
        g_acts[g_nacts++] = k;
    }
    /* A string that runs into the guard page. */
    char *end = (char *)g_ro + RO_PAGES * PAGE - 16;
    memset(end, 'z', 16);
    g_unterminated = end;
    if (mprotect(g_ro, RO_PAGES * PAGE, PROT_READ) ||
        mprotect(g_ro + RO_PAGES * PAGE, PAGE, PROT_NONE))
        fatal(2, "setup: mprotect");
    g_ro_sum = ro_sum();
}

/* Every mapping is memory the fuzzer relies on, but the per-thread areas
 * (scratch, build, sink, guards) and the read-only pages: those may be
 * named by any call. */
static void read_maps(void)
{
    static char buf[1 << 16];
    struct range holes[MAX_THREADS + 1];
    int nholes = 0;
    for (int i = 0; i < nthreads; i++)
        holes[nholes++] = (struct range){(uintptr_t)fzs[i].scratch - PAGE,
                                         (uintptr_t)fzs[i].scratch - PAGE + AREA};
    holes[nholes++] = (struct range){(uintptr_t)g_ro, (uintptr_t)g_ro + (RO_PAGES + 1) * PAGE};
    for (int i = 1; i < nholes; i++) /* sorted by address */
        for (int j = i; j > 0 && holes[j].lo < holes[j - 1].lo; j--) {
            struct range x = holes[j];
            holes[j] = holes[j - 1];
            holes[j - 1] = x;
        }
    int fd = open("/proc/self/maps", O_RDONLY);
    if (fd < 0)
        fatal(2, "setup: /proc/self/maps");
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, sizeof buf - 1 - n);
        if (r <= 0)
            break;
        n += r;
    }
    close(fd);
    buf[n] = 0;
    for (char *line = buf; *line;) {
        char *nl = strchr(line, '\n');
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx", &lo, &hi) == 2) {
            uintptr_t from = lo;
            for (int i = 0; i < nholes && from < hi; i++) {
                if (holes[i].hi <= from || holes[i].lo >= hi)
                    continue;
                if (holes[i].lo > from && g_nprot < 512)
                    g_prot[g_nprot++] = (struct range){from, holes[i].lo};
                from = holes[i].hi;
            }
            if (from < hi && g_nprot < 512)
                g_prot[g_nprot++] = (struct range){from, hi};
        }
        if (!nl)
            break;
        line = nl + 1;
    }
    if (g_nprot == 0 || g_nprot >= 512)
        fatal(2, "setup: cannot read the mappings from /proc/self/maps");
}

static void monitor(void)
{
    struct timespec tick = {0, TICK_US * 1000};
    for (;;) {
        nanosleep(&tick, NULL);
        /* Keep the listener's queue empty: connects to it never block. */
        for (int i = 0; i < 8; i++) {
            int c = accept4(FD_LISTEN, NULL, NULL, SOCK_NONBLOCK);
            if (c < 0)
                break;
            close(c);
        }
        int running = 0;
        for (int i = 0; i < nthreads; i++) {
            struct fz *t = &fzs[i];
            if (__atomic_load_n(&t->done, __ATOMIC_ACQUIRE))
                continue;
            running = 1;
            unsigned long seq = __atomic_load_n(&t->seq, __ATOMIC_SEQ_CST);
            if ((seq & 1) && seq == t->last_seq) {
                t->stuck_ticks++;
                t->kicks++;
                raw(NR_tgkill, g_pid, t->tid, SIGUSR1, 0, 0, 0);
                if (t->stuck_ticks * TICK_US / 1000 >= HANG_MS) {
                    report_threads();
                    /* Structures the call was given, as 32-bit words. */
                    for (int k = 1; k <= 6; k++) {
                        uintptr_t p = t->cur[k], b = (uintptr_t)t->build;
                        if (p < b || p + 64 > b + BUILD)
                            continue;
                        char buf[300];
                        int n = snprintf(buf, sizeof buf, "fuzz:   arg%d ->", k);
                        for (int w = 0; w < 16; w++)
                            n += snprintf(buf + n, sizeof buf - n, " %x", ((unsigned *)p)[w]);
                        snprintf(buf + n, sizeof buf - n, "\n");
                        out(FD_ERR, buf);
                    }
                    char buf[400], d[300];
                    describe(d, sizeof d, t->cur);
                    snprintf(buf, sizeof buf,
                             "BUG: thread %d hangs in %s for %d s (interrupted %lu times)",
                             t->idx, d, HANG_MS / 1000, t->stuck_ticks);
                    fatal(3, buf);
                }
            } else {
                t->stuck_ticks = 0;
            }
            t->last_seq = seq;
        }
        if (!running)
            return;
    }
}

static void rm_tree(const char *path, int depth)
{
    /* Best effort, without opendir (no allocation): the names the fuzzer
     * may have created are not known, so use getdents64 directly. */
    if (depth > 8 || unlink(path) == 0)
        return;
    chmod(path, 0700);
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (fd >= 0) {
        static char bufs[9][4096];
        char *buf = bufs[depth];
        long n;
        while ((n = raw(217, fd, (long)buf, 4096, 0, 0, 0)) > 0) {
            for (long off = 0; off < n;) {
                unsigned short reclen;
                memcpy(&reclen, buf + off + 16, 2);
                const char *name = buf + off + 19;
                if (strcmp(name, ".") && strcmp(name, "..")) {
                    char sub[4096];
                    snprintf(sub, sizeof sub, "%s/%s", path, name);
                    if (unlink(sub) != 0)
                        rm_tree(sub, depth + 1);
                }
                off += reclen;
            }
        }
        close(fd);
    }
    rmdir(path);
}

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 5 || (argc == 5 && strcmp(argv[4], "trace"))) {
        fprintf(stderr, "usage: fuzz_syscalls SEED CALLS THREADS [trace]\n");
        return 2;
    }
    u64 seed = strtoull(argv[1], NULL, 0);
    unsigned long calls = strtoul(argv[2], NULL, 0);
    nthreads = atoi(argv[3]);
    trace = argc == 5;
    if (nthreads < 1 || nthreads > MAX_THREADS) {
        fprintf(stderr, "fuzz_syscalls: THREADS must be 1..%d\n", MAX_THREADS);
        return 2;
    }
    g_pid = getpid();

    /* The fuzzer's own stdout and stderr, out of the way; 0-2 become
     * /dev/null (no call reads a terminal or writes into the output). */
    if (fcntl(1, F_DUPFD, FD_OUT) != FD_OUT || fcntl(2, F_DUPFD, FD_ERR) != FD_ERR) {
        perror("fuzz_syscalls: dup");
        return 2;
    }
    int null = open("/dev/null", O_RDWR);
    if (null < 0)
        fatal(2, "setup: /dev/null");
    for (int fd = 0; fd < 3; fd++)
        dup2(null, fd);
    if (null > 2)
        close(null);

    /* Signals: no-op handlers (no SA_RESTART: blocked calls give EINTR),
     * faults reported by crashed(); everything blocked but SIGUSR1 and the
     * faults. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = noop;
    for (int s = 1; s < 65; s++)
        if (signal_ok(s) || s == SIGUSR1 || s == SIGUSR2)
            sigaction(s, &sa, NULL);
    if (raw(NR_rt_sigaction, SIGUSR2, 0, (long)&g_ksa, 8, 0, 0) != 0)
        fatal(2, "setup: rt_sigaction");
    static const int faults[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS};
    struct sigaction fa;
    memset(&fa, 0, sizeof fa);
    fa.sa_sigaction = crashed;
    fa.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_NODEFER;
    sigset_t all;
    sigfillset(&all);
    sigdelset(&all, SIGUSR1);
    for (int i = 0; i < 6; i++) {
        sigaction(faults[i], &fa, NULL);
        sigdelset(&all, faults[i]);
    }
    pthread_sigmask(SIG_SETMASK, &all, NULL);

    snprintf(g_dir, sizeof g_dir, "/tmp/fuzz-%d", (int)g_pid);
    if (mkdir(g_dir, 0700) != 0 && errno != EEXIST)
        fatal(2, "setup: mkdir /tmp/fuzz-<pid>");
    if (chdir(g_dir) != 0)
        fatal(2, "setup: chdir");

    /* A TCP listener and a UDP socket that calls may reach. */
    struct sockaddr_in lo = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof lo;
    int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int u = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (l < 0 || u < 0 || bind(l, (struct sockaddr *)&lo, sizeof lo) || listen(l, 64) ||
        bind(u, (struct sockaddr *)&lo, sizeof lo))
        fatal(2, "setup: sockets");
    if (dup2(l, FD_LISTEN) != FD_LISTEN || dup2(u, FD_UDP) != FD_UDP)
        fatal(2, "setup: dup2");
    close(l);
    close(u);
    getsockname(FD_LISTEN, (struct sockaddr *)&lo, &len);
    int tcp_port = ntohs(lo.sin_port);
    len = sizeof lo;
    getsockname(FD_UDP, (struct sockaddr *)&lo, &len);
    setup_ro(tcp_port, ntohs(lo.sin_port));

    /* Per thread: guard | scratch | guard | build | guard | sink | guard. */
    for (int i = 0; i < nthreads; i++) {
        struct fz *t = &fzs[i];
        unsigned char *m = mmap(NULL, AREA, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
            fatal(2, "setup: mmap");
        t->idx = i;
        t->scratch = m + PAGE;
        t->build = t->scratch + SCRATCH + PAGE;
        t->sink = t->build + BUILD + PAGE;
        mprotect(m, PAGE, PROT_NONE);
        mprotect(t->scratch + SCRATCH, PAGE, PROT_NONE);
        mprotect(t->build + BUILD, PAGE, PROT_NONE);
        mprotect(t->sink + PAGE, PAGE, PROT_NONE);
        u64 x = seed + 0x1000193ULL * (i + 1);
        t->rng = splitmix(&x) | 1;
        t->calls = calls / nthreads + ((unsigned long)i < calls % nthreads);
    }
    g_left = nthreads;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 << 10);
    for (int i = 0; i < nthreads; i++)
        if (pthread_create(&fzs[i].th, &attr, fuzz_thread, &fzs[i]) != 0)
            fatal(2, "setup: pthread_create");
    while (__atomic_load_n(&g_left, __ATOMIC_ACQUIRE) > 0)
        sched_yield();
    /* Everything the fuzzer relies on exists now. */
    read_maps();
    g_brk0 = raw(NR_brk, 0, 0, 0, 0, 0, 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    __atomic_store_n(&g_go, 1, __ATOMIC_RELEASE);
    monitor();
    for (int i = 0; i < nthreads; i++)
        pthread_join(fzs[i].th, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (ro_sum() != g_ro_sum)
        fatal(4, "BUG: read-only memory was written");

    unsigned long done = 0, ok = 0, intr = 0, kicks = 0, errs[135] = {0};
    for (int i = 0; i < nthreads; i++) {
        done += fzs[i].done;
        ok += fzs[i].ok;
        intr += fzs[i].interrupted;
        kicks += fzs[i].kicks;
        for (int e = 0; e < 135; e++)
            errs[e] += fzs[i].errs[e];
    }
    double secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    char buf[512];
    snprintf(buf, sizeof buf,
             "fuzz: seed %llu, %d threads: %lu calls in %.2f s (%.0f calls/s): "
             "%lu ok, EFAULT %lu, EBADF %lu, EINVAL %lu, ENOSYS %lu, EINTR %lu "
             "(watchdog kicks %lu)\n",
             (unsigned long long)seed, nthreads, done, secs, secs > 0 ? done / secs : 0.0,
             ok, errs[EFAULT], errs[EBADF], errs[EINVAL], errs[ENOSYS], intr, kicks);
    out(FD_ERR, buf);
    (void)!chdir("/");
    rm_tree(g_dir, 0);
    snprintf(buf, sizeof buf, "fuzz: %lu calls done\n", done);
    out(FD_OUT, buf);
    return 0;
}
