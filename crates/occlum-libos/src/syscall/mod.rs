//! The syscall table and dispatcher. Every user syscall arrives here with the
//! trapped user context; the table states, per syscall, the handler that
//! serves it. Anything not in the table fails with `ENOSYS` and is logged once
//! by name.

mod clone;
mod creds;
mod fd;
mod fs;
mod futex;
mod info;
mod ipc;
mod misc;
mod mlock;
mod net;
mod poll;
mod process;
mod sched;
mod signal;
mod time;
mod timer;
mod vm;
mod wait;

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};

use occlum_pal::trap::TrapFrame;
use syscalls::Sysno;

use crate::process::{Process, Thread};
use crate::signal::RestartKind;
use crate::{Errno, InjectedPanic, Result};

/// What a syscall handler works with.
pub struct SyscallCtx<'a, 'f> {
    thread: &'a Arc<Thread>,
    frame: &'a mut TrapFrame<'f>,
    regs_replaced: bool,
}

impl<'f> SyscallCtx<'_, 'f> {
    /// The calling thread.
    pub fn thread(&self) -> &Arc<Thread> {
        self.thread
    }

    /// The calling process.
    pub fn process(&self) -> &Arc<Process> {
        self.thread.process()
    }

    /// Records that the handler set the user registers itself (`execve`,
    /// `vfork`): its return value is not stored in RAX.
    pub fn regs_replaced(&mut self) {
        self.regs_replaced = true;
    }

    /// The trapped user context.
    pub fn frame(&mut self) -> &mut TrapFrame<'f> {
        self.frame
    }
}

/// A syscall handler: the six raw arguments in, the return value or an errno out.
pub type Handler = fn(&mut SyscallCtx<'_, '_>, [u64; 6]) -> Result<u64>;

macro_rules! table {
    ($($nr:ident => $handler:path),* $(,)?) => {
        /// Every supported syscall with its handler.
        static TABLE: &[(Sysno, Handler)] = &[$((Sysno::$nr, $handler)),*];
    };
}

