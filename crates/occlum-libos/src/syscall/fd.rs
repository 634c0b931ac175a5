//! Descriptor syscalls: `pipe`, `pipe2`, `dup`, `dup2`, `dup3`, `fcntl`.

use super::SyscallCtx;
use crate::abi::UserPtr;
use crate::fs::{pipe, Fd, FileRef, O_CLOEXEC, O_NONBLOCK};
use crate::{Errno, Result};

const F_DUPFD: u64 = 0;
const F_GETFD: u64 = 1;
const F_SETFD: u64 = 2;
const F_GETFL: u64 = 3;
const F_SETFL: u64 = 4;
const F_SETOWN: u64 = 8;
const F_GETOWN: u64 = 9;
const F_DUPFD_CLOEXEC: u64 = 1030;
const F_SETPIPE_SZ: u64 = 1031;
const F_GETPIPE_SZ: u64 = 1032;
const FD_CLOEXEC: u64 = 1;
const O_DIRECT: u32 = 0o40000;
/// Status flags `F_SETFL` may change (`O_APPEND`, `O_ASYNC`, `O_DIRECT`,
/// `O_NOATIME`, `O_NONBLOCK`).
const SETFL_MASK: u32 = 0o2000 | 0o20000 | O_DIRECT | 0o1000000 | O_NONBLOCK;

pub(super) fn sys_pipe(ctx: &mut SyscallCtx<'_, '_>, pipefd: u64) -> Result<u64> {
    sys_pipe2(ctx, pipefd, 0)
}

pub(super) fn sys_pipe2(ctx: &mut SyscallCtx<'_, '_>, pipefd: u64, flags: u32) -> Result<u64> {
    if flags & !(O_CLOEXEC | O_NONBLOCK | O_DIRECT) != 0 {
        return Err(Errno::EINVAL);
    }
    let (r, w) = pipe::new_pipe(flags & O_NONBLOCK);
    install_pair(ctx, r, w, flags & O_CLOEXEC != 0, pipefd)
}

/// Installs two new files at the lowest free descriptors and writes the two
/// numbers (`int[2]`) to `addr`; nothing stays installed on failure
/// (`pipe2`, `socketpair`).
pub(super) fn install_pair(
    ctx: &SyscallCtx<'_, '_>,
    a: FileRef,
    b: FileRef,
    cloexec: bool,
    addr: u64,
) -> Result<u64> {
    let limit = ctx.process().rlimits().nofile();
    let (fa, fb) = {
        let mut files = ctx.process().files();
        let fa = files.insert(a, cloexec, limit)?;
        match files.insert(b, cloexec, limit) {
            Ok(fb) => (fa, fb),
            Err(e) => {
                let _ = files.remove(fa);
                return Err(e);
            }
        }
    };
    if let Err(e) = UserPtr::<[i32; 2]>::new(addr).write(&[fa, fb]) {
        let mut files = ctx.process().files();
        let _ = files.remove(fa);
        let _ = files.remove(fb);
        return Err(e);
    }
    Ok(0)
}

pub(super) fn sys_dup(ctx: &mut SyscallCtx<'_, '_>, oldfd: u64) -> Result<u64> {
    let limit = ctx.process().rlimits().nofile();
    let mut files = ctx.process().files();
    let f = files.get(oldfd as Fd)?;
    files.insert(f, false, limit).map(|fd| fd as u64)
}

fn dup_to(ctx: &mut SyscallCtx<'_, '_>, old: Fd, new: Fd, cloexec: bool) -> Result<u64> {
    let limit = ctx.process().rlimits().nofile();
    let replaced: Option<FileRef> = {
        let mut files = ctx.process().files();
        let f = files.get(old)?;
        files.insert_at(new, f, cloexec, limit)?
    };
    if let Some(r) = &replaced {
        super::fs::lock::closed(ctx, r);
    }
    drop(replaced);
    Ok(new as u64)
}

pub(super) fn sys_dup2(ctx: &mut SyscallCtx<'_, '_>, old: i32, new: i32) -> Result<u64> {
    if old == new {
        ctx.process().files().get(old)?;
        return Ok(new as u64);
    }
    dup_to(ctx, old, new, false)
}

pub(super) fn sys_dup3(
    ctx: &mut SyscallCtx<'_, '_>,
    old: i32,
    new: i32,
    flags: u32,
) -> Result<u64> {
    if flags & !O_CLOEXEC != 0 || old == new {
        return Err(Errno::EINVAL);
    }
    dup_to(ctx, old, new, flags & O_CLOEXEC != 0)
}

pub(super) fn sys_fcntl(ctx: &mut SyscallCtx<'_, '_>, fd: Fd, cmd: u64, arg: u64) -> Result<u64> {
    use super::fs::lock::{record_lock, F_GETLK, F_SETLK, F_SETLKW};
    if matches!(cmd, F_GETLK | F_SETLK | F_SETLKW) {
        let f = ctx.process().files().get(fd)?;
        return record_lock(ctx, f, cmd, arg);
    }
    let limit = ctx.process().rlimits().nofile();
    let mut files = ctx.process().files();
    match cmd {
        F_DUPFD | F_DUPFD_CLOEXEC => {
            let min = Fd::try_from(arg).map_err(|_| Errno::EINVAL)?;
            if min as usize >= limit {
                return Err(Errno::EINVAL);
            }
            let f = files.get(fd)?;
            files
                .insert_from(min, f, cmd == F_DUPFD_CLOEXEC, limit)
                .map(|fd| fd as u64)
        }
        F_GETFD => Ok(if files.close_on_exec(fd)? {
            FD_CLOEXEC
        } else {
            0
        }),
        F_SETFD => files
            .set_close_on_exec(fd, arg & FD_CLOEXEC != 0)
            .map(|_| 0),
        F_GETFL => Ok(files.get(fd)?.status_flags() as u64),
        F_SETFL => {
            let f = files.get(fd)?;
            let old = f.status_flags();
            f.set_status_flags((old & !SETFL_MASK) | (arg as u32 & SETFL_MASK));
            Ok(0)
        }
        F_SETOWN => {
            let f = files.get(fd)?;
            drop(files);
            // A process (pid > 0) or process group (-pgid) that exists.
            let owner = arg as i32;
            let exists = owner == 0
                || (owner > 0 && crate::process::get_process(owner).is_some())
                || (owner < 0
                    && crate::process::all_processes()
                        .iter()
                        .any(|p| p.state().pgid == owner.wrapping_neg()));
            if !exists {
                return Err(Errno::ESRCH);
            }
            crate::fs::owner::set(&f, owner);
            Ok(0)
        }
        F_GETOWN => Ok(crate::fs::owner::get(&files.get(fd)?) as i64 as u64),
        F_GETPIPE_SZ => crate::fs::pipe::capacity(&files.get(fd)?)
            .map(|n| n as u64)
            .ok_or(Errno::EBADF),
        F_SETPIPE_SZ => crate::fs::pipe::set_capacity(&files.get(fd)?, arg)
            .ok_or(Errno::EBADF)?
            .map(|n| n as u64),
        _ => Err(Errno::EINVAL),
    }
}
