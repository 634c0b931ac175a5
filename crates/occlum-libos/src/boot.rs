//! Starting the LibOS: reserve the user space, set up the host thread, load
//! the entry program and run it to its end.

use std::fmt;
use std::sync::{Arc, Once};

pub use occlum_pal::thread::DispatchMode;
use occlum_pal::thread::UserThread;
use occlum_pal::trap::{self, EXIT_LIBOS_PANIC};
use occlum_pal::uspace;

pub use crate::process::ExitStatus;

use crate::fs::{FileTable, HostStdio};
use crate::loader::{self, Layout, LoadError};
use crate::process::{self, Process, Rlimits, Thread};
use crate::vm::VmSpace;

/// Sizes and limits the LibOS runs with (from `Occlum.json`).
#[derive(Clone, Debug)]
pub struct BootConfig {
    /// Size of the user-space region shared by all processes.
    pub user_space_size: usize,
    /// Stack size of the LibOS code serving each thread's syscalls.
    pub kernel_stack_size: usize,
    /// Stack size of a new process.
    pub stack_size: usize,
    /// Maximum `brk` heap of a new process.
    pub heap_size: usize,
    /// Most LibOS threads at once.
    pub max_threads: usize,
    /// How Syscall User Dispatch selects the syscalls to trap.
    pub dispatch_mode: DispatchMode,
    /// Testing aid: panic inside the LibOS when this syscall number is served,
    /// to check that a LibOS bug ends only the calling process.
    pub inject_panic_at_syscall: Option<u64>,
}

/// The program to run.
#[derive(Clone, Debug)]
pub struct Program {
    /// Its path inside the LibOS (`AT_EXECFN`, `/proc/self/exe`).
    pub path: String,
    /// The executable file's contents.
    pub bytes: Vec<u8>,
    /// Arguments, `argv[0]` first.
    pub argv: Vec<Vec<u8>>,
    /// Environment entries (`NAME=value`).
    pub envp: Vec<Vec<u8>>,
}

/// Why the LibOS could not run the program.
#[derive(Debug)]
pub enum BootError {
    /// The platform could not be set up (e.g. no Syscall User Dispatch).
    Platform(String),
    /// The program could not be loaded.
    Load(LoadError),
}

impl fmt::Display for BootError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BootError::Platform(m) => write!(f, "cannot start the LibOS: {m}"),
            BootError::Load(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for BootError {}

fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            eprintln!("occlum: LibOS bug: {info}; ending the affected process");
        }));
    });
}

/// Runs `program` as the first LibOS process on the calling thread and
/// returns how it ended. Once per host process.
pub fn run(cfg: &BootConfig, program: Program) -> Result<ExitStatus, BootError> {
    let platform = |what: &str, e: crate::Errno| BootError::Platform(format!("{what}: {e}"));
    let space =
        uspace::init(cfg.user_space_size).map_err(|e| platform("reserving the user space", e))?;
    trap::set_trap_handler(crate::trap::on_trap)
        .map_err(|e| platform("installing the trap handler", e))?;
    install_panic_hook();
    crate::syscall::set_injected_panic(cfg.inject_panic_at_syscall);
    let mut user_thread = UserThread::init_current(cfg.kernel_stack_size, cfg.dispatch_mode)
        .map_err(|e| platform("setting up the thread", e))?;

    let mut vm = VmSpace::new(space);
    let layout = Layout {
        stack_size: cfg.stack_size,
        heap_size: cfg.heap_size,
    };
    let entry = loader::load(
        &mut vm,
        layout,
        &program.bytes,
        &program.argv,
        &program.envp,
        program.path.as_bytes(),
    )
    .map_err(BootError::Load)?;
    let mut files = FileTable::default();
    for fd in 0..3 {
        files.insert(Arc::new(HostStdio::new(fd)), false);
    }
    let rlimits = Rlimits::new(
        cfg.stack_size as u64,
        cfg.heap_size as u64,
        cfg.user_space_size as u64,
        cfg.max_threads as u64,
    );
    let proc = Process::new(1, 0, program.path, vm, files, rlimits);
    process::set_current(Some(Thread::new(1, proc.clone())));
    let value = user_thread.enter_user(entry.pc, entry.sp, 0);
    process::set_current(None);
    if value == EXIT_LIBOS_PANIC {
        proc.set_exit_status(ExitStatus::LibosBug);
    }
    Ok(proc.exit_status().unwrap_or(ExitStatus::LibosBug))
}
