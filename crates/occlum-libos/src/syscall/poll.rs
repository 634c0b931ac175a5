//! Waiting on several descriptors: `poll`, `ppoll`, `select`, `pselect6`,
//! `epoll_*` (with `epoll_pwait2`); and `eventfd`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::SyscallCtx;
use crate::abi::{EpollEvent, PollFd, SigsetArg, UserPtr};
use crate::fs::epoll::{events_of, CtlOp, Epoll, EPOLLERR, EPOLLHUP, EPOLLIN, EPOLLOUT};
use crate::fs::eventfd::{EventFd, EFD_SEMAPHORE};
use crate::fs::poll::wait_until_ready;
use crate::fs::{Fd, FileRef, O_CLOEXEC, O_NONBLOCK};
use crate::signal::SigSet;
use crate::user;
use crate::{Errno, Result};

const POLLIN: u16 = 0x1;
const POLLPRI: u16 = 0x2;
const POLLOUT: u16 = 0x4;
const POLLERR: u16 = 0x8;
const POLLHUP: u16 = 0x10;
const POLLNVAL: u16 = 0x20;
const POLLRDNORM: u16 = 0x40;
const POLLWRNORM: u16 = 0x100;

fn deadline_after(d: Option<Duration>) -> Option<Instant> {
    d.map(|d| Instant::now() + d.min(Duration::from_secs(u32::MAX as u64)))
}

/// Applies a temporary signal mask for the duration of a wait (`ppoll`,
/// `pselect6`, `epoll_pwait`); if the wait is interrupted, the old mask is
/// restored after the handler runs, as Linux does.
fn with_sigmask<T>(
    ctx: &SyscallCtx<'_, '_>,
    mask: Option<SigSet>,
    f: impl FnOnce() -> Result<T>,
) -> Result<T> {
    let Some(mask) = mask else { return f() };
    let thread = ctx.thread();
    let old = thread.sig_mask();
    thread.set_sig_mask(mask);
    let r = f();
    if matches!(r, Err(Errno::EINTR)) {
        thread.set_saved_mask(old);
    } else {
        thread.set_sig_mask(old);
    }
    r
}

fn read_sigmask(addr: u64, size: u64) -> Result<Option<SigSet>> {
    if addr == 0 {
        return Ok(None);
    }
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    Ok(Some(SigSet(user::read_u64(addr)?)))
}

/// The `EPOLLIN`/`EPOLLOUT` events that `poll` events `ev` ask for.
fn wanted_of_poll(ev: u16) -> u32 {
    let mut w = 0;
    if ev & (POLLIN | POLLRDNORM) != 0 {
        w |= EPOLLIN;
    }
    if ev & (POLLOUT | POLLWRNORM) != 0 {
        w |= EPOLLOUT;
    }
    w
}

fn poll_revents(file: Option<&FileRef>, events: u16) -> u16 {
    let Some(f) = file else { return POLLNVAL };
    let e = events_of(f.poll());
    let mut r = 0;
    if e & EPOLLIN != 0 {
        r |= events & (POLLIN | POLLRDNORM);
    }
    if e & EPOLLOUT != 0 {
        r |= events & (POLLOUT | POLLWRNORM);
    }
    if e & EPOLLHUP != 0 {
        r |= POLLHUP;
    }
    if e & EPOLLERR != 0 {
        r |= POLLERR;
    }
    let _ = POLLPRI;
    r
}

