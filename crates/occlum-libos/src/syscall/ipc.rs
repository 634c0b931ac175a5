//! System V IPC syscalls: `semget`/`semop`/`semtimedop`/`semctl`,
//! `shmget`/`shmat`/`shmdt`/`shmctl`, `msgget`/`msgsnd`/`msgrcv`/`msgctl`
//! (the objects are in `crate::ipc`).

use std::time::Instant;

use super::SyscallCtx;
use crate::ipc::msg::{MsgQueue, MSGMAX, MSGMNB, QUEUES};
use crate::ipc::sem::{clear_undo, SemOp, SemSet, SEMMSL, SEMOPM, SEMVMX, SETS};
use crate::ipc::shm::{ShmSeg, SEGMENTS, SHMMAX};
use crate::ipc::{
    now_secs, Object, Table, IPC_64, IPC_INFO, IPC_RMID, IPC_SET, IPC_STAT, MAX_OBJECTS, MAY_READ,
    MAY_WRITE,
};
use crate::user;
use crate::vm::{Placement, PROT_EXEC, PROT_READ, PROT_WRITE};
use crate::{Errno, Result};

const SEM_STAT: u64 = 18;
const SEM_INFO: u64 = 19;
const SEM_STAT_ANY: u64 = 20;
const GETPID: u64 = 11;
const GETVAL: u64 = 12;
const GETALL: u64 = 13;
const GETNCNT: u64 = 14;
const GETZCNT: u64 = 15;
const SETVAL: u64 = 16;
const SETALL: u64 = 17;
const SHM_LOCK: u64 = 11;
const SHM_UNLOCK: u64 = 12;
const SHM_STAT: u64 = 13;
const SHM_INFO: u64 = 14;
const SHM_STAT_ANY: u64 = 15;
const SHM_RDONLY: u64 = 0o10000;
const SHM_RND: u64 = 0o20000;
const SHM_REMAP: u64 = 0o40000;
const SHM_EXEC: u64 = 0o100000;
const MSG_STAT: u64 = 11;
const MSG_INFO: u64 = 12;
const MSG_STAT_ANY: u64 = 13;
const PAGE: u64 = 4096;

/// A `*_STAT` command's object: by id, or (the `*_STAT`/`*_STAT_ANY`
/// forms) by table index; the id to return (0 for `IPC_STAT`).
fn stat_target<T: Object>(
    table: &Table<T>,
    id: i32,
    by_index: bool,
) -> Result<(u64, std::sync::Arc<T>)> {
    if by_index {
        let (id, obj) = table.at_index(id as usize)?;
        Ok((id as u64, obj))
    } else {
        Ok((0, table.get(id)?))
    }
}

fn put(buf: &mut [u8], off: usize, v: u64) {
    buf[off..off + 8].copy_from_slice(&v.to_le_bytes());
}

pub(super) fn sys_semget(
    ctx: &mut SyscallCtx<'_, '_>,
    key: i32,
    nsems: i32,
    flags: u64,
) -> Result<u64> {
    if nsems < 0 || nsems as usize > SEMMSL {
        return Err(Errno::EINVAL);
    }
    let creds = ctx.process().creds().clone();
    let id = SETS.get_or_make(
        key,
        flags,
        &creds,
        |set| {
            if nsems as usize > set.count() {
                return Err(Errno::EINVAL);
            }
            Ok(())
        },
        |perm| {
            if nsems == 0 {
                return Err(Errno::EINVAL);
            }
            Ok(SemSet::new(perm, nsems as usize))
        },
    )?;
    Ok(id as u64)
}

