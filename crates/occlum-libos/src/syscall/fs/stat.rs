//! `stat`, `fstat`, `lstat`, `newfstatat`, `statx`, `statfs`, `fstatfs`.

use super::{
    file, lookup_at, SyscallCtx, Target, AT_EMPTY_PATH, AT_FDCWD, AT_NO_AUTOMOUNT,
    AT_SYMLINK_NOFOLLOW,
};
use crate::abi::{Abi, Statfs, Statx, StatxTimestamp, UserPtr};
use crate::fs::vfs::FsStats;
use crate::fs::Stat;
use crate::{Errno, Result};

/// `AT_STATX_SYNC_TYPE` bits (`statx` only).
const AT_STATX_SYNC_TYPE: u64 = 0x6000;
/// `STATX_BASIC_STATS`: what `statx` fills in.
const STATX_BASIC_STATS: u32 = 0x7ff;
/// `STATX__RESERVED`.
const STATX_RESERVED: u32 = 0x8000_0000;

fn write_stat(st: &Stat, addr: u64) -> Result<u64> {
    UserPtr::new(addr).write(&st.to_abi())?;
    Ok(0)
}

pub(in crate::syscall) fn sys_fstat(
    ctx: &mut SyscallCtx<'_, '_>,
    fd: u64,
    statbuf: u64,
) -> Result<u64> {
    write_stat(&file(ctx, fd)?.stat()?, statbuf)
}

pub(in crate::syscall) fn sys_stat(
    ctx: &mut SyscallCtx<'_, '_>,
    pathname: u64,
    statbuf: u64,
) -> Result<u64> {
    write_stat(
        &lookup_at(ctx, AT_FDCWD as u64, pathname, true, false)?.stat()?,
        statbuf,
    )
}

pub(in crate::syscall) fn sys_lstat(
    ctx: &mut SyscallCtx<'_, '_>,
    pathname: u64,
    statbuf: u64,
) -> Result<u64> {
    write_stat(
        &lookup_at(ctx, AT_FDCWD as u64, pathname, false, false)?.stat()?,
        statbuf,
    )
}

pub(in crate::syscall) fn sys_newfstatat(
    ctx: &mut SyscallCtx<'_, '_>,
    dirfd: u64,
    pathname: u64,
    statbuf: u64,
    flags: u64,
) -> Result<u64> {
    if flags & !(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT) != 0 {
        return Err(Errno::EINVAL);
    }
    let t = lookup_at(
        ctx,
        dirfd,
        pathname,
        flags & AT_SYMLINK_NOFOLLOW == 0,
        flags & AT_EMPTY_PATH != 0,
    )?;
    write_stat(&t.stat()?, statbuf)
}

/// Splits a device number into (major, minor) as glibc's `gnu_dev_major/minor` do.
fn dev_parts(dev: u64) -> (u32, u32) {
    let major = ((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0xfff);
    let minor = ((dev >> 12) & 0xffff_ff00) | (dev & 0xff);
    (major as u32, minor as u32)
}

pub(in crate::syscall) fn sys_statx(
    ctx: &mut SyscallCtx<'_, '_>,
    dirfd: u64,
    pathname: u64,
    flags: u64,
    mask: u32,
    buf: u64,
) -> Result<u64> {
    if flags & !(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE) != 0
        || flags & AT_STATX_SYNC_TYPE == AT_STATX_SYNC_TYPE
        || mask & STATX_RESERVED != 0
    {
        return Err(Errno::EINVAL);
    }
    let st = lookup_at(
        ctx,
        dirfd,
        pathname,
        flags & AT_SYMLINK_NOFOLLOW == 0,
        flags & AT_EMPTY_PATH != 0,
    )?
    .stat()?;
    let ts = |t: crate::fs::Timespec| StatxTimestamp {
        tv_sec: t.sec,
        tv_nsec: t.nsec,
        _reserved: 0,
    };
    let (rmaj, rmin) = dev_parts(st.rdev);
    let (dmaj, dmin) = dev_parts(st.dev);
    let stx = Statx {
        stx_mask: STATX_BASIC_STATS,
        stx_blksize: st.blksize as u32,
        stx_nlink: st.nlink as u32,
        stx_uid: st.uid,
        stx_gid: st.gid,
        stx_mode: st.mode() as u16,
        stx_ino: st.ino,
        stx_size: st.size,
        stx_blocks: st.block_count(),
        stx_atime: ts(st.atime),
        stx_ctime: ts(st.ctime),
        stx_mtime: ts(st.mtime),
        stx_rdev_major: rmaj,
        stx_rdev_minor: rmin,
        stx_dev_major: dmaj,
        stx_dev_minor: dmin,
        ..Statx::zeroed()
    };
    UserPtr::new(buf).write(&stx)?;
    Ok(0)
}

fn write_statfs(s: &FsStats, read_only: bool, dev: u64, addr: u64) -> Result<u64> {
    let out = Statfs {
        f_type: s.magic,
        f_bsize: s.block_size,
        f_blocks: s.blocks,
        f_bfree: s.free_blocks,
        f_bavail: s.free_blocks,
        f_files: s.files,
        f_ffree: s.free_files,
        f_fsid: [dev as u32, 0],
        f_namelen: 255,
        f_frsize: s.block_size,
        // ST_RDONLY | ST_RELATIME when read-only, else ST_RELATIME.
        f_flags: if read_only { 0x0401 } else { 0x0400 },
        _spare: [0; 4],
    };
    UserPtr::new(addr).write(&out)?;
    Ok(0)
}

fn statfs_of(t: Target, addr: u64) -> Result<u64> {
    match t {
        Target::Loc(l) => {
            let fs = l.inode().fs();
            write_statfs(&fs.stats(), fs.read_only(), fs.dev(), addr)
        }
        // Pipes and sockets: Linux reports their pseudo file systems.
        Target::File(_) => write_statfs(
            &FsStats {
                magic: 0x5049_5045,
                block_size: 4096,
                ..FsStats::default()
            },
            false,
            0,
            addr,
        ),
    }
}

pub(in crate::syscall) fn sys_statfs(
    ctx: &mut SyscallCtx<'_, '_>,
    path: u64,
    buf: u64,
) -> Result<u64> {
    statfs_of(lookup_at(ctx, AT_FDCWD as u64, path, true, false)?, buf)
}

pub(in crate::syscall) fn sys_fstatfs(
    ctx: &mut SyscallCtx<'_, '_>,
    fd: u64,
    buf: u64,
) -> Result<u64> {
    let f = file(ctx, fd)?;
    let t = match f.location() {
        Some(l) => Target::Loc(l),
        None => Target::File(f),
    };
    statfs_of(t, buf)
}
