//! `process_vm_readv` and `process_vm_writev`: copies between the caller's
//! memory and another LibOS process's, with the checks of
//! mm/process_vm_access.c.

use super::SyscallCtx;
use crate::process::{self, Credentials, Pid};
use crate::sync::lock;
use crate::user::{self, IoVec};
use crate::vm::{PROT_READ, PROT_WRITE};
use crate::{Errno, Result};

/// `CAP_SYS_PTRACE`.
const CAP_SYS_PTRACE: u32 = 19;
const PAGE: u64 = 4096;

#[derive(Clone, Copy, PartialEq)]
enum Direction {
    /// From the other process into the caller.
    Read,
    /// From the caller into the other process.
    Write,
}

pub(super) fn sys_process_vm_readv(
    ctx: &mut SyscallCtx<'_, '_>,
    pid: Pid,
    local_iov: u64,
    liovcnt: u64,
    remote_iov: u64,
    riovcnt: u64,
    flags: u64,
) -> Result<u64> {
    transfer(
        ctx,
        pid,
        (local_iov, liovcnt),
        (remote_iov, riovcnt),
        flags,
        Direction::Read,
    )
}

pub(super) fn sys_process_vm_writev(
    ctx: &mut SyscallCtx<'_, '_>,
    pid: Pid,
    local_iov: u64,
    liovcnt: u64,
    remote_iov: u64,
    riovcnt: u64,
    flags: u64,
) -> Result<u64> {
    transfer(
        ctx,
        pid,
        (local_iov, liovcnt),
        (remote_iov, riovcnt),
        flags,
        Direction::Write,
    )
}

/// `PTRACE_MODE_ATTACH_REALCREDS` as `__ptrace_may_access` judges it: the
/// caller's real ids are all of the target's, or it has `CAP_SYS_PTRACE`.
fn may_access(caller: &Credentials, target: &Credentials) -> bool {
    let (u, g) = (caller.uid.real, caller.gid.real);
    let same_user = [target.uid.real, target.uid.effective, target.uid.saved]
        .iter()
        .all(|&id| id == u)
        && [target.gid.real, target.gid.effective, target.gid.saved]
            .iter()
            .all(|&id| id == g);
    same_user || caller.capable(CAP_SYS_PTRACE)
}

fn transfer(
    ctx: &SyscallCtx<'_, '_>,
    pid: Pid,
    local: (u64, u64),
    remote: (u64, u64),
    flags: u64,
    dir: Direction,
) -> Result<u64> {
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    let local = user::read_iovecs(local.0, local.1)?;
    let remote = user::read_iovecs(remote.0, remote.1)?;
    // A process id; Linux also takes a thread's id here (ESRCH in the LibOS).
    let target = process::get_process(pid).ok_or(Errno::ESRCH)?;
    let me = ctx.process().creds().clone();
    if !may_access(&me, &target.creds()) {
        return Err(Errno::EPERM);
    }
    let vm = target.vm()?;
    let mut local = local.into_iter().filter(|v| v.len > 0);
    let mut here: Option<IoVec> = local.next();
    let mut done: u64 = 0;
    // Page by page: the first remote page that is not mapped (or the first
    // local one) ends the transfer, as on Linux.
    for r in remote.iter().filter(|v| v.len > 0) {
        let mut off = 0;
        while off < r.len {
            let Some(l) = here.as_mut() else {
                return Ok(done);
            };
            let at = r.base.wrapping_add(off as u64);
            let to_page_end = (PAGE - at % PAGE) as usize;
            let n = to_page_end.min(r.len - off).min(l.len);
            let moved = match dir {
                Direction::Read => {
                    let mut buf = vec![0u8; n];
                    let got = {
                        let space = lock(&vm);
                        if space.maps_with(at as usize, n, PROT_READ) {
                            space.read_user(at as usize, &mut buf)
                        } else {
                            Err(Errno::EFAULT)
                        }
                    };
                    got.and_then(|()| user::write_bytes(l.base, &buf))
                }
                Direction::Write => user::read_bytes(l.base, n).and_then(|data| {
                    let space = lock(&vm);
                    if space.maps_with(at as usize, n, PROT_WRITE) {
                        space.write_user(at as usize, &data)
                    } else {
                        Err(Errno::EFAULT)
                    }
                }),
            };
            if let Err(e) = moved {
                return if done == 0 { Err(e) } else { Ok(done) };
            }
            done += n as u64;
            off += n;
            l.base += n as u64;
            l.len -= n;
            if l.len == 0 {
                here = local.next();
            }
        }
    }
    Ok(done)
}