fn do_poll(
    ctx: &SyscallCtx<'_, '_>,
    fds_addr: u64,
    nfds: u64,
    timeout: Option<Duration>,
) -> Result<u64> {
    if nfds > ctx.process().rlimits().nofile() as u64 {
        return Err(Errno::EINVAL);
    }
    let fds = UserPtr::<PollFd>::new(fds_addr);
    let mut raw = fds.read_array(nfds as usize)?;
    let entries: Vec<(i32, u16)> = raw.iter().map(|p| (p.fd, p.events)).collect();
    let files: Vec<Option<FileRef>> = {
        let table = ctx.process().files();
        entries
            .iter()
            .map(|&(fd, _)| if fd < 0 { None } else { table.get(fd).ok() })
            .collect()
    };
    let live: Vec<(FileRef, u32)> = entries
        .iter()
        .zip(&files)
        .filter_map(|(&(_, ev), f)| Some((f.clone()?, wanted_of_poll(ev))))
        .collect();
    let check = || {
        let revents: Vec<u16> = entries
            .iter()
            .zip(&files)
            .map(|(&(fd, ev), f)| {
                if fd < 0 {
                    0
                } else {
                    poll_revents(f.as_ref(), ev)
                }
            })
            .collect();
        let n = revents.iter().filter(|&&r| r != 0).count();
        Ok((n > 0).then_some((n, revents)))
    };
    let result = if timeout == Some(Duration::ZERO) {
        check()?
    } else {
        wait_until_ready(&live, deadline_after(timeout), check)?
    };
    let (n, revents) = result.unwrap_or((0, vec![0; entries.len()]));
    for (p, r) in raw.iter_mut().zip(&revents) {
        p.revents = *r;
    }
    fds.write_array(&raw)?;
    Ok(n as u64)
}

pub(super) fn sys_poll(
    ctx: &mut SyscallCtx<'_, '_>,
    fds: u64,
    nfds: u64,
    timeout: i32,
) -> Result<u64> {
    let limit = (timeout >= 0).then(|| Duration::from_millis(timeout as u64));
    do_poll(ctx, fds, nfds, limit)
}

pub(super) fn sys_ppoll(
    ctx: &mut SyscallCtx<'_, '_>,
    fds: u64,
    nfds: u64,
    tmo_p: u64,
    sigmask: u64,
    sigsetsize: u64,
) -> Result<u64> {
    let timeout = if tmo_p != 0 {
        Some(user::read_timespec(tmo_p)?)
    } else {
        None
    };
    let mask = read_sigmask(sigmask, sigsetsize)?;
    with_sigmask(ctx, mask, || do_poll(ctx, fds, nfds, timeout))
}

/// Reads an `fd_set` of `nfds` bits (empty if `addr` is 0).
fn read_fdset(addr: u64, nfds: usize) -> Result<Vec<u64>> {
    let words = nfds.div_ceil(64);
    if addr == 0 {
        return Ok(vec![0; words]);
    }
    let b = user::read_bytes(addr, words * 8)?;
    Ok(b.chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().expect("8")))
        .collect())
}

fn write_fdset(addr: u64, set: &[u64]) -> Result<()> {
    if addr == 0 {
        return Ok(());
    }
    let b: Vec<u8> = set.iter().flat_map(|w| w.to_le_bytes()).collect();
    user::write_bytes(addr, &b)
}

/// `select`'s work: `sets` are the read, write and exception fd sets.
fn do_select(
    ctx: &SyscallCtx<'_, '_>,
    nfds: i32,
    sets: [u64; 3],
    timeout: Option<Duration>,
) -> Result<(u64, Option<Duration>)> {
    if nfds < 0 || nfds as usize > ctx.process().rlimits().nofile() {
        return Err(Errno::EINVAL);
    }
    let nfds = nfds as usize;
    let (rset, wset, eset) = (
        read_fdset(sets[0], nfds)?,
        read_fdset(sets[1], nfds)?,
        read_fdset(sets[2], nfds)?,
    );
    let mut watched: Vec<(usize, FileRef)> = Vec::new();
    // Each watched file with the events a wait watches it for.
    let mut files: Vec<(FileRef, u32)> = Vec::new();
    {
        let table = ctx.process().files();
        for fd in 0..nfds {
            let bit = |s: &Vec<u64>| s[fd / 64] & (1 << (fd % 64)) != 0;
            if bit(&rset) || bit(&wset) || bit(&eset) {
                let f = table.get(fd as Fd)?;
                let wanted =
                    if bit(&rset) { EPOLLIN } else { 0 } | if bit(&wset) { EPOLLOUT } else { 0 };
                files.push((f.clone(), wanted));
                watched.push((fd, f));
            }
        }
    }
    let words = nfds.div_ceil(64);
    let check = || {
        let (mut r, mut w, mut e) = (vec![0u64; words], vec![0u64; words], vec![0u64; words]);
        let mut n = 0;
        for (fd, f) in &watched {
            let ev = events_of(f.poll());
            let (word, bit) = (fd / 64, 1u64 << (fd % 64));
            if rset[word] & bit != 0 && ev & (EPOLLIN | EPOLLHUP | EPOLLERR) != 0 {
                r[word] |= bit;
                n += 1;
            }
            if wset[word] & bit != 0 && ev & (EPOLLOUT | EPOLLERR) != 0 {
                w[word] |= bit;
                n += 1;
            }
            let _ = &mut e;
        }
        Ok((n > 0).then_some((n, r, w, e)))
    };
    let start = Instant::now();
    let result = if timeout == Some(Duration::ZERO) {
        check()?
    } else {
        wait_until_ready(&files, deadline_after(timeout), check)?
    };
    let (n, r, w, e) = result.unwrap_or((0, vec![0; words], vec![0; words], vec![0; words]));
    write_fdset(sets[0], &r)?;
    write_fdset(sets[1], &w)?;
    write_fdset(sets[2], &e)?;
    Ok((n as u64, timeout.map(|t| t.saturating_sub(start.elapsed()))))
}

