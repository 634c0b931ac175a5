//! `open`, `openat`, `openat2`, `creat`, `close`.

use std::sync::Arc;

use super::{check_writable_fs, create_node, read_path, start_dir, SyscallCtx};
use crate::fs::vfs::{self, PathNode};
use crate::fs::{devfs, perm};
use crate::fs::{
    FileRef, FileType, InodeFile, O_ACCMODE, O_APPEND, O_CLOEXEC, O_CREAT, O_DIRECT, O_DIRECTORY,
    O_DSYNC, O_EXCL, O_LARGEFILE, O_NOATIME, O_NOCTTY, O_NOFOLLOW, O_NONBLOCK, O_PATH, O_RDWR,
    O_SYNC, O_TMPFILE, O_TRUNC, O_WRONLY,
};
use crate::{Errno, Result};

/// Most symbolic links followed while resolving one path.
const MAX_SYMLINKS: u32 = 40;
/// Flags an `O_PATH` open keeps.
const O_PATH_FLAGS: u32 = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
/// Flags kept in the open file description (`F_GETFL`).
const KEPT_FLAGS: u32 =
    O_ACCMODE | O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME | O_SYNC | O_DSYNC | O_LARGEFILE;

pub(in crate::syscall) fn sys_open(
    ctx: &mut SyscallCtx<'_, '_>,
    pathname: u64,
    flags: u32,
    mode: u32,
) -> Result<u64> {
    do_open(ctx, super::AT_FDCWD as u64, pathname, flags, mode)
}

pub(in crate::syscall) fn sys_openat(
    ctx: &mut SyscallCtx<'_, '_>,
    dirfd: u64,
    pathname: u64,
    flags: u32,
    mode: u32,
) -> Result<u64> {
    do_open(ctx, dirfd, pathname, flags, mode)
}

pub(in crate::syscall) fn sys_creat(
    ctx: &mut SyscallCtx<'_, '_>,
    pathname: u64,
    mode: u32,
) -> Result<u64> {
    do_open(
        ctx,
        super::AT_FDCWD as u64,
        pathname,
        O_CREAT | O_WRONLY | O_TRUNC,
        mode,
    )
}

pub(in crate::syscall) fn sys_close(ctx: &mut SyscallCtx<'_, '_>, fd: i32) -> Result<u64> {
    let f = ctx.process().files().remove(fd)?;
    super::lock::closed(ctx, &f);
    Ok(0)
}

fn do_open(
    ctx: &mut SyscallCtx<'_, '_>,
    dirfd: u64,
    path_addr: u64,
    flags: u32,
    mode: u32,
) -> Result<u64> {
    let path = read_path(path_addr)?;
    open_fd(ctx, dirfd, &path, flags, mode)
}

/// Opens `dirfd` + `path` (no `O_TMPFILE`; `O_PATH` keeps only its flags)
/// and gives the new file a descriptor.
fn open_fd(
    ctx: &SyscallCtx<'_, '_>,
    dirfd: u64,
    path: &[u8],
    flags: u32,
    mode: u32,
) -> Result<u64> {
    let mut flags = flags;
    if flags & O_TMPFILE == O_TMPFILE {
        return Err(Errno::EOPNOTSUPP);
    }
    if flags & O_PATH != 0 {
        flags &= O_PATH_FLAGS;
    } else {
        flags |= O_LARGEFILE;
    }
    let file = open_file(ctx, dirfd, path, flags, mode)?;
    ctx.install(file, flags & O_CLOEXEC != 0)
}

const RESOLVE_NO_XDEV: u64 = 0x01;
const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
const RESOLVE_NO_SYMLINKS: u64 = 0x04;
const RESOLVE_BENEATH: u64 = 0x08;
const RESOLVE_IN_ROOT: u64 = 0x10;
const RESOLVE_CACHED: u64 = 0x20;
/// `struct open_how` as first defined.
const OPEN_HOW_SIZE_VER0: u64 = 24;
/// Every flag `openat2` knows.
const OPEN_FLAGS: u32 = O_ACCMODE
    | O_CREAT
    | O_EXCL
    | O_NOCTTY
    | O_TRUNC
    | O_APPEND
    | O_NONBLOCK
    | O_SYNC
    | O_DIRECT
    | O_LARGEFILE
    | O_DIRECTORY
    | O_NOFOLLOW
    | O_NOATIME
    | O_CLOEXEC
    | O_PATH
    | O_TMPFILE
    | 0o20000; // FASYNC

