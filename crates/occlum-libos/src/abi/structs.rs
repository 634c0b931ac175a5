//! The structures themselves (x86_64 layouts, from the kernel's uapi
//! headers).

use super::abi_struct;

abi_struct! {
    /// `struct timespec`.
    pub struct Timespec {
        pub tv_sec: i64,
        pub tv_nsec: i64,
    } = 16;
}

abi_struct! {
    /// `struct stat` (`stat`, `fstat`, `lstat`, `newfstatat`).
    pub struct Stat {
        pub st_dev: u64,
        pub st_ino: u64,
        pub st_nlink: u64,
        pub st_mode: u32,
        pub st_uid: u32,
        pub st_gid: u32,
        pub _pad0: u32,
        pub st_rdev: u64,
        pub st_size: u64,
        pub st_blksize: u64,
        pub st_blocks: u64,
        pub st_atime: Timespec,
        pub st_mtime: Timespec,
        pub st_ctime: Timespec,
        pub _unused: [i64; 3],
    } = 144;
}

abi_struct! {
    /// `struct statx_timestamp`.
    pub struct StatxTimestamp {
        pub tv_sec: i64,
        pub tv_nsec: u32,
        pub _reserved: i32,
    } = 16;
}

abi_struct! {
    /// `struct statx`.
    pub struct Statx {
        pub stx_mask: u32,
        pub stx_blksize: u32,
        pub stx_attributes: u64,
        pub stx_nlink: u32,
        pub stx_uid: u32,
        pub stx_gid: u32,
        pub stx_mode: u16,
        pub _spare0: u16,
        pub stx_ino: u64,
        pub stx_size: u64,
        pub stx_blocks: u64,
        pub stx_attributes_mask: u64,
        pub stx_atime: StatxTimestamp,
        pub stx_btime: StatxTimestamp,
        pub stx_ctime: StatxTimestamp,
        pub stx_mtime: StatxTimestamp,
        pub stx_rdev_major: u32,
        pub stx_rdev_minor: u32,
        pub stx_dev_major: u32,
        pub stx_dev_minor: u32,
        pub stx_mnt_id: u64,
        pub stx_dio_mem_align: u32,
        pub stx_dio_offset_align: u32,
        pub _spare3: [u64; 12],
    } = 256;
}

abi_struct! {
    /// `struct statfs` (`statfs`, `fstatfs`).
    pub struct Statfs {
        pub f_type: u64,
        pub f_bsize: u64,
        pub f_blocks: u64,
        pub f_bfree: u64,
        pub f_bavail: u64,
        pub f_files: u64,
        pub f_ffree: u64,
        pub f_fsid: [u32; 2],
        pub f_namelen: u64,
        pub f_frsize: u64,
        pub f_flags: u64,
        pub _spare: [u64; 4],
    } = 120;
}

abi_struct! {
    /// The kernel's `struct sigaction` (`rt_sigaction`), not libc's.
    pub struct KernelSigaction {
        pub handler: u64,
        pub flags: u64,
        pub restorer: u64,
        pub mask: u64,
    } = 32;
}

abi_struct! {
    /// `stack_t` (`sigaltstack`, `uc_stack`).
    pub struct StackT {
        pub ss_sp: u64,
        pub ss_flags: i32,
        pub _pad: u32,
        pub ss_size: u64,
    } = 24;
}

abi_struct! {
    /// `struct timeval`.
    pub struct Timeval {
        pub tv_sec: i64,
        pub tv_usec: i64,
    } = 16;
}

abi_struct! {
    /// `struct pollfd`.
    pub struct PollFd {
        pub fd: i32,
        pub events: u16,
        pub revents: u16,
    } = 8;
}

abi_struct! {
    /// `struct epoll_event` (packed on x86_64: 12 bytes).
    pub struct EpollEvent {
        pub events: u32,
        pub data: u64,
    } = 12;
}

abi_struct! {
    /// The sixth argument of `pselect6`: a signal mask and its size.
    pub struct SigsetArg {
        pub ss: u64,
        pub ss_len: u64,
    } = 16;
}

abi_struct! {
    /// `struct rlimit`.
    pub struct Rlimit {
        pub rlim_cur: u64,
        pub rlim_max: u64,
    } = 16;
}

abi_struct! {
    /// `struct sysinfo`.
    pub struct Sysinfo {
        pub uptime: i64,
        pub loads: [u64; 3],
        pub totalram: u64,
        pub freeram: u64,
        pub sharedram: u64,
        pub bufferram: u64,
        pub totalswap: u64,
        pub freeswap: u64,
        pub procs: u16,
        pub _pad: [u16; 3],
        pub totalhigh: u64,
        pub freehigh: u64,
        pub mem_unit: u32,
        pub _f: [u8; 4],
    } = 112;
}

abi_struct! {
    /// `struct timeval` pairs and counters of `struct rusage`.
    pub struct Rusage {
        pub ru_utime: super::Timeval,
        pub ru_stime: super::Timeval,
        pub ru_maxrss: i64,
        pub rest: [i64; 13],
    } = 144;
}

