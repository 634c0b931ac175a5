//! Metadata and sizes: `chmod` family, `chown` family, `truncate`,
//! `ftruncate`, `fallocate`, `fsync`, `fdatasync`, `sync`, `syncfs`,
//! `access` family, `umask`, `utimensat`, `futimesat`, `utimes`, `utime`.

use super::{
    check_writable_fs, file, lookup_at, SyscallCtx, Target, AT_EMPTY_PATH, AT_FDCWD,
    AT_REMOVEDIR as AT_EACCESS, AT_SYMLINK_NOFOLLOW,
};
use crate::abi::{self, UserPtr};
use crate::fs::vfs::{self, Location, SetMetadata};
use crate::fs::{downcast, FileType, InodeFile, Timespec};
use crate::fs::{inotify, perm};
use crate::{Errno, Result};

const UTIME_NOW: i64 = (1 << 30) - 1;
const UTIME_OMIT: i64 = (1 << 30) - 2;
const S_ISUID: u32 = 0o4000;
const S_ISGID: u32 = 0o2000;
const S_IXGRP: u32 = 0o010;

fn location_of_fd(ctx: &SyscallCtx<'_, '_>, fd: u64) -> Result<Location> {
    let f = file(ctx, fd)?;
    if downcast::<InodeFile>(f.clone()).is_some_and(|f| f.is_path_only()) {
        return Err(Errno::EBADF);
    }
    f.location().ok_or(Errno::EINVAL)
}

fn chmod_loc(loc: &Location, mode: u32) -> Result<u64> {
    check_writable_fs(loc)?;
    perm::check_owner(&loc.inode().metadata()?)?;
    loc.inode().set_metadata(&SetMetadata {
        perm: Some(mode & 0o7777),
        ..SetMetadata::default()
    })?;
    inotify::file_event(loc, inotify::IN_ATTRIB);
    Ok(0)
}

pub(in crate::syscall) fn sys_chmod(
    ctx: &mut SyscallCtx<'_, '_>,
    pathname: u64,
    mode: u32,
) -> Result<u64> {
    chmod_loc(
        &lookup_at(ctx, AT_FDCWD as u64, pathname, true, false)?.location()?,
        mode,
    )
}

pub(in crate::syscall) fn sys_fchmod(
    ctx: &mut SyscallCtx<'_, '_>,
    fd: u64,
    mode: u32,
) -> Result<u64> {
    chmod_loc(&location_of_fd(ctx, fd)?, mode)
}

pub(in crate::syscall) fn sys_fchmodat(
    ctx: &mut SyscallCtx<'_, '_>,
    dirfd: u64,
    pathname: u64,
    mode: u32,
) -> Result<u64> {
    chmod_loc(
        &lookup_at(ctx, dirfd, pathname, true, false)?.location()?,
        mode,
    )
}

pub(in crate::syscall) fn sys_fchmodat2(
    ctx: &mut SyscallCtx<'_, '_>,
    dirfd: u64,
    pathname: u64,
    mode: u32,
    flags: u64,
) -> Result<u64> {
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let follow = flags & AT_SYMLINK_NOFOLLOW == 0;
    let loc = lookup_at(ctx, dirfd, pathname, follow, flags & AT_EMPTY_PATH != 0)?.location()?;
    if loc.inode().kind() == FileType::Symlink {
        // A symbolic link's mode cannot change.
        return Err(Errno::EOPNOTSUPP);
    }
    chmod_loc(&loc, mode)
}

fn chown_loc(loc: &Location, uid: u64, gid: u64) -> Result<u64> {
    check_writable_fs(loc)?;
    let inode = loc.inode();
    let id = |v: u64| (v as u32 != u32::MAX).then_some(v as u32);
    perm::check_chown(&inode.metadata()?, id(uid), id(gid))?;
    let mut set = SetMetadata {
        uid: id(uid),
        gid: id(gid),
        ..SetMetadata::default()
    };
    // As on Linux, changing the owner of a non-directory drops its set-user-ID
    // bit, and its set-group-ID bit when group execution is allowed.
    if inode.kind() != FileType::Directory {
        let perm = inode.metadata()?.perm;
        let mut kept = perm & !S_ISUID;
        if perm & S_IXGRP != 0 {
            kept &= !S_ISGID;
        }
        if kept != perm {
            set.perm = Some(kept);
        }
    }
    inode.set_metadata(&set)?;
    inotify::file_event(loc, inotify::IN_ATTRIB);
    Ok(0)
}

pub(in crate::syscall) fn sys_chown(
    ctx: &mut SyscallCtx<'_, '_>,
    pathname: u64,
    owner: u64,
    group: u64,
) -> Result<u64> {
    chown_loc(
        &lookup_at(ctx, AT_FDCWD as u64, pathname, true, false)?.location()?,
        owner,
        group,
    )
}

