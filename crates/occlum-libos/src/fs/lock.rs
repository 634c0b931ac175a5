//! Advisory file locks: `flock` locks, owned by open file descriptions, and
//! POSIX record locks (`fcntl` `F_SETLK`/`F_SETLKW`/`F_GETLK`), owned by
//! processes and dropped when the process closes any descriptor of the file
//! or ends. Both kinds are independent of each other, as on Linux.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::process::{wait_event, Pid};
use crate::sync::{lock_shared, WaitQueue};
use crate::{Errno, Result};

/// A file's identity: (device, inode).
pub type FileKey = (u64, u64);

/// The last byte a record lock can cover ("to the end of the file").
pub const TO_END: u64 = u64::MAX;

/// One POSIX record lock: bytes `start..=end` of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordLock {
    /// Owning process.
    pub pid: Pid,
    /// First byte.
    pub start: u64,
    /// Last byte (inclusive; [`TO_END`] for the rest of the file).
    pub end: u64,
    /// Write (exclusive) or read (shared) lock.
    pub write: bool,
}

impl RecordLock {
    fn overlaps(&self, start: u64, end: u64) -> bool {
        self.start <= end && start <= self.end
    }
}

#[derive(Default)]
struct FileLocks {
    /// `flock` locks: (owner open file description, exclusive).
    flocks: Vec<(usize, bool)>,
    records: Vec<RecordLock>,
}

impl FileLocks {
    fn is_empty(&self) -> bool {
        self.flocks.is_empty() && self.records.is_empty()
    }
}

static LOCKS: Mutex<Option<HashMap<FileKey, FileLocks>>> = Mutex::new(None);
/// Woken whenever a lock is released.
static RELEASED: WaitQueue = WaitQueue::new();
/// Record locks held, so closing a file costs nothing when there are none.
static RECORDS: AtomicUsize = AtomicUsize::new(0);

fn with<R>(key: FileKey, f: impl FnOnce(&mut FileLocks) -> R) -> R {
    let mut all = lock_shared(&LOCKS);
    let map = all.get_or_insert_with(HashMap::new);
    let entry = map.entry(key).or_default();
    let r = f(entry);
    if entry.is_empty() {
        map.remove(&key);
    }
    r
}

fn count_records() -> usize {
    lock_shared(&LOCKS)
        .as_ref()
        .map(|m| m.values().map(|l| l.records.len()).sum())
        .unwrap_or(0)
}

/// Takes, converts or drops (`kind` `None`) the `flock` lock of open file
/// description `owner`; waits for conflicting locks unless `nonblock`.
/// Like Linux, a conversion first drops the lock held.
pub fn flock(key: FileKey, owner: usize, kind: Option<bool>, nonblock: bool) -> Result<()> {
    let released = with(key, |l| {
        let n = l.flocks.len();
        l.flocks.retain(|(o, _)| *o != owner);
        n != l.flocks.len()
    });
    if released {
        RELEASED.wake_all();
    }
    let Some(exclusive) = kind else { return Ok(()) };
    let try_take = || {
        with(key, |l| {
            let conflict = l
                .flocks
                .iter()
                .any(|(o, ex)| *o != owner && (exclusive || *ex));
            if conflict {
                return false;
            }
            l.flocks.push((owner, exclusive));
            true
        })
    };
    if try_take() {
        return Ok(());
    }
    if nonblock {
        return Err(Errno::EAGAIN);
    }
    wait_event(&[&RELEASED], None, || Ok(try_take().then_some(())))
}

/// The first lock of another process that conflicts with `want`.
pub fn conflicting(key: FileKey, want: &RecordLock) -> Option<RecordLock> {
    with(key, |l| {
        l.records
            .iter()
            .find(|r| {
                r.pid != want.pid && r.overlaps(want.start, want.end) && (r.write || want.write)
            })
            .copied()
    })
}

/// Removes `pid`'s locks over `start..=end`, keeping the parts outside.
fn carve(records: &mut Vec<RecordLock>, pid: Pid, start: u64, end: u64) {
    let mut kept = Vec::with_capacity(records.len() + 1);
    for r in records.drain(..) {
        if r.pid != pid || !r.overlaps(start, end) {
            kept.push(r);
            continue;
        }
        if r.start < start {
            kept.push(RecordLock {
                end: start - 1,
                ..r
            });
        }
        if r.end > end {
            kept.push(RecordLock {
                start: end + 1,
                ..r
            });
        }
    }
    *records = kept;
}

/// Sets a record lock (`want`), or unlocks the range if `unlock`; waits for
/// conflicting locks if `wait`, else fails with `EAGAIN`.
pub fn set_record(key: FileKey, want: RecordLock, unlock: bool, wait: bool) -> Result<()> {
    if unlock {
        with(key, |l| {
            carve(&mut l.records, want.pid, want.start, want.end)
        });
        RECORDS.store(count_records(), Ordering::Relaxed);
        RELEASED.wake_all();
        return Ok(());
    }
    let try_set = || {
        with(key, |l| {
            let conflict = l.records.iter().any(|r| {
                r.pid != want.pid && r.overlaps(want.start, want.end) && (r.write || want.write)
            });
            if conflict {
                return false;
            }
            carve(&mut l.records, want.pid, want.start, want.end);
            // Merge with touching locks of the same owner and type.
            let mut merged = want;
            l.records.retain(|r| {
                let touches = r.pid == want.pid
                    && r.write == want.write
                    && r.start <= merged.end.saturating_add(1)
                    && merged.start <= r.end.saturating_add(1);
                if touches {
                    merged.start = merged.start.min(r.start);
                    merged.end = merged.end.max(r.end);
                }
                !touches
            });
            l.records.push(merged);
            true
        })
    };
    let result = if try_set() {
        Ok(())
    } else if !wait {
        Err(Errno::EAGAIN)
    } else {
        wait_event(&[&RELEASED], None, || Ok(try_set().then_some(())))
    };
    RECORDS.store(count_records(), Ordering::Relaxed);
    // Converting a write lock to a read lock may let others in.
    RELEASED.wake_all();
    result
}

/// `pid` closed a descriptor of the file `key`: its record locks on the file go.
pub fn on_close(pid: Pid, key: FileKey) {
    if RECORDS.load(Ordering::Relaxed) == 0 {
        return;
    }
    with(key, |l| l.records.retain(|r| r.pid != pid));
    RECORDS.store(count_records(), Ordering::Relaxed);
    RELEASED.wake_all();
}

/// `pid` ended: all its record locks go.
pub fn release_process(pid: Pid) {
    if RECORDS.load(Ordering::Relaxed) == 0 {
        return;
    }
    if let Some(map) = lock_shared(&LOCKS).as_mut() {
        for l in map.values_mut() {
            l.records.retain(|r| r.pid != pid);
        }
        map.retain(|_, l| !l.is_empty());
    }
    RECORDS.store(count_records(), Ordering::Relaxed);
    RELEASED.wake_all();
}
