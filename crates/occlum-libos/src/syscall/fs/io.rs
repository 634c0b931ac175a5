//! Data: `read`, `write` and their vectored and positioned forms, `lseek`,
//! `ioctl`, `sendfile`, `copy_file_range`.

use super::{file, SyscallCtx};
use crate::fs::{downcast, File, FileRef, FileType, InodeFile};
use crate::signal::{self, nr::SIGPIPE, SigInfo};
use crate::user::{self, IoVec};
use crate::vm::PROT_WRITE;
use crate::{Errno, Result};

/// Largest chunk copied between user memory and a file at once.
const CHUNK: usize = 1 << 20;
/// Largest bounce buffer for one read of a pipe: a read returns at most
/// what the pipe holds (64 KiB unless `F_SETPIPE_SZ` raised it), so a
/// larger buffer would only be zeroed for nothing on every call.
const PIPE_READ_CHUNK: usize = 1 << 16;

thread_local! {
    /// A bounce buffer kept between calls on this host thread: taken while
    /// in use (so a nested use makes a new one), put back after. Reusing it
    /// saves zeroing and allocating up to a chunk on every read and write.
    static BOUNCE: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// Runs `f` with a bounce buffer of `len` bytes (its contents unspecified:
/// zeros or earlier data of this thread's own calls).
fn with_bounce<R>(len: usize, f: impl FnOnce(&mut [u8]) -> R) -> R {
    let mut buf = BOUNCE.with(|b| b.take());
    if buf.len() < len {
        buf.resize(len, 0);
    }
    let r = f(&mut buf[..len]);
    if buf.len() <= CHUNK {
        BOUNCE.with(|b| b.set(buf));
    }
    r
}

/// The bounce buffer for a read of up to `want` bytes from `f`.
fn bounce_len(f: &FileRef, want: usize) -> usize {
    // Small reads (the common case) skip the check.
    if want > PIPE_READ_CHUNK && crate::fs::pipe::is_pipe(f) {
        PIPE_READ_CHUNK
    } else {
        want.min(CHUNK)
    }
}
const TCGETS: u64 = 0x5401;
const TIOCGWINSZ: u64 = 0x5413;
const FIONREAD: u64 = 0x541b;
const FIONBIO: u64 = 0x5421;
const FIONCLEX: u64 = 0x5450;
const FIOCLEX: u64 = 0x5451;
const FIOASYNC: u64 = 0x5452;
/// `O_ASYNC`: kept as a status flag; the LibOS sends no SIGIO yet.
const O_ASYNC: u32 = 0o20000;
/// `RWF_*` flags `preadv2`/`pwritev2` accept (all are hints here).
const RWF_SUPPORTED: u64 = 0x1f;

/// A write to a pipe without readers: the process gets SIGPIPE, whose
/// default action (the only one until user signal handlers exist) ends it.
fn check_epipe(ctx: &mut SyscallCtx<'_, '_>, r: Result<usize>) -> Result<usize> {
    if r == Err(Errno::EPIPE) {
        signal::send_to_thread(ctx.thread(), SigInfo::user(SIGPIPE, signal::SI_USER, 0));
    }
    r
}

fn write_from_user(
    ctx: &mut SyscallCtx<'_, '_>,
    f: &FileRef,
    addr: u64,
    len: usize,
) -> Result<usize> {
    if let Some(r) = f.write_from_user(addr, len) {
        return check_epipe(ctx, r);
    }
    let mut done = 0;
    while done < len {
        let n = (len - done).min(CHUNK);
        let written = with_bounce(n, |chunk| {
            user::read_into(addr + done as u64, chunk).map(|()| check_epipe(ctx, f.write(chunk)))
        });
        let written = match written {
            Ok(w) => w,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        match written {
            Ok(w) => {
                done += w;
                if w < n {
                    break;
                }
            }
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(done)
}

pub(in crate::syscall) fn sys_write(
    ctx: &mut SyscallCtx<'_, '_>,
    fd: u64,
    buf: u64,
    count: u64,
) -> Result<u64> {
    let f = file(ctx, fd)?;
    write_from_user(ctx, &f, buf, count.min(isize::MAX as u64) as usize).map(|n| n as u64)
}

pub(in crate::syscall) fn sys_read(
    ctx: &mut SyscallCtx<'_, '_>,
    fd: u64,
    buf: u64,
    count: usize,
) -> Result<u64> {
    let f = file(ctx, fd)?;
    if let Some(r) = f.read_to_user(buf, count) {
        return r.map(|n| n as u64);
    }
    // Check the buffer first: a bad one must not consume the file's data.
    user::check_access(buf, count.min(CHUNK), PROT_WRITE)?;
    let len = bounce_len(&f, count);
    with_bounce(len, |data| {
        let n = f.read(data)?;
        user::write_bytes(buf, &data[..n])?;
        Ok(n as u64)
    })
}

pub(in crate::syscall) fn sys_writev(
    ctx: &mut SyscallCtx<'_, '_>,
    fd: u64,
    iov: u64,
    iovcnt: u64,
) -> Result<u64> {
    let f = file(ctx, fd)?;
    let iov = user::read_iovecs(iov, iovcnt)?;
    let total: usize = iov.iter().map(|v| v.len).sum();
    if total <= CHUNK {
        // Gather into one buffer so that the data is written in one piece.
        let mut buf = Vec::with_capacity(total);
        for v in &iov {
            buf.extend_from_slice(&user::read_bytes(v.base, v.len)?);
        }
        return check_epipe(ctx, f.write(&buf)).map(|n| n as u64);
    }
    let mut done = 0;
    for v in &iov {
        let r = write_from_user(ctx, &f, v.base, v.len);
        match r {
            Ok(n) => {
                done += n;
                if n < v.len {
                    break;
                }
            }
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(done as u64)
}

pub(in crate::syscall) fn sys_readv(
    ctx: &mut SyscallCtx<'_, '_>,
    fd: u64,
    iov: u64,
    iovcnt: u64,
) -> Result<u64> {
    let f = file(ctx, fd)?;
    let iov = user::read_iovecs(iov, iovcnt)?;
    readv_into(&f, At::Offset, &iov)
}

pub(in crate::syscall) fn sys_ioctl(
    ctx: &mut SyscallCtx<'_, '_>,
    fd: u64,
    cmd: u64,
    arg: u64,
) -> Result<u64> {
    let f = file(ctx, fd)?;
    match cmd & 0xffff_ffff {
        TCGETS => user::write_bytes(arg, &f.tcgets()?)?,
        TIOCGWINSZ => {
            let ws = f.winsize()?;
            let bytes: Vec<u8> = ws.iter().flat_map(|v| v.to_le_bytes()).collect();
            user::write_bytes(arg, &bytes)?;
        }
        FIONBIO => {
            let on = user::read_u32(arg)? != 0;
            let flags = f.status_flags() & !crate::fs::O_NONBLOCK;
            f.set_status_flags(flags | if on { crate::fs::O_NONBLOCK } else { 0 });
        }
        FIONREAD => {
            let n = match crate::syscall::net::bytes_readable(&f) {
                Some(n) => n?,
                None => crate::fs::pipe::bytes_readable(&f)
                    .or_else(|| super::tty::bytes_readable(&f))
                    .or_else(|| {
                        crate::fs::downcast::<crate::fs::inotify::Inotify>(f.clone())
                            .map(|i| i.queued_bytes())
                    })
                    .ok_or(Errno::ENOTTY)?,
            };
            user::write_i32(arg, n.min(i32::MAX as usize) as i32)?;
        }
        FIOCLEX | FIONCLEX => ctx
            .process()
            .files()
            .set_close_on_exec(fd as i32, cmd & 0xffff_ffff == FIOCLEX)?,
        FIOASYNC => {
            let on = user::read_u32(arg)? != 0;
            let flags = f.status_flags() & !O_ASYNC;
            f.set_status_flags(flags | if on { O_ASYNC } else { 0 });
        }
        req if crate::syscall::net::ifreq::is_interface_request(req)
            && f.stat()?.kind == crate::fs::FileType::Socket =>
        {
            return crate::syscall::net::ifreq::ioctl(req, arg);
        }
        req if crate::fs::downcast::<crate::fs::devfs::SgxDevice>(f.clone()).is_some() => {
            return super::sgx::ioctl(req as u32, arg);
        }
        req => return super::tty::ioctl(ctx, &f, req as u32, arg).unwrap_or(Err(Errno::ENOTTY)),
    }
    Ok(0)
}

pub(in crate::syscall) fn sys_lseek(
    ctx: &mut SyscallCtx<'_, '_>,
    fd: u64,
    offset: i64,
    whence: i32,
) -> Result<u64> {
    let f = file(ctx, fd)?;
    if !(0..=4).contains(&whence) {
        return Err(Errno::EINVAL);
    }
    f.seek(offset, whence)
}

/// Where a read or write happens: at the file offset, or at a position.
#[derive(Clone, Copy)]
pub(super) enum At {
    Offset,
    Pos(u64),
}

fn read_file(f: &FileRef, at: At, buf: &mut [u8]) -> Result<usize> {
    match at {
        At::Offset => f.read(buf),
        At::Pos(p) => f.read_at(p, buf),
    }
}

fn write_file(f: &FileRef, at: At, buf: &[u8]) -> Result<usize> {
    match at {
        At::Offset => f.write(buf),
        At::Pos(p) => f.write_at(p, buf),
    }
}

/// A position argument: `EINVAL` if negative.
pub(super) fn position(v: u64) -> Result<At> {
    if (v as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    Ok(At::Pos(v))
}

pub(in crate::syscall) fn sys_pread64(
    ctx: &mut SyscallCtx<'_, '_>,
    fd: u64,
    buf: u64,
    count: usize,
    offset: u64,
) -> Result<u64> {
    let f = file(ctx, fd)?;
    readv_into(
        &f,
        position(offset)?,
        &[IoVec {
            base: buf,
            len: count,
        }],
    )
}

pub(in crate::syscall) fn sys_pwrite64(
    ctx: &mut SyscallCtx<'_, '_>,
    fd: u64,
    buf: u64,
    count: usize,
    offset: u64,
) -> Result<u64> {
    let f = file(ctx, fd)?;
    let at = position(offset)?;
    writev_from(
        ctx,
        &f,
        at,
        &[IoVec {
            base: buf,
            len: count,
        }],
    )
}

pub(in crate::syscall) fn sys_preadv(
    ctx: &mut SyscallCtx<'_, '_>,
    fd: u64,
    iov: u64,
    iovcnt: u64,
    pos_l: u64,
    _pos_h: u64,
) -> Result<u64> {
    let f = file(ctx, fd)?;
    let iov = user::read_iovecs(iov, iovcnt)?;
    readv_into(&f, position(pos_l)?, &iov)
}

pub(in crate::syscall) fn sys_pwritev(
    ctx: &mut SyscallCtx<'_, '_>,
    fd: u64,
    iov: u64,
    iovcnt: u64,
    pos_l: u64,
    _pos_h: u64,
) -> Result<u64> {
    let f = file(ctx, fd)?;
    let iov = user::read_iovecs(iov, iovcnt)?;
    let at = position(pos_l)?;
    writev_from(ctx, &f, at, &iov)
}

/// The position of `preadv2`/`pwritev2`: -1 means the file offset.
fn position2(v: u64, flags: u64) -> Result<At> {
    if flags & !RWF_SUPPORTED != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    if v as i64 == -1 {
        return Ok(At::Offset);
    }
    position(v)
}

pub(in crate::syscall) fn sys_preadv2(
    ctx: &mut SyscallCtx<'_, '_>,
    fd: u64,
    iov: u64,
    iovcnt: u64,
    pos_l: u64,
    _pos_h: u64,
    flags: u64,
) -> Result<u64> {
    let f = file(ctx, fd)?;
    let iov = user::read_iovecs(iov, iovcnt)?;
    readv_into(&f, position2(pos_l, flags)?, &iov)
}

pub(in crate::syscall) fn sys_pwritev2(
    ctx: &mut SyscallCtx<'_, '_>,
    fd: u64,
    iov: u64,
    iovcnt: u64,
    pos_l: u64,
    _pos_h: u64,
    flags: u64,
) -> Result<u64> {
    let f = file(ctx, fd)?;
    let iov = user::read_iovecs(iov, iovcnt)?;
    let at = position2(pos_l, flags)?;
    writev_from(ctx, &f, at, &iov)
}

/// Reads once into the buffers of `iov` (checked first, so a bad buffer
/// consumes nothing).
fn readv_into(f: &FileRef, at: At, iov: &[IoVec]) -> Result<u64> {
    for v in iov {
        user::check_access(v.base, v.len, PROT_WRITE)?;
    }
    let total: usize = iov.iter().map(|v| v.len).sum();
    let mut buf = vec![0u8; bounce_len(f, total)];
    let mut n = read_file(f, at, &mut buf)?;
    let mut off = 0;
    for v in iov {
        if n == 0 {
            break;
        }
        let take = v.len.min(n);
        user::write_bytes(v.base, &buf[off..off + take])?;
        off += take;
        n -= take;
    }
    Ok(off as u64)
}

/// Writes the buffers of `iov` in order; a short write ends early.
fn writev_from(ctx: &mut SyscallCtx<'_, '_>, f: &FileRef, at: At, iov: &[IoVec]) -> Result<u64> {
    let mut done = 0usize;
    for v in iov {
        let mut part = 0;
        while part < v.len {
            let n = (v.len - part).min(CHUNK);
            let chunk = match user::read_bytes(v.base + part as u64, n) {
                Ok(c) => c,
                Err(e) if done == 0 => return Err(e),
                Err(_) => return Ok(done as u64),
            };
            let pos = match at {
                At::Offset => At::Offset,
                At::Pos(p) => At::Pos(p + done as u64),
            };
            match check_epipe(ctx, write_file(f, pos, &chunk)) {
                Ok(w) => {
                    done += w;
                    part += w;
                    if w < n {
                        return Ok(done as u64);
                    }
                }
                Err(e) if done == 0 => return Err(e),
                Err(_) => return Ok(done as u64),
            }
        }
    }
    Ok(done as u64)
}

/// Copies up to `count` bytes from `src` to `dst` through LibOS memory;
/// returns the count copied.
pub(super) fn copy_between(
    ctx: &mut SyscallCtx<'_, '_>,
    src: &FileRef,
    mut src_at: At,
    dst: &FileRef,
    mut dst_at: At,
    count: usize,
) -> Result<usize> {
    let mut done = 0;
    let mut buf = vec![0u8; count.min(1 << 16)];
    while done < count {
        let want = (count - done).min(buf.len());
        let n = match read_file(src, src_at, &mut buf[..want]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        let w = match check_epipe(ctx, write_file(dst, dst_at, &buf[..n])) {
            Ok(w) => w,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        done += w;
        if let At::Pos(p) = &mut src_at {
            *p += w as u64;
        } else if w < n {
            // Give back what was read but not written.
            let _ = src.seek(-((n - w) as i64), 1);
        }
        if let At::Pos(p) = &mut dst_at {
            *p += w as u64;
        }
        if w < n || n < want {
            break;
        }
    }
    Ok(done)
}

pub(in crate::syscall) fn sys_sendfile(
    ctx: &mut SyscallCtx<'_, '_>,
    out_fd: u64,
    in_fd: u64,
    offset: u64,
    count: usize,
) -> Result<u64> {
    let (out, inp) = (file(ctx, out_fd)?, file(ctx, in_fd)?);
    if inp.status_flags() & crate::fs::O_ACCMODE == crate::fs::O_WRONLY
        || out.status_flags() & crate::fs::O_ACCMODE == 0 && out.location().is_some()
    {
        return Err(Errno::EBADF);
    }
    if out.status_flags() & crate::fs::O_APPEND != 0 {
        return Err(Errno::EINVAL);
    }
    let src_at = if offset == 0 {
        At::Offset
    } else {
        position(user::read_u64(offset)?)?
    };
    if inp.location().is_none() {
        // Linux needs a seekable source (a file, not a pipe).
        return Err(Errno::EINVAL);
    }
    let n = copy_between(ctx, &inp, src_at, &out, At::Offset, count.min(0x7fff_f000))?;
    if let At::Pos(p) = src_at {
        user::write_u64(offset, p + n as u64)?;
    }
    Ok(n as u64)
}

pub(in crate::syscall) fn sys_copy_file_range(
    ctx: &mut SyscallCtx<'_, '_>,
    fd_in: u64,
    off_in: u64,
    fd_out: u64,
    off_out: u64,
    len: usize,
    flags: u64,
) -> Result<u64> {
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    let inp = downcast::<InodeFile>(file(ctx, fd_in)?).ok_or(Errno::EINVAL)?;
    let out = downcast::<InodeFile>(file(ctx, fd_out)?).ok_or(Errno::EINVAL)?;
    for f in [&inp, &out] {
        match f.inode().kind() {
            FileType::Regular => {}
            FileType::Directory => return Err(Errno::EISDIR),
            _ => return Err(Errno::EINVAL),
        }
    }
    if out.status_flags() & crate::fs::O_APPEND != 0 {
        return Err(Errno::EBADF);
    }
    let src_at = if off_in == 0 {
        At::Offset
    } else {
        position(user::read_u64(off_in)?)?
    };
    let dst_at = if off_out == 0 {
        At::Offset
    } else {
        position(user::read_u64(off_out)?)?
    };
    if let (At::Pos(s), At::Pos(d)) = (src_at, dst_at) {
        let same = std::sync::Arc::ptr_eq(inp.inode(), out.inode())
            || (inp.inode().ino() == out.inode().ino()
                && inp.inode().fs().dev() == out.inode().fs().dev());
        let len = len as u64;
        if same && s < d.saturating_add(len) && d < s.saturating_add(len) {
            return Err(Errno::EINVAL);
        }
    }
    let (src, dst): (FileRef, FileRef) = (inp, out);
    let n = copy_between(ctx, &src, src_at, &dst, dst_at, len.min(0x7fff_f000))?;
    if let At::Pos(p) = src_at {
        user::write_u64(off_in, p + n as u64)?;
    }
    if let At::Pos(p) = dst_at {
        user::write_u64(off_out, p + n as u64)?;
    }
    Ok(n as u64)
}
