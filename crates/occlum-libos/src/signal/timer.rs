//! Per-process real-time interval timers (`setitimer(ITIMER_REAL)`, `alarm`):
//! an alarm (`sync::alarm`) sends `SIGALRM` when they expire.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use super::{nr::SIGALRM, pending::SI_KERNEL, send_to_process, SigInfo};
use crate::process::Process;
use crate::sync::alarm::{self, Alarm};

/// A process's `ITIMER_REAL`.
#[derive(Clone, Copy, Debug, Default)]
pub struct RealTimer {
    /// When it fires next.
    pub deadline: Option<Instant>,
    /// Period after the first expiry (zero: one-shot).
    pub interval: Duration,
    /// Bumped on every change, so stale queue entries are ignored.
    generation: u64,
}

/// `now + d`, cut at 136 years from now (user values may be larger than an
/// instant can hold).
fn later(now: Instant, d: Duration) -> Instant {
    now + d.min(Duration::from_secs(u32::MAX as u64))
}

/// The alarm of one process's real timer.
struct RealTimerAlarm(Weak<Process>);

impl Alarm for RealTimerAlarm {
    fn ring(&self, generation: u64) -> Option<Instant> {
        let p = self.0.upgrade()?;
        let next = {
            let mut t = p.real_timer();
            if t.generation != generation || t.deadline.is_none() {
                return None;
            }
            if t.interval.is_zero() {
                t.deadline = None;
                None
            } else {
                let next = later(Instant::now(), t.interval);
                t.deadline = Some(next);
                Some(next)
            }
        };
        send_to_process(&p, SigInfo::user(SIGALRM, SI_KERNEL, 0));
        next
    }
}

/// Sets `p`'s real timer to fire after `value` (zero: disarm), then every
/// `interval`; returns the old (remaining, interval).
pub fn set_real_timer(
    p: &Arc<Process>,
    value: Duration,
    interval: Duration,
) -> (Duration, Duration) {
    let (old, deadline, generation) = {
        let mut t = p.real_timer();
        let now = Instant::now();
        let old = (
            t.deadline
                .map_or(Duration::ZERO, |d| d.saturating_duration_since(now)),
            t.interval,
        );
        t.generation += 1;
        t.interval = interval;
        t.deadline = (!value.is_zero()).then(|| later(now, value));
        (old, t.deadline, t.generation)
    };
    if let Some(d) = deadline {
        alarm::set(Arc::new(RealTimerAlarm(Arc::downgrade(p))), d, generation);
    }
    old
}

/// `p`'s real timer: (remaining, interval).
pub fn real_timer(p: &Process) -> (Duration, Duration) {
    let t = p.real_timer();
    (
        t.deadline.map_or(Duration::ZERO, |d| {
            d.saturating_duration_since(Instant::now())
        }),
        t.interval,
    )
}
