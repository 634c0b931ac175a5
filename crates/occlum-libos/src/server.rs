//! The LibOS as a long-lived server (`occlum start`): booted once, it runs
//! programs on request (`occlum exec`), each as a new session whose
//! standard streams are the requester's host descriptors. The processes of
//! all sessions share one LibOS: its file systems, pipes, sockets and IPC.
//! A thread-less init process (pid 1) is the parent of every session and
//! reaps whatever ends, so nothing piles up in a server that runs for days.

use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};

use crate::boot::{self, BootConfig, BootError, ExitStatus, Program};
use crate::fs::vfs::FsContext;
use crate::fs::{FileRef, FileTable, HostStdio};
use crate::process::{self, Pid, Process, Rlimits};
use crate::signal::{self, nr::SIGCHLD, SigAction, SigActions, SIG_IGN};
use crate::vm::VmSpace;

/// One program started by [`exec`], the leader of its own session.
pub struct Session {
    process: Arc<Process>,
}

impl Session {
    /// Its pid (also its process group and session id).
    pub fn pid(&self) -> Pid {
        self.process.pid()
    }

    /// Waits until it has ended and says how.
    pub fn wait(&self) -> ExitStatus {
        self.process.wait_until_ended()
    }

    /// Whether it has ended.
    pub fn ended(&self) -> bool {
        self.process.exit_status().is_some()
    }

    /// Sends `sig` to its process group, as a terminal's Ctrl-C does.
    pub fn signal(&self, sig: i32) {
        let _ = signal::kill_group(self.pid(), sig, 0);
    }
}

/// Boots the LibOS for serving: file systems mounted, the init process made.
/// Once per host process.
pub fn start(cfg: &BootConfig) -> Result<(), BootError> {
    boot::boot(cfg)?;
    let platform = |what: &str, e: crate::Errno| BootError::Platform(format!("{what}: {e}"));
    let space =
        occlum_pal::uspace::get().ok_or_else(|| BootError::Platform("no user space".into()))?;
    let pid = process::alloc_pid().map_err(|e| platform("pid", e))?;
    let mut actions = SigActions::default();
    actions.set(
        SIGCHLD,
        SigAction {
            handler: SIG_IGN,
            ..SigAction::default()
        },
    );
    let init = Process::new(
        pid,
        std::sync::Weak::new(),
        pid,
        pid,
        "/init".to_string(),
        Arc::new(Mutex::new(VmSpace::new(space))),
        FileTable::default(),
        FsContext::new().map_err(|e| platform("the root file system", e))?,
        Rlimits::new(
            cfg.stack_size as u64,
            cfg.heap_size as u64,
            cfg.user_space_size as u64,
            cfg.max_threads as u64,
        ),
        actions,
    );
    process::register_process(&init);
    Ok(())
}

/// Runs `program` as a new session with `stdio` (host descriptors) as its
/// standard streams.
pub fn exec(program: &Program, stdio: [OwnedFd; 3]) -> Result<Session, BootError> {
    let init = process::get_process(process::INIT_PID)
        .ok_or_else(|| BootError::Platform("the server is not started".into()))?;
    let [stdin, stdout, stderr] = stdio;
    let files: [FileRef; 3] = [
        Arc::new(HostStdio::from_host(0, stdin)),
        Arc::new(HostStdio::from_host(1, stdout)),
        Arc::new(HostStdio::from_host(2, stderr)),
    ];
    let process = boot::start_process(program, files, Some(&init))?;
    Ok(Session { process })
}

/// Sends `sig` to every process but init.
pub fn signal_all(sig: i32) {
    for p in live_processes() {
        let _ = signal::kill_process(p.0, sig, 0);
    }
}

/// The processes that have not ended, but init: pid and program path.
pub fn live_processes() -> Vec<(Pid, String)> {
    process::all_processes()
        .into_iter()
        .filter(|p| p.pid() != process::INIT_PID && p.exit_status().is_none())
        .map(|p| (p.pid(), p.exe_path()))
        .collect()
}

/// Writes what programs wrote to the host (`occlum stop`).
pub fn sync() {
    boot::shut_down();
}
