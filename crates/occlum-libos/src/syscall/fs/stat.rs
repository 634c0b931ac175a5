//! `stat`, `fstat`, `lstat`, `newfstatat`, `statx`, `statfs`, `fstatfs`.

use super::{
    file, lookup_at, SyscallCtx, Target, AT_EMPTY_PATH, AT_FDCWD, AT_NO_AUTOMOUNT,
    AT_SYMLINK_NOFOLLOW,
};
use crate::fs::vfs::FsStats;
use crate::fs::Stat;
use crate::user;
use crate::{Errno, Result};

/// `AT_STATX_SYNC_TYPE` bits (`statx` only).
const AT_STATX_SYNC_TYPE: u64 = 0x6000;
/// `STATX_BASIC_STATS`: what `statx` fills in.
const STATX_BASIC_STATS: u32 = 0x7ff;
/// `STATX__RESERVED`.
const STATX_RESERVED: u32 = 0x8000_0000;

fn write_stat(st: &Stat, addr: u64) -> Result<u64> {
    user::write_bytes(addr, &st.to_bytes())?;
    Ok(0)
}

pub(in crate::syscall) fn sys_fstat(ctx: &mut SyscallCtx<'_, '_>, a: [u64; 6]) -> Result<u64> {
    write_stat(&file(ctx, a[0])?.stat()?, a[1])
}

pub(in crate::syscall) fn sys_stat(ctx: &mut SyscallCtx<'_, '_>, a: [u64; 6]) -> Result<u64> {
    write_stat(
        &lookup_at(ctx, AT_FDCWD as u64, a[0], true, false)?.stat()?,
        a[1],
    )
}

pub(in crate::syscall) fn sys_lstat(ctx: &mut SyscallCtx<'_, '_>, a: [u64; 6]) -> Result<u64> {
    write_stat(
        &lookup_at(ctx, AT_FDCWD as u64, a[0], false, false)?.stat()?,
        a[1],
    )
}

pub(in crate::syscall) fn sys_newfstatat(ctx: &mut SyscallCtx<'_, '_>, a: [u64; 6]) -> Result<u64> {
    let flags = a[3];
    if flags & !(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT) != 0 {
        return Err(Errno::EINVAL);
    }
    let t = lookup_at(
        ctx,
        a[0],
        a[1],
        flags & AT_SYMLINK_NOFOLLOW == 0,
        flags & AT_EMPTY_PATH != 0,
    )?;
    write_stat(&t.stat()?, a[2])
}

/// Splits a device number into (major, minor) as glibc's `gnu_dev_major/minor` do.
fn dev_parts(dev: u64) -> (u32, u32) {
    let major = ((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0xfff);
    let minor = ((dev >> 12) & 0xffff_ff00) | (dev & 0xff);
    (major as u32, minor as u32)
}

pub(in crate::syscall) fn sys_statx(ctx: &mut SyscallCtx<'_, '_>, a: [u64; 6]) -> Result<u64> {
    let (flags, mask, buf) = (a[2], a[3] as u32, a[4]);
    if flags & !(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE) != 0
        || flags & AT_STATX_SYNC_TYPE == AT_STATX_SYNC_TYPE
        || mask & STATX_RESERVED != 0
    {
        return Err(Errno::EINVAL);
    }
    let st = lookup_at(
        ctx,
        a[0],
        a[1],
        flags & AT_SYMLINK_NOFOLLOW == 0,
        flags & AT_EMPTY_PATH != 0,
    )?
    .stat()?;
    let mut b = [0u8; 256];
    let put = |b: &mut [u8; 256], at: usize, v: &[u8]| b[at..at + v.len()].copy_from_slice(v);
    put(&mut b, 0, &STATX_BASIC_STATS.to_le_bytes());
    put(&mut b, 4, &(st.blksize as u32).to_le_bytes());
    put(&mut b, 16, &(st.nlink as u32).to_le_bytes());
    put(&mut b, 20, &st.uid.to_le_bytes());
    put(&mut b, 24, &st.gid.to_le_bytes());
    put(&mut b, 28, &(st.mode() as u16).to_le_bytes());
    put(&mut b, 32, &st.ino.to_le_bytes());
    put(&mut b, 40, &st.size.to_le_bytes());
    put(&mut b, 48, &st.block_count().to_le_bytes());
    for (at, t) in [(64, st.atime), (96, st.ctime), (112, st.mtime)] {
        put(&mut b, at, &t.sec.to_le_bytes());
        put(&mut b, at + 8, &t.nsec.to_le_bytes());
    }
    let (rmaj, rmin) = dev_parts(st.rdev);
    let (dmaj, dmin) = dev_parts(st.dev);
    put(&mut b, 128, &rmaj.to_le_bytes());
    put(&mut b, 132, &rmin.to_le_bytes());
    put(&mut b, 136, &dmaj.to_le_bytes());
    put(&mut b, 140, &dmin.to_le_bytes());
    user::write_bytes(buf, &b)?;
    Ok(0)
}

fn write_statfs(s: &FsStats, read_only: bool, dev: u64, addr: u64) -> Result<u64> {
    let mut b = [0u8; 120];
    let fields: [u64; 6] = [
        s.magic,
        s.block_size,
        s.blocks,
        s.free_blocks,
        s.free_blocks,
        s.files,
    ];
    for (i, v) in fields.iter().enumerate() {
        b[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
    }
    b[48..56].copy_from_slice(&s.free_files.to_le_bytes());
    b[56..60].copy_from_slice(&(dev as u32).to_le_bytes());
    b[64..72].copy_from_slice(&255u64.to_le_bytes());
    b[72..80].copy_from_slice(&s.block_size.to_le_bytes());
    // ST_RDONLY | ST_RELATIME when read-only, else ST_RELATIME.
    let flags: u64 = if read_only { 0x0401 } else { 0x0400 };
    b[80..88].copy_from_slice(&flags.to_le_bytes());
    user::write_bytes(addr, &b)?;
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

pub(in crate::syscall) fn sys_statfs(ctx: &mut SyscallCtx<'_, '_>, a: [u64; 6]) -> Result<u64> {
    statfs_of(lookup_at(ctx, AT_FDCWD as u64, a[0], true, false)?, a[1])
}

pub(in crate::syscall) fn sys_fstatfs(ctx: &mut SyscallCtx<'_, '_>, a: [u64; 6]) -> Result<u64> {
    let f = file(ctx, a[0])?;
    let t = match f.location() {
        Some(l) => Target::Loc(l),
        None => Target::File(f),
    };
    statfs_of(t, a[1])
}
