//! `futex` and `get_robust_list`.

use std::time::{Duration, Instant};

use occlum_pal::host;

use super::SyscallCtx;
use crate::process::current;
use crate::sync::futex;
use crate::user;
use crate::{Errno, Result};

const FUTEX_WAIT: u64 = 0;
const FUTEX_WAKE: u64 = 1;
const FUTEX_REQUEUE: u64 = 3;
const FUTEX_CMP_REQUEUE: u64 = 4;
const FUTEX_WAKE_OP: u64 = 5;
const FUTEX_LOCK_PI: u64 = 6;
const FUTEX_WAIT_BITSET: u64 = 9;
const FUTEX_WAKE_BITSET: u64 = 10;
const FUTEX_PRIVATE_FLAG: u64 = 128;
const FUTEX_CLOCK_REALTIME: u64 = 256;
const CLOCK_REALTIME: i32 = 0;
const CLOCK_MONOTONIC: i32 = 1;

/// The deadline of a futex wait: `timeout` is relative for `FUTEX_WAIT` and
/// an absolute time on `clock` for `FUTEX_WAIT_BITSET`.
fn deadline(timeout: u64, absolute: bool, clock: i32) -> Result<Option<Instant>> {
    if timeout == 0 {
        return Ok(None);
    }
    let t = user::read_timespec(timeout)?;
    let rel = if absolute {
        t.saturating_sub(host::clock_gettime(clock)?)
    } else {
        t
    };
    Ok(Some(
        Instant::now() + rel.min(Duration::from_secs(u32::MAX as u64)),
    ))
}

pub(super) fn sys_futex(
    ctx: &mut SyscallCtx<'_, '_>,
    addr: u64,
    op: u64,
    val: u32,
    timeout_or_val2: u64,
    addr2: u64,
    val3: u32,
) -> Result<u64> {
    let cmd = op & !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
    let clock = if op & FUTEX_CLOCK_REALTIME != 0 {
        CLOCK_REALTIME
    } else {
        CLOCK_MONOTONIC
    };
    if op & FUTEX_CLOCK_REALTIME != 0 && !matches!(cmd, FUTEX_WAIT | FUTEX_WAIT_BITSET) {
        return Err(Errno::ENOSYS);
    }
    if !addr.is_multiple_of(4) {
        return Err(Errno::EINVAL);
    }
    let count = |v: u32| (v as i32).max(0) as usize;
    match cmd {
        FUTEX_WAIT | FUTEX_WAIT_BITSET => {
            let bitset = if cmd == FUTEX_WAIT { u32::MAX } else { val3 };
            let deadline = deadline(timeout_or_val2, cmd == FUTEX_WAIT_BITSET, clock)?;
            let thread = current().ok_or(Errno::ESRCH)?;
            let t = thread.clone();
            futex::wait(addr, val, bitset, deadline, thread.waiter(), move || {
                t.interrupted()
            })?;
            let _ = ctx;
            Ok(0)
        }
        FUTEX_WAKE => futex::wake(addr, count(val), u32::MAX).map(|n| n as u64),
        FUTEX_WAKE_BITSET => futex::wake(addr, count(val), val3).map(|n| n as u64),
        FUTEX_REQUEUE => {
            futex::requeue(addr, count(val), count(timeout_or_val2 as u32), addr2, None)
                .map(|n| n as u64)
        }
        FUTEX_CMP_REQUEUE => futex::requeue(
            addr,
            count(val),
            count(timeout_or_val2 as u32),
            addr2,
            Some(val3),
        )
        .map(|n| n as u64),
        FUTEX_WAKE_OP => {
            futex::wake_op(addr, count(val), addr2, count(timeout_or_val2 as u32), val3)
                .map(|n| n as u64)
        }
        FUTEX_LOCK_PI..=8 | 11..=13 => Err(Errno::ENOSYS),
        _ => Err(Errno::ENOSYS),
    }
}

pub(super) fn sys_get_robust_list(
    ctx: &mut SyscallCtx<'_, '_>,
    pid: i32,
    head_ptr: u64,
    len_ptr: u64,
) -> Result<u64> {
    let thread = if pid == 0 || pid == ctx.thread().tid() {
        ctx.thread().clone()
    } else {
        return Err(Errno::ESRCH);
    };
    user::write_u64(head_ptr, thread.robust_list())?;
    user::write_u64(len_ptr, 24)?;
    Ok(0)
}
