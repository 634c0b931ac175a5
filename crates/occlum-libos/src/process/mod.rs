//! Processes and threads. All LibOS processes share the one user-space
//! region (each with its own address space inside it); each LibOS thread runs
//! on one host thread while it runs user code.

mod creds;
mod exec;
mod exit;
pub mod keys;
mod rlimit;
pub mod sched;
mod spawn;
mod table;
mod thread;
mod wait;

use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};

pub use creds::{
    Caps, Credentials, Kind as CredKind, ALL_CAPS, CAP_LAST_CAP, CAP_SETGID, CAP_SETUID,
    NGROUPS_MAX,
};
pub use exec::execve;
pub use exit::{exit_group, exit_thread, finish_thread};
pub use rlimit::{Rlimit, Rlimits};
pub use spawn::{fork, spawn_thread, vfork, TidWords};
pub(crate) use table::register_process;
pub use table::{
    all_processes, alloc_pid, get_process, get_thread, live_threads, register_thread,
    unregister_thread, INIT_PID,
};
pub use thread::{
    current, is_current, set_current, wait_event, wait_event_or_host, with_current, StartContext,
    Thread, VforkParent,
};
pub use wait::{wait_child, ChildEvent, WaitFilter};

use crate::fs::vfs::FsContext;
use crate::fs::FileTable;
use crate::signal::posix_timer::PosixTimers;
use crate::signal::timer::RealTimer;
use crate::signal::{PendingGuard, PendingQueue, SigActions};
use crate::sync::{lock, WaitQueue};
use crate::vm::VmSpace;

/// A process or thread id.
pub type Pid = i32;

/// An address space, shared by the threads of a process (and by a `vfork`
/// child until it execs).
pub type Vm = Arc<Mutex<VmSpace>>;

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
    /// The `wait4` status word.
    pub fn wait_status(self) -> i32 {
        match self {
            ExitStatus::Exited(c) => (c as i32) << 8,
            ExitStatus::Killed(s) => s & 0x7f,
            ExitStatus::LibosBug => 6,
        }
    }
}

/// What changes as a process lives: its family, its threads, its fate.
pub struct ProcessState {
    /// The parent (the init process adopts orphans); changed only through
    /// [`Process::set_parent`], which keeps `getppid`'s copy.
    pub parent: Weak<Process>,
    /// Children not yet reaped.
    pub children: Vec<Arc<Process>>,
    /// Process group id.
    pub pgid: Pid,
    /// Session id.
    pub sid: Pid,
    /// Path of the program, as the LibOS sees it.
    pub exe_path: String,
    /// The program's arguments, each ending in NUL (`/proc/[pid]/cmdline`).
    pub cmdline: Arc<Vec<u8>>,
    /// Its environment, each entry ending in NUL (`/proc/[pid]/environ`).
    pub environ: Arc<Vec<u8>>,
    /// Live threads.
    pub threads: Vec<Arc<Thread>>,
    /// Set when the process must end (`exit_group`, a fatal signal): every
    /// thread leaves user code at its next chance.
    pub exiting: Option<ExitStatus>,
    /// Set once all threads are gone: the process is a zombie until reaped.
    pub zombie: Option<ExitStatus>,
    /// Whether the process has called `execve` (`setpgid` by its parent then
    /// fails with `EACCES`).
    pub did_exec: bool,
    /// Threads that left `threads` and have not finished ending yet: the
    /// process ends when the last of them has.
    pub leaving: usize,
    /// The status the process ends with, fixed when its last thread left.
    pub end_status: Option<ExitStatus>,
    /// Host threads blocked in [`Process::wait_until_ended`] (the end
    /// notifies only if there are some).
    pub end_waiters: usize,
}

/// The (user, system) split of a CPU time last reported, so that neither
/// part goes back when the proportion it is split in changes (as Linux's
/// `cputime_adjust` keeps them).
#[derive(Default)]
pub(crate) struct SplitTime(Mutex<(u64, u64)>);

impl SplitTime {
    /// (user, user and system) of `total` ns.
    pub(crate) fn split(&self, total: u64) -> (u64, u64) {
        let (user, _) = occlum_pal::host::split_user_time(total);
        let mut last = lock(&self.0);
        let mut system = (total - user.min(total)).max(last.1);
        let mut user = total.saturating_sub(system);
        if user < last.0 {
            user = last.0;
            system = total.saturating_sub(user);
        }
        *last = (user, system);
        (user, user + system)
    }
}

