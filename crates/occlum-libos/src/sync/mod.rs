//! Blocking and waking LibOS threads: per-thread [`Waiter`]s, [`WaitQueue`]s
//! of them, and futexes.

pub mod alarm;
pub mod futex;
mod wait_queue;

use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

pub use wait_queue::{lock, WaitQueue, Waiter};

/// Locks `m`, a table that every process shares (processes, futexes, file
/// locks, address ownership, mounts, socket names). A LibOS panic while it
/// was held may have left it half-changed for everyone: rather than run
/// every process on it, the LibOS stops (fail-stop). Per-process state uses
/// [`lock`], since a panic ends only the process that owns it.
pub fn lock_shared<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|_| shared_state_lost())
}

/// [`lock_shared`] for reading a shared `RwLock`.
pub fn read_shared<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|_| shared_state_lost())
}

/// [`lock_shared`] for changing a shared `RwLock`.
pub fn write_shared<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|_| shared_state_lost())
}

fn shared_state_lost() -> ! {
    eprintln!(
        "occlum: LibOS bug: a panic left a table shared by all processes half-changed; stopping the LibOS"
    );
    std::process::abort()
}
