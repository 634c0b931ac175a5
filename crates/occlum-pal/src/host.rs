//! The host interface ("ocalls"): every request the LibOS makes to the host OS.
//!
//! On SGX these calls would leave the enclave, so every value the host returns
//! is treated as untrusted and checked before the LibOS sees it: counts never
//! exceed the buffer, times are normalized, file types are known values.

use std::os::fd::{AsRawFd, BorrowedFd};
use std::time::Duration;

use crate::errno::Errno;

fn check_count(rc: isize, max: usize) -> Result<usize, Errno> {
    if rc < 0 {
        return Err(Errno::last());
    }
    let n = rc as usize;
    if n > max {
        tracing::error!("host returned {n} bytes for a {max}-byte request");
        return Err(Errno::EIO);
    }
    Ok(n)
}

/// The host's standard input, output or error (`n` 0, 1 or 2), which stay
/// open for the life of the process: the LibOS never closes them.
pub fn stdio_fd(n: i32) -> Option<BorrowedFd<'static>> {
    if !(0..=2).contains(&n) {
        return None;
    }
    // SAFETY: descriptors 0-2 are never closed by this process (the LibOS
    // gives programs its own descriptor table), so they outlive any use.
    Some(unsafe { BorrowedFd::borrow_raw(n) })
}

/// Writes `buf` to host descriptor `fd`; returns the count written.
pub fn write(fd: BorrowedFd<'_>, buf: &[u8]) -> Result<usize, Errno> {
    // SAFETY: `buf` is a valid readable buffer of the given length.
    let rc = unsafe { libc::write(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len()) };
    check_count(rc, buf.len())
}

/// Reads from host descriptor `fd` into `buf`; returns the count read.
pub fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Result<usize, Errno> {
    // SAFETY: `buf` is a valid writable buffer of the given length.
    let rc = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
    check_count(rc, buf.len())
}

/// Repositions host descriptor `fd`; returns the new offset.
pub fn lseek(fd: BorrowedFd<'_>, offset: i64, whence: i32) -> Result<u64, Errno> {
    // SAFETY: no memory is passed.
    let rc = unsafe { libc::lseek(fd.as_raw_fd(), offset, whence) };
    if rc < 0 {
        return Err(Errno::last());
    }
    Ok(rc as u64)
}

/// The type of a host file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostFileKind {
    /// A regular file.
    Regular,
    /// A pipe or FIFO.
    Fifo,
    /// A character device (e.g. a terminal).
    CharDevice,
    /// A socket.
    Socket,
    /// Anything else (directory, block device).
    Other,
}

/// What the LibOS may learn about a host descriptor.
#[derive(Clone, Copy, Debug)]
pub struct HostFileInfo {
    /// File type.
    pub kind: HostFileKind,
    /// Size in bytes (regular files only; 0 otherwise).
    pub size: u64,
    /// Device number of a character device (0 otherwise).
    pub rdev: u64,
}

/// Describes host descriptor `fd`.
pub fn fstat(fd: BorrowedFd<'_>) -> Result<HostFileInfo, Errno> {
    // SAFETY: `st` is a valid out-buffer for fstat.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } != 0 {
        return Err(Errno::last());
    }
    let kind = match st.st_mode & libc::S_IFMT {
        libc::S_IFREG => HostFileKind::Regular,
        libc::S_IFIFO => HostFileKind::Fifo,
        libc::S_IFCHR => HostFileKind::CharDevice,
        libc::S_IFSOCK => HostFileKind::Socket,
        _ => HostFileKind::Other,
    };
    Ok(HostFileInfo {
        kind,
        size: if kind == HostFileKind::Regular {
            st.st_size.max(0) as u64
        } else {
            0
        },
        rdev: if kind == HostFileKind::CharDevice {
            st.st_rdev
        } else {
            0
        },
    })
}

/// The terminal attributes of host descriptor `fd` (kernel `struct termios`,
/// as `TCGETS` returns it), or `ENOTTY`.
pub fn tcgets(fd: BorrowedFd<'_>) -> Result<[u8; 36], Errno> {
    let mut buf = [0u8; 64];
    // SAFETY: TCGETS writes a 36-byte kernel termios; the buffer is larger.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::TCGETS, buf.as_mut_ptr()) } != 0 {
        return Err(Errno::last());
    }
    let mut out = [0u8; 36];
    out.copy_from_slice(&buf[..36]);
    Ok(out)
}

/// The access mode and `O_APPEND` of host descriptor `fd` (`F_GETFL`,
/// masked to those bits).
pub fn access_flags(fd: BorrowedFd<'_>) -> Result<u32, Errno> {
    // SAFETY: F_GETFL takes no argument and only reads the descriptor's flags.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    if flags < 0 {
        return Err(Errno::last());
    }
    Ok(flags as u32 & (libc::O_ACCMODE | libc::O_APPEND) as u32)
}

