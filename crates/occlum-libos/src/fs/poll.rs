//! Waiting for files to become ready: the common part of `poll`, `select`
//! and `epoll_wait`.

use std::time::{Duration, Instant};

use super::FileRef;
use crate::process::wait_event;
use crate::{Errno, Result};

/// How often files whose readiness comes from the host are polled again.
const HOST_REPOLL: Duration = Duration::from_millis(10);

/// Blocks until `check` gives a value, or `deadline` passes (`Ok(None)`), or
/// the thread is interrupted (`EINTR`). The thread sleeps on the wait queues
/// of `files`; files polled on the host are checked every few milliseconds.
pub fn wait_until_ready<T>(
    files: &[FileRef],
    deadline: Option<Instant>,
    mut check: impl FnMut() -> Result<Option<T>>,
) -> Result<Option<T>> {
    let queues: Vec<_> = files.iter().flat_map(|f| f.poll_queues()).collect();
    let host = files.iter().any(|f| f.polls_host());
    loop {
        let step = if host {
            let soon = Instant::now() + HOST_REPOLL;
            Some(deadline.map_or(soon, |d| d.min(soon)))
        } else {
            deadline
        };
        match wait_event(&queues, step, &mut check) {
            Ok(v) => return Ok(Some(v)),
            Err(Errno::ETIMEDOUT) if deadline.is_none_or(|d| Instant::now() < d) => continue,
            Err(Errno::ETIMEDOUT) => return Ok(None),
            Err(e) => return Err(e),
        }
    }
}
