//! The global tables: pid allocation, processes and live threads by id.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::{Pid, Process, Thread};
use crate::sync::lock_shared;
use crate::{Errno, Result};

/// The pid of the first process, which adopts orphans.
pub const INIT_PID: Pid = 1;
/// Largest pid before numbers wrap (Linux's default `pid_max`).
const PID_MAX: Pid = 32768;

struct Table {
    last_pid: Pid,
    processes: BTreeMap<Pid, Arc<Process>>,
    threads: BTreeMap<Pid, Arc<Thread>>,
}

static TABLE: Mutex<Table> = Mutex::new(Table {
    last_pid: 0,
    processes: BTreeMap::new(),
    threads: BTreeMap::new(),
});

/// A fresh id for a process or thread.
pub fn alloc_pid() -> Result<Pid> {
    let mut t = lock_shared(&TABLE);
    for _ in 0..PID_MAX {
        t.last_pid = if t.last_pid >= PID_MAX {
            2
        } else {
            t.last_pid + 1
        };
        let pid = t.last_pid;
        if !t.processes.contains_key(&pid) && !t.threads.contains_key(&pid) {
            return Ok(pid);
        }
    }
    Err(Errno::EAGAIN)
}

/// Registers a new thread (and its process, if new), unless `max_threads`
/// threads are alive already (`EAGAIN`).
pub fn register_thread(thread: &Arc<Thread>, max_threads: usize) -> Result<()> {
    let mut t = lock_shared(&TABLE);
    if t.threads.len() >= max_threads {
        return Err(Errno::EAGAIN);
    }
    let p = thread.process();
    t.processes.entry(p.pid()).or_insert_with(|| p.clone());
    t.threads.insert(thread.tid(), thread.clone());
    Ok(())
}

/// Registers a process that has no thread (the server's init).
pub(crate) fn register_process(p: &Arc<Process>) {
    lock_shared(&TABLE).processes.insert(p.pid(), p.clone());
}

/// Forgets a thread that has ended.
pub fn unregister_thread(tid: Pid) {
    lock_shared(&TABLE).threads.remove(&tid);
}

/// Forgets a reaped process.
pub(super) fn remove_process(pid: Pid) {
    lock_shared(&TABLE).processes.remove(&pid);
}

/// The process with id `pid`, if it exists (zombies included).
pub fn get_process(pid: Pid) -> Option<Arc<Process>> {
    lock_shared(&TABLE).processes.get(&pid).cloned()
}

/// The live thread with id `tid`.
pub fn get_thread(tid: Pid) -> Option<Arc<Thread>> {
    lock_shared(&TABLE).threads.get(&tid).cloned()
}

/// All processes.
pub fn all_processes() -> Vec<Arc<Process>> {
    lock_shared(&TABLE).processes.values().cloned().collect()
}

/// Number of live threads.
pub fn live_threads() -> usize {
    lock_shared(&TABLE).threads.len()
}