pub(super) fn sys_select(
    ctx: &mut SyscallCtx<'_, '_>,
    nfds: i32,
    readfds: u64,
    writefds: u64,
    exceptfds: u64,
    timeout: u64,
) -> Result<u64> {
    let limit = if timeout != 0 {
        Some(user::read_timeval(timeout)?)
    } else {
        None
    };
    let (n, left) = do_select(ctx, nfds, [readfds, writefds, exceptfds], limit)?;
    if let (Some(left), true) = (left, timeout != 0) {
        // Linux updates the timeout with the time not slept.
        user::write_time(timeout, left, true)?;
    }
    Ok(n)
}

pub(super) fn sys_pselect6(
    ctx: &mut SyscallCtx<'_, '_>,
    nfds: i32,
    readfds: u64,
    writefds: u64,
    exceptfds: u64,
    timeout: u64,
    sigmask: u64,
) -> Result<u64> {
    let limit = if timeout != 0 {
        Some(user::read_timespec(timeout)?)
    } else {
        None
    };
    let mask = if sigmask != 0 {
        let arg = UserPtr::<SigsetArg>::new(sigmask).read()?;
        read_sigmask(arg.ss, arg.ss_len)?
    } else {
        None
    };
    let (n, left) = with_sigmask(ctx, mask, || {
        do_select(ctx, nfds, [readfds, writefds, exceptfds], limit)
    })?;
    if let (Some(left), true) = (left, timeout != 0) {
        user::write_time(timeout, left, false)?;
    }
    Ok(n)
}

pub(super) fn sys_epoll_create(ctx: &mut SyscallCtx<'_, '_>, size: i32) -> Result<u64> {
    if size <= 0 {
        return Err(Errno::EINVAL);
    }
    ctx.install(Epoll::new(), false)
}

pub(super) fn sys_epoll_create1(ctx: &mut SyscallCtx<'_, '_>, flags: u32) -> Result<u64> {
    if flags & !O_CLOEXEC != 0 {
        return Err(Errno::EINVAL);
    }
    ctx.install(Epoll::new(), flags & O_CLOEXEC != 0)
}

/// The epoll instance at `fd` (`EINVAL` if `fd` is another kind of file).
fn epoll_at(ctx: &SyscallCtx<'_, '_>, fd: Fd) -> Result<Arc<Epoll>> {
    let f = ctx.process().files().get(fd)?;
    crate::fs::downcast::<Epoll>(f).ok_or(Errno::EINVAL)
}

pub(super) fn sys_epoll_ctl(
    ctx: &mut SyscallCtx<'_, '_>,
    epfd: Fd,
    op: u64,
    fd: Fd,
    event: u64,
) -> Result<u64> {
    let ep = epoll_at(ctx, epfd)?;
    let target = ctx.process().files().get(fd)?;
    if fd == epfd {
        return Err(Errno::EINVAL);
    }
    // Files of file systems (regular files, directories, memory devices)
    // cannot be polled: Linux refuses them.
    if crate::fs::downcast::<crate::fs::InodeFile>(target.clone()).is_some() {
        return Err(Errno::EPERM);
    }
    let op = match op {
        1 => CtlOp::Add,
        2 => CtlOp::Del,
        3 => CtlOp::Mod,
        _ => return Err(Errno::EINVAL),
    };
    let (events, data) = if op == CtlOp::Del {
        (0, 0)
    } else {
        let e = UserPtr::<EpollEvent>::new(event).read()?;
        (e.events, e.data)
    };
    ep.ctl(op, fd, &target, events, data)?;
    Ok(0)
}

