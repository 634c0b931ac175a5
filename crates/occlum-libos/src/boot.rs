//! Starting the LibOS: reserve the user space, load the first program and run
//! it as process 1; return when that process ends.

use std::fmt;
use std::sync::{Arc, Mutex, Once, OnceLock, Weak};

pub use occlum_pal::thread::DispatchMode;
use occlum_pal::trap::{self, UserRegs};
use occlum_pal::uspace;

pub use crate::process::ExitStatus;

pub use crate::fs::mounts::{FsSpec, MountSpec};
use crate::fs::vfs::FsContext;
use crate::fs::{self, FileTable, HostStdio};
use crate::loader::{self, Layout, LoadError};
use crate::process::{self, Process, Rlimits, StartContext, Thread};
use crate::signal::{SigAction, SigActions, SigSet, SIG_IGN};
use crate::vm::VmSpace;
use crate::{task, Errno};

/// Sizes and limits the LibOS runs with (from `Occlum.json`).
#[derive(Clone, Debug)]
pub struct BootConfig {
    /// Size of the user-space region shared by all processes.
    pub user_space_size: usize,
    /// Stack size of the LibOS code serving each thread's syscalls.
    pub kernel_stack_size: usize,
    /// Bytes of LibOS memory guests may make the LibOS hold (ramfs contents,
    /// pipe buffers): `resource_limits.kernel_space_heap_size`.
    pub kernel_heap_size: u64,
    /// Stack size of a new process.
    pub stack_size: usize,
    /// Maximum `brk` heap of a new process.
    pub heap_size: usize,
    /// Most LibOS threads at once.
    pub max_threads: usize,
    /// How Syscall User Dispatch selects the syscalls to trap.
    pub dispatch_mode: DispatchMode,
    /// Rewrite trapped syscall sites so that later calls enter the LibOS
    /// directly (`vm/rewrite.rs`), where the CPU allows.
    pub direct_syscalls: bool,
    /// Serve user code's `cpuid` in the LibOS (with `direct_syscalls`).
    pub emulate_cpuid: bool,
    /// The file systems to mount, `/` first.
    pub mounts: Vec<MountSpec>,
    /// Ignored signals, signal mask and nice value the first process starts
    /// with, as `execve` would hand them on.
    pub inherited: occlum_pal::host::InheritedState,
    /// The enclave's identity and attestation platform (`/dev/sgx`,
    /// `/dev/attestation`); `None`: programs cannot attest.
    pub sgx: Option<crate::attest::SgxConfig>,
    /// Secrets to get from a key broker before mounting (`Occlum.json`'s
    /// `kms`).
    pub kms: Option<crate::kms::KmsBoot>,
    /// Testing aid: panic inside the LibOS when this syscall number is served,
    /// to check that a LibOS bug ends only the calling process.
    pub inject_panic: Option<InjectedPanic>,
}

/// Testing aid: where the LibOS panics on purpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InjectedPanic {
    /// While serving this syscall number.
    AtSyscall(u64),
    /// The first time the futex table is changed, while it is locked.
    InFutexTable,
}

impl std::str::FromStr for InjectedPanic {
    type Err = String;

    /// A syscall number, or `futex-table`.
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "futex-table" => Ok(InjectedPanic::InFutexTable),
            n => n
                .parse()
                .map(InjectedPanic::AtSyscall)
                .map_err(|_| format!("{s:?}: expected a syscall number or futex-table")),
        }
    }
}

/// The program to run.
#[derive(Clone, Debug)]
pub struct Program {
    /// Its path inside the image.
    pub path: String,
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

static CONFIG: OnceLock<BootConfig> = OnceLock::new();

/// The configuration the LibOS was started with.
pub(crate) fn config() -> &'static BootConfig {
    CONFIG.get().expect("the LibOS is booted")
}

fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            eprintln!("occlum: LibOS bug: {info}; ending the affected process");
        }));
    });
}

/// The layout of a new process's memory.
pub(crate) fn layout() -> Layout {
    let cfg = config();
    Layout {
        stack_size: cfg.stack_size,
        heap_size: cfg.heap_size,
    }
}

