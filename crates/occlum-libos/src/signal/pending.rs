//! Pending signals and their `siginfo`.

use std::collections::VecDeque;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use super::{SigNum, SigSet};

/// `SI_USER`: sent by `kill`.
pub const SI_USER: i32 = 0;
/// `SI_TKILL`: sent by `tkill`/`tgkill`.
pub const SI_TKILL: i32 = -6;
/// `CLD_EXITED`.
pub const CLD_EXITED: i32 = 1;
/// `CLD_KILLED`.
pub const CLD_KILLED: i32 = 2;
/// `SI_KERNEL`.
pub const SI_KERNEL: i32 = 0x80;
/// `SI_QUEUE`: sent by `sigqueue` (`rt_sigqueueinfo`).
pub const SI_QUEUE: i32 = -1;
/// `SI_TIMER`: a POSIX timer expired.
pub const SI_TIMER: i32 = -2;

/// What a `siginfo_t` says about one signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigInfo {
    /// The signal.
    pub signo: SigNum,
    /// `si_code`.
    pub code: i32,
    /// Sender's pid (or the child's, for `SIGCHLD`).
    pub pid: i32,
    /// `si_status` of `SIGCHLD`.
    pub status: i32,
    /// Faulting address (`SIGSEGV`, `SIGBUS`, ...), 0 otherwise.
    pub addr: u64,
    /// `si_value` of a queued signal or a timer's (`SI_QUEUE`, `SI_TIMER`,
    /// and other negative codes a sender chose).
    pub value: u64,
}

impl SigInfo {
    /// A signal sent by process `pid` with `code`.
    pub fn user(signo: SigNum, code: i32, pid: i32) -> SigInfo {
        SigInfo {
            signo,
            code,
            pid,
            status: 0,
            addr: 0,
            value: 0,
        }
    }

    /// A signal queued with a value (`sigqueue`, or a sender's own code).
    pub fn queued(signo: SigNum, code: i32, pid: i32, value: u64) -> SigInfo {
        SigInfo {
            value,
            ..SigInfo::user(signo, code, pid)
        }
    }

    /// The expiry of POSIX timer `id` with `overrun` expirations missed:
    /// `si_timerid` is kept in `pid` and `si_overrun` in `status`.
    pub fn timer(signo: SigNum, id: i32, overrun: i32, value: u64) -> SigInfo {
        SigInfo {
            status: overrun,
            ..SigInfo::queued(signo, SI_TIMER, id, value)
        }
    }

    /// The x86_64 `siginfo_t`.
    pub fn to_abi(&self) -> crate::abi::Siginfo {
        use crate::abi::Siginfo;
        if self.addr != 0 {
            Siginfo::fault(self.signo, self.code, self.addr)
        } else if self.code == SI_TIMER {
            Siginfo::timer(self.signo, self.pid, self.status, self.value)
        } else if self.code < 0 && self.code != SI_TKILL {
            Siginfo::queued(self.signo, self.code, self.pid, 0, self.value)
        } else {
            Siginfo::from_process(self.signo, self.code, self.pid, 0, self.status)
        }
    }
}

/// Signals waiting to be delivered: standard signals coalesce, real-time
/// signals queue.
#[derive(Debug, Default)]
pub struct Pending {
    standard: [Option<SigInfo>; 32],
    /// Which of `standard` are set, as a `SigSet` (bit `sig - 1`): the
    /// check made on every return to user code reads only this.
    standard_set: u64,
    realtime: VecDeque<SigInfo>,
}

impl Pending {
    /// Adds a signal (a standard signal already pending is not added again).
    pub fn push(&mut self, info: SigInfo) {
        if info.signo < 32 {
            self.standard[info.signo as usize].get_or_insert(info);
            if info.signo > 0 {
                self.standard_set |= 1 << (info.signo - 1);
            }
        } else {
            self.realtime.push_back(info);
        }
    }

    /// The set of pending signals.
    pub fn set(&self) -> SigSet {
        let mut s = self.standard_set;
        for e in &self.realtime {
            s |= 1 << (e.signo - 1);
        }
        SigSet(s)
    }

    /// Takes the lowest-numbered pending signal not in `blocked`.
    pub fn take(&mut self, blocked: SigSet) -> Option<SigInfo> {
        let ready = self.standard_set & !blocked.0;
        if ready != 0 {
            let sig = ready.trailing_zeros() as usize + 1;
            self.standard_set &= !(1 << (sig - 1));
            return self.standard[sig].take();
        }
        if self.realtime.is_empty() {
            return None;
        }
        let pos = self
            .realtime
            .iter()
            .enumerate()
            .filter(|(_, e)| !blocked.contains(e.signo))
            .min_by_key(|(_, e)| e.signo)
            .map(|(i, _)| i)?;
        self.realtime.remove(pos)
    }

    /// Whether no signal is pending.
    pub fn is_empty(&self) -> bool {
        self.standard_set == 0 && self.realtime.is_empty()
    }

    /// Drops every pending `sig`.
    pub fn discard(&mut self, sig: SigNum) {
        if sig < 32 {
            self.standard[sig as usize] = None;
            if sig > 0 {
                self.standard_set &= !(1u64 << (sig - 1));
            }
        } else {
            self.realtime.retain(|e| e.signo != sig);
        }
    }
}

/// A [`Pending`] behind a lock, with a hint readable without it: the check
/// for signals made on every return to user code takes no lock when none
/// is pending. A signal queued after the hint was read is noticed at the
/// next return: its sender interrupts the thread after queueing it.
#[derive(Debug, Default)]
pub struct PendingQueue {
    queue: Mutex<Pending>,
    any: AtomicBool,
}

/// The locked queue; updates the hint when dropped.
pub struct PendingGuard<'a> {
    guard: MutexGuard<'a, Pending>,
    any: &'a AtomicBool,
}

impl PendingQueue {
    /// Locks the queue.
    pub fn lock(&self) -> PendingGuard<'_> {
        PendingGuard {
            guard: crate::sync::lock(&self.queue),
            any: &self.any,
        }
    }

    /// Takes the lowest-numbered pending signal not in `blocked`, if the
    /// hint says something may be pending.
    pub fn take(&self, blocked: SigSet) -> Option<SigInfo> {
        if !self.any.load(Ordering::Acquire) {
            return None;
        }
        self.lock().take(blocked)
    }

    /// The set of pending signals.
    pub fn set(&self) -> SigSet {
        if !self.any.load(Ordering::Acquire) {
            return SigSet(0);
        }
        self.lock().set()
    }
}

impl Deref for PendingGuard<'_> {
    type Target = Pending;
    fn deref(&self) -> &Pending {
        &self.guard
    }
}

impl DerefMut for PendingGuard<'_> {
    fn deref_mut(&mut self) -> &mut Pending {
        &mut self.guard
    }
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        // Still under the lock: the guard is released after this.
        self.any.store(!self.guard.is_empty(), Ordering::Release);
    }
}
