//! Waiting for files to become ready: the common part of `poll`, `select`
//! and `epoll_wait`.

use std::time::Instant;

use occlum_pal::host_poll::{POLL_IN, POLL_OUT};

use super::epoll::{EPOLLIN, EPOLLOUT};
use super::FileRef;
use crate::process::wait_event_or_host;
use crate::{Errno, Result};

/// Blocks until `check` gives a value, or `deadline` passes (`Ok(None)`), or
/// the thread is interrupted (`EINTR`). `files` are the files watched, each
/// with the events wanted (`EPOLLIN`, `EPOLLOUT`; errors and hang-ups always
/// count): the thread sleeps on their wait queues and, for files whose
/// readiness comes from the host, on their host descriptors.
pub fn wait_until_ready<T>(
    files: &[(FileRef, u32)],
    deadline: Option<Instant>,
    check: impl FnMut() -> Result<Option<T>>,
) -> Result<Option<T>> {
    let queues: Vec<_> = files.iter().flat_map(|(f, _)| f.poll_queues()).collect();
    let host: Vec<(std::os::fd::BorrowedFd<'_>, i16)> = files
        .iter()
        .filter_map(|(f, ev)| {
            let mut events = 0;
            if ev & EPOLLIN != 0 {
                events |= POLL_IN;
            }
            if ev & EPOLLOUT != 0 {
                events |= POLL_OUT;
            }
            // Nothing wanted (a fired one-shot interest): not watched.
            if events == 0 {
                return None;
            }
            Some((f.host_readiness_fd()?, events))
        })
        .collect();
    match wait_event_or_host(&queues, &host, deadline, check) {
        Ok(v) => Ok(Some(v)),
        Err(Errno::ETIMEDOUT) => Ok(None),
        Err(e) => Err(e),
    }
}
