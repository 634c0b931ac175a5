//! Host network sockets (`AF_INET`, `AF_INET6`): the LibOS's TCP and UDP go
//! through here.
//!
//! A [`HostSocket`] owns one host descriptor, always non-blocking and
//! close-on-exec on the host side; the LibOS blocks by waiting for readiness
//! ([`HostSocket::wait`], interruptible) and retrying. Addresses cross this
//! interface as typed [`SocketAddr`] values, never as raw pointers, and every
//! value the host returns is checked: counts never exceed the buffer and
//! addresses must be of a known family with a plausible length.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::time::Duration;

use crate::errno::Errno;

/// The kind of a host socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SockKind {
    /// `SOCK_STREAM` (TCP).
    Stream,
    /// `SOCK_DGRAM` (UDP).
    Datagram,
}

/// `recv` flags the host may see from the LibOS.
pub const RECV_FLAGS: i32 = libc::MSG_PEEK | libc::MSG_OOB | libc::MSG_WAITALL | libc::MSG_TRUNC;
/// `send` flags the host may see from the LibOS.
pub const SEND_FLAGS: i32 = libc::MSG_OOB | libc::MSG_DONTROUTE | libc::MSG_MORE | libc::MSG_EOR;
/// The `msg_flags` a host `recvmsg` may report back.
const RECV_OUT_FLAGS: i32 = libc::MSG_TRUNC | libc::MSG_CTRUNC | libc::MSG_OOB | libc::MSG_EOR;

/// What one receive got.
#[derive(Clone, Copy, Debug)]
pub struct Received {
    /// Bytes stored in the buffer (never more than its length).
    pub len: usize,
    /// The datagram's full length with `MSG_TRUNC` (at least `len`),
    /// else `len`.
    pub full_len: usize,
    /// The sender's address, when the host reports one.
    pub from: Option<SocketAddr>,
    /// `MSG_TRUNC`, `MSG_CTRUNC`, `MSG_OOB`, `MSG_EOR` as the host set them.
    pub flags: i32,
}

/// An owned, non-blocking host socket.
#[derive(Debug)]
pub struct HostSocket {
    fd: i32,
}

/// Encodes `addr` as a kernel `sockaddr` in `storage`; returns its length.
fn encode(addr: &SocketAddr, storage: &mut libc::sockaddr_storage) -> libc::socklen_t {
    match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            unsafe { std::ptr::write((storage as *mut libc::sockaddr_storage).cast(), sin) };
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo().to_be(),
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
            unsafe { std::ptr::write((storage as *mut libc::sockaddr_storage).cast(), sin6) };
            std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t
        }
    }
}

/// Decodes a `sockaddr` the host wrote: `None` if it wrote none (length 0
/// or `AF_UNSPEC`), `EIO` if the family or length make no sense.
fn decode(
    storage: &libc::sockaddr_storage,
    len: libc::socklen_t,
) -> Result<Option<SocketAddr>, Errno> {
    let len = len as usize;
    if len > std::mem::size_of::<libc::sockaddr_storage>() {
        return Err(bad_host("an oversized socket address"));
    }
    if len < 2 || storage.ss_family == libc::AF_UNSPEC as libc::sa_family_t {
        return Ok(None);
    }
    match storage.ss_family as i32 {
        libc::AF_INET if len >= std::mem::size_of::<libc::sockaddr_in>() => {
            // SAFETY: the family and length say the storage holds a sockaddr_in.
            let sin: libc::sockaddr_in =
                unsafe { std::ptr::read((storage as *const libc::sockaddr_storage).cast()) };
            let ip = Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes());
            Ok(Some(SocketAddr::V4(SocketAddrV4::new(
                ip,
                u16::from_be(sin.sin_port),
            ))))
        }
        libc::AF_INET6 if len >= std::mem::size_of::<libc::sockaddr_in6>() => {
            // SAFETY: the family and length say the storage holds a sockaddr_in6.
            let sin6: libc::sockaddr_in6 =
                unsafe { std::ptr::read((storage as *const libc::sockaddr_storage).cast()) };
            Ok(Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(sin6.sin6_addr.s6_addr),
                u16::from_be(sin6.sin6_port),
                u32::from_be(sin6.sin6_flowinfo),
                sin6.sin6_scope_id,
            ))))
        }
        _ => Err(bad_host("a socket address of an unexpected family")),
    }
}

