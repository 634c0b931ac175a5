//! System V message queues: typed messages, sent and received whole.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

use super::{now_secs, Object, Perm, Table, IPC_NOWAIT};
use crate::process::wait_event;
use crate::sync::{lock, WaitQueue};
use crate::{Errno, Result};

/// Largest message (`MSGMAX`).
pub const MSGMAX: usize = 8192;
/// Default bytes a queue holds (`MSGMNB`).
pub const MSGMNB: usize = 16384;
/// `MSG_NOERROR`: truncate a message too long for the buffer.
pub const MSG_NOERROR: u64 = 0o10000;
/// `MSG_EXCEPT`: the first message of another type.
pub const MSG_EXCEPT: u64 = 0o20000;
/// `MSG_COPY`: a copy of the message at an index.
pub const MSG_COPY: u64 = 0o40000;

/// A queue's state.
pub struct MsgState {
    msgs: VecDeque<(i64, Vec<u8>)>,
    /// Bytes of text queued (`msg_cbytes`).
    pub bytes: usize,
    /// Most bytes the queue holds (`msg_qbytes`).
    pub qbytes: usize,
    pub stime: i64,
    pub rtime: i64,
    pub ctime: i64,
    pub lspid: i32,
    pub lrpid: i32,
    removed: bool,
}

impl MsgState {
    /// Messages queued.
    pub fn count(&self) -> usize {
        self.msgs.len()
    }
}

/// A message queue.
pub struct MsgQueue {
    perm: Mutex<Perm>,
    state: Mutex<MsgState>,
    changed: WaitQueue,
}

impl Object for MsgQueue {
    fn perm(&self) -> MutexGuard<'_, Perm> {
        lock(&self.perm)
    }

    fn removed(&self) {
        lock(&self.state).removed = true;
        self.changed.wake_all();
    }
}

/// Every message queue of the LibOS.
pub static QUEUES: Table<MsgQueue> = Table::new();

impl MsgQueue {
    /// An empty queue.
    pub fn new(perm: Perm) -> MsgQueue {
        MsgQueue {
            perm: Mutex::new(perm),
            state: Mutex::new(MsgState {
                msgs: VecDeque::new(),
                bytes: 0,
                qbytes: MSGMNB,
                stime: 0,
                rtime: 0,
                ctime: now_secs(),
                lspid: 0,
                lrpid: 0,
                removed: false,
            }),
            changed: WaitQueue::new(),
        }
    }

    /// The state, locked (`msgctl`).
    pub fn state(&self) -> MutexGuard<'_, MsgState> {
        lock(&self.state)
    }

    /// Wakes waiting senders (the limit grew).
    pub fn wake(&self) {
        self.changed.wake_all();
    }

    /// `msgsnd`: queues `text` of type `mtype`, waiting for room unless
    /// `IPC_NOWAIT` (`EAGAIN`).
    pub fn send(&self, mtype: i64, text: Vec<u8>, flags: u64, pid: i32) -> Result<()> {
        let mut text = Some(text);
        wait_event(&[&self.changed], None, || {
            let mut st = lock(&self.state);
            if st.removed {
                return Err(Errno::EIDRM);
            }
            let len = text.as_ref().map_or(0, Vec::len);
            if st.bytes + len > st.qbytes || st.msgs.len() + 1 > st.qbytes {
                return if flags & IPC_NOWAIT != 0 {
                    Err(Errno::EAGAIN)
                } else {
                    Ok(None)
                };
            }
            st.bytes += len;
            st.msgs.push_back((mtype, text.take().unwrap_or_default()));
            st.stime = now_secs();
            st.lspid = pid;
            Ok(Some(()))
        })?;
        self.changed.wake_all();
        Ok(())
    }

    /// `msgrcv`: takes (or with `MSG_COPY`, copies) the message `msgtyp`
    /// selects, of at most `max` bytes (longer: `E2BIG`, or cut with
    /// `MSG_NOERROR`); waits for one unless `IPC_NOWAIT` (`ENOMSG`).
    pub fn receive(&self, max: usize, msgtyp: i64, flags: u64, pid: i32) -> Result<(i64, Vec<u8>)> {
        let r = wait_event(&[&self.changed], None, || {
            let mut st = lock(&self.state);
            if st.removed {
                return Err(Errno::EIDRM);
            }
            let found = if flags & MSG_COPY != 0 {
                usize::try_from(msgtyp).ok().filter(|i| *i < st.msgs.len())
            } else {
                select(&st.msgs, msgtyp, flags & MSG_EXCEPT != 0)
            };
            let Some(i) = found else {
                return if flags & IPC_NOWAIT != 0 {
                    Err(Errno::ENOMSG)
                } else {
                    Ok(None)
                };
            };
            if st.msgs[i].1.len() > max && flags & MSG_NOERROR == 0 {
                return Err(Errno::E2BIG);
            }
            if flags & MSG_COPY != 0 {
                let (t, text) = &st.msgs[i];
                return Ok(Some((*t, text[..text.len().min(max)].to_vec())));
            }
            let (t, mut text) = st.msgs.remove(i).expect("selected");
            st.bytes -= text.len();
            st.rtime = now_secs();
            st.lrpid = pid;
            text.truncate(max);
            Ok(Some((t, text)))
        })?;
        self.changed.wake_all();
        Ok(r)
    }
}

/// The index of the message `msgtyp` selects: 0, the first; above 0, the
/// first of that type (or, with `except`, of another); below 0, the first
/// of the lowest type up to `-msgtyp`.
fn select(msgs: &VecDeque<(i64, Vec<u8>)>, msgtyp: i64, except: bool) -> Option<usize> {
    match msgtyp {
        0 => (!msgs.is_empty()).then_some(0),
        t if t > 0 => msgs.iter().position(|(m, _)| (*m == t) != except),
        t => {
            let limit = t.checked_neg().unwrap_or(i64::MAX);
            msgs.iter()
                .enumerate()
                .filter(|(_, (m, _))| *m <= limit)
                .min_by_key(|(i, (m, _))| (*m, *i))
                .map(|(i, _)| i)
        }
    }
}
