//! LibOS threads, the current thread of a host thread, and interruptible
//! waiting.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use occlum_pal::trap::{self, UserRegs};

use super::{Pid, Process};
use crate::signal::{AltStack, PendingGuard, PendingQueue, RestartKind, SigInfo, SigSet};
use crate::sync::{lock, WaitQueue, Waiter};
use crate::{Errno, Result};

/// Where a thread starts running user code.
#[derive(Clone, Copy, Debug)]
pub struct StartContext {
    /// General registers.
    pub regs: UserRegs,
    /// FS base (thread pointer).
    pub fs: u64,
}

/// The parent of a `vfork` child, suspended until the child execs or ends;
/// its host thread runs the child meanwhile.
pub struct VforkParent {
    /// The suspended thread.
    pub thread: Arc<Thread>,
    /// Its registers at the `vfork`/`clone` call.
    pub regs: UserRegs,
    /// Its FS base.
    pub fs: u64,
}

/// A LibOS thread.
pub struct Thread {
    tid: Pid,
    process: Arc<Process>,
    clear_child_tid: AtomicU64,
    robust_list: AtomicU64,
    waiter: Arc<Waiter>,
    host_tid: AtomicI32,
    /// CPU time (user, total; ns) used on host threads this thread has
    /// left, and the host thread's clock when it took the current one.
    cpu: Mutex<CpuTime>,
    cpu_split: super::SplitTime,
    /// Whether the thread is blocked in the LibOS (`S` in `/proc`).
    sleeping: AtomicBool,
    vfork_parent: Mutex<Option<VforkParent>>,
    exit_requested: AtomicBool,
    ended: AtomicBool,
    sig_mask: AtomicU64,
    sig_pending: PendingQueue,
    altstack: Mutex<AltStack>,
    saved_mask: Mutex<Option<SigSet>>,
    restart: Mutex<Option<(u64, RestartKind)>>,
    /// Whether `saved_mask` and `restart` hold something: every return to
    /// user code looks, without their locks (only the thread sets them).
    has_saved_mask: AtomicBool,
    has_restart: AtomicBool,
    /// Syscalls it served: trapped, direct (only its host thread adds).
    syscalls: [AtomicU64; 2],
    /// The name `prctl(PR_SET_NAME)` gave (`None`: the program's file name).
    comm: Mutex<Option<Vec<u8>>>,
    sched: Mutex<super::sched::Sched>,
    timer_slack: AtomicU64,
    /// The thread keyring's serial (0: none yet).
    keyring: AtomicI32,
}

/// CPU time accounting of a thread: one host clock read each time it
/// takes or leaves a host thread (a spawn moves threads four times).
#[derive(Clone, Copy, Debug, Default)]
struct CpuTime {
    /// Run time (ns) on host threads left.
    used: u64,
    /// The current host thread's run time when this thread took it.
    base: u64,
}

impl Thread {
    /// A new thread of `process`.
    pub fn new(tid: Pid, process: Arc<Process>) -> Arc<Thread> {
        Arc::new(Thread {
            tid,
            process,
            clear_child_tid: AtomicU64::new(0),
            robust_list: AtomicU64::new(0),
            waiter: Waiter::new(),
            host_tid: AtomicI32::new(0),
            cpu: Mutex::new(CpuTime::default()),
            cpu_split: super::SplitTime::default(),
            sleeping: AtomicBool::new(false),
            vfork_parent: Mutex::new(None),
            exit_requested: AtomicBool::new(false),
            ended: AtomicBool::new(false),
            sig_mask: AtomicU64::new(0),
            sig_pending: PendingQueue::default(),
            altstack: Mutex::new(AltStack::default()),
            saved_mask: Mutex::new(None),
            restart: Mutex::new(None),
            has_saved_mask: AtomicBool::new(false),
            has_restart: AtomicBool::new(false),
            syscalls: Default::default(),
            comm: Mutex::new(None),
            sched: Mutex::new(super::sched::Sched::default()),
            timer_slack: AtomicU64::new(50_000),
            keyring: AtomicI32::new(0),
        })
    }