/// Host SIGINT, SIGTERM, SIGHUP and SIGQUIT go to the init process's
/// process group as LibOS signals (as a terminal sends Ctrl-C to the
/// foreground group, or a container runtime SIGTERM to its first process), so
/// programs can handle them; by default they end the program, and with it
/// `occlum run`. Every thread created from here on inherits the blocked mask.
fn start_signal_forwarder() {
    occlum_pal::host::block_forwarded_signals();
    let _ = std::thread::Builder::new()
        .name("occlum-signals".into())
        .spawn(|| loop {
            let sig = occlum_pal::host::wait_forwarded_signal();
            match process::get_process(process::INIT_PID) {
                Some(init) => {
                    let pgid = init.state().pgid;
                    if crate::signal::kill_group(pgid, sig, 0).is_err() {
                        let _ = crate::signal::kill_process(process::INIT_PID, sig, 0);
                    }
                }
                // No program yet (the LibOS is starting, perhaps waiting for
                // an encrypted file system another LibOS holds): the
                // signal's default action ends `occlum run`.
                None => std::process::exit(128 + sig),
            }
        });
}

/// Registers generic start-up registers for a program entered at `pc` with
/// stack pointer `sp`.
pub(crate) fn start_regs(pc: u64, sp: u64) -> UserRegs {
    UserRegs {
        rip: pc,
        rsp: sp,
        ..UserRegs::default()
    }
}

/// What the first process inherits from `occlum run`, as across `execve`:
/// ignored dispositions and the nice value.
fn inherit_start_state(proc: &Process, st: &occlum_pal::host::InheritedState) {
    let mut actions = proc.sig_actions();
    for sig in 1..=crate::signal::NSIG {
        if st.ignored & (1 << (sig - 1)) != 0 {
            actions.set(
                sig,
                SigAction {
                    handler: SIG_IGN,
                    ..SigAction::default()
                },
            );
        }
    }
    drop(actions);
    proc.set_nice(st.nice);
}

/// Runs `program` as the first LibOS process and returns how it ended.
/// Once per host process.
pub fn run(cfg: &BootConfig, program: Program) -> Result<ExitStatus, BootError> {
    boot(cfg)?;
    let stdio = host_stdio()?;
    let proc = start_process(&program, stdio, None)?;
    let status = proc.wait_until_ended();
    shut_down();
    Ok(status)
}

/// Sets the LibOS up: the user region, the trap handler, the file systems.
/// Once per host process.
pub(crate) fn boot(cfg: &BootConfig) -> Result<(), BootError> {
    let platform = |what: &str, e: Errno| BootError::Platform(format!("{what}: {e}"));
    if CONFIG.set(cfg.clone()).is_err() {
        return Err(BootError::Platform(
            "the LibOS runs once per process".into(),
        ));
    }
    uspace::init(cfg.user_space_size).map_err(|e| platform("reserving the user space", e))?;
    trap::set_trap_handler(crate::trap::on_trap)
        .map_err(|e| platform("installing the trap handler", e))?;
    install_panic_hook();
    // Before any other thread starts (see `set_enabled`).
    let direct = occlum_pal::fastpath::set_enabled(cfg.direct_syscalls);
    // CPUID served by the LibOS pays off only with rewritten sites.
    occlum_pal::cpuid::set_enabled(direct && cfg.emulate_cpuid);
    start_signal_forwarder();
    crate::syscall::set_injected_panic(cfg.inject_panic);
    crate::budget::kernel().set_limit(cfg.kernel_heap_size);
    crate::attest::init(cfg.sgx.clone());
    task::configure(cfg.kernel_stack_size, cfg.dispatch_mode);
    match &cfg.kms {
        None => fs::mounts::mount_all(&cfg.mounts).map_err(BootError::Platform)?,
        Some(k) => {
            let secrets = crate::kms::fetch(k).map_err(|e| {
                BootError::Platform(format!(
                    "the key broker at {}: {e}; the encrypted file systems stay locked",
                    k.address
                ))
            })?;
            let mounts = match &k.root_key {
                Some(name) => crate::kms::with_root_key(&cfg.mounts, &secrets[name]),
                None => cfg.mounts.clone(),
            };
            fs::mounts::mount_all(&mounts).map_err(BootError::Platform)?;
            crate::kms::install(k, &secrets).map_err(BootError::Platform)?;
        }
    }
    Ok(())
}

