//! System information and randomness: `uname`, `sethostname`,
//! `setdomainname`, `syslog`, `getrandom`, `sched_yield`, `membarrier`,
//! `unshare`, `setns`.

use occlum_pal::host;

use std::sync::Mutex;

use super::SyscallCtx;
use crate::sync::lock_shared;
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
/// `__NEW_UTS_LEN`: the longest host or domain name.
const UTS_LEN: usize = 64;
/// `CAP_SYS_ADMIN`.
const CAP_SYS_ADMIN: u32 = 21;

/// The host and domain names `sethostname`/`setdomainname` set (one UTS
/// namespace for the LibOS).
static NAMES: Mutex<Option<(Vec<u8>, Vec<u8>)>> = Mutex::new(None);

pub(super) fn sys_uname(_: &mut SyscallCtx<'_, '_>, buf: u64) -> Result<u64> {
    let mut uts = [0u8; 6 * 65];
    for (i, field) in UTSNAME.iter().enumerate() {
        uts[i * 65..i * 65 + field.len()].copy_from_slice(field.as_bytes());
    }
    if let Some((host, domain)) = &*lock_shared(&NAMES) {
        for (i, name) in [(1, host), (5, domain)] {
            uts[i * 65..(i + 1) * 65].fill(0);
            uts[i * 65..i * 65 + name.len()].copy_from_slice(name);
        }
    }
    user::write_bytes(buf, &uts)?;
    Ok(0)
}

/// The host name `uname` reports (`/proc/sys/kernel/hostname`).
pub fn node_name() -> String {
    match &*lock_shared(&NAMES) {
        Some((host, _)) => String::from_utf8_lossy(host).into_owned(),
        None => UTSNAME[1].to_string(),
    }
}

