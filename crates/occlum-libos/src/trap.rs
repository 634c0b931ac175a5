//! The LibOS's trap handler: what happens when user code stops.

use occlum_pal::trap::{TrapFrame, TrapKind};

use crate::process::{self, ExitStatus};
use crate::syscall;

/// Serves one trap of the current thread (registered with the PAL).
pub(crate) fn on_trap(frame: &mut TrapFrame<'_>) {
    let Some(thread) = process::current() else {
        tracing::error!("trap on a host thread without a LibOS thread");
        frame.exit_user(0);
        return;
    };
    match frame.kind() {
        TrapKind::Syscall => {
            if syscall::dispatch(&thread, frame) {
                frame.exit_user(0);
            }
        }
        TrapKind::CompatSyscall => {
            // The LibOS serves the x86_64 syscall ABI only.
            frame.set_syscall_ret(crate::Errno::ENOSYS.as_syscall_ret());
        }
        TrapKind::Fault { signo, code, addr } => {
            // No user signal handlers yet: every fault takes the default action,
            // which ends the faulting process only.
            let rip = frame.regs().rip;
            tracing::info!(
                "{}: signal {signo} (si_code {code}) at rip {rip:#x}, address {addr:#x}",
                thread.process().exe_path()
            );
            thread.process().set_exit_status(ExitStatus::Killed(signo));
            frame.exit_user(0);
        }
    }
}
