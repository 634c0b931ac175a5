//! The conversation between `occlum start`'s server and the commands that
//! talk to it (`exec`, `status`, `stop`), over a Unix socket in the
//! instance's `run/` directory: JSON messages, one per line, except the
//! first, which is length-prefixed so that `exec` can hand over its
//! terminal (descriptors 0-2) with it (`SCM_RIGHTS`). Passing descriptors
//! is why this is not gRPC: a gRPC request cannot carry them, and
//! re-opening `/proc/PID/fd/N` fails for sockets and loses a pipe's or
//! terminal's identity.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use occlum_pal::fd_passing::{recv_with_fds, send_with_fds};
use serde::{Deserialize, Serialize};

use crate::instance::Instance;

/// The largest first message (a program's arguments and environment).
const MAX_REQUEST: usize = 4 << 20;

/// What a command asks of the server.
#[derive(Debug, Serialize, Deserialize)]
pub enum Request {
    /// Run a program with the sender's descriptors 0-2.
    Exec {
        /// Its path in the image.
        path: String,
        /// Its arguments, without `argv[0]`.
        args: Vec<String>,
        /// The sender's environment (the server keeps `env.untrusted`'s).
        env: Vec<(String, String)>,
    },
    /// Say what runs.
    Status,
    /// End every process (`SIGTERM`, then after `timeout_secs` `SIGKILL`) and
    /// the server.
    Stop {
        /// Seconds between `SIGTERM` and `SIGKILL`.
        timeout_secs: u64,
    },
}

/// What the server answers.
#[derive(Debug, Serialize, Deserialize)]
pub enum Reply {
    /// The program runs as this pid.
    Started { pid: i32 },
    /// It ended with this exit status for the command (killed: 128 plus
    /// the signal, which is given too).
    Ended { code: u8, signal: Option<i32> },
    /// It could not run: the message and the exit status for the command.
    Failed { message: String, code: u8 },
    /// What runs.
    Status(Status),
    /// Everything has ended; the server exits.
    Stopped { killed: usize },
}

/// A server's state (`occlum status`).
#[derive(Debug, Serialize, Deserialize)]
pub struct Status {
    /// The server's host pid.
    pub pid: u32,
    /// Seconds since it started.
    pub uptime_secs: u64,
    /// The LibOS processes that have not ended: pid and program.
    pub processes: Vec<(i32, String)>,
}

/// What `exec` sends while its program runs.
#[derive(Debug, Serialize, Deserialize)]
pub enum Event {
    /// A signal the command received, for the program's process group.
    Signal { signal: i32 },
}

/// The socket of an instance's server.
pub fn socket_path(inst: &Instance) -> PathBuf {
    inst.dir().join("run/occlum.sock")
}

/// Connects to the instance's server; the error says how to start one.
pub fn connect(inst: &Instance) -> Result<UnixStream> {
    let path = socket_path(inst);
    UnixStream::connect(&path).map_err(|_| {
        anyhow!(
            "no server is running for the instance {}: start one with `occlum start`",
            inst.dir().display()
        )
    })
}

/// Sends the first message, with `fds` attached.
pub fn send_request(stream: &UnixStream, req: &Request, fds: &[BorrowedFd<'_>]) -> Result<()> {
    let body = serde_json::to_vec(req)?;
    if body.len() > MAX_REQUEST {
        bail!(
            "the request is too large ({} bytes; at most {MAX_REQUEST})",
            body.len()
        );
    }
    let data: Vec<u8> = [&(body.len() as u32).to_le_bytes()[..], &body].concat();
    let sent = send_with_fds(stream.as_fd(), &data, fds).context("sending to the server")?;
    (&*stream).write_all(&data[sent..])?;
    Ok(())
}

/// Receives the first message and the descriptors attached to it.
pub fn recv_request(stream: &UnixStream) -> Result<(Request, Vec<OwnedFd>)> {
    let mut head = vec![0u8; 64 * 1024];
    let (got, fds) = recv_with_fds(stream.as_fd(), &mut head).context("reading a request")?;
    if got < 4 {
        bail!("a request too short ({got} bytes)");
    }
    let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
    if len > MAX_REQUEST {
        bail!("a request too large ({len} bytes)");
    }
    let mut body = head[4..got.min(4 + len)].to_vec();
    if body.len() < len {
        let mut rest = vec![0u8; len - body.len()];
        (&*stream).read_exact(&mut rest)?;
        body.extend(rest);
    }
    Ok((serde_json::from_slice(&body)?, fds))
}

/// Writes one message as a line of JSON.
pub fn send<T: Serialize>(mut w: impl Write, msg: &T) -> Result<()> {
    let mut line = serde_json::to_vec(msg)?;
    line.push(b'\n');
    w.write_all(&line)?;
    w.flush()?;
    Ok(())
}

/// Reads the next line of JSON; `None` at the end of the stream.
pub fn recv<T: for<'de> Deserialize<'de>>(r: &mut BufReader<impl Read>) -> Result<Option<T>> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    Ok(Some(serde_json::from_str(&line)?))
}
