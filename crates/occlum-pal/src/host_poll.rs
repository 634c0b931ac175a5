//! Waiting for host descriptors: a LibOS thread that waits for host sockets
//! or host stdio blocks in the host's `ppoll`, and is woken by their
//! readiness, by a [`HostWaker`] (an event inside the LibOS) or by
//! [`crate::trap::interrupt`] (a signal for it).

use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::Duration;

use crate::errno::Errno;

/// Readable (`POLLIN`).
pub const POLL_IN: i16 = libc::POLLIN;
/// Writable (`POLLOUT`).
pub const POLL_OUT: i16 = libc::POLLOUT;

/// Wakes one thread blocked in [`wait`] (a host eventfd).
#[derive(Debug)]
pub struct HostWaker {
    fd: OwnedFd,
}

impl HostWaker {
    /// A new waker.
    pub fn new() -> Result<HostWaker, Errno> {
        // SAFETY: eventfd has no memory effects.
        let raw = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if raw < 0 {
            return Err(Errno::last());
        }
        // SAFETY: `raw` is a new descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        Ok(HostWaker { fd })
    }

    /// Wakes the thread in [`wait`] now, or makes its next wait return at once.
    pub fn wake(&self) {
        let one = 1u64;
        // SAFETY: writes 8 bytes from a valid u64; a full counter (EAGAIN)
        // already means "woken".
        unsafe { libc::write(self.fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }

    fn drain(&self) {
        let mut v = 0u64;
        // SAFETY: reads 8 bytes into a valid u64; EAGAIN means nothing to drain.
        unsafe { libc::read(self.fd.as_raw_fd(), (&mut v as *mut u64).cast(), 8) };
    }
}

/// Blocks until one of `fds` (a host descriptor and the `POLL_*` events
/// wanted) is ready, `waker` is woken, or `timeout` passes; `Ok(false)` on
/// time-out. `EINTR` when the calling thread is interrupted.
pub fn wait(
    fds: &[(BorrowedFd<'_>, i16)],
    waker: &HostWaker,
    timeout: Option<Duration>,
) -> Result<bool, Errno> {
    let mut pfds: Vec<libc::pollfd> = fds
        .iter()
        .map(|(fd, events)| libc::pollfd {
            fd: fd.as_raw_fd(),
            events: *events,
            revents: 0,
        })
        .collect();
    pfds.push(libc::pollfd {
        fd: waker.fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    });
    let n = ppoll_interruptible(&mut pfds, timeout);
    if pfds.last().is_some_and(|p| p.revents != 0) {
        waker.drain();
    }
    Ok(n? > 0)
}

/// `ppoll` on `pfds` with the calling thread's signal mask minus
/// [`crate::trap::SIG_INTERRUPT`], so that an interrupt ends the wait
/// (`EINTR`); returns the number of ready descriptors.
pub(crate) fn ppoll_interruptible(
    pfds: &mut [libc::pollfd],
    timeout: Option<Duration>,
) -> Result<usize, Errno> {
    let ts = timeout.map(|t| libc::timespec {
        tv_sec: t.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_nsec: t.subsec_nanos() as libc::c_long,
    });
    let ts_ptr = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: reads the calling thread's mask into a local set, then edits it.
    let mask = unsafe {
        let mut cur: libc::sigset_t = std::mem::zeroed();
        libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), &mut cur);
        libc::sigdelset(&mut cur, crate::trap::SIG_INTERRUPT);
        cur
    };
    // SAFETY: `pfds` is a valid array of its length; `ts_ptr` is null or a
    // valid timespec and `mask` a valid set, both live for the call.
    let rc = unsafe { libc::ppoll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, ts_ptr, &mask) };
    if rc < 0 {
        return Err(Errno::last());
    }
    Ok((rc as usize).min(pfds.len()))
}