/// `sethostname` (`domain` false) or `setdomainname`: root with
/// `CAP_SYS_ADMIN` only; the name is at most 64 bytes.
fn set_name(ctx: &SyscallCtx<'_, '_>, addr: u64, len: u64, domain: bool) -> Result<u64> {
    if !ctx.process().creds().capable(CAP_SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    if len as usize > UTS_LEN {
        return Err(Errno::EINVAL);
    }
    let name = user::read_bytes(addr, len as usize)?;
    let mut names = lock_shared(&NAMES);
    let (host, dom) = names.get_or_insert_with(|| {
        (
            UTSNAME[1].as_bytes().to_vec(),
            UTSNAME[5].as_bytes().to_vec(),
        )
    });
    *(if domain { dom } else { host }) = name;
    Ok(0)
}

pub(super) fn sys_sethostname(ctx: &mut SyscallCtx<'_, '_>, name: u64, len: u64) -> Result<u64> {
    set_name(ctx, name, len, false)
}

pub(super) fn sys_setdomainname(ctx: &mut SyscallCtx<'_, '_>, name: u64, len: u64) -> Result<u64> {
    set_name(ctx, name, len, true)
}

/// `syslog` (`klogctl`): the LibOS has no kernel log: reading gives
/// nothing, the buffer size is one page, the other actions succeed.
pub(super) fn sys_syslog(
    ctx: &mut SyscallCtx<'_, '_>,
    action: i32,
    buf: u64,
    len: i32,
) -> Result<u64> {
    const CAP_SYSLOG: u32 = 34;
    if !(0..=10).contains(&action) {
        return Err(Errno::EINVAL);
    }
    // READ_ALL and SIZE_BUFFER are open to all unless dmesg is restricted,
    // as it is by default on Debian: every action needs CAP_SYSLOG.
    if !ctx.process().creds().capable(CAP_SYSLOG) {
        return Err(Errno::EPERM);
    }
    match action {
        2..=4 => {
            if buf == 0 || len < 0 {
                return Err(Errno::EINVAL);
            }
            Ok(0)
        }
        8 if !(1..=8).contains(&len) => Err(Errno::EINVAL),
        9 => Ok(0),
        10 => Ok(4096),
        _ => Ok(0),
    }
}

const MEMBARRIER_CMD_QUERY: u64 = 0;
const MEMBARRIER_CMD_GLOBAL: u64 = 1;
const MEMBARRIER_CMD_GLOBAL_EXPEDITED: u64 = 2;
const MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED: u64 = 4;
const MEMBARRIER_CMD_PRIVATE_EXPEDITED: u64 = 8;
const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED: u64 = 16;
const MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE: u64 = 32;
const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE: u64 = 64;
/// The commands the LibOS serves (every guest thread is a host thread of
/// one process, so a barrier on all host threads covers each of them).
const MEMBARRIER_SUPPORTED: u64 = 127;

/// `membarrier`: the private commands need the process to register first
/// (`EPERM` otherwise), as on Linux.
pub(super) fn sys_membarrier(
    ctx: &mut SyscallCtx<'_, '_>,
    cmd: u64,
    flags: u64,
    _cpu_id: u64,
) -> Result<u64> {
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    let p = ctx.process();
    match cmd {
        MEMBARRIER_CMD_QUERY => Ok(MEMBARRIER_SUPPORTED),
        MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED
        | MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED
        | MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE => {
            p.register_membarrier(cmd);
            Ok(0)
        }
        MEMBARRIER_CMD_GLOBAL | MEMBARRIER_CMD_GLOBAL_EXPEDITED => {
            host::barrier_all_threads()?;
            Ok(0)
        }
        MEMBARRIER_CMD_PRIVATE_EXPEDITED | MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE => {
            // Each command's registration is the one worth twice its value.
            if !p.membarrier_registered(cmd << 1) {
                return Err(Errno::EPERM);
            }
            host::barrier_all_threads()?;
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// `unshare`: the LibOS has one set of namespaces, and a process's file
/// table, file-system context and System V undo list are never shared
/// with another process; so flags that only unshare those succeed, and new
/// namespaces are refused (`EPERM`, as for a process without
/// `CAP_SYS_ADMIN`).
pub(super) fn sys_unshare(ctx: &mut SyscallCtx<'_, '_>, flags: u64) -> Result<u64> {
    const CLONE_FS: u64 = 0x200;
    const CLONE_FILES: u64 = 0x400;
    const CLONE_SYSVSEM: u64 = 0x40000;
    const CLONE_NAMESPACES: u64 = 0x0002_0000 // NEWNS
        | 0x0200_0000 // NEWCGROUP
        | 0x0400_0000 // NEWUTS
        | 0x0800_0000 // NEWIPC
        | 0x1000_0000 // NEWUSER
        | 0x2000_0000 // NEWPID
        | 0x4000_0000 // NEWNET
        | 0x80; // NEWTIME
    const CLONE_VM: u64 = 0x100;
    const CLONE_SIGHAND: u64 = 0x800;
    const CLONE_THREAD: u64 = 0x10000;
    let known = CLONE_FS
        | CLONE_FILES
        | CLONE_SYSVSEM
        | CLONE_NAMESPACES
        | CLONE_VM
        | CLONE_SIGHAND
        | CLONE_THREAD;
    if flags & !known != 0 {
        return Err(Errno::EINVAL);
    }
    // Unsharing the address space, signal handlers or thread group works
    // only for a single-threaded process, where they are not shared.
    if flags & (CLONE_VM | CLONE_SIGHAND | CLONE_THREAD) != 0
        && ctx.process().state().threads.len() > 1
    {
        return Err(Errno::EINVAL);
    }
    if flags & CLONE_NAMESPACES != 0 {
        return Err(Errno::EPERM);
    }
    Ok(0)
}

pub(super) fn sys_getrandom(
    _: &mut SyscallCtx<'_, '_>,
    buf: u64,
    buflen: usize,
    flags: u64,
) -> Result<u64> {
    let len = buflen.min(GETRANDOM_MAX);
    if flags & !(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE) != 0
        || flags & (GRND_RANDOM | GRND_INSECURE) == (GRND_RANDOM | GRND_INSECURE)
    {
        return Err(Errno::EINVAL);
    }
    let mut bytes = vec![0u8; len.min(1 << 20)];
    host::getrandom(&mut bytes)?;
    user::write_bytes(buf, &bytes)?;
    Ok(bytes.len() as u64)
}

pub(super) fn sys_sched_yield(_: &mut SyscallCtx<'_, '_>) -> Result<u64> {
    std::thread::yield_now();
    Ok(0)
}

/// `setns`: the LibOS has no namespace files to join (`/proc/[pid]/ns` is
/// absent), so any open descriptor is refused with `EINVAL`, as Linux
/// refuses a file that is not a namespace.
pub(super) fn sys_setns(ctx: &mut SyscallCtx<'_, '_>, fd: i32, _nstype: u64) -> Result<u64> {
    ctx.process().files().get(fd)?;
    Err(Errno::EINVAL)
}
