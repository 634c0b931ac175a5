//! Names: `unlink`, `unlinkat`, `rename`, `renameat`, `renameat2`, `link`,
//! `linkat`, `symlink`, `symlinkat`, `readlink`, `readlinkat`.

use std::sync::Arc;

use super::dir::rmdir_at;
use super::{
    check_writable_fs, lookup_at, parent_at, read_path, SyscallCtx, AT_EMPTY_PATH, AT_FDCWD,
    AT_REMOVEDIR, AT_SYMLINK_FOLLOW,
};
use crate::fs::vfs::{Location, RenameFlags};
use crate::fs::FileType;
use crate::fs::{inotify, perm};
use crate::user;
use crate::{Errno, Result};

const RENAME_NOREPLACE: u64 = 1;
const RENAME_EXCHANGE: u64 = 2;
const RENAME_WHITEOUT: u64 = 4;

pub(in crate::syscall) fn sys_unlink(ctx: &mut SyscallCtx<'_, '_>, pathname: u64) -> Result<u64> {
    unlink_at(ctx, AT_FDCWD as u64, pathname)
}

pub(in crate::syscall) fn sys_unlinkat(
    ctx: &mut SyscallCtx<'_, '_>,
    dirfd: u64,
    pathname: u64,
    flags: u64,
) -> Result<u64> {
    match flags {
        0 => unlink_at(ctx, dirfd, pathname),
        AT_REMOVEDIR => rmdir_at(ctx, dirfd, pathname),
        _ => Err(Errno::EINVAL),
    }
}

fn unlink_at(ctx: &SyscallCtx<'_, '_>, dirfd: u64, path: u64) -> Result<u64> {
    let p = parent_at(ctx, dirfd, path)?;
    if p.name == b"." || p.name == b".." {
        return Err(Errno::EISDIR);
    }
    let victim = p.dir.inode().lookup(&p.name)?;
    if victim.kind() == FileType::Directory {
        return Err(Errno::EISDIR);
    }
    if p.trailing_slash {
        return Err(Errno::ENOTDIR);
    }
    check_writable_fs(&p.dir)?;
    perm::check_dir_change(p.dir.inode(), Some(&victim))?;
    p.dir.inode().unlink(&p.name)?;
    // The link count changed; with no link left the file is gone (Linux
    // says so when the last open file closes, too). Then the directory's
    // event, in Linux's order.
    inotify::self_event(&victim, inotify::IN_ATTRIB);
    if victim.metadata().map_or(true, |m| m.nlink == 0) {
        inotify::self_event(&victim, inotify::IN_DELETE_SELF);
    }
    inotify::child_event(&p.dir, &p.name, false, inotify::IN_DELETE, 0);
    Ok(0)
}

pub(in crate::syscall) fn sys_rename(
    ctx: &mut SyscallCtx<'_, '_>,
    oldpath: u64,
    newpath: u64,
) -> Result<u64> {
    rename_at(ctx, AT_FDCWD as u64, oldpath, AT_FDCWD as u64, newpath, 0)
}

pub(in crate::syscall) fn sys_renameat(
    ctx: &mut SyscallCtx<'_, '_>,
    olddirfd: u64,
    oldpath: u64,
    newdirfd: u64,
    newpath: u64,
) -> Result<u64> {
    rename_at(ctx, olddirfd, oldpath, newdirfd, newpath, 0)
}

pub(in crate::syscall) fn sys_renameat2(
    ctx: &mut SyscallCtx<'_, '_>,
    olddirfd: u64,
    oldpath: u64,
    newdirfd: u64,
    newpath: u64,
    flags: u64,
) -> Result<u64> {
    rename_at(ctx, olddirfd, oldpath, newdirfd, newpath, flags)
}

/// Whether `loc` is `inode_of` or lies below it.
fn is_within(loc: &Location, dev: u64, ino: u64) -> bool {
    let mut cur = loc.clone();
    loop {
        let i = cur.inode();
        if i.ino() == ino && i.fs().dev() == dev {
            return true;
        }
        let parent = cur.parent();
        if Arc::ptr_eq(&parent, &cur) {
            return false;
        }
        cur = parent;
    }
}

