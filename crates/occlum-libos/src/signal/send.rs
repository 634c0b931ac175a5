//! Sending signals to processes, threads and process groups.

use std::sync::Arc;

use super::{default_action, nr::*, DefaultAction, SigInfo, SigNum, SIG_DFL, SIG_IGN};
use crate::process::{self, ExitStatus, Process, Thread};
use crate::{Errno, Result};

/// Whether `sig` would be ignored by `process` if delivered now.
fn ignored(process: &Process, sig: SigNum) -> bool {
    let a = process.sig_actions().get(sig);
    a.handler == SIG_IGN
        || a.handler == SIG_DFL
            && matches!(
                default_action(sig),
                DefaultAction::Ignore | DefaultAction::Stop | DefaultAction::Continue
            )
}

/// Ends `process` at once (SIGKILL).
fn kill_now(process: &Arc<Process>, sig: SigNum) {
    let threads: Vec<Arc<Thread>> = {
        let mut st = process.state();
        process.mark_exiting(&mut st, ExitStatus::Killed(sig));
        st.threads.clone()
    };
    for t in threads {
        t.kick();
    }
}

/// Sends a process-directed signal; wakes a thread that can take it.
pub fn send_to_process(process: &Arc<Process>, info: SigInfo) {
    if process.exit_status().is_some() || process.exiting().is_some() {
        return;
    }
    let sig = info.signo;
    if sig == SIGKILL {
        kill_now(process, sig);
        return;
    }
    if sig == SIGSTOP {
        tracing::info!("SIGSTOP ignored: the LibOS has no job control");
        return;
    }
    let threads = process.state().threads.clone();
    // An ignored signal is dropped, unless every thread blocks it: then it
    // stays pending (and is dropped when delivered, if still ignored).
    if ignored(process, sig) && threads.iter().any(|t| !t.sig_mask().contains(sig)) {
        return;
    }
    process.sig_pending().push(info);
    // Wake a thread that can take it, and every thread that blocks it too:
    // one of those may be waiting for it in sigtimedwait.
    let mut woke_taker = false;
    for t in &threads {
        let blocks = t.sig_mask().contains(sig);
        if blocks || !woke_taker {
            t.kick();
            woke_taker |= !blocks;
        }
    }
}

/// Sends a thread-directed signal.
pub fn send_to_thread(thread: &Arc<Thread>, info: SigInfo) {
    let process = thread.process();
    if thread.is_ended() || process.exiting().is_some() {
        return;
    }
    let sig = info.signo;
    if sig == SIGKILL {
        kill_now(process, sig);
        return;
    }
    if ignored(process, sig) && !thread.sig_mask().contains(sig) {
        return;
    }
    thread.sig_pending().push(info);
    thread.kick();
}

/// A CPU fault of user code: the signal is delivered even if blocked or
/// ignored (the disposition then reverts to the default, as on Linux).
pub fn send_fault(thread: &Arc<Thread>, info: SigInfo) {
    let sig = info.signo;
    let process = thread.process();
    let blocked = thread.sig_mask().contains(sig);
    {
        let mut actions = process.sig_actions();
        let mut a = actions.get(sig);
        if blocked || a.handler == SIG_IGN {
            a.handler = SIG_DFL;
            actions.set(sig, a);
        }
    }
    if blocked {
        thread.set_sig_mask(super::SigSet(
            thread.sig_mask().0 & !super::SigSet::of(sig).0,
        ));
    }
    thread.sig_pending().push(info);
}

/// `kill(pid, sig)` for `pid > 0`: `ESRCH` if no such live process.
pub fn kill_process(pid: i32, sig: SigNum, sender: i32) -> Result<()> {
    // A zombie can still be signalled (to no effect), as on Linux.
    let p = process::get_process(pid).ok_or(Errno::ESRCH)?;
    if sig != 0 {
        send_to_process(&p, SigInfo::user(sig, super::pending::SI_USER, sender));
    }
    Ok(())
}

/// Sends `sig` to every live process of group `pgid` (`ESRCH` if none).
pub fn kill_group(pgid: i32, sig: SigNum, sender: i32) -> Result<()> {
    let members: Vec<Arc<Process>> = process::all_processes()
        .into_iter()
        .filter(|p| p.exit_status().is_none() && p.state().pgid == pgid)
        .collect();
    if members.is_empty() {
        return Err(Errno::ESRCH);
    }
    if sig != 0 {
        for p in members {
            send_to_process(&p, SigInfo::user(sig, super::pending::SI_USER, sender));
        }
    }
    Ok(())
}

/// `kill(-1, sig)`: every live process except the init process and, as on
/// Linux, the caller (`sender`).
pub fn signal_all(sig: SigNum, sender: i32) -> Result<()> {
    let targets: Vec<Arc<Process>> = process::all_processes()
        .into_iter()
        .filter(|p| p.exit_status().is_none() && p.pid() != process::INIT_PID && p.pid() != sender)
        .collect();
    if targets.is_empty() {
        return Err(Errno::ESRCH);
    }
    if sig != 0 {
        for p in targets {
            send_to_process(&p, SigInfo::user(sig, super::pending::SI_USER, sender));
        }
    }
    Ok(())
}
