//! Socket syscalls: Internet sockets (TCP, UDP over IPv4 and IPv6) through
//! the host, `AF_UNIX` sockets inside the LibOS.

mod addr;
pub(super) mod ifreq;
mod opt;

use std::sync::Arc;

use occlum_pal::host_net::SockKind;

use self::addr::{AF_INET, AF_INET6, AF_UNIX};
use super::SyscallCtx;
use crate::abi::{Abi, CmsgHdr, MsgHdr, UserPtr};
use crate::fs::socket::inet::InetSocket;
use crate::fs::socket::unix::{Rights, UnixAddr, UnixKind, UnixSocket};
use crate::fs::socket::{EMSGSIZE, MSG_DONTWAIT, MSG_NOSIGNAL, MSG_TRUNC};
use crate::fs::vfs::Location;
use crate::fs::{downcast, Fd, FileRef, O_CLOEXEC, O_NONBLOCK};
use crate::signal::{self, nr::SIGPIPE, SigInfo};
use crate::user::{self, IoVec};
use crate::vm::PROT_WRITE;
use crate::{Errno, Result};

const SOCK_STREAM: u64 = 1;
const SOCK_DGRAM: u64 = 2;
const SOCK_TYPE_MASK: u64 = 0xf;
const SOCK_MAX: u64 = 11;
const SOCK_NONBLOCK: u64 = O_NONBLOCK as u64;
const SOCK_CLOEXEC: u64 = O_CLOEXEC as u64;
const AF_MAX: u64 = 46;
const IPPROTO_TCP: u64 = 6;
const IPPROTO_UDP: u64 = 17;
/// `ESOCKTNOSUPPORT`.
const ESOCKTNOSUPPORT: Errno = Errno(94);
/// `MSG_CTRUNC`.
const MSG_CTRUNC: u32 = 0x8;
/// Largest message copied from or to user memory at once.
const CHUNK: usize = 1 << 20;

/// A socket open at some descriptor.
pub(super) enum Sock {
    Inet(Arc<InetSocket>),
    Unix(Arc<UnixSocket>),
}

impl Sock {
    fn of(f: FileRef) -> Result<Sock> {
        let f = match downcast::<InetSocket>(f.clone()) {
            Some(s) => return Ok(Sock::Inet(s)),
            None => f,
        };
        downcast::<UnixSocket>(f)
            .map(Sock::Unix)
            .ok_or(Errno::ENOTSOCK)
    }

    fn is_datagram(&self) -> bool {
        match self {
            Sock::Inet(s) => s.kind() == SockKind::Datagram,
            Sock::Unix(s) => s.kind() == UnixKind::Datagram,
        }
    }
}

fn sock_at(ctx: &SyscallCtx<'_, '_>, fd: u64) -> Result<Sock> {
    Sock::of(ctx.process().files().get(fd as Fd)?)
}

fn cwd(ctx: &SyscallCtx<'_, '_>) -> Location {
    ctx.process().fs().cwd.clone()
}

/// `FIONREAD` on a socket: the bytes ready to be read (`None`: not a socket).
pub(in crate::syscall) fn bytes_readable(f: &FileRef) -> Option<Result<usize>> {
    match Sock::of(f.clone()).ok()? {
        Sock::Inet(s) => Some(s.bytes_readable()),
        Sock::Unix(s) => Some(s.bytes_readable()),
    }
}

