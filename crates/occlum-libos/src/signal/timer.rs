//! Per-process real-time interval timers (`setitimer(ITIMER_REAL)`, `alarm`):
//! one LibOS timer thread sends `SIGALRM` when they expire.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::{Duration, Instant};

use super::{nr::SIGALRM, pending::SI_KERNEL, send_to_process, SigInfo};
use crate::process::Process;
use crate::sync::lock;

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

struct Entry {
    deadline: Instant,
    process: Weak<Process>,
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

fn timer_thread() {
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
                if let Some(p) = e.process.upgrade() {
                    fire(&p, e.generation);
                }
                heap = lock(&QUEUE.heap);
            }
        }
    }
}

fn fire(p: &Arc<Process>, generation: u64) {
    let rearm = {
        let mut t = p.real_timer();
        if t.generation != generation || t.deadline.is_none() {
            return;
        }
        if t.interval.is_zero() {
            t.deadline = None;
            None
        } else {
            let next = Instant::now() + t.interval;
            t.deadline = Some(next);
            Some(next)
        }
    };
    send_to_process(p, SigInfo::user(SIGALRM, SI_KERNEL, 0));
    if let Some(d) = rearm {
        enqueue(p, d, generation);
    }
}

fn enqueue(p: &Arc<Process>, deadline: Instant, generation: u64) {
    STARTED.call_once(|| {
        let _ = std::thread::Builder::new()
            .name("occlum-timer".into())
            .spawn(timer_thread);
    });
    lock(&QUEUE.heap).push(Reverse(Entry {
        deadline,
        process: Arc::downgrade(p),
        generation,
    }));
    QUEUE.cv.notify_one();
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
        t.deadline = (!value.is_zero()).then(|| now + value);
        (old, t.deadline, t.generation)
    };
    if let Some(d) = deadline {
        enqueue(p, d, generation);
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
