//! `wait4` and `waitid`.

use super::SyscallCtx;
use crate::abi::{Abi, Rusage, Siginfo, UserPtr};
use crate::process::{wait_child, ChildEvent, ExitStatus, WaitFilter};
use crate::user;
use crate::{Errno, Result};

const WNOHANG: u64 = 1;
const WUNTRACED: u64 = 2;
const WSTOPPED: u64 = 2;
const WEXITED: u64 = 4;
const WCONTINUED: u64 = 8;
const WNOWAIT: u64 = 0x0100_0000;
const WNOTHREAD: u64 = 0x2000_0000;
const WALL: u64 = 0x4000_0000;
const WCLONE: u64 = 0x8000_0000;

const P_ALL: u64 = 0;
const P_PID: u64 = 1;
const P_PGID: u64 = 2;
const P_PIDFD: u64 = 3;

const SIGCHLD: i32 = 17;
const CLD_EXITED: i32 = 1;
const CLD_KILLED: i32 = 2;

pub(super) fn sys_wait4(
    ctx: &mut SyscallCtx<'_, '_>,
    pid: i32,
    status_addr: u64,
    options: u64,
    rusage: u64,
) -> Result<u64> {
    if options & !(WNOHANG | WUNTRACED | WCONTINUED | WNOTHREAD | WALL | WCLONE) != 0 {
        return Err(Errno::EINVAL);
    }
    let filter = match pid {
        -1 => WaitFilter::Any,
        0 => WaitFilter::Pgid(ctx.process().state().pgid),
        p if p < 0 => WaitFilter::Pgid(-p),
        p => WaitFilter::Pid(p),
    };
    let Some(ev) = wait_child(ctx.process(), filter, options & WNOHANG != 0, true)? else {
        return Ok(0);
    };
    if status_addr != 0 {
        user::write_i32(status_addr, ev.status.wait_status())?;
    }
    if rusage != 0 {
        UserPtr::new(rusage).write(&Rusage::zeroed())?;
    }
    Ok(ev.pid as u64)
}

fn siginfo_of(ev: Option<ChildEvent>) -> Siginfo {
    let Some(ev) = ev else {
        return Siginfo::zeroed();
    };
    let (code, status) = match ev.status {
        ExitStatus::Exited(c) => (CLD_EXITED, c as i32),
        ExitStatus::Killed(s) => (CLD_KILLED, s),
        ExitStatus::LibosBug => (CLD_KILLED, 6),
    };
    Siginfo::from_process(SIGCHLD, code, ev.pid, 0, status)
}

pub(super) fn sys_waitid(
    ctx: &mut SyscallCtx<'_, '_>,
    idtype: u64,
    id: i32,
    infop: u64,
    options: u64,
    rusage: u64,
) -> Result<u64> {
    if options & !(WNOHANG | WSTOPPED | WEXITED | WCONTINUED | WNOWAIT | WNOTHREAD | WALL | WCLONE)
        != 0
        || options & (WEXITED | WSTOPPED | WCONTINUED) == 0
    {
        return Err(Errno::EINVAL);
    }
    let filter = match idtype {
        P_ALL => WaitFilter::Any,
        P_PID if id > 0 => WaitFilter::Pid(id),
        P_PGID if id > 0 => WaitFilter::Pgid(id),
        P_PGID if id == 0 => WaitFilter::Pgid(ctx.process().state().pgid),
        P_PIDFD => {
            let f = ctx.process().files().get(id)?;
            let pidfd = crate::fs::downcast::<crate::fs::pidfd::PidFd>(f).ok_or(Errno::EINVAL)?;
            WaitFilter::Pid(pidfd.process().pid())
        }
        _ => return Err(Errno::EINVAL),
    };
    if options & WEXITED == 0 {
        // Only stop/continue events were asked for, and processes never stop.
        if options & WNOHANG != 0 {
            return Ok(0);
        }
        return Err(Errno::ECHILD);
    }
    let ev = wait_child(
        ctx.process(),
        filter,
        options & WNOHANG != 0,
        options & WNOWAIT == 0,
    )?;
    if infop != 0 {
        UserPtr::new(infop).write(&siginfo_of(ev))?;
    }
    if rusage != 0 {
        UserPtr::new(rusage).write(&Rusage::zeroed())?;
    }
    Ok(0)
}
