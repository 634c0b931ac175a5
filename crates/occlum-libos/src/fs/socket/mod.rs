//! Sockets: Internet sockets served by the host ([`inet`]) and `AF_UNIX`
//! sockets served inside the LibOS ([`unix`]).

pub mod inet;
pub mod unix;

use std::time::Duration;

use super::{FileType, Stat};
use crate::Errno;

/// `ENOTCONN`.
pub const ENOTCONN: Errno = Errno(107);
/// `ECONNREFUSED`.
pub const ECONNREFUSED: Errno = Errno(111);
/// `EADDRINUSE`.
pub const EADDRINUSE: Errno = Errno(98);
/// `ENOPROTOOPT`.
pub const ENOPROTOOPT: Errno = Errno(92);
/// `EINPROGRESS`.
pub const EINPROGRESS: Errno = Errno(115);
/// `EDESTADDRREQ`.
pub const EDESTADDRREQ: Errno = Errno(89);
/// `EPROTOTYPE`.
pub const EPROTOTYPE: Errno = Errno(91);
/// `EMSGSIZE`.
pub const EMSGSIZE: Errno = Errno(90);
/// `ECONNRESET`.
pub const ECONNRESET: Errno = Errno(104);

/// `MSG_OOB`.
pub const MSG_OOB: u32 = 0x1;
/// `MSG_PEEK`.
pub const MSG_PEEK: u32 = 0x2;
/// `MSG_TRUNC`.
pub const MSG_TRUNC: u32 = 0x20;
/// `MSG_DONTWAIT`.
pub const MSG_DONTWAIT: u32 = 0x40;
/// `MSG_WAITALL`.
pub const MSG_WAITALL: u32 = 0x100;
/// `MSG_NOSIGNAL`.
pub const MSG_NOSIGNAL: u32 = 0x4000;

/// `SOL_SOCKET`.
pub const SOL_SOCKET: i32 = 1;
/// `SO_TYPE`.
pub const SO_TYPE: i32 = 3;
/// `SO_ERROR`.
pub const SO_ERROR: i32 = 4;
/// `SO_SNDBUF`.
pub const SO_SNDBUF: i32 = 7;
/// `SO_RCVBUF`.
pub const SO_RCVBUF: i32 = 8;
/// `SO_RCVTIMEO`.
pub const SO_RCVTIMEO: i32 = 20;
/// `SO_SNDTIMEO`.
pub const SO_SNDTIMEO: i32 = 21;
/// `SO_ACCEPTCONN`.
pub const SO_ACCEPTCONN: i32 = 30;
/// `SO_PROTOCOL`.
pub const SO_PROTOCOL: i32 = 38;
/// `SO_DOMAIN`.
pub const SO_DOMAIN: i32 = 39;

/// A socket option value as raw bytes, at most this long.
pub const MAX_OPTLEN: usize = 256;

/// The `stat` of a socket: `S_IFSOCK`, inode number `ino`.
pub fn socket_stat(ino: u64) -> Stat {
    Stat {
        dev: 0x08,
        ino,
        kind: FileType::Socket,
        perm: 0o777,
        nlink: 1,
        blksize: 4096,
        ..Stat::default()
    }
}

/// A fresh inode number for a socket.
pub fn next_ino() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// Send and receive time-outs (`SO_SNDTIMEO`, `SO_RCVTIMEO`); `None` waits
/// for ever.
#[derive(Default)]
pub struct Timeouts {
    /// Receive time-out.
    pub recv: std::sync::Mutex<Option<Duration>>,
    /// Send time-out.
    pub send: std::sync::Mutex<Option<Duration>>,
}

impl Timeouts {
    /// The time-out of `SO_RCVTIMEO` (`write` false) or `SO_SNDTIMEO`.
    pub fn get(&self, write: bool) -> Option<Duration> {
        *crate::sync::lock(if write { &self.send } else { &self.recv })
    }

    /// When a call starting now times out (`None`: never, also for a
    /// time-out too long to represent).
    pub fn deadline(&self, write: bool) -> Option<std::time::Instant> {
        self.get(write)
            .and_then(|t| std::time::Instant::now().checked_add(t))
    }

    /// Sets a time-out from a `struct timeval`'s fields (zero: none).
    pub fn set(&self, write: bool, sec: i64, usec: i64) -> crate::Result<()> {
        if !(0..1_000_000).contains(&usec) {
            return Err(Errno::EDOM);
        }
        // Linux treats a negative time-out as none.
        let t = if sec < 0 || (sec == 0 && usec == 0) {
            None
        } else {
            Some(Duration::new(sec as u64, usec as u32 * 1000))
        };
        *crate::sync::lock(if write { &self.send } else { &self.recv }) = t;
        Ok(())
    }
}
