//! Creating threads and processes: a new thread of a process (`clone` with
//! the thread flags), a `fork` child (its own copy of its parent's memory,
//! running alongside it), and a `vfork` child (on its parent's memory and
//! host thread until it execs or ends).

use std::sync::{Arc, Mutex};

use occlum_pal::trap::{self, TrapFrame};

use super::{
    alloc_pid, finish_thread, register_thread, set_current, ExitStatus, Pid, Process, StartContext,
    Thread, VforkParent, Vm,
};
use crate::boot::config;
use crate::sync::lock;
use crate::task;
use crate::user;
use crate::vm::domain;
use crate::{Errno, Result};

/// The thread-id words `clone` writes or remembers for the new thread.
#[derive(Clone, Copy, Debug, Default)]
pub struct TidWords {
    /// `CLONE_PARENT_SETTID`: written in the caller's memory.
    pub parent_set: Option<u64>,
    /// `CLONE_CHILD_SETTID`: written in the new thread's memory.
    pub child_set: Option<u64>,
    /// `CLONE_CHILD_CLEARTID`: cleared and woken when the thread ends.
    pub child_clear: Option<u64>,
}

/// A new thread of `caller`'s process, started at `start` on a pool thread;
/// returns its tid.
pub fn spawn_thread(caller: &Arc<Thread>, start: StartContext, tids: TidWords) -> Result<Pid> {
    if caller.has_vfork_parent() {
        // A vfork child runs on its parent's memory until it execs or
        // exits; threads there would outlive that.
        tracing::warn!(
            "{}: creating threads between vfork and exec is not supported",
            caller.process().exe_path()
        );
        return Err(Errno::EAGAIN);
    }
    let process = caller.process().clone();
    let tid = alloc_pid()?;
    let thread = Thread::new(tid, process.clone());
    thread.set_sig_mask(caller.sig_mask());
    *thread.sched() = caller.sched().inherited();
    if let Some(a) = tids.parent_set {
        user::write_i32(a, tid)?;
    }
    if let Some(a) = tids.child_set {
        user::write_i32(a, tid)?;
    }
    if let Some(a) = tids.child_clear {
        thread.set_clear_child_tid(a);
    }
    {
        let mut st = process.state();
        if st.exiting.is_some() {
            return Err(Errno::EAGAIN);
        }
        register_thread(&thread, config().max_threads)?;
        st.threads.push(thread.clone());
    }
    if let Err(e) = task::spawn(thread.clone(), start) {
        finish_thread(&thread, ExitStatus::Exited(0));
        return Err(e);
    }
    Ok(tid)
}

/// A child process of `caller` with address space `vm` and one thread (not
/// started); it inherits everything else a child inherits.
fn new_child(caller: &Arc<Thread>, vm: Vm) -> Result<(Arc<Process>, Arc<Thread>)> {
    let parent = caller.process().clone();
    let pid = alloc_pid()?;
    let (pgid, sid, exe, cmdline, environ) = {
        let st = parent.state();
        (
            st.pgid,
            st.sid,
            st.exe_path.clone(),
            st.cmdline.clone(),
            st.environ.clone(),
        )
    };
    let files = parent.files().clone();
    let rlimits = parent.rlimits().clone();
    let child = Process::new(
        pid,
        Arc::downgrade(&parent),
        pgid,
        sid,
        exe,
        vm,
        files,
        parent.fs().clone(),
        rlimits,
        parent.sig_actions().clone(),
    );
    child.set_nice(parent.nice());
    *child.shm_attaches() = parent.shm_attaches().clone();
    let keyrings = parent.keyrings().inherited();
    *child.keyrings() = keyrings;
    *child.creds() = parent.creds().clone();
    {
        let mut st = child.state();
        st.cmdline = cmdline;
        st.environ = environ;
    }
    let thread = Thread::new(pid, child.clone());
    thread.set_sig_mask(caller.sig_mask());
    *thread.sched() = caller.sched().inherited();
    thread.set_altstack(caller.altstack());
    child.state().threads.push(thread.clone());
    if let Err(e) = register_thread(&thread, config().max_threads) {
        // Break the thread <-> process cycle, or the child (and its address
        // space) would never be freed.
        child.state().threads.clear();
        return Err(e);
    }
    parent.state().children.push(child.clone());
    Ok((child, thread))
}

/// `fork`: a child with a copy of the caller's memory (private pages
/// copied, shared memory shared), started at `start` on a pool thread; it
/// runs alongside the caller (see `vm/domain.rs`). Only the calling thread
/// goes on in the child, as POSIX says. Returns the child's pid.
pub fn fork(caller: &Arc<Thread>, start: StartContext, tids: TidWords) -> Result<Pid> {
    let parent_vm = caller.process().vm()?;
    let child_vm: Vm = {
        let copy = lock(&parent_vm).fork_copy()?;
        Arc::new(Mutex::new(copy))
    };
    // (The parent's space was registered when it was made.)
    domain::register(&child_vm);
    let (child, thread) = new_child(caller, child_vm.clone())?;
    let pid = child.pid();
    if let Some(a) = tids.child_set {
        let _ = lock(&child_vm).write_user(a as usize, &pid.to_le_bytes());
    }
    if let Some(a) = tids.child_clear {
        thread.set_clear_child_tid(a);
    }
    if let Some(a) = tids.parent_set {
        let _ = user::write_i32(a, pid);
    }
    drop(child_vm);
    if let Err(e) = task::spawn(thread.clone(), start) {
        // No host thread: the child ends before it ran (its parent reaps
        // it); nothing is written in its memory from here.
        thread.set_clear_child_tid(0);
        super::exit_group(&thread, ExitStatus::Killed(9));
        return Err(e);
    }
    Ok(pid)
}

/// `vfork`: a child that runs on the caller's memory, on the caller's host
/// thread, until it execs or ends; the caller is suspended meanwhile and
/// resumes with the child's pid. `frame` becomes the child's (at `stack` if
/// given).
pub fn vfork(caller: &Arc<Thread>, frame: &mut TrapFrame<'_>, stack: Option<u64>) -> Result<()> {
    let (_, thread) = new_child(caller, caller.process().vm()?)?;
    let parent_regs = frame.regs();
    let fs = frame.user_fs();
    thread.set_vfork_parent(VforkParent {
        thread: caller.clone(),
        regs: parent_regs,
        fs,
    });
    let mut regs = parent_regs;
    regs.rax = 0;
    if let Some(sp) = stack {
        regs.rsp = sp;
    }
    frame.set_regs(&regs);
    caller.set_host_tid(0);
    thread.set_host_tid(trap::current_host_tid());
    set_current(Some(thread));
    Ok(())
}
