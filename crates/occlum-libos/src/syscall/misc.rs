//! System information and randomness: `uname`, `getrandom`, `sched_yield`.

use occlum_pal::host;

use super::SyscallCtx;
use crate::user;
use crate::{Errno, Result};

const GRND_NONBLOCK: u64 = 1;
const GRND_RANDOM: u64 = 2;
const GRND_INSECURE: u64 = 4;
/// Linux returns at most this many bytes per `getrandom` call.
const GETRANDOM_MAX: usize = 33_554_431;

/// The `uname` fields: sysname, nodename, release, version, machine, domainname.
const UTSNAME: [&str; 6] = [
    "Linux",
    "occlum-node",
    "6.6.0",
    "#1 SMP Occlum LibOS",
    "x86_64",
    "(none)",
];

pub(super) fn sys_uname(_: &mut SyscallCtx<'_, '_>, a: [u64; 6]) -> Result<u64> {
    let mut buf = [0u8; 6 * 65];
    for (i, field) in UTSNAME.iter().enumerate() {
        buf[i * 65..i * 65 + field.len()].copy_from_slice(field.as_bytes());
    }
    user::write_bytes(a[0], &buf)?;
    Ok(0)
}

pub(super) fn sys_getrandom(_: &mut SyscallCtx<'_, '_>, a: [u64; 6]) -> Result<u64> {
    let (addr, len, flags) = (a[0], (a[1] as usize).min(GETRANDOM_MAX), a[2]);
    if flags & !(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE) != 0
        || flags & (GRND_RANDOM | GRND_INSECURE) == (GRND_RANDOM | GRND_INSECURE)
    {
        return Err(Errno::EINVAL);
    }
    let mut buf = vec![0u8; len.min(1 << 20)];
    host::getrandom(&mut buf)?;
    user::write_bytes(addr, &buf)?;
    Ok(buf.len() as u64)
}

pub(super) fn sys_sched_yield(_: &mut SyscallCtx<'_, '_>, _: [u64; 6]) -> Result<u64> {
    std::thread::yield_now();
    Ok(0)
}
