//! POSIX per-process timers (`timer_create` and the rest): each signals its
//! process or one of its threads when it expires, or nobody
//! (`SIGEV_NONE`). Not inherited by `fork`, deleted by `execve`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use super::{send_to_process, send_to_thread, SigInfo, SigNum};
use crate::process::{Process, Thread};
use crate::sync::alarm::{self, Alarm, Schedule};
use crate::sync::lock;
use crate::{Errno, Result};

/// Most timers of one process (Linux bounds them by `RLIMIT_SIGPENDING`).
const MAX_TIMERS: usize = 4096;

/// Whom an expiry notifies.
#[derive(Clone)]
pub enum Notify {
    /// Nobody (`SIGEV_NONE`): the timer is only read with `timer_gettime`.
    None,
    /// The process, with this signal (`SIGEV_SIGNAL`).
    Process(SigNum),
    /// One thread of the process (`SIGEV_THREAD_ID`).
    Thread(Weak<Thread>, SigNum),
}

struct State {
    schedule: Schedule,
    /// Expirations missed before the last signal (`timer_getoverrun`).
    overrun: i32,
}

/// One POSIX timer.
pub struct PosixTimer {
    id: i32,
    clock: i32,
    process: Weak<Process>,
    notify: Notify,
    /// `sigev_value`, passed in `si_value`.
    value: u64,
    state: Mutex<State>,
}

struct PosixTimerAlarm(Weak<PosixTimer>);

impl Alarm for PosixTimerAlarm {
    fn ring(&self, generation: u64) -> Option<Instant> {
        let timer = self.0.upgrade()?;
        let (count, next) = {
            let mut st = lock(&timer.state);
            if st.schedule.generation != generation {
                return None;
            }
            let count = st.schedule.expire(Instant::now());
            if count > 0 {
                st.overrun = i32::try_from(count - 1).unwrap_or(i32::MAX);
            }
            (count, st.schedule.next)
        };
        if count > 0 {
            timer.notify(i32::try_from(count - 1).unwrap_or(i32::MAX));
        }
        next
    }
}

impl PosixTimer {
    fn notify(&self, overrun: i32) {
        let info = |sig| SigInfo::timer(sig, self.id, overrun, self.value);
        match &self.notify {
            Notify::None => {}
            Notify::Process(sig) => {
                if let Some(p) = self.process.upgrade() {
                    send_to_process(&p, info(*sig));
                }
            }
            Notify::Thread(t, sig) => {
                if let Some(t) = t.upgrade() {
                    send_to_thread(&t, info(*sig));
                }
            }
        }
    }

    /// Arms the timer (`first` of `None` disarms it); returns the old
    /// (remaining, interval).
    pub fn set(
        self: &Arc<Self>,
        first: Option<Instant>,
        interval: Duration,
    ) -> (Duration, Duration) {
        let (old, generation) = {
            let mut st = lock(&self.state);
            let now = Instant::now();
            st.schedule.expire(now);
            let old = st.schedule.remaining(now);
            (old, st.schedule.arm(first, interval))
        };
        if let Some(at) = first {
            alarm::set(
                Arc::new(PosixTimerAlarm(Arc::downgrade(self))),
                at,
                generation,
            );
        }
        old
    }

    /// (remaining, interval).
    pub fn get(&self) -> (Duration, Duration) {
        let mut st = lock(&self.state);
        let now = Instant::now();
        st.schedule.expire(now);
        st.schedule.remaining(now)
    }

    /// The clock the timer runs on.
    pub fn clock(&self) -> i32 {
        self.clock
    }

    /// Expirations missed before the last signal.
    pub fn overrun(&self) -> i32 {
        lock(&self.state).overrun
    }
}

/// A process's timers by id.
#[derive(Default)]
pub struct PosixTimers {
    timers: BTreeMap<i32, Arc<PosixTimer>>,
}

impl PosixTimers {
    /// Makes a disarmed timer on `clock`; returns its id (the lowest free one).
    pub fn create(
        &mut self,
        process: &Arc<Process>,
        clock: i32,
        notify: Notify,
        value: Option<u64>,
    ) -> Result<i32> {
        if self.timers.len() >= MAX_TIMERS {
            return Err(Errno::EAGAIN);
        }
        let id = (0..).find(|i| !self.timers.contains_key(i)).unwrap_or(0);
        let timer = PosixTimer {
            id,
            clock,
            process: Arc::downgrade(process),
            notify,
            // Without a sigevent, si_value holds the timer's id.
            value: value.unwrap_or(id as u64),
            state: Mutex::new(State {
                schedule: Schedule::default(),
                overrun: 0,
            }),
        };
        self.timers.insert(id, Arc::new(timer));
        Ok(id)
    }

    /// Timer `id` (`EINVAL` if there is none).
    pub fn get(&self, id: i32) -> Result<Arc<PosixTimer>> {
        self.timers.get(&id).cloned().ok_or(Errno::EINVAL)
    }

    /// Deletes timer `id`: a pending alarm of it is then stale.
    pub fn delete(&mut self, id: i32) -> Result<()> {
        let t = self.timers.remove(&id).ok_or(Errno::EINVAL)?;
        t.set(None, Duration::ZERO);
        Ok(())
    }

    /// Deletes every timer (`execve`).
    pub fn clear(&mut self) {
        for (_, t) in std::mem::take(&mut self.timers) {
            t.set(None, Duration::ZERO);
        }
    }
}
