//! User and group ids: `getuid` and friends, `setuid` and friends,
//! `getgroups`/`setgroups` (rules in `process::creds`).

use super::SyscallCtx;
use crate::abi::UserPtr;
use crate::process::{self, Caps, CredKind, ALL_CAPS, CAP_SETGID, NGROUPS_MAX};
use crate::user;
use crate::{Errno, Result};

fn id(a: u64) -> u32 {
    a as u32
}

pub(super) fn sys_getuid(ctx: &mut SyscallCtx<'_, '_>) -> Result<u64> {
    Ok(ctx.process().creds().uid.real.into())
}

pub(super) fn sys_geteuid(ctx: &mut SyscallCtx<'_, '_>) -> Result<u64> {
    Ok(ctx.process().creds().uid.effective.into())
}

pub(super) fn sys_getgid(ctx: &mut SyscallCtx<'_, '_>) -> Result<u64> {
    Ok(ctx.process().creds().gid.real.into())
}

pub(super) fn sys_getegid(ctx: &mut SyscallCtx<'_, '_>) -> Result<u64> {
    Ok(ctx.process().creds().gid.effective.into())
}

fn write_res(ids: [u32; 3], ptrs: [u64; 3]) -> Result<u64> {
    for (p, v) in ptrs.into_iter().zip(ids) {
        UserPtr::new(p).write(&v)?;
    }
    Ok(0)
}

pub(super) fn sys_getresuid(
    ctx: &mut SyscallCtx<'_, '_>,
    ruid: u64,
    euid: u64,
    suid: u64,
) -> Result<u64> {
    let u = ctx.process().creds().uid;
    write_res([u.real, u.effective, u.saved], [ruid, euid, suid])
}

pub(super) fn sys_getresgid(
    ctx: &mut SyscallCtx<'_, '_>,
    rgid: u64,
    egid: u64,
    sgid: u64,
) -> Result<u64> {
    let g = ctx.process().creds().gid;
    write_res([g.real, g.effective, g.saved], [rgid, egid, sgid])
}

pub(super) fn sys_setuid(ctx: &mut SyscallCtx<'_, '_>, uid: u64) -> Result<u64> {
    ctx.process().creds().set(CredKind::User, id(uid))?;
    Ok(0)
}

pub(super) fn sys_setgid(ctx: &mut SyscallCtx<'_, '_>, gid: u64) -> Result<u64> {
    ctx.process().creds().set(CredKind::Group, id(gid))?;
    Ok(0)
}

pub(super) fn sys_setreuid(ctx: &mut SyscallCtx<'_, '_>, ruid: u64, euid: u64) -> Result<u64> {
    ctx.process()
        .creds()
        .set_re(CredKind::User, id(ruid), id(euid))?;
    Ok(0)
}

pub(super) fn sys_setregid(ctx: &mut SyscallCtx<'_, '_>, rgid: u64, egid: u64) -> Result<u64> {
    ctx.process()
        .creds()
        .set_re(CredKind::Group, id(rgid), id(egid))?;
    Ok(0)
}

pub(super) fn sys_setresuid(
    ctx: &mut SyscallCtx<'_, '_>,
    ruid: u64,
    euid: u64,
    suid: u64,
) -> Result<u64> {
    ctx.process()
        .creds()
        .set_res(CredKind::User, id(ruid), id(euid), id(suid))?;
    Ok(0)
}

pub(super) fn sys_setresgid(
    ctx: &mut SyscallCtx<'_, '_>,
    rgid: u64,
    egid: u64,
    sgid: u64,
) -> Result<u64> {
    ctx.process()
        .creds()
        .set_res(CredKind::Group, id(rgid), id(egid), id(sgid))?;
    Ok(0)
}

pub(super) fn sys_setfsuid(ctx: &mut SyscallCtx<'_, '_>, fsuid: u64) -> Result<u64> {
    Ok(ctx
        .process()
        .creds()
        .set_fs(CredKind::User, id(fsuid))
        .into())
}

pub(super) fn sys_setfsgid(ctx: &mut SyscallCtx<'_, '_>, fsgid: u64) -> Result<u64> {
    Ok(ctx
        .process()
        .creds()
        .set_fs(CredKind::Group, id(fsgid))
        .into())
}