/// `openat2`: `openat` with strict flag checks and resolution rules.
/// `RESOLVE_BENEATH` and `RESOLVE_IN_ROOT` judge `..` by the path's text
/// (a symbolic link on the way is followed as usual); `RESOLVE_NO_XDEV`
/// and `RESOLVE_NO_MAGICLINKS` are accepted and not enforced.
pub(in crate::syscall) fn sys_openat2(
    ctx: &mut SyscallCtx<'_, '_>,
    dirfd: u64,
    pathname: u64,
    how: u64,
    size: u64,
) -> Result<u64> {
    if size < OPEN_HOW_SIZE_VER0 {
        return Err(Errno::EINVAL);
    }
    if size > 4096 {
        return Err(Errno::E2BIG);
    }
    let raw = crate::user::read_bytes(how, size as usize)?;
    if raw[OPEN_HOW_SIZE_VER0 as usize..].iter().any(|b| *b != 0) {
        return Err(Errno::E2BIG);
    }
    let field = |i: usize| u64::from_le_bytes(raw[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
    let (flags, mode, resolve) = (field(0), field(1), field(2));
    let known = RESOLVE_NO_XDEV
        | RESOLVE_NO_MAGICLINKS
        | RESOLVE_NO_SYMLINKS
        | RESOLVE_BENEATH
        | RESOLVE_IN_ROOT
        | RESOLVE_CACHED;
    let creating = flags as u32 & O_CREAT != 0 || flags as u32 & O_TMPFILE == O_TMPFILE;
    if flags > u64::from(u32::MAX)
        || flags as u32 & !OPEN_FLAGS != 0
        || mode & !0o7777 != 0
        || (mode != 0 && !creating)
        || resolve & !known != 0
        || resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT) == RESOLVE_BENEATH | RESOLVE_IN_ROOT
    {
        return Err(Errno::EINVAL);
    }
    if resolve & RESOLVE_CACHED != 0 && flags as u32 & (O_CREAT | O_TRUNC) != 0 {
        return Err(Errno::EAGAIN);
    }
    let mut path = read_path(pathname)?;
    if resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT) != 0 {
        path = confine(&path, resolve & RESOLVE_IN_ROOT != 0)?;
    }
    let mut flags = flags as u32;
    if resolve & RESOLVE_NO_SYMLINKS != 0 {
        check_no_symlinks(ctx, dirfd, &path)?;
        flags |= O_NOFOLLOW;
    }
    open_fd(ctx, dirfd, &path, flags, mode as u32)
}

/// A path kept below its starting directory: with `in_root`, an absolute
/// path and `..` at the top stay at the start (`RESOLVE_IN_ROOT`);
/// otherwise they fail with `EXDEV` (`RESOLVE_BENEATH`).
fn confine(path: &[u8], in_root: bool) -> Result<Vec<u8>> {
    if path.first() == Some(&b'/') && !in_root {
        return Err(Errno::EXDEV);
    }
    let mut parts: Vec<&[u8]> = Vec::new();
    for part in path.split(|c| *c == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                if parts.pop().is_none() && !in_root {
                    return Err(Errno::EXDEV);
                }
            }
            p => parts.push(p),
        }
    }
    let mut out = parts.join(&b'/');
    if out.is_empty() {
        out.push(b'.');
    } else if path.last() == Some(&b'/') {
        out.push(b'/');
    }
    Ok(out)
}

/// `ELOOP` if any component of the path is a symbolic link
/// (`RESOLVE_NO_SYMLINKS`).
fn check_no_symlinks(ctx: &SyscallCtx<'_, '_>, dirfd: u64, path: &[u8]) -> Result<()> {
    let start = start_dir(ctx, dirfd, path)?;
    let mut prefix = Vec::new();
    if path.first() == Some(&b'/') {
        prefix.push(b'/');
    }
    for part in path.split(|c| *c == b'/').filter(|p| !p.is_empty()) {
        if !prefix.is_empty() && prefix.last() != Some(&b'/') {
            prefix.push(b'/');
        }
        prefix.extend_from_slice(part);
        match vfs::resolve(&start, &prefix, false) {
            Ok(loc) if loc.inode().kind() == FileType::Symlink => return Err(Errno::ELOOP),
            Ok(_) => {}
            // What is missing is for the open to judge O_CREAT.
            Err(_) => break,
        }
    }
    Ok(())
}

