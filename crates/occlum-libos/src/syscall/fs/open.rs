//! `open`, `openat`, `creat`, `close`.

use std::sync::Arc;

use super::{check_writable_fs, create_node, parent_at, read_path, start_dir, SyscallCtx};
use crate::fs::devfs;
use crate::fs::vfs::{self, PathNode};
use crate::fs::{
    FileRef, FileType, InodeFile, O_ACCMODE, O_APPEND, O_CLOEXEC, O_CREAT, O_DIRECT, O_DIRECTORY,
    O_DSYNC, O_EXCL, O_LARGEFILE, O_NOATIME, O_NOFOLLOW, O_NONBLOCK, O_PATH, O_RDWR, O_SYNC,
    O_TMPFILE, O_TRUNC, O_WRONLY,
};
use crate::{Errno, Result};

/// Most symbolic links followed while resolving one path.
const MAX_SYMLINKS: u32 = 40;
/// Flags an `O_PATH` open keeps.
const O_PATH_FLAGS: u32 = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
/// Flags kept in the open file description (`F_GETFL`).
const KEPT_FLAGS: u32 =
    O_ACCMODE | O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME | O_SYNC | O_DSYNC | O_LARGEFILE;

pub(in crate::syscall) fn sys_open(ctx: &mut SyscallCtx<'_, '_>, a: [u64; 6]) -> Result<u64> {
    do_open(ctx, super::AT_FDCWD as u64, a[0], a[1] as u32, a[2] as u32)
}

pub(in crate::syscall) fn sys_openat(ctx: &mut SyscallCtx<'_, '_>, a: [u64; 6]) -> Result<u64> {
    do_open(ctx, a[0], a[1], a[2] as u32, a[3] as u32)
}

pub(in crate::syscall) fn sys_creat(ctx: &mut SyscallCtx<'_, '_>, a: [u64; 6]) -> Result<u64> {
    do_open(
        ctx,
        super::AT_FDCWD as u64,
        a[0],
        O_CREAT | O_WRONLY | O_TRUNC,
        a[1] as u32,
    )
}

pub(in crate::syscall) fn sys_close(ctx: &mut SyscallCtx<'_, '_>, a: [u64; 6]) -> Result<u64> {
    let f = ctx.process().files().remove(a[0] as i32)?;
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
    let mut flags = flags;
    if flags & O_TMPFILE == O_TMPFILE {
        return Err(Errno::EOPNOTSUPP);
    }
    if flags & O_PATH != 0 {
        flags &= O_PATH_FLAGS;
    } else {
        flags |= O_LARGEFILE;
    }
    let file = open_file(ctx, dirfd, path_addr, flags, mode)?;
    let limit = ctx.process().rlimits().nofile();
    let fd = ctx
        .process()
        .files()
        .insert(file, flags & O_CLOEXEC != 0, limit)?;
    Ok(fd as u64)
}

/// Opens `dirfd` + path with `flags`; the new open file description.
pub(in crate::syscall) fn open_file(
    ctx: &SyscallCtx<'_, '_>,
    dirfd: u64,
    path_addr: u64,
    flags: u32,
    mode: u32,
) -> Result<FileRef> {
    let follow = flags & O_NOFOLLOW == 0;
    let mut created = false;
    let loc = if flags & O_CREAT != 0 && flags & O_PATH == 0 {
        let p = parent_at(ctx, dirfd, path_addr)?;
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
        let path = read_path(path_addr)?;
        let start = start_dir(ctx, dirfd, &path)?;
        vfs::resolve(&start, &path, follow)?
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
    Ok(file)
}