table! {
    read => fs::io::sys_read,
    write => fs::io::sys_write,
    readv => fs::io::sys_readv,
    writev => fs::io::sys_writev,
    pread64 => fs::io::sys_pread64,
    pwrite64 => fs::io::sys_pwrite64,
    preadv => fs::io::sys_preadv,
    pwritev => fs::io::sys_pwritev,
    preadv2 => fs::io::sys_preadv2,
    pwritev2 => fs::io::sys_pwritev2,
    lseek => fs::io::sys_lseek,
    ioctl => fs::io::sys_ioctl,
    sendfile => fs::io::sys_sendfile,
    copy_file_range => fs::io::sys_copy_file_range,
    splice => fs::splice::sys_splice,
    inotify_init => fs::notify::sys_inotify_init,
    inotify_init1 => fs::notify::sys_inotify_init1,
    inotify_add_watch => fs::notify::sys_inotify_add_watch,
    inotify_rm_watch => fs::notify::sys_inotify_rm_watch,
    tee => fs::splice::sys_tee,
    vmsplice => fs::splice::sys_vmsplice,
    open => fs::open::sys_open,
    openat => fs::open::sys_openat,
    openat2 => fs::open::sys_openat2,
    creat => fs::open::sys_creat,
    close => fs::open::sys_close,
    stat => fs::stat::sys_stat,
    fstat => fs::stat::sys_fstat,
    lstat => fs::stat::sys_lstat,
    newfstatat => fs::stat::sys_newfstatat,
    statx => fs::stat::sys_statx,
    statfs => fs::stat::sys_statfs,
    fstatfs => fs::stat::sys_fstatfs,
    mkdir => fs::dir::sys_mkdir,
    mkdirat => fs::dir::sys_mkdirat,
    rmdir => fs::dir::sys_rmdir,
    getdents64 => fs::dir::sys_getdents64,
    getdents => fs::dir::sys_getdents,
    mknod => fs::dir::sys_mknod,
    mknodat => fs::dir::sys_mknodat,
    chdir => fs::dir::sys_chdir,
    fchdir => fs::dir::sys_fchdir,
    getcwd => fs::dir::sys_getcwd,
    unlink => fs::link::sys_unlink,
    unlinkat => fs::link::sys_unlinkat,
    rename => fs::link::sys_rename,
    renameat => fs::link::sys_renameat,
    renameat2 => fs::link::sys_renameat2,
    link => fs::link::sys_link,
    linkat => fs::link::sys_linkat,
    symlink => fs::link::sys_symlink,
    symlinkat => fs::link::sys_symlinkat,
    readlink => fs::link::sys_readlink,
    readlinkat => fs::link::sys_readlinkat,
    chmod => fs::attr::sys_chmod,
    fchmod => fs::attr::sys_fchmod,
    fchmodat => fs::attr::sys_fchmodat,
    fchmodat2 => fs::attr::sys_fchmodat2,
    fadvise64 => fs::advice::sys_fadvise64,
    readahead => fs::advice::sys_readahead,
    sync_file_range => fs::advice::sys_sync_file_range,
    chown => fs::attr::sys_chown,
    fchown => fs::attr::sys_fchown,
    lchown => fs::attr::sys_lchown,
    fchownat => fs::attr::sys_fchownat,
    truncate => fs::attr::sys_truncate,
    ftruncate => fs::attr::sys_ftruncate,
    fallocate => fs::attr::sys_fallocate,
    fsync => fs::attr::sys_fsync,
    fdatasync => fs::attr::sys_fdatasync,
    sync => fs::attr::sys_sync,
    syncfs => fs::attr::sys_syncfs,
    access => fs::attr::sys_access,
    faccessat => fs::attr::sys_faccessat,
    faccessat2 => fs::attr::sys_faccessat2,
    umask => fs::attr::sys_umask,
    utimensat => fs::attr::sys_utimensat,
    futimesat => fs::attr::sys_futimesat,
    utimes => fs::attr::sys_utimes,
    utime => fs::attr::sys_utime,
    flock => fs::lock::sys_flock,
    mount => fs::mount::sys_mount,
    memfd_create => fs::memfd::sys_memfd_create,
    close_range => fs::memfd::sys_close_range,
    getrusage => info::sys_getrusage,
    sysinfo => info::sys_sysinfo,
    times => info::sys_times,
    prctl => info::sys_prctl,
    getpriority => info::sys_getpriority,
    setpriority => info::sys_setpriority,
    getgroups => creds::sys_getgroups,
    setgroups => creds::sys_setgroups,
    getresuid => creds::sys_getresuid,
    getresgid => creds::sys_getresgid,
    setuid => creds::sys_setuid,
    setgid => creds::sys_setgid,
    setreuid => creds::sys_setreuid,
    setregid => creds::sys_setregid,
    setresuid => creds::sys_setresuid,
    setresgid => creds::sys_setresgid,
    setfsuid => creds::sys_setfsuid,
    setfsgid => creds::sys_setfsgid,
    capget => creds::sys_capget,
    capset => creds::sys_capset,
    getcpu => info::sys_getcpu,
    personality => info::sys_personality,
    getxattr => fs::xattr::sys_getxattr,
    lgetxattr => fs::xattr::sys_lgetxattr,
    fgetxattr => fs::xattr::sys_fgetxattr,
    listxattr => fs::xattr::sys_listxattr,
    llistxattr => fs::xattr::sys_llistxattr,
    flistxattr => fs::xattr::sys_flistxattr,
    setxattr => fs::xattr::sys_setxattr,
    lsetxattr => fs::xattr::sys_lsetxattr,
    fsetxattr => fs::xattr::sys_fsetxattr,
    removexattr => fs::xattr::sys_removexattr,
    lremovexattr => fs::xattr::sys_lremovexattr,
    fremovexattr => fs::xattr::sys_fremovexattr,
    umount2 => fs::mount::sys_umount2,
    brk => vm::sys_brk,
    mmap => vm::sys_mmap,
    munmap => vm::sys_munmap,
    mprotect => vm::sys_mprotect,
    msync => vm::sys_msync,
    mremap => vm::sys_mremap,
    madvise => vm::sys_madvise,
    exit => process::sys_exit,
    exit_group => process::sys_exit_group,
    getpid => process::sys_getpid,
    getppid => process::sys_getppid,
    gettid => process::sys_gettid,
    getpgid => process::sys_getpgid,
    getpgrp => process::sys_getpgrp,
    setpgid => process::sys_setpgid,
    getsid => process::sys_getsid,
    setsid => process::sys_setsid,
    clone => clone::sys_clone,
    clone3 => clone::sys_clone3,
    vfork => clone::sys_vfork,
    execve => clone::sys_execve,
    execveat => clone::sys_execveat,
    pidfd_open => process::sys_pidfd_open,
    pidfd_getfd => process::sys_pidfd_getfd,
    pidfd_send_signal => signal::sys_pidfd_send_signal,
    wait4 => wait::sys_wait4,
    waitid => wait::sys_waitid,
    futex => futex::sys_futex,
    get_robust_list => futex::sys_get_robust_list,
    pipe => fd::sys_pipe,
    pipe2 => fd::sys_pipe2,
    dup => fd::sys_dup,
    dup2 => fd::sys_dup2,
    dup3 => fd::sys_dup3,
    fcntl => fd::sys_fcntl,
    poll => poll::sys_poll,
    ppoll => poll::sys_ppoll,
    select => poll::sys_select,
    pselect6 => poll::sys_pselect6,
    epoll_create => poll::sys_epoll_create,
    epoll_create1 => poll::sys_epoll_create1,
    epoll_ctl => poll::sys_epoll_ctl,
    epoll_wait => poll::sys_epoll_wait,
    epoll_pwait => poll::sys_epoll_pwait,
    epoll_pwait2 => poll::sys_epoll_pwait2,
    eventfd => poll::sys_eventfd,
    eventfd2 => poll::sys_eventfd2,
    socket => net::sys_socket,
    socketpair => net::sys_socketpair,
    bind => net::sys_bind,
    listen => net::sys_listen,
    accept => net::sys_accept,
    accept4 => net::sys_accept4,
    connect => net::sys_connect,
    getsockname => net::sys_getsockname,
    getpeername => net::sys_getpeername,
    shutdown => net::sys_shutdown,
    sendto => net::sys_sendto,
    recvfrom => net::sys_recvfrom,
    sendmsg => net::sys_sendmsg,
    recvmsg => net::sys_recvmsg,
    sendmmsg => net::sys_sendmmsg,
    recvmmsg => net::sys_recvmmsg,
    setsockopt => net::sys_setsockopt,
    getsockopt => net::sys_getsockopt,
    rt_sigaction => signal::sys_rt_sigaction,
    rt_sigprocmask => signal::sys_rt_sigprocmask,
    rt_sigreturn => signal::sys_rt_sigreturn,
    rt_sigpending => signal::sys_rt_sigpending,
    rt_sigsuspend => signal::sys_rt_sigsuspend,
    rt_sigtimedwait => signal::sys_rt_sigtimedwait,
    sigaltstack => signal::sys_sigaltstack,
    pause => signal::sys_pause,
    kill => signal::sys_kill,
    tkill => signal::sys_tkill,
    tgkill => signal::sys_tgkill,
    rt_sigqueueinfo => signal::sys_rt_sigqueueinfo,
    rt_tgsigqueueinfo => signal::sys_rt_tgsigqueueinfo,
    alarm => signal::sys_alarm,
    setitimer => signal::sys_setitimer,
    getitimer => signal::sys_getitimer,
    getuid => creds::sys_getuid,
    geteuid => creds::sys_geteuid,
    getgid => creds::sys_getgid,
    getegid => creds::sys_getegid,
    set_tid_address => process::sys_set_tid_address,
    set_robust_list => process::sys_set_robust_list,
    rseq => process::sys_rseq,
    arch_prctl => process::sys_arch_prctl,
    prlimit64 => process::sys_prlimit64,
    getrlimit => process::sys_getrlimit,
    setrlimit => process::sys_setrlimit,
    fork => clone::sys_fork,
    clock_gettime => time::sys_clock_gettime,
    clock_getres => time::sys_clock_getres,
    gettimeofday => time::sys_gettimeofday,
    time => time::sys_time,
    nanosleep => time::sys_nanosleep,
    clock_nanosleep => time::sys_clock_nanosleep,
    uname => misc::sys_uname,
    sethostname => misc::sys_sethostname,
    setdomainname => misc::sys_setdomainname,
    syslog => misc::sys_syslog,
    membarrier => misc::sys_membarrier,
    unshare => misc::sys_unshare,
    adjtimex => time::sys_adjtimex,
    clock_adjtime => time::sys_clock_adjtime,
    getrandom => misc::sys_getrandom,
    sched_yield => misc::sys_sched_yield,
    timerfd_create => timer::sys_timerfd_create,
    timerfd_settime => timer::sys_timerfd_settime,
    timerfd_gettime => timer::sys_timerfd_gettime,
    timer_create => timer::sys_timer_create,
    timer_settime => timer::sys_timer_settime,
    timer_gettime => timer::sys_timer_gettime,
    timer_getoverrun => timer::sys_timer_getoverrun,
    timer_delete => timer::sys_timer_delete,
    signalfd => timer::sys_signalfd,
    signalfd4 => timer::sys_signalfd4,
    sched_setscheduler => sched::sys_sched_setscheduler,
    sched_getscheduler => sched::sys_sched_getscheduler,
    sched_setparam => sched::sys_sched_setparam,
    sched_getparam => sched::sys_sched_getparam,
    sched_setattr => sched::sys_sched_setattr,
    sched_getattr => sched::sys_sched_getattr,
    sched_rr_get_interval => sched::sys_sched_rr_get_interval,
    sched_get_priority_max => sched::sys_sched_get_priority_max,
    sched_get_priority_min => sched::sys_sched_get_priority_min,
    sched_setaffinity => sched::sys_sched_setaffinity,
    sched_getaffinity => sched::sys_sched_getaffinity,
    ioprio_set => sched::sys_ioprio_set,
    ioprio_get => sched::sys_ioprio_get,
    mincore => mlock::sys_mincore,
    mlock => mlock::sys_mlock,
    mlock2 => mlock::sys_mlock2,
    munlock => mlock::sys_munlock,
    mlockall => mlock::sys_mlockall,
    munlockall => mlock::sys_munlockall,
    set_mempolicy => mlock::sys_set_mempolicy,
    get_mempolicy => mlock::sys_get_mempolicy,
    mbind => mlock::sys_mbind,
    semget => ipc::sys_semget,
    semop => ipc::sys_semop,
    semtimedop => ipc::sys_semtimedop,
    semctl => ipc::sys_semctl,
    shmget => ipc::sys_shmget,
    shmat => ipc::sys_shmat,
    shmdt => ipc::sys_shmdt,
    shmctl => ipc::sys_shmctl,
    msgget => ipc::sys_msgget,
    msgsnd => ipc::sys_msgsnd,
    msgrcv => ipc::sys_msgrcv,
    msgctl => ipc::sys_msgctl,
}

