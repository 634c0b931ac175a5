//! Blocking and waking LibOS threads: per-thread [`Waiter`]s, [`WaitQueue`]s
//! of them, and futexes.

pub mod futex;
mod wait_queue;

pub use wait_queue::{lock, WaitQueue, Waiter};
