//! Running LibOS threads on host threads: a pool of host threads, each set up
//! once to run user code, so that creating a thread or process does not pay
//! for a host thread.

mod pool;

pub use pool::{configure, spawn};