fn semop(
    ctx: &SyscallCtx<'_, '_>,
    id: i32,
    sops: u64,
    nsops: u64,
    deadline: Option<Instant>,
) -> Result<u64> {
    if nsops == 0 {
        return Err(Errno::EINVAL);
    }
    if nsops as usize > SEMOPM {
        return Err(Errno::E2BIG);
    }
    let raw = user::read_bytes(sops, nsops as usize * 6)?;
    let ops: Vec<SemOp> = raw
        .chunks_exact(6)
        .map(|c| SemOp {
            num: u16::from_le_bytes([c[0], c[1]]),
            op: i16::from_le_bytes([c[2], c[3]]),
            flags: i16::from_le_bytes([c[4], c[5]]),
        })
        .collect();
    let set = SETS.get(id)?;
    let alters = ops.iter().any(|o| o.op != 0);
    let want = if alters { MAY_WRITE } else { MAY_READ };
    set.perm().check(&ctx.process().creds(), want)?;
    set.semop(id, ctx.process(), &ops, deadline)?;
    Ok(0)
}

pub(super) fn sys_semop(
    ctx: &mut SyscallCtx<'_, '_>,
    semid: i32,
    sops: u64,
    nsops: u64,
) -> Result<u64> {
    semop(ctx, semid, sops, nsops, None)
}

pub(super) fn sys_semtimedop(
    ctx: &mut SyscallCtx<'_, '_>,
    semid: i32,
    sops: u64,
    nsops: u64,
    timeout: u64,
) -> Result<u64> {
    let deadline = if timeout != 0 {
        Some(user::read_deadline(timeout)?)
    } else {
        None
    };
    semop(ctx, semid, sops, nsops, deadline)
}

