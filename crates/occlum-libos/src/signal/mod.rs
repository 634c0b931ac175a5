//! Signals, emulated by the LibOS: dispositions per process, masks and
//! pending signals per thread (and per process), delivery on the way back to
//! user code by building a Linux-compatible signal frame on the user stack,
//! and `rt_sigreturn`.

mod action;
mod deliver;
mod frame;
mod pending;
pub mod posix_timer;
mod send;
pub mod timer;

pub use action::{
    SigAction, SigActions, SA_NOCLDWAIT, SA_NODEFER, SA_ONSTACK, SA_RESETHAND, SA_RESTART,
    SA_RESTORER, SA_SIGINFO, SIG_DFL, SIG_IGN,
};
pub use deliver::{before_return, RestartKind};
pub use frame::{sigreturn, AltStack, MIN_SIGSTKSZ, SS_DISABLE};
pub use pending::{
    Pending, PendingGuard, PendingQueue, SigInfo, CLD_EXITED, CLD_KILLED, SI_KERNEL, SI_QUEUE,
    SI_TIMER, SI_TKILL, SI_USER,
};
pub use send::{kill_group, kill_process, send_fault, send_to_process, send_to_thread, signal_all};

/// A signal number, 1..=64.
pub type SigNum = i32;

/// Number of signals.
pub const NSIG: SigNum = 64;
#[allow(missing_docs)]
pub mod nr {
    use super::SigNum;
    pub const SIGHUP: SigNum = 1;
    pub const SIGINT: SigNum = 2;
    pub const SIGQUIT: SigNum = 3;
    pub const SIGILL: SigNum = 4;
    pub const SIGTRAP: SigNum = 5;
    pub const SIGABRT: SigNum = 6;
    pub const SIGBUS: SigNum = 7;
    pub const SIGFPE: SigNum = 8;
    pub const SIGKILL: SigNum = 9;
    pub const SIGSEGV: SigNum = 11;
    pub const SIGPIPE: SigNum = 13;
    pub const SIGALRM: SigNum = 14;
    pub const SIGTERM: SigNum = 15;
    pub const SIGCHLD: SigNum = 17;
    pub const SIGCONT: SigNum = 18;
    pub const SIGSTOP: SigNum = 19;
    pub const SIGTSTP: SigNum = 20;
    pub const SIGTTIN: SigNum = 21;
    pub const SIGTTOU: SigNum = 22;
    pub const SIGURG: SigNum = 23;
    pub const SIGXCPU: SigNum = 24;
    pub const SIGXFSZ: SigNum = 25;
    pub const SIGWINCH: SigNum = 28;
    pub const SIGSYS: SigNum = 31;
}
use nr::*;

/// A set of signals (bit `n-1` for signal `n`), as `sigset_t` in the kernel ABI.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigSet(pub u64);

impl SigSet {
    /// The set holding only `sig`.
    pub fn of(sig: SigNum) -> SigSet {
        SigSet(1u64 << (sig - 1))
    }

    /// Whether `sig` is in the set.
    pub fn contains(self, sig: SigNum) -> bool {
        self.0 & (1u64 << (sig - 1)) != 0
    }

    /// The set without the signals that can never be blocked.
    pub fn blockable(self) -> SigSet {
        SigSet(self.0 & !(SigSet::of(SIGKILL).0 | SigSet::of(SIGSTOP).0))
    }
}

/// Whether `sig` is a valid signal number.
pub fn valid(sig: i64) -> bool {
    (1..=NSIG as i64).contains(&sig)
}

/// What a signal does when its disposition is `SIG_DFL`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultAction {
    /// End the process.
    Terminate,
    /// End the process (with a core dump on Linux; none here).
    Core,
    /// Nothing.
    Ignore,
    /// Stop the process. There is no job control in the LibOS: ignored.
    Stop,
    /// Continue a stopped process: nothing to do.
    Continue,
}

/// The default action of `sig`.
pub fn default_action(sig: SigNum) -> DefaultAction {
    match sig {
        SIGCHLD | SIGURG | SIGWINCH => DefaultAction::Ignore,
        SIGCONT => DefaultAction::Continue,
        SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU => DefaultAction::Stop,
        SIGQUIT | SIGILL | SIGTRAP | SIGABRT | SIGBUS | SIGFPE | SIGSEGV | SIGXCPU | SIGXFSZ
        | SIGSYS => DefaultAction::Core,
        _ => DefaultAction::Terminate,
    }
}
