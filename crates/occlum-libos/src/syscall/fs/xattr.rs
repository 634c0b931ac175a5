//! Extended attributes (`getxattr`, `setxattr`, `listxattr`,
//! `removexattr` and their `l`/`f` forms). The ramfs (`/tmp`, `/dev/shm`)
//! stores them; on file systems that store none, reads find none
//! (`ENODATA`, an empty list) and writes fail with `EOPNOTSUPP`, as on a
//! Linux file system mounted without them.

use super::{file, lookup_at, SyscallCtx, AT_FDCWD};
use crate::fs::vfs::InodeRef;
use crate::fs::{FileRef, FileType};
use crate::user;
use crate::{Errno, Result};

/// Largest value (`XATTR_SIZE_MAX`).
const XATTR_SIZE_MAX: usize = 65536;
/// Longest name (`XATTR_NAME_MAX`).
const XATTR_NAME_MAX: usize = 255;
/// Largest list (`XATTR_LIST_MAX`).
const XATTR_LIST_MAX: usize = 65536;
const XATTR_CREATE: u64 = 1;
const XATTR_REPLACE: u64 = 2;

/// The inode a call names: by path (following a final link if `follow`)
/// or by open file.
enum By {
    Path(u64, bool),
    Fd(u64),
}

fn inode(ctx: &SyscallCtx<'_, '_>, by: By) -> Result<InodeRef> {
    match by {
        By::Path(path, follow) => {
            let loc = lookup_at(ctx, AT_FDCWD as u64, path, follow, false)?.location()?;
            Ok(loc.inode().clone())
        }
        By::Fd(fd) => {
            let f: FileRef = file(ctx, fd)?;
            Ok(f.location().ok_or(Errno::EOPNOTSUPP)?.inode().clone())
        }
    }
}

/// Reads and checks an attribute name: a known namespace (`user.`,
/// `trusted.`, `security.`), 1..=255 bytes.
fn read_name(addr: u64) -> Result<Vec<u8>> {
    let name = user::read_cstring(addr, XATTR_NAME_MAX + 1).map_err(|e| match e {
        Errno::ENAMETOOLONG => Errno::ERANGE,
        e => e,
    })?;
    if name.is_empty() {
        return Err(Errno::ERANGE);
    }
    let known = [&b"user."[..], b"trusted.", b"security."];
    if !known
        .iter()
        .any(|p| name.starts_with(p) && name.len() > p.len())
    {
        return Err(Errno::EOPNOTSUPP);
    }
    Ok(name)
}

/// `user.` attributes live on regular files and directories only.
fn check_user_ns(inode: &InodeRef, name: &[u8]) -> Result<()> {
    if name.starts_with(b"user.")
        && !matches!(inode.kind(), FileType::Regular | FileType::Directory)
    {
        return Err(Errno::EPERM);
    }
    Ok(())
}

/// Copies `data` out as `getxattr`/`listxattr` do: with a size of 0, only
/// the size it needs; too small a buffer, `ERANGE`.
fn reply(data: &[u8], addr: u64, size: u64) -> Result<u64> {
    if size == 0 {
        return Ok(data.len() as u64);
    }
    if (size as usize) < data.len() {
        return Err(Errno::ERANGE);
    }
    user::write_bytes(addr, data)?;
    Ok(data.len() as u64)
}

fn get(ctx: &SyscallCtx<'_, '_>, by: By, name: u64, value: u64, size: u64) -> Result<u64> {
    let name = read_name(name)?;
    let data = inode(ctx, by)?.get_xattr(&name)?;
    reply(&data, value, size)
}

fn set(
    ctx: &SyscallCtx<'_, '_>,
    by: By,
    name: u64,
    value: u64,
    size: u64,
    flags: u64,
) -> Result<u64> {
    let size = size as usize;
    if flags & !(XATTR_CREATE | XATTR_REPLACE) != 0 || flags == XATTR_CREATE | XATTR_REPLACE {
        return Err(Errno::EINVAL);
    }
    let name = read_name(name)?;
    if size > XATTR_SIZE_MAX {
        return Err(Errno::E2BIG);
    }
    let value = user::read_bytes(value, size)?;
    let inode = inode(ctx, by)?;
    check_user_ns(&inode, &name)?;
    if inode.fs().read_only() {
        return Err(Errno::EROFS);
    }
    inode.set_xattr(
        &name,
        &value,
        flags & XATTR_CREATE != 0,
        flags & XATTR_REPLACE != 0,
    )?;
    Ok(0)
}