pub(in crate::syscall) fn sys_lchown(
    ctx: &mut SyscallCtx<'_, '_>,
    pathname: u64,
    owner: u64,
    group: u64,
) -> Result<u64> {
    chown_loc(
        &lookup_at(ctx, AT_FDCWD as u64, pathname, false, false)?.location()?,
        owner,
        group,
    )
}

pub(in crate::syscall) fn sys_fchown(
    ctx: &mut SyscallCtx<'_, '_>,
    fd: u64,
    owner: u64,
    group: u64,
) -> Result<u64> {
    chown_loc(&location_of_fd(ctx, fd)?, owner, group)
}

pub(in crate::syscall) fn sys_fchownat(
    ctx: &mut SyscallCtx<'_, '_>,
    dirfd: u64,
    pathname: u64,
    owner: u64,
    group: u64,
    flags: u64,
) -> Result<u64> {
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let loc = lookup_at(
        ctx,
        dirfd,
        pathname,
        flags & AT_SYMLINK_NOFOLLOW == 0,
        flags & AT_EMPTY_PATH != 0,
    )?
    .location()?;
    chown_loc(&loc, owner, group)
}

fn truncate_loc(loc: &Location, len: u64) -> Result<u64> {
    if (len as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    match loc.inode().kind() {
        FileType::Directory => return Err(Errno::EISDIR),
        FileType::Regular => {}
        _ => return Err(Errno::EINVAL),
    }
    check_writable_fs(loc)?;
    perm::check_inode(loc.inode(), perm::MAY_WRITE)?;
    loc.inode().resize(len)?;
    crate::vm::file_resized(loc.inode(), len);
    inotify::file_event(loc, inotify::IN_MODIFY);
    Ok(0)
}

pub(in crate::syscall) fn sys_truncate(
    ctx: &mut SyscallCtx<'_, '_>,
    path: u64,
    length: u64,
) -> Result<u64> {
    truncate_loc(
        &lookup_at(ctx, AT_FDCWD as u64, path, true, false)?.location()?,
        length,
    )
}

/// The inode file open at `fd` for writing, as `ftruncate` and `fallocate`
/// want it: `EBADF` for a bad or `O_PATH` descriptor; for other files and
/// for descriptors not open for writing, the error `ftruncate` gives.
fn writable_inode_file(ctx: &SyscallCtx<'_, '_>, fd: u64) -> Result<std::sync::Arc<InodeFile>> {
    let f = downcast::<InodeFile>(file(ctx, fd)?).ok_or(Errno::EINVAL)?;
    if f.is_path_only() {
        return Err(Errno::EBADF);
    }
    f.writable().map_err(|_| Errno::EINVAL)?;
    Ok(f)
}

pub(in crate::syscall) fn sys_ftruncate(
    ctx: &mut SyscallCtx<'_, '_>,
    fd: u64,
    length: u64,
) -> Result<u64> {
    let f = writable_inode_file(ctx, fd)?;
    if (length as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    if f.inode().kind() != FileType::Regular {
        return Err(Errno::EINVAL);
    }
    f.inode().resize(length)?;
    crate::vm::file_resized(f.inode(), length);
    inotify::file_event(&f.loc(), inotify::IN_MODIFY);
    Ok(0)
}

/// `FALLOC_FL_KEEP_SIZE`: allocate without changing the size.
const FALLOC_FL_KEEP_SIZE: u64 = 1;
const FALLOC_FL_PUNCH_HOLE: u64 = 2;
const FALLOC_FL_ZERO_RANGE: u64 = 0x10;

pub(in crate::syscall) fn sys_fallocate(
    ctx: &mut SyscallCtx<'_, '_>,
    fd: u64,
    mode: u64,
    offset: i64,
    len: i64,
) -> Result<u64> {
    let any = file(ctx, fd)?;
    let Some(f) = downcast::<InodeFile>(any.clone()) else {
        return Err(match any.stat()?.kind {
            FileType::Fifo => Errno::ESPIPE,
            _ => Errno::ENODEV,
        });
    };
    if f.is_path_only() {
        return Err(Errno::EBADF);
    }
    f.writable()?;
    if offset < 0 || len <= 0 {
        return Err(Errno::EINVAL);
    }
    if mode & !(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE) != 0
        || mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)
            == FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE
        || (mode & FALLOC_FL_PUNCH_HOLE != 0 && mode & FALLOC_FL_KEEP_SIZE == 0)
    {
        return Err(Errno::EOPNOTSUPP);
    }
    match f.inode().kind() {
        FileType::Regular => {}
        FileType::Directory => return Err(Errno::EISDIR),
        FileType::Fifo => return Err(Errno::ESPIPE),
        _ => return Err(Errno::ENODEV),
    }
    let end = offset.checked_add(len).ok_or(Errno::EFBIG)? as u64;
    if mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE) != 0 {
        // The range reads as zeros afterwards (written as zeros: the file
        // systems keep no holes to punch).
        let size = f.inode().metadata()?.size;
        let stop = if mode & FALLOC_FL_KEEP_SIZE != 0 {
            end.min(size)
        } else {
            end
        };
        let zeros = vec![0u8; 65536];
        let mut at = offset as u64;
        while at < stop {
            let n = (stop - at).min(zeros.len() as u64) as usize;
            at += f.inode().write_at(at, &zeros[..n])? as u64;
        }
        inotify::file_event(&f.loc(), inotify::IN_MODIFY);
        return Ok(0);
    }
    // Differs from Linux: only the size changes. The LibOS's file systems
    // allocate when data is written (ramfs against its memory budget), so a
    // later write may still find no space where Linux had reserved it.
    if mode & FALLOC_FL_KEEP_SIZE == 0 && end > f.inode().metadata()?.size {
        f.inode().resize(end)?;
    }
    Ok(0)
}

