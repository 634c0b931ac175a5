//! System V semaphore sets: `semget`, `semop`/`semtimedop` (all the
//! operations of one call happen at once or not at all), `semctl`, and
//! `SEM_UNDO` adjustments applied when a process ends.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use super::{now_secs, Object, Perm, Table, IPC_NOWAIT};
use crate::process::{wait_event, Process};
use crate::sync::{lock, WaitQueue};
use crate::{Errno, Result};

/// Most semaphores in a set (`SEMMSL`).
pub const SEMMSL: usize = 32000;
/// Most operations in one `semop` (`SEMOPM`).
pub const SEMOPM: usize = 500;
/// Largest semaphore value (`SEMVMX`).
pub const SEMVMX: i32 = 32767;
/// `SEM_UNDO`.
pub const SEM_UNDO: i16 = 0x1000;

/// One semaphore.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sem {
    /// The value.
    pub val: i32,
    /// The last process that changed it (`GETPID`).
    pub pid: i32,
    /// Processes waiting for it to grow (`GETNCNT`) or be zero (`GETZCNT`).
    pub ncnt: u32,
    pub zcnt: u32,
}

/// The state of a set.
pub struct SemState {
    /// The semaphores.
    pub sems: Vec<Sem>,
    /// Last `semop` and last change, in seconds since the Epoch.
    pub otime: i64,
    pub ctime: i64,
    removed: bool,
}

/// A semaphore set.
pub struct SemSet {
    perm: Mutex<Perm>,
    state: Mutex<SemState>,
    changed: WaitQueue,
}

impl Object for SemSet {
    fn perm(&self) -> MutexGuard<'_, Perm> {
        lock(&self.perm)
    }

    fn removed(&self) {
        lock(&self.state).removed = true;
        self.changed.wake_all();
    }
}

/// Every semaphore set of the LibOS.
pub static SETS: Table<SemSet> = Table::new();

/// One operation of a `semop` call.
#[derive(Clone, Copy, Debug)]
pub struct SemOp {
    pub num: u16,
    pub op: i16,
    pub flags: i16,
}

impl SemSet {
    /// A set of `n` semaphores, all zero.
    pub fn new(perm: Perm, n: usize) -> SemSet {
        SemSet {
            perm: Mutex::new(perm),
            state: Mutex::new(SemState {
                sems: vec![Sem::default(); n],
                otime: 0,
                ctime: now_secs(),
                removed: false,
            }),
            changed: WaitQueue::new(),
        }
    }

    /// The number of semaphores (never 0).
    pub fn count(&self) -> usize {
        lock(&self.state).sems.len()
    }