fn bad_host(what: &str) -> Errno {
    tracing::error!("host returned {what}");
    Errno::EIO
}

fn check_rc(rc: libc::c_int) -> Result<(), Errno> {
    if rc < 0 {
        Err(Errno::last())
    } else {
        Ok(())
    }
}

fn zeroed_storage() -> libc::sockaddr_storage {
    // SAFETY: sockaddr_storage is plain data; all-zero is a valid value.
    unsafe { std::mem::zeroed() }
}

/// Socket options that go to the host: none of them holds a pointer, so a
/// value the guest chose can never make the host kernel read or write
/// LibOS memory.
pub fn host_option(level: i32, name: i32) -> bool {
    match level {
        // SO_REUSEADDR, SO_TYPE, SO_ERROR, SO_DONTROUTE, SO_BROADCAST,
        // SO_SNDBUF, SO_RCVBUF, SO_KEEPALIVE, SO_OOBINLINE, SO_PRIORITY,
        // SO_LINGER, SO_REUSEPORT, SO_RCVLOWAT, SO_ACCEPTCONN, SO_PROTOCOL,
        // SO_DOMAIN.
        libc::SOL_SOCKET => matches!(name, 2..=10 | 12 | 13 | 15 | 18 | 30 | 38 | 39),
        // IP_TOS, IP_TTL, IP_MULTICAST_TTL, IP_MULTICAST_LOOP.
        libc::IPPROTO_IP => matches!(name, 1 | 2 | 33 | 34),
        // TCP_NODELAY, TCP_MAXSEG, TCP_CORK, TCP_KEEPIDLE, TCP_KEEPINTVL,
        // TCP_KEEPCNT, TCP_LINGER2, TCP_DEFER_ACCEPT, TCP_QUICKACK,
        // TCP_CONGESTION, TCP_USER_TIMEOUT, TCP_FASTOPEN.
        libc::IPPROTO_TCP => matches!(name, 1..=6 | 8 | 9 | 12 | 13 | 18 | 23),
        // IPV6_UNICAST_HOPS, IPV6_MULTICAST_HOPS, IPV6_MULTICAST_LOOP,
        // IPV6_V6ONLY, IPV6_TCLASS.
        libc::IPPROTO_IPV6 => matches!(name, 16 | 18 | 19 | 26 | 67),
        _ => false,
    }
}

impl HostSocket {
    /// Creates a socket: IPv6 if `v6`, else IPv4; `protocol` 0 or the
    /// kind's own (`IPPROTO_TCP`, `IPPROTO_UDP`).
    pub fn new(v6: bool, kind: SockKind, protocol: i32) -> Result<HostSocket, Errno> {
        let domain = if v6 { libc::AF_INET6 } else { libc::AF_INET };
        let ty = match kind {
            SockKind::Stream => libc::SOCK_STREAM,
            SockKind::Datagram => libc::SOCK_DGRAM,
        };
        // SAFETY: no memory is passed.
        let fd = unsafe {
            libc::socket(
                domain,
                ty | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                protocol,
            )
        };
        if fd < 0 {
            return Err(Errno::last());
        }
        Ok(HostSocket { fd })
    }

