//! Pseudo-terminals: opening `/dev/ptmx` makes a pair, whose master end is
//! the opened file and whose terminal end appears as `/dev/pts/N` (unlocked
//! with `TIOCSPTLCK`, as `unlockpt` does). What the master writes is typed
//! at the terminal and goes through the line discipline (`ldisc.rs`); what
//! the terminal end writes comes out of the master. The signal characters
//! signal the terminal's foreground process group (`TIOCSCTTY`,
//! `TIOCSPGRP`); when the master closes, that group and the session leader
//! get `SIGHUP` and the terminal end reads end of file.

pub mod ldisc;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use self::ldisc::{LineDiscipline, Termios, TERMIOS_SIZE, VMIN, VTIME};
use super::{File, FileType, Readiness, Stat, Timespec, O_ACCMODE, O_NOCTTY, O_NONBLOCK};
use crate::process::{current, wait_event, Pid};
use crate::signal::{self, nr, SigNum};
use crate::sync::{lock, WaitQueue};
use crate::{Errno, Result};

/// Major device number of `/dev/ptmx`'s pairs' terminal ends (`UNIX98_PTY_SLAVE_MAJOR`).
pub const PTS_MAJOR: u64 = 136;
/// Inode numbers of `/dev/pts/N` are this plus N.
pub const PTS_INO_BASE: u64 = 1 << 20;
/// Most pairs open at once (`/proc/sys/kernel/pty/max` is 4096).
const PTY_MAX: u32 = 4096;
/// The `tty` group, which owns the terminal ends (devpts' `gid=5`).
const TTY_GID: u32 = 5;

/// The pairs whose master is open, by number.
static PAIRS: Mutex<BTreeMap<u32, Weak<Pty>>> = Mutex::new(BTreeMap::new());

struct State {
    ldisc: LineDiscipline,
    winsize: [u16; 4],
    /// The terminal end cannot be opened until unlocked.
    locked: bool,
    masters: usize,
    terminals: usize,
    /// Whether the terminal end was ever opened (the master reads `EIO`
    /// only once all its openers have closed it).
    terminal_opened: bool,
    /// The session this is the controlling terminal of.
    session: Option<Pid>,
    /// Its foreground process group.
    foreground: Option<Pid>,
    owner: u32,
    perm: u32,
}

/// One pseudo-terminal pair.
pub struct Pty {
    index: u32,
    /// The device of the file system `/dev/pts` is in.
    dev: u64,
    created: Timespec,
    state: Mutex<State>,
    /// Woken when the terminal end may have input or space for output.
    terminal_side: WaitQueue,
    /// Woken when the master may have output or space for input.
    master_side: WaitQueue,
}

/// The master end (`/dev/ptmx`).
pub struct PtyMaster {
    pty: Arc<Pty>,
    flags: AtomicU32,
}

/// The terminal end (`/dev/pts/N`).
pub struct PtyTerminal {
    pty: Arc<Pty>,
    flags: AtomicU32,
}

/// Opens `/dev/ptmx`: a new pair whose terminal end starts locked, owned by
/// the caller. `dev` is the device of the file system `/dev/pts` is in.
pub fn open_master(dev: u64, flags: u32) -> Result<Arc<PtyMaster>> {
    let mut pairs = lock(&PAIRS);
    pairs.retain(|_, p| p.strong_count() > 0);
    let index = (0..PTY_MAX)
        .find(|i| !pairs.contains_key(i))
        .ok_or(Errno::ENOSPC)?;
    let owner = current().map_or(0, |t| t.process().creds().uid.fs);
    let pty = Arc::new(Pty {
        index,
        dev,
        created: Timespec::now(),
        state: Mutex::new(State {
            ldisc: LineDiscipline::default(),
            winsize: [0; 4],
            locked: true,
            masters: 1,
            terminals: 0,
            terminal_opened: false,
            session: None,
            foreground: None,
            owner,
            perm: 0o620,
        }),
        terminal_side: WaitQueue::new(),
        master_side: WaitQueue::new(),
    });
    pairs.insert(index, Arc::downgrade(&pty));
    Ok(Arc::new(PtyMaster {
        pty,
        flags: AtomicU32::new(flags & (O_ACCMODE | O_NONBLOCK)),
    }))
}

/// The pair numbered `index`, while its master is open.
pub fn find(index: u32) -> Option<Arc<Pty>> {
    lock(&PAIRS).get(&index).and_then(Weak::upgrade)
}

/// The numbers of the pairs whose master is open.
pub fn indices() -> Vec<u32> {
    lock(&PAIRS)
        .iter()
        .filter(|(_, p)| p.strong_count() > 0)
        .map(|(i, _)| *i)
        .collect()
}

