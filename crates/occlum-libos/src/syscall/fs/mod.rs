//! File syscalls, grouped by what they work on: data (`io`), opening
//! (`open`), metadata (`stat`, `attr`), names (`dir`, `link`), locks and
//! mounts. This module resolves the `dirfd` + path pairs they share.

pub(super) mod advice;
pub(super) mod attr;
pub(super) mod dir;
pub(super) mod io;
pub(super) mod link;
pub(super) mod lock;
pub(super) mod memfd;
pub(super) mod mount;
pub(super) mod notify;
pub(super) mod open;
pub(super) mod sgx;
pub(super) mod splice;
pub(super) mod stat;
pub(super) mod tty;
pub(super) mod xattr;

use super::SyscallCtx;
use crate::fs::vfs::{self, InodeRef, Location, Parent, SetMetadata, PATH_MAX};
use crate::fs::{FileRef, FileType};
use crate::user;
use crate::{Errno, Result};

/// `AT_FDCWD`: paths relative to the working directory.
const AT_FDCWD: i32 = -100;
/// `AT_SYMLINK_NOFOLLOW`.
const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
/// `AT_REMOVEDIR` (`unlinkat`); `AT_EACCESS` for `faccessat`.
const AT_REMOVEDIR: u64 = 0x200;
/// `AT_SYMLINK_FOLLOW` (`linkat`).
const AT_SYMLINK_FOLLOW: u64 = 0x400;
/// `AT_NO_AUTOMOUNT`.
const AT_NO_AUTOMOUNT: u64 = 0x800;
/// `AT_EMPTY_PATH`.
const AT_EMPTY_PATH: u64 = 0x1000;

fn file(ctx: &SyscallCtx<'_, '_>, fd: u64) -> Result<FileRef> {
    ctx.process().files().get(fd as i32)
}

/// Reads a path argument (`ENAMETOOLONG` past `PATH_MAX`).
fn read_path(addr: u64) -> Result<Vec<u8>> {
    user::read_cstring(addr, PATH_MAX)
}

/// The directory a relative path starts from: the working directory for
/// `AT_FDCWD`, else the directory open at `dirfd`.
fn start_dir(ctx: &SyscallCtx<'_, '_>, dirfd: u64, path: &[u8]) -> Result<Location> {
    let dirfd = dirfd as i32;
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    if path.first() == Some(&b'/') || dirfd == AT_FDCWD {
        return Ok(ctx.process().fs().cwd.clone());
    }
    let loc = file(ctx, dirfd as u64)?.location().ok_or(Errno::ENOTDIR)?;
    if loc.inode().kind() != FileType::Directory {
        return Err(Errno::ENOTDIR);
    }
    Ok(loc)
}

/// What a `dirfd` + path pair names: a location, or (with `AT_EMPTY_PATH`)
/// an open file that has none, like a pipe.
enum Target {
    Loc(Location),
    File(FileRef),
}

impl Target {
    fn stat(&self) -> Result<crate::fs::Stat> {
        match self {
            Target::Loc(l) => l.inode().metadata(),
            Target::File(f) => f.stat(),
        }
    }

    fn location(self) -> Result<Location> {
        match self {
            Target::Loc(l) => Ok(l),
            Target::File(_) => Err(Errno::EBADF),
        }
    }
}

/// Resolves `dirfd` + the path at `path_addr`; a final symbolic link is
/// followed if `follow`; an empty path names `dirfd` itself if `empty_ok`.
fn lookup_at(
    ctx: &SyscallCtx<'_, '_>,
    dirfd: u64,
    path_addr: u64,
    follow: bool,
    empty_ok: bool,
) -> Result<Target> {
    let path = read_path(path_addr)?;
    if path.is_empty() {
        if !empty_ok {
            return Err(Errno::ENOENT);
        }
        if dirfd as i32 == AT_FDCWD {
            return Ok(Target::Loc(ctx.process().fs().cwd.clone()));
        }
        let f = file(ctx, dirfd)?;
        return Ok(match f.location() {
            Some(l) => Target::Loc(l),
            None => Target::File(f),
        });
    }
    let start = start_dir(ctx, dirfd, &path)?;
    vfs::resolve(&start, &path, follow).map(Target::Loc)
}

/// Resolves the parent directory of `dirfd` + the path at `path_addr`.
fn parent_at(ctx: &SyscallCtx<'_, '_>, dirfd: u64, path_addr: u64) -> Result<Parent> {
    let path = read_path(path_addr)?;
    let start = start_dir(ctx, dirfd, &path)?;
    vfs::resolve_parent(&start, &path)
}

/// Fails with `EROFS` if `loc` is on a read-only file system.
fn check_writable_fs(loc: &Location) -> Result<()> {
    if loc.inode().fs().read_only() {
        return Err(Errno::EROFS);
    }
    Ok(())
}

const S_ISGID: u32 = 0o2000;

/// Creates `name` in `dir` with `mode` less the umask. In a set-group-ID
/// directory the new file takes the directory's group, and a new directory
/// the set-group-ID bit too, as on Linux.
fn create_node(
    ctx: &SyscallCtx<'_, '_>,
    dir: &Location,
    name: &[u8],
    kind: FileType,
    mode: u32,
    rdev: u64,
) -> Result<InodeRef> {
    check_writable_fs(dir)?;
    let parent = dir.inode().metadata()?;
    crate::fs::perm::check_dir_change(dir.inode(), None)?;
    let umask = ctx.process().fs().umask;
    // mkdir takes the permission and sticky bits only; a directory is
    // set-group-ID when its parent is.
    let mode = match kind {
        FileType::Directory => mode & 0o1777,
        _ => mode & 0o7777,
    };
    let inode = dir.inode().create(name, kind, mode & !umask, rdev)?;
    let is_dir = kind == FileType::Directory;
    crate::fs::inotify::child_event(dir, name, is_dir, crate::fs::inotify::IN_CREATE, 0);
    set_creator(
        ctx,
        &inode,
        &parent,
        (kind == FileType::Directory).then_some(mode & !umask),
    )?;
    Ok(inode)
}

/// Gives a new file its creator's file-system uid, and its gid, or in a
/// set-group-ID directory the directory's group (and, for a directory
/// made there, the set-group-ID bit with its mode `dir_mode`).
fn set_creator(
    ctx: &SyscallCtx<'_, '_>,
    inode: &InodeRef,
    parent: &crate::fs::Stat,
    dir_mode: Option<u32>,
) -> Result<()> {
    let (uid, gid) = {
        let c = ctx.process().creds();
        (c.uid.fs, c.gid.fs)
    };
    let sgid = parent.perm & S_ISGID != 0;
    let gid = if sgid { parent.gid } else { gid };
    let perm = dir_mode.filter(|_| sgid).map(|m| m | S_ISGID);
    if (uid, gid) == (0, 0) && perm.is_none() {
        return Ok(());
    }
    inode.set_metadata(&SetMetadata {
        uid: (uid != 0).then_some(uid),
        gid: Some(gid),
        perm,
        ..SetMetadata::default()
    })
}
