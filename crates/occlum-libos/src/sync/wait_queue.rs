//! A [`Waiter`] parks one LibOS thread; a [`WaitQueue`] holds the waiters
//! interested in one event. The pattern that avoids lost wake-ups: register
//! on the queue, check the condition, then park (see
//! [`crate::process::wait_event`]).

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

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
