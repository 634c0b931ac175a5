//! POSIX message queues (`mq_open` and the rest): named queues of
//! prioritized messages, one namespace for the LibOS, opened as files.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Instant;

use super::{File, FileType, Readiness, Stat, O_ACCMODE, O_NONBLOCK, O_RDWR, O_WRONLY};
use crate::process::{wait_event, Process};
use crate::signal::{send_to_process, SigInfo, SigNum};
use crate::sync::{lock, lock_shared, WaitQueue};
use crate::{Errno, Result};

/// Priorities are below this (`MQ_PRIO_MAX`).
pub const MQ_PRIO_MAX: u32 = 32768;
/// Default and largest message count of a queue (`msg_max`).
pub const MSG_MAX: i64 = 10;
/// Default and largest message size (`msgsize_max`).
pub const MSGSIZE_MAX: i64 = 8192;
/// `SI_MESGQ`: a message arrived on an empty queue.
const SI_MESGQ: i32 = -3;

/// Who `mq_notify` registered, and how to tell it.
struct Notify {
    process: Weak<Process>,
    /// The signal (`None`: `SIGEV_NONE`).
    signal: Option<SigNum>,
    value: u64,
}

struct State {
    /// Messages by priority; each priority's in arrival order.
    msgs: BTreeMap<u32, VecDeque<Vec<u8>>>,
    count: usize,
    bytes: usize,
    notify: Option<Notify>,
    receivers: usize,
}

/// One queue.
pub struct Queue {
    /// The largest number of messages and message size.
    pub maxmsg: i64,
    pub msgsize: i64,
    /// Owner and permission bits.
    pub uid: u32,
    pub gid: u32,
    pub mode: u32,
    state: Mutex<State>,
    changed: WaitQueue,
}

/// The queues by name (without the leading `/`).
static NAMES: Mutex<Option<HashMap<Vec<u8>, Arc<Queue>>>> = Mutex::new(None);

impl Queue {
    /// An empty queue.
    pub fn new(maxmsg: i64, msgsize: i64, uid: u32, gid: u32, mode: u32) -> Queue {
        Queue {
            maxmsg,
            msgsize,
            uid,
            gid,
            mode,
            state: Mutex::new(State {
                msgs: BTreeMap::new(),
                count: 0,
                bytes: 0,
                notify: None,
                receivers: 0,
            }),
            changed: WaitQueue::new(),
        }
    }
}

/// The queue named `name`; with `make`, made by it if there is none
/// (`EEXIST` if `exclusive` and there is one).
pub fn open(
    name: &[u8],
    make: Option<&dyn Fn() -> Result<Queue>>,
    exclusive: bool,
) -> Result<Arc<Queue>> {
    let mut names = lock_shared(&NAMES);
    let names = names.get_or_insert_with(HashMap::new);
    if let Some(q) = names.get(name) {
        if make.is_some() && exclusive {
            return Err(Errno::EEXIST);
        }
        return Ok(q.clone());
    }
    let make = make.ok_or(Errno::ENOENT)?;
    let q = Arc::new(make()?);
    names.insert(name.to_vec(), q.clone());
    Ok(q)
}

/// `mq_unlink`: the name goes; open descriptors keep the queue.
pub fn unlink(name: &[u8]) -> Result<()> {
    let mut names = lock_shared(&NAMES);
    names
        .as_mut()
        .and_then(|n| n.remove(name))
        .map(|_| ())
        .ok_or(Errno::ENOENT)
}

/// An open message queue description.
pub struct MqFile {
    queue: Arc<Queue>,
    flags: AtomicU32,
}

impl MqFile {
    /// Opens `queue` with `flags` (access mode and `O_NONBLOCK`).
    pub fn new(queue: Arc<Queue>, flags: u32) -> MqFile {
        MqFile {
            queue,
            flags: AtomicU32::new(flags & (O_ACCMODE | O_NONBLOCK)),
        }
    }

    fn nonblock(&self) -> bool {
        self.flags.load(Ordering::Relaxed) & O_NONBLOCK != 0
    }

    fn may(&self, write: bool) -> Result<()> {
        let acc = self.flags.load(Ordering::Relaxed) & O_ACCMODE;
        let ok = if write {
            acc == O_WRONLY || acc == O_RDWR
        } else {
            acc != O_WRONLY
        };
        if ok {
            Ok(())
        } else {
            Err(Errno::EBADF)
        }
    }

    /// `(flags, maxmsg, msgsize, curmsgs)` of `mq_getattr`.
    pub fn attr(&self) -> [i64; 4] {
        let q = &self.queue;
        let count = lock(&q.state).count as i64;
        let flags = i64::from(self.flags.load(Ordering::Relaxed) & O_NONBLOCK);
        [flags, q.maxmsg, q.msgsize, count]
    }

    /// `mq_setattr`: only `O_NONBLOCK` changes.
    pub fn set_nonblock(&self, on: bool) {
        let f = self.flags.load(Ordering::Relaxed) & !O_NONBLOCK;
        self.flags
            .store(f | if on { O_NONBLOCK } else { 0 }, Ordering::Relaxed);
    }

