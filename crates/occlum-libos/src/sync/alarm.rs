//! Alarms: one LibOS thread calls [`Alarm::ring`] when a deadline passes.
//! Interval timers (`setitimer`), POSIX timers and timerfds use it; each
//! keeps its own state and a generation, so an alarm set before a change is
//! recognised as stale and ignored.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::lock;

/// Something to do at a deadline.
pub trait Alarm: Send + Sync {
    /// The deadline of `generation` passed: act, and return the next
    /// deadline if the alarm repeats (and is still of that generation).
    fn ring(&self, generation: u64) -> Option<Instant>;
}

/// The shortest time between two rings of one repeating alarm: a timer
/// with a tinier period counts its expirations from the clock instead.
const MIN_PERIOD: Duration = Duration::from_millis(1);

struct Entry {
    deadline: Instant,
    alarm: Arc<dyn Alarm>,
    generation: u64,
}

impl PartialEq for Entry {
    fn eq(&self, o: &Self) -> bool {
        self.deadline == o.deadline
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Entry {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.deadline.cmp(&o.deadline)
    }
}

struct Queue {
    heap: Mutex<BinaryHeap<Reverse<Entry>>>,
    cv: Condvar,
}

static QUEUE: Queue = Queue {
    heap: Mutex::new(BinaryHeap::new()),
    cv: Condvar::new(),
};
static STARTED: std::sync::Once = std::sync::Once::new();

fn alarm_thread() {
    let mut heap = lock(&QUEUE.heap);
    loop {
        let now = Instant::now();
        match heap.peek() {
            None => heap = QUEUE.cv.wait(heap).unwrap_or_else(|e| e.into_inner()),
            Some(Reverse(e)) if e.deadline > now => {
                let d = e.deadline - now;
                heap = QUEUE
                    .cv
                    .wait_timeout(heap, d)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
            Some(_) => {
                let Reverse(e) = heap.pop().expect("peeked");
                drop(heap);
                if let Some(next) = e.alarm.ring(e.generation) {
                    let next = next.max(Instant::now() + MIN_PERIOD);
                    set(e.alarm, next, e.generation);
                }
                heap = lock(&QUEUE.heap);
            }
        }
    }
}

/// Rings `alarm` with `generation` at `deadline`.
pub fn set(alarm: Arc<dyn Alarm>, deadline: Instant, generation: u64) {
    STARTED.call_once(|| {
        let _ = std::thread::Builder::new()
            .name("occlum-alarm".into())
            .spawn(alarm_thread);
    });
    lock(&QUEUE.heap).push(Reverse(Entry {
        deadline,
        alarm,
        generation,
    }));
    QUEUE.cv.notify_one();
}

/// When a one-shot or periodic timer expires, and how often it has.
#[derive(Clone, Copy, Debug, Default)]
pub struct Schedule {
    /// The next expiry (`None`: disarmed).
    pub next: Option<Instant>,
    /// The period (zero: one-shot).
    pub interval: Duration,
    /// Bumped by every [`Schedule::arm`]: alarms of older ones are stale.
    pub generation: u64,
}

impl Schedule {
    /// Arms the timer to expire at `first` (`None`: disarms it), then
    /// every `interval`; returns the new generation.
    pub fn arm(&mut self, first: Option<Instant>, interval: Duration) -> u64 {
        self.generation += 1;
        self.next = first;
        self.interval = interval;
        self.generation
    }

    /// Counts the expirations up to `now` and moves `next` past it.
    pub fn expire(&mut self, now: Instant) -> u64 {
        let Some(next) = self.next.filter(|n| *n <= now) else {
            return 0;
        };
        if self.interval.is_zero() {
            self.next = None;
            return 1;
        }
        let late = (now - next).as_nanos() / self.interval.as_nanos();
        let count = u64::try_from(late).unwrap_or(u64::MAX - 1) + 1;
        let step = self.interval.as_nanos() * count as u128;
        self.next = u64::try_from(step)
            .ok()
            .and_then(|s| next.checked_add(Duration::from_nanos(s)));
        count
    }

    /// Time to the next expiry (zero if disarmed) and the period.
    pub fn remaining(&self, now: Instant) -> (Duration, Duration) {
        let left = self
            .next
            .map_or(Duration::ZERO, |n| n.saturating_duration_since(now));
        (left, self.interval)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_periodic_schedule_counts_missed_periods() {
        let t0 = Instant::now();
        let mut s = Schedule::default();
        s.arm(
            Some(t0 + Duration::from_millis(10)),
            Duration::from_millis(5),
        );
        assert_eq!(s.expire(t0), 0);
        assert_eq!(s.expire(t0 + Duration::from_millis(10)), 1);
        assert_eq!(s.expire(t0 + Duration::from_millis(26)), 3);
        assert_eq!(s.next, Some(t0 + Duration::from_millis(30)));
        s.arm(Some(t0), Duration::ZERO);
        assert_eq!(s.expire(t0 + Duration::from_secs(1)), 1);
        assert_eq!(s.expire(t0 + Duration::from_secs(2)), 0);
        assert_eq!(s.remaining(t0), (Duration::ZERO, Duration::ZERO));
    }
}
