//! The syscall table: for each syscall the LibOS serves, its handler, how
//! completely it follows Linux, and how it restarts after a signal. It is
//! the single source of truth: dispatch and `docs/syscalls.md` come from it.

use syscalls::Sysno;

use super::*;
use crate::signal::RestartKind;

/// How completely the LibOS serves a syscall.
#[derive(Clone, Copy, Debug)]
pub enum Support {
    /// As Linux does.
    Full,
    /// As Linux does, except what the note says.
    Partial(&'static str),
    /// Answered with `ENOSYS` on purpose, for the reason given.
    ByDesign(&'static str),
}

/// What an interrupted call does after the signal.
#[derive(Clone, Copy, Debug)]
pub enum Restart {
    /// Restarted unless the handler lacks `SA_RESTART` (reads, writes, waits).
    R,
    /// Restarted only if no handler ran (sleeps and polls).
    S,
    /// Never: `EINTR`.
    N,
}

impl Restart {
    /// The restart kind the signal code uses (`None`: `EINTR`).
    pub fn kind(self) -> Option<RestartKind> {
        match self {
            Restart::R => Some(RestartKind::UnlessHandlerSaysNo),
            Restart::S => Some(RestartKind::OnlyWithoutHandler),
            Restart::N => None,
        }
    }
}

/// One row of the table.
pub struct Entry {
    /// The syscall.
    pub nr: Sysno,
    /// Its arguments, by their names in the Linux man pages.
    pub args: &'static [&'static str],
    /// Its handler, behind the decoding of the raw arguments.
    pub handler: Handler,
    /// How completely it is served.
    pub support: Support,
    /// How it restarts.
    pub restart: Restart,
}

use Restart::{N, R, S};
use Support::{ByDesign, Full, Partial};

/// Decodes one raw syscall argument into a handler's parameter type, the
/// way Linux does: an `int` is the low 32 bits of its register.
pub trait FromArg {
    /// The argument as this type.
    fn from_arg(raw: u64) -> Self;
}

macro_rules! from_arg {
    ($($t:ty),*) => {$(
        impl FromArg for $t {
            fn from_arg(raw: u64) -> Self {
                raw as $t
            }
        }
    )*};
}
from_arg!(u64, i64, u32, i32, usize, u8);

/// Calls a handler with the first N raw arguments, one per name, each
/// decoded into the type of the handler's parameter at that place.
macro_rules! call {
    ($h:path, $ctx:ident, $a:ident; [$($done:tt)*]; [$i:tt $($is:tt)*]; $arg:ident $($rest:ident)*) => {
        call!($h, $ctx, $a; [$($done)* $i]; [$($is)*]; $($rest)*)
    };
    ($h:path, $ctx:ident, $a:ident; [$($done:tt)*]; [$($is:tt)*];) => {
        $h($ctx $(, FromArg::from_arg($a[$done]))*)
    };
}

macro_rules! table {
    ($($nr:ident($($arg:ident),*) => $handler:path, $support:expr, $restart:expr;)*) => {
        /// Every syscall the LibOS has a row for.
        pub static TABLE: &[Entry] = &[$(Entry {
            nr: Sysno::$nr,
            args: &[$(stringify!($arg)),*],
            handler: |ctx, _a| call!($handler, ctx, _a; []; [0 1 2 3 4 5]; $($arg)*),
            support: $support,
            restart: $restart,
        }),*];
    };
}

table! {
    read(fd, buf, count) => fs::io::sys_read, Full, R;
    write(fd, buf, count) => fs::io::sys_write, Full, R;
    readv(fd, iov, iovcnt) => fs::io::sys_readv, Full, R;
    writev(fd, iov, iovcnt) => fs::io::sys_writev, Full, R;
    pread64(fd, buf, count, offset) => fs::io::sys_pread64, Full, R;
    pwrite64(fd, buf, count, offset) => fs::io::sys_pwrite64, Full, R;
    preadv(fd, iov, iovcnt, pos_l, pos_h) => fs::io::sys_preadv, Full, N;
    pwritev(fd, iov, iovcnt, pos_l, pos_h) => fs::io::sys_pwritev, Full, N;
    preadv2(fd, iov, iovcnt, pos_l, pos_h, flags) => fs::io::sys_preadv2, Full, N;
    pwritev2(fd, iov, iovcnt, pos_l, pos_h, flags) => fs::io::sys_pwritev2, Full, N;
    lseek(fd, offset, whence) => fs::io::sys_lseek, Full, N;
    ioctl(fd, cmd, arg) => fs::io::sys_ioctl, Partial("pseudo-terminals (modes, window size, TIOCGPTN/TIOCSPTLCK/TIOCGPTPEER, controlling terminal and foreground group, flushing; software flow control not done); the host terminal's modes and size (read only); FIONREAD, FIONBIO, FIOCLEX/FIONCLEX, FIOASYNC; the interface requests (SIOCGIF*, read only); others ENOTTY"), N;
    sendfile(out_fd, in_fd, offset, count) => fs::io::sys_sendfile, Full, N;
    copy_file_range(fd_in, off_in, fd_out, off_out, len, flags) => fs::io::sys_copy_file_range, Full, N;
    splice(fd_in, off_in, fd_out, off_out, len, flags) => fs::splice::sys_splice, Full, N;
    inotify_init() => fs::notify::sys_inotify_init, Full, N;
    inotify_init1(flags) => fs::notify::sys_inotify_init1, Full, N;
    inotify_add_watch(fd, pathname, mask) => fs::notify::sys_inotify_add_watch, Partial("sees changes made through the LibOS, not by the host in hostfs directories"), N;
    inotify_rm_watch(fd, wd) => fs::notify::sys_inotify_rm_watch, Full, N;
    tee(fd_in, fd_out, len, flags) => fs::splice::sys_tee, Full, N;
    vmsplice(fd, iov, nr_segs, flags) => fs::splice::sys_vmsplice, Full, N;
    open(pathname, flags, mode) => fs::open::sys_open, Full, R;
    openat(dirfd, pathname, flags, mode) => fs::open::sys_openat, Full, R;
    openat2(dirfd, pathname, how, size) => fs::open::sys_openat2, Partial("RESOLVE_NO_XDEV and RESOLVE_NO_MAGICLINKS accepted, not enforced; RESOLVE_BENEATH and RESOLVE_IN_ROOT judge .. by the path text"), R;
    creat(pathname, mode) => fs::open::sys_creat, Full, N;
    close(fd) => fs::open::sys_close, Full, N;
    stat(pathname, statbuf) => fs::stat::sys_stat, Full, N;
    fstat(fd, statbuf) => fs::stat::sys_fstat, Full, N;
    lstat(pathname, statbuf) => fs::stat::sys_lstat, Full, N;
    newfstatat(dirfd, pathname, statbuf, flags) => fs::stat::sys_newfstatat, Full, N;
    statx(dirfd, pathname, flags, mask, statxbuf) => fs::stat::sys_statx, Full, N;
    statfs(path, buf) => fs::stat::sys_statfs, Full, N;
    fstatfs(fd, buf) => fs::stat::sys_fstatfs, Full, N;
    mkdir(pathname, mode) => fs::dir::sys_mkdir, Full, N;
    mkdirat(dirfd, pathname, mode) => fs::dir::sys_mkdirat, Full, N;
    rmdir(pathname) => fs::dir::sys_rmdir, Full, N;
    getdents64(fd, dirp, count) => fs::dir::sys_getdents64, Full, N;
    getdents(fd, dirp, count) => fs::dir::sys_getdents, Full, N;
    mknod(pathname, mode, dev) => fs::dir::sys_mknod, Partial("device nodes open only the devices the LibOS has (null, zero, full, random, urandom, tty, ptmx)"), N;
    mknodat(dirfd, pathname, mode, dev) => fs::dir::sys_mknodat, Partial("device nodes open only the devices the LibOS has (null, zero, full, random, urandom, tty, ptmx)"), N;
    chdir(path) => fs::dir::sys_chdir, Full, N;
    fchdir(fd) => fs::dir::sys_fchdir, Full, N;
    getcwd(buf, size) => fs::dir::sys_getcwd, Full, N;
    chroot(path) => fs::dir::sys_chroot, Full, N;
    unlink(pathname) => fs::link::sys_unlink, Full, N;
    unlinkat(dirfd, pathname, flags) => fs::link::sys_unlinkat, Full, N;
    rename(oldpath, newpath) => fs::link::sys_rename, Full, N;
    renameat(olddirfd, oldpath, newdirfd, newpath) => fs::link::sys_renameat, Full, N;
    renameat2(olddirfd, oldpath, newdirfd, newpath, flags) => fs::link::sys_renameat2, Full, N;
    link(oldpath, newpath) => fs::link::sys_link, Full, N;
    linkat(olddirfd, oldpath, newdirfd, newpath, flags) => fs::link::sys_linkat, Full, N;
    symlink(target, linkpath) => fs::link::sys_symlink, Full, N;
    symlinkat(target, newdirfd, linkpath) => fs::link::sys_symlinkat, Full, N;
    readlink(pathname, buf, bufsiz) => fs::link::sys_readlink, Full, N;
    readlinkat(dirfd, pathname, buf, bufsiz) => fs::link::sys_readlinkat, Full, N;
    chmod(pathname, mode) => fs::attr::sys_chmod, Full, N;
    fchmod(fd, mode) => fs::attr::sys_fchmod, Full, N;
    fchmodat(dirfd, pathname, mode) => fs::attr::sys_fchmodat, Full, N;
    fchmodat2(dirfd, pathname, mode, flags) => fs::attr::sys_fchmodat2, Full, N;
    fadvise64(fd, offset, len, advice) => fs::advice::sys_fadvise64, Full, N;
    readahead(fd, offset, count) => fs::advice::sys_readahead, Full, N;
    sync_file_range(fd, offset, nbytes, flags) => fs::advice::sys_sync_file_range, Full, N;
    chown(pathname, owner, group) => fs::attr::sys_chown, Full, N;
    fchown(fd, owner, group) => fs::attr::sys_fchown, Full, N;
    lchown(pathname, owner, group) => fs::attr::sys_lchown, Full, N;
    fchownat(dirfd, pathname, owner, group, flags) => fs::attr::sys_fchownat, Full, N;
    truncate(path, length) => fs::attr::sys_truncate, Full, N;
    ftruncate(fd, length) => fs::attr::sys_ftruncate, Full, N;
    fallocate(fd, mode, offset, len) => fs::attr::sys_fallocate, Full, N;
    fsync(fd) => fs::attr::sys_fsync, Full, N;
    fdatasync(fd) => fs::attr::sys_fdatasync, Full, N;
    sync() => fs::attr::sys_sync, Full, N;
    syncfs(fd) => fs::attr::sys_syncfs, Full, N;
    access(pathname, mode) => fs::attr::sys_access, Full, N;
    faccessat(dirfd, pathname, mode) => fs::attr::sys_faccessat, Full, N;
    faccessat2(dirfd, pathname, mode, flags) => fs::attr::sys_faccessat2, Full, N;
    umask(mask) => fs::attr::sys_umask, Full, N;
    utimensat(dirfd, pathname, times, flags) => fs::attr::sys_utimensat, Full, N;
    futimesat(dirfd, pathname, times) => fs::attr::sys_futimesat, Full, N;
    utimes(filename, times) => fs::attr::sys_utimes, Full, N;
    utime(filename, times) => fs::attr::sys_utime, Full, N;
    flock(fd, operation) => fs::lock::sys_flock, Full, R;
    mount(source, target, fstype, mountflags, data) => fs::mount::sys_mount, Partial("ramfs/tmpfs, proc and devtmpfs, read-only or not, and remounts of them; no bind mounts"), N;
    memfd_create(name, flags) => fs::memfd::sys_memfd_create, Full, N;
    close_range(first, last, flags) => fs::memfd::sys_close_range, Full, N;
    getrusage(who, usage) => info::sys_getrusage, Partial("no page-fault or context-switch counts"), N;
    sysinfo(info) => info::sys_sysinfo, Full, N;
    times(buf) => info::sys_times, Full, N;
    prctl(option, arg2, arg3, arg4, arg5) => info::sys_prctl, Partial("the common options (names, parent death signal, dumpable, no_new_privs, ...); others EINVAL"), N;
    getpriority(which, who) => info::sys_getpriority, Full, N;
    setpriority(which, who, prio) => info::sys_setpriority, Partial("kept and reported; no effect on scheduling"), N;
    getgroups(size, list) => creds::sys_getgroups, Full, N;
    setgroups(size, list) => creds::sys_setgroups, Full, N;
    getresuid(ruid, euid, suid) => creds::sys_getresuid, Full, N;
    getresgid(rgid, egid, sgid) => creds::sys_getresgid, Full, N;
    setuid(uid) => creds::sys_setuid, Full, N;
    setgid(gid) => creds::sys_setgid, Full, N;
    setreuid(ruid, euid) => creds::sys_setreuid, Full, N;
    setregid(rgid, egid) => creds::sys_setregid, Full, N;
    setresuid(ruid, euid, suid) => creds::sys_setresuid, Full, N;
    setresgid(rgid, egid, sgid) => creds::sys_setresgid, Full, N;
    setfsuid(fsuid) => creds::sys_setfsuid, Full, N;
    setfsgid(fsgid) => creds::sys_setfsgid, Full, N;
    capget(hdrp, datap) => creds::sys_capget, Full, N;
    capset(hdrp, datap) => creds::sys_capset, Full, N;
    getcpu(cpu, node, tcache) => info::sys_getcpu, Full, N;
    personality(persona) => info::sys_personality, Full, N;
    getxattr(path, name, value, size) => fs::xattr::sys_getxattr, Full, N;
    lgetxattr(path, name, value, size) => fs::xattr::sys_lgetxattr, Full, N;
    fgetxattr(fd, name, value, size) => fs::xattr::sys_fgetxattr, Full, N;
    listxattr(path, list, size) => fs::xattr::sys_listxattr, Full, N;
    llistxattr(path, list, size) => fs::xattr::sys_llistxattr, Full, N;
    flistxattr(fd, list, size) => fs::xattr::sys_flistxattr, Full, N;
    setxattr(path, name, value, size, flags) => fs::xattr::sys_setxattr, Partial("stored by the ramfs (/tmp, /dev/shm); the encrypted root and hostfs store none (EOPNOTSUPP)"), N;
    lsetxattr(path, name, value, size, flags) => fs::xattr::sys_lsetxattr, Partial("stored by the ramfs (/tmp, /dev/shm); the encrypted root and hostfs store none (EOPNOTSUPP)"), N;
    fsetxattr(fd, name, value, size, flags) => fs::xattr::sys_fsetxattr, Partial("stored by the ramfs (/tmp, /dev/shm); the encrypted root and hostfs store none (EOPNOTSUPP)"), N;
    removexattr(path, name) => fs::xattr::sys_removexattr, Full, N;
    lremovexattr(path, name) => fs::xattr::sys_lremovexattr, Full, N;
    fremovexattr(fd, name) => fs::xattr::sys_fremovexattr, Full, N;
    umount2(target, flags) => fs::mount::sys_umount2, Full, N;
    brk(addr) => vm::sys_brk, Full, N;
    mmap(addr, length, prot, flags, fd, offset) => vm::sys_mmap, Full, N;
    munmap(addr, length) => vm::sys_munmap, Full, N;
    mprotect(addr, len, prot) => vm::sys_mprotect, Full, N;
    msync(addr, length, flags) => vm::sys_msync, Full, N;
    mremap(old_address, old_size, new_size, flags, new_address) => vm::sys_mremap, Full, N;
    madvise(addr, length, advice) => vm::sys_madvise, Full, N;
    exit(status) => process::sys_exit, Full, N;
    exit_group(status) => process::sys_exit_group, Full, N;
    getpid() => process::sys_getpid, Full, N;
    getppid() => process::sys_getppid, Full, N;
    gettid() => process::sys_gettid, Full, N;
    getpgid(pid) => process::sys_getpgid, Full, N;
    getpgrp() => process::sys_getpgrp, Full, N;
    setpgid(pid, pgid) => process::sys_setpgid, Full, N;
    getsid(pid) => process::sys_getsid, Full, N;
    setsid() => process::sys_setsid, Full, N;
    clone(flags, stack, parent_tid, child_tid, tls) => clone::sys_clone, Full, N;
    clone3(cl_args, size) => clone::sys_clone3, ByDesign("the libcs fall back to clone"), N;
    vfork() => clone::sys_vfork, Full, N;
    execve(pathname, argv, envp) => clone::sys_execve, Full, N;
    execveat(dirfd, pathname, argv, envp, flags) => clone::sys_execveat, Partial("runs the file by its path: an unlinked file or a memfd cannot run"), N;
    process_vm_readv(pid, local_iov, liovcnt, remote_iov, riovcnt, flags) => process_vm::sys_process_vm_readv, Full, N;
    process_vm_writev(pid, local_iov, liovcnt, remote_iov, riovcnt, flags) => process_vm::sys_process_vm_writev, Full, N;
    pidfd_open(pid, flags) => process::sys_pidfd_open, Full, N;
    pidfd_getfd(pidfd, targetfd, flags) => process::sys_pidfd_getfd, Full, N;
    pidfd_send_signal(pidfd, sig, info, flags) => signal::sys_pidfd_send_signal, Full, N;
    wait4(pid, wstatus, options, rusage) => wait::sys_wait4, Full, R;
    waitid(idtype, id, infop, options, rusage) => wait::sys_waitid, Full, R;
    futex(uaddr, futex_op, val, timeout, uaddr2, val3) => futex::sys_futex, Full, R;
    get_robust_list(pid, head_ptr, len_ptr) => futex::sys_get_robust_list, Full, N;
    pipe(pipefd) => fd::sys_pipe, Full, N;
    pipe2(pipefd, flags) => fd::sys_pipe2, Full, N;
    dup(oldfd) => fd::sys_dup, Full, N;
    dup2(oldfd, newfd) => fd::sys_dup2, Full, N;
    dup3(oldfd, newfd, flags) => fd::sys_dup3, Full, N;
    fcntl(fd, cmd, arg) => fd::sys_fcntl, Partial("no leases (F_SETLEASE) or F_NOTIFY"), R;
    poll(fds, nfds, timeout) => poll::sys_poll, Full, S;
    ppoll(fds, nfds, tmo_p, sigmask, sigsetsize) => poll::sys_ppoll, Full, S;
    select(nfds, readfds, writefds, exceptfds, timeout) => poll::sys_select, Full, S;
    pselect6(nfds, readfds, writefds, exceptfds, timeout, sigmask) => poll::sys_pselect6, Full, S;
    epoll_create(size) => poll::sys_epoll_create, Full, N;
    epoll_create1(flags) => poll::sys_epoll_create1, Full, N;
    epoll_ctl(epfd, op, fd, event) => poll::sys_epoll_ctl, Full, N;
    epoll_wait(epfd, events, maxevents, timeout) => poll::sys_epoll_wait, Full, S;
    epoll_pwait(epfd, events, maxevents, timeout, sigmask, sigsetsize) => poll::sys_epoll_pwait, Full, S;
    epoll_pwait2(epfd, events, maxevents, timeout, sigmask, sigsetsize) => poll::sys_epoll_pwait2, Full, S;
    eventfd(initval) => poll::sys_eventfd, Full, N;
    eventfd2(initval, flags) => poll::sys_eventfd2, Full, N;
    socket(domain, ty, protocol) => net::sys_socket, Full, N;
    socketpair(domain, ty, protocol, sv) => net::sys_socketpair, Full, N;
    bind(sockfd, addr, addrlen) => net::sys_bind, Full, N;
    listen(sockfd, backlog) => net::sys_listen, Full, N;
    accept(sockfd, addr, addrlen) => net::sys_accept, Full, R;
    accept4(sockfd, addr, addrlen, flags) => net::sys_accept4, Full, R;
    connect(sockfd, addr, addrlen) => net::sys_connect, Full, R;
    getsockname(sockfd, addr, addrlen) => net::sys_getsockname, Full, N;
    getpeername(sockfd, addr, addrlen) => net::sys_getpeername, Full, N;
    shutdown(sockfd, how) => net::sys_shutdown, Full, N;
    sendto(sockfd, buf, len, flags, dest_addr, addrlen) => net::sys_sendto, Full, R;
    recvfrom(sockfd, buf, len, flags, src_addr, addrlen) => net::sys_recvfrom, Full, R;
    sendmsg(sockfd, msg, flags) => net::sys_sendmsg, Full, R;
    recvmsg(sockfd, msg, flags) => net::sys_recvmsg, Full, R;
    sendmmsg(sockfd, msgvec, vlen, flags) => net::sys_sendmmsg, Full, R;
    recvmmsg(sockfd, msgvec, vlen, flags, timeout) => net::sys_recvmmsg, Full, R;
    setsockopt(sockfd, level, optname, optval, optlen) => net::sys_setsockopt, Full, N;
    getsockopt(sockfd, level, optname, optval, optlen) => net::sys_getsockopt, Full, N;
    rt_sigaction(signum, act, oldact, sigsetsize) => signal::sys_rt_sigaction, Full, N;
    rt_sigprocmask(how, set, oldset, sigsetsize) => signal::sys_rt_sigprocmask, Full, N;
    rt_sigreturn() => signal::sys_rt_sigreturn, Full, N;
    rt_sigpending(set, sigsetsize) => signal::sys_rt_sigpending, Full, N;
    rt_sigsuspend(mask, sigsetsize) => signal::sys_rt_sigsuspend, Full, N;
    rt_sigtimedwait(set, info, timeout, sigsetsize) => signal::sys_rt_sigtimedwait, Full, N;
    sigaltstack(ss, old_ss) => signal::sys_sigaltstack, Full, N;
    pause() => signal::sys_pause, Full, N;
    kill(pid, sig) => signal::sys_kill, Full, N;
    tkill(tid, sig) => signal::sys_tkill, Full, N;
    tgkill(tgid, tid, sig) => signal::sys_tgkill, Full, N;
    rt_sigqueueinfo(tgid, sig, info) => signal::sys_rt_sigqueueinfo, Full, N;
    rt_tgsigqueueinfo(tgid, tid, sig, info) => signal::sys_rt_tgsigqueueinfo, Full, N;
    alarm(seconds) => signal::sys_alarm, Full, N;
    setitimer(which, new_value, old_value) => signal::sys_setitimer, Partial("ITIMER_REAL only; ITIMER_VIRTUAL and ITIMER_PROF fail with EINVAL"), N;
    getitimer(which, curr_value) => signal::sys_getitimer, Partial("ITIMER_VIRTUAL and ITIMER_PROF always read as disarmed"), N;
    getuid() => creds::sys_getuid, Full, N;
    geteuid() => creds::sys_geteuid, Full, N;
    getgid() => creds::sys_getgid, Full, N;
    getegid() => creds::sys_getegid, Full, N;
    set_tid_address(tidptr) => process::sys_set_tid_address, Full, N;
    set_robust_list(head, len) => process::sys_set_robust_list, Full, N;
    rseq(rseq, rseq_len, flags, sig) => process::sys_rseq, ByDesign("the libcs work without it"), N;
    arch_prctl(code, addr) => process::sys_arch_prctl, Full, N;
    prlimit64(pid, resource, new_limit, old_limit) => process::sys_prlimit64, Full, N;
    getrlimit(resource, rlim) => process::sys_getrlimit, Full, N;
    setrlimit(resource, rlim) => process::sys_setrlimit, Full, N;
    fork() => clone::sys_fork, Full, N;
    clock_gettime(clockid, tp) => time::sys_clock_gettime, Full, N;
    clock_getres(clockid, res) => time::sys_clock_getres, Full, N;
    gettimeofday(tv, tz) => time::sys_gettimeofday, Full, N;
    time(tloc) => time::sys_time, Full, N;
    nanosleep(req, rem) => time::sys_nanosleep, Full, S;
    clock_nanosleep(clockid, flags, request, remain) => time::sys_clock_nanosleep, Full, S;
    uname(buf) => misc::sys_uname, Full, N;
    sethostname(name, len) => misc::sys_sethostname, Full, N;
    setdomainname(name, len) => misc::sys_setdomainname, Full, N;
    syslog(ty, bufp, len) => misc::sys_syslog, Partial("no kernel log: reads return nothing"), N;
    membarrier(cmd, flags, cpu_id) => misc::sys_membarrier, Full, N;
    setns(fd, nstype) => misc::sys_setns, Partial("no namespace files: every descriptor gives EINVAL"), N;
    unshare(flags) => misc::sys_unshare, Partial("new namespaces are refused (EPERM)"), N;
    adjtimex(buf) => time::sys_adjtimex, Partial("reads the host clock state; setting it gives EPERM"), N;
    clock_adjtime(clockid, buf) => time::sys_clock_adjtime, Partial("CLOCK_REALTIME, read only"), N;
    getrandom(buf, buflen, flags) => misc::sys_getrandom, Full, N;
    sched_yield() => misc::sys_sched_yield, Full, N;
    timerfd_create(clockid, flags) => timer::sys_timerfd_create, Full, N;
    timerfd_settime(fd, flags, new_value, old_value) => timer::sys_timerfd_settime, Full, N;
    timerfd_gettime(fd, curr_value) => timer::sys_timerfd_gettime, Full, N;
    timer_create(clockid, sevp, timerid) => timer::sys_timer_create, Partial("the CPU-time clocks are refused (ENOTSUP)"), N;
    timer_settime(timerid, flags, new_value, old_value) => timer::sys_timer_settime, Full, N;
    timer_gettime(timerid, curr_value) => timer::sys_timer_gettime, Full, N;
    timer_getoverrun(timerid) => timer::sys_timer_getoverrun, Partial("counts expirations missed between two expiries, not while the signal waited"), N;
    timer_delete(timerid) => timer::sys_timer_delete, Full, N;
    signalfd(fd, mask, sizemask) => timer::sys_signalfd, Full, N;
    signalfd4(fd, mask, sizemask, flags) => timer::sys_signalfd4, Full, N;
    sched_setscheduler(pid, policy, param) => sched::sys_sched_setscheduler, Partial("kept and reported; the host schedules the threads"), N;
    sched_getscheduler(pid) => sched::sys_sched_getscheduler, Full, N;
    sched_setparam(pid, param) => sched::sys_sched_setparam, Partial("kept and reported; the host schedules the threads"), N;
    sched_getparam(pid, param) => sched::sys_sched_getparam, Full, N;
    sched_setattr(pid, attr, flags) => sched::sys_sched_setattr, Partial("kept and reported; no SCHED_DEADLINE"), N;
    sched_getattr(pid, attr, size, flags) => sched::sys_sched_getattr, Full, N;
    sched_rr_get_interval(pid, tp) => sched::sys_sched_rr_get_interval, Full, N;
    sched_get_priority_max(policy) => sched::sys_sched_get_priority_max, Full, N;
    sched_get_priority_min(policy) => sched::sys_sched_get_priority_min, Full, N;
    sched_setaffinity(pid, cpusetsize, mask) => sched::sys_sched_setaffinity, Partial("kept and reported; threads are not pinned"), N;
    sched_getaffinity(pid, cpusetsize, mask) => sched::sys_sched_getaffinity, Full, N;
    ioprio_set(which, who, ioprio) => sched::sys_ioprio_set, Partial("kept and reported; no effect on I/O"), N;
    ioprio_get(which, who) => sched::sys_ioprio_get, Full, N;
    mincore(addr, length, vec) => mlock::sys_mincore, Full, N;
    mlock(addr, len) => mlock::sys_mlock, Full, N;
    mlock2(addr, len, flags) => mlock::sys_mlock2, Full, N;
    munlock(addr, len) => mlock::sys_munlock, Full, N;
    mlockall(flags) => mlock::sys_mlockall, Full, N;
    munlockall() => mlock::sys_munlockall, Full, N;
    set_mempolicy(mode, nodemask, maxnode) => mlock::sys_set_mempolicy, Partial("one NUMA node"), N;
    get_mempolicy(mode, nodemask, maxnode, addr, flags) => mlock::sys_get_mempolicy, Partial("one NUMA node; mappings report the default policy"), N;
    mbind(addr, len, mode, nodemask, maxnode, flags) => mlock::sys_mbind, Partial("one NUMA node; the policy is not kept per mapping"), N;
    semget(key, nsems, semflg) => ipc::sys_semget, Full, N;
    semop(semid, sops, nsops) => ipc::sys_semop, Full, N;
    semtimedop(semid, sops, nsops, timeout) => ipc::sys_semtimedop, Full, N;
    semctl(semid, semnum, cmd, arg) => ipc::sys_semctl, Full, N;
    shmget(key, size, shmflg) => ipc::sys_shmget, Full, N;
    shmat(shmid, shmaddr, shmflg) => ipc::sys_shmat, Partial("a segment partly unmapped with munmap still counts as attached until shmdt"), N;
    shmdt(shmaddr) => ipc::sys_shmdt, Full, N;
    shmctl(shmid, cmd, buf) => ipc::sys_shmctl, Partial("a removed segment cannot be attached again by its id"), N;
    msgget(key, msgflg) => ipc::sys_msgget, Full, N;
    msgsnd(msqid, msgp, msgsz, msgflg) => ipc::sys_msgsnd, Full, R;
    msgrcv(msqid, msgp, msgsz, msgtyp, msgflg) => ipc::sys_msgrcv, Full, R;
    msgctl(msqid, cmd, buf) => ipc::sys_msgctl, Full, N;
    mq_open(name, oflag, mode, attr) => mqueue::sys_mq_open, Partial("no /dev/mqueue file system to list the queues"), R;
    mq_unlink(name) => mqueue::sys_mq_unlink, Full, N;
    mq_timedsend(mqdes, msg_ptr, msg_len, msg_prio, abs_timeout) => mqueue::sys_mq_timedsend, Full, R;
    mq_timedreceive(mqdes, msg_ptr, msg_len, msg_prio, abs_timeout) => mqueue::sys_mq_timedreceive, Full, R;
    mq_notify(mqdes, sevp) => mqueue::sys_mq_notify, Partial("SIGEV_SIGNAL and SIGEV_NONE; glibc's SIGEV_THREAD needs netlink sockets"), N;
    mq_getsetattr(mqdes, newattr, oldattr) => mqueue::sys_mq_getsetattr, Full, N;
    add_key(ty, description, payload, plen, ring_id) => keys::sys_add_key, Partial("user, logon and keyring types"), N;
    request_key(ty, description, callout_info, dest_keyring) => keys::sys_request_key, Partial("finds keys, never calls out to make one"), N;
    keyctl(operation, arg2, arg3, arg4, arg5) => keys::sys_keyctl, Partial("the common operations; permissions are kept, not enforced"), N;
}

/// Syscalls without a row whose `ENOSYS` is a decision, and why.
const NOT_SERVED: &[(Sysno, &str)] = &[
    (Sysno::ptrace, "no debugging of LibOS processes from inside"),
    (Sysno::kexec_load, "no kernel to replace"),
    (Sysno::kexec_file_load, "no kernel to replace"),
    (Sysno::init_module, "no kernel modules"),
    (Sysno::finit_module, "no kernel modules"),
    (Sysno::delete_module, "no kernel modules"),
    (Sysno::reboot, "no machine to reboot"),
    (Sysno::swapon, "the LibOS never swaps"),
    (Sysno::swapoff, "the LibOS never swaps"),
    (Sysno::iopl, "no port I/O inside an enclave"),
    (Sysno::ioperm, "no port I/O inside an enclave"),
    (Sysno::bpf, "no in-kernel programs"),
    (
        Sysno::perf_event_open,
        "no performance counters inside an enclave",
    ),
    (Sysno::userfaultfd, "page faults are the LibOS's own"),
    (Sysno::modify_ldt, "64-bit programs need no LDT"),
    (Sysno::set_thread_area, "32-bit only"),
    (Sysno::get_thread_area, "32-bit only"),
    (Sysno::uselib, "a.out only"),
    (Sysno::acct, "no process accounting"),
    (Sysno::quotactl, "no disk quotas"),
    (
        Sysno::fanotify_init,
        "file access notification for the whole file system; inotify serves programs",
    ),
    (
        Sysno::fanotify_mark,
        "file access notification for the whole file system; inotify serves programs",
    ),
    (Sysno::lookup_dcookie, "a profiler's kernel interface"),
    (Sysno::vhangup, "no virtual hangup of terminals"),
    (
        Sysno::pivot_root,
        "the LibOS's root is fixed by Occlum.json",
    ),
    (
        Sysno::_sysctl,
        "removed from Linux; /proc/sys serves the values",
    ),
    (Sysno::nfsservctl, "removed from Linux"),
    (Sysno::create_module, "removed from Linux"),
    (Sysno::get_kernel_syms, "removed from Linux"),
    (Sysno::query_module, "removed from Linux"),
    (Sysno::getpmsg, "STREAMS, never in Linux"),
    (Sysno::putpmsg, "STREAMS, never in Linux"),
    (Sysno::afs_syscall, "never in Linux"),
    (Sysno::tuxcall, "never in Linux"),
    (Sysno::security, "never in Linux"),
    (Sysno::vserver, "never in Linux"),
    (Sysno::epoll_ctl_old, "never in Linux"),
    (Sysno::epoll_wait_old, "never in Linux"),
    (Sysno::ustat, "deprecated; statfs serves programs"),
    (
        Sysno::sysfs,
        "deprecated; /proc/filesystems serves programs",
    ),
];

/// The table row of syscall `nr`, if any.
pub fn entry(nr: u64) -> Option<&'static Entry> {
    static INDEX: std::sync::OnceLock<Vec<Option<&'static Entry>>> = std::sync::OnceLock::new();
    let index = INDEX.get_or_init(|| {
        let len = TABLE
            .iter()
            .map(|e| e.nr.id() as usize + 1)
            .max()
            .unwrap_or(0);
        let mut v = vec![None; len];
        for e in TABLE {
            v[e.nr.id() as usize] = Some(e);
        }
        v
    });
    usize::try_from(nr)
        .ok()
        .and_then(|i| index.get(i).copied().flatten())
}