/// `getgroups(size, list)`: the count only when `size` is 0.
pub(super) fn sys_getgroups(ctx: &mut SyscallCtx<'_, '_>, size: i32, list: u64) -> Result<u64> {
    if size < 0 {
        return Err(Errno::EINVAL);
    }
    let groups = ctx.process().creds().groups.clone();
    if size == 0 {
        return Ok(groups.len() as u64);
    }
    if (size as usize) < groups.len() {
        return Err(Errno::EINVAL);
    }
    let bytes: Vec<u8> = groups.iter().flat_map(|g| g.to_ne_bytes()).collect();
    user::write_bytes(list, &bytes)?;
    Ok(groups.len() as u64)
}

/// `setgroups(size, list)`.
pub(super) fn sys_setgroups(ctx: &mut SyscallCtx<'_, '_>, size: usize, list: u64) -> Result<u64> {
    if size > NGROUPS_MAX {
        return Err(Errno::EINVAL);
    }
    if !ctx.process().creds().capable(CAP_SETGID) {
        return Err(Errno::EPERM);
    }
    let bytes = user::read_bytes(list, size * 4)?;
    let groups = bytes
        .chunks_exact(4)
        .map(|c| u32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    ctx.process().creds().set_groups(groups)?;
    Ok(0)
}

const CAPABILITY_VERSION_1: u32 = 0x1998_0330;
const CAPABILITY_VERSION_2: u32 = 0x2007_1026;
const CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// Reads a `cap_user_header_t`: the number of 32-bit data records its
/// version takes (`EINVAL`, with the preferred version written back, for
/// an unknown one), and the pid.
fn cap_header(addr: u64) -> Result<(usize, i32)> {
    let version = user::read_u32(addr)?;
    let pid = user::read_u32(addr + 4)? as i32;
    let words = match version {
        CAPABILITY_VERSION_1 => 1,
        CAPABILITY_VERSION_2 | CAPABILITY_VERSION_3 => 2,
        _ => {
            user::write_bytes(addr, &CAPABILITY_VERSION_3.to_le_bytes())?;
            return Err(Errno::EINVAL);
        }
    };
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    Ok((words, pid))
}

pub(super) fn sys_capget(ctx: &mut SyscallCtx<'_, '_>, hdrp: u64, datap: u64) -> Result<u64> {
    let (words, pid) = match cap_header(hdrp) {
        // Asking for the version alone (no data pointer) is no error.
        Err(Errno::EINVAL) if datap == 0 && user::read_u32(hdrp).is_ok() => return Ok(0),
        r => r?,
    };
    let process = match pid {
        0 => ctx.process().clone(),
        p => process::get_process(p).ok_or(Errno::ESRCH)?,
    };
    if datap == 0 {
        return Ok(0);
    }
    let caps = process.creds().caps;
    let mut out = Vec::with_capacity(words * 12);
    for w in 0..words {
        for set in [caps.effective, caps.permitted, caps.inheritable] {
            out.extend_from_slice(&((set >> (32 * w)) as u32).to_le_bytes());
        }
    }
    user::write_bytes(datap, &out)?;
    Ok(0)
}

pub(super) fn sys_capset(ctx: &mut SyscallCtx<'_, '_>, hdrp: u64, datap: u64) -> Result<u64> {
    let (words, pid) = cap_header(hdrp)?;
    if pid != 0 && pid != ctx.process().pid() {
        return Err(Errno::EPERM);
    }
    let raw = user::read_bytes(datap, words * 12)?;
    let mut sets = [0u64; 3];
    for (i, chunk) in raw.chunks_exact(4).enumerate() {
        let v = u32::from_le_bytes(chunk.try_into().expect("4 bytes")) as u64;
        sets[i % 3] |= v << (32 * (i / 3));
    }
    let new = Caps {
        // Bits past the last capability are dropped, as on Linux.
        effective: sets[0] & ALL_CAPS,
        permitted: sets[1] & ALL_CAPS,
        inheritable: sets[2] & ALL_CAPS,
    };
    ctx.process().creds().caps.set(new)?;
    Ok(0)
}