/// How syscall `nr`, interrupted by a signal, is restarted (`None`: it
/// fails with `EINTR`).
fn restart_kind(nr: u64) -> Option<RestartKind> {
    let sys = i32::try_from(nr)
        .ok()
        .and_then(|n| Sysno::new(n as usize))?;
    use Sysno::*;
    match sys {
        read | readv | write | writev | pread64 | pwrite64 | wait4 | waitid | futex | open
        | openat | openat2 | accept | accept4 | connect | recvfrom | recvmsg | sendto | sendmsg
        | flock | sendmmsg | recvmmsg | fcntl => Some(RestartKind::UnlessHandlerSaysNo),
        nanosleep | clock_nanosleep | poll | ppoll | select | pselect6 | epoll_wait
        | epoll_pwait | epoll_pwait2 => Some(RestartKind::OnlyWithoutHandler),
        _ => None,
    }
}

/// Syscalls in the table that answer `ENOSYS` on purpose, and why.
const ENOSYS_BY_DESIGN: &[(Sysno, &str)] = &[
    (Sysno::clone3, "the libcs fall back to clone"),
    (Sysno::rseq, "the libcs work without it"),
];

/// The support table in Markdown (`docs/syscalls.md`): every x86_64
/// syscall, and whether the LibOS serves it.
pub fn support_table() -> String {
    let mut out = String::from(
        "# Syscall support\n\nGenerated from the LibOS's syscall table (`crates/occlum-libos/src/syscall/mod.rs`) \
         by `UPDATE_DOCS=1 cargo test -p occlum-libos support_table`; a test checks it is current. \
         A syscall marked ENOSYS fails with that error and is logged once by name \
         (`OCCLUM_LOG_LEVEL=warn`).\n\n| nr | syscall | status |\n|---|---|---|\n",
    );
    let (mut served, mut total) = (0, 0);
    for sys in Sysno::iter() {
        total += 1;
        let status = if let Some((_, why)) = ENOSYS_BY_DESIGN.iter().find(|(s, _)| *s == sys) {
            format!("ENOSYS by design: {why}")
        } else if TABLE.iter().any(|(s, _)| *s == sys) {
            served += 1;
            "supported".to_string()
        } else {
            "ENOSYS".to_string()
        };
        out.push_str(&format!(
            "| {} | `{}` | {} |\n",
            sys.id(),
            sys.name(),
            status
        ));
    }
    out.push_str(&format!("\n{served} of {total} syscalls are served.\n"));
    out
}

