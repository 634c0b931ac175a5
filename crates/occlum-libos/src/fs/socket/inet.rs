//! Internet sockets (`AF_INET`, `AF_INET6`; TCP and UDP), each backed by a
//! non-blocking host socket. Blocking calls wait for the host socket's
//! readiness (interruptibly) and retry; readiness for `poll`/`epoll` comes
//! from the host.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Instant;

use occlum_pal::host;
use occlum_pal::host_net::{HostSocket, Received, SockKind};

use super::{next_ino, socket_stat, Timeouts, EINPROGRESS};
use crate::fs::{File, Readiness, Stat, O_NONBLOCK, O_RDWR};
use crate::{Errno, Result};

/// An Internet socket.
pub struct InetSocket {
    host: HostSocket,
    v6: bool,
    kind: SockKind,
    flags: AtomicU32,
    timeouts: Timeouts,
    ino: u64,
}

impl InetSocket {
    /// A new socket; `flags` may hold `O_NONBLOCK`.
    pub fn new(v6: bool, kind: SockKind, protocol: i32, flags: u32) -> Result<Arc<InetSocket>> {
        let host = HostSocket::new(v6, kind, protocol)?;
        Ok(Self::wrap(host, v6, kind, flags))
    }

    fn wrap(host: HostSocket, v6: bool, kind: SockKind, flags: u32) -> Arc<InetSocket> {
        Arc::new(InetSocket {
            host,
            v6,
            kind,
            flags: AtomicU32::new(O_RDWR | (flags & O_NONBLOCK)),
            timeouts: Timeouts::default(),
            ino: next_ino(),
        })
    }

    /// Whether this is an `AF_INET6` socket.
    pub fn is_v6(&self) -> bool {
        self.v6
    }

    /// The socket kind.
    pub fn kind(&self) -> SockKind {
        self.kind
    }

    /// The host socket, for options.
    pub fn host(&self) -> &HostSocket {
        &self.host
    }

    /// The send and receive time-outs.
    pub fn timeouts(&self) -> &Timeouts {
        &self.timeouts
    }

    fn nonblocking(&self) -> bool {
        self.flags.load(Ordering::Relaxed) & O_NONBLOCK != 0
    }

    /// Runs `op` until it does not fail with `EAGAIN`, waiting for the host
    /// socket between tries, unless `nonblock`. Gives `EINTR` when the thread
    /// is interrupted and `EAGAIN` when the socket's time-out passes.
    fn blocking<T>(
        &self,
        write: bool,
        nonblock: bool,
        mut op: impl FnMut() -> Result<T>,
    ) -> Result<T> {
        let deadline = self.timeouts.deadline(write);
        let thread = crate::process::current();
        loop {
            match op() {
                Err(Errno::EAGAIN) if !nonblock => {}
                r => return r,
            }
            if thread.as_ref().is_some_and(|t| t.interrupted()) {
                return Err(Errno::EINTR);
            }
            let left = match deadline {
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(Errno::EAGAIN);
                    }
                    Some(left)
                }
                None => None,
            };
            // Blocked in the host: other processes of the domain may run.
            let waited = {
                let _paused = crate::vm::domain::pause();
                self.host.wait(write, left)
            };
            match waited {
                Ok(_) | Err(Errno::EINTR) => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// `bind`.
    pub fn bind(&self, addr: &SocketAddr) -> Result<()> {
        self.host.bind(addr)
    }

    /// `listen`.
    pub fn listen(&self, backlog: i32) -> Result<()> {
        if self.kind != SockKind::Stream {
            return Err(Errno::EOPNOTSUPP);
        }
        self.host.listen(backlog)
    }

    /// `accept`: the new connection (with status flags `flags`) and the
    /// peer's address.
    pub fn accept(&self, flags: u32) -> Result<(Arc<InetSocket>, Option<SocketAddr>)> {
        if self.kind != SockKind::Stream {
            return Err(Errno::EOPNOTSUPP);
        }
        let (s, addr) = self.blocking(false, self.nonblocking(), || self.host.accept())?;
        Ok((Self::wrap(s, self.v6, self.kind, flags), addr))
    }

    /// `connect` (`None`: `AF_UNSPEC`, which dissolves a datagram socket's
    /// association). A blocking TCP connect waits until the connection is
    /// made or fails; a non-blocking one gives `EINPROGRESS`.
    pub fn connect(&self, addr: Option<&SocketAddr>) -> Result<()> {
        let Some(addr) = addr else {
            return self.host.disconnect();
        };
        match self.host.connect(addr) {
            Err(e) if (e == EINPROGRESS || e == Errno(114)) && !self.nonblocking() => {}
            r => return r,
        }
        // Linux gives EINPROGRESS when SO_SNDTIMEO passes before the end.
        let r = self.blocking(true, false, || {
            if host::poll_now(self.host.as_fd()).1 {
                Ok(())
            } else {
                Err(Errno::EAGAIN)
            }
        });
        match r {
            Ok(()) => match self.host.take_error()? {
                Some(e) => Err(e),
                None => Ok(()),
            },
            Err(Errno::EAGAIN) => Err(EINPROGRESS),
            Err(e) => Err(e),
        }
    }

    /// Sends `data` (to `to`, if given); `nonblock` adds `MSG_DONTWAIT`.
    pub fn send(
        &self,
        data: &[u8],
        flags: u32,
        to: Option<&SocketAddr>,
        nonblock: bool,
    ) -> Result<usize> {
        self.blocking(true, nonblock || self.nonblocking(), || {
            self.host.send(data, flags as i32, to)
        })
    }

    /// Receives into `buf`; `nonblock` adds `MSG_DONTWAIT`.
    pub fn recv(&self, buf: &mut [u8], flags: u32, nonblock: bool) -> Result<Received> {
        self.blocking(false, nonblock || self.nonblocking(), || {
            self.host.recv(buf, flags as i32)
        })
    }

    /// `shutdown` (`how`: `SHUT_RD`, `SHUT_WR`, `SHUT_RDWR`).
    pub fn shutdown(&self, how: i32) -> Result<()> {
        self.host.shutdown(how)
    }

    /// The local address; unbound sockets report the wildcard address.
    pub fn local_addr(&self) -> Result<Option<SocketAddr>> {
        self.host.local_addr()
    }

    /// The peer's address (`ENOTCONN` if none).
    pub fn peer_addr(&self) -> Result<Option<SocketAddr>> {
        self.host.peer_addr()
    }

    /// Bytes ready to be read (`FIONREAD`).
    pub fn bytes_readable(&self) -> Result<usize> {
        self.host.bytes_readable()
    }
}

impl File for InetSocket {
    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        self.recv(buf, 0, false).map(|r| r.len)
    }

    fn write(&self, buf: &[u8]) -> Result<usize> {
        self.send(buf, 0, None, false)
    }

    fn stat(&self) -> Result<Stat> {
        Ok(socket_stat(self.ino))
    }

    fn status_flags(&self) -> u32 {
        self.flags.load(Ordering::Relaxed)
    }

    fn set_status_flags(&self, flags: u32) {
        self.flags.store(O_RDWR | (flags & !3), Ordering::Relaxed);
    }

    fn poll(&self) -> Readiness {
        let (readable, writable, hangup, error) = host::poll_now(self.host.as_fd());
        Readiness {
            readable,
            writable,
            hangup,
            error,
        }
    }

    fn host_readiness_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        Some(self.host.as_fd())
    }
}
