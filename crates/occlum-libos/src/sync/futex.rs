//! Futexes. A futex is identified by the address space and address of its
//! word, or, for a word in shared memory, by the memory and offset, so that
//! every process mapping it names the same futex (private and shared futexes
//! coincide otherwise: a `fork` child and its parent have different words at
//! the same address).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::{lock_shared, Waiter};
use crate::vm::FutexKey;
use crate::{user, Errno, Result};

struct FutexWaiter {
    waiter: Arc<Waiter>,
    bitset: u32,
    woken: Arc<AtomicBool>,
}

static TABLE: Mutex<Option<HashMap<FutexKey, Vec<FutexWaiter>>>> = Mutex::new(None);

/// The futex of the word at `addr` of the calling process.
fn key(addr: u64) -> FutexKey {
    crate::process::current()
        .and_then(|t| t.process().vm().ok())
        .map_or(FutexKey::plain(addr), |vm| {
            crate::sync::lock(&vm).futex_key(addr)
        })
}

fn with_table<R>(f: impl FnOnce(&mut HashMap<FutexKey, Vec<FutexWaiter>>) -> R) -> R {
    let mut table = lock_shared(&TABLE);
    static INJECTED: AtomicBool = AtomicBool::new(false);
    if crate::syscall::injected_panic(crate::InjectedPanic::InFutexTable)
        && !INJECTED.swap(true, Ordering::Relaxed)
    {
        panic!("injected panic while the futex table is locked");
    }
    f(table.get_or_insert_with(HashMap::new))
}

/// Blocks while the `u32` at `addr` equals `val`, until woken by a wake
/// matching `bitset`, `deadline`, or `interrupted()` (checked after each
/// wake-up of the thread's waiter).
pub fn wait(
    addr: u64,
    val: u32,
    bitset: u32,
    deadline: Option<Instant>,
    waiter: &Arc<Waiter>,
    interrupted: impl Fn() -> bool,
) -> Result<()> {
    if bitset == 0 {
        return Err(Errno::EINVAL);
    }
    let woken = Arc::new(AtomicBool::new(false));
    let k = key(addr);
    with_table(|t| -> Result<()> {
        // Read the word under the table lock: a waker that changes it and
        // then wakes takes the same lock, so no wake-up is lost.
        let cur = user::read_u32(addr)?;
        if cur != val {
            return Err(Errno::EAGAIN);
        }
        t.entry(k).or_default().push(FutexWaiter {
            waiter: waiter.clone(),
            bitset,
            woken: woken.clone(),
        });
        Ok(())
    })?;
    loop {
        if woken.load(Ordering::Acquire) {
            return Ok(());
        }
        let timed_out = {
            let _paused = crate::vm::domain::pause();
            !waiter.park(deadline)
        };
        if woken.load(Ordering::Acquire) {
            return Ok(());
        }
        if timed_out || interrupted() {
            let removed = with_table(|t| remove_waiter(t, k, &woken));
            if !removed {
                // Woken concurrently: the wake-up counts.
                return Ok(());
            }
            return Err(if timed_out {
                Errno::ETIMEDOUT
            } else {
                Errno::EINTR
            });
        }
    }
}

fn remove_waiter(
    t: &mut HashMap<FutexKey, Vec<FutexWaiter>>,
    k: FutexKey,
    woken: &Arc<AtomicBool>,
) -> bool {
    let Some(q) = t.get_mut(&k) else {
        return false;
    };
    let before = q.len();
    q.retain(|w| !Arc::ptr_eq(&w.woken, woken));
    let removed = q.len() != before;
    if q.is_empty() {
        t.remove(&k);
    }
    removed
}

fn wake_locked(
    t: &mut HashMap<FutexKey, Vec<FutexWaiter>>,
    k: FutexKey,
    n: usize,
    bitset: u32,
) -> usize {
    let Some(q) = t.get_mut(&k) else { return 0 };
    let mut woke = 0;
    q.retain(|w| {
        if woke < n && w.bitset & bitset != 0 {
            w.woken.store(true, Ordering::Release);
            w.waiter.wake();
            woke += 1;
            false
        } else {
            true
        }
    });
    if q.is_empty() {
        t.remove(&k);
    }
    woke
}

/// Wakes up to `n` waiters of `addr` whose bitset intersects `bitset`.
pub fn wake(addr: u64, n: usize, bitset: u32) -> Result<usize> {
    if bitset == 0 {
        return Err(Errno::EINVAL);
    }
    let k = key(addr);
    Ok(with_table(|t| wake_locked(t, k, n, bitset)))
}

/// Wakes up to `n_wake` waiters of `addr` and moves up to `n_requeue` more to
/// `addr2`; with `expected`, first checks that `*addr` still equals it.
pub fn requeue(
    addr: u64,
    n_wake: usize,
    n_requeue: usize,
    addr2: u64,
    expected: Option<u32>,
) -> Result<usize> {
    let (k, k2) = (key(addr), key(addr2));
    with_table(|t| {
        if let Some(v) = expected {
            if user::read_u32(addr)? != v {
                return Err(Errno::EAGAIN);
            }
        }
        let woke = wake_locked(t, k, n_wake, u32::MAX);
        if k == k2 {
            return Ok(woke);
        }
        let mut moved = Vec::new();
        if let Some(q) = t.get_mut(&k) {
            let n = n_requeue.min(q.len());
            moved = q.drain(..n).collect();
            if q.is_empty() {
                t.remove(&k);
            }
        }
        let n_moved = moved.len();
        if n_moved > 0 {
            t.entry(k2).or_default().extend(moved);
        }
        Ok(woke + n_moved)
    })
}

/// `FUTEX_WAKE_OP`: atomically applies the operation encoded in `op` to the
/// word at `addr2`, wakes up to `n` waiters of `addr` and, if the old value of
/// `*addr2` passes the encoded comparison, up to `n2` waiters of `addr2`.
pub fn wake_op(addr: u64, n: usize, addr2: u64, n2: usize, op: u32) -> Result<usize> {
    let (kind, cmp) = ((op >> 28) & 0xf, (op >> 24) & 0xf);
    let mut oparg = (op >> 12) & 0xfff;
    let cmparg = op & 0xfff;
    if kind & 8 != 0 {
        // FUTEX_OP_OPARG_SHIFT
        if oparg > 31 {
            return Err(Errno::EINVAL);
        }
        oparg = 1 << oparg;
    }
    let apply = |old: u32| -> Result<u32> {
        Ok(match kind & 7 {
            0 => oparg,
            1 => old.wrapping_add(oparg),
            2 => old | oparg,
            3 => old & !oparg,
            4 => old ^ oparg,
            _ => return Err(Errno::ENOSYS),
        })
    };
    let (k, k2) = (key(addr), key(addr2));
    with_table(|t| {
        let old = loop {
            let cur = user::read_u32(addr2)?;
            if user::cmpxchg_u32(addr2, cur, apply(cur)?)? == cur {
                break cur;
            }
        };
        let pass = match cmp {
            0 => old == cmparg,
            1 => old != cmparg,
            2 => (old as i32) < cmparg as i32,
            3 => (old as i32) <= cmparg as i32,
            4 => (old as i32) > cmparg as i32,
            5 => (old as i32) >= cmparg as i32,
            _ => return Err(Errno::ENOSYS),
        };
        let mut woke = wake_locked(t, k, n, u32::MAX);
        if pass {
            woke += wake_locked(t, k2, n2, u32::MAX);
        }
        Ok(woke)
    })
}