abi_struct! {
    /// `siginfo_t`: the common head, then the union of the per-signal
    /// fields (see the constructors).
    pub struct Siginfo {
        pub si_signo: i32,
        pub si_errno: i32,
        pub si_code: i32,
        pub _pad: i32,
        pub fields: [u8; 112],
    } = 128;
}

impl Siginfo {
    fn head(signo: i32, code: i32) -> Siginfo {
        Siginfo {
            si_signo: signo,
            si_errno: 0,
            si_code: code,
            _pad: 0,
            fields: [0; 112],
        }
    }

    /// A signal sent by a process (`si_pid`, `si_uid`), or by the kernel;
    /// for SIGCHLD with the child's `si_status`.
    pub fn from_process(signo: i32, code: i32, pid: i32, uid: u32, status: i32) -> Siginfo {
        let mut s = Siginfo::head(signo, code);
        super::Abi::write_to(&pid, &mut s.fields[0..]);
        super::Abi::write_to(&uid, &mut s.fields[4..]);
        super::Abi::write_to(&status, &mut s.fields[8..]);
        s
    }

    /// A signal queued by a process with `si_value`.
    pub fn queued(signo: i32, code: i32, pid: i32, uid: u32, value: u64) -> Siginfo {
        let mut s = Siginfo::head(signo, code);
        super::Abi::write_to(&pid, &mut s.fields[0..]);
        super::Abi::write_to(&uid, &mut s.fields[4..]);
        super::Abi::write_to(&value, &mut s.fields[8..]);
        s
    }

    /// A POSIX timer's expiry: `si_timerid`, `si_overrun`, `si_value`.
    pub fn timer(signo: i32, id: i32, overrun: i32, value: u64) -> Siginfo {
        let mut s = Siginfo::head(signo, super::super::signal::SI_TIMER);
        super::Abi::write_to(&id, &mut s.fields[0..]);
        super::Abi::write_to(&overrun, &mut s.fields[4..]);
        super::Abi::write_to(&value, &mut s.fields[8..]);
        s
    }

    /// A fault at address `addr` (`si_addr`).
    pub fn fault(signo: i32, code: i32, addr: u64) -> Siginfo {
        let mut s = Siginfo::head(signo, code);
        super::Abi::write_to(&addr, &mut s.fields[0..]);
        s
    }
}

abi_struct! {
    /// `struct sigcontext` (`uc_mcontext`): the general registers in the
    /// kernel's order, segment selectors, fault details and the FPU state's
    /// address.
    pub struct Sigcontext {
        pub r8: u64,
        pub r9: u64,
        pub r10: u64,
        pub r11: u64,
        pub r12: u64,
        pub r13: u64,
        pub r14: u64,
        pub r15: u64,
        pub rdi: u64,
        pub rsi: u64,
        pub rbp: u64,
        pub rbx: u64,
        pub rdx: u64,
        pub rax: u64,
        pub rcx: u64,
        pub rsp: u64,
        pub rip: u64,
        pub eflags: u64,
        pub cs: u16,
        pub gs: u16,
        pub fs: u16,
        pub ss: u16,
        pub err: u64,
        pub trapno: u64,
        pub oldmask: u64,
        pub cr2: u64,
        pub fpstate: u64,
        pub _reserved: [u64; 8],
    } = 256;
}

abi_struct! {
    /// The kernel's `struct ucontext` (`uc_sigmask` is the 8-byte kernel set).
    pub struct Ucontext {
        pub uc_flags: u64,
        pub uc_link: u64,
        pub uc_stack: StackT,
        pub uc_mcontext: Sigcontext,
        pub uc_sigmask: u64,
    } = 304;
}

abi_struct! {
    /// The kernel's `struct rt_sigframe` on x86_64: the return address (the
    /// restorer), the context, and the signal's information.
    pub struct RtSigframe {
        pub pretcode: u64,
        pub uc: Ucontext,
        pub info: Siginfo,
    } = 440;
}

abi_struct! {
    /// `struct iovec`.
    pub struct Iovec {
        pub iov_base: u64,
        pub iov_len: u64,
    } = 16;
}

abi_struct! {
    /// `struct msghdr`.
    pub struct MsgHdr {
        pub msg_name: u64,
        pub msg_namelen: u32,
        pub _pad0: u32,
        pub msg_iov: u64,
        pub msg_iovlen: u64,
        pub msg_control: u64,
        pub msg_controllen: u64,
        pub msg_flags: u32,
        pub _pad1: u32,
    } = 56;
}

abi_struct! {
    /// `struct cmsghdr` (its data follows, 8-byte aligned).
    pub struct CmsgHdr {
        pub cmsg_len: u64,
        pub cmsg_level: u32,
        pub cmsg_type: u32,
    } = 16;
}

abi_struct! {
    /// `struct flock` (`fcntl` record locks).
    pub struct Flock {
        pub l_type: i16,
        pub l_whence: i16,
        pub _pad0: u32,
        pub l_start: i64,
        pub l_len: i64,
        pub l_pid: i32,
        pub _pad1: u32,
    } = 32;
}

abi_struct! {
    /// `struct utimbuf` (`utime`).
    pub struct Utimbuf {
        pub actime: i64,
        pub modtime: i64,
    } = 16;
}
