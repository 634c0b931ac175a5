//! A [`Waiter`] parks one LibOS thread; a [`WaitQueue`] holds the waiters
//! interested in one event. The pattern that avoids lost wake-ups: register
//! on the queue, check the condition, then park (see
//! [`crate::process::wait_event`]).

use std::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use occlum_pal::host_poll::{self, HostWaker};

use crate::{Errno, Result};

/// Locks `m`, ignoring poisoning (a panic in LibOS code is contained to the
/// process that hit it; the data stays usable).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// How long [`Waiter::park`] spins before it sleeps in the host: a wake-up
/// from a thread running on another CPU (a pipe's other end, a mutex
/// handed over) usually comes within a few microseconds, far less than a
/// host sleep and wake-up cost.
const SPIN: Duration = Duration::from_micros(20);

/// Parks and unparks one thread. A wake-up that arrives before the thread
/// parks is remembered. Other CPUs write it: it has cache lines of its own
/// (128 bytes: line pairs are fetched together).
#[derive(Default, Debug)]
#[repr(align(128))]
pub struct Waiter {
    woken: AtomicBool,
    /// Set while the thread may sleep on `cv`: only then does a wake-up
    /// take `sleep` and notify (else it is one atomic store).
    sleeping: AtomicBool,
    sleep: Mutex<()>,
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
        self.woken.store(true, Ordering::SeqCst);
        // Pairs with the store of `sleeping` in `park`: either the thread
        // sees `woken` before it sleeps, or this sees it sleeping.
        if self.sleeping.load(Ordering::SeqCst) {
            drop(lock(&self.sleep));
            self.cv.notify_one();
        }
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
        let result = if self.woken.swap(false, Ordering::SeqCst) {
            Ok(true)
        } else {
            occlum_pal::cpuid::disarm();
            let timeout = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            match host_poll::wait(fds, host, timeout) {
                Ok(ready) => Ok(ready),
                Err(Errno::EINTR) => Ok(true),
                Err(e) => Err(e),
            }
        };
        self.in_host_wait.store(false, Ordering::Relaxed);
        self.woken.store(false, Ordering::SeqCst);
        result
    }

    /// Parks until woken or until `deadline`; returns false on time-out.
    /// Spins for a moment first where another CPU could wake it.
    pub fn park(&self, deadline: Option<Instant>) -> bool {
        if self.spin(deadline) {
            return true;
        }
        occlum_pal::cpuid::disarm();
        let mut guard = lock(&self.sleep);
        self.sleeping.store(true, Ordering::SeqCst);
        let woken = loop {
            if self.woken.swap(false, Ordering::SeqCst) {
                break true;
            }
            match deadline {
                None => guard = self.cv.wait(guard).unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        break false;
                    }
                    guard = self
                        .cv
                        .wait_timeout(guard, d - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        };
        self.sleeping.store(false, Ordering::SeqCst);
        woken
    }

    /// Spins up to [`SPIN`] (and not past `deadline`) for a wake-up, which
    /// it takes; false if none came (or this machine has one CPU).
    fn spin(&self, deadline: Option<Instant>) -> bool {
        static MANY_CPUS: OnceLock<bool> = OnceLock::new();
        if !*MANY_CPUS
            .get_or_init(|| std::thread::available_parallelism().is_ok_and(|n| n.get() > 1))
        {
            return false;
        }
        let start = Instant::now();
        let end = deadline.map_or(start + SPIN, |d| d.min(start + SPIN));
        loop {
            for _ in 0..64 {
                if self.woken.load(Ordering::Relaxed) && self.woken.swap(false, Ordering::SeqCst) {
                    return true;
                }
                std::hint::spin_loop();
            }
            if Instant::now() >= end {
                return false;
            }
        }
    }
}

/// The waiters interested in one event.
#[derive(Default, Debug)]
pub struct WaitQueue {
    waiters: Mutex<Vec<Arc<Waiter>>>,
    /// `waiters.len()`, read without the lock: waking an empty queue (the
    /// common case: a pipe write nobody waits for) is one atomic load.
    len: AtomicUsize,
}

impl WaitQueue {
    /// An empty queue.
    pub const fn new() -> WaitQueue {
        WaitQueue {
            waiters: Mutex::new(Vec::new()),
            len: AtomicUsize::new(0),
        }
    }

    /// Adds `w` (once).
    pub fn enqueue(&self, w: &Arc<Waiter>) {
        let mut v = lock(&self.waiters);
        if !v.iter().any(|x| Arc::ptr_eq(x, w)) {
            v.push(w.clone());
            // Pairs with the load in `wake_all`: the waiter checks its
            // condition after this, so either it sees the event or the
            // waker sees it queued.
            self.len.store(v.len(), Ordering::SeqCst);
        }
    }

    /// Removes `w`.
    pub fn dequeue(&self, w: &Arc<Waiter>) {
        let mut v = lock(&self.waiters);
        v.retain(|x| !Arc::ptr_eq(x, w));
        self.len.store(v.len(), Ordering::SeqCst);
    }

    /// Wakes every waiter (they stay registered until they dequeue).
    pub fn wake_all(&self) {
        // The event was made visible before this call; pairs with the
        // store in `enqueue`.
        fence(Ordering::SeqCst);
        if self.len.load(Ordering::SeqCst) == 0 {
            return;
        }
        for w in lock(&self.waiters).iter() {
            w.wake();
        }
    }
}