/// A LibOS process.
pub struct Process {
    pid: Pid,
    /// Its parent's pid, as `ProcessState::parent` says (read without
    /// the state's lock: `getppid`).
    ppid: std::sync::atomic::AtomicI32,
    state: Mutex<ProcessState>,
    vm: Mutex<Option<Vm>>,
    files: Mutex<FileTable>,
    fs: Mutex<FsContext>,
    rlimits: Mutex<Rlimits>,
    sig_actions: Mutex<SigActions>,
    sig_pending: PendingQueue,
    real_timer: Mutex<RealTimer>,
    posix_timers: Mutex<PosixTimers>,
    /// `SEM_UNDO` adjustments, by semaphore set id.
    sem_undo: Mutex<std::collections::BTreeMap<i32, Vec<i32>>>,
    /// System V shared memory attached: address -> (segment id, length).
    shm_attaches: Mutex<std::collections::BTreeMap<usize, (i32, usize)>>,
    /// CPU time (ns, user and system) of the process's ended threads, and of
    /// its reaped children.
    cpu_ended: Mutex<u64>,
    cpu_children: Mutex<u64>,
    cpu_split: SplitTime,
    children_split: SplitTime,
    /// The session and process keyrings.
    keyrings: Mutex<keys::ProcessKeyrings>,
    /// `membarrier` registrations (their command bits).
    membarrier: std::sync::atomic::AtomicU64,
    nice: std::sync::atomic::AtomicI32,
    creds: Mutex<Credentials>,
    /// Woken when a child changes state (`wait4`).
    pub child_events: WaitQueue,
    /// Woken when a thread of the process ends.
    pub threads_changed: WaitQueue,
    /// Woken when the process has ended (pidfds).
    pub exited: WaitQueue,
    ended: Condvar,
    started: std::time::Instant,
    /// Syscalls served by threads that left: trapped, and through the
    /// direct entry (live threads count their own).
    syscalls: [std::sync::atomic::AtomicU64; 2],
    /// `cpuid`s served: from a fault, and through the direct entry.
    cpuids: [std::sync::atomic::AtomicU64; 2],
    /// Set with `ProcessState::exiting` ([`Process::mark_exiting`]): every
    /// return to user code checks it, without the state's lock.
    exiting_flag: std::sync::atomic::AtomicBool,
    /// What it wrote to `/dev/attestation` for its next report.
    report_inputs: Mutex<crate::attest::ReportInputs>,
}

