//! Creating threads and processes, and running programs: `clone`, `vfork`,
//! `execve`. `fork` is not possible where all processes share one address
//! space.
//!
//! A `vfork` child (also `clone(CLONE_VM|CLONE_VFORK)`, what `posix_spawn`
//! uses) runs on its parent's host thread, on the parent's memory, while the
//! parent is suspended; when the child execs, its new program starts on a
//! host thread of its own and the parent resumes. This makes spawning a
//! process cost one program load and no address-space copy.

use std::sync::{Arc, Mutex};

use occlum_pal::trap;

use super::SyscallCtx;
use crate::boot::{config, layout, start_regs};
use crate::fs::program::plan_exec;
use crate::loader;
use crate::process::{self, wait_event, Process, StartContext, Thread, VforkParent};
use crate::signal::AltStack;
use crate::task;
use crate::user;
use crate::vm::VmSpace;
use crate::{Errno, Result};

const CLONE_VM: u64 = 0x100;
const CLONE_FILES: u64 = 0x400;
const CLONE_SIGHAND: u64 = 0x800;
const CLONE_PIDFD: u64 = 0x1000;
const CLONE_VFORK: u64 = 0x4000;
const CLONE_THREAD: u64 = 0x10000;
const CLONE_NEWNS: u64 = 0x20000;
const CLONE_SETTLS: u64 = 0x80000;
const CLONE_PARENT_SETTID: u64 = 0x10_0000;
const CLONE_CHILD_CLEARTID: u64 = 0x20_0000;
const CLONE_CHILD_SETTID: u64 = 0x100_0000;
/// Namespace and other flags the LibOS does not offer. (CLONE_FS,
/// CLONE_SYSVSEM, CLONE_PARENT, CLONE_PTRACE, CLONE_DETACHED, CLONE_UNTRACED
/// and the exit signal are accepted and need nothing: there is one file
/// system context and no ptrace.)
const CLONE_UNSUPPORTED: u64 = CLONE_PIDFD | CLONE_NEWNS | !0x7fff_ffff | 0x7e00_0000;

/// `fork`: see [`spawn_fork_child`].
pub(super) fn sys_fork(ctx: &mut SyscallCtx<'_, '_>, _: [u64; 6]) -> Result<u64> {
    spawn_fork_child(ctx, 0, None, 0)
}

/// A forked child: it runs on the parent's memory, on the parent's host
/// thread, while the parent waits (as for `vfork`); when the child execs or
/// ends, the parent's memory is put back exactly as it was at the fork
/// (`vm::Snapshot`), so the parent sees none of the child's changes. A
/// child that waits for its parent before it execs or ends would wait
/// forever; a process with several threads cannot fork (ENOSYS).
fn spawn_fork_child(
    ctx: &mut SyscallCtx<'_, '_>,
    flags: u64,
    stack: Option<u64>,
    ctid: u64,
) -> Result<u64> {
    if ctx.process().state().threads.len() > 1 {
        tracing::warn!(
            "{}: fork() from a process with several threads is not supported; use posix_spawn()",
            ctx.process().exe_path()
        );
        return Err(Errno::ENOSYS);
    }
    let snapshot = {
        let vm = ctx.process().vm()?;
        let snap = crate::sync::lock(&vm).snapshot()?;
        snap
    };
    spawn_vfork_child_with(ctx, stack, Some(snapshot))?;
    // The calling host thread now runs the child.
    let child = process::current().ok_or(Errno::ESRCH)?;
    if flags & CLONE_CHILD_SETTID != 0 {
        user::write_i32(ctid, child.tid())?;
    }
    if flags & CLONE_CHILD_CLEARTID != 0 {
        child.set_clear_child_tid(ctid);
    }
    Ok(0)
}

/// glibc and musl fall back to `clone` when `clone3` is missing.
pub(super) fn sys_clone3(_: &mut SyscallCtx<'_, '_>, _: [u64; 6]) -> Result<u64> {
    Err(Errno::ENOSYS)
}

pub(super) fn sys_vfork(ctx: &mut SyscallCtx<'_, '_>, _: [u64; 6]) -> Result<u64> {
    spawn_vfork_child(ctx, None)
}

