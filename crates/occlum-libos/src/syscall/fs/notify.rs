//! `inotify_init`, `inotify_init1`, `inotify_add_watch`,
//! `inotify_rm_watch` (`fs::inotify` has the watches and events).

use std::sync::Arc;

use super::{file, lookup_at, SyscallCtx, AT_FDCWD};
use crate::fs::inotify::{
    Inotify, IN_ALL_EVENTS, IN_DONT_FOLLOW, IN_MASK_ADD, IN_MASK_CREATE, IN_ONLYDIR,
};
use crate::fs::{downcast, FileType, O_CLOEXEC, O_NONBLOCK};
use crate::{Errno, Result};

pub(in crate::syscall) fn sys_inotify_init1(
    ctx: &mut SyscallCtx<'_, '_>,
    flags: u32,
) -> Result<u64> {
    if flags & !(O_NONBLOCK | O_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    ctx.install(
        Arc::new(Inotify::new(flags & O_NONBLOCK)),
        flags & O_CLOEXEC != 0,
    )
}

pub(in crate::syscall) fn sys_inotify_init(ctx: &mut SyscallCtx<'_, '_>) -> Result<u64> {
    sys_inotify_init1(ctx, 0)
}

fn instance(ctx: &SyscallCtx<'_, '_>, fd: u64) -> Result<Arc<Inotify>> {
    downcast::<Inotify>(file(ctx, fd)?).ok_or(Errno::EINVAL)
}

pub(in crate::syscall) fn sys_inotify_add_watch(
    ctx: &mut SyscallCtx<'_, '_>,
    fd: u64,
    pathname: u64,
    mask: u32,
) -> Result<u64> {
    let inotify = instance(ctx, fd)?;
    if mask & IN_ALL_EVENTS == 0
        || mask & (IN_MASK_ADD | IN_MASK_CREATE) == IN_MASK_ADD | IN_MASK_CREATE
    {
        return Err(Errno::EINVAL);
    }
    let follow = mask & IN_DONT_FOLLOW == 0;
    let loc = lookup_at(ctx, AT_FDCWD as u64, pathname, follow, false)?.location()?;
    if mask & IN_ONLYDIR != 0 && loc.inode().kind() != FileType::Directory {
        return Err(Errno::ENOTDIR);
    }
    Ok(inotify.add_watch(loc.inode(), mask)? as u64)
}

pub(in crate::syscall) fn sys_inotify_rm_watch(
    ctx: &mut SyscallCtx<'_, '_>,
    fd: u64,
    wd: i32,
) -> Result<u64> {
    instance(ctx, fd)?.rm_watch(wd)?;
    Ok(0)
}
