//! POSIX message queue syscalls: `mq_open`, `mq_unlink`, `mq_timedsend`,
//! `mq_timedreceive`, `mq_notify`, `mq_getsetattr` (`fs::mqueue` has the
//! queues).

use std::sync::Arc;
use std::time::{Duration, Instant};

use occlum_pal::host;

use super::SyscallCtx;
use crate::fs::mqueue::{self, MqFile, Queue, MQ_PRIO_MAX, MSGSIZE_MAX, MSG_MAX};
use crate::fs::vfs::NAME_MAX;
use crate::fs::{downcast, O_ACCMODE, O_CREAT, O_EXCL, O_NONBLOCK};
use crate::user;
use crate::{Errno, Result};

const SIGEV_SIGNAL: i32 = 0;
const SIGEV_NONE: i32 = 1;

/// Reads a queue name (the libcs drop the leading `/`).
fn read_name(addr: u64) -> Result<Vec<u8>> {
    let name = user::read_cstring(addr, NAME_MAX + 1)?;
    if name.is_empty() {
        return Err(Errno::ENOENT);
    }
    if name.contains(&b'/') || name == b"." || name == b".." {
        return Err(Errno::EACCES);
    }
    Ok(name)
}

fn queue_file(ctx: &SyscallCtx<'_, '_>, fd: u64) -> Result<Arc<MqFile>> {
    let f = ctx.process().files().get(fd as i32)?;
    downcast::<MqFile>(f).ok_or(Errno::EBADF)
}

/// An absolute `CLOCK_REALTIME` time-out as an instant (`None`: none).
fn deadline(addr: u64) -> Result<Option<Instant>> {
    if addr == 0 {
        return Ok(None);
    }
    let at = user::read_timespec(addr)?;
    let now = host::clock_gettime(0)?;
    let wait = at
        .saturating_sub(now)
        .min(Duration::from_secs(u32::MAX as u64));
    Ok(Some(Instant::now() + wait))
}

pub(super) fn sys_mq_open(
    ctx: &mut SyscallCtx<'_, '_>,
    name: u64,
    flags: u32,
    mode: u32,
    attr: u64,
) -> Result<u64> {
    let name = read_name(name)?;
    if flags & O_ACCMODE == O_ACCMODE {
        return Err(Errno::EINVAL);
    }
    let (uid, gid) = {
        let c = ctx.process().creds();
        (c.uid.effective, c.gid.effective)
    };
    let umask = ctx.process().fs().umask;
    let make = || -> Result<Queue> {
        let (maxmsg, msgsize) = if attr != 0 {
            let raw = user::read_bytes(attr, 32)?;
            let field =
                |i: usize| i64::from_le_bytes(raw[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
            (field(1), field(2))
        } else {
            (MSG_MAX, MSGSIZE_MAX)
        };
        if maxmsg <= 0 || msgsize <= 0 || maxmsg > MSG_MAX || msgsize > MSGSIZE_MAX {
            return Err(Errno::EINVAL);
        }
        Ok(Queue::new(maxmsg, msgsize, uid, gid, mode & 0o777 & !umask))
    };
    let q = if flags & O_CREAT != 0 {
        mqueue::open(&name, Some(&make), flags & O_EXCL != 0)?
    } else {
        mqueue::open(&name, None, false)?
    };
    // Queue descriptors are always close-on-exec, as on Linux.
    ctx.install(
        Arc::new(MqFile::new(q, flags & (O_ACCMODE | O_NONBLOCK))),
        true,
    )
}

pub(super) fn sys_mq_unlink(_: &mut SyscallCtx<'_, '_>, name: u64) -> Result<u64> {
    mqueue::unlink(&read_name(name)?)?;
    Ok(0)
}

pub(super) fn sys_mq_timedsend(
    ctx: &mut SyscallCtx<'_, '_>,
    mqdes: u64,
    msg_ptr: u64,
    len: usize,
    prio: u64,
    abs_timeout: u64,
) -> Result<u64> {
    let deadline = deadline(abs_timeout)?;
    if prio >= u64::from(MQ_PRIO_MAX) {
        return Err(Errno::EINVAL);
    }
    let q = queue_file(ctx, mqdes)?;
    let msg = user::read_bytes(msg_ptr, len.min(MSGSIZE_MAX as usize + 1))?;
    q.send(msg, prio as u32, deadline, ctx.process().pid())?;
    Ok(0)
}

pub(super) fn sys_mq_timedreceive(
    ctx: &mut SyscallCtx<'_, '_>,
    mqdes: u64,
    buf: u64,
    len: usize,
    prio_out: u64,
    abs_timeout: u64,
) -> Result<u64> {
    let deadline = deadline(abs_timeout)?;
    let q = queue_file(ctx, mqdes)?;
    user::check_access(buf, len.min(MSGSIZE_MAX as usize), crate::vm::PROT_WRITE)?;
    let (msg, prio) = q.receive(len, deadline)?;
    user::write_bytes(buf, &msg)?;
    if prio_out != 0 {
        user::write_bytes(prio_out, &prio.to_le_bytes())?;
    }
    Ok(msg.len() as u64)
}

pub(super) fn sys_mq_notify(ctx: &mut SyscallCtx<'_, '_>, mqdes: u64, sevp: u64) -> Result<u64> {
    let q = queue_file(ctx, mqdes)?;
    let how = if sevp == 0 {
        None
    } else {
        let mut ev = [0u8; 16];
        user::read_into(sevp, &mut ev)?;
        let value = u64::from_le_bytes(ev[0..8].try_into().expect("8 bytes"));
        let signo = i32::from_le_bytes(ev[8..12].try_into().expect("4 bytes"));
        match i32::from_le_bytes(ev[12..16].try_into().expect("4 bytes")) {
            SIGEV_NONE => Some((None, value)),
            SIGEV_SIGNAL if crate::signal::valid(signo.into()) => Some((Some(signo), value)),
            _ => return Err(Errno::EINVAL),
        }
    };
    q.notify(ctx.process(), how)?;
    Ok(0)
}

pub(super) fn sys_mq_getsetattr(
    ctx: &mut SyscallCtx<'_, '_>,
    mqdes: u64,
    newattr: u64,
    oldattr: u64,
) -> Result<u64> {
    let q = queue_file(ctx, mqdes)?;
    let old = q.attr();
    if newattr != 0 {
        let flags = user::read_u64(newattr)?;
        if flags & !u64::from(O_NONBLOCK) != 0 {
            return Err(Errno::EINVAL);
        }
        q.set_nonblock(flags != 0);
    }
    if oldattr != 0 {
        let mut out = [0u8; 64];
        for (i, v) in old.iter().enumerate() {
            out[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
        }
        user::write_bytes(oldattr, &out)?;
    }
    Ok(0)
}
