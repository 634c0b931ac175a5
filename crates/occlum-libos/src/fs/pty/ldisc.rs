//! The line discipline between the two ends of a pseudo-terminal, after
//! Linux's n_tty in the modes programs use: canonical input (erase, word
//! erase, kill, end of file), echo, the signal characters, CR/NL mapping on
//! input and NL to CR-NL on output. Not done: software flow control
//! (`IXON` consumes ^S and ^Q without stopping output), `VLNEXT`,
//! `VREPRINT`, `VDISCARD`, parity and the `XCASE` family.

use std::collections::VecDeque;

use crate::signal::{nr, SigNum};

/// `NCCS` of the kernel's `struct termios`.
pub const NCCS: usize = 19;
/// Size of the kernel's `struct termios` (`TCGETS`).
pub const TERMIOS_SIZE: usize = 36;
/// Bytes queued in either direction before a writer waits.
pub const QUEUE_MAX: usize = 65536;
/// Longest canonical line (Linux's `N_TTY_BUF_SIZE` less the newline).
const MAX_LINE: usize = 4095;

const VINTR: usize = 0;
const VQUIT: usize = 1;
const VERASE: usize = 2;
const VKILL: usize = 3;
const VEOF: usize = 4;
/// `VTIME`: tenths of a second a non-canonical read waits.
pub const VTIME: usize = 5;
/// `VMIN`: bytes a non-canonical read waits for.
pub const VMIN: usize = 6;
const VSTART: usize = 8;
const VSTOP: usize = 9;
const VSUSP: usize = 10;
const VEOL: usize = 11;
const VWERASE: usize = 14;
const VEOL2: usize = 16;

const ISTRIP: u32 = 0o40;
const INLCR: u32 = 0o100;
const IGNCR: u32 = 0o200;
const ICRNL: u32 = 0o400;
const IXON: u32 = 0o2000;
const OPOST: u32 = 0o1;
const ONLCR: u32 = 0o4;
const OCRNL: u32 = 0o10;
const ISIG: u32 = 0o1;
const ICANON: u32 = 0o2;
const ECHO: u32 = 0o10;
const ECHOE: u32 = 0o20;
const ECHOK: u32 = 0o40;
const ECHONL: u32 = 0o100;
const NOFLSH: u32 = 0o200;
const ECHOCTL: u32 = 0o1000;
const ECHOKE: u32 = 0o4000;
const IEXTEN: u32 = 0o100000;

/// The kernel's `struct termios`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Termios {
    /// Input modes.
    pub iflag: u32,
    /// Output modes.
    pub oflag: u32,
    /// Control modes.
    pub cflag: u32,
    /// Local modes.
    pub lflag: u32,
    /// Line discipline number.
    pub line: u8,
    /// Control characters.
    pub cc: [u8; NCCS],
}

impl Default for Termios {
    /// What a new pseudo-terminal starts with on Linux (`stty -a` shows
    /// `icrnl ixon opost onlcr isig icanon echo echoe echok echoctl echoke
    /// iexten`, 38400 baud, cs8).
    fn default() -> Termios {
        let mut cc = [0u8; NCCS];
        cc[..17].copy_from_slice(&[
            0x03, 0x1c, 0x7f, 0x15, 0x04, 0, 1, 0, 0x11, 0x13, 0x1a, 0, 0x12, 0x0f, 0x17, 0x16, 0,
        ]);
        Termios {
            iflag: ICRNL | IXON,
            oflag: OPOST | ONLCR,
            cflag: 0o277,
            lflag: ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN,
            line: 0,
            cc,
        }
    }
}

impl Termios {
    /// The structure as `TCGETS` writes it.
    pub fn to_bytes(self) -> [u8; TERMIOS_SIZE] {
        let mut b = [0u8; TERMIOS_SIZE];
        for (i, v) in [self.iflag, self.oflag, self.cflag, self.lflag]
            .iter()
            .enumerate()
        {
            b[i * 4..i * 4 + 4].copy_from_slice(&v.to_le_bytes());
        }
        b[16] = self.line;
        b[17..].copy_from_slice(&self.cc);
        b
    }

    /// The structure `TCSETS` reads.
    pub fn from_bytes(b: &[u8; TERMIOS_SIZE]) -> Termios {
        let word =
            |i: usize| u32::from_le_bytes([b[i * 4], b[i * 4 + 1], b[i * 4 + 2], b[i * 4 + 3]]);
        let mut cc = [0u8; NCCS];
        cc.copy_from_slice(&b[17..]);
        Termios {
            iflag: word(0),
            oflag: word(1),
            cflag: word(2),
            lflag: word(3),
            line: b[16],
            cc,
        }
    }

    /// Whether input is read line by line.
    pub fn canonical(&self) -> bool {
        self.lflag & ICANON != 0
    }
}