    /// The thread keyring's serial (0: none yet).
    pub fn keyring(&self) -> i32 {
        self.keyring.load(Ordering::Relaxed)
    }

    /// Sets the thread keyring.
    pub fn set_keyring(&self, serial: i32) {
        self.keyring.store(serial, Ordering::Relaxed);
    }

    /// The timer slack in nanoseconds (`PR_GET_TIMERSLACK`); kept, not used.
    pub fn timer_slack(&self) -> u64 {
        self.timer_slack.load(Ordering::Relaxed)
    }

    /// Sets the timer slack (`PR_SET_TIMERSLACK`).
    pub fn set_timer_slack(&self, ns: u64) {
        self.timer_slack.store(ns, Ordering::Relaxed);
    }

    /// The thread's scheduling attributes.
    pub fn sched(&self) -> std::sync::MutexGuard<'_, super::sched::Sched> {
        lock(&self.sched)
    }

    /// The thread's name (`/proc/[pid]/comm`, `PR_GET_NAME`): set by
    /// `prctl(PR_SET_NAME)`, else the first 15 bytes of the program's file name.
    pub fn comm(&self) -> Vec<u8> {
        if let Some(c) = &*lock(&self.comm) {
            return c.clone();
        }
        let exe = self.process.exe_path();
        let base = exe.rsplit('/').next().unwrap_or("").as_bytes();
        base[..base.len().min(15)].to_vec()
    }

    /// Sets the thread's name (at most 15 bytes kept).
    pub fn set_comm(&self, name: &[u8]) {
        *lock(&self.comm) = Some(name[..name.len().min(15)].to_vec());
    }

    /// Thread id.
    pub fn tid(&self) -> Pid {
        self.tid
    }

    /// The process the thread belongs to.
    pub fn process(&self) -> &Arc<Process> {
        &self.process
    }

    /// The thread's waiter, for blocking.
    pub fn waiter(&self) -> &Arc<Waiter> {
        &self.waiter
    }

    /// Records the `set_tid_address`/`CLONE_CHILD_CLEARTID` pointer.
    pub fn set_clear_child_tid(&self, addr: u64) {
        self.clear_child_tid.store(addr, Ordering::Relaxed);
    }

    /// The `set_tid_address` pointer.
    pub fn clear_child_tid(&self) -> u64 {
        self.clear_child_tid.load(Ordering::Relaxed)
    }

    /// Records the `set_robust_list` head.
    pub fn set_robust_list(&self, addr: u64) {
        self.robust_list.store(addr, Ordering::Relaxed);
    }

    /// The `set_robust_list` head.
    pub fn robust_list(&self) -> u64 {
        self.robust_list.load(Ordering::Relaxed)
    }

    /// Records which host thread runs this thread (0: none), and the CPU
    /// time used on the one it leaves.
    pub fn set_host_tid(&self, tid: i32) {
        let mut cpu = lock(&self.cpu);
        let old = self.host_tid.swap(tid, Ordering::AcqRel);
        if old != 0 {
            if let Some(now) = occlum_pal::host::thread_run_time(old) {
                cpu.used += now.saturating_sub(cpu.base);
            }
        }
        if tid != 0 {
            cpu.base = occlum_pal::host::thread_run_time(tid).unwrap_or_default();
        }
    }

    /// Whether the thread is blocked in the LibOS.
    pub fn is_sleeping(&self) -> bool {
        self.sleeping.load(Ordering::Relaxed)
    }

    /// CPU time this thread has used: (user, user and system), in ns.
    pub fn cpu_time(&self) -> (u64, u64) {
        self.cpu_split.split(self.run_time())
    }

    /// CPU time (user and system) this thread has used, in ns.
    pub fn run_time(&self) -> u64 {
        let cpu = lock(&self.cpu);
        let host = self.host_tid.load(Ordering::Acquire);
        let mut total = cpu.used;
        if host != 0 {
            if let Some(now) = occlum_pal::host::thread_run_time(host) {
                total += now.saturating_sub(cpu.base);
            }
        }
        total
    }

    /// Makes the thread notice pending work (the end of its process, a
    /// signal): wakes it if it is blocked in the LibOS, and interrupts its
    /// host thread if it runs user code.
    pub fn kick(&self) {
        self.waiter.wake();
        let host = self.host_tid.load(Ordering::Acquire);
        if host != 0 {
            let _ = trap::interrupt(host);
        }
    }

    /// Whether a blocking call of this thread must stop now: the thread or
    /// its process is ending, or a signal it does not block is pending.
    pub fn interrupted(&self) -> bool {
        self.exit_requested() || self.process.exiting().is_some() || self.has_deliverable_signal()
    }

    fn has_deliverable_signal(&self) -> bool {
        self.pending_set().0 & !self.sig_mask().0 != 0
    }

    /// The signals pending for this thread or its process.
    pub fn pending_set(&self) -> SigSet {
        SigSet(self.sig_pending.set().0 | self.process.pending_set().0)
    }

    /// The signal mask.
    pub fn sig_mask(&self) -> SigSet {
        SigSet(self.sig_mask.load(Ordering::Acquire))
    }

    /// Sets the signal mask (SIGKILL and SIGSTOP are never blocked).
    pub fn set_sig_mask(&self, mask: SigSet) {
        self.sig_mask.store(mask.blockable().0, Ordering::Release);
    }

    /// Thread-directed pending signals.
    pub fn sig_pending(&self) -> PendingGuard<'_> {
        self.sig_pending.lock()
    }

    /// Takes the next signal to deliver: thread-directed first.
    pub fn take_pending_signal(&self, blocked: SigSet) -> Option<SigInfo> {
        let own = self.sig_pending.take(blocked);
        own.or_else(|| self.process.take_pending(blocked))
    }

    /// The alternate signal stack.
    pub fn altstack(&self) -> AltStack {
        *lock(&self.altstack)
    }

    /// Sets the alternate signal stack.
    pub fn set_altstack(&self, s: AltStack) {
        *lock(&self.altstack) = s;
    }

    /// Remembers the mask to restore after `rt_sigsuspend`'s handler.
    pub fn set_saved_mask(&self, m: SigSet) {
        *lock(&self.saved_mask) = Some(m);
        self.has_saved_mask.store(true, Ordering::Release);
    }

    /// Takes the mask saved by `rt_sigsuspend`.
    pub fn take_saved_mask(&self) -> Option<SigSet> {
        if !self.has_saved_mask.load(Ordering::Acquire) {
            return None;
        }
        self.has_saved_mask.store(false, Ordering::Release);
        lock(&self.saved_mask).take()
    }

    /// Records that syscall `nr` was interrupted and may be restarted.
    pub fn set_restart(&self, nr: u64, kind: RestartKind) {
        *lock(&self.restart) = Some((nr, kind));
        self.has_restart.store(true, Ordering::Release);
    }

    /// Takes the interrupted-syscall record.
    pub fn take_restart(&self) -> Option<(u64, RestartKind)> {
        if !self.has_restart.load(Ordering::Acquire) {
            return None;
        }
        self.has_restart.store(false, Ordering::Release);
        lock(&self.restart).take()
    }

    /// Asks this thread alone to end (another thread of its process execs).
    pub fn request_exit(&self) {
        self.exit_requested.store(true, Ordering::Release);
        self.kick();
    }

    /// Counts one syscall it made, `direct` if through the direct entry
    /// (a plain store: only the thread itself counts).
    pub fn count_syscall(&self, direct: bool) {
        let c = &self.syscalls[usize::from(direct)];
        c.store(c.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    }

    /// Syscalls it made: (trapped, direct).
    pub fn syscall_counts(&self) -> (u64, u64) {
        let get = |i: usize| self.syscalls[i].load(Ordering::Relaxed);
        (get(0), get(1))
    }

    /// Whether [`Thread::request_exit`] was called.
    pub fn exit_requested(&self) -> bool {
        self.exit_requested.load(Ordering::Acquire)
    }

    /// Marks the thread as ended.
    pub(super) fn set_ended(&self) {
        self.ended.store(true, Ordering::Release);
    }

    /// Whether the thread has ended.
    pub fn is_ended(&self) -> bool {
        self.ended.load(Ordering::Acquire)
    }

    /// Makes this thread a `vfork` child of `parent`.
    pub fn set_vfork_parent(&self, parent: VforkParent) {
        *lock(&self.vfork_parent) = Some(parent);
    }

    /// Whether this thread is a `vfork` child whose parent is suspended.
    pub fn has_vfork_parent(&self) -> bool {
        lock(&self.vfork_parent).is_some()
    }

    /// Takes the suspended `vfork` parent, if this thread is a `vfork`
    /// child, ready to resume.
    pub fn take_vfork_parent(&self) -> Option<VforkParent> {
        lock(&self.vfork_parent).take()
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<Thread>>> = const { RefCell::new(None) };
}

/// Makes `thread` the LibOS thread of the calling host thread.
pub fn set_current(thread: Option<Arc<Thread>>) {
    CURRENT.with(|c| *c.borrow_mut() = thread);
}

/// The LibOS thread of the calling host thread.
pub fn current() -> Option<Arc<Thread>> {
    CURRENT.with(|c| c.borrow().clone())
}

/// Runs `f` on the calling host thread's current LibOS thread, without
/// taking a reference to it (an atomic update of a count other CPUs touch).
pub fn with_current<R>(f: impl FnOnce(&Thread) -> R) -> Option<R> {
    CURRENT.with(|c| c.borrow().as_deref().map(f))
}

/// Whether `thread` is the calling host thread's current LibOS thread
/// (cheaper than [`current`]: no reference is taken).
pub fn is_current(thread: &Arc<Thread>) -> bool {
    CURRENT.with(|c| c.borrow().as_ref().is_some_and(|t| Arc::ptr_eq(t, thread)))
}

/// Clears a thread's sleeping flag when its wait ends.
struct Awake<'a>(&'a AtomicBool);

