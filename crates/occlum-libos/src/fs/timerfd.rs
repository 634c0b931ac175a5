//! `timerfd`: a timer whose expirations are read from a file as a count.

use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use super::{File, Readiness, Stat, O_NONBLOCK};
use crate::process::wait_event;
use crate::sync::alarm::{self, Alarm, Schedule};
use crate::sync::{lock, WaitQueue};
use crate::{Errno, Result};

struct State {
    schedule: Schedule,
    /// Expirations not read yet.
    ticks: u64,
}

impl State {
    fn update(&mut self) -> u64 {
        let n = self.schedule.expire(Instant::now());
        self.ticks = self.ticks.saturating_add(n);
        self.ticks
    }
}

struct Inner {
    state: Mutex<State>,
    changed: WaitQueue,
}

/// A timerfd.
pub struct TimerFd {
    clock: i32,
    inner: Arc<Inner>,
    flags: super::anon::RwFlags,
}

/// Wakes the readers and pollers of a timerfd when it expires.
struct TimerFdAlarm(Weak<Inner>);

impl Alarm for TimerFdAlarm {
    fn ring(&self, generation: u64) -> Option<Instant> {
        let inner = self.0.upgrade()?;
        let next = {
            let mut st = lock(&inner.state);
            if st.schedule.generation != generation {
                return None;
            }
            st.update();
            st.schedule.next
        };
        inner.changed.wake_all();
        next
    }
}

impl TimerFd {
    /// A disarmed timerfd on `clock`; `flags` may hold `O_NONBLOCK`.
    pub fn new(clock: i32, flags: u32) -> TimerFd {
        TimerFd {
            clock,
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    schedule: Schedule::default(),
                    ticks: 0,
                }),
                changed: WaitQueue::new(),
            }),
            flags: super::anon::RwFlags::new(flags),
        }
    }

    /// The clock the timer was made for.
    pub fn clock(&self) -> i32 {
        self.clock
    }

    /// Arms the timer (`first` of `None` disarms it); unread expirations
    /// are dropped. Returns the old (remaining, interval).
    pub fn set(&self, first: Option<Instant>, interval: Duration) -> (Duration, Duration) {
        let (old, generation) = {
            let mut st = lock(&self.inner.state);
            st.update();
            let old = st.schedule.remaining(Instant::now());
            st.ticks = 0;
            (old, st.schedule.arm(first, interval))
        };
        if let Some(at) = first {
            let ring = Arc::new(TimerFdAlarm(Arc::downgrade(&self.inner)));
            alarm::set(ring, at, generation);
        }
        self.inner.changed.wake_all();
        old
    }

    /// (remaining, interval).
    pub fn get(&self) -> (Duration, Duration) {
        let mut st = lock(&self.inner.state);
        st.update();
        st.schedule.remaining(Instant::now())
    }
}

impl File for TimerFd {
    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        if buf.len() < 8 {
            return Err(Errno::EINVAL);
        }
        let nonblock = self.flags.get() & O_NONBLOCK != 0;
        let inner = &self.inner;
        let ticks = loop {
            let next = lock(&inner.state).schedule.next;
            let r = wait_event(&[&inner.changed], next, || {
                let mut st = lock(&inner.state);
                match st.update() {
                    0 if nonblock => Err(Errno::EAGAIN),
                    0 => Ok(None),
                    n => {
                        st.ticks = 0;
                        Ok(Some(n))
                    }
                }
            });
            match r {
                Err(Errno::ETIMEDOUT) => continue,
                r => break r?,
            }
        };
        buf[..8].copy_from_slice(&ticks.to_le_bytes());
        Ok(8)
    }

    fn stat(&self) -> Result<Stat> {
        Ok(super::anon::anon_stat(3))
    }

    fn describe(&self) -> String {
        "anon_inode:[timerfd]".to_string()
    }

    fn status_flags(&self) -> u32 {
        self.flags.get()
    }

    fn set_status_flags(&self, flags: u32) {
        self.flags.set(flags);
    }

    fn poll(&self) -> Readiness {
        Readiness {
            readable: lock(&self.inner.state).update() > 0,
            ..Readiness::default()
        }
    }

    fn poll_queues(&self) -> Vec<&WaitQueue> {
        vec![&self.inner.changed]
    }
}
