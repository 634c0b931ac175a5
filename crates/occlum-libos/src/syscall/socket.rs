//! Sockets: for now the connected `AF_UNIX` stream pairs of `socketpair`
//! (network and named sockets come with the networking work).

use std::sync::Arc;

use super::SyscallCtx;
use crate::fs::unix_stream::{self, UnixStream};
use crate::fs::{downcast, Fd, O_CLOEXEC, O_NONBLOCK};
use crate::signal::{self, nr::SIGPIPE, SigInfo};
use crate::user;
use crate::{Errno, Result};

const AF_UNIX: u64 = 1;
const AF_INET: u64 = 2;
const AF_INET6: u64 = 10;
const SOCK_STREAM: u64 = 1;
const SOCK_TYPE_MASK: u64 = 0xf;
const SOCK_NONBLOCK: u64 = O_NONBLOCK as u64;
const SOCK_CLOEXEC: u64 = O_CLOEXEC as u64;
const MSG_DONTWAIT: u64 = 0x40;
const MSG_NOSIGNAL: u64 = 0x4000;

pub(super) fn sys_socketpair(ctx: &mut SyscallCtx<'_, '_>, a: [u64; 6]) -> Result<u64> {
    let (domain, ty, proto, sv) = (a[0], a[1], a[2], a[3]);
    match domain {
        AF_UNIX => {}
        // Internet sockets exist but cannot be made in connected pairs.
        AF_INET | AF_INET6 => return Err(Errno::EOPNOTSUPP),
        _ => return Err(Errno::EAFNOSUPPORT),
    }
    if ty & !(SOCK_TYPE_MASK | SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    if ty & SOCK_TYPE_MASK != SOCK_STREAM {
        return Err(Errno::EOPNOTSUPP);
    }
    if proto != 0 {
        return Err(Errno::EPROTONOSUPPORT);
    }
    let (x, y) = unix_stream::pair((ty & SOCK_NONBLOCK) as u32);
    super::fd::install_pair(ctx, x, y, ty & SOCK_CLOEXEC != 0, sv)
}

fn socket_at(ctx: &SyscallCtx<'_, '_>, fd: Fd) -> Result<Arc<UnixStream>> {
    let f = ctx.process().files().get(fd)?;
    downcast::<UnixStream>(f).ok_or(Errno::ENOTSOCK)
}

pub(super) fn sys_shutdown(ctx: &mut SyscallCtx<'_, '_>, a: [u64; 6]) -> Result<u64> {
    let s = socket_at(ctx, a[0] as Fd)?;
    match a[1] {
        0 => s.shutdown(true, false),
        1 => s.shutdown(false, true),
        2 => s.shutdown(true, true),
        _ => return Err(Errno::EINVAL),
    }
    Ok(0)
}

/// `sendto` on a connected stream socket (the address must be absent).
pub(super) fn sys_sendto(ctx: &mut SyscallCtx<'_, '_>, a: [u64; 6]) -> Result<u64> {
    let (fd, buf, len, flags, addr) = (a[0] as Fd, a[1], a[2] as usize, a[3], a[4]);
    let s = socket_at(ctx, fd)?;
    if addr != 0 {
        return Err(Errno::EISCONN);
    }
    let data = user::read_bytes(buf, len.min(1 << 20))?;
    let r = with_dontwait(&s, flags, |f| crate::fs::File::write(f, &data));
    if r == Err(Errno::EPIPE) && flags & MSG_NOSIGNAL == 0 {
        signal::send_to_thread(ctx.thread(), SigInfo::user(SIGPIPE, signal::SI_USER, 0));
    }
    r.map(|n| n as u64)
}

/// `recvfrom` on a connected stream socket (no source address is reported).
pub(super) fn sys_recvfrom(ctx: &mut SyscallCtx<'_, '_>, a: [u64; 6]) -> Result<u64> {
    let (fd, buf, len, flags, addrlen) = (a[0] as Fd, a[1], a[2] as usize, a[3], a[5]);
    let s = socket_at(ctx, fd)?;
    let len = len.min(1 << 20);
    user::check_access(buf, len, crate::vm::PROT_WRITE)?;
    let mut data = vec![0u8; len];
    let n = with_dontwait(&s, flags, |f| crate::fs::File::read(f, &mut data))?;
    user::write_bytes(buf, &data[..n])?;
    if addrlen != 0 {
        user::write_bytes(addrlen, &0u32.to_le_bytes())?;
    }
    Ok(n as u64)
}

/// Runs `f` with the socket non-blocking if `flags` has `MSG_DONTWAIT`.
fn with_dontwait<T>(
    s: &UnixStream,
    flags: u64,
    f: impl FnOnce(&UnixStream) -> Result<T>,
) -> Result<T> {
    use crate::fs::File;
    if flags & MSG_DONTWAIT == 0 {
        return f(s);
    }
    let old = s.status_flags();
    s.set_status_flags(old | O_NONBLOCK);
    let r = f(s);
    s.set_status_flags(old);
    r
}