impl Drop for Awake<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Relaxed);
    }
}

/// Blocks the current thread until `cond` gives a value (or an error), the
/// `deadline` passes (`ETIMEDOUT`), or the thread is interrupted (`EINTR`).
/// `cond` runs after the thread registered on `queues`, so a wake-up between
/// the check and the park is not lost.
pub fn wait_event<T>(
    queues: &[&WaitQueue],
    deadline: Option<Instant>,
    cond: impl FnMut() -> Result<Option<T>>,
) -> Result<T> {
    wait_event_or_host(queues, &[], deadline, cond)
}

/// Like [`wait_event`], but also wakes when one of the host descriptors
/// `host_fds` (with the `POLL_*` events wanted) is ready.
pub fn wait_event_or_host<T>(
    queues: &[&WaitQueue],
    host_fds: &[(std::os::fd::BorrowedFd<'_>, i16)],
    deadline: Option<Instant>,
    mut cond: impl FnMut() -> Result<Option<T>>,
) -> Result<T> {
    let thread = current().ok_or(Errno::ESRCH)?;
    // Most waits end at once (data is there): no queue is touched then.
    if let Some(v) = cond()? {
        return Ok(v);
    }
    let waiter = thread.waiter().clone();
    for q in queues {
        q.enqueue(&waiter);
    }
    let result = loop {
        match cond() {
            Ok(Some(v)) => break Ok(v),
            Err(e) => break Err(e),
            Ok(None) => {}
        }
        if thread.interrupted() {
            break Err(Errno::EINTR);
        }
        let woken = {
            let _paused = crate::vm::domain::pause();
            thread.sleeping.store(true, Ordering::Relaxed);
            let _awake = Awake(&thread.sleeping);
            if host_fds.is_empty() {
                Ok(waiter.park(deadline))
            } else {
                waiter.park_host(host_fds, deadline)
            }
        };
        let woken = match woken {
            Ok(w) => w,
            Err(e) => break Err(e),
        };
        if !woken {
            // One last look: the event may have come with the time-out.
            break match cond() {
                Ok(Some(v)) => Ok(v),
                Err(e) => Err(e),
                Ok(None) => Err(Errno::ETIMEDOUT),
            };
        }
    };
    for q in queues {
        q.dequeue(&waiter);
    }
    result
}
