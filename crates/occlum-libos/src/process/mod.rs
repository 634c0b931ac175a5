//! Processes and threads. A LibOS process owns an address space and a file
//! table; each of its threads runs on one host thread.

mod rlimit;

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

pub use rlimit::{Rlimit, Rlimits};

use crate::fs::FileTable;
use crate::vm::VmSpace;

/// A process or thread id.
pub type Pid = i32;

/// How a process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// `exit(code)`; the low 8 bits of the code.
    Exited(u8),
    /// Terminated by signal `signo`.
    Killed(i32),
    /// Ended because the LibOS failed (a bug) while serving it.
    LibosBug,
}

impl ExitStatus {
    /// The status a shell reports: the code, or 128 + the signal number.
    pub fn shell_code(self) -> i32 {
        match self {
            ExitStatus::Exited(c) => c as i32,
            ExitStatus::Killed(s) => 128 + s,
            ExitStatus::LibosBug => 128 + 6,
        }
    }
}

/// A LibOS process.
pub struct Process {
    pid: Pid,
    ppid: Pid,
    exe_path: String,
    vm: Mutex<VmSpace>,
    files: Mutex<FileTable>,
    rlimits: Mutex<Rlimits>,
    exit_status: Mutex<Option<ExitStatus>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Process {
    /// A new process.
    pub fn new(
        pid: Pid,
        ppid: Pid,
        exe_path: String,
        vm: VmSpace,
        files: FileTable,
        rlimits: Rlimits,
    ) -> Arc<Process> {
        Arc::new(Process {
            pid,
            ppid,
            exe_path,
            vm: Mutex::new(vm),
            files: Mutex::new(files),
            rlimits: Mutex::new(rlimits),
            exit_status: Mutex::new(None),
        })
    }

    /// Process id.
    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// Parent's process id.
    pub fn ppid(&self) -> Pid {
        self.ppid
    }

    /// Path of the program, as the LibOS sees it.
    pub fn exe_path(&self) -> &str {
        &self.exe_path
    }

    /// The address space.
    pub fn vm(&self) -> MutexGuard<'_, VmSpace> {
        lock(&self.vm)
    }

    /// The descriptor table.
    pub fn files(&self) -> MutexGuard<'_, FileTable> {
        lock(&self.files)
    }

    /// Resource limits.
    pub fn rlimits(&self) -> MutexGuard<'_, Rlimits> {
        lock(&self.rlimits)
    }

    /// Records how the process ends; the first record wins.
    pub fn set_exit_status(&self, status: ExitStatus) {
        lock(&self.exit_status).get_or_insert(status);
    }

    /// How the process ended, once it has.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        *lock(&self.exit_status)
    }
}

/// A LibOS thread.
pub struct Thread {
    tid: Pid,
    process: Arc<Process>,
    clear_child_tid: AtomicU64,
    robust_list: AtomicU64,
}

impl Thread {
    /// A new thread of `process`.
    pub fn new(tid: Pid, process: Arc<Process>) -> Arc<Thread> {
        Arc::new(Thread {
            tid,
            process,
            clear_child_tid: AtomicU64::new(0),
            robust_list: AtomicU64::new(0),
        })
    }

    /// Thread id.
    pub fn tid(&self) -> Pid {
        self.tid
    }

    /// The process the thread belongs to.
    pub fn process(&self) -> &Arc<Process> {
        &self.process
    }

    /// Records the `set_tid_address` pointer.
    pub fn set_clear_child_tid(&self, addr: u64) {
        self.clear_child_tid.store(addr, Ordering::Relaxed);
    }

    /// Records the `set_robust_list` head.
    pub fn set_robust_list(&self, addr: u64) {
        self.robust_list.store(addr, Ordering::Relaxed);
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