/// Opens `dirfd` + path with `flags`; the new open file description.
fn open_file(
    ctx: &SyscallCtx<'_, '_>,
    dirfd: u64,
    path: &[u8],
    flags: u32,
    mode: u32,
) -> Result<FileRef> {
    let follow = flags & O_NOFOLLOW == 0;
    let mut created = false;
    let start = start_dir(ctx, dirfd, path)?;
    let loc = if flags & O_CREAT != 0 && flags & O_PATH == 0 {
        let p = vfs::resolve_parent(&start, path)?;
        if p.trailing_slash || p.name == b"." || p.name == b".." {
            return Err(Errno::EISDIR);
        }
        let (mut dir, mut name) = (p.dir, p.name);
        let mut links = 0;
        loop {
            match dir.inode().lookup(&name) {
                Ok(_) if flags & O_EXCL != 0 => return Err(Errno::EEXIST),
                Ok(inode) => {
                    let inode = vfs::cross(inode);
                    if inode.kind() != FileType::Symlink {
                        break PathNode::child(&dir, &name, inode);
                    }
                    if !follow {
                        return Err(Errno::ELOOP);
                    }
                    if let Some(target) = inode.follow_magic() {
                        break target?;
                    }
                    // Through a symbolic link: open or create its target.
                    links += 1;
                    if links > MAX_SYMLINKS {
                        return Err(Errno::ELOOP);
                    }
                    let next = vfs::resolve_parent(&dir, &inode.read_link()?)?;
                    if next.trailing_slash || next.name == b"." || next.name == b".." {
                        return Err(Errno::EISDIR);
                    }
                    (dir, name) = (next.dir, next.name);
                }
                Err(Errno::ENOENT) => {
                    let inode = create_node(ctx, &dir, &name, FileType::Regular, mode, 0)?;
                    created = true;
                    break PathNode::child(&dir, &name, inode);
                }
                Err(e) => return Err(e),
            }
        }
    } else {
        vfs::resolve(&start, path, follow)?
    };
    let inode = loc.inode().clone();
    let kind = inode.kind();
    if flags & O_DIRECTORY != 0 && kind != FileType::Directory {
        return Err(Errno::ENOTDIR);
    }
    if flags & O_PATH != 0 {
        return Ok(InodeFile::new(loc, flags & (O_PATH | O_LARGEFILE)));
    }
    let acc = flags & O_ACCMODE;
    let wants_write = acc == O_WRONLY || acc == O_RDWR;
    match kind {
        FileType::Symlink => return Err(Errno::ELOOP),
        FileType::Directory if wants_write || flags & (O_TRUNC | O_CREAT) != 0 => {
            return Err(Errno::EISDIR)
        }
        FileType::Regular | FileType::Directory if wants_write || flags & O_TRUNC != 0 => {
            check_writable_fs(&loc)?;
        }
        _ => {}
    }
    if !created && flags & O_PATH == 0 {
        let mut want = 0;
        if acc != O_WRONLY {
            want |= perm::MAY_READ;
        }
        if wants_write || flags & O_TRUNC != 0 {
            want |= perm::MAY_WRITE;
        }
        perm::check_inode(&inode, want)?;
    }
    if let Some(special) = inode.open(flags)? {
        return Ok(special);
    }
    // Nodes whose file system gives no file of their own.
    match kind {
        FileType::Fifo => return crate::fs::fifo::open(loc, flags & KEPT_FLAGS),
        FileType::Socket => return Err(Errno::ENXIO),
        FileType::CharDevice | FileType::BlockDevice if !devfs::is_device(&inode) => {
            // A node made by mknod: the device of that number, if the LibOS has it.
            let name = devfs::name_of(kind, inode.metadata()?.rdev).ok_or(Errno::ENXIO)?;
            let dev = vfs::resolve(&vfs::root()?, &[b"/dev/", name].concat(), false)?;
            return Ok(InodeFile::new(dev, flags & KEPT_FLAGS));
        }
        _ => {}
    }
    if flags & O_TRUNC != 0 && kind == FileType::Regular && !created {
        inode.resize(0)?;
    }
    let file: Arc<InodeFile> = InodeFile::new(loc, flags & KEPT_FLAGS);
    if !created && flags & O_TRUNC != 0 && kind == FileType::Regular {
        crate::fs::inotify::file_event(&file.loc(), crate::fs::inotify::IN_MODIFY);
    }
    file.notify_open();
    Ok(file)
}