    /// The host descriptor, for readiness polling ([`crate::host::poll_now`]),
    /// borrowed for as long as the socket lives.
    pub fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        // SAFETY: `self.fd` is open until `self` is dropped, and the borrow
        // cannot outlive `self`.
        unsafe { std::os::fd::BorrowedFd::borrow_raw(self.fd) }
    }

    /// Binds to `addr`.
    pub fn bind(&self, addr: &SocketAddr) -> Result<(), Errno> {
        let mut ss = zeroed_storage();
        let len = encode(addr, &mut ss);
        // SAFETY: `ss` holds a valid sockaddr of length `len`.
        check_rc(unsafe { libc::bind(self.fd, (&ss as *const libc::sockaddr_storage).cast(), len) })
    }

    /// Starts listening with `backlog`.
    pub fn listen(&self, backlog: i32) -> Result<(), Errno> {
        // SAFETY: no memory is passed.
        check_rc(unsafe { libc::listen(self.fd, backlog) })
    }

    /// Accepts one pending connection without waiting (`EAGAIN` if none).
    pub fn accept(&self) -> Result<(HostSocket, Option<SocketAddr>), Errno> {
        let mut ss = zeroed_storage();
        let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        // SAFETY: `ss` and `len` are valid out-buffers of the stated size.
        let fd = unsafe {
            libc::accept4(
                self.fd,
                (&mut ss as *mut libc::sockaddr_storage).cast(),
                &mut len,
                libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(Errno::last());
        }
        let sock = HostSocket { fd };
        let addr = decode(&ss, len)?;
        Ok((sock, addr))
    }

    /// Starts connecting to `addr` (`EINPROGRESS` while a TCP connection is
    /// being made; see [`HostSocket::take_error`]).
    pub fn connect(&self, addr: &SocketAddr) -> Result<(), Errno> {
        let mut ss = zeroed_storage();
        let len = encode(addr, &mut ss);
        // SAFETY: `ss` holds a valid sockaddr of length `len`.
        check_rc(unsafe {
            libc::connect(self.fd, (&ss as *const libc::sockaddr_storage).cast(), len)
        })
    }

    /// Dissolves a datagram socket's association (`connect` to `AF_UNSPEC`).
    pub fn disconnect(&self) -> Result<(), Errno> {
        let mut ss = zeroed_storage();
        ss.ss_family = libc::AF_UNSPEC as libc::sa_family_t;
        // SAFETY: `ss` is a valid AF_UNSPEC sockaddr.
        check_rc(unsafe {
            libc::connect(
                self.fd,
                (&ss as *const libc::sockaddr_storage).cast(),
                std::mem::size_of::<libc::sockaddr>() as libc::socklen_t,
            )
        })
    }

    /// Sends `buf` (to `to`, if given) without waiting; `flags` are limited
    /// to [`SEND_FLAGS`]. A closed stream gives `EPIPE`, never a host signal.
    pub fn send(&self, buf: &[u8], flags: i32, to: Option<&SocketAddr>) -> Result<usize, Errno> {
        let flags = (flags & SEND_FLAGS) | libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;
        let mut ss = zeroed_storage();
        let (ptr, len) = match to {
            Some(a) => {
                let len = encode(a, &mut ss);
                (
                    (&ss as *const libc::sockaddr_storage).cast::<libc::sockaddr>(),
                    len,
                )
            }
            None => (std::ptr::null(), 0),
        };
        // SAFETY: `buf` is readable for its length; `ptr`/`len` is null/0 or a
        // valid sockaddr.
        let rc = unsafe { libc::sendto(self.fd, buf.as_ptr().cast(), buf.len(), flags, ptr, len) };
        if rc < 0 {
            return Err(Errno::last());
        }
        let n = rc as usize;
        if n > buf.len() {
            return Err(bad_host("a send count larger than the buffer"));
        }
        Ok(n)
    }

    /// Receives into `buf` without waiting; `flags` are limited to
    /// [`RECV_FLAGS`].
    pub fn recv(&self, buf: &mut [u8], flags: i32) -> Result<Received, Errno> {
        let flags = (flags & RECV_FLAGS) | libc::MSG_DONTWAIT;
        let mut ss = zeroed_storage();
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: msghdr is plain data; all-zero is a valid value.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_name = (&mut ss as *mut libc::sockaddr_storage).cast();
        msg.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        // SAFETY: `msg` points at `ss` and one iovec over `buf`, all valid and
        // writable for their stated sizes; no control buffer.
        let rc = unsafe { libc::recvmsg(self.fd, &mut msg, flags) };
        if rc < 0 {
            return Err(Errno::last());
        }
        let full_len = rc as usize;
        if full_len > buf.len() && flags & libc::MSG_TRUNC == 0 {
            return Err(bad_host("a receive count larger than the buffer"));
        }
        let from = decode(&ss, msg.msg_namelen)?;
        Ok(Received {
            len: full_len.min(buf.len()),
            full_len,
            from,
            flags: msg.msg_flags & RECV_OUT_FLAGS,
        })
    }

    /// Shuts down reading (`SHUT_RD` = 0), writing (1) or both (2).
    pub fn shutdown(&self, how: i32) -> Result<(), Errno> {
        if !(0..=2).contains(&how) {
            return Err(Errno::EINVAL);
        }
        // SAFETY: no memory is passed.
        check_rc(unsafe { libc::shutdown(self.fd, how) })
    }

    /// The local address (`getsockname`).
    pub fn local_addr(&self) -> Result<Option<SocketAddr>, Errno> {
        let mut ss = zeroed_storage();
        let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        // SAFETY: `ss` and `len` are valid out-buffers of the stated size.
        check_rc(unsafe {
            libc::getsockname(
                self.fd,
                (&mut ss as *mut libc::sockaddr_storage).cast(),
                &mut len,
            )
        })?;
        decode(&ss, len)
    }

    /// The peer's address (`getpeername`; `ENOTCONN` when not connected).
    pub fn peer_addr(&self) -> Result<Option<SocketAddr>, Errno> {
        let mut ss = zeroed_storage();
        let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        // SAFETY: `ss` and `len` are valid out-buffers of the stated size.
        check_rc(unsafe {
            libc::getpeername(
                self.fd,
                (&mut ss as *mut libc::sockaddr_storage).cast(),
                &mut len,
            )
        })?;
        decode(&ss, len)
    }

    /// Sets option `name` at `level` to the bytes `value`.
    /// Only options on [`host_option`]'s list reach the host (`ENOPROTOOPT`
    /// otherwise): the kernel would take some others' values as pointers.
    pub fn setsockopt(&self, level: i32, name: i32, value: &[u8]) -> Result<(), Errno> {
        if !host_option(level, name) {
            return Err(Errno(libc::ENOPROTOOPT));
        }
        // SAFETY: `value` is readable for its length.
        check_rc(unsafe {
            libc::setsockopt(
                self.fd,
                level,
                name,
                value.as_ptr().cast(),
                value.len() as libc::socklen_t,
            )
        })
    }

    /// Reads option `name` at `level` into at most `max` bytes.
    /// Only options on [`host_option`]'s list are asked for (`ENOPROTOOPT`
    /// otherwise).
    pub fn getsockopt(&self, level: i32, name: i32, max: usize) -> Result<Vec<u8>, Errno> {
        if !host_option(level, name) {
            return Err(Errno(libc::ENOPROTOOPT));
        }
        let mut buf = vec![0u8; max];
        let mut len = max as libc::socklen_t;
        // SAFETY: `buf` is writable for `len` bytes.
        check_rc(unsafe {
            libc::getsockopt(self.fd, level, name, buf.as_mut_ptr().cast(), &mut len)
        })?;
        if len as usize > max {
            return Err(bad_host("an option longer than the buffer"));
        }
        buf.truncate(len as usize);
        Ok(buf)
    }

    /// Reads an `int` option.
    pub fn getsockopt_int(&self, level: i32, name: i32) -> Result<i32, Errno> {
        let v = self.getsockopt(level, name, 4)?;
        let b: [u8; 4] = v.try_into().map_err(|_| bad_host("a short int option"))?;
        Ok(i32::from_ne_bytes(b))
    }

    /// Takes the pending error (`SO_ERROR`): `None` if there is none.
    pub fn take_error(&self) -> Result<Option<Errno>, Errno> {
        let e = self.getsockopt_int(libc::SOL_SOCKET, libc::SO_ERROR)?;
        match e {
            0 => Ok(None),
            1..=4095 => Ok(Some(Errno(e))),
            _ => Err(bad_host("an invalid socket error")),
        }
    }

    /// Bytes waiting to be read (`FIONREAD`).
    pub fn bytes_readable(&self) -> Result<usize, Errno> {
        let mut n: libc::c_int = 0;
        // SAFETY: FIONREAD writes one int.
        check_rc(unsafe { libc::ioctl(self.fd, libc::FIONREAD, &mut n) })?;
        usize::try_from(n).map_err(|_| bad_host("a negative FIONREAD count"))
    }

    /// Waits until the socket is ready for reading (`write` false) or
    /// writing, at most `timeout`; `Ok(false)` when the time ran out and
    /// `EINTR` when the calling thread is interrupted
    /// ([`crate::trap::interrupt`]).
    pub fn wait(&self, write: bool, timeout: Option<Duration>) -> Result<bool, Errno> {
        let mut pfd = [libc::pollfd {
            fd: self.fd,
            events: if write { libc::POLLOUT } else { libc::POLLIN },
            revents: 0,
        }];
        Ok(crate::host_poll::ppoll_interruptible(&mut pfd, timeout)? > 0)
    }
}