/// The support table in Markdown (`docs/syscalls.md`): every x86_64
/// syscall and how the LibOS serves it.
pub fn support_table() -> String {
    let mut out = String::from(
        "# Syscall support\n\nGenerated from the LibOS's syscall table (`crates/occlum-libos/src/syscall/table.rs`) \
         by `UPDATE_DOCS=1 cargo test -p occlum-libos support_table`; a test checks it is current. \
         **Full**: as Linux; **Partial**: as Linux except what the note says; **ENOSYS by design**: refused \
         on purpose; **ENOSYS**: not served yet. A syscall that fails with ENOSYS is logged once by name \
         (`OCCLUM_LOG_LEVEL=warn`). *Restart* says what a call interrupted by a signal does: *restart* \
         (unless the handler lacks `SA_RESTART`), *restart without handler* (sleeps and polls), or `EINTR`.\n\n\
         | nr | syscall | support | restart |\n|---|---|---|---|\n",
    );
    let (mut full, mut partial, mut total) = (0, 0, 0);
    for sys in Sysno::iter() {
        total += 1;
        let row = TABLE.iter().find(|e| e.nr == sys);
        let support = match row.map(|e| e.support) {
            Some(Full) => {
                full += 1;
                "Full".to_string()
            }
            Some(Partial(note)) => {
                partial += 1;
                format!("Partial: {note}")
            }
            Some(ByDesign(why)) => format!("ENOSYS by design: {why}"),
            None => match NOT_SERVED.iter().find(|(s, _)| *s == sys) {
                Some((_, why)) => format!("ENOSYS by design: {why}"),
                None => "ENOSYS".to_string(),
            },
        };
        let restart = match row.map(|e| e.restart) {
            Some(R) => "restart",
            Some(S) => "restart without handler",
            Some(N) => "EINTR",
            None => "",
        };
        let call = match row {
            Some(e) => format!("{}({})", sys.name(), e.args.join(", ")),
            None => sys.name().to_string(),
        };
        out.push_str(&format!(
            "| {} | `{}` | {} | {} |\n",
            sys.id(),
            call,
            support,
            restart
        ));
    }
    out.push_str(&format!(
        "\n{} of {total} syscalls are served: {full} in full, {partial} partly.\n",
        full + partial
    ));
    out
}
