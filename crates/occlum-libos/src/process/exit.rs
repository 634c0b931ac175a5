//! Ending threads and processes: `exit`, `exit_group`, clear-child-tid,
//! robust futex lists, zombies and orphans.

use std::sync::Arc;

use super::{table, ExitStatus, Process, Thread};
use crate::signal::{self, nr::SIGCHLD, SigInfo, CLD_EXITED, CLD_KILLED, SA_NOCLDWAIT, SIG_IGN};
use crate::sync::futex;
use crate::user;

const FUTEX_WAITERS: u32 = 0x8000_0000;
const FUTEX_OWNER_DIED: u32 = 0x4000_0000;
const FUTEX_TID_MASK: u32 = 0x3fff_ffff;
/// Most robust-list entries walked (Linux's `ROBUST_LIST_LIMIT`).
const ROBUST_LIST_LIMIT: usize = 2048;

/// `exit`: ends the calling thread; the last thread out ends the process
/// with `code` (unless the process is being ended another way).
pub fn exit_thread(thread: &Arc<Thread>, code: u8) {
    finish_thread(thread, ExitStatus::Exited(code));
}

/// `exit_group` and fatal signals: makes every thread of the process leave,
/// and ends the calling thread. The first status set wins.
pub fn exit_group(thread: &Arc<Thread>, status: ExitStatus) {
    let others: Vec<Arc<Thread>> = {
        let process = thread.process();
        let mut st = process.state();
        process.mark_exiting(&mut st, status);
        st.threads
            .iter()
            .filter(|t| t.tid() != thread.tid())
            .cloned()
            .collect()
    };
    for t in others {
        t.kick();
    }
    finish_thread(thread, status);
}

/// Ends `thread`: wakes `clear_child_tid` waiters, releases its robust
/// futexes, and ends the process if it was the last thread (with the
/// process's exit status, or `fallback`).
pub fn finish_thread(thread: &Arc<Thread>, fallback: ExitStatus) {
    // Leave the thread list first: a joiner woken through clear_child_tid
    // below then finds the process with one thread fewer (it may fork, or
    // read Threads: in /proc/self/status, at once).
    let process = thread.process();
    process.add_ended_cpu(thread.run_time());
    {
        let mut st = process.state();
        st.threads.retain(|t| t.tid() != thread.tid());
        process.add_syscalls(thread.syscall_counts());
        st.leaving += 1;
        if st.threads.is_empty() {
            st.end_status = Some(st.exiting.unwrap_or(fallback));
        }
    }
    process.threads_changed.wake_all();
    let ctid = thread.clear_child_tid();
    if ctid != 0 && user::write_bytes(ctid, &0u32.to_le_bytes()).is_ok() {
        let _ = futex::wake(ctid, 1, u32::MAX);
    }
    release_robust_list(thread);
    thread.set_ended();
    table::unregister_thread(thread.tid());
    // The process ends once every thread that left has finished leaving
    // (else a thread still ending would outlive its process).
    let last = {
        let mut st = process.state();
        st.leaving -= 1;
        if st.threads.is_empty() && st.leaving == 0 {
            st.end_status.take()
        } else {
            None
        }
    };
    if let Some(status) = last {
        end_process(process, status);
    }
}

fn release_robust_list(thread: &Thread) {
    let head = thread.robust_list();
    if head == 0 {
        return;
    }
    let (Ok(first), Ok(offset), Ok(pending)) = (
        user::read_u64(head),
        user::read_u64(head + 8),
        user::read_u64(head + 16),
    ) else {
        return;
    };
    let tid = thread.tid() as u32;
    let mut entry = first;
    for _ in 0..ROBUST_LIST_LIMIT {
        if entry == head || entry == 0 {
            break;
        }
        let lock = (entry & !1).wrapping_add(offset);
        if lock != (pending & !1).wrapping_add(offset) {
            futex_owner_died(lock, tid);
        }
        match user::read_u64(entry & !1) {
            Ok(next) => entry = next,
            Err(_) => break,
        }
    }
    if pending != 0 {
        futex_owner_died((pending & !1).wrapping_add(offset), tid);
    }
}