/// The first process's standard streams: this host process's 0, 1 and 2.
fn host_stdio() -> Result<[crate::fs::FileRef; 3], BootError> {
    let stream = |n: i32| -> Result<crate::fs::FileRef, BootError> {
        let f = HostStdio::new(n)
            .ok_or_else(|| BootError::Platform(format!("no host descriptor {n}")))?;
        Ok(Arc::new(f))
    };
    Ok([stream(0)?, stream(1)?, stream(2)?])
}

/// Starts `program` as a new process that leads its own session, with
/// `stdio` as its descriptors 0-2: the first process (no parent: it adopts
/// orphans), or, given `parent`, a child of it.
pub(crate) fn start_process(
    program: &Program,
    stdio: [crate::fs::FileRef; 3],
    parent: Option<&Arc<Process>>,
) -> Result<Arc<Process>, BootError> {
    let platform = |what: &str, e: Errno| BootError::Platform(format!("{what}: {e}"));
    let cfg = config();
    let space = uspace::get().ok_or_else(|| platform("the user space", Errno::EFAULT))?;
    let root = fs::vfs::root().map_err(|e| platform("the root file system", e))?;
    let plan = fs::program::plan_exec(&root, program.path.as_bytes(), program.argv.clone())
        .map_err(|e| {
            let why = match e {
                Errno::EACCES => "permission denied (not an executable regular file)".to_string(),
                Errno::ENOENT | Errno::ENOTDIR => {
                    "no such file (or its interpreter is missing)".to_string()
                }
                Errno::ENOEXEC => {
                    "not an executable: neither an ELF program nor a #! script".to_string()
                }
                e => format!("cannot read the program: {e}"),
            };
            BootError::Load(LoadError::new(e, why))
        })?;
    let mut vm = VmSpace::new(space);
    let entry = loader::load(
        &mut vm,
        layout(),
        &loader::ProgramImage {
            bytes: &plan.program.bytes,
            interp: plan.interp.as_ref().map(|i| &i.bytes),
        },
        &plan.argv,
        &crate::kms::with_secret_env(&program.envp),
        program.path.as_bytes(),
    )
    .map_err(BootError::Load)?;
    let program_file = plan.program;
    let mut files = FileTable::default();
    for f in stdio {
        files
            .insert(f, false, usize::MAX)
            .map_err(|e| platform("stdio", e))?;
    }
    let rlimits = Rlimits::new(
        cfg.stack_size as u64,
        cfg.heap_size as u64,
        cfg.user_space_size as u64,
        cfg.max_threads as u64,
    );
    let pid = process::alloc_pid().map_err(|e| platform("pid", e))?;
    let proc = Process::new(
        pid,
        parent.map_or_else(Weak::new, Arc::downgrade),
        pid,
        pid,
        String::from_utf8_lossy(&program_file.path).into_owned(),
        {
            let vm = Arc::new(Mutex::new(vm));
            crate::vm::domain::register(&vm);
            vm
        },
        files,
        FsContext::new().map_err(|e| platform("the root file system", e))?,
        rlimits,
        SigActions::default(),
    );
    proc.set_args(&plan.argv, &program.envp);
    inherit_start_state(&proc, &cfg.inherited);
    if let Some(parent) = parent {
        parent.state().children.push(proc.clone());
    }
    let thread = Thread::new(pid, proc.clone());
    thread.set_sig_mask(SigSet(cfg.inherited.blocked).blockable());
    proc.state().threads.push(thread.clone());
    process::register_thread(&thread, cfg.max_threads).map_err(|e| platform("threads", e))?;
    task::spawn(
        thread,
        StartContext {
            regs: start_regs(entry.pc, entry.sp),
            fs: 0,
        },
    )
    .map_err(|e| platform("starting a host thread", e))?;
    Ok(proc)
}

/// Writes what programs wrote to the host, as when a machine shuts down.
pub(crate) fn shut_down() {
    if let Err(e) = fs::vfs::sync_all() {
        tracing::error!("syncing the file systems at exit: {e}");
    }
    // What is left when the first process ends: anything but its own zombie
    // and the processes still running means a leak (checked by the tests).
    tracing::debug!(
        "at exit: {} live threads, {} processes, {} bytes of user space in use",
        process::live_threads(),
        process::all_processes().len(),
        crate::vm::user_space_in_use()
    );
}
