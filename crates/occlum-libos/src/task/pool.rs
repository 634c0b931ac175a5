//! The host thread pool.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, OnceLock};

use occlum_pal::thread::{DispatchMode, UserThread};
use occlum_pal::trap::{self, EXIT_LIBOS_PANIC};

use crate::process::{self, current, set_current, ExitStatus, StartContext, Thread};
use crate::sync::lock;
use crate::vm::domain;
use crate::{Errno, Result};

struct Job {
    thread: Arc<Thread>,
    start: StartContext,
}

struct Settings {
    kernel_stack_size: usize,
    dispatch_mode: DispatchMode,
}

static SETTINGS: OnceLock<Settings> = OnceLock::new();
static IDLE: Mutex<Vec<Sender<Job>>> = Mutex::new(Vec::new());

/// Sets the alternate-stack size and dispatch mode of pool threads (once).
pub fn configure(kernel_stack_size: usize, dispatch_mode: DispatchMode) {
    SETTINGS.get_or_init(|| Settings {
        kernel_stack_size,
        dispatch_mode,
    });
}

/// Runs `thread` from `start` on a pool thread (a new one if none is idle).
pub fn spawn(thread: Arc<Thread>, start: StartContext) -> Result<()> {
    let mut job = Job { thread, start };
    while let Some(worker) = lock(&IDLE).pop() {
        match worker.send(job) {
            Ok(()) => return Ok(()),
            Err(mpsc::SendError(j)) => job = j,
        }
    }
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("occlum-user".into())
        .stack_size(256 * 1024)
        .spawn(move || worker(job, tx, rx))
        .map(|_| ())
        .map_err(|_| Errno::EAGAIN)
}

fn worker(first: Job, tx: Sender<Job>, rx: Receiver<Job>) {
    let settings = SETTINGS.get().expect("pool configured at boot");
    let mut user =
        match UserThread::init_current(settings.kernel_stack_size, settings.dispatch_mode) {
            Ok(u) => u,
            Err(e) => {
                tracing::error!("cannot set up a host thread for user code: {e}");
                set_current(Some(first.thread.clone()));
                process::exit_group(&first.thread, ExitStatus::Killed(9));
                set_current(None);
                return;
            }
        };
    let mut job = Some(first);
    loop {
        while let Some(j) = job.take() {
            job = run(&mut user, j);
        }
        lock(&IDLE).push(tx.clone());
        match rx.recv() {
            Ok(j) => job = Some(j),
            Err(_) => return,
        }
    }
}

/// Runs one job until its thread leaves user code for good; returns a job to
/// run next on this host thread (the suspended parent of a `vfork` child that
/// a LibOS bug ended).
fn run(user: &mut UserThread, job: Job) -> Option<Job> {
    job.thread.set_host_tid(trap::current_host_tid());
    if let Ok(vm) = job.thread.process().vm() {
        // Wait for the process's turn in the user region (a fork child
        // takes turns with its parent).
        domain::enter(&vm);
    }
    set_current(Some(job.thread.clone()));
    if let Some(status) = job.thread.process().exiting() {
        // Killed before it ever ran.
        process::finish_thread(&job.thread, status);
        set_current(None);
        job.thread.set_host_tid(0);
        domain::leave();
        return None;
    }
    crate::cpuid::arm_for(job.thread.process());
    drop(job.thread);
    let value = user.enter_user_regs(&job.start.regs, job.start.fs);
    domain::leave();
    let thread = current()?;
    set_current(None);
    thread.set_host_tid(0);
    if value != EXIT_LIBOS_PANIC {
        return None;
    }
    // The trap handler panicked (reported already): end the process it served.
    set_current(Some(thread.clone()));
    process::exit_group(&thread, ExitStatus::LibosBug);
    set_current(None);
    let parent = thread.take_vfork_parent()?;
    let mut regs = parent.regs;
    regs.rax = thread.process().pid() as u64;
    Some(Job {
        thread: parent.thread,
        start: StartContext {
            regs,
            fs: parent.fs,
        },
    })
}