pub(super) fn sys_semctl(
    ctx: &mut SyscallCtx<'_, '_>,
    id: i32,
    num: usize,
    cmd: u64,
    arg: u64,
) -> Result<u64> {
    let cmd = cmd & !IPC_64;
    let creds = ctx.process().creds().clone();
    match cmd {
        IPC_INFO | SEM_INFO => {
            let (sets, sems) = if cmd == SEM_INFO {
                let all = SETS.all();
                (
                    all.len() as i32,
                    all.iter().map(|s| s.count()).sum::<usize>() as i32,
                )
            } else {
                (20, SEMVMX)
            };
            let info: [i32; 10] = [
                1_024_000_000,
                MAX_OBJECTS as i32,
                1_024_000_000,
                1_024_000_000,
                SEMMSL as i32,
                SEMOPM as i32,
                SEMOPM as i32,
                sets,
                SEMVMX,
                sems,
            ];
            let bytes: Vec<u8> = info.iter().flat_map(|v| v.to_le_bytes()).collect();
            user::write_bytes(arg, &bytes)?;
            return Ok(SETS.max_index() as u64);
        }
        IPC_RMID => {
            SETS.remove(id, &creds)?;
            return Ok(0);
        }
        _ => {}
    }
    let by_index = cmd == SEM_STAT || cmd == SEM_STAT_ANY;
    let (ret, set) = stat_target(&SETS, id, by_index)?;
    let perm = *set.perm();
    match cmd {
        IPC_STAT | SEM_STAT | SEM_STAT_ANY => {
            if cmd != SEM_STAT_ANY {
                perm.check(&creds, MAY_READ)?;
            }
            let st = set.state();
            let mut buf = [0u8; 104];
            buf[..48].copy_from_slice(&perm.to_bytes());
            put(&mut buf, 48, st.otime as u64);
            put(&mut buf, 64, st.ctime as u64);
            put(&mut buf, 80, st.sems.len() as u64);
            drop(st);
            user::write_bytes(arg, &buf)?;
            Ok(ret)
        }
        IPC_SET => {
            let raw = user::read_bytes(arg, 48)?;
            perm.check_owner(&creds)?;
            set.perm().set_from(&raw);
            set.state().ctime = now_secs();
            Ok(0)
        }
        GETVAL | GETPID | GETNCNT | GETZCNT => {
            perm.check(&creds, MAY_READ)?;
            let st = set.state();
            let s = st.sems.get(num).ok_or(Errno::EINVAL)?;
            Ok(match cmd {
                GETVAL => s.val as u64,
                GETPID => s.pid as u64,
                GETNCNT => u64::from(s.ncnt),
                _ => u64::from(s.zcnt),
            })
        }
        GETALL => {
            perm.check(&creds, MAY_READ)?;
            let vals: Vec<u8> = set
                .state()
                .sems
                .iter()
                .flat_map(|s| (s.val as u16).to_le_bytes())
                .collect();
            user::write_bytes(arg, &vals)?;
            Ok(0)
        }
        SETVAL => {
            perm.check(&creds, MAY_WRITE)?;
            let val = arg as i32;
            if !(0..=SEMVMX).contains(&val) {
                return Err(Errno::ERANGE);
            }
            {
                let mut st = set.state();
                let pid = ctx.process().pid();
                let s = st.sems.get_mut(num).ok_or(Errno::EINVAL)?;
                s.val = val;
                s.pid = pid;
                st.ctime = now_secs();
            }
            clear_undo(id, Some(num));
            set.wake();
            Ok(0)
        }
        SETALL => {
            perm.check(&creds, MAY_WRITE)?;
            let n = set.count();
            let raw = user::read_bytes(arg, n * 2)?;
            let vals: Vec<i32> = raw
                .chunks_exact(2)
                .map(|c| i32::from(u16::from_le_bytes([c[0], c[1]])))
                .collect();
            if vals.iter().any(|v| *v > SEMVMX) {
                return Err(Errno::ERANGE);
            }
            {
                let mut st = set.state();
                let pid = ctx.process().pid();
                for (s, v) in st.sems.iter_mut().zip(vals) {
                    s.val = v;
                    s.pid = pid;
                }
                st.ctime = now_secs();
            }
            clear_undo(id, None);
            set.wake();
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

pub(super) fn sys_shmget(
    ctx: &mut SyscallCtx<'_, '_>,
    key: i32,
    size: u64,
    flags: u64,
) -> Result<u64> {
    let creds = ctx.process().creds().clone();
    let pid = ctx.process().pid();
    let id = SEGMENTS.get_or_make(
        key,
        flags,
        &creds,
        |seg| seg.check_size(size),
        |perm| {
            if size == 0 || size > SHMMAX {
                return Err(Errno::EINVAL);
            }
            ShmSeg::new(perm, size, pid)
        },
    )?;
    Ok(id as u64)
}

pub(super) fn sys_shmat(
    ctx: &mut SyscallCtx<'_, '_>,
    id: i32,
    mut addr: u64,
    flags: u64,
) -> Result<u64> {
    if !addr.is_multiple_of(PAGE) {
        if flags & SHM_RND == 0 {
            return Err(Errno::EINVAL);
        }
        addr -= addr % PAGE;
    }
    let seg = SEGMENTS.get(id)?;
    let readonly = flags & SHM_RDONLY != 0;
    let want = if readonly {
        MAY_READ
    } else {
        MAY_READ | MAY_WRITE
    };
    seg.perm().check(&ctx.process().creds(), want)?;
    let mut prot = PROT_READ;
    if !readonly {
        prot |= PROT_WRITE;
    }
    if flags & SHM_EXEC != 0 {
        prot |= PROT_EXEC;
    }
    let placement = match (addr, flags & SHM_REMAP != 0) {
        (0, true) => return Err(Errno::EINVAL),
        (0, false) => Placement::Hint(0),
        (a, true) => Placement::Fixed(a as usize),
        (a, false) => Placement::FixedNoReplace(a as usize),
    };
    let len = seg.size().div_ceil(PAGE) * PAGE;
    let vm = ctx.process().vm()?;
    let at = crate::sync::lock(&vm)
        .map_shared(placement, len as usize, prot, seg.memory(), 0)
        .map_err(|e| if e == Errno::EEXIST { Errno::EINVAL } else { e })?;
    ctx.process().shm_attaches().insert(at, (id, len as usize));
    let mut t = seg.times();
    t.atime = now_secs();
    t.lpid = ctx.process().pid();
    Ok(at as u64)
}

pub(super) fn sys_shmdt(ctx: &mut SyscallCtx<'_, '_>, shmaddr: usize) -> Result<u64> {
    let (id, len) = ctx
        .process()
        .shm_attaches()
        .remove(&shmaddr)
        .ok_or(Errno::EINVAL)?;
    let vm = ctx.process().vm()?;
    crate::sync::lock(&vm).unmap(shmaddr, len)?;
    if let Ok(seg) = SEGMENTS.get(id) {
        let mut t = seg.times();
        t.dtime = now_secs();
        t.lpid = ctx.process().pid();
    }
    Ok(0)
}

pub(super) fn sys_shmctl(ctx: &mut SyscallCtx<'_, '_>, id: i32, cmd: u64, buf: u64) -> Result<u64> {
    let cmd = cmd & !IPC_64;
    let creds = ctx.process().creds().clone();
    match cmd {
        IPC_INFO => {
            let mut info = [0u8; 72];
            put(&mut info, 0, SHMMAX);
            put(&mut info, 8, 1);
            put(&mut info, 16, 4096);
            put(&mut info, 24, 4096);
            put(&mut info, 32, SHMMAX / PAGE);
            user::write_bytes(buf, &info)?;
            return Ok(SEGMENTS.max_index() as u64);
        }
        SHM_INFO => {
            let all = SEGMENTS.all();
            let mut info = [0u8; 48];
            info[0..4].copy_from_slice(&(all.len() as i32).to_le_bytes());
            let pages: u64 = all.iter().map(|s| s.size().div_ceil(PAGE)).sum();
            put(&mut info, 8, pages);
            put(&mut info, 16, pages);
            user::write_bytes(buf, &info)?;
            return Ok(SEGMENTS.max_index() as u64);
        }
        IPC_RMID => {
            SEGMENTS.remove(id, &creds)?;
            return Ok(0);
        }
        _ => {}
    }
    let by_index = cmd == SHM_STAT || cmd == SHM_STAT_ANY;
    let (ret, seg) = stat_target(&SEGMENTS, id, by_index)?;
    let perm = *seg.perm();
    match cmd {
        IPC_STAT | SHM_STAT | SHM_STAT_ANY => {
            if cmd != SHM_STAT_ANY {
                perm.check(&creds, MAY_READ)?;
            }
            let t = *seg.times();
            let mut out = [0u8; 112];
            out[..48].copy_from_slice(&perm.to_bytes());
            put(&mut out, 48, seg.size());
            put(&mut out, 56, t.atime as u64);
            put(&mut out, 64, t.dtime as u64);
            put(&mut out, 72, t.ctime as u64);
            out[80..84].copy_from_slice(&t.cpid.to_le_bytes());
            out[84..88].copy_from_slice(&t.lpid.to_le_bytes());
            put(&mut out, 88, seg.attaches());
            user::write_bytes(buf, &out)?;
            Ok(ret)
        }
        IPC_SET => {
            let raw = user::read_bytes(buf, 48)?;
            perm.check_owner(&creds)?;
            seg.perm().set_from(&raw);
            seg.times().ctime = now_secs();
            Ok(0)
        }
        SHM_LOCK | SHM_UNLOCK => {
            perm.check_owner(&creds)?;
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

pub(super) fn sys_msgget(ctx: &mut SyscallCtx<'_, '_>, key: i32, msgflg: u64) -> Result<u64> {
    let creds = ctx.process().creds().clone();
    let id = QUEUES.get_or_make(
        key,
        msgflg,
        &creds,
        |_| Ok(()),
        |perm| Ok(MsgQueue::new(perm)),
    )?;
    Ok(id as u64)
}

pub(super) fn sys_msgsnd(
    ctx: &mut SyscallCtx<'_, '_>,
    id: i32,
    msgp: u64,
    size: usize,
    flags: u64,
) -> Result<u64> {
    if size > MSGMAX || (size as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    let q = QUEUES.get(id)?;
    q.perm().check(&ctx.process().creds(), MAY_WRITE)?;
    let mtype = user::read_u64(msgp)? as i64;
    if mtype < 1 {
        return Err(Errno::EINVAL);
    }
    let text = user::read_bytes(msgp + 8, size)?;
    q.send(mtype, text, flags, ctx.process().pid())?;
    Ok(0)
}

pub(super) fn sys_msgrcv(
    ctx: &mut SyscallCtx<'_, '_>,
    id: i32,
    msgp: u64,
    size: i64,
    msgtyp: i64,
    flags: u64,
) -> Result<u64> {
    if size < 0 {
        return Err(Errno::EINVAL);
    }
    if flags & crate::ipc::msg::MSG_COPY != 0
        && (flags & crate::ipc::IPC_NOWAIT == 0 || flags & crate::ipc::msg::MSG_EXCEPT != 0)
    {
        return Err(Errno::EINVAL);
    }
    let q = QUEUES.get(id)?;
    q.perm().check(&ctx.process().creds(), MAY_READ)?;
    user::check_access(msgp, 8 + size as usize, PROT_WRITE)?;
    let (mtype, text) = q.receive(size as usize, msgtyp, flags, ctx.process().pid())?;
    user::write_u64(msgp, mtype as u64)?;
    user::write_bytes(msgp + 8, &text)?;
    Ok(text.len() as u64)
}

pub(super) fn sys_msgctl(
    ctx: &mut SyscallCtx<'_, '_>,
    msqid: i32,
    cmd: u64,
    buf: u64,
) -> Result<u64> {
    const CAP_SYS_RESOURCE: u32 = 24;
    let (id, cmd) = (msqid, cmd & !IPC_64);
    let creds = ctx.process().creds().clone();
    match cmd {
        IPC_INFO | MSG_INFO => {
            let all = QUEUES.all();
            let (pool, map, tql) = if cmd == MSG_INFO {
                let st: Vec<(usize, usize)> = all
                    .iter()
                    .map(|q| {
                        let s = q.state();
                        (s.count(), s.bytes)
                    })
                    .collect();
                (
                    all.len() as i32,
                    st.iter().map(|s| s.0).sum::<usize>() as i32,
                    st.iter().map(|s| s.1).sum::<usize>() as i32,
                )
            } else {
                (MSGMNB as i32 * 2, MSGMNB as i32 * 2, MSGMNB as i32 * 2)
            };
            let info: [i32; 7] = [
                pool,
                map,
                MSGMAX as i32,
                MSGMNB as i32,
                MAX_OBJECTS as i32,
                16,
                tql,
            ];
            let mut bytes: Vec<u8> = info.iter().flat_map(|v| v.to_le_bytes()).collect();
            bytes.extend_from_slice(&0xffffu16.to_le_bytes());
            user::write_bytes(buf, &bytes)?;
            return Ok(QUEUES.max_index() as u64);
        }
        IPC_RMID => {
            QUEUES.remove(id, &creds)?;
            return Ok(0);
        }
        _ => {}
    }
    let by_index = cmd == MSG_STAT || cmd == MSG_STAT_ANY;
    let (ret, q) = stat_target(&QUEUES, id, by_index)?;
    let perm = *q.perm();
    match cmd {
        IPC_STAT | MSG_STAT | MSG_STAT_ANY => {
            if cmd != MSG_STAT_ANY {
                perm.check(&creds, MAY_READ)?;
            }
            let st = q.state();
            let mut out = [0u8; 120];
            out[..48].copy_from_slice(&perm.to_bytes());
            put(&mut out, 48, st.stime as u64);
            put(&mut out, 56, st.rtime as u64);
            put(&mut out, 64, st.ctime as u64);
            put(&mut out, 72, st.bytes as u64);
            put(&mut out, 80, st.count() as u64);
            put(&mut out, 88, st.qbytes as u64);
            out[96..100].copy_from_slice(&st.lspid.to_le_bytes());
            out[100..104].copy_from_slice(&st.lrpid.to_le_bytes());
            drop(st);
            user::write_bytes(buf, &out)?;
            Ok(ret)
        }
        IPC_SET => {
            let raw = user::read_bytes(buf, 96)?;
            perm.check_owner(&creds)?;
            let qbytes = u64::from_le_bytes(raw[88..96].try_into().expect("8 bytes")) as usize;
            if qbytes > MSGMNB && !creds.capable(CAP_SYS_RESOURCE) {
                return Err(Errno::EPERM);
            }
            q.perm().set_from(&raw);
            {
                let mut st = q.state();
                st.qbytes = qbytes;
                st.ctime = now_secs();
            }
            q.wake();
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}
