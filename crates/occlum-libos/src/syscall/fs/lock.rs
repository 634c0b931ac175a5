//! Advisory locks: `flock`, and `fcntl`'s `F_GETLK`, `F_SETLK`, `F_SETLKW`.

use super::{file, SyscallCtx};
use crate::abi::{self, Abi, UserPtr};
use crate::fs::lock::{self, FileKey, RecordLock, TO_END};
use crate::fs::{downcast, File, FileRef, InodeFile, O_ACCMODE, O_RDWR, O_WRONLY};
use crate::{Errno, Result};

const LOCK_SH: u64 = 1;
const LOCK_EX: u64 = 2;
const LOCK_NB: u64 = 4;
const LOCK_UN: u64 = 8;

/// `fcntl` commands.
pub(in crate::syscall) const F_GETLK: u64 = 5;
pub(in crate::syscall) const F_SETLK: u64 = 6;
pub(in crate::syscall) const F_SETLKW: u64 = 7;

/// `l_whence` of a lock `F_GETLK` reports: its start is absolute.
const SEEK_SET: i16 = 0;
const F_RDLCK: i16 = 0;
const F_WRLCK: i16 = 1;
const F_UNLCK: i16 = 2;

pub(in crate::syscall) fn sys_flock(
    ctx: &mut SyscallCtx<'_, '_>,
    fd: u64,
    operation: u64,
) -> Result<u64> {
    let f = file(ctx, fd)?;
    let kind = match operation & !LOCK_NB {
        LOCK_SH => Some(false),
        LOCK_EX => Some(true),
        LOCK_UN => None,
        _ => return Err(Errno::EINVAL),
    };
    match downcast::<InodeFile>(f) {
        Some(f) if f.is_path_only() => Err(Errno::EBADF),
        Some(f) => f.flock(kind, operation & LOCK_NB != 0).map(|_| 0),
        // Pipes and sockets: nothing else can lock them by name.
        None => Ok(0),
    }
}

/// `struct flock`: type, whence, start, len, pid.
struct Flock {
    kind: i16,
    whence: i16,
    start: i64,
    len: i64,
}

fn read_flock(addr: u64) -> Result<Flock> {
    let l = UserPtr::<abi::Flock>::new(addr).read()?;
    Ok(Flock {
        kind: l.l_type,
        whence: l.l_whence,
        start: l.l_start,
        len: l.l_len,
    })
}

/// The byte range `start..=end` a `struct flock` names for `f`.
fn range(f: &InodeFile, fl: &Flock) -> Result<(u64, u64)> {
    let base = match fl.whence {
        0 => 0,
        1 => f.offset() as i64,
        2 => f.inode().metadata()?.size as i64,
        _ => return Err(Errno::EINVAL),
    };
    let start = base.checked_add(fl.start).ok_or(Errno::EOVERFLOW)?;
    let (start, end) = match fl.len {
        0 => (start, TO_END),
        n if n > 0 => (
            start,
            start.checked_add(n - 1).ok_or(Errno::EOVERFLOW)? as u64,
        ),
        n => (
            start.checked_add(n).ok_or(Errno::EINVAL)?,
            (start - 1) as u64,
        ),
    };
    if start < 0 {
        return Err(Errno::EINVAL);
    }
    Ok((start as u64, end))
}

/// `fcntl(fd, F_GETLK | F_SETLK | F_SETLKW, &flock)`.
pub(in crate::syscall) fn record_lock(
    ctx: &SyscallCtx<'_, '_>,
    any: FileRef,
    cmd: u64,
    addr: u64,
) -> Result<u64> {
    let fl = read_flock(addr)?;
    let f = downcast::<InodeFile>(any).ok_or(Errno::EINVAL)?;
    if f.is_path_only() {
        return Err(Errno::EBADF);
    }
    let (start, end) = range(&f, &fl)?;
    let write = match fl.kind {
        F_RDLCK => false,
        F_WRLCK => true,
        F_UNLCK if cmd != F_GETLK => false,
        _ => return Err(Errno::EINVAL),
    };
    let pid = ctx.process().pid();
    let want = RecordLock {
        pid,
        start,
        end,
        write,
    };
    let key: FileKey = f.lock_key();
    if cmd == F_GETLK {
        let ptr = UserPtr::<abi::Flock>::new(addr);
        let mut out = ptr.read()?;
        match lock::conflicting(key, &want) {
            Some(c) => {
                let kind = if c.write { F_WRLCK } else { F_RDLCK };
                let len = if c.end == TO_END {
                    0
                } else {
                    c.end - c.start + 1
                };
                out = abi::Flock {
                    l_type: kind,
                    l_whence: SEEK_SET,
                    l_start: c.start as i64,
                    l_len: len as i64,
                    l_pid: c.pid,
                    ..abi::Flock::zeroed()
                };
            }
            // Only the type changes: the rest stays as the caller gave it.
            None => out.l_type = F_UNLCK,
        }
        ptr.write(&out)?;
        return Ok(0);
    }
    if fl.kind != F_UNLCK {
        let acc = f.status_flags() & O_ACCMODE;
        let allowed = if write {
            acc == O_WRONLY || acc == O_RDWR
        } else {
            acc != O_WRONLY
        };
        if !allowed {
            return Err(Errno::EBADF);
        }
    }
    lock::set_record(key, want, fl.kind == F_UNLCK, cmd == F_SETLKW)?;
    Ok(0)
}

/// The calling process closed `f`: its record locks on the file go.
pub(in crate::syscall) fn closed(ctx: &SyscallCtx<'_, '_>, f: &FileRef) {
    if let Some(f) = downcast::<InodeFile>(f.clone()) {
        lock::on_close(ctx.process().pid(), f.lock_key());
    }
}