fn rename_at(
    ctx: &SyscallCtx<'_, '_>,
    old_dirfd: u64,
    old_path: u64,
    new_dirfd: u64,
    new_path: u64,
    flags: u64,
) -> Result<u64> {
    if flags & !(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT) != 0
        || (flags & RENAME_NOREPLACE != 0 && flags & RENAME_EXCHANGE != 0)
    {
        return Err(Errno::EINVAL);
    }
    if flags & RENAME_WHITEOUT != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    let from = parent_at(ctx, old_dirfd, old_path)?;
    let to = parent_at(ctx, new_dirfd, new_path)?;
    for name in [&from.name, &to.name] {
        if name == b"." || name == b".." {
            return Err(Errno::EBUSY);
        }
    }
    let moving = from.dir.inode().lookup(&from.name)?;
    let target = to.dir.inode().lookup(&to.name);
    let is_dir = moving.kind() == FileType::Directory;
    if (from.trailing_slash || to.trailing_slash) && !is_dir {
        return Err(Errno::ENOTDIR);
    }
    let (fs_from, fs_to) = (from.dir.inode().fs(), to.dir.inode().fs());
    if fs_from.dev() != fs_to.dev() {
        return Err(Errno::EXDEV);
    }
    if let Ok(t) = &target {
        if t.ino() == moving.ino() {
            return Ok(0);
        }
        if flags & RENAME_NOREPLACE != 0 {
            return Err(Errno::EEXIST);
        }
    } else if flags & RENAME_EXCHANGE != 0 {
        return Err(Errno::ENOENT);
    }
    if is_dir && is_within(&to.dir, fs_from.dev(), moving.ino()) {
        return Err(Errno::EINVAL);
    }
    if flags & RENAME_EXCHANGE != 0 {
        if let Ok(t) = &target {
            if t.kind() == FileType::Directory && is_within(&from.dir, fs_from.dev(), t.ino()) {
                return Err(Errno::EINVAL);
            }
        }
    }
    check_writable_fs(&from.dir)?;
    let moving = from.dir.inode().lookup(&from.name)?;
    perm::check_dir_change(from.dir.inode(), Some(&moving))?;
    let replaced = to.dir.inode().lookup(&to.name).ok();
    perm::check_dir_change(to.dir.inode(), replaced.as_ref())?;
    let rf = RenameFlags {
        no_replace: flags & RENAME_NOREPLACE != 0,
        exchange: flags & RENAME_EXCHANGE != 0,
    };
    from.dir
        .inode()
        .rename(&from.name, to.dir.inode(), &to.name, rf)?;
    if inotify::active() {
        let is_dir = moving.kind() == FileType::Directory;
        let cookie = inotify::next_cookie();
        inotify::child_event(
            &from.dir,
            &from.name,
            is_dir,
            inotify::IN_MOVED_FROM,
            cookie,
        );
        inotify::child_event(&to.dir, &to.name, is_dir, inotify::IN_MOVED_TO, cookie);
        inotify::self_event(&moving, inotify::IN_MOVE_SELF);
    }
    Ok(0)
}

pub(in crate::syscall) fn sys_link(
    ctx: &mut SyscallCtx<'_, '_>,
    oldpath: u64,
    newpath: u64,
) -> Result<u64> {
    link_at(ctx, AT_FDCWD as u64, oldpath, AT_FDCWD as u64, newpath, 0)
}

pub(in crate::syscall) fn sys_linkat(
    ctx: &mut SyscallCtx<'_, '_>,
    olddirfd: u64,
    oldpath: u64,
    newdirfd: u64,
    newpath: u64,
    flags: u64,
) -> Result<u64> {
    link_at(ctx, olddirfd, oldpath, newdirfd, newpath, flags)
}