/// The queues and modes of one terminal.
#[derive(Default)]
pub struct LineDiscipline {
    /// The modes.
    termios: Termios,
    /// The canonical line being edited.
    line: Vec<u8>,
    /// Input the terminal end may read.
    input: VecDeque<u8>,
    /// Canonical mode: the lengths of the lines in `input`, oldest first
    /// (a line of length 0 at the front is an end of file).
    lines: VecDeque<usize>,
    /// Output (and echo) for the master end.
    output: VecDeque<u8>,
}

impl LineDiscipline {
    /// The modes.
    pub fn termios(&self) -> Termios {
        self.termios
    }

    /// Sets the modes (`TCSETS`); leaving canonical mode makes the line
    /// being edited readable, as n_tty does.
    pub fn set_termios(&mut self, t: Termios) {
        let was_canonical = self.termios.canonical();
        self.termios = t;
        if was_canonical && !t.canonical() {
            self.input.extend(self.line.drain(..));
            self.lines.clear();
        } else if !was_canonical && t.canonical() && !self.input.is_empty() {
            self.lines = VecDeque::from([self.input.len()]);
        }
    }

    /// Drops unread input (`TCFLSH`, `TCSETSF`).
    pub fn flush_input(&mut self) {
        self.line.clear();
        self.input.clear();
        self.lines.clear();
    }

    /// Drops unread output (`TCFLSH`).
    pub fn flush_output(&mut self) {
        self.output.clear();
    }

    /// Whether the master's writes have room.
    pub fn input_room(&self) -> bool {
        self.input.len() < QUEUE_MAX
    }

    /// Whether the terminal end's writes have room.
    pub fn output_room(&self) -> bool {
        self.output.len() < QUEUE_MAX
    }

    /// Bytes the terminal end may read now (`FIONREAD`).
    pub fn readable(&self) -> usize {
        if self.termios.canonical() {
            self.lines.iter().sum()
        } else {
            self.input.len()
        }
    }

    /// Whether a read of the terminal end returns now (data or end of file).
    pub fn has_input(&self) -> bool {
        if self.termios.canonical() {
            !self.lines.is_empty()
        } else {
            !self.input.is_empty()
        }
    }

    /// Bytes waiting for the master (`FIONREAD` there).
    pub fn pending_output(&self) -> usize {
        self.output.len()
    }

    /// Reads input for the terminal end: a canonical read ends at the end
    /// of a line; `None` if nothing is ready.
    pub fn read(&mut self, buf: &mut [u8]) -> Option<usize> {
        if !self.termios.canonical() {
            if self.input.is_empty() {
                return None;
            }
            return Some(take(&mut self.input, buf));
        }
        let first = self.lines.front_mut()?;
        if *first == 0 {
            self.lines.pop_front();
            return Some(0);
        }
        let n = buf.len().min(*first);
        let got = take(&mut self.input, &mut buf[..n]);
        *first -= got;
        if *first == 0 {
            self.lines.pop_front();
        }
        Some(got)
    }

    /// Reads output for the master; `None` if there is none.
    pub fn read_output(&mut self, buf: &mut [u8]) -> Option<usize> {
        (!self.output.is_empty()).then(|| take(&mut self.output, buf))
    }

    /// Output written by the terminal end, processed for the master.
    /// Returns how much of `data` was taken (all, unless the queue filled).
    pub fn transmit(&mut self, data: &[u8]) -> usize {
        let mut n = 0;
        for &c in data {
            if !self.output_room() {
                break;
            }
            self.put_output(c);
            n += 1;
        }
        n
    }

    /// Input typed at the terminal (written to the master). Returns how
    /// much of `data` was taken and the signals it raised for the
    /// foreground process group.
    pub fn receive(&mut self, data: &[u8]) -> (usize, Vec<SigNum>) {
        let mut signals = Vec::new();
        let mut n = 0;
        for &byte in data {
            if !self.input_room() {
                break;
            }
            n += 1;
            if let Some(sig) = self.receive_byte(byte) {
                signals.push(sig);
            }
        }
        (n, signals)
    }