fn sync_fd(ctx: &SyscallCtx<'_, '_>, fd: u64, data_only: bool) -> Result<u64> {
    let f = file(ctx, fd)?;
    let loc = f.location().ok_or(Errno::EINVAL)?;
    loc.inode().sync(data_only)?;
    Ok(0)
}

pub(in crate::syscall) fn sys_fsync(ctx: &mut SyscallCtx<'_, '_>, fd: u64) -> Result<u64> {
    sync_fd(ctx, fd, false)
}

pub(in crate::syscall) fn sys_fdatasync(ctx: &mut SyscallCtx<'_, '_>, fd: u64) -> Result<u64> {
    sync_fd(ctx, fd, true)
}

pub(in crate::syscall) fn sys_sync(_: &mut SyscallCtx<'_, '_>) -> Result<u64> {
    let _ = vfs::sync_all();
    Ok(0)
}

pub(in crate::syscall) fn sys_syncfs(ctx: &mut SyscallCtx<'_, '_>, fd: u64) -> Result<u64> {
    let loc = file(ctx, fd)?.location().ok_or(Errno::EINVAL)?;
    loc.inode().fs().sync()?;
    Ok(0)
}

const R_OK: u64 = 4;
const W_OK: u64 = 2;
const X_OK: u64 = 1;