/// `clone(flags, stack, parent_tid, child_tid, tls)`.
pub(super) fn sys_clone(ctx: &mut SyscallCtx<'_, '_>, a: [u64; 6]) -> Result<u64> {
    let (flags, stack, ptid, ctid, tls) = (a[0], a[1], a[2], a[3], a[4]);
    if flags & CLONE_UNSUPPORTED != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & CLONE_SIGHAND != 0 && flags & CLONE_VM == 0
        || flags & CLONE_THREAD != 0 && flags & CLONE_SIGHAND == 0
    {
        return Err(Errno::EINVAL);
    }
    if flags & CLONE_THREAD != 0 {
        return spawn_thread(ctx, flags, stack, ptid, ctid, tls);
    }
    if flags & CLONE_VM != 0 && flags & CLONE_VFORK != 0 {
        if flags & (CLONE_SETTLS | CLONE_FILES) != 0 {
            return Err(Errno::EINVAL);
        }
        return spawn_vfork_child(ctx, (stack != 0).then_some(stack));
    }
    if flags & (CLONE_VM | CLONE_SETTLS | CLONE_FILES | CLONE_VFORK) != 0 {
        return Err(Errno::EINVAL);
    }
    spawn_fork_child(ctx, flags, (stack != 0).then_some(stack), ctid)
}

/// A new thread of the calling process, started on a pool thread.
fn spawn_thread(
    ctx: &mut SyscallCtx<'_, '_>,
    flags: u64,
    stack: u64,
    ptid: u64,
    ctid: u64,
    tls: u64,
) -> Result<u64> {
    if ctx.thread().has_vfork_parent() {
        // A vfork or fork child runs on its parent's memory until it execs
        // or exits; threads there would outlive that.
        tracing::warn!(
            "{}: creating threads between fork/vfork and exec is not supported",
            ctx.process().exe_path()
        );
        return Err(Errno::EAGAIN);
    }
    let process = ctx.process().clone();
    let tid = process::alloc_pid()?;
    let thread = Thread::new(tid, process.clone());
    thread.set_sig_mask(ctx.thread().sig_mask());
    if flags & CLONE_PARENT_SETTID != 0 {
        user::write_i32(ptid, tid)?;
    }
    if flags & CLONE_CHILD_SETTID != 0 {
        user::write_i32(ctid, tid)?;
    }
    if flags & CLONE_CHILD_CLEARTID != 0 {
        thread.set_clear_child_tid(ctid);
    }
    let mut regs = ctx.frame().regs();
    regs.rax = 0;
    if stack != 0 {
        regs.rsp = stack;
    }
    let fs = if flags & CLONE_SETTLS != 0 {
        tls
    } else {
        ctx.frame().user_fs()
    };
    {
        let mut st = process.state();
        if st.exiting.is_some() {
            return Err(Errno::EAGAIN);
        }
        process::register_thread(&thread, config().max_threads)?;
        st.threads.push(thread.clone());
    }
    if let Err(e) = task::spawn(thread.clone(), StartContext { regs, fs }) {
        process::finish_thread(&thread, process::ExitStatus::Exited(0));
        return Err(e);
    }
    Ok(tid as u64)
}

/// A new process that runs on the caller's memory, on the caller's host
/// thread, until it execs or ends; the caller is suspended meanwhile.
fn spawn_vfork_child(ctx: &mut SyscallCtx<'_, '_>, stack: Option<u64>) -> Result<u64> {
    spawn_vfork_child_with(ctx, stack, None)
}

