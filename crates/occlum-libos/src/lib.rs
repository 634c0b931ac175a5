//! The LibOS kernel: it loads Linux programs into the user-space region and
//! serves their system calls. All hardware- and host-facing work goes through
//! [`occlum_pal`]; this crate forbids code the compiler cannot check.

#![forbid(unsafe_code)]

pub mod abi;
pub mod attest;
pub mod boot;
pub mod budget;
mod cpuid;
pub mod fs;
pub mod ipc;
pub mod keys;
pub mod kms;
pub mod loader;
pub mod process;
pub mod server;
pub mod signal;
pub mod sync;
pub mod syscall;
pub mod task;
pub mod user;
pub mod vm;

mod trap;

pub use boot::{
    run, BootConfig, BootError, DispatchMode, ExitStatus, FsSpec, InjectedPanic, MountSpec, Program,
};
pub use occlum_pal::host::{inherited_state, InheritedState};
pub use occlum_pal::Errno;

/// Result of LibOS operations that fail with a Linux error number.
pub type Result<T> = std::result::Result<T, Errno>;