fn access_at(
    ctx: &SyscallCtx<'_, '_>,
    dirfd: u64,
    path: u64,
    mode: u64,
    flags: u64,
) -> Result<u64> {
    if mode & !(R_OK | W_OK | X_OK) != 0
        || flags & !(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0
    {
        return Err(Errno::EINVAL);
    }
    let t = lookup_at(
        ctx,
        dirfd,
        path,
        flags & AT_SYMLINK_NOFOLLOW == 0,
        flags & AT_EMPTY_PATH != 0,
    )?;
    let st = t.stat()?;
    if let Target::Loc(loc) = &t {
        if mode & W_OK != 0
            && matches!(
                st.kind,
                FileType::Regular | FileType::Directory | FileType::Symlink
            )
        {
            check_writable_fs(loc)?;
        }
    }
    // Checked for the real ids (unless AT_EACCESS); a process whose real
    // uid is not 0 has no capability to override the mode here.
    if let Some(mut creds) = perm::caller() {
        if flags & AT_EACCESS == 0 {
            creds.uid.fs = creds.uid.real;
            creds.gid.fs = creds.gid.real;
            if creds.uid.real != 0 {
                creds.caps.effective = 0;
            }
        }
        perm::check(&st, &creds, mode as u32)?;
    } else if mode & X_OK != 0 && st.kind != FileType::Directory && st.perm & 0o111 == 0 {
        return Err(Errno::EACCES);
    }
    Ok(0)
}

pub(in crate::syscall) fn sys_access(
    ctx: &mut SyscallCtx<'_, '_>,
    pathname: u64,
    mode: u64,
) -> Result<u64> {
    access_at(ctx, AT_FDCWD as u64, pathname, mode, 0)
}

pub(in crate::syscall) fn sys_faccessat(
    ctx: &mut SyscallCtx<'_, '_>,
    dirfd: u64,
    pathname: u64,
    mode: u64,
) -> Result<u64> {
    access_at(ctx, dirfd, pathname, mode, 0)
}

pub(in crate::syscall) fn sys_faccessat2(
    ctx: &mut SyscallCtx<'_, '_>,
    dirfd: u64,
    pathname: u64,
    mode: u64,
    flags: u64,
) -> Result<u64> {
    access_at(ctx, dirfd, pathname, mode, flags)
}

pub(in crate::syscall) fn sys_umask(ctx: &mut SyscallCtx<'_, '_>, mask: u32) -> Result<u64> {
    let mut fs = ctx.process().fs();
    let old = fs.umask;
    fs.umask = mask & 0o777;
    Ok(old as u64)
}

/// A time argument: set to this time, to now, or leave unchanged.
fn time_arg(sec: i64, nsec: i64, now: Timespec) -> Result<Option<Timespec>> {
    match nsec {
        UTIME_OMIT => Ok(None),
        UTIME_NOW => Ok(Some(now)),
        0..=999_999_999 => Ok(Some(Timespec {
            sec,
            nsec: nsec as u32,
        })),
        _ => Err(Errno::EINVAL),
    }
}

fn set_times(t: Target, atime: Option<Timespec>, mtime: Option<Timespec>) -> Result<u64> {
    let loc = t.location()?;
    if atime.is_none() && mtime.is_none() {
        return Ok(0);
    }
    check_writable_fs(&loc)?;
    loc.inode().set_metadata(&SetMetadata {
        atime,
        mtime,
        ..SetMetadata::default()
    })?;
    inotify::file_event(&loc, inotify::IN_ATTRIB);
    Ok(0)
}

pub(in crate::syscall) fn sys_utimensat(
    ctx: &mut SyscallCtx<'_, '_>,
    dirfd: u64,
    path: u64,
    times: u64,
    flags: u64,
) -> Result<u64> {
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let now = Timespec::now();
    let (atime, mtime) = if times == 0 {
        (Some(now), Some(now))
    } else {
        let [a, m] = UserPtr::<[abi::Timespec; 2]>::new(times).read()?;
        (
            time_arg(a.tv_sec, a.tv_nsec, now)?,
            time_arg(m.tv_sec, m.tv_nsec, now)?,
        )
    };
    let target = if path == 0 {
        // futimens: the file open at `dirfd` (no link to not follow).
        if flags & AT_SYMLINK_NOFOLLOW != 0 {
            return Err(Errno::EINVAL);
        }
        let f = file(ctx, dirfd)?;
        Target::Loc(f.location().ok_or(Errno::EINVAL)?)
    } else {
        lookup_at(
            ctx,
            dirfd,
            path,
            flags & AT_SYMLINK_NOFOLLOW == 0,
            flags & AT_EMPTY_PATH != 0,
        )?
    };
    set_times(target, atime, mtime)
}

/// Reads two `struct timeval`s (access, modification); null means now.
fn read_timevals(addr: u64) -> Result<(Option<Timespec>, Option<Timespec>)> {
    let now = Timespec::now();
    if addr == 0 {
        return Ok((Some(now), Some(now)));
    }
    let [a, m] = UserPtr::<[abi::Timeval; 2]>::new(addr).read()?;
    let tv = |sec: i64, usec: i64| {
        if !(0..1_000_000).contains(&usec) {
            return Err(Errno::EINVAL);
        }
        Ok(Some(Timespec {
            sec,
            nsec: usec as u32 * 1000,
        }))
    };
    Ok((tv(a.tv_sec, a.tv_usec)?, tv(m.tv_sec, m.tv_usec)?))
}

pub(in crate::syscall) fn sys_futimesat(
    ctx: &mut SyscallCtx<'_, '_>,
    dirfd: u64,
    pathname: u64,
    times: u64,
) -> Result<u64> {
    let (atime, mtime) = read_timevals(times)?;
    if pathname == 0 {
        // No path: the file open at the descriptor, as Linux allows.
        let f = file(ctx, dirfd)?;
        return set_times(
            Target::Loc(f.location().ok_or(Errno::EINVAL)?),
            atime,
            mtime,
        );
    }
    set_times(lookup_at(ctx, dirfd, pathname, true, false)?, atime, mtime)
}

pub(in crate::syscall) fn sys_utimes(
    ctx: &mut SyscallCtx<'_, '_>,
    filename: u64,
    times: u64,
) -> Result<u64> {
    let (atime, mtime) = read_timevals(times)?;
    set_times(
        lookup_at(ctx, AT_FDCWD as u64, filename, true, false)?,
        atime,
        mtime,
    )
}

pub(in crate::syscall) fn sys_utime(
    ctx: &mut SyscallCtx<'_, '_>,
    filename: u64,
    times: u64,
) -> Result<u64> {
    let now = Timespec::now();
    let (atime, mtime) = if times == 0 {
        (Some(now), Some(now))
    } else {
        let t = UserPtr::<abi::Utimbuf>::new(times).read()?;
        (
            Some(Timespec {
                sec: t.actime,
                nsec: 0,
            }),
            Some(Timespec {
                sec: t.modtime,
                nsec: 0,
            }),
        )
    };
    set_times(
        lookup_at(ctx, AT_FDCWD as u64, filename, true, false)?,
        atime,
        mtime,
    )
}
