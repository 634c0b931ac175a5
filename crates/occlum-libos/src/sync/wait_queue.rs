//! A [`Waiter`] parks one LibOS thread; a [`WaitQueue`] holds the waiters
//! interested in one event. The pattern that avoids lost wake-ups: register
//! on the queue, check the condition, then park (see
//! [`crate::process::wait_event`]).

use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::Instant;

use occlum_pal::host_poll::{self, HostWaker};

use crate::{Errno, Result};

/// Locks `m`, ignoring poisoning (a panic in LibOS code is contained to the
/// process that hit it; the data stays usable).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Parks and unparks one thread. A wake-up that arrives before the thread
/// parks is remembered.
#[derive(Default, Debug)]
pub struct Waiter {
    woken: Mutex<bool>,
    cv: Condvar,
    /// Wakes the thread while it waits in the host ([`Waiter::park_host`]).
    host: OnceLock<HostWaker>,
    in_host_wait: AtomicBool,
}

impl Waiter {
    /// A new waiter.
    pub fn new() -> Arc<Waiter> {
        Arc::new(Waiter::default())
    }

    /// Wakes the thread (now, or at its next [`Waiter::park`]).
    pub fn wake(&self) {
        *lock(&self.woken) = true;
        self.cv.notify_one();
        // Pairs with the fence in `park_host`: either the thread sees
        // `woken`, or this sees it waiting in the host and wakes it there.
        fence(Ordering::SeqCst);
        if self.in_host_wait.load(Ordering::Relaxed) {
            if let Some(h) = self.host.get() {
                h.wake();
            }
        }
    }

    /// Parks until woken, until one of the host descriptors `fds` (with the
    /// `POLL_*` events wanted) is ready, or until `deadline`; returns false
    /// on time-out. A host interrupt of the thread also ends the wait.
    pub fn park_host(
        &self,
        fds: &[(std::os::fd::BorrowedFd<'_>, i16)],
        deadline: Option<Instant>,
    ) -> Result<bool> {
        let host = match self.host.get() {
            Some(h) => h,
            None => {
                let _ = self.host.set(HostWaker::new()?);
                self.host.get().ok_or(Errno::ENOMEM)?
            }
        };
        self.in_host_wait.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        let result = if std::mem::take(&mut *lock(&self.woken)) {
            Ok(true)
        } else {
            let timeout = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            match host_poll::wait(fds, host, timeout) {
                Ok(ready) => Ok(ready),
                Err(Errno::EINTR) => Ok(true),
                Err(e) => Err(e),
            }
        };
        self.in_host_wait.store(false, Ordering::Relaxed);
        *lock(&self.woken) = false;
        result
    }

    /// Parks until woken or until `deadline`; returns false on time-out.
    pub fn park(&self, deadline: Option<Instant>) -> bool {
        let mut woken = lock(&self.woken);
        while !*woken {
            match deadline {
                None => woken = self.cv.wait(woken).unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return false;
                    }
                    woken = self
                        .cv
                        .wait_timeout(woken, d - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        }
        *woken = false;
        true
    }
}

/// The waiters interested in one event.
#[derive(Default, Debug)]
pub struct WaitQueue {
    waiters: Mutex<Vec<Arc<Waiter>>>,
}

impl WaitQueue {
    /// An empty queue.
    pub const fn new() -> WaitQueue {
        WaitQueue {
            waiters: Mutex::new(Vec::new()),
        }
    }

    /// Adds `w` (once).
    pub fn enqueue(&self, w: &Arc<Waiter>) {
        let mut v = lock(&self.waiters);
        if !v.iter().any(|x| Arc::ptr_eq(x, w)) {
            v.push(w.clone());
        }
    }

    /// Removes `w`.
    pub fn dequeue(&self, w: &Arc<Waiter>) {
        lock(&self.waiters).retain(|x| !Arc::ptr_eq(x, w));
    }

    /// Wakes every waiter (they stay registered until they dequeue).
    pub fn wake_all(&self) {
        for w in lock(&self.waiters).iter() {
            w.wake();
        }
    }
}