/// The window size of the terminal at host descriptor `fd` (`TIOCGWINSZ`).
pub fn winsize(fd: BorrowedFd<'_>) -> Result<[u16; 4], Errno> {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one struct winsize.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) } != 0 {
        return Err(Errno::last());
    }
    Ok([ws.ws_row, ws.ws_col, ws.ws_xpixel, ws.ws_ypixel])
}

/// What a host path names, without following a final symbolic link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostPathKind {
    /// A symbolic link, with its target.
    Symlink(std::path::PathBuf),
    /// A directory.
    Directory,
    /// A regular file.
    Regular {
        /// Size in bytes.
        size: u64,
        /// Whether anyone may execute it.
        executable: bool,
    },
    /// Anything else.
    Other,
}

/// Describes host path `path` (`ENOENT` if it does not exist).
pub fn lstat_path(path: &std::path::Path) -> Result<HostPathKind, Errno> {
    let m = std::fs::symlink_metadata(path)?;
    let ft = m.file_type();
    Ok(if ft.is_symlink() {
        HostPathKind::Symlink(std::fs::read_link(path)?)
    } else if ft.is_dir() {
        HostPathKind::Directory
    } else if ft.is_file() {
        use std::os::unix::fs::PermissionsExt;
        HostPathKind::Regular {
            size: m.len(),
            executable: m.permissions().mode() & 0o111 != 0,
        }
    } else {
        HostPathKind::Other
    })
}

/// Reads the whole host file at `path`, refusing files larger than `max`
/// bytes (`EFBIG`).
pub fn read_file(path: &std::path::Path, max: u64) -> Result<Vec<u8>, Errno> {
    use std::io::Read;
    let f = std::fs::File::open(path)?;
    let size = f.metadata()?.len().min(max + 1);
    let mut data = Vec::with_capacity(size as usize + 1);
    f.take(max + 1).read_to_end(&mut data)?;
    if data.len() as u64 > max {
        return Err(Errno::EFBIG);
    }
    Ok(data)
}

/// Reads host clock `clock` (`CLOCK_REALTIME`, `CLOCK_MONOTONIC`, ...).
pub fn clock_gettime(clock: i32) -> Result<Duration, Errno> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-buffer.
    if unsafe { libc::clock_gettime(clock, &mut ts) } != 0 {
        return Err(Errno::last());
    }
    if ts.tv_sec < 0 || !(0..1_000_000_000).contains(&ts.tv_nsec) {
        tracing::error!("host returned an invalid time");
        return Err(Errno::EIO);
    }
    Ok(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

/// Run time of host thread `tid` of this process (its precise CPU clock,
/// user and system), in nanoseconds; `None` if it has ended.
pub fn thread_run_time(tid: i32) -> Option<u64> {
    // MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED).
    let clock = (!(tid as u32) << 3) as i32 | 4 | 2;
    Some(clock_gettime(clock).ok()?.as_nanos() as u64)
}

/// Splits `total` ns of CPU time into (user, total) in the proportion of
/// user to all CPU time this host process has used (sampled), as Linux's
/// `cputime_adjust` splits a precise run time for `getrusage`.
pub fn split_user_time(total: u64) -> (u64, u64) {
    // SAFETY: an all-zero rusage is a valid value to be overwritten.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid out-buffer.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return (total, total);
    }
    let us = |t: libc::timeval| (t.tv_sec.max(0) as u128) * 1_000_000 + t.tv_usec.max(0) as u128;
    let (user, all) = (us(ru.ru_utime), us(ru.ru_utime) + us(ru.ru_stime));
    if all == 0 {
        return (total, total);
    }
    ((total as u128 * user / all) as u64, total)
}

