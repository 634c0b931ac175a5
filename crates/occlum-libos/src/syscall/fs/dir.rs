//! Directories and the nodes in them: `mkdir`, `mkdirat`, `mknod`,
//! `mknodat`, `rmdir`, `getdents`, `getdents64`, `chdir`, `fchdir`,
//! `getcwd`, `chroot`.

use super::{check_writable_fs, create_node, file, lookup_at, parent_at, SyscallCtx, AT_FDCWD};
use crate::fs::{downcast, FileType, InodeFile};
use crate::user;
use crate::{Errno, Result};

pub(in crate::syscall) fn sys_mkdir(
    ctx: &mut SyscallCtx<'_, '_>,
    pathname: u64,
    mode: u32,
) -> Result<u64> {
    mkdir_at(ctx, AT_FDCWD as u64, pathname, mode)
}

pub(in crate::syscall) fn sys_mkdirat(
    ctx: &mut SyscallCtx<'_, '_>,
    dirfd: u64,
    pathname: u64,
    mode: u32,
) -> Result<u64> {
    mkdir_at(ctx, dirfd, pathname, mode)
}

fn mkdir_at(ctx: &SyscallCtx<'_, '_>, dirfd: u64, path: u64, mode: u32) -> Result<u64> {
    let p = parent_at(ctx, dirfd, path)?;
    if p.name == b"." || p.name == b".." {
        return Err(Errno::EEXIST);
    }
    if p.dir.inode().lookup(&p.name).is_ok() {
        return Err(Errno::EEXIST);
    }
    create_node(ctx, &p.dir, &p.name, FileType::Directory, mode, 0)?;
    Ok(0)
}

pub(in crate::syscall) fn sys_mknod(
    ctx: &mut SyscallCtx<'_, '_>,
    pathname: u64,
    mode: u32,
    dev: u64,
) -> Result<u64> {
    mknod_at(ctx, AT_FDCWD as u64, pathname, mode, dev)
}

pub(in crate::syscall) fn sys_mknodat(
    ctx: &mut SyscallCtx<'_, '_>,
    dirfd: u64,
    pathname: u64,
    mode: u32,
    dev: u64,
) -> Result<u64> {
    mknod_at(ctx, dirfd, pathname, mode, dev)
}

/// Makes a regular file, FIFO, socket or device node (the LibOS runs as
/// root, which may make devices; opening one the LibOS lacks gives `ENXIO`).
fn mknod_at(ctx: &SyscallCtx<'_, '_>, dirfd: u64, path: u64, mode: u32, dev: u64) -> Result<u64> {
    let kind = match mode & 0o170000 {
        0 => FileType::Regular,
        0o040000 => return Err(Errno::EPERM),
        bits => FileType::from_mode(bits)
            .filter(|k| *k != FileType::Symlink)
            .ok_or(Errno::EINVAL)?,
    };
    let p = parent_at(ctx, dirfd, path)?;
    if p.name == b"." || p.name == b".." || p.trailing_slash {
        return Err(Errno::EEXIST);
    }
    if p.dir.inode().lookup(&p.name).is_ok() {
        return Err(Errno::EEXIST);
    }
    let rdev = match kind {
        // The kernel takes an `unsigned int` in `stat`'s encoding.
        FileType::CharDevice | FileType::BlockDevice => dev & 0xffff_ffff,
        _ => 0,
    };
    create_node(ctx, &p.dir, &p.name, kind, mode, rdev)?;
    Ok(0)
}

pub(in crate::syscall) fn sys_rmdir(ctx: &mut SyscallCtx<'_, '_>, pathname: u64) -> Result<u64> {
    rmdir_at(ctx, AT_FDCWD as u64, pathname)
}

/// Removes the directory at `dirfd` + path.
pub(in crate::syscall) fn rmdir_at(ctx: &SyscallCtx<'_, '_>, dirfd: u64, path: u64) -> Result<u64> {
    let p = parent_at(ctx, dirfd, path)?;
    match &p.name[..] {
        b"." if p.dir.path() == b"/" => return Err(Errno::EBUSY),
        b"." => return Err(Errno::EINVAL),
        b".." => return Err(Errno::ENOTEMPTY),
        _ => {}
    }
    let victim = p.dir.inode().lookup(&p.name)?;
    if victim.kind() != FileType::Directory {
        return Err(Errno::ENOTDIR);
    }
    if !std::sync::Arc::ptr_eq(&crate::fs::vfs::cross(victim.clone()), &victim) {
        return Err(Errno::EBUSY);
    }
    check_writable_fs(&p.dir)?;
    crate::fs::perm::check_dir_change(p.dir.inode(), Some(&victim))?;
    p.dir.inode().rmdir(&p.name)?;
    crate::fs::inotify::child_event(&p.dir, &p.name, true, crate::fs::inotify::IN_DELETE, 0);
    crate::fs::inotify::self_event(&victim, crate::fs::inotify::IN_DELETE_SELF);
    Ok(0)
}

