//! File syscalls (for now over the standard streams only).

use super::SyscallCtx;
use crate::fs::{Fd, FileRef, FileType, Stat};
use crate::signal::{self, nr::SIGPIPE, SigInfo};
use crate::user;
use crate::vm::PROT_WRITE;
use crate::{Errno, Result};

/// Largest chunk copied between user memory and a file at once.
const CHUNK: usize = 1 << 20;
const AT_FDCWD: i64 = -100;
const AT_EMPTY_PATH: u64 = 0x1000;
const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
const AT_NO_AUTOMOUNT: u64 = 0x800;
const TCGETS: u64 = 0x5401;
const TIOCGWINSZ: u64 = 0x5413;

fn file(ctx: &SyscallCtx<'_, '_>, fd: u64) -> Result<FileRef> {
    ctx.process().files().get(fd as i32)
}

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
    let mut done = 0;
    while done < len {
        let n = (len - done).min(CHUNK);
        let chunk = match user::read_bytes(addr + done as u64, n) {
            Ok(c) => c,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        match check_epipe(ctx, f.write(&chunk)) {
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

pub(super) fn sys_write(ctx: &mut SyscallCtx<'_, '_>, a: [u64; 6]) -> Result<u64> {
    let f = file(ctx, a[0])?;
    write_from_user(ctx, &f, a[1], a[2].min(isize::MAX as u64) as usize).map(|n| n as u64)
}

pub(super) fn sys_read(ctx: &mut SyscallCtx<'_, '_>, a: [u64; 6]) -> Result<u64> {
    let f = file(ctx, a[0])?;
    let len = (a[2] as usize).min(CHUNK);
    // Check the buffer first: a bad one must not consume the file's data.
    user::check_access(a[1], len, PROT_WRITE)?;
    let mut buf = vec![0u8; len];
    let n = f.read(&mut buf)?;
    user::write_bytes(a[1], &buf[..n])?;
    Ok(n as u64)
}

pub(super) fn sys_writev(ctx: &mut SyscallCtx<'_, '_>, a: [u64; 6]) -> Result<u64> {
    let f = file(ctx, a[0])?;
    let iov = user::read_iovecs(a[1], a[2])?;
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

pub(super) fn sys_readv(ctx: &mut SyscallCtx<'_, '_>, a: [u64; 6]) -> Result<u64> {
    let f = file(ctx, a[0])?;
    let iov = user::read_iovecs(a[1], a[2])?;
    for v in &iov {
        user::check_access(v.base, v.len, PROT_WRITE)?;
    }
    let total: usize = iov.iter().map(|v| v.len).sum();
    let mut buf = vec![0u8; total.min(CHUNK)];
    let mut n = f.read(&mut buf)?;
    let mut off = 0;
    for v in &iov {
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

pub(super) fn sys_close(ctx: &mut SyscallCtx<'_, '_>, a: [u64; 6]) -> Result<u64> {
    ctx.process().files().remove(a[0] as i32)?;
    Ok(0)
}

pub(super) fn sys_ioctl(ctx: &mut SyscallCtx<'_, '_>, a: [u64; 6]) -> Result<u64> {
    let f = file(ctx, a[0])?;
    match a[1] & 0xffff_ffff {
        TCGETS => user::write_bytes(a[2], &f.tcgets()?)?,
        TIOCGWINSZ => {
            let ws = f.winsize()?;
            let bytes: Vec<u8> = ws.iter().flat_map(|v| v.to_le_bytes()).collect();
            user::write_bytes(a[2], &bytes)?;
        }
        _ => return Err(Errno::ENOTTY),
    }
    Ok(0)
}

fn write_stat(f: &FileRef, addr: u64) -> Result<u64> {
    user::write_bytes(addr, &f.stat()?.to_bytes())?;
    Ok(0)
}

pub(super) fn sys_fstat(ctx: &mut SyscallCtx<'_, '_>, a: [u64; 6]) -> Result<u64> {
    write_stat(&file(ctx, a[0])?, a[1])
}

pub(super) fn sys_newfstatat(ctx: &mut SyscallCtx<'_, '_>, a: [u64; 6]) -> Result<u64> {
    let (dirfd, path, statbuf, flags) = (a[0] as i32 as i64, a[1], a[2], a[3]);
    if flags & !(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT) != 0 {
        return Err(Errno::EINVAL);
    }
    let path = user::read_cstring(path, user::MAX_STRING)?;
    let root_dir = Stat {
        dev: 0x10,
        ino: 2,
        kind: FileType::Directory,
        perm: 0o755,
        nlink: 2,
        rdev: 0,
        size: 4096,
        blksize: 4096,
    };
    if path.is_empty() {
        if flags & AT_EMPTY_PATH == 0 {
            return Err(Errno::ENOENT);
        }
        if dirfd == AT_FDCWD {
            // The working directory, which is `/` until the VFS arrives.
            user::write_bytes(statbuf, &root_dir.to_bytes())?;
            return Ok(0);
        }
        return write_stat(&file(ctx, dirfd as Fd as u64)?, statbuf);
    }
    if path.iter().all(|&b| b == b'/') {
        user::write_bytes(statbuf, &root_dir.to_bytes())?;
        return Ok(0);
    }
    if path[0] != b'/' && dirfd != AT_FDCWD {
        // Every open file so far is a stream, never a directory.
        file(ctx, dirfd as Fd as u64)?;
        return Err(Errno::ENOTDIR);
    }
    // Files beyond the standard streams arrive with the VFS.
    Err(Errno::ENOENT)
}

pub(super) fn sys_lseek(ctx: &mut SyscallCtx<'_, '_>, a: [u64; 6]) -> Result<u64> {
    let f = file(ctx, a[0])?;
    let whence = a[2] as i32;
    if !(0..=4).contains(&whence) {
        return Err(Errno::EINVAL);
    }
    f.seek(a[1] as i64, whence)
}