/// Checks the type argument of `socket`/`socketpair`: the base type and
/// the status flags.
fn split_type(ty: u64) -> Result<(u64, u32)> {
    if ty & !(SOCK_TYPE_MASK | SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    let base = ty & SOCK_TYPE_MASK;
    if base == 0 || base >= SOCK_MAX {
        return Err(Errno::EINVAL);
    }
    Ok((base, (ty & (SOCK_NONBLOCK | SOCK_CLOEXEC)) as u32))
}

fn unix_kind(base: u64, proto: u64) -> Result<UnixKind> {
    if proto != 0 && proto != AF_UNIX as u64 {
        return Err(Errno::EPROTONOSUPPORT);
    }
    match base {
        SOCK_STREAM => Ok(UnixKind::Stream),
        SOCK_DGRAM => Ok(UnixKind::Datagram),
        _ => Err(ESOCKTNOSUPPORT),
    }
}

pub(super) fn sys_socket(
    ctx: &mut SyscallCtx<'_, '_>,
    domain: u64,
    ty: u64,
    proto: u64,
) -> Result<u64> {
    if domain >= AF_MAX {
        return Err(Errno::EAFNOSUPPORT);
    }
    let (base, flags) = split_type(ty)?;
    let file: FileRef = match domain as u16 {
        AF_UNIX => UnixSocket::new(unix_kind(base, proto)?, flags),
        AF_INET | AF_INET6 => {
            let kind = match (base, proto) {
                (SOCK_STREAM, 0 | IPPROTO_TCP) => SockKind::Stream,
                (SOCK_DGRAM, 0 | IPPROTO_UDP) => SockKind::Datagram,
                (SOCK_STREAM | SOCK_DGRAM, _) => return Err(Errno::EPROTONOSUPPORT),
                _ => return Err(ESOCKTNOSUPPORT),
            };
            InetSocket::new(domain as u16 == AF_INET6, kind, proto as i32, flags)?
        }
        _ => return Err(Errno::EAFNOSUPPORT),
    };
    ctx.install(file, flags & O_CLOEXEC != 0)
}

pub(super) fn sys_socketpair(
    ctx: &mut SyscallCtx<'_, '_>,
    domain: u64,
    ty: u64,
    proto: u64,
    sv: u64,
) -> Result<u64> {
    let (base, flags) = split_type(ty)?;
    match domain {
        1 => {}
        // Internet sockets exist but cannot be made in connected pairs.
        2 | 10 => return Err(Errno::EOPNOTSUPP),
        _ => return Err(Errno::EAFNOSUPPORT),
    }
    let (x, y) = UnixSocket::pair(unix_kind(base, proto)?, flags);
    super::fd::install_pair(ctx, x, y, flags & O_CLOEXEC != 0, sv)
}

pub(super) fn sys_bind(
    ctx: &mut SyscallCtx<'_, '_>,
    sockfd: u64,
    addr: u64,
    addrlen: u64,
) -> Result<u64> {
    let s = sock_at(ctx, sockfd)?;
    let raw = addr::read(addr, addrlen)?;
    match s {
        Sock::Inet(s) => {
            let addr = addr::parse_inet(&raw)?.ok_or(Errno::EAFNOSUPPORT)?;
            s.bind(&addr)?;
        }
        Sock::Unix(s) => {
            let addr = addr::parse_unix(&raw, false)?.unwrap_or_default();
            let umask = ctx.process().fs().umask;
            s.bind(addr, &cwd(ctx), umask)?;
        }
    }
    Ok(0)
}

pub(super) fn sys_listen(ctx: &mut SyscallCtx<'_, '_>, sockfd: u64, backlog: i32) -> Result<u64> {
    let backlog = backlog.clamp(0, 4096);
    match sock_at(ctx, sockfd)? {
        Sock::Inet(s) => s.listen(backlog)?,
        Sock::Unix(s) => s.listen(backlog)?,
    }
    Ok(0)
}

pub(super) fn sys_accept(
    ctx: &mut SyscallCtx<'_, '_>,
    sockfd: u64,
    addr: u64,
    addrlen: u64,
) -> Result<u64> {
    sys_accept4(ctx, sockfd, addr, addrlen, 0)
}

pub(super) fn sys_accept4(
    ctx: &mut SyscallCtx<'_, '_>,
    sockfd: u64,
    addr_ptr: u64,
    len_ptr: u64,
    flags: u64,
) -> Result<u64> {
    if flags & !(SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    let s = sock_at(ctx, sockfd)?;
    if addr_ptr != 0 {
        addr::read_len(len_ptr)?;
    }
    let (file, peer): (FileRef, Vec<u8>) = match s {
        Sock::Inet(s) => {
            let (c, peer) = s.accept(flags as u32)?;
            (c, peer.map(|p| addr::encode_inet(&p)).unwrap_or_default())
        }
        Sock::Unix(s) => {
            let (c, peer) = s.accept(flags as u32)?;
            (c, peer.encode())
        }
    };
    let fd = ctx.install(file, flags & SOCK_CLOEXEC != 0)?;
    if addr_ptr == 0 {
        return Ok(fd);
    }
    if let Err(e) = addr::write(&peer, addr_ptr, len_ptr) {
        let _ = ctx.process().files().remove(fd as Fd);
        return Err(e);
    }
    Ok(fd)
}

pub(super) fn sys_connect(
    ctx: &mut SyscallCtx<'_, '_>,
    sockfd: u64,
    addr: u64,
    addrlen: u64,
) -> Result<u64> {
    let s = sock_at(ctx, sockfd)?;
    let raw = addr::read(addr, addrlen)?;
    match s {
        Sock::Inet(s) => s.connect(addr::parse_inet(&raw)?.as_ref())?,
        Sock::Unix(s) => {
            let datagram = s.kind() == UnixKind::Datagram;
            let addr = addr::parse_unix(&raw, datagram)?;
            s.connect(addr.as_ref(), &cwd(ctx))?
        }
    }
    Ok(0)
}

pub(super) fn sys_getsockname(
    ctx: &mut SyscallCtx<'_, '_>,
    sockfd: u64,
    addr: u64,
    addrlen: u64,
) -> Result<u64> {
    let bytes = match sock_at(ctx, sockfd)? {
        Sock::Inet(s) => s
            .local_addr()?
            .map(|a| addr::encode_inet(&a))
            .unwrap_or_else(|| AF_INET.to_le_bytes().to_vec()),
        Sock::Unix(s) => s.local_addr().encode(),
    };
    addr::write(&bytes, addr, addrlen).map(|()| 0)
}

pub(super) fn sys_getpeername(
    ctx: &mut SyscallCtx<'_, '_>,
    sockfd: u64,
    addr: u64,
    addrlen: u64,
) -> Result<u64> {
    let bytes = match sock_at(ctx, sockfd)? {
        Sock::Inet(s) => s
            .peer_addr()?
            .map(|a| addr::encode_inet(&a))
            .unwrap_or_default(),
        Sock::Unix(s) => s.peer_addr()?.encode(),
    };
    addr::write(&bytes, addr, addrlen).map(|()| 0)
}

pub(super) fn sys_shutdown(ctx: &mut SyscallCtx<'_, '_>, sockfd: u64, how: i32) -> Result<u64> {
    let s = sock_at(ctx, sockfd)?;
    if !(0..=2).contains(&how) {
        return Err(Errno::EINVAL);
    }
    match s {
        Sock::Inet(s) => s.shutdown(how)?,
        Sock::Unix(s) => s.shutdown(how != 1, how != 0)?,
    }
    Ok(0)
}

/// A destination address, parsed for the socket's family.
enum Dest {
    Inet(std::net::SocketAddr),
    Unix(UnixAddr),
}

fn parse_dest(s: &Sock, raw: &[u8]) -> Result<Option<Dest>> {
    Ok(match s {
        Sock::Inet(_) => addr::parse_inet(raw)?.map(Dest::Inet),
        Sock::Unix(_) => addr::parse_unix(raw, false)?.map(Dest::Unix),
    })
}

/// Sends `data` on `s`; `EPIPE` raises `SIGPIPE` unless `MSG_NOSIGNAL`.
fn send(
    ctx: &SyscallCtx<'_, '_>,
    s: &Sock,
    data: &[u8],
    flags: u32,
    to: Option<Dest>,
    rights: Rights,
) -> Result<u64> {
    let nonblock = flags & MSG_DONTWAIT != 0;
    let r = match (s, &to) {
        (Sock::Inet(s), Some(Dest::Inet(a))) => s.send(data, flags, Some(a), nonblock),
        (Sock::Inet(s), _) => s.send(data, flags, None, nonblock),
        (Sock::Unix(s), Some(Dest::Unix(a))) => {
            let cwd = cwd(ctx);
            s.send(data, flags, Some((a, &cwd)), rights, nonblock)
        }
        (Sock::Unix(s), _) => s.send(data, flags, None, rights, nonblock),
    };
    if r == Err(Errno::EPIPE) && flags & MSG_NOSIGNAL == 0 {
        signal::send_to_thread(ctx.thread(), SigInfo::user(SIGPIPE, signal::SI_USER, 0));
    }
    r.map(|n| n as u64)
}

/// What a receive got, with the sender's address as `sockaddr` bytes
/// (empty if none).
struct Got {
    len: usize,
    full_len: usize,
    from: Vec<u8>,
    flags: u32,
    rights: Rights,
}

fn recv(s: &Sock, buf: &mut [u8], flags: u32) -> Result<Got> {
    let nonblock = flags & MSG_DONTWAIT != 0;
    match s {
        Sock::Inet(s) => {
            let r = s.recv(buf, flags, nonblock)?;
            Ok(Got {
                len: r.len,
                full_len: r.full_len,
                from: r.from.map(|a| addr::encode_inet(&a)).unwrap_or_default(),
                flags: r.flags as u32,
                rights: Rights::new(),
            })
        }
        Sock::Unix(s) => {
            let r = s.recv(buf, flags, nonblock)?;
            Ok(Got {
                len: r.len,
                full_len: r.full_len,
                from: match r.from {
                    UnixAddr::Unnamed => Vec::new(),
                    a => a.encode(),
                },
                flags: r.flags,
                rights: r.rights,
            })
        }
    }
}

/// The count a receive returns: a datagram's full length with `MSG_TRUNC`.
fn recv_count(s: &Sock, got: &Got, flags: u32) -> u64 {
    if flags & MSG_TRUNC != 0 && s.is_datagram() {
        got.full_len as u64
    } else {
        got.len as u64
    }
}

/// Reads the message of a `sendto`/`sendmsg` (`EMSGSIZE` for a datagram
/// too large to copy at once).
fn message_len(s: &Sock, len: usize) -> Result<usize> {
    if len > CHUNK {
        if s.is_datagram() {
            return Err(EMSGSIZE);
        }
        return Ok(CHUNK);
    }
    Ok(len)
}

pub(super) fn sys_sendto(
    ctx: &mut SyscallCtx<'_, '_>,
    sockfd: u64,
    buf: u64,
    len: usize,
    flags: u32,
    addr_ptr: u64,
    addr_len: u64,
) -> Result<u64> {
    let s = sock_at(ctx, sockfd)?;
    let to = if addr_ptr != 0 && addr_len as u32 != 0 {
        parse_dest(&s, &addr::read(addr_ptr, addr_len)?)?
    } else {
        None
    };
    let data = user::read_bytes(buf, message_len(&s, len)?)?;
    send(ctx, &s, &data, flags, to, Rights::new())
}

pub(super) fn sys_recvfrom(
    ctx: &mut SyscallCtx<'_, '_>,
    sockfd: u64,
    buf: u64,
    len: usize,
    flags: u32,
    addr_ptr: u64,
    len_ptr: u64,
) -> Result<u64> {
    let s = sock_at(ctx, sockfd)?;
    let len = len.min(CHUNK);
    user::check_access(buf, len, PROT_WRITE)?;
    if addr_ptr != 0 {
        addr::read_len(len_ptr)?;
    }
    let mut data = vec![0u8; len];
    let got = recv(&s, &mut data, flags)?;
    user::write_bytes(buf, &data[..got.len])?;
    if addr_ptr != 0 {
        addr::write(&got.from, addr_ptr, len_ptr)?;
    }
    Ok(recv_count(&s, &got, flags))
}

/// The parts of a `struct msghdr` the LibOS uses.
struct Msg {
    name: u64,
    namelen: u32,
    iov: Vec<IoVec>,
    control: u64,
    controllen: u64,
}

fn read_msghdr(addr: u64) -> Result<Msg> {
    let h = UserPtr::<MsgHdr>::new(addr).read()?;
    Ok(Msg {
        name: h.msg_name,
        namelen: h.msg_namelen,
        iov: user::read_iovecs(h.msg_iov, h.msg_iovlen)?,
        control: h.msg_control,
        controllen: h.msg_controllen,
    })
}

const SCM_RIGHTS: u32 = 1;
const SOL_SOCKET: u32 = 1;
/// Most descriptors one message may pass (`SCM_MAX_FD`).
const SCM_MAX_FD: usize = 253;
/// `MSG_CMSG_CLOEXEC`.
const MSG_CMSG_CLOEXEC: u32 = 0x4000_0000;
/// Size of `struct cmsghdr`.
const CMSG_HDR: usize = CmsgHdr::SIZE;

/// The files named by the `SCM_RIGHTS` messages of a control buffer; other
/// control messages are ignored. `EINVAL` for a malformed buffer, or for
/// descriptors sent on a socket that cannot carry them.
fn read_rights(ctx: &SyscallCtx<'_, '_>, s: &Sock, msg: &Msg) -> Result<Rights> {
    let mut rights = Rights::new();
    if msg.controllen < CMSG_HDR as u64 {
        return Ok(rights);
    }
    let len = (msg.controllen as usize).min(1 << 16);
    let buf = user::read_bytes(msg.control, len)?;
    let mut off = 0;
    while off + CMSG_HDR <= buf.len() {
        let h = CmsgHdr::read_from(&buf[off..]);
        let clen = h.cmsg_len as usize;
        let (level, ty) = (h.cmsg_level, h.cmsg_type);
        if clen < CMSG_HDR || clen > buf.len() - off {
            return Err(Errno::EINVAL);
        }
        if level == SOL_SOCKET && ty == SCM_RIGHTS {
            if matches!(s, Sock::Inet(_)) {
                return Err(Errno::EINVAL);
            }
            let files = ctx.process().files();
            for fd in buf[off + CMSG_HDR..off + clen].chunks_exact(4) {
                rights.push(files.get(i32::read_from(fd))?);
            }
            if rights.len() > SCM_MAX_FD {
                return Err(Errno::EINVAL);
            }
        }
        off += (clen + 7) & !7;
    }
    Ok(rights)
}

/// Installs received files in the caller's table and writes one
/// `SCM_RIGHTS` message with their numbers into the control buffer, as many
/// as fit (`MSG_CTRUNC` if not all); returns the control length used and
/// the flag.
fn write_rights(
    ctx: &SyscallCtx<'_, '_>,
    msg: &Msg,
    rights: Rights,
    flags: u32,
) -> Result<(u64, u32)> {
    if rights.is_empty() {
        return Ok((0, 0));
    }
    let total = rights.len();
    let room = (msg.controllen as usize).saturating_sub(CMSG_HDR) / 4;
    let n = room.min(rights.len());
    if n == 0 {
        return Ok((0, MSG_CTRUNC));
    }
    let cloexec = flags & MSG_CMSG_CLOEXEC != 0;
    let limit = ctx.process().rlimits().nofile();
    let mut fds = Vec::with_capacity(n);
    {
        let mut files = ctx.process().files();
        for f in rights.into_iter().take(n) {
            match files.insert(f, cloexec, limit) {
                Ok(fd) => fds.push(fd),
                Err(_) => break,
            }
        }
    }
    let clen = CMSG_HDR + 4 * fds.len();
    let mut out = CmsgHdr {
        cmsg_len: clen as u64,
        cmsg_level: SOL_SOCKET,
        cmsg_type: SCM_RIGHTS,
    }
    .to_bytes();
    for fd in &fds {
        out.extend_from_slice(&fd.to_bytes());
    }
    user::write_bytes(msg.control, &out)?;
    let used = ((clen + 7) & !7).min(msg.controllen as usize) as u64;
    Ok((used, if fds.len() < total { MSG_CTRUNC } else { 0 }))
}

pub(super) fn sys_sendmsg(
    ctx: &mut SyscallCtx<'_, '_>,
    sockfd: u64,
    msg: u64,
    flags: u32,
) -> Result<u64> {
    let s = sock_at(ctx, sockfd)?;
    let msg = read_msghdr(msg)?;
    let rights = read_rights(ctx, &s, &msg)?;
    let to = if msg.name != 0 && msg.namelen != 0 {
        parse_dest(&s, &addr::read(msg.name, msg.namelen as u64)?)?
    } else {
        None
    };
    let total = message_len(&s, msg.iov.iter().map(|v| v.len).sum())?;
    let mut data = Vec::with_capacity(total);
    for v in &msg.iov {
        let take = v.len.min(total - data.len());
        data.extend_from_slice(&user::read_bytes(v.base, take)?);
    }
    send(ctx, &s, &data, flags, to, rights)
}

pub(super) fn sys_recvmsg(
    ctx: &mut SyscallCtx<'_, '_>,
    sockfd: u64,
    msg_ptr: u64,
    flags: u32,
) -> Result<u64> {
    let s = sock_at(ctx, sockfd)?;
    let msg = read_msghdr(msg_ptr)?;
    for v in &msg.iov {
        user::check_access(v.base, v.len, PROT_WRITE)?;
    }
    let total: usize = msg.iov.iter().map(|v| v.len).sum();
    let mut data = vec![0u8; total.min(CHUNK)];
    let got = recv(&s, &mut data, flags)?;
    let mut off = 0;
    for v in &msg.iov {
        if off == got.len {
            break;
        }
        let take = v.len.min(got.len - off);
        user::write_bytes(v.base, &data[off..off + take])?;
        off += take;
    }
    let header = UserPtr::<MsgHdr>::new(msg_ptr);
    let mut h = header.read()?;
    if msg.name != 0 {
        let room = (msg.namelen as i32).max(0) as usize;
        user::write_bytes(msg.name, &got.from[..got.from.len().min(room)])?;
        h.msg_namelen = got.from.len() as u32;
    }
    let count = recv_count(&s, &got, flags);
    let (used, out_flags) = write_rights(ctx, &msg, got.rights, flags)?;
    if msg.control != 0 || msg.controllen != 0 {
        h.msg_controllen = used;
    }
    h.msg_flags = got.flags | out_flags | (flags & MSG_CMSG_CLOEXEC);
    header.write(&h)?;
    Ok(count)
}

pub(super) fn sys_setsockopt(
    ctx: &mut SyscallCtx<'_, '_>,
    sockfd: u64,
    level: i32,
    optname: i32,
    optval: u64,
    optlen: u64,
) -> Result<u64> {
    let s = sock_at(ctx, sockfd)?;
    opt::set(&s, level, optname, optval, optlen).map(|()| 0)
}

pub(super) fn sys_getsockopt(
    ctx: &mut SyscallCtx<'_, '_>,
    sockfd: u64,
    level: i32,
    optname: i32,
    optval: u64,
    optlen: u64,
) -> Result<u64> {
    let s = sock_at(ctx, sockfd)?;
    opt::get(&s, level, optname, optval, optlen).map(|()| 0)
}

/// Size of `struct mmsghdr`: a `msghdr` and the byte count, padded.
const MMSGHDR_SIZE: u64 = 64;
/// Most messages one `sendmmsg`/`recvmmsg` handles (`UIO_MAXIOV`).
const MMSG_MAX: u64 = 1024;
/// `MSG_WAITFORONE`: only the first `recvmmsg` message may block.
const MSG_WAITFORONE: u64 = 0x10000;

/// Runs `one` on each `mmsghdr` of the vector, storing its count in
/// `msg_len`: the number done, or the first one's error if none was.
fn each_mmsg(
    ctx: &mut SyscallCtx<'_, '_>,
    vec: u64,
    vlen: u64,
    mut one: impl FnMut(&mut SyscallCtx<'_, '_>, u64, usize) -> Result<Option<u64>>,
) -> Result<u64> {
    let vlen = vlen.min(MMSG_MAX);
    let mut done = 0;
    while done < vlen {
        let hdr = vec + done * MMSGHDR_SIZE;
        match one(ctx, hdr, done as usize) {
            Ok(Some(n)) => {
                user::write_bytes(hdr + 56, &(n as u32).to_le_bytes())?;
                done += 1;
            }
            Ok(None) => break,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(done)
}

pub(super) fn sys_sendmmsg(
    ctx: &mut SyscallCtx<'_, '_>,
    sockfd: u64,
    msgvec: u64,
    vlen: u64,
    flags: u64,
) -> Result<u64> {
    each_mmsg(ctx, msgvec, vlen, |ctx, hdr, _| {
        sys_sendmsg(ctx, sockfd, hdr, flags as u32).map(Some)
    })
}

pub(super) fn sys_recvmmsg(
    ctx: &mut SyscallCtx<'_, '_>,
    sockfd: u64,
    msgvec: u64,
    vlen: u64,
    flags: u64,
    timeout: u64,
) -> Result<u64> {
    let deadline = if timeout != 0 {
        Some(user::read_deadline(timeout)?)
    } else {
        None
    };
    let base = flags & !MSG_WAITFORONE;
    each_mmsg(ctx, msgvec, vlen, |ctx, hdr, i| {
        if i > 0 && deadline.is_some_and(|d| std::time::Instant::now() >= d) {
            return Ok(None);
        }
        let flags = if i > 0 && flags & MSG_WAITFORONE != 0 {
            base | u64::from(MSG_DONTWAIT)
        } else {
            base
        };
        sys_recvmsg(ctx, sockfd, hdr, flags as u32).map(Some)
    })
}
