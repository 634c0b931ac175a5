//! The syscall dispatcher. Every user syscall arrives here with the trapped
//! user context; the table (`table.rs`) states, per syscall, the handler that
//! serves it, how completely, and how it restarts. Anything not in the table
//! fails with `ENOSYS` and is logged once by name.

mod clone;
mod creds;
mod fd;
mod fs;
mod futex;
mod info;
mod ipc;
mod keys;
mod misc;
mod mlock;
mod mqueue;
mod net;
mod poll;
mod process;
mod process_vm;
mod sched;
mod signal;
mod table;
mod time;
mod timer;
mod vm;
mod wait;

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};

use occlum_pal::trap::TrapFrame;
use syscalls::Sysno;

pub use misc::node_name;
pub use table::{support_table, Restart, Support};

use crate::process::{Process, Thread};
use crate::{Errno, InjectedPanic, Result};

/// What a syscall handler works with.
pub struct SyscallCtx<'a, 'f> {
    thread: &'a Arc<Thread>,
    frame: &'a mut TrapFrame<'f>,
    regs_replaced: bool,
}

impl<'f> SyscallCtx<'_, 'f> {
    /// The calling thread.
    pub fn thread(&self) -> &Arc<Thread> {
        self.thread
    }

    /// The calling process.
    pub fn process(&self) -> &Arc<Process> {
        self.thread.process()
    }

    /// Records that the handler set the user registers itself (`execve`,
    /// `vfork`): its return value is not stored in RAX.
    pub fn regs_replaced(&mut self) {
        self.regs_replaced = true;
    }

    /// The trapped user context.
    pub fn frame(&mut self) -> &mut TrapFrame<'f> {
        self.frame
    }
}

impl SyscallCtx<'_, '_> {
    /// Gives `file` the lowest free descriptor of the calling process
    /// (within `RLIMIT_NOFILE`), close-on-exec if `cloexec`.
    pub fn install(&self, file: crate::fs::FileRef, cloexec: bool) -> Result<u64> {
        let limit = self.process().rlimits().nofile();
        let fd = self.process().files().insert(file, cloexec, limit)?;
        Ok(fd as u64)
    }
}

/// A syscall handler: the six raw arguments in, the return value or an errno out.
pub type Handler = fn(&mut SyscallCtx<'_, '_>, [u64; 6]) -> Result<u64>;

fn log_unsupported(nr: u64, exe: &str) {
    static SEEN: Mutex<Option<HashSet<u64>>> = Mutex::new(None);
    // Numbers past the table are logged as one: a guest making random
    // syscalls cannot grow the set or the log without bound.
    const UNKNOWN: u64 = u64::MAX;
    let key = if usize::try_from(nr).ok().and_then(Sysno::new).is_some() {
        nr
    } else {
        UNKNOWN
    };
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    if seen.get_or_insert_with(HashSet::new).insert(key) {
        let name = usize::try_from(nr)
            .ok()
            .and_then(Sysno::new)
            .map_or("unknown", |s| s.name());
        tracing::warn!("{exe}: unsupported syscall {name} ({nr}): returning ENOSYS");
    }
}

static INJECTED_PANIC: OnceLock<Option<InjectedPanic>> = OnceLock::new();

/// Where the LibOS panics on purpose (see `BootConfig::inject_panic`).
pub(crate) fn set_injected_panic(at: Option<InjectedPanic>) {
    INJECTED_PANIC.get_or_init(|| at);
}

/// Whether the LibOS is to panic at `point` (a testing aid).
pub(crate) fn injected_panic(point: InjectedPanic) -> bool {
    INJECTED_PANIC.get().copied().flatten() == Some(point)
}

/// Serves the syscall in `frame`.
pub(crate) fn dispatch(thread: &Arc<Thread>, frame: &mut TrapFrame<'_>) {
    let nr = frame.syscall_nr();
    let args = frame.syscall_args();
    if injected_panic(InjectedPanic::AtSyscall(nr)) {
        panic!("injected panic while serving syscall {nr}");
    }
    let mut ctx = SyscallCtx {
        thread,
        frame: &mut *frame,
        regs_replaced: false,
    };
    let row = table::entry(nr);
    let ret = match row {
        Some(e) => (e.handler)(&mut ctx, args),
        None => {
            log_unsupported(nr, &thread.process().exe_path());
            Err(Errno::ENOSYS)
        }
    };
    tracing::trace!(nr, ?args, ?ret, "syscall");
    if ctx.regs_replaced && ret.is_ok() {
        return;
    }
    if ret == Err(Errno::EINTR) {
        if let Some(kind) = row.and_then(|e| e.restart.kind()) {
            thread.set_restart(nr, kind);
        }
    }
    frame.set_syscall_ret(match ret {
        Ok(v) => v,
        Err(e) => e.as_syscall_ret(),
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn support_table_doc_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/syscalls.md");
        let want = super::table::support_table();
        if std::env::var_os("UPDATE_DOCS").is_some() {
            std::fs::write(path, &want).expect("write docs/syscalls.md");
        }
        let have = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            have == want,
            "docs/syscalls.md is stale: run UPDATE_DOCS=1 cargo test -p occlum-libos support_table"
        );
    }
}