impl Drop for HostSocket {
    fn drop(&mut self) {
        // SAFETY: the descriptor is owned by this value and closed once.
        unsafe { libc::close(self.fd) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_that_carry_pointers_never_reach_the_host() {
        let s = HostSocket::new(false, SockKind::Stream, 0).unwrap();
        // SO_ATTACH_FILTER's value holds a pointer to a BPF program.
        let filter = [0u8; 16];
        assert_eq!(
            s.setsockopt(libc::SOL_SOCKET, libc::SO_ATTACH_FILTER, &filter),
            Err(Errno(libc::ENOPROTOOPT))
        );
        assert_eq!(
            s.getsockopt(libc::SOL_SOCKET, libc::SO_PEERSEC, 64),
            Err(Errno(libc::ENOPROTOOPT))
        );
        // A plain integer option goes through.
        s.setsockopt(libc::SOL_SOCKET, libc::SO_REUSEADDR, &1i32.to_ne_bytes())
            .unwrap();
        assert_eq!(
            s.getsockopt_int(libc::SOL_SOCKET, libc::SO_REUSEADDR)
                .unwrap(),
            1
        );
    }
}

/// A network interface of the host, with its IPv4 address if it has one.
#[derive(Clone, Debug, Default)]
pub struct Interface {
    /// The name (`lo`, `eth0`, ...).
    pub name: String,
    /// The interface index.
    pub index: u32,
    /// `IFF_*` flags.
    pub flags: u32,
    /// IPv4 address, netmask and broadcast address.
    pub addr: Option<[u8; 4]>,
    pub netmask: Option<[u8; 4]>,
    pub broadcast: Option<[u8; 4]>,
}

/// The IPv4 address in `sa`, if it is one.
fn ipv4_of(sa: *const libc::sockaddr) -> Option<[u8; 4]> {
    if sa.is_null() {
        return None;
    }
    // SAFETY: getifaddrs hands out valid sockaddrs (or null, checked).
    let family = unsafe { (*sa).sa_family } as i32;
    if family != libc::AF_INET {
        return None;
    }
    // SAFETY: an AF_INET sockaddr is a sockaddr_in.
    let sin = unsafe { std::ptr::read(sa.cast::<libc::sockaddr_in>()) };
    Some(sin.sin_addr.s_addr.to_ne_bytes())
}

/// The host's network interfaces (one entry per interface, with its first
/// IPv4 address), as `getifaddrs` lists them.
pub fn interfaces() -> Vec<Interface> {
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `list` with a list freed below.
    if unsafe { libc::getifaddrs(&mut list) } != 0 {
        return Vec::new();
    }
    let mut out: Vec<Interface> = Vec::new();
    let mut cur = list;
    while !cur.is_null() {
        // SAFETY: `cur` is a node of the list getifaddrs returned.
        let ifa = unsafe { &*cur };
        // SAFETY: ifa_name is a NUL-terminated string of the node.
        let name = unsafe { std::ffi::CStr::from_ptr(ifa.ifa_name) };
        let text = name.to_string_lossy().into_owned();
        // SAFETY: `name` is a valid NUL-terminated string.
        let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
        let pos = match out.iter().position(|i| i.name == text) {
            Some(p) => p,
            None => {
                out.push(Interface {
                    name: text,
                    index,
                    flags: ifa.ifa_flags,
                    ..Interface::default()
                });
                out.len() - 1
            }
        };
        let entry = &mut out[pos];
        if entry.addr.is_none() {
            if let Some(a) = ipv4_of(ifa.ifa_addr) {
                entry.addr = Some(a);
                entry.netmask = ipv4_of(ifa.ifa_netmask);
                entry.broadcast = ipv4_of(ifa.ifa_ifu);
            }
        }
        cur = ifa.ifa_next;
    }
    // SAFETY: `list` came from getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(list) };
    out
}