    fn receive_byte(&mut self, byte: u8) -> Option<SigNum> {
        let t = self.termios;
        let mut c = if t.iflag & ISTRIP != 0 {
            byte & 0x7f
        } else {
            byte
        };
        if c == b'\r' {
            if t.iflag & IGNCR != 0 {
                return None;
            }
            if t.iflag & ICRNL != 0 {
                c = b'\n';
            }
        } else if c == b'\n' && t.iflag & INLCR != 0 {
            c = b'\r';
        }
        let is = |i: usize| t.cc[i] != 0 && c == t.cc[i];
        if t.lflag & ISIG != 0 {
            let sig = if is(VINTR) {
                Some(nr::SIGINT)
            } else if is(VQUIT) {
                Some(nr::SIGQUIT)
            } else if is(VSUSP) {
                Some(nr::SIGTSTP)
            } else {
                None
            };
            if let Some(sig) = sig {
                if t.lflag & NOFLSH == 0 {
                    self.flush_input();
                }
                self.echo(c);
                return Some(sig);
            }
        }
        if t.iflag & IXON != 0 && (is(VSTART) || is(VSTOP)) {
            return None;
        }
        if !t.canonical() {
            self.input.push_back(c);
            self.echo(c);
            return None;
        }
        if is(VERASE) {
            if self.line.pop().is_some() && t.lflag & ECHO != 0 && t.lflag & ECHOE != 0 {
                self.rub_out(1);
            }
        } else if is(VWERASE) && t.lflag & IEXTEN != 0 {
            let spaces = self
                .line
                .iter()
                .rev()
                .take_while(|b| b.is_ascii_whitespace())
                .count();
            let word = self.line[..self.line.len() - spaces]
                .iter()
                .rev()
                .take_while(|b| !b.is_ascii_whitespace())
                .count();
            self.line.truncate(self.line.len() - spaces - word);
            if t.lflag & ECHO != 0 && t.lflag & ECHOE != 0 {
                self.rub_out(spaces + word);
            }
        } else if is(VKILL) {
            let n = self.line.len();
            self.line.clear();
            if t.lflag & ECHO != 0 {
                if t.lflag & ECHOKE != 0 {
                    self.rub_out(n);
                } else if t.lflag & ECHOK != 0 {
                    self.echo(c);
                    self.put_output(b'\n');
                }
            }
        } else if is(VEOF) {
            self.end_line();
        } else if c == b'\n' || is(VEOL) || is(VEOL2) {
            self.line.push(c);
            if t.lflag & ECHO != 0 || (c == b'\n' && t.lflag & ECHONL != 0) {
                self.put_output(c);
            }
            self.end_line();
        } else if self.line.len() < MAX_LINE {
            self.line.push(c);
            self.echo(c);
        }
        None
    }

    /// Makes the line being edited readable.
    fn end_line(&mut self) {
        self.lines.push_back(self.line.len());
        self.input.extend(self.line.drain(..));
    }

    /// Erases `n` echoed characters on the screen.
    fn rub_out(&mut self, n: usize) {
        for _ in 0..n {
            self.output.extend(b"\x08 \x08");
        }
    }

    /// Echoes one input character: control characters as `^X` under
    /// `ECHOCTL`.
    fn echo(&mut self, c: u8) {
        let t = self.termios;
        if t.lflag & ECHO == 0 {
            return;
        }
        if t.lflag & ECHOCTL != 0 && (c < 0x20 || c == 0x7f) && c != b'\t' && c != b'\n' {
            self.output.extend([b'^', c ^ 0x40]);
        } else {
            self.put_output(c);
        }
    }

    /// One output character, after output processing.
    fn put_output(&mut self, c: u8) {
        let t = self.termios;
        if t.oflag & OPOST != 0 {
            if c == b'\n' && t.oflag & ONLCR != 0 {
                self.output.extend(b"\r\n");
                return;
            }
            if c == b'\r' && t.oflag & OCRNL != 0 {
                self.output.push_back(b'\n');
                return;
            }
        }
        self.output.push_back(c);
    }
}

/// Moves up to `buf.len()` bytes from the front of `q` into `buf`.
fn take(q: &mut VecDeque<u8>, buf: &mut [u8]) -> usize {
    let n = buf.len().min(q.len());
    for (dst, src) in buf.iter_mut().zip(q.drain(..n)) {
        *dst = src;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(l: &mut LineDiscipline) -> Vec<u8> {
        let mut buf = [0u8; 256];
        let n = l.read_output(&mut buf).unwrap_or(0);
        buf[..n].to_vec()
    }

    #[test]
    fn canonical_lines_are_edited_and_echoed() {
        let mut l = LineDiscipline::default();
        l.receive(b"helo\x7fp wrld\x17world\r");
        let mut buf = [0u8; 64];
        assert_eq!(l.read(&mut buf), Some(11));
        assert_eq!(&buf[..11], b"help world\n");
        assert_eq!(
            output(&mut l),
            b"helo\x08 \x08p wrld\x08 \x08\x08 \x08\x08 \x08\x08 \x08world\r\n"
        );
        assert_eq!(l.read(&mut buf), None);
    }

    #[test]
    fn eof_and_signals() {
        let mut l = LineDiscipline::default();
        let (_, sigs) = l.receive(b"ab\x03");
        assert_eq!(sigs, vec![nr::SIGINT]);
        assert_eq!(output(&mut l), b"ab^C");
        l.receive(b"\x04");
        let mut buf = [0u8; 8];
        assert_eq!(l.read(&mut buf), Some(0));
        assert_eq!(l.read(&mut buf), None);
    }

    #[test]
    fn raw_mode_passes_bytes() {
        let mut l = LineDiscipline::default();
        let mut t = l.termios();
        t.lflag &= !(ICANON | ECHO | ISIG);
        t.iflag &= !ICRNL;
        l.set_termios(t);
        l.receive(b"a\r\x03");
        let mut buf = [0u8; 8];
        assert_eq!(l.read(&mut buf), Some(3));
        assert_eq!(&buf[..3], b"a\r\x03");
        assert_eq!(output(&mut l), b"");
        assert_eq!(Termios::from_bytes(&t.to_bytes()), t);
    }
}