    /// The state, locked (`semctl`).
    pub fn state(&self) -> MutexGuard<'_, SemState> {
        lock(&self.state)
    }

    /// Wakes waiters after `semctl` changed values.
    pub fn wake(&self) {
        self.changed.wake_all();
    }

    /// Tries `ops` on `sems`: `Ok(None)` if all were done, `Ok(Some(i))`
    /// if operation `i` must wait; `sems` is unchanged unless all were.
    fn attempt(sems: &mut [Sem], ops: &[SemOp], pid: i32) -> Result<Option<usize>> {
        let mut vals: Vec<i32> = sems.iter().map(|s| s.val).collect();
        for (i, op) in ops.iter().enumerate() {
            let v = &mut vals[op.num as usize];
            match op.op {
                0 if *v != 0 => return Ok(Some(i)),
                0 => {}
                n if n > 0 => {
                    if *v + i32::from(n) > SEMVMX {
                        return Err(Errno::ERANGE);
                    }
                    *v += i32::from(n);
                }
                n => {
                    if *v < -i32::from(n) {
                        return Ok(Some(i));
                    }
                    *v += i32::from(n);
                }
            }
        }
        for (s, v) in sems.iter_mut().zip(vals) {
            if s.val != v {
                s.val = v;
            }
        }
        for op in ops {
            sems[op.num as usize].pid = pid;
        }
        Ok(None)
    }

    /// `semop`: does all of `ops` at once, waiting (until `deadline`) as
    /// long as one cannot be done, unless it says `IPC_NOWAIT` (`EAGAIN`).
    pub fn semop(
        &self,
        id: i32,
        process: &Arc<Process>,
        ops: &[SemOp],
        deadline: Option<Instant>,
    ) -> Result<()> {
        let n = self.count();
        if ops.iter().any(|o| o.num as usize >= n) {
            return Err(Errno::EFBIG);
        }
        let pid = process.pid();
        // The semaphore this call is counted as waiting on (GETNCNT/ZCNT).
        let mut waiting: Option<(usize, bool)> = None;
        let r = wait_event(&[&self.changed], deadline, || {
            let mut st = lock(&self.state);
            if st.removed {
                return Err(Errno::EIDRM);
            }
            if let Some((num, zero)) = waiting.take() {
                let s = &mut st.sems[num];
                if zero {
                    s.zcnt -= 1;
                } else {
                    s.ncnt -= 1;
                }
            }
            match Self::attempt(&mut st.sems, ops, pid)? {
                None => {
                    st.otime = now_secs();
                    Ok(Some(()))
                }
                Some(i) if ops[i].flags & IPC_NOWAIT as i16 != 0 => Err(Errno::EAGAIN),
                Some(i) => {
                    let num = ops[i].num as usize;
                    let zero = ops[i].op == 0;
                    if zero {
                        st.sems[num].zcnt += 1;
                    } else {
                        st.sems[num].ncnt += 1;
                    }
                    waiting = Some((num, zero));
                    Ok(None)
                }
            }
        });
        if let Some((num, zero)) = waiting {
            let mut st = lock(&self.state);
            if let Some(s) = st.sems.get_mut(num) {
                if zero {
                    s.zcnt = s.zcnt.saturating_sub(1);
                } else {
                    s.ncnt = s.ncnt.saturating_sub(1);
                }
            }
        }
        match r {
            Ok(()) => {
                self.changed.wake_all();
                let undo: Vec<(u16, i16)> = ops
                    .iter()
                    .filter(|o| o.flags & SEM_UNDO != 0 && o.op != 0)
                    .map(|o| (o.num, o.op))
                    .collect();
                if !undo.is_empty() {
                    let mut all = process.sem_undo();
                    let adj = all.entry(id).or_insert_with(|| vec![0; n]);
                    for (num, op) in undo {
                        adj[num as usize] -= i32::from(op);
                    }
                }
                Ok(())
            }
            Err(Errno::ETIMEDOUT) => Err(Errno::EAGAIN),
            Err(e) => Err(e),
        }
    }
}

/// Drops every process's `SEM_UNDO` adjustment of semaphore `num` of set
/// `id` (`SETVAL`), or of all of them (`SETALL`, `None`).
pub fn clear_undo(id: i32, num: Option<usize>) {
    for p in crate::process::all_processes() {
        let mut undo = p.sem_undo();
        if let Some(adj) = undo.get_mut(&id) {
            match num {
                Some(n) if n < adj.len() => adj[n] = 0,
                Some(_) => {}
                None => adj.iter_mut().for_each(|a| *a = 0),
            }
        }
    }
}

/// Applies a process's `SEM_UNDO` adjustments (at its end), each value
/// kept within 0..=`SEMVMX`.
pub fn apply_undo(undo: BTreeMap<i32, Vec<i32>>, pid: i32) {
    for (id, adj) in undo {
        let Ok(set) = SETS.get(id) else { continue };
        {
            let mut st = lock(&set.state);
            for (s, a) in st.sems.iter_mut().zip(adj) {
                if a != 0 {
                    s.val = (s.val + a).clamp(0, SEMVMX);
                    s.pid = pid;
                }
            }
        }
        set.changed.wake_all();
    }
}
