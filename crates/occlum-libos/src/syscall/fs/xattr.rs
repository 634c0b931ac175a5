//! Extended attributes: no file system of the LibOS stores any, so reads
//! find none (`ENODATA`, an empty list) and writes are refused
//! (`EOPNOTSUPP`), as on a Linux file system mounted without xattrs. The
//! file must exist.

use super::{file, lookup_at, SyscallCtx, AT_FDCWD};
use crate::{Errno, Result};

fn exists(ctx: &SyscallCtx<'_, '_>, path: u64, follow: bool) -> Result<()> {
    lookup_at(ctx, AT_FDCWD as u64, path, follow, false).map(|_| ())
}

pub(in crate::syscall) fn sys_getxattr(ctx: &mut SyscallCtx<'_, '_>, a: [u64; 6]) -> Result<u64> {
    exists(ctx, a[0], true)?;
    Err(Errno::ENODATA)
}

pub(in crate::syscall) fn sys_lgetxattr(ctx: &mut SyscallCtx<'_, '_>, a: [u64; 6]) -> Result<u64> {
    exists(ctx, a[0], false)?;
    Err(Errno::ENODATA)
}

pub(in crate::syscall) fn sys_fgetxattr(ctx: &mut SyscallCtx<'_, '_>, a: [u64; 6]) -> Result<u64> {
    file(ctx, a[0])?;
    Err(Errno::ENODATA)
}

pub(in crate::syscall) fn sys_listxattr(ctx: &mut SyscallCtx<'_, '_>, a: [u64; 6]) -> Result<u64> {
    exists(ctx, a[0], true)?;
    Ok(0)
}

pub(in crate::syscall) fn sys_llistxattr(ctx: &mut SyscallCtx<'_, '_>, a: [u64; 6]) -> Result<u64> {
    exists(ctx, a[0], false)?;
    Ok(0)
}

pub(in crate::syscall) fn sys_flistxattr(ctx: &mut SyscallCtx<'_, '_>, a: [u64; 6]) -> Result<u64> {
    file(ctx, a[0])?;
    Ok(0)
}

pub(in crate::syscall) fn sys_setxattr(ctx: &mut SyscallCtx<'_, '_>, a: [u64; 6]) -> Result<u64> {
    exists(ctx, a[0], true)?;
    Err(Errno::EOPNOTSUPP)
}

pub(in crate::syscall) fn sys_lsetxattr(ctx: &mut SyscallCtx<'_, '_>, a: [u64; 6]) -> Result<u64> {
    exists(ctx, a[0], false)?;
    Err(Errno::EOPNOTSUPP)
}

pub(in crate::syscall) fn sys_fsetxattr(ctx: &mut SyscallCtx<'_, '_>, a: [u64; 6]) -> Result<u64> {
    file(ctx, a[0])?;
    Err(Errno::EOPNOTSUPP)
}

pub(in crate::syscall) fn sys_removexattr(
    ctx: &mut SyscallCtx<'_, '_>,
    a: [u64; 6],
) -> Result<u64> {
    exists(ctx, a[0], true)?;
    Err(Errno::ENODATA)
}

pub(in crate::syscall) fn sys_lremovexattr(
    ctx: &mut SyscallCtx<'_, '_>,
    a: [u64; 6],
) -> Result<u64> {
    exists(ctx, a[0], false)?;
    Err(Errno::ENODATA)
}

pub(in crate::syscall) fn sys_fremovexattr(
    ctx: &mut SyscallCtx<'_, '_>,
    a: [u64; 6],
) -> Result<u64> {
    file(ctx, a[0])?;
    Err(Errno::ENODATA)
}
