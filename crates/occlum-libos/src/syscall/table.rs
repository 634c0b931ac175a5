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
    /// Its handler.
    pub handler: Handler,
    /// How completely it is served.
    pub support: Support,
    /// How it restarts.
    pub restart: Restart,
}

use Restart::{N, R, S};
use Support::{ByDesign, Full, Partial};

macro_rules! table {
    ($($nr:ident => $handler:path, $support:expr, $restart:expr;)*) => {
        /// Every syscall the LibOS has a row for.
        pub static TABLE: &[Entry] = &[$(Entry {
            nr: Sysno::$nr,
            handler: $handler,
            support: $support,
            restart: $restart,
        }),*];
    };
}

table! {
    read => fs::io::sys_read, Full, R;
    write => fs::io::sys_write, Full, R;
    readv => fs::io::sys_readv, Full, R;
    writev => fs::io::sys_writev, Full, R;
    pread64 => fs::io::sys_pread64, Full, R;
    pwrite64 => fs::io::sys_pwrite64, Full, R;
    preadv => fs::io::sys_preadv, Full, N;
    pwritev => fs::io::sys_pwritev, Full, N;
    preadv2 => fs::io::sys_preadv2, Full, N;
    pwritev2 => fs::io::sys_pwritev2, Full, N;
    lseek => fs::io::sys_lseek, Full, N;
    ioctl => fs::io::sys_ioctl, Partial("terminal attributes and size, FIONREAD, FIONBIO, FIOCLEX/FIONCLEX, FIOASYNC, the interface requests (SIOCGIF*, read only); others ENOTTY"), N;
    sendfile => fs::io::sys_sendfile, Full, N;
    copy_file_range => fs::io::sys_copy_file_range, Full, N;
    splice => fs::splice::sys_splice, Full, N;
    inotify_init => fs::notify::sys_inotify_init, Full, N;
    inotify_init1 => fs::notify::sys_inotify_init1, Full, N;
    inotify_add_watch => fs::notify::sys_inotify_add_watch, Partial("sees changes made through the LibOS, not by the host in hostfs directories"), N;
    inotify_rm_watch => fs::notify::sys_inotify_rm_watch, Full, N;
    tee => fs::splice::sys_tee, Full, N;
    vmsplice => fs::splice::sys_vmsplice, Full, N;
    open => fs::open::sys_open, Full, R;
    openat => fs::open::sys_openat, Full, R;
    openat2 => fs::open::sys_openat2, Partial("RESOLVE_NO_XDEV and RESOLVE_NO_MAGICLINKS accepted, not enforced; RESOLVE_BENEATH and RESOLVE_IN_ROOT judge .. by the path text"), R;
    creat => fs::open::sys_creat, Full, N;
    close => fs::open::sys_close, Full, N;
    stat => fs::stat::sys_stat, Full, N;
    fstat => fs::stat::sys_fstat, Full, N;
    lstat => fs::stat::sys_lstat, Full, N;
    newfstatat => fs::stat::sys_newfstatat, Full, N;
    statx => fs::stat::sys_statx, Full, N;
    statfs => fs::stat::sys_statfs, Full, N;
    fstatfs => fs::stat::sys_fstatfs, Full, N;
    mkdir => fs::dir::sys_mkdir, Full, N;
    mkdirat => fs::dir::sys_mkdirat, Full, N;
    rmdir => fs::dir::sys_rmdir, Full, N;
    getdents64 => fs::dir::sys_getdents64, Full, N;
    getdents => fs::dir::sys_getdents, Full, N;
    mknod => fs::dir::sys_mknod, Partial("device nodes open only the devices the LibOS has (null, zero, full, random, urandom, tty)"), N;
    mknodat => fs::dir::sys_mknodat, Partial("device nodes open only the devices the LibOS has (null, zero, full, random, urandom, tty)"), N;
    chdir => fs::dir::sys_chdir, Full, N;
    fchdir => fs::dir::sys_fchdir, Full, N;
    getcwd => fs::dir::sys_getcwd, Full, N;
    chroot => fs::dir::sys_chroot, Full, N;
    unlink => fs::link::sys_unlink, Full, N;
    unlinkat => fs::link::sys_unlinkat, Full, N;
    rename => fs::link::sys_rename, Full, N;
    renameat => fs::link::sys_renameat, Full, N;
    renameat2 => fs::link::sys_renameat2, Full, N;
    link => fs::link::sys_link, Full, N;
    linkat => fs::link::sys_linkat, Full, N;
    symlink => fs::link::sys_symlink, Full, N;
    symlinkat => fs::link::sys_symlinkat, Full, N;
    readlink => fs::link::sys_readlink, Full, N;
    readlinkat => fs::link::sys_readlinkat, Full, N;
    chmod => fs::attr::sys_chmod, Full, N;
    fchmod => fs::attr::sys_fchmod, Full, N;
    fchmodat => fs::attr::sys_fchmodat, Full, N;
    fchmodat2 => fs::attr::sys_fchmodat2, Full, N;
    fadvise64 => fs::advice::sys_fadvise64, Full, N;
    readahead => fs::advice::sys_readahead, Full, N;
    sync_file_range => fs::advice::sys_sync_file_range, Full, N;
    chown => fs::attr::sys_chown, Full, N;
    fchown => fs::attr::sys_fchown, Full, N;
    lchown => fs::attr::sys_lchown, Full, N;
    fchownat => fs::attr::sys_fchownat, Full, N;
    truncate => fs::attr::sys_truncate, Full, N;
    ftruncate => fs::attr::sys_ftruncate, Full, N;
    fallocate => fs::attr::sys_fallocate, Full, N;
    fsync => fs::attr::sys_fsync, Full, N;
    fdatasync => fs::attr::sys_fdatasync, Full, N;
    sync => fs::attr::sys_sync, Full, N;
    syncfs => fs::attr::sys_syncfs, Full, N;
    access => fs::attr::sys_access, Full, N;
    faccessat => fs::attr::sys_faccessat, Full, N;
    faccessat2 => fs::attr::sys_faccessat2, Full, N;
    umask => fs::attr::sys_umask, Full, N;
    utimensat => fs::attr::sys_utimensat, Full, N;
    futimesat => fs::attr::sys_futimesat, Full, N;
    utimes => fs::attr::sys_utimes, Full, N;
    utime => fs::attr::sys_utime, Full, N;
    flock => fs::lock::sys_flock, Full, R;
    mount => fs::mount::sys_mount, Partial("ramfs/tmpfs, proc and devtmpfs, read-only or not, and remounts of them; no bind mounts"), N;
    memfd_create => fs::memfd::sys_memfd_create, Full, N;
    close_range => fs::memfd::sys_close_range, Full, N;
    getrusage => info::sys_getrusage, Partial("no page-fault or context-switch counts"), N;
    sysinfo => info::sys_sysinfo, Full, N;
    times => info::sys_times, Full, N;
    prctl => info::sys_prctl, Partial("the common options (names, parent death signal, dumpable, no_new_privs, ...); others EINVAL"), N;
    getpriority => info::sys_getpriority, Full, N;
    setpriority => info::sys_setpriority, Partial("kept and reported; no effect on scheduling"), N;
    getgroups => creds::sys_getgroups, Full, N;
    setgroups => creds::sys_setgroups, Full, N;
    getresuid => creds::sys_getresuid, Full, N;
    getresgid => creds::sys_getresgid, Full, N;
    setuid => creds::sys_setuid, Full, N;
    setgid => creds::sys_setgid, Full, N;
    setreuid => creds::sys_setreuid, Full, N;
    setregid => creds::sys_setregid, Full, N;
    setresuid => creds::sys_setresuid, Full, N;
    setresgid => creds::sys_setresgid, Full, N;
    setfsuid => creds::sys_setfsuid, Full, N;
    setfsgid => creds::sys_setfsgid, Full, N;
    capget => creds::sys_capget, Full, N;
    capset => creds::sys_capset, Full, N;
    getcpu => info::sys_getcpu, Full, N;
    personality => info::sys_personality, Full, N;
    getxattr => fs::xattr::sys_getxattr, Full, N;
    lgetxattr => fs::xattr::sys_lgetxattr, Full, N;
    fgetxattr => fs::xattr::sys_fgetxattr, Full, N;
    listxattr => fs::xattr::sys_listxattr, Full, N;
    llistxattr => fs::xattr::sys_llistxattr, Full, N;
    flistxattr => fs::xattr::sys_flistxattr, Full, N;
    setxattr => fs::xattr::sys_setxattr, Partial("stored by the ramfs (/tmp, /dev/shm); the encrypted root and hostfs store none (EOPNOTSUPP)"), N;
    lsetxattr => fs::xattr::sys_lsetxattr, Partial("stored by the ramfs (/tmp, /dev/shm); the encrypted root and hostfs store none (EOPNOTSUPP)"), N;
    fsetxattr => fs::xattr::sys_fsetxattr, Partial("stored by the ramfs (/tmp, /dev/shm); the encrypted root and hostfs store none (EOPNOTSUPP)"), N;
    removexattr => fs::xattr::sys_removexattr, Full, N;
    lremovexattr => fs::xattr::sys_lremovexattr, Full, N;
    fremovexattr => fs::xattr::sys_fremovexattr, Full, N;
    umount2 => fs::mount::sys_umount2, Full, N;
    brk => vm::sys_brk, Full, N;
    mmap => vm::sys_mmap, Full, N;
    munmap => vm::sys_munmap, Full, N;
    mprotect => vm::sys_mprotect, Full, N;
    msync => vm::sys_msync, Full, N;
    mremap => vm::sys_mremap, Full, N;
    madvise => vm::sys_madvise, Full, N;
    exit => process::sys_exit, Full, N;
    exit_group => process::sys_exit_group, Full, N;
    getpid => process::sys_getpid, Full, N;
    getppid => process::sys_getppid, Full, N;
    gettid => process::sys_gettid, Full, N;
    getpgid => process::sys_getpgid, Full, N;
    getpgrp => process::sys_getpgrp, Full, N;
    setpgid => process::sys_setpgid, Full, N;
    getsid => process::sys_getsid, Full, N;
    setsid => process::sys_setsid, Full, N;
    clone => clone::sys_clone, Full, N;
    clone3 => clone::sys_clone3, ByDesign("the libcs fall back to clone"), N;
    vfork => clone::sys_vfork, Full, N;
    execve => clone::sys_execve, Full, N;
    execveat => clone::sys_execveat, Partial("runs the file by its path: an unlinked file or a memfd cannot run"), N;
    pidfd_open => process::sys_pidfd_open, Full, N;
    pidfd_getfd => process::sys_pidfd_getfd, Full, N;
    pidfd_send_signal => signal::sys_pidfd_send_signal, Full, N;
    wait4 => wait::sys_wait4, Full, R;
    waitid => wait::sys_waitid, Full, R;
    futex => futex::sys_futex, Full, R;
    get_robust_list => futex::sys_get_robust_list, Full, N;
    pipe => fd::sys_pipe, Full, N;
    pipe2 => fd::sys_pipe2, Full, N;
    dup => fd::sys_dup, Full, N;
    dup2 => fd::sys_dup2, Full, N;
    dup3 => fd::sys_dup3, Full, N;
    fcntl => fd::sys_fcntl, Partial("no leases (F_SETLEASE) or F_NOTIFY"), R;
    poll => poll::sys_poll, Full, S;
    ppoll => poll::sys_ppoll, Full, S;
    select => poll::sys_select, Full, S;
    pselect6 => poll::sys_pselect6, Full, S;
    epoll_create => poll::sys_epoll_create, Full, N;
    epoll_create1 => poll::sys_epoll_create1, Full, N;
    epoll_ctl => poll::sys_epoll_ctl, Full, N;
    epoll_wait => poll::sys_epoll_wait, Full, S;
    epoll_pwait => poll::sys_epoll_pwait, Full, S;
    epoll_pwait2 => poll::sys_epoll_pwait2, Full, S;
    eventfd => poll::sys_eventfd, Full, N;
    eventfd2 => poll::sys_eventfd2, Full, N;
    socket => net::sys_socket, Full, N;
    socketpair => net::sys_socketpair, Full, N;
    bind => net::sys_bind, Full, N;
    listen => net::sys_listen, Full, N;
    accept => net::sys_accept, Full, R;
    accept4 => net::sys_accept4, Full, R;
    connect => net::sys_connect, Full, R;
    getsockname => net::sys_getsockname, Full, N;
    getpeername => net::sys_getpeername, Full, N;
    shutdown => net::sys_shutdown, Full, N;
    sendto => net::sys_sendto, Full, R;
    recvfrom => net::sys_recvfrom, Full, R;
    sendmsg => net::sys_sendmsg, Full, R;
    recvmsg => net::sys_recvmsg, Full, R;
    sendmmsg => net::sys_sendmmsg, Full, R;
    recvmmsg => net::sys_recvmmsg, Full, R;
    setsockopt => net::sys_setsockopt, Full, N;
    getsockopt => net::sys_getsockopt, Full, N;
    rt_sigaction => signal::sys_rt_sigaction, Full, N;
    rt_sigprocmask => signal::sys_rt_sigprocmask, Full, N;
    rt_sigreturn => signal::sys_rt_sigreturn, Full, N;
    rt_sigpending => signal::sys_rt_sigpending, Full, N;
    rt_sigsuspend => signal::sys_rt_sigsuspend, Full, N;
    rt_sigtimedwait => signal::sys_rt_sigtimedwait, Full, N;
    sigaltstack => signal::sys_sigaltstack, Full, N;
    pause => signal::sys_pause, Full, N;
    kill => signal::sys_kill, Full, N;
    tkill => signal::sys_tkill, Full, N;
    tgkill => signal::sys_tgkill, Full, N;
    rt_sigqueueinfo => signal::sys_rt_sigqueueinfo, Full, N;
    rt_tgsigqueueinfo => signal::sys_rt_tgsigqueueinfo, Full, N;
    alarm => signal::sys_alarm, Full, N;
    setitimer => signal::sys_setitimer, Partial("ITIMER_REAL only; ITIMER_VIRTUAL and ITIMER_PROF fail with EINVAL"), N;
    getitimer => signal::sys_getitimer, Partial("ITIMER_VIRTUAL and ITIMER_PROF always read as disarmed"), N;
    getuid => creds::sys_getuid, Full, N;
    geteuid => creds::sys_geteuid, Full, N;
    getgid => creds::sys_getgid, Full, N;
    getegid => creds::sys_getegid, Full, N;
    set_tid_address => process::sys_set_tid_address, Full, N;
    set_robust_list => process::sys_set_robust_list, Full, N;
    rseq => process::sys_rseq, ByDesign("the libcs work without it"), N;
    arch_prctl => process::sys_arch_prctl, Full, N;
    prlimit64 => process::sys_prlimit64, Full, N;
    getrlimit => process::sys_getrlimit, Full, N;
    setrlimit => process::sys_setrlimit, Full, N;
    fork => clone::sys_fork, Full, N;
    clock_gettime => time::sys_clock_gettime, Full, N;
    clock_getres => time::sys_clock_getres, Full, N;
    gettimeofday => time::sys_gettimeofday, Full, N;
    time => time::sys_time, Full, N;
    nanosleep => time::sys_nanosleep, Full, S;
    clock_nanosleep => time::sys_clock_nanosleep, Full, S;
    uname => misc::sys_uname, Full, N;
    sethostname => misc::sys_sethostname, Full, N;
    setdomainname => misc::sys_setdomainname, Full, N;
    syslog => misc::sys_syslog, Partial("no kernel log: reads return nothing"), N;
    membarrier => misc::sys_membarrier, Full, N;
    setns => misc::sys_setns, Partial("no namespace files: every descriptor gives EINVAL"), N;
    unshare => misc::sys_unshare, Partial("new namespaces are refused (EPERM)"), N;
    adjtimex => time::sys_adjtimex, Partial("reads the host clock state; setting it gives EPERM"), N;
    clock_adjtime => time::sys_clock_adjtime, Partial("CLOCK_REALTIME, read only"), N;
    getrandom => misc::sys_getrandom, Full, N;
    sched_yield => misc::sys_sched_yield, Full, N;
    timerfd_create => timer::sys_timerfd_create, Full, N;
    timerfd_settime => timer::sys_timerfd_settime, Full, N;
    timerfd_gettime => timer::sys_timerfd_gettime, Full, N;
    timer_create => timer::sys_timer_create, Partial("the CPU-time clocks are refused (ENOTSUP)"), N;
    timer_settime => timer::sys_timer_settime, Full, N;
    timer_gettime => timer::sys_timer_gettime, Full, N;
    timer_getoverrun => timer::sys_timer_getoverrun, Partial("counts expirations missed between two expiries, not while the signal waited"), N;
    timer_delete => timer::sys_timer_delete, Full, N;
    signalfd => timer::sys_signalfd, Full, N;
    signalfd4 => timer::sys_signalfd4, Full, N;
    sched_setscheduler => sched::sys_sched_setscheduler, Partial("kept and reported; the host schedules the threads"), N;
    sched_getscheduler => sched::sys_sched_getscheduler, Full, N;
    sched_setparam => sched::sys_sched_setparam, Partial("kept and reported; the host schedules the threads"), N;
    sched_getparam => sched::sys_sched_getparam, Full, N;
    sched_setattr => sched::sys_sched_setattr, Partial("kept and reported; no SCHED_DEADLINE"), N;
    sched_getattr => sched::sys_sched_getattr, Full, N;
    sched_rr_get_interval => sched::sys_sched_rr_get_interval, Full, N;
    sched_get_priority_max => sched::sys_sched_get_priority_max, Full, N;
    sched_get_priority_min => sched::sys_sched_get_priority_min, Full, N;
    sched_setaffinity => sched::sys_sched_setaffinity, Partial("kept and reported; threads are not pinned"), N;
    sched_getaffinity => sched::sys_sched_getaffinity, Full, N;
    ioprio_set => sched::sys_ioprio_set, Partial("kept and reported; no effect on I/O"), N;
    ioprio_get => sched::sys_ioprio_get, Full, N;
    mincore => mlock::sys_mincore, Full, N;
    mlock => mlock::sys_mlock, Full, N;
    mlock2 => mlock::sys_mlock2, Full, N;
    munlock => mlock::sys_munlock, Full, N;
    mlockall => mlock::sys_mlockall, Full, N;
    munlockall => mlock::sys_munlockall, Full, N;
    set_mempolicy => mlock::sys_set_mempolicy, Partial("one NUMA node"), N;
    get_mempolicy => mlock::sys_get_mempolicy, Partial("one NUMA node; mappings report the default policy"), N;
    mbind => mlock::sys_mbind, Partial("one NUMA node; the policy is not kept per mapping"), N;
    semget => ipc::sys_semget, Full, N;
    semop => ipc::sys_semop, Full, N;
    semtimedop => ipc::sys_semtimedop, Full, N;
    semctl => ipc::sys_semctl, Full, N;
    shmget => ipc::sys_shmget, Full, N;
    shmat => ipc::sys_shmat, Partial("a segment partly unmapped with munmap still counts as attached until shmdt"), N;
    shmdt => ipc::sys_shmdt, Full, N;
    shmctl => ipc::sys_shmctl, Partial("a removed segment cannot be attached again by its id"), N;
    msgget => ipc::sys_msgget, Full, N;
    msgsnd => ipc::sys_msgsnd, Full, R;
    msgrcv => ipc::sys_msgrcv, Full, R;
    msgctl => ipc::sys_msgctl, Full, N;
    mq_open => mqueue::sys_mq_open, Partial("no /dev/mqueue file system to list the queues"), R;
    mq_unlink => mqueue::sys_mq_unlink, Full, N;
    mq_timedsend => mqueue::sys_mq_timedsend, Full, R;
    mq_timedreceive => mqueue::sys_mq_timedreceive, Full, R;
    mq_notify => mqueue::sys_mq_notify, Partial("SIGEV_SIGNAL and SIGEV_NONE; glibc's SIGEV_THREAD needs netlink sockets"), N;
    mq_getsetattr => mqueue::sys_mq_getsetattr, Full, N;
    add_key => keys::sys_add_key, Partial("user, logon and keyring types"), N;
    request_key => keys::sys_request_key, Partial("finds keys, never calls out to make one"), N;
    keyctl => keys::sys_keyctl, Partial("the common operations; permissions are kept, not enforced"), N;
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
        out.push_str(&format!(
            "| {} | `{}` | {} | {} |\n",
            sys.id(),
            sys.name(),
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