/// The controlling terminal of session `sid`, if it is a pseudo-terminal.
pub fn controlling(sid: Pid) -> Option<Arc<Pty>> {
    lock(&PAIRS)
        .values()
        .filter_map(Weak::upgrade)
        .find(|p| p.session() == Some(sid))
}

/// The pair behind a master or terminal end, and whether it is the master.
pub fn pair_of(f: &super::FileRef) -> Option<(Arc<Pty>, bool)> {
    if let Some(m) = super::downcast::<PtyMaster>(f.clone()) {
        return Some((m.pty.clone(), true));
    }
    super::downcast::<PtyTerminal>(f.clone()).map(|t| (t.pty.clone(), false))
}

impl Pty {
    /// Its number (`TIOCGPTN`).
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The metadata of `/dev/pts/N`.
    pub fn terminal_stat(&self) -> Stat {
        let st = lock(&self.state);
        let n = u64::from(self.index);
        Stat {
            dev: self.dev,
            ino: PTS_INO_BASE + n,
            kind: FileType::CharDevice,
            perm: st.perm,
            nlink: 1,
            rdev: (PTS_MAJOR << 8) | (n & 0xff) | ((n & !0xff) << 12),
            blksize: 1024,
            uid: st.owner,
            gid: TTY_GID,
            atime: self.created,
            mtime: self.created,
            ctime: self.created,
            ..Stat::default()
        }
    }

    /// Sets the owner or mode of `/dev/pts/N` (`chown`, `chmod`).
    pub fn set_owner_perm(&self, owner: Option<u32>, perm: Option<u32>) {
        let mut st = lock(&self.state);
        if let Some(uid) = owner {
            st.owner = uid;
        }
        if let Some(p) = perm {
            st.perm = p & 0o7777;
        }
    }

    /// Opens the terminal end (`open("/dev/pts/N")`, `TIOCGPTPEER`): `EIO`
    /// while locked. Without `O_NOCTTY`, a session leader without a
    /// terminal makes this its controlling terminal, as on Linux.
    pub fn open_terminal(self: &Arc<Self>, flags: u32) -> Result<Arc<PtyTerminal>> {
        let mut st = lock(&self.state);
        if st.locked || st.masters == 0 {
            return Err(Errno::EIO);
        }
        st.terminals += 1;
        st.terminal_opened = true;
        if flags & O_NOCTTY == 0 && st.session.is_none() {
            if let Some(t) = current() {
                let p = t.process();
                let (sid, pgid) = {
                    let st = p.state();
                    (st.sid, st.pgid)
                };
                if p.pid() == sid {
                    st.session = Some(sid);
                    st.foreground = Some(pgid);
                }
            }
        }
        Ok(Arc::new(PtyTerminal {
            pty: self.clone(),
            flags: AtomicU32::new(flags & (O_ACCMODE | O_NONBLOCK)),
        }))
    }

    /// `TIOCSPTLCK`.
    pub fn set_locked(&self, locked: bool) {
        lock(&self.state).locked = locked;
    }

    /// `TIOCGPTLCK`.
    pub fn locked(&self) -> bool {
        lock(&self.state).locked
    }

    /// `TCGETS`.
    pub fn termios(&self) -> Termios {
        lock(&self.state).ldisc.termios()
    }

    /// `TCSETS` (`flush`: `TCSETSF`, unread input dropped first).
    pub fn set_termios(&self, t: Termios, flush: bool) {
        let mut st = lock(&self.state);
        if flush {
            st.ldisc.flush_input();
        }
        st.ldisc.set_termios(t);
        drop(st);
        self.terminal_side.wake_all();
    }

    /// `TCFLSH`: drops unread input and/or output.
    pub fn flush(&self, input: bool, output: bool) {
        let mut st = lock(&self.state);
        if input {
            st.ldisc.flush_input();
        }
        if output {
            st.ldisc.flush_output();
        }
        drop(st);
        self.master_side.wake_all();
        self.terminal_side.wake_all();
    }

    /// `TIOCGWINSZ`.
    pub fn winsize(&self) -> [u16; 4] {
        lock(&self.state).winsize
    }

    /// `TIOCSWINSZ`: a change sends `SIGWINCH` to the foreground group.
    pub fn set_winsize(&self, ws: [u16; 4]) {
        let mut st = lock(&self.state);
        let changed = st.winsize != ws;
        st.winsize = ws;
        let fg = st.foreground;
        drop(st);
        if changed {
            signal_group(fg, nr::SIGWINCH);
        }
    }

    /// Bytes readable at one end (`FIONREAD`).
    pub fn readable(&self, master: bool) -> usize {
        let st = lock(&self.state);
        if master {
            st.ldisc.pending_output()
        } else {
            st.ldisc.readable()
        }
    }

