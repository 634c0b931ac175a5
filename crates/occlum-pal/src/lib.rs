//! Platform abstraction layer (PAL) of the LibOS.
//!
//! This is the only crate of the project that contains `unsafe` code. It wraps
//! every low-level operation the LibOS needs in a safe API, in the spirit of
//! Asterinas' OSTD:
//!
//! * [`thread`]: per-host-thread set-up (the thread block reached through GS base,
//!   the alternate signal stack, Syscall User Dispatch) and [`thread::enter_user`],
//!   the only way to run user code;
//! * [`fastpath`]: the direct syscall entry for rewritten syscall sites;
//! * [`trap`]: the signal handlers that turn trapped `syscall` instructions and CPU
//!   faults of user code into calls of the LibOS's registered trap handler, with a
//!   safe view of the user's registers ([`trap::TrapFrame`]) and of their FPU and
//!   vector state in Linux's signal-frame layout ([`xstate`]);
//! * [`uspace`]: the user-space region reserved at start, page mapping inside it,
//!   and fault-tolerant copies between LibOS memory and user memory;
//! * [`sealed`]: immutable program pages shared by every process that maps them;
//! * [`shared_mem`]: pages that several address spaces map shared;
//! * [`parked`]: the pages of an address space switched out of the region;
//! * [`host`]: the host interface ("ocalls"), the one narrow door to the host OS,
//!   which validates every value the host returns.
//!
//! Backend: simulation. The "enclave" is this host process; nothing here gives
//! hardware protection.

#![deny(clippy::undocumented_unsafe_blocks)]

mod arch;
pub mod cpuid;
pub mod errno;
pub mod fastpath;
pub mod fd_passing;
pub mod host;
pub mod host_fs;
pub mod host_net;
pub mod host_poll;
pub mod parked;
pub mod sealed;
pub mod shared_mem;
pub mod thread;
pub mod trap;
pub mod uspace;
pub mod xstate;

pub use errno::Errno;
