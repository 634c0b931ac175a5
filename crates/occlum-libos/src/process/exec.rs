//! Running a new program in a process (`execve`).

use std::sync::{Arc, Mutex};

use occlum_pal::trap::{self, TrapFrame};

use super::{exit_group, set_current, wait_event, ExitStatus, StartContext, Thread};
use crate::boot::{layout, start_regs};
use crate::fs::program::plan_exec;
use crate::fs::{downcast, FileRef, InodeFile};
use crate::loader;
use crate::signal::AltStack;
use crate::sync::lock;
use crate::task;
use crate::user::Strings;
use crate::vm::{domain, VmSpace};
use crate::{Errno, Result};

/// Replaces the program of `thread`'s process by `path` with `argv` and
/// `envp`; `frame` gets the new program's start (or, for a `vfork` child,
/// the resumed parent's registers). On error nothing changed, unless the
/// old program had to go first (a non-PIE program), then the process ends.
pub fn execve(
    thread: &Arc<Thread>,
    frame: &mut TrapFrame<'_>,
    path: &[u8],
    argv: Strings,
    envp: Strings,
) -> Result<()> {
    let process = thread.process().clone();
    let cwd = process.fs().cwd.clone();
    let plan = plan_exec(&cwd, path, argv)?;
    let argv = plan.argv;
    let program = plan.program;
    let space = occlum_pal::uspace::get().ok_or(Errno::ENOMEM)?;
    let image = loader::ProgramImage {
        bytes: &program.bytes,
        interp: plan.interp.as_ref().map(|i| &i.bytes),
    };
    // A non-PIE program needs its fixed addresses, which the caller's own
    // program may hold (python3 running python3): as Linux does, the old
    // memory goes first, and a failure from here on ends the process. A
    // vfork child shares its parent's memory, which must stay.
    let fixed = loader::fixed_span(&program.bytes);
    let replace_first = fixed.is_some() && !thread.has_vfork_parent();
    if replace_first {
        end_other_threads(thread)?;
        drop(process.set_vm(None));
    }
    // If another process has those addresses (a vfork parent running the
    // same program, another non-PIE program), the new address space takes
    // turns with it in the user region.
    let new_vm = Arc::new(Mutex::new(match fixed {
        Some((lo, hi)) => VmSpace::for_fixed_program(space, lo, hi),
        None => VmSpace::new(space),
    }));
    // Every address space is known to its domain, so that a program that
    // later needs its addresses can switch it out; this thread is active in
    // it while it loads (a program joining the domain meanwhile waits).
    domain::register(&new_vm);
    domain::enter(&new_vm);
    let loaded = loader::load(&mut lock(&new_vm), layout(), &image, &argv, &envp, path);
    let entry = match loaded {
        Ok(e) => e,
        Err(e) => {
            tracing::info!("execve {}: {e}", String::from_utf8_lossy(path));
            back_to_old_memory(&process, new_vm);
            if replace_first {
                exit_group(thread, ExitStatus::Killed(11));
            }
            return Err(e.errno);
        }
    };
    if let Err(e) = end_other_threads(thread) {
        back_to_old_memory(&process, new_vm);
        return Err(e);
    }
    // Past this point the exec cannot fail.
    let old_vm = process.set_vm(Some(new_vm.clone()));
    let cloexec = process.files().take_close_on_exec();
    for f in &cloexec {
        release_locks(process.pid(), f);
    }
    drop(cloexec);
    process.sig_actions().reset_for_exec();
    process.posix_timers().clear();
    process.shm_attaches().clear();
    thread.set_altstack(AltStack::default());
    {
        let mut st = process.state();
        st.exe_path = String::from_utf8_lossy(&program.path).into_owned();
        st.did_exec = true;
    }
    process.set_args(&argv, &envp);
    let start = StartContext {
        regs: start_regs(entry.pc, entry.sp),
        fs: 0,
    };
    match thread.take_vfork_parent() {
        Some(parent) => {
            // The child's program gets a host thread of its own; the parent
            // resumes on this one, back in its own memory.
            thread.set_host_tid(0);
            if let Err(e) = task::spawn(thread.clone(), start) {
                // No host thread for the new program: the child ends, and
                // the parent resumes when it has (see `before_user_resumes`).
                exit_group(thread, ExitStatus::Killed(9));
                thread.set_host_tid(trap::current_host_tid());
                thread.set_vfork_parent(parent);
                return Err(e);
            }
            if let Ok(vm) = parent.thread.process().vm() {
                // (If the new program takes turns with the parent, this waits
                // for the parent's turn.)
                domain::enter(&vm);
            }
            let mut regs = parent.regs;
            regs.rax = process.pid() as u64;
            frame.set_regs(&regs);
            frame.set_user_fs(parent.fs);
            parent.thread.set_host_tid(trap::current_host_tid());
            set_current(Some(parent.thread));
        }
        None => {
            frame.set_regs(&start.regs);
            frame.set_user_fs(0);
            drop(old_vm);
            // The new program's start-up is where its cpuids are.
            crate::cpuid::arm_for(&process);
        }
    }
    Ok(())
}

/// An exec that failed before its point of no return: the calling thread
/// is active in the process's memory again (if it still has some) and the
/// new address space goes.
fn back_to_old_memory(process: &Arc<super::Process>, new_vm: super::Vm) {
    drop(new_vm);
    if let Ok(vm) = process.vm() {
        domain::enter(&vm);
    }
}

/// A descriptor closed by the exec: the process's record locks on its file go.
fn release_locks(pid: super::Pid, f: &FileRef) {
    if let Some(f) = downcast::<InodeFile>(f.clone()) {
        crate::fs::lock::on_close(pid, f.lock_key());
    }
}

/// Makes every other thread of the caller's process end, and waits for them.
fn end_other_threads(me: &Arc<Thread>) -> Result<()> {
    let process = me.process().clone();
    let others: Vec<Arc<Thread>> = process
        .state()
        .threads
        .iter()
        .filter(|t| t.tid() != me.tid())
        .cloned()
        .collect();
    if others.is_empty() {
        return Ok(());
    }
    for t in &others {
        t.request_exit();
    }
    wait_event(&[&process.threads_changed], None, || {
        let st = process.state();
        Ok((st.threads.len() == 1).then_some(()))
    })
}