/// The two directory entry layouts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Dirent {
    /// `struct linux_dirent64`: ino, off, reclen, type, name.
    V64,
    /// `struct linux_dirent` (`getdents`): ino, off, reclen, name, and the
    /// type in the record's last byte.
    Old,
}

impl Dirent {
    fn header(self) -> usize {
        match self {
            Dirent::V64 => 19,
            Dirent::Old => 18,
        }
    }

    fn len(self, name_len: usize) -> usize {
        let trailer = if self == Dirent::Old { 2 } else { 1 };
        (self.header() + name_len + trailer).next_multiple_of(8)
    }
}

pub(in crate::syscall) fn sys_getdents64(
    ctx: &mut SyscallCtx<'_, '_>,
    fd: u64,
    dirp: u64,
    count: u64,
) -> Result<u64> {
    getdents(ctx, fd, dirp, count, Dirent::V64)
}

pub(in crate::syscall) fn sys_getdents(
    ctx: &mut SyscallCtx<'_, '_>,
    fd: u64,
    dirp: u64,
    count: u64,
) -> Result<u64> {
    getdents(ctx, fd, dirp, count, Dirent::Old)
}

fn getdents(
    ctx: &SyscallCtx<'_, '_>,
    fd: u64,
    buf: u64,
    count: u64,
    layout: Dirent,
) -> Result<u64> {
    let count = (count as usize).min(1 << 20);
    let f = downcast::<InodeFile>(file(ctx, fd)?).ok_or(Errno::ENOTDIR)?;
    user::check_access(buf, count, crate::vm::PROT_WRITE)?;
    let mut used = 0;
    let (entries, full) = f.read_dir(|name| {
        let len = layout.len(name.len());
        if used + len > count {
            return false;
        }
        used += len;
        true
    })?;
    if entries.is_empty() && full {
        return Err(Errno::EINVAL);
    }
    let mut out = Vec::with_capacity(used);
    for (off, ino, kind, name) in &entries {
        let start = out.len();
        let len = layout.len(name.len());
        out.extend_from_slice(&ino.to_le_bytes());
        out.extend_from_slice(&off.to_le_bytes());
        out.extend_from_slice(&(len as u16).to_le_bytes());
        if layout == Dirent::V64 {
            out.push(*kind);
        }
        out.extend_from_slice(name);
        out.resize(start + len, 0);
        if layout == Dirent::Old {
            out[start + len - 1] = *kind;
        }
    }
    user::write_bytes(buf, &out)?;
    Ok(out.len() as u64)
}

pub(in crate::syscall) fn sys_chdir(ctx: &mut SyscallCtx<'_, '_>, path: u64) -> Result<u64> {
    let loc = lookup_at(ctx, AT_FDCWD as u64, path, true, false)?.location()?;
    if loc.inode().kind() != FileType::Directory {
        return Err(Errno::ENOTDIR);
    }
    ctx.process().fs().cwd = loc;
    Ok(0)
}

pub(in crate::syscall) fn sys_fchdir(ctx: &mut SyscallCtx<'_, '_>, fd: u64) -> Result<u64> {
    let loc = file(ctx, fd)?.location().ok_or(Errno::ENOTDIR)?;
    if loc.inode().kind() != FileType::Directory {
        return Err(Errno::ENOTDIR);
    }
    ctx.process().fs().cwd = loc;
    Ok(0)
}

pub(in crate::syscall) fn sys_getcwd(
    ctx: &mut SyscallCtx<'_, '_>,
    buf: u64,
    size: u64,
) -> Result<u64> {
    let cwd = ctx.process().fs().cwd.clone();
    if cwd.inode().metadata()?.nlink == 0 {
        return Err(Errno::ENOENT);
    }
    let mut path = crate::fs::vfs::visible_path(&cwd);
    path.push(0);
    if size == 0 {
        return Err(Errno::EINVAL);
    }
    if (size as usize) < path.len() {
        return Err(Errno::ERANGE);
    }
    user::write_bytes(buf, &path)?;
    Ok(path.len() as u64)
}

/// `chroot`: the process's root becomes the directory at the path (the
/// working directory stays, as on Linux); needs `CAP_SYS_CHROOT`.
pub(in crate::syscall) fn sys_chroot(ctx: &mut SyscallCtx<'_, '_>, path: u64) -> Result<u64> {
    const CAP_SYS_CHROOT: u32 = 18;
    let loc = lookup_at(ctx, AT_FDCWD as u64, path, true, false)?.location()?;
    if loc.inode().kind() != FileType::Directory {
        return Err(Errno::ENOTDIR);
    }
    if !ctx.process().creds().capable(CAP_SYS_CHROOT) {
        return Err(Errno::EPERM);
    }
    ctx.process().fs().root = Some(loc);
    Ok(0)
}