/// Marks the robust futex at `addr` as abandoned by `tid` and wakes a waiter.
fn futex_owner_died(addr: u64, tid: u32) {
    for _ in 0..16 {
        let Ok(v) = user::read_u32(addr) else { return };
        if v & FUTEX_TID_MASK != tid {
            return;
        }
        let new = (v & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
        match user::cmpxchg_u32(addr, v, new) {
            Ok(found) if found == v => {
                if v & FUTEX_WAITERS != 0 {
                    let _ = futex::wake(addr, 1, u32::MAX);
                }
                return;
            }
            Ok(_) => continue,
            Err(_) => return,
        }
    }
}

/// The last thread of `process` is gone: free its memory and files, make it
/// a zombie, give its children to the init process and tell its parent.
fn end_process(process: &Arc<Process>, status: ExitStatus) {
    let (trapped, direct) = process.syscall_counts();
    let total = trapped + direct;
    if total > 0 {
        let (faulted, cpuid_direct) = process.cpuid_counts();
        tracing::info!(
            "process {} ({}): {total} syscalls, {direct} direct ({:.1}%), {trapped} trapped; \
             {} cpuid, {cpuid_direct} direct",
            process.pid(),
            process.exe_path(),
            direct as f64 * 100.0 / total as f64,
            faulted + cpuid_direct,
        );
    }
    drop(process.set_vm(None));
    process.posix_timers().clear();
    let undo = std::mem::take(&mut *process.sem_undo());
    crate::ipc::sem::apply_undo(undo, process.pid());
    process.shm_attaches().clear();
    let files = std::mem::take(&mut *process.files());
    drop(files);
    crate::fs::lock::release_process(process.pid());
    let (parent, orphans, waited) = {
        let mut st = process.state();
        st.zombie = Some(status);
        process.mark_exiting(&mut st, status);
        let waited = st.end_waiters > 0;
        (
            st.parent.upgrade(),
            std::mem::take(&mut st.children),
            waited,
        )
    };
    if waited {
        process.ended.notify_all();
    }
    process.exited.wake_all();
    if !orphans.is_empty() {
        adopt_orphans(process, orphans);
    }
    if let Some(parent) = parent {
        notify_parent(&parent, process, status);
    }
}

/// Tells the parent that `child` ended: `SIGCHLD`, and a wake-up of its
/// waits. A parent that ignores `SIGCHLD` (or set `SA_NOCLDWAIT`) leaves no
/// zombie: the child is reaped at once, as on Linux.
fn notify_parent(parent: &Arc<Process>, child: &Arc<Process>, status: ExitStatus) {
    let action = parent.sig_actions().get(SIGCHLD);
    let (code, value) = match status {
        ExitStatus::Exited(c) => (CLD_EXITED, c as i32),
        ExitStatus::Killed(s) => (CLD_KILLED, s),
        ExitStatus::LibosBug => (CLD_KILLED, 6),
    };
    if action.handler == SIG_IGN || action.flags & SA_NOCLDWAIT != 0 {
        parent.state().children.retain(|c| !Arc::ptr_eq(c, child));
        table::remove_process(child.pid());
    }
    // SA_NOCLDWAIT leaves no zombie but still sends SIGCHLD (an ignored one
    // is dropped by the sending itself).
    {
        signal::send_to_process(
            parent,
            SigInfo {
                signo: SIGCHLD,
                code,
                pid: child.pid(),
                status: value,
                addr: 0,
                value: 0,
            },
        );
    }
    parent.child_events.wake_all();
}

fn adopt_orphans(dead: &Arc<Process>, orphans: Vec<Arc<Process>>) {
    let Some(init) = table::get_process(table::INIT_PID).filter(|i| !Arc::ptr_eq(i, dead)) else {
        return;
    };
    for child in &orphans {
        child.set_parent(&init);
    }
    let any_zombie = orphans.iter().any(|c| c.exit_status().is_some());
    // An init that ignores SIGCHLD (the server's) reaps zombies at once.
    let reaps = init.sig_actions().get(SIGCHLD).handler == SIG_IGN;
    let orphans: Vec<Arc<Process>> = if reaps {
        orphans
            .into_iter()
            .filter(|c| {
                let zombie = c.exit_status().is_some();
                if zombie {
                    table::remove_process(c.pid());
                }
                !zombie
            })
            .collect()
    } else {
        orphans
    };
    init.state().children.extend(orphans);
    if any_zombie {
        init.child_events.wake_all();
    }
}