/// [`spawn_vfork_child`], and for `fork` the parent's memory to put back.
fn spawn_vfork_child_with(
    ctx: &mut SyscallCtx<'_, '_>,
    stack: Option<u64>,
    snapshot: Option<crate::vm::Snapshot>,
) -> Result<u64> {
    let parent_thread = ctx.thread().clone();
    let parent = ctx.process().clone();
    let pid = process::alloc_pid()?;
    let (pgid, sid, exe) = {
        let st = parent.state();
        (st.pgid, st.sid, st.exe_path.clone())
    };
    let files = parent.files().clone();
    let rlimits = parent.rlimits().clone();
    let child = Process::new(
        pid,
        Arc::downgrade(&parent),
        pgid,
        sid,
        exe,
        parent.vm()?,
        files,
        parent.fs().clone(),
        rlimits,
        parent.sig_actions().clone(),
    );
    child.set_nice(parent.nice());
    {
        let (cmdline, environ) = {
            let st = parent.state();
            (st.cmdline.clone(), st.environ.clone())
        };
        let mut st = child.state();
        st.cmdline = cmdline;
        st.environ = environ;
    }
    let thread = Thread::new(pid, child.clone());
    thread.set_sig_mask(parent_thread.sig_mask());
    thread.set_altstack(parent_thread.altstack());
    child.state().threads.push(thread.clone());
    if let Err(e) = process::register_thread(&thread, config().max_threads) {
        // Break the thread <-> process cycle, or the child (and with it the
        // parent's address space) would never be freed.
        child.state().threads.clear();
        return Err(e);
    }
    parent.state().children.push(child);

    let parent_regs = ctx.frame().regs();
    let fs = ctx.frame().user_fs();
    thread.set_vfork_parent(VforkParent {
        thread: parent_thread.clone(),
        regs: parent_regs,
        fs,
        snapshot,
    });
    let mut regs = parent_regs;
    regs.rax = 0;
    if let Some(sp) = stack {
        regs.rsp = sp;
    }
    ctx.frame().set_regs(&regs);
    ctx.regs_replaced();
    parent_thread.set_host_tid(0);
    thread.set_host_tid(trap::current_host_tid());
    process::set_current(Some(thread));
    Ok(0)
}

/// `execve(path, argv, envp)`.
pub(super) fn sys_execve(ctx: &mut SyscallCtx<'_, '_>, a: [u64; 6]) -> Result<u64> {
    let path = user::read_cstring(a[0], user::MAX_STRING)?;
    let (argv, envp) =
        user::read_exec_args(a[1], a[2], loader::max_arg_bytes(layout().stack_size))?;
    let cwd = ctx.process().fs().cwd.clone();
    let plan = plan_exec(&cwd, &path, argv)?;
    let argv = plan.argv;
    let program = plan.program;
    let space = occlum_pal::uspace::get().ok_or(Errno::ENOMEM)?;
    let mut vm = VmSpace::new(space);
    let image = loader::ProgramImage {
        bytes: &program.bytes,
        interp: plan.interp.as_ref().map(|i| &i.bytes),
    };
    let thread = ctx.thread().clone();
    let process = ctx.process().clone();
    // A non-PIE program needs its fixed addresses, which the caller's own
    // program may hold (python3 running python3): as Linux does, the old
    // memory goes first, and a failure from here on ends the process. A
    // vfork child shares its parent's memory, which must stay.
    let replace_first = loader::is_fixed(&program.bytes) && !thread.has_vfork_parent();
    if replace_first {
        end_other_threads(&thread)?;
        drop(process.set_vm(None));
    }
    let entry = match loader::load(&mut vm, layout(), &image, &argv, &envp, &path) {
        Ok(e) => e,
        Err(e) => {
            tracing::info!("execve {}: {e}", String::from_utf8_lossy(&path));
            if replace_first {
                process::exit_group(&thread, process::ExitStatus::Killed(11));
            }
            return Err(e.errno);
        }
    };
    end_other_threads(&thread)?;
    // Past this point the exec cannot fail.
    let old_vm = process.set_vm(Some(Arc::new(Mutex::new(vm))));
    let cloexec = process.files().take_close_on_exec();
    for f in &cloexec {
        super::fs::lock::closed(ctx, f);
    }
    drop(cloexec);
    process.sig_actions().reset_for_exec();
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
    ctx.regs_replaced();
    match thread.take_vfork_parent() {
        Some(parent) => {
            // The child's program gets a host thread of its own; the parent
            // resumes on this one.
            thread.set_host_tid(0);
            if let Err(e) = task::spawn(thread.clone(), start) {
                // No host thread for the new program: the child ends, and
                // the parent resumes when it has (see `before_user_resumes`).
                process::exit_group(&thread, process::ExitStatus::Killed(9));
                thread.set_host_tid(trap::current_host_tid());
                thread.set_vfork_parent(parent);
                return Err(e);
            }
            let mut regs = parent.regs;
            regs.rax = process.pid() as u64;
            ctx.frame().set_regs(&regs);
            ctx.frame().set_user_fs(parent.fs);
            parent.thread.set_host_tid(trap::current_host_tid());
            process::set_current(Some(parent.thread));
        }
        None => {
            ctx.frame().set_regs(&start.regs);
            ctx.frame().set_user_fs(0);
            drop(old_vm);
        }
    }
    Ok(0)
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