    /// Bytes not yet read at the other end (`TIOCOUTQ`).
    pub fn unread(&self, master: bool) -> usize {
        self.readable(!master)
    }

    /// `TIOCSCTTY`: makes this the controlling terminal of the caller's
    /// session (the caller must lead it); `EPERM` if another session has it
    /// and `steal` is not allowed.
    pub fn set_controlling(&self, pid: Pid, sid: Pid, pgid: Pid, steal: bool) -> Result<()> {
        let mut st = lock(&self.state);
        if st.session == Some(sid) {
            return Ok(());
        }
        if pid != sid {
            return Err(Errno::EPERM);
        }
        if st.session.is_some() && !steal {
            return Err(Errno::EPERM);
        }
        st.session = Some(sid);
        st.foreground = Some(pgid);
        Ok(())
    }

    /// `TIOCNOTTY` by the session leader: the session loses its terminal.
    pub fn release_controlling(&self, sid: Pid) -> Result<()> {
        let mut st = lock(&self.state);
        if st.session != Some(sid) {
            return Err(Errno::ENOTTY);
        }
        st.session = None;
        st.foreground = None;
        Ok(())
    }

    /// The session whose controlling terminal this is (`TIOCGSID`).
    pub fn session(&self) -> Option<Pid> {
        lock(&self.state).session
    }

    /// `TIOCGPGRP`.
    pub fn foreground(&self) -> Option<Pid> {
        lock(&self.state).foreground
    }

    /// `TIOCSPGRP`: the group must be in the terminal's session (checked by
    /// the caller), which must be the caller's.
    pub fn set_foreground(&self, caller_sid: Pid, pgid: Pid) -> Result<()> {
        let mut st = lock(&self.state);
        if st.session != Some(caller_sid) {
            return Err(Errno::ENOTTY);
        }
        st.foreground = Some(pgid);
        Ok(())
    }
}

/// Sends `sig` to the process group `pgid`, if any (from the kernel).
fn signal_group(pgid: Option<Pid>, sig: SigNum) {
    if let Some(pgid) = pgid {
        let _ = signal::kill_group(pgid, sig, 0);
    }
}

/// The deadline of a non-canonical read under `VTIME` (tenths of a second).
fn vtime_deadline(vtime: u8) -> Option<Instant> {
    (vtime != 0).then(|| Instant::now() + Duration::from_millis(u64::from(vtime) * 100))
}

/// The `File` methods both ends share: status flags and the terminal's
/// modes and size.
macro_rules! end_common {
    () => {
        fn status_flags(&self) -> u32 {
            self.flags.load(Ordering::Relaxed)
        }

        fn set_status_flags(&self, flags: u32) {
            self.flags.store(flags, Ordering::Relaxed);
        }

        fn tcgets(&self) -> Result<[u8; TERMIOS_SIZE]> {
            Ok(self.pty.termios().to_bytes())
        }

        fn winsize(&self) -> Result<[u16; 4]> {
            Ok(self.pty.winsize())
        }
    };
}

impl File for PtyMaster {
    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let nonblock = self.flags.load(Ordering::Relaxed) & O_NONBLOCK != 0;
        let pty = &self.pty;
        wait_event(&[&pty.master_side], None, || {
            let mut st = lock(&pty.state);
            if let Some(n) = st.ldisc.read_output(buf) {
                drop(st);
                pty.terminal_side.wake_all();
                return Ok(Some(n));
            }
            if st.terminal_opened && st.terminals == 0 {
                return Err(Errno::EIO);
            }
            if nonblock {
                return Err(Errno::EAGAIN);
            }
            Ok(None)
        })
    }

    fn write(&self, data: &[u8]) -> Result<usize> {
        let nonblock = self.flags.load(Ordering::Relaxed) & O_NONBLOCK != 0;
        let pty = &self.pty;
        let mut done = 0;
        while done < data.len() {
            let (n, signals, fg) = wait_event(&[&pty.master_side], None, || {
                let mut st = lock(&pty.state);
                if !st.ldisc.input_room() {
                    return if done > 0 {
                        Ok(Some((0, Vec::new(), None)))
                    } else if nonblock {
                        Err(Errno::EAGAIN)
                    } else {
                        Ok(None)
                    };
                }
                let (n, signals) = st.ldisc.receive(&data[done..]);
                Ok(Some((n, signals, st.foreground)))
            })?;
            pty.terminal_side.wake_all();
            pty.master_side.wake_all();
            for sig in signals {
                signal_group(fg, sig);
            }
            if n == 0 {
                break;
            }
            done += n;
        }
        Ok(done)
    }

    fn stat(&self) -> Result<Stat> {
        Ok(Stat {
            dev: self.pty.dev,
            ino: PTS_INO_BASE - 1,
            kind: FileType::CharDevice,
            perm: 0o666,
            nlink: 1,
            rdev: (5 << 8) | 2,
            blksize: 1024,
            ..Stat::default()
        })
    }

    fn describe(&self) -> String {
        "/dev/ptmx".to_string()
    }

    fn poll(&self) -> Readiness {
        let st = lock(&self.pty.state);
        let hangup = st.terminal_opened && st.terminals == 0;
        Readiness {
            readable: st.ldisc.pending_output() > 0 || hangup,
            writable: st.ldisc.input_room(),
            hangup,
            error: false,
        }
    }

    fn poll_queues(&self) -> Vec<&WaitQueue> {
        vec![&self.pty.master_side]
    }

    end_common!();
}