impl Process {
    /// A new process.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        pid: Pid,
        parent: Weak<Process>,
        pgid: Pid,
        sid: Pid,
        exe_path: String,
        vm: Vm,
        files: FileTable,
        fs: FsContext,
        rlimits: Rlimits,
        sig_actions: SigActions,
    ) -> Arc<Process> {
        let ppid = parent.upgrade().map_or(0, |p| p.pid);
        Arc::new(Process {
            pid,
            ppid: std::sync::atomic::AtomicI32::new(ppid),
            state: Mutex::new(ProcessState {
                parent,
                children: Vec::new(),
                pgid,
                sid,
                exe_path,
                cmdline: Arc::default(),
                environ: Arc::default(),
                threads: Vec::new(),
                exiting: None,
                zombie: None,
                did_exec: false,
                leaving: 0,
                end_status: None,
                end_waiters: 0,
            }),
            vm: Mutex::new(Some(vm)),
            files: Mutex::new(files),
            fs: Mutex::new(fs),
            rlimits: Mutex::new(rlimits),
            sig_actions: Mutex::new(sig_actions),
            sig_pending: PendingQueue::default(),
            real_timer: Mutex::new(RealTimer::default()),
            posix_timers: Mutex::new(PosixTimers::default()),
            membarrier: std::sync::atomic::AtomicU64::new(0),
            keyrings: Mutex::new(keys::ProcessKeyrings::default()),
            cpu_ended: Mutex::new(0),
            cpu_children: Mutex::new(0),
            cpu_split: SplitTime::default(),
            children_split: SplitTime::default(),
            sem_undo: Mutex::new(Default::default()),
            shm_attaches: Mutex::new(Default::default()),
            nice: std::sync::atomic::AtomicI32::new(0),
            creds: Mutex::new(Credentials::default()),
            child_events: WaitQueue::new(),
            threads_changed: WaitQueue::new(),
            exited: WaitQueue::new(),
            ended: Condvar::new(),
            started: std::time::Instant::now(),
            syscalls: Default::default(),
            cpuids: Default::default(),
            exiting_flag: Default::default(),
            report_inputs: Default::default(),
        })
    }

    /// Adds the syscalls a thread that leaves served: (trapped, direct).
    /// The caller holds the state, out of which the thread goes.
    fn add_syscalls(&self, (trapped, direct): (u64, u64)) {
        self.syscalls[0].fetch_add(trapped, std::sync::atomic::Ordering::Relaxed);
        self.syscalls[1].fetch_add(direct, std::sync::atomic::Ordering::Relaxed);
    }

    /// What it set in `/dev/attestation` for its next report.
    pub fn report_inputs(&self) -> std::sync::MutexGuard<'_, crate::attest::ReportInputs> {
        lock(&self.report_inputs)
    }

    /// Counts one `cpuid`, `direct` if it came through the direct entry.
    pub fn count_cpuid(&self, direct: bool) {
        self.cpuids[usize::from(direct)].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// `cpuid`s served so far: (from a fault, direct).
    pub fn cpuid_counts(&self) -> (u64, u64) {
        let get = |i: usize| self.cpuids[i].load(std::sync::atomic::Ordering::Relaxed);
        (get(0), get(1))
    }

    /// Syscalls served so far: (trapped, direct).
    pub fn syscall_counts(&self) -> (u64, u64) {
        let st = self.state();
        let get = |i: usize| self.syscalls[i].load(std::sync::atomic::Ordering::Relaxed);
        st.threads.iter().fold((get(0), get(1)), |(t, d), th| {
            let (tt, td) = th.syscall_counts();
            (t + tt, d + td)
        })
    }

    /// Its nice value (-20..=19; `getpriority`, `setpriority`). The LibOS
    /// does not schedule by it, but keeps and hands it on as Linux does.
    pub fn nice(&self) -> i32 {
        self.nice.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Sets the nice value (clamped to -20..=19).
    pub fn set_nice(&self, nice: i32) {
        self.nice
            .store(nice.clamp(-20, 19), std::sync::atomic::Ordering::Relaxed);
    }

    /// Its user and group ids.
    pub fn creds(&self) -> MutexGuard<'_, Credentials> {
        lock(&self.creds)
    }

    /// When the process was created.
    pub fn started(&self) -> std::time::Instant {
        self.started
    }

    /// Records the arguments and environment of the program it now runs.
    pub fn set_args(&self, argv: &[Vec<u8>], envp: &[Vec<u8>]) {
        let join = |v: &[Vec<u8>]| {
            let mut out = Vec::new();
            for s in v {
                out.extend_from_slice(s);
                out.push(0);
            }
            Arc::new(out)
        };
        let mut st = self.state();
        st.cmdline = join(argv);
        st.environ = join(envp);
    }

    /// The working directory and umask.
    pub fn fs(&self) -> MutexGuard<'_, FsContext> {
        lock(&self.fs)
    }

    /// Process id.
    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// The mutable state.
    pub fn state(&self) -> MutexGuard<'_, ProcessState> {
        lock(&self.state)
    }

    /// Parent's process id (0 for the init process).
    pub fn ppid(&self) -> Pid {
        self.ppid.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Makes `parent` its parent (an orphan adopted by init).
    pub fn set_parent(&self, parent: &Arc<Process>) {
        self.state().parent = Arc::downgrade(parent);
        self.ppid
            .store(parent.pid, std::sync::atomic::Ordering::Relaxed);
    }

    /// Path of the program, as the LibOS sees it.
    pub fn exe_path(&self) -> String {
        self.state().exe_path.clone()
    }

    /// The address space (`ESRCH` once the process has ended).
    pub fn vm(&self) -> crate::Result<Vm> {
        lock(&self.vm).clone().ok_or(crate::Errno::ESRCH)
    }

    /// Replaces the address space (`execve`); returns the old one.
    pub fn set_vm(&self, vm: Option<Vm>) -> Option<Vm> {
        std::mem::replace(&mut *lock(&self.vm), vm)
    }

    /// The descriptor table.
    pub fn files(&self) -> MutexGuard<'_, FileTable> {
        lock(&self.files)
    }

    /// Resource limits.
    pub fn rlimits(&self) -> MutexGuard<'_, Rlimits> {
        lock(&self.rlimits)
    }

    /// Signal dispositions.
    pub fn sig_actions(&self) -> MutexGuard<'_, SigActions> {
        lock(&self.sig_actions)
    }

    /// Process-directed pending signals.
    pub fn sig_pending(&self) -> PendingGuard<'_> {
        self.sig_pending.lock()
    }

    /// Takes the next process-directed signal not in `blocked`.
    pub fn take_pending(&self, blocked: crate::signal::SigSet) -> Option<crate::signal::SigInfo> {
        self.sig_pending.take(blocked)
    }

    /// The process-directed pending signals.
    pub fn pending_set(&self) -> crate::signal::SigSet {
        self.sig_pending.set()
    }

    /// The `ITIMER_REAL` state.
    pub fn real_timer(&self) -> MutexGuard<'_, RealTimer> {
        lock(&self.real_timer)
    }

    /// `SEM_UNDO` adjustments, by semaphore set id.
    pub fn sem_undo(&self) -> MutexGuard<'_, std::collections::BTreeMap<i32, Vec<i32>>> {
        lock(&self.sem_undo)
    }

    /// System V shared memory attached: address -> (segment id, length).
    pub fn shm_attaches(&self) -> MutexGuard<'_, std::collections::BTreeMap<usize, (i32, usize)>> {
        lock(&self.shm_attaches)
    }

    /// CPU time the process has used: (user, user and system), in ns.
    pub fn cpu_time(&self) -> (u64, u64) {
        self.cpu_split.split(self.run_time())
    }

    /// CPU time (user and system) the process has used, in ns.
    fn run_time(&self) -> u64 {
        let threads = self.state().threads.clone();
        *lock(&self.cpu_ended) + threads.iter().map(|t| t.run_time()).sum::<u64>()
    }

    /// CPU time of the reaped children (and theirs): (user, user and
    /// system), in ns.
    pub fn children_cpu_time(&self) -> (u64, u64) {
        let total = *lock(&self.cpu_children);
        self.children_split.split(total)
    }

    /// Adds an ended thread's CPU time (ns).
    pub(crate) fn add_ended_cpu(&self, ns: u64) {
        *lock(&self.cpu_ended) += ns;
    }

    /// Adds a reaped child's CPU time (its own and its children's).
    pub(crate) fn add_child_cpu(&self, child: &Process) {
        let ns = child.run_time() + *lock(&child.cpu_children);
        *lock(&self.cpu_children) += ns;
    }

    /// The session and process keyrings.
    pub fn keyrings(&self) -> MutexGuard<'_, keys::ProcessKeyrings> {
        lock(&self.keyrings)
    }

    /// Records a `membarrier` registration command.
    pub fn register_membarrier(&self, cmd: u64) {
        self.membarrier
            .fetch_or(cmd, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether `membarrier` registration `cmd` was made.
    pub fn membarrier_registered(&self, cmd: u64) -> bool {
        self.membarrier.load(std::sync::atomic::Ordering::Relaxed) & cmd != 0
    }

    /// The POSIX timers (`timer_create`).
    pub fn posix_timers(&self) -> MutexGuard<'_, PosixTimers> {
        lock(&self.posix_timers)
    }

    /// Whether the process must end, and how.
    pub fn exiting(&self) -> Option<ExitStatus> {
        if !self.exiting_flag.load(std::sync::atomic::Ordering::Acquire) {
            return None;
        }
        self.state().exiting
    }

    /// Sets how the process ends, in `st` (its state, locked), unless set
    /// already: the first status set wins.
    pub fn mark_exiting(&self, st: &mut ProcessState, status: ExitStatus) {
        st.exiting.get_or_insert(status);
        self.exiting_flag
            .store(true, std::sync::atomic::Ordering::Release);
    }

    /// How the process ended, once all its threads are gone.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        self.state().zombie
    }

    /// Blocks the calling host thread until the process has ended.
    pub fn wait_until_ended(&self) -> ExitStatus {
        let mut st = self.state();
        loop {
            if let Some(s) = st.zombie {
                return s;
            }
            st.end_waiters += 1;
            st = self.ended.wait(st).unwrap_or_else(|e| e.into_inner());
            st.end_waiters -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SplitTime;

    #[test]
    fn neither_part_of_a_split_time_goes_back() {
        let split = SplitTime::default();
        let mut last = (0, 0);
        for total in [0, 10, 1_000, 1_000, 50_000, 60_000, 10_000_000] {
            let (user, all) = split.split(total);
            assert_eq!(all, total);
            assert!(
                user >= last.0 && all - user >= last.1,
                "{last:?} then ({user}, {all})"
            );
            last = (user, all - user);
        }
        // The proportion moves against the parts already reported.
        *super::lock(&split.0) = (9_000_000, 1_000_000);
        let (user, all) = split.split(10_000_001);
        assert!(user >= 9_000_000 && all - user >= 1_000_000);
    }
}