    /// `mq_timedsend`: waits for room until `deadline` (`ETIMEDOUT`)
    /// unless the description is non-blocking (`EAGAIN`).
    pub fn send(
        &self,
        msg: Vec<u8>,
        prio: u32,
        deadline: Option<Instant>,
        sender: i32,
    ) -> Result<()> {
        self.may(true)?;
        let q = &self.queue;
        if msg.len() as i64 > q.msgsize {
            return Err(super::socket::EMSGSIZE);
        }
        let nonblock = self.nonblock();
        let mut msg = Some(msg);
        let notify = wait_event(&[&q.changed], deadline, || {
            let mut st = lock(&q.state);
            if st.count as i64 >= q.maxmsg {
                return if nonblock {
                    Err(Errno::EAGAIN)
                } else {
                    Ok(None)
                };
            }
            let m = msg.take().unwrap_or_default();
            let was_empty = st.count == 0;
            st.bytes += m.len();
            st.count += 1;
            st.msgs.entry(prio).or_default().push_back(m);
            // A registration fires once, for a message to an empty queue
            // that no receiver is waiting on.
            let fire = if was_empty && st.receivers == 0 {
                st.notify.take()
            } else {
                None
            };
            Ok(Some(fire))
        })?;
        q.changed.wake_all();
        if let Some(n) = notify {
            if let (Some(p), Some(sig)) = (n.process.upgrade(), n.signal) {
                send_to_process(&p, SigInfo::queued(sig, SI_MESGQ, sender, n.value));
            }
        }
        Ok(())
    }

    /// `mq_timedreceive`: the oldest message of the highest priority, into
    /// a buffer of `room` bytes (`EMSGSIZE` below the message size).
    pub fn receive(&self, room: usize, deadline: Option<Instant>) -> Result<(Vec<u8>, u32)> {
        self.may(false)?;
        let q = &self.queue;
        if (room as i64) < q.msgsize {
            return Err(super::socket::EMSGSIZE);
        }
        let nonblock = self.nonblock();
        lock(&q.state).receivers += 1;
        let r = wait_event(&[&q.changed], deadline, || {
            let mut st = lock(&q.state);
            let Some((&prio, list)) = st.msgs.iter_mut().next_back() else {
                return if nonblock {
                    Err(Errno::EAGAIN)
                } else {
                    Ok(None)
                };
            };
            let m = list.pop_front().unwrap_or_default();
            if list.is_empty() {
                st.msgs.remove(&prio);
            }
            st.count -= 1;
            st.bytes -= m.len();
            Ok(Some((m, prio)))
        });
        lock(&q.state).receivers -= 1;
        q.changed.wake_all();
        r
    }

    /// `mq_notify`: registers `process` (`EBUSY` if another is), or with
    /// `None` removes its registration.
    pub fn notify(&self, process: &Arc<Process>, how: Option<(Option<SigNum>, u64)>) -> Result<()> {
        let mut st = lock(&self.queue.state);
        let mine = st.notify.as_ref().is_some_and(|n| {
            n.process
                .upgrade()
                .is_some_and(|p| Arc::ptr_eq(&p, process))
        });
        let taken = st.notify.as_ref().is_some_and(|n| {
            n.process
                .upgrade()
                .is_some_and(|p| p.exit_status().is_none())
        });
        match how {
            None => {
                if mine {
                    st.notify = None;
                }
                Ok(())
            }
            Some(_) if taken => Err(Errno::EBUSY),
            Some((signal, value)) => {
                st.notify = Some(Notify {
                    process: Arc::downgrade(process),
                    signal,
                    value,
                });
                Ok(())
            }
        }
    }
}

impl File for MqFile {
    /// Reading the descriptor gives the queue's state, as Linux's
    /// mqueue file system does.
    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        let st = lock(&self.queue.state);
        let text = format!(
            "QSIZE:{:<10} NOTIFY:{:<5} SIGNO:{:<5} NOTIFY_PID:{:<6}\n",
            st.bytes,
            0,
            st.notify.as_ref().and_then(|n| n.signal).unwrap_or(0),
            st.notify
                .as_ref()
                .and_then(|n| n.process.upgrade())
                .map_or(0, |p| p.pid())
        );
        let n = text.len().min(buf.len());
        buf[..n].copy_from_slice(&text.as_bytes()[..n]);
        Ok(n)
    }

    fn stat(&self) -> Result<Stat> {
        Ok(Stat {
            dev: 0x0e,
            ino: 7,
            kind: FileType::Regular,
            perm: self.queue.mode,
            uid: self.queue.uid,
            gid: self.queue.gid,
            nlink: 1,
            blksize: 4096,
            ..Stat::default()
        })
    }

    fn status_flags(&self) -> u32 {
        self.flags.load(Ordering::Relaxed)
    }

    fn set_status_flags(&self, flags: u32) {
        self.set_nonblock(flags & O_NONBLOCK != 0);
    }

    fn poll(&self) -> Readiness {
        let st = lock(&self.queue.state);
        Readiness {
            readable: st.count > 0,
            writable: (st.count as i64) < self.queue.maxmsg,
            ..Readiness::default()
        }
    }

    fn poll_queues(&self) -> Vec<&WaitQueue> {
        vec![&self.queue.changed]
    }
}
