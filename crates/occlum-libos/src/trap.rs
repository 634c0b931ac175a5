//! The LibOS's trap handler: what happens when user code stops, and the
//! checks made before it resumes.

use std::sync::Arc;

use occlum_pal::trap::{self, TrapFrame, TrapKind};

use crate::process::{self, current, set_current, ExitStatus};
use crate::signal::{self, SigInfo};
use crate::syscall;

/// Serves one trap of the current thread (registered with the PAL).
pub(crate) fn on_trap(frame: &mut TrapFrame<'_>) {
    let Some(thread) = current() else {
        tracing::error!("trap on a host thread without a LibOS thread");
        frame.exit_user(0);
        return;
    };
    match frame.kind() {
        TrapKind::Syscall => {
            let process = thread.process();
            if crate::cpuid::is_stub_entry(frame) {
                crate::cpuid::serve_stub(process, frame);
                before_user_resumes(frame);
                return;
            }
            thread.count_syscall(frame.is_direct());
            if !frame.is_direct() {
                tracing::trace!(
                    "trapped syscall {} at {:#x}",
                    frame.syscall_nr(),
                    frame.regs().rip
                );
                rewrite_site(process, frame.regs().rip);
            }
            syscall::dispatch(&thread, frame)
        }
        TrapKind::CompatSyscall => {
            // The LibOS serves the x86_64 syscall ABI only.
            frame.set_syscall_ret(crate::Errno::ENOSYS.as_syscall_ret());
        }
        TrapKind::Interrupt => {}
        TrapKind::Fault {
            mut signo,
            mut code,
            addr,
        } => {
            if signo == SIGTRAP && retry_rewritten_site(&thread, frame) {
                before_user_resumes(frame);
                return;
            }
            if signo == SIGSEGV && crate::cpuid::serve_fault(thread.process(), frame, code) {
                before_user_resumes(frame);
                return;
            }
            if signo == SIGSEGV {
                match fault_in_file(&thread, addr) {
                    Some(true) => {
                        before_user_resumes(frame);
                        return;
                    }
                    Some(false) => (signo, code) = (SIGBUS, BUS_ADRERR),
                    None => {}
                }
            }
            let rip = frame.regs().rip;
            tracing::info!(
                "{}: signal {signo} (si_code {code}) at rip {rip:#x}, address {addr:#x}",
                thread.process().exe_path()
            );
            let info = SigInfo {
                signo,
                code,
                pid: 0,
                status: 0,
                addr,
                value: 0,
            };
            signal::send_fault(&thread, info);
        }
    }
    before_user_resumes_of(frame, Some(thread));
}

/// Syscalls a process makes before its sites are rewritten at their first
/// trap: past start-up, code that traps once tends to run again (a glibc
/// static-PIE starts in some 15 syscalls, python3 in some 250; a program
/// started again comes with its sites rewritten, `vm/learned.rs`).
const EAGER_AFTER: u64 = 64;

/// Rewrites the trapped syscall site that returns to `rip`, so that its
/// later calls enter the LibOS directly (`vm/rewrite.rs`).
fn rewrite_site(process: &crate::process::Process, rip: u64) {
    let (trapped, direct) = process.syscall_counts();
    let eager = trapped + direct >= EAGER_AFTER;
    if let Ok(vm) = process.vm() {
        crate::sync::lock(&vm).rewrite_syscall_site(rip as usize, eager);
    }
}

/// A SIGTRAP at `rip` from the `int3` of a syscall site that was being
/// rewritten: the thread retries the site's new first instruction.
fn retry_rewritten_site(thread: &crate::process::Thread, frame: &mut TrapFrame<'_>) -> bool {
    let mut regs = frame.regs();
    let Ok(vm) = thread.process().vm() else {
        return false;
    };
    if !crate::sync::lock(&vm).hit_site_being_rewritten(regs.rip as usize) {
        return false;
    }
    regs.rip -= 1;
    frame.set_regs(&regs);
    true
}

const SIGSEGV: i32 = 11;
const SIGTRAP: i32 = 5;
const SIGBUS: i32 = 7;
/// `si_code` of a `SIGBUS` for an address with nothing behind it.
const BUS_ADRERR: i32 = 2;

/// A fault at `addr` in a file mapping past the end of the file: resolved
/// (`Some(true)`) if the file has grown, else `Some(false)`, where Linux
/// raises `SIGBUS`; `None` if `addr` is not in a file mapping.
fn fault_in_file(thread: &crate::process::Thread, addr: u64) -> Option<bool> {
    let vm = thread.process().vm().ok()?;
    let mut vm = crate::sync::lock(&vm);
    vm.fault_in_file(addr as usize)
}

/// Runs before user code resumes: a thread that has ended leaves user code
/// for good (or gives its host thread back to its suspended `vfork` parent),
/// and a thread whose process is ending ends.
fn before_user_resumes(frame: &mut TrapFrame<'_>) {
    before_user_resumes_of(frame, None);
}

/// [`before_user_resumes`], where `served` is the thread just served (the
/// current one, unless the call changed it: `vfork`, `exec`).
fn before_user_resumes_of(frame: &mut TrapFrame<'_>, served: Option<Arc<process::Thread>>) {
    let mut served = served.filter(process::is_current);
    loop {
        let Some(thread) = served.take().or_else(current) else {
            return;
        };
        if thread.is_ended() {
            match thread.take_vfork_parent() {
                Some(parent) => {
                    if let Ok(vm) = parent.thread.process().vm() {
                        crate::vm::domain::enter(&vm);
                    }
                    let mut regs = parent.regs;
                    regs.rax = thread.process().pid() as u64;
                    frame.set_regs(&regs);
                    frame.set_user_fs(parent.fs);
                    thread.set_host_tid(0);
                    parent.thread.set_host_tid(trap::current_host_tid());
                    set_current(Some(parent.thread));
                    continue;
                }
                None => {
                    frame.exit_user(0);
                    return;
                }
            }
        }
        if let Some(status) = thread.process().exiting() {
            process::finish_thread(&thread, status);
            continue;
        }
        if thread.exit_requested() {
            process::finish_thread(&thread, ExitStatus::Exited(0));
            continue;
        }
        // Other processes may be waiting for this one's turn in the user
        // region to end (see `vm/domain.rs`).
        crate::vm::domain::yield_if_wanted();
        signal::before_return(&thread, frame);
        if thread.is_ended() || thread.process().exiting().is_some() {
            continue;
        }
        return;
    }
}