fn list_names(ctx: &SyscallCtx<'_, '_>, by: By, list: u64, size: u64) -> Result<u64> {
    let mut out = Vec::new();
    for name in inode(ctx, by)?.list_xattr()? {
        out.extend_from_slice(&name);
        out.push(0);
    }
    if out.len() > XATTR_LIST_MAX {
        return Err(Errno::E2BIG);
    }
    reply(&out, list, size)
}

fn remove(ctx: &SyscallCtx<'_, '_>, by: By, name: u64) -> Result<u64> {
    let name = read_name(name)?;
    let inode = inode(ctx, by)?;
    check_user_ns(&inode, &name)?;
    inode.remove_xattr(&name)?;
    Ok(0)
}

pub(in crate::syscall) fn sys_getxattr(
    ctx: &mut SyscallCtx<'_, '_>,
    path: u64,
    name: u64,
    value: u64,
    size: u64,
) -> Result<u64> {
    get(ctx, By::Path(path, true), name, value, size)
}

pub(in crate::syscall) fn sys_lgetxattr(
    ctx: &mut SyscallCtx<'_, '_>,
    path: u64,
    name: u64,
    value: u64,
    size: u64,
) -> Result<u64> {
    get(ctx, By::Path(path, false), name, value, size)
}

pub(in crate::syscall) fn sys_fgetxattr(
    ctx: &mut SyscallCtx<'_, '_>,
    fd: u64,
    name: u64,
    value: u64,
    size: u64,
) -> Result<u64> {
    get(ctx, By::Fd(fd), name, value, size)
}

pub(in crate::syscall) fn sys_setxattr(
    ctx: &mut SyscallCtx<'_, '_>,
    path: u64,
    name: u64,
    value: u64,
    size: u64,
    flags: u64,
) -> Result<u64> {
    set(ctx, By::Path(path, true), name, value, size, flags)
}

pub(in crate::syscall) fn sys_lsetxattr(
    ctx: &mut SyscallCtx<'_, '_>,
    path: u64,
    name: u64,
    value: u64,
    size: u64,
    flags: u64,
) -> Result<u64> {
    set(ctx, By::Path(path, false), name, value, size, flags)
}

pub(in crate::syscall) fn sys_fsetxattr(
    ctx: &mut SyscallCtx<'_, '_>,
    fd: u64,
    name: u64,
    value: u64,
    size: u64,
    flags: u64,
) -> Result<u64> {
    set(ctx, By::Fd(fd), name, value, size, flags)
}

pub(in crate::syscall) fn sys_listxattr(
    ctx: &mut SyscallCtx<'_, '_>,
    path: u64,
    list: u64,
    size: u64,
) -> Result<u64> {
    list_names(ctx, By::Path(path, true), list, size)
}

pub(in crate::syscall) fn sys_llistxattr(
    ctx: &mut SyscallCtx<'_, '_>,
    path: u64,
    list: u64,
    size: u64,
) -> Result<u64> {
    list_names(ctx, By::Path(path, false), list, size)
}

pub(in crate::syscall) fn sys_flistxattr(
    ctx: &mut SyscallCtx<'_, '_>,
    fd: u64,
    list: u64,
    size: u64,
) -> Result<u64> {
    list_names(ctx, By::Fd(fd), list, size)
}

pub(in crate::syscall) fn sys_removexattr(
    ctx: &mut SyscallCtx<'_, '_>,
    path: u64,
    name: u64,
) -> Result<u64> {
    remove(ctx, By::Path(path, true), name)
}

pub(in crate::syscall) fn sys_lremovexattr(
    ctx: &mut SyscallCtx<'_, '_>,
    path: u64,
    name: u64,
) -> Result<u64> {
    remove(ctx, By::Path(path, false), name)
}

pub(in crate::syscall) fn sys_fremovexattr(
    ctx: &mut SyscallCtx<'_, '_>,
    fd: u64,
    name: u64,
) -> Result<u64> {
    remove(ctx, By::Fd(fd), name)
}