/// The resolution of host clock `clock`.
pub fn clock_getres(clock: i32) -> Result<Duration, Errno> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-buffer.
    if unsafe { libc::clock_getres(clock, &mut ts) } != 0 {
        return Err(Errno::last());
    }
    if ts.tv_sec < 0 || !(0..1_000_000_000).contains(&ts.tv_nsec) {
        return Err(Errno::EIO);
    }
    Ok(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

/// The host clock's discipline state, read only (`adjtimex` with no
/// modes): the clock state (`TIME_OK`, ...) and the raw `struct timex`.
pub fn clock_discipline() -> Result<(i32, [u8; std::mem::size_of::<libc::timex>()]), Errno> {
    // SAFETY: an all-zero `timex` is valid (modes 0: read only).
    let mut tx: libc::timex = unsafe { std::mem::zeroed() };
    // SAFETY: `tx` is a valid `timex`; with modes 0 the host only fills it.
    let state = unsafe { libc::adjtimex(&mut tx) };
    if state < 0 {
        return Err(Errno::last());
    }
    let mut raw = [0u8; std::mem::size_of::<libc::timex>()];
    // SAFETY: `timex` is plain data of exactly `raw.len()` bytes.
    let bytes =
        unsafe { std::slice::from_raw_parts((&tx as *const libc::timex).cast::<u8>(), raw.len()) };
    raw.copy_from_slice(bytes);
    Ok((state, raw))
}

/// Makes every thread of this process pass a full memory barrier
/// (`membarrier`).
pub fn barrier_all_threads() -> Result<(), Errno> {
    if crate::fastpath::sync_cores() {
        return Ok(());
    }
    const MEMBARRIER_CMD_GLOBAL: libc::c_long = 1;
    // SAFETY: membarrier has no memory effects on this process's data.
    if unsafe { libc::syscall(libc::SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) } != 0 {
        return Err(Errno::last());
    }
    Ok(())
}

/// Fills `buf` with random bytes from the host. (On SGX this would be RDRAND
/// inside the enclave, never the host.)
pub fn getrandom(buf: &mut [u8]) -> Result<(), Errno> {
    let mut done = 0;
    while done < buf.len() {
        let rest = &mut buf[done..];
        // SAFETY: `rest` is a valid writable buffer.
        let rc = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        done += check_count(rc, rest.len())?;
    }
    Ok(())
}

/// The host kernel's auxiliary vector, read from `/proc/self/auxv`
/// (`getauxval` reports glibc's own view of some entries, e.g. AT_HWCAP).
fn auxv() -> &'static [(u64, u64)] {
    static AUXV: std::sync::OnceLock<Vec<(u64, u64)>> = std::sync::OnceLock::new();
    AUXV.get_or_init(|| {
        let bytes = std::fs::read("/proc/self/auxv").unwrap_or_default();
        bytes
            .chunks_exact(16)
            .map(|c| {
                let w = |i: usize| u64::from_le_bytes(c[i..i + 8].try_into().expect("8 bytes"));
                (w(0), w(8))
            })
            .take_while(|&(k, _)| k != 0)
            .collect()
    })
}

/// The value of auxiliary-vector entry `key` the host kernel gave this process.
pub fn auxv_entry(key: u64) -> Option<u64> {
    auxv().iter().find(|&&(k, _)| k == key).map(|&(_, v)| v)
}

/// `(AT_HWCAP, AT_HWCAP2)` of the host CPU, as the kernel reports them.
pub fn hwcap() -> (u64, u64) {
    (auxv_entry(16).unwrap_or(0), auxv_entry(26).unwrap_or(0))
}

/// Address of the kernel's vDSO in this process, if any.
pub fn vdso_base() -> Option<u64> {
    // SAFETY: getauxval has no preconditions.
    let v = unsafe { libc::getauxval(libc::AT_SYSINFO_EHDR) };
    (v != 0).then_some(v)
}

/// The address range `[start, end)` of the vDSO's loadable segments, read
/// once from its ELF program headers (two pages if they cannot be read).
pub fn vdso_range() -> Option<(u64, u64)> {
    static RANGE: std::sync::OnceLock<Option<(u64, u64)>> = std::sync::OnceLock::new();
    *RANGE.get_or_init(|| {
        let base = vdso_base()?;
        let size = vdso_size(base).unwrap_or(2 * 4096);
        Some((base, base + size))
    })
}

/// The extent of the vDSO image at `base` (its PT_LOAD segments, linked at 0).
fn vdso_size(base: u64) -> Option<u64> {
    // SAFETY: the kernel maps the vDSO image readable at AT_SYSINFO_EHDR for
    // the life of the process; only its ELF header and program headers, in
    // the first page (checked against the header's sizes), are read.
    unsafe {
        let p = base as *const u8;
        if std::slice::from_raw_parts(p, 4) != b"\x7fELF" {
            return None;
        }
        let phoff = (p.add(32) as *const u64).read_unaligned() as usize;
        let phentsize = (p.add(54) as *const u16).read_unaligned() as usize;
        let phnum = (p.add(56) as *const u16).read_unaligned() as usize;
        if phentsize != 56 || phoff.checked_add(phnum * phentsize)? > 4096 {
            return None;
        }
        let mut size = 0u64;
        for i in 0..phnum {
            let ph = p.add(phoff + i * phentsize);
            if (ph as *const u32).read_unaligned() == 1 {
                let vaddr = (ph.add(16) as *const u64).read_unaligned();
                let memsz = (ph.add(40) as *const u64).read_unaligned();
                size = size.max(vaddr.checked_add(memsz)?);
            }
        }
        (size > 0 && size <= 1 << 20).then_some(size)
    }
}

/// Ends the whole host process (the enclave) with `status`.
pub fn exit(status: i32) -> ! {
    std::process::exit(status)
}