fn link_at(
    ctx: &SyscallCtx<'_, '_>,
    old_dirfd: u64,
    old_path: u64,
    new_dirfd: u64,
    new_path: u64,
    flags: u64,
) -> Result<u64> {
    if flags & !(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let src = lookup_at(
        ctx,
        old_dirfd,
        old_path,
        flags & AT_SYMLINK_FOLLOW != 0,
        flags & AT_EMPTY_PATH != 0,
    )?
    .location()?;
    let to = parent_at(ctx, new_dirfd, new_path)?;
    if to.name == b"." || to.name == b".." || to.dir.inode().lookup(&to.name).is_ok() {
        return Err(Errno::EEXIST);
    }
    if src.inode().kind() == FileType::Directory {
        return Err(Errno::EPERM);
    }
    if src.inode().fs().dev() != to.dir.inode().fs().dev() {
        return Err(Errno::EXDEV);
    }
    check_writable_fs(&to.dir)?;
    perm::check_dir_change(to.dir.inode(), None)?;
    to.dir.inode().link(&to.name, src.inode())?;
    inotify::self_event(src.inode(), inotify::IN_ATTRIB);
    inotify::child_event(&to.dir, &to.name, false, inotify::IN_CREATE, 0);
    Ok(0)
}

pub(in crate::syscall) fn sys_symlink(
    ctx: &mut SyscallCtx<'_, '_>,
    target: u64,
    linkpath: u64,
) -> Result<u64> {
    symlink_at(ctx, target, AT_FDCWD as u64, linkpath)
}

pub(in crate::syscall) fn sys_symlinkat(
    ctx: &mut SyscallCtx<'_, '_>,
    target: u64,
    newdirfd: u64,
    linkpath: u64,
) -> Result<u64> {
    symlink_at(ctx, target, newdirfd, linkpath)
}

fn symlink_at(ctx: &SyscallCtx<'_, '_>, target: u64, dirfd: u64, path: u64) -> Result<u64> {
    let target = read_path(target)?;
    if target.is_empty() {
        return Err(Errno::ENOENT);
    }
    let p = parent_at(ctx, dirfd, path)?;
    if p.name == b"." || p.name == b".." || p.dir.inode().lookup(&p.name).is_ok() {
        return Err(Errno::EEXIST);
    }
    check_writable_fs(&p.dir)?;
    perm::check_dir_change(p.dir.inode(), None)?;
    let link = p.dir.inode().symlink(&p.name, &target)?;
    perm::give_to_caller(&link)?;
    inotify::child_event(&p.dir, &p.name, false, inotify::IN_CREATE, 0);
    Ok(0)
}

pub(in crate::syscall) fn sys_readlink(
    ctx: &mut SyscallCtx<'_, '_>,
    pathname: u64,
    buf: u64,
    bufsiz: u64,
) -> Result<u64> {
    readlink_at(ctx, AT_FDCWD as u64, pathname, buf, bufsiz)
}

pub(in crate::syscall) fn sys_readlinkat(
    ctx: &mut SyscallCtx<'_, '_>,
    dirfd: u64,
    pathname: u64,
    buf: u64,
    bufsiz: u64,
) -> Result<u64> {
    readlink_at(ctx, dirfd, pathname, buf, bufsiz)
}

fn readlink_at(
    ctx: &SyscallCtx<'_, '_>,
    dirfd: u64,
    path: u64,
    buf: u64,
    size: u64,
) -> Result<u64> {
    if size as i32 <= 0 {
        return Err(Errno::EINVAL);
    }
    // An empty path names `dirfd` itself (an O_PATH descriptor of a link).
    let loc = lookup_at(ctx, dirfd, path, false, dirfd as i32 != AT_FDCWD)?.location()?;
    let inode = loc.inode();
    if inode.kind() != FileType::Symlink {
        return Err(Errno::EINVAL);
    }
    let text = inode.read_link()?;
    let n = text.len().min(size as usize);
    user::write_bytes(buf, &text[..n])?;
    Ok(n as u64)
}
