//! Hints about file data: `fadvise64`, `readahead`, `sync_file_range`.
//! The LibOS keeps no page cache to tune, so the hints are checked as
//! Linux checks them and then need no work, except that
//! `sync_file_range` asked to wait makes the data durable.

use super::{file, SyscallCtx};
use crate::fs::FileType;
use crate::{Errno, Result};

/// `POSIX_FADV_NORMAL` .. `POSIX_FADV_NOREUSE`.
const FADV_MAX: u64 = 5;
const SYNC_FILE_RANGE_WAIT_BEFORE: u64 = 1;
const SYNC_FILE_RANGE_WRITE: u64 = 2;
const SYNC_FILE_RANGE_WAIT_AFTER: u64 = 4;

/// The kind of the file open at `fd`: `ESPIPE` for pipes and sockets.
fn seekable_kind(ctx: &SyscallCtx<'_, '_>, fd: u64) -> Result<FileType> {
    let kind = file(ctx, fd)?.stat()?.kind;
    match kind {
        FileType::Fifo | FileType::Socket => Err(Errno::ESPIPE),
        k => Ok(k),
    }
}

pub(in crate::syscall) fn sys_fadvise64(
    ctx: &mut SyscallCtx<'_, '_>,
    fd: u64,
    _offset: u64,
    len: i64,
    advice: u64,
) -> Result<u64> {
    seekable_kind(ctx, fd)?;
    if advice > FADV_MAX || len < 0 {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}

pub(in crate::syscall) fn sys_readahead(
    ctx: &mut SyscallCtx<'_, '_>,
    fd: u64,
    offset: i64,
    _count: u64,
) -> Result<u64> {
    let f = file(ctx, fd)?;
    if f.status_flags() & crate::fs::O_ACCMODE == crate::fs::O_WRONLY {
        return Err(Errno::EBADF);
    }
    if f.stat()?.kind != FileType::Regular || (offset) < 0 {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}

pub(in crate::syscall) fn sys_sync_file_range(
    ctx: &mut SyscallCtx<'_, '_>,
    fd: u64,
    offset: i64,
    nbytes: i64,
    flags: u64,
) -> Result<u64> {
    let known = SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER;
    if flags & !known != 0 || offset < 0 || nbytes < 0 || offset.checked_add(nbytes).is_none() {
        return Err(Errno::EINVAL);
    }
    let f = file(ctx, fd)?;
    match f.stat()?.kind {
        FileType::Fifo => return Err(Errno::ESPIPE),
        FileType::Regular | FileType::Directory | FileType::BlockDevice | FileType::Symlink => {}
        _ => return Ok(0),
    }
    if flags & SYNC_FILE_RANGE_WAIT_AFTER != 0 {
        if let Some(loc) = f.location() {
            loc.inode().sync(true)?;
        }
    }
    Ok(0)
}