/// Host signals that are forwarded to the LibOS instead of ending the
/// enclave: what a terminal or a container runtime sends.
pub const FORWARDED_SIGNALS: [i32; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT];

fn forwarded_set() -> libc::sigset_t {
    // SAFETY: sigemptyset/sigaddset initialize and fill a local set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in FORWARDED_SIGNALS {
            libc::sigaddset(&mut set, s);
        }
        set
    }
}

/// What a process inherits across `execve` that `occlum run` hands on to
/// its first LibOS process, as read from the host before the LibOS starts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InheritedState {
    /// Signals whose disposition is `SIG_IGN` (bit `sig - 1`). SIGPIPE is
    /// never among them: the Rust runtime ignores it in every program, so
    /// whether it came ignored cannot be known.
    pub ignored: u64,
    /// The calling thread's blocked signals (bit `sig - 1`).
    pub blocked: u64,
    /// The nice value (-20..=19).
    pub nice: i32,
}

/// Reads the calling thread's [`InheritedState`]. Call it before the LibOS
/// changes any signal disposition or mask.
pub fn inherited_state() -> InheritedState {
    let mut st = InheritedState::default();
    for sig in 1..=64 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP || sig == libc::SIGPIPE {
            continue;
        }
        // SAFETY: a query (null new action) into a zeroed local struct.
        let ignored = unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            libc::sigaction(sig, std::ptr::null(), &mut old) == 0
                && old.sa_sigaction == libc::SIG_IGN
        };
        if ignored {
            st.ignored |= 1 << (sig - 1);
        }
    }
    // SAFETY: a query of the calling thread's mask into a local set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        if libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), &mut set) == 0 {
            for sig in 1..=64 {
                if sig != libc::SIGKILL && sig != libc::SIGSTOP && libc::sigismember(&set, sig) == 1
                {
                    st.blocked |= 1 << (sig - 1);
                }
            }
        }
    }
    // SAFETY: getpriority has no memory effects; -1 is a valid nice value,
    // told apart from an error by errno.
    let nice = unsafe {
        *libc::__errno_location() = 0;
        let n = libc::getpriority(libc::PRIO_PROCESS, 0);
        (*libc::__errno_location() == 0).then_some(n)
    };
    st.nice = nice.unwrap_or(0).clamp(-20, 19);
    st
}

/// Blocks the forwarded signals in the calling thread (and in the threads it
/// creates afterwards), so that only [`wait_forwarded_signal`] receives them.
pub fn block_forwarded_signals() {
    let set = forwarded_set();
    // SAFETY: changes only the calling thread's signal mask.
    unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
}

/// Waits for the next forwarded host signal and returns its number.
pub fn wait_forwarded_signal() -> i32 {
    let set = forwarded_set();
    loop {
        let mut sig = 0;
        // SAFETY: `set` and `sig` are valid for the call.
        if unsafe { libc::sigwait(&set, &mut sig) } == 0 && FORWARDED_SIGNALS.contains(&sig) {
            return sig;
        }
    }
}

/// Waits until host descriptor `fd` is ready for reading (`write` false) or
/// writing, or until the calling thread is interrupted (`EINTR`, see
/// [`crate::trap::interrupt`]). Blocking host calls go through this, so that
/// a LibOS thread blocked on the host can still be stopped.
pub fn wait_ready(fd: BorrowedFd<'_>, write: bool) -> Result<(), Errno> {
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: if write { libc::POLLOUT } else { libc::POLLIN },
        revents: 0,
    };
    // SAFETY: reads the calling thread's mask into a local set, then edits it.
    let mask = unsafe {
        let mut cur: libc::sigset_t = std::mem::zeroed();
        libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), &mut cur);
        libc::sigdelset(&mut cur, crate::trap::SIG_INTERRUPT);
        cur
    };
    // SAFETY: `pfd` and `mask` are valid for the call; no timeout.
    let rc = unsafe { libc::ppoll(&mut pfd, 1, std::ptr::null(), &mask) };
    if rc < 0 {
        return Err(Errno::last());
    }
    Ok(())
}

/// What host descriptor `fd` is ready for right now: (readable, writable,
/// hang-up, error). A descriptor the host cannot poll counts as ready.
pub fn poll_now(fd: BorrowedFd<'_>) -> (bool, bool, bool, bool) {
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN | libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: one valid pollfd, no waiting.
    let rc = unsafe { libc::poll(&mut pfd, 1, 0) };
    if rc < 0 {
        return (true, true, false, false);
    }
    let r = pfd.revents;
    (
        r & libc::POLLIN != 0,
        r & libc::POLLOUT != 0,
        r & libc::POLLHUP != 0,
        r & (libc::POLLERR | libc::POLLNVAL) != 0,
    )
}
