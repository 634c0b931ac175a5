//! Signal dispositions (`rt_sigaction`).

use super::{SigNum, SigSet, NSIG};
use crate::abi::KernelSigaction;

/// `SIG_DFL`.
pub const SIG_DFL: u64 = 0;
/// `SIG_IGN`.
pub const SIG_IGN: u64 = 1;
/// `SA_NOCLDWAIT`.
pub const SA_NOCLDWAIT: u64 = 2;
/// `SA_SIGINFO`.
pub const SA_SIGINFO: u64 = 4;
/// `SA_RESTORER`.
pub const SA_RESTORER: u64 = 0x0400_0000;
/// `SA_ONSTACK`.
pub const SA_ONSTACK: u64 = 0x0800_0000;
/// `SA_RESTART`.
pub const SA_RESTART: u64 = 0x1000_0000;
/// `SA_NODEFER`.
pub const SA_NODEFER: u64 = 0x4000_0000;
/// `SA_RESETHAND`.
pub const SA_RESETHAND: u64 = 0x8000_0000;

/// One disposition: the kernel's `struct sigaction` on x86_64.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigAction {
    /// Handler address, `SIG_DFL` or `SIG_IGN`.
    pub handler: u64,
    /// `SA_*` flags.
    pub flags: u64,
    /// Address of the code that calls `rt_sigreturn`.
    pub restorer: u64,
    /// Signals blocked while the handler runs.
    pub mask: SigSet,
}

impl From<KernelSigaction> for SigAction {
    fn from(k: KernelSigaction) -> Self {
        SigAction {
            handler: k.handler,
            flags: k.flags,
            restorer: k.restorer,
            mask: SigSet(k.mask),
        }
    }
}

impl From<SigAction> for KernelSigaction {
    fn from(a: SigAction) -> Self {
        KernelSigaction {
            handler: a.handler,
            flags: a.flags,
            restorer: a.restorer,
            mask: a.mask.0,
        }
    }
}

/// The dispositions of a process.
#[derive(Clone, Debug)]
pub struct SigActions([SigAction; NSIG as usize]);

impl Default for SigActions {
    fn default() -> Self {
        SigActions([SigAction::default(); NSIG as usize])
    }
}

impl SigActions {
    /// The disposition of `sig`.
    pub fn get(&self, sig: SigNum) -> SigAction {
        self.0[(sig - 1) as usize]
    }

    /// Sets the disposition of `sig`.
    pub fn set(&mut self, sig: SigNum, a: SigAction) {
        self.0[(sig - 1) as usize] = a;
    }

    /// `execve`: caught signals go back to their default; ignored ones stay.
    pub fn reset_for_exec(&mut self) {
        for a in self.0.iter_mut() {
            if a.handler != SIG_IGN {
                *a = SigAction::default();
            }
        }
    }
}