/// `epoll_wait` with a time-out in milliseconds (negative: wait for ever).
fn do_epoll_wait(
    ctx: &SyscallCtx<'_, '_>,
    epfd: Fd,
    events: u64,
    max: i32,
    ms: i32,
) -> Result<u64> {
    let timeout = (ms >= 0).then(|| Duration::from_millis(ms as u64));
    epoll_wait_for(ctx, epfd, events, max, timeout)
}

/// `epoll_wait` with a time-out (`None`: wait for ever).
fn epoll_wait_for(
    ctx: &SyscallCtx<'_, '_>,
    epfd: Fd,
    events: u64,
    max: i32,
    timeout: Option<Duration>,
) -> Result<u64> {
    if max <= 0 || max as usize > (i32::MAX as usize) / 12 {
        return Err(Errno::EINVAL);
    }
    let ep = epoll_at(ctx, epfd)?;
    user::check_access(events, max as usize * 12, crate::vm::PROT_WRITE)?;
    let files = ep.files();
    let check = || {
        let r = ep.ready(max as usize);
        Ok((!r.is_empty()).then_some(r))
    };
    let ready = if timeout == Some(Duration::ZERO) {
        check()?
    } else {
        wait_until_ready(&files, deadline_after(timeout), check)?
    };
    let ready = ready.unwrap_or_default();
    let out: Vec<EpollEvent> = ready
        .iter()
        .map(|&(events, data)| EpollEvent { events, data })
        .collect();
    UserPtr::new(events).write_array(&out)?;
    Ok(ready.len() as u64)
}

pub(super) fn sys_epoll_wait(
    ctx: &mut SyscallCtx<'_, '_>,
    epfd: Fd,
    events: u64,
    maxevents: i32,
    timeout: i32,
) -> Result<u64> {
    do_epoll_wait(ctx, epfd, events, maxevents, timeout)
}

pub(super) fn sys_epoll_pwait(
    ctx: &mut SyscallCtx<'_, '_>,
    epfd: Fd,
    events: u64,
    maxevents: i32,
    timeout: i32,
    sigmask: u64,
    sigsetsize: u64,
) -> Result<u64> {
    let mask = read_sigmask(sigmask, sigsetsize)?;
    with_sigmask(ctx, mask, || {
        do_epoll_wait(ctx, epfd, events, maxevents, timeout)
    })
}

/// `epoll_pwait2`: the time-out is a `struct timespec` (NULL: none).
pub(super) fn sys_epoll_pwait2(
    ctx: &mut SyscallCtx<'_, '_>,
    epfd: Fd,
    events: u64,
    maxevents: i32,
    timeout: u64,
    sigmask: u64,
    sigsetsize: u64,
) -> Result<u64> {
    let limit = if timeout != 0 {
        Some(user::read_timespec(timeout)?)
    } else {
        None
    };
    let mask = read_sigmask(sigmask, sigsetsize)?;
    with_sigmask(ctx, mask, || {
        epoll_wait_for(ctx, epfd, events, maxevents, limit)
    })
}

pub(super) fn sys_eventfd2(ctx: &mut SyscallCtx<'_, '_>, initval: u32, flags: u32) -> Result<u64> {
    if flags & !(O_CLOEXEC | O_NONBLOCK | EFD_SEMAPHORE) != 0 {
        return Err(Errno::EINVAL);
    }
    let efd = EventFd::new(initval, flags & EFD_SEMAPHORE != 0, flags & O_NONBLOCK);
    ctx.install(Arc::new(efd), flags & O_CLOEXEC != 0)
}

pub(super) fn sys_eventfd(ctx: &mut SyscallCtx<'_, '_>, initval: u64) -> Result<u64> {
    sys_eventfd2(ctx, initval as u32, 0)
}
