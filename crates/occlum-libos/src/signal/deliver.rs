//! Delivery: on the way back to user code, the thread takes its pending
//! signals and acts on them; an interrupted syscall is restarted or fails
//! with `EINTR`, as Linux decides.

use std::sync::Arc;

use occlum_pal::trap::TrapFrame;

use super::{
    default_action, frame, nr::SIGSEGV, DefaultAction, SigAction, SigSet, SA_NODEFER, SA_RESETHAND,
    SA_RESTART, SA_RESTORER, SIG_DFL, SIG_IGN,
};
use crate::process::{self, ExitStatus, Thread};

/// How a syscall interrupted by a signal (`EINTR`) is restarted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestartKind {
    /// Restarted unless a handler without `SA_RESTART` runs (`ERESTARTSYS`).
    UnlessHandlerSaysNo,
    /// Restarted only if no handler runs (`ERESTARTNOHAND`: sleeps, polls).
    OnlyWithoutHandler,
}

fn restart_syscall(frame: &mut TrapFrame<'_>, nr: u64) {
    let mut r = frame.regs();
    r.rax = nr;
    r.rip -= 2;
    frame.set_regs(&r);
}

/// Acts on the pending signals of `thread` before it returns to user code:
/// ignores, ends the process (default actions), or sets up one handler frame.
pub fn before_return(thread: &Arc<Thread>, frame: &mut TrapFrame<'_>) {
    let restart = thread.take_restart();
    let mut handled = false;
    loop {
        let mask = thread.sig_mask();
        let Some(info) = thread.take_pending_signal(mask) else {
            break;
        };
        let sig = info.signo;
        let process = thread.process();
        let action: SigAction = process.sig_actions().get(sig);
        match action.handler {
            SIG_IGN => continue,
            SIG_DFL => match default_action(sig) {
                DefaultAction::Terminate | DefaultAction::Core => {
                    process::exit_group(thread, ExitStatus::Killed(sig));
                    return;
                }
                _ => continue,
            },
            _ => {}
        }
        if let Some((nr, kind)) = restart {
            if kind == RestartKind::UnlessHandlerSaysNo && action.flags & SA_RESTART != 0 {
                restart_syscall(frame, nr);
            }
        }
        let old_mask = thread.take_saved_mask().unwrap_or(mask);
        if action.flags & SA_RESTORER == 0
            || frame::setup(thread, frame, &info, &action, old_mask).is_err()
        {
            // No way to return from the handler, or no room for the frame:
            // Linux kills the process with SIGSEGV.
            process::exit_group(thread, ExitStatus::Killed(SIGSEGV));
            return;
        }
        let mut blocked = mask.0 | action.mask.0;
        if action.flags & SA_NODEFER == 0 {
            blocked |= SigSet::of(sig).0;
        }
        thread.set_sig_mask(SigSet(blocked).blockable());
        if action.flags & SA_RESETHAND != 0 {
            process.sig_actions().set(sig, SigAction::default());
        }
        handled = true;
        break;
    }
    if !handled {
        if let Some(mask) = thread.take_saved_mask() {
            thread.set_sig_mask(mask);
        }
        if let Some((nr, _)) = restart {
            restart_syscall(frame, nr);
        }
    }
}
