//! Waiting for children: the common part of `wait4` and `waitid`.

use std::sync::Arc;

use super::{table, wait_event, ExitStatus, Pid, Process};
use crate::{Errno, Result};

/// Which children a wait accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitFilter {
    /// Any child.
    Any,
    /// The child with this pid.
    Pid(Pid),
    /// Any child in this process group.
    Pgid(Pid),
}

/// A child that ended.
#[derive(Clone, Copy, Debug)]
pub struct ChildEvent {
    /// Its pid.
    pub pid: Pid,
    /// How it ended.
    pub status: ExitStatus,
}

/// Waits for a child of `parent` accepted by `filter` to end (`ECHILD` if
/// there is none). With `nohang`, returns `None` instead of blocking; with
/// `reap`, removes the child (otherwise it stays waitable, `WNOWAIT`).
pub fn wait_child(
    parent: &Arc<Process>,
    filter: WaitFilter,
    nohang: bool,
    reap: bool,
) -> Result<Option<ChildEvent>> {
    wait_event(&[&parent.child_events], None, || {
        let mut st = parent.state();
        let matches = |c: &Arc<Process>| match filter {
            WaitFilter::Any => true,
            WaitFilter::Pid(p) => c.pid() == p,
            WaitFilter::Pgid(g) => c.state().pgid == g,
        };
        let mut any = false;
        let mut found = None;
        for (i, c) in st.children.iter().enumerate() {
            if !matches(c) {
                continue;
            }
            any = true;
            if let Some(status) = c.exit_status() {
                found = Some((
                    i,
                    ChildEvent {
                        pid: c.pid(),
                        status,
                    },
                ));
                break;
            }
        }
        match found {
            Some((i, ev)) => {
                if reap {
                    let child = st.children.remove(i);
                    parent.add_child_cpu(&child);
                    table::remove_process(ev.pid);
                }
                Ok(Some(Some(ev)))
            }
            None if !any => Err(Errno::ECHILD),
            None if nohang => Ok(Some(None)),
            None => Ok(None),
        }
    })
}