fn lookup(nr: u64) -> Option<Handler> {
    static INDEX: OnceLock<Vec<Option<Handler>>> = OnceLock::new();
    let index = INDEX.get_or_init(|| {
        let len = TABLE
            .iter()
            .map(|(nr, _)| nr.id() as usize + 1)
            .max()
            .unwrap_or(0);
        let mut v: Vec<Option<Handler>> = vec![None; len];
        for (nr, h) in TABLE {
            v[nr.id() as usize] = Some(*h);
        }
        v
    });
    usize::try_from(nr)
        .ok()
        .and_then(|i| index.get(i).copied().flatten())
}

fn log_unsupported(nr: u64, exe: &str) {
    static SEEN: Mutex<Option<HashSet<u64>>> = Mutex::new(None);
    // Numbers past the table are logged as one: a guest making random
    // syscalls cannot grow the set or the log without bound.
    const UNKNOWN: u64 = u64::MAX;
    let key = if usize::try_from(nr).ok().and_then(Sysno::new).is_some() {
        nr
    } else {
        UNKNOWN
    };
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    if seen.get_or_insert_with(HashSet::new).insert(key) {
        let name = usize::try_from(nr)
            .ok()
            .and_then(Sysno::new)
            .map_or("unknown", |s| s.name());
        tracing::warn!("{exe}: unsupported syscall {name} ({nr}): returning ENOSYS");
    }
}