impl Drop for PtyMaster {
    fn drop(&mut self) {
        let mut st = lock(&self.pty.state);
        st.masters -= 1;
        let hangup = st.masters == 0;
        let (fg, session) = (st.foreground, st.session);
        if hangup {
            st.session = None;
            st.foreground = None;
        }
        drop(st);
        if hangup {
            lock(&PAIRS).remove(&self.pty.index);
            signal_group(fg, nr::SIGHUP);
            if let Some(sid) = session {
                let _ = signal::kill_process(sid, nr::SIGHUP, 0);
            }
        }
        self.pty.terminal_side.wake_all();
    }
}

impl File for PtyTerminal {
    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let nonblock = self.flags.load(Ordering::Relaxed) & O_NONBLOCK != 0;
        let pty = &self.pty;
        let t = pty.termios();
        let (vmin, vtime) = (usize::from(t.cc[VMIN]), t.cc[VTIME]);
        let raw = !t.canonical();
        // Non-canonical: VMIN 0 and VTIME 0 return what is there; VTIME
        // alone waits that long for a first byte; VMIN waits for that many.
        let deadline = if raw && vmin == 0 {
            vtime_deadline(vtime)
        } else {
            None
        };
        let want = if raw { vmin.clamp(1, buf.len()) } else { 1 };
        let r = wait_event(&[&pty.terminal_side], deadline, || {
            let mut st = lock(&pty.state);
            let enough = if raw {
                st.ldisc.readable() >= want
            } else {
                st.ldisc.has_input()
            };
            if enough || (raw && st.ldisc.has_input() && st.masters == 0) {
                let n = st.ldisc.read(buf).unwrap_or(0);
                drop(st);
                pty.master_side.wake_all();
                return Ok(Some(n));
            }
            if st.masters == 0 || (raw && vmin == 0 && vtime == 0) {
                return Ok(Some(0));
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(Some(0));
            }
            if nonblock {
                return Err(Errno::EAGAIN);
            }
            Ok(None)
        });
        match r {
            Err(Errno::ETIMEDOUT) => Ok(0),
            r => r,
        }
    }

    fn write(&self, data: &[u8]) -> Result<usize> {
        let nonblock = self.flags.load(Ordering::Relaxed) & O_NONBLOCK != 0;
        let pty = &self.pty;
        let mut done = 0;
        while done < data.len() {
            let n = wait_event(&[&pty.terminal_side], None, || {
                let mut st = lock(&pty.state);
                if st.masters == 0 {
                    return Err(Errno::EIO);
                }
                if !st.ldisc.output_room() {
                    return if done > 0 {
                        Ok(Some(0))
                    } else if nonblock {
                        Err(Errno::EAGAIN)
                    } else {
                        Ok(None)
                    };
                }
                Ok(Some(st.ldisc.transmit(&data[done..])))
            });
            let n = match n {
                Ok(n) => n,
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            };
            pty.master_side.wake_all();
            if n == 0 {
                break;
            }
            done += n;
        }
        Ok(done)
    }

    fn stat(&self) -> Result<Stat> {
        Ok(self.pty.terminal_stat())
    }

    fn describe(&self) -> String {
        format!("/dev/pts/{}", self.pty.index)
    }

    fn poll(&self) -> Readiness {
        let st = lock(&self.pty.state);
        let hangup = st.masters == 0;
        Readiness {
            readable: st.ldisc.has_input() || hangup,
            writable: st.ldisc.output_room() && !hangup,
            hangup,
            error: false,
        }
    }

    fn poll_queues(&self) -> Vec<&WaitQueue> {
        vec![&self.pty.terminal_side]
    }

    end_common!();
}

impl Drop for PtyTerminal {
    fn drop(&mut self) {
        lock(&self.pty.state).terminals -= 1;
        self.pty.master_side.wake_all();
    }
}
