//! The terminal `ioctl` requests of pseudo-terminals (tty_ioctl(4),
//! ioctl_tty(2)): modes, window size, the pair's number and lock, the
//! controlling terminal and its foreground process group, flushing.

use super::SyscallCtx;
use crate::fs::pty::{self, ldisc::Termios, ldisc::TERMIOS_SIZE};
use crate::fs::{FileRef, O_CLOEXEC};
use crate::process;
use crate::user;
use crate::{Errno, Result};

const TCSETS: u32 = 0x5402;
const TCSETSW: u32 = 0x5403;
const TCSETSF: u32 = 0x5404;
const TCSBRK: u32 = 0x5409;
const TCXONC: u32 = 0x540a;
const TCFLSH: u32 = 0x540b;
const TIOCSCTTY: u32 = 0x540e;
const TIOCGPGRP: u32 = 0x540f;
const TIOCSPGRP: u32 = 0x5410;
const TIOCOUTQ: u32 = 0x5411;
const TIOCSWINSZ: u32 = 0x5414;
const TIOCNOTTY: u32 = 0x5422;
const TCSBRKP: u32 = 0x5425;
const TIOCGSID: u32 = 0x5429;
const TIOCGPTN: u32 = 0x8004_5430;
const TIOCSPTLCK: u32 = 0x4004_5431;
const TIOCGPTLCK: u32 = 0x8004_5439;
const TIOCGPTPEER: u32 = 0x5441;
/// `CAP_SYS_ADMIN`: may take another session's terminal (`TIOCSCTTY` 1).
const CAP_SYS_ADMIN: u32 = 21;

/// Serves `cmd` if `f` is an end of a pseudo-terminal (`None` otherwise).
pub(in crate::syscall) fn ioctl(
    ctx: &SyscallCtx<'_, '_>,
    f: &FileRef,
    cmd: u32,
    arg: u64,
) -> Option<Result<u64>> {
    let (pty, master) = pty::pair_of(f)?;
    let p = ctx.process();
    let (pid, sid, pgid) = {
        let st = p.state();
        (p.pid(), st.sid, st.pgid)
    };
    let r = match cmd {
        TCSETS | TCSETSW | TCSETSF => read_termios(arg).map(|t| {
            pty.set_termios(t, cmd == TCSETSF);
            0
        }),
        TIOCSWINSZ => user::read_bytes(arg, 8).map(|b| {
            let field = |i: usize| u16::from_le_bytes([b[i * 2], b[i * 2 + 1]]);
            pty.set_winsize([field(0), field(1), field(2), field(3)]);
            0
        }),
        TIOCGPTN if master => user::write_bytes(arg, &pty.index().to_le_bytes()).map(|()| 0),
        TIOCSPTLCK if master => user::read_u32(arg).map(|v| {
            pty.set_locked(v != 0);
            0
        }),
        TIOCGPTLCK if master => user::write_i32(arg, i32::from(pty.locked())).map(|()| 0),
        TIOCGPTPEER if master => pty
            .open_terminal(arg as u32)
            .and_then(|t| ctx.install(t, arg as u32 & O_CLOEXEC != 0)),
        TIOCSCTTY => {
            let steal = arg == 1 && p.creds().capable(CAP_SYS_ADMIN);
            pty.set_controlling(pid, sid, pgid, steal).map(|()| 0)
        }
        TIOCNOTTY if pty.session() != Some(sid) => Err(Errno::ENOTTY),
        TIOCNOTTY if pid == sid => pty.release_controlling(sid).map(|()| 0),
        TIOCNOTTY => Ok(0),
        TIOCGPGRP if !master && pty.session() != Some(sid) => Err(Errno::ENOTTY),
        TIOCGPGRP => user::write_i32(arg, pty.foreground().unwrap_or(0)).map(|()| 0),
        TIOCSPGRP => set_foreground(&pty, sid, arg),
        TIOCGSID => match pty.session() {
            Some(s) if master || s == sid => user::write_i32(arg, s).map(|()| 0),
            _ => Err(Errno::ENOTTY),
        },
        TCFLSH => match arg {
            0..=2 => {
                // The queue this end reads is its "input".
                let (input, output) = (arg != 1, arg != 0);
                if master {
                    pty.flush(output, input);
                } else {
                    pty.flush(input, output);
                }
                Ok(0)
            }
            _ => Err(Errno::EINVAL),
        },
        TCSBRK | TCSBRKP | TCXONC => Ok(0),
        TIOCOUTQ => {
            let n = pty.unread(master).min(i32::MAX as usize) as i32;
            user::write_i32(arg, n).map(|()| 0)
        }
        _ => return None,
    };
    Some(r)
}

/// Bytes waiting at a pseudo-terminal end (`FIONREAD`), if `f` is one.
pub(in crate::syscall) fn bytes_readable(f: &FileRef) -> Option<usize> {
    pty::pair_of(f).map(|(pty, master)| pty.readable(master))
}

fn read_termios(addr: u64) -> Result<Termios> {
    let raw = user::read_bytes(addr, TERMIOS_SIZE)?;
    let mut b = [0u8; TERMIOS_SIZE];
    b.copy_from_slice(&raw);
    Ok(Termios::from_bytes(&b))
}

/// `TIOCSPGRP`: the group must exist in the caller's session, whose
/// controlling terminal this must be.
fn set_foreground(pty: &pty::Pty, sid: process::Pid, arg: u64) -> Result<u64> {
    let pgid = user::read_u32(arg)? as i32;
    if pgid < 0 {
        return Err(Errno::EINVAL);
    }
    if pty.session() != Some(sid) {
        return Err(Errno::ENOTTY);
    }
    let in_session = process::all_processes().iter().any(|q| {
        let st = q.state();
        st.pgid == pgid && st.sid == sid
    });
    if !in_session {
        return Err(Errno::EPERM);
    }
    pty.set_foreground(sid, pgid).map(|()| 0)
}