static INJECTED_PANIC: OnceLock<Option<InjectedPanic>> = OnceLock::new();

/// Where the LibOS panics on purpose (see `BootConfig::inject_panic`).
pub(crate) fn set_injected_panic(at: Option<InjectedPanic>) {
    INJECTED_PANIC.get_or_init(|| at);
}

/// Whether the LibOS is to panic at `point` (a testing aid).
pub(crate) fn injected_panic(point: InjectedPanic) -> bool {
    INJECTED_PANIC.get().copied().flatten() == Some(point)
}

/// Serves the syscall in `frame`.
pub(crate) fn dispatch(thread: &Arc<Thread>, frame: &mut TrapFrame<'_>) {
    let nr = frame.syscall_nr();
    let args = frame.syscall_args();
    if injected_panic(InjectedPanic::AtSyscall(nr)) {
        panic!("injected panic while serving syscall {nr}");
    }
    let mut ctx = SyscallCtx {
        thread,
        frame: &mut *frame,
        regs_replaced: false,
    };
    let ret = match lookup(nr) {
        Some(h) => h(&mut ctx, args),
        None => {
            log_unsupported(nr, &thread.process().exe_path());
            Err(Errno::ENOSYS)
        }
    };
    tracing::trace!(nr, ?args, ?ret, "syscall");
    if ctx.regs_replaced && ret.is_ok() {
        return;
    }
    if ret == Err(Errno::EINTR) {
        if let Some(kind) = restart_kind(nr) {
            thread.set_restart(nr, kind);
        }
    }
    frame.set_syscall_ret(match ret {
        Ok(v) => v,
        Err(e) => e.as_syscall_ret(),
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn support_table_doc_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/syscalls.md");
        let want = super::support_table();
        if std::env::var_os("UPDATE_DOCS").is_some() {
            std::fs::write(path, &want).expect("write docs/syscalls.md");
        }
        let have = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            have == want,
            "docs/syscalls.md is stale: run UPDATE_DOCS=1 cargo test -p occlum-libos support_table"
        );
    }
}
