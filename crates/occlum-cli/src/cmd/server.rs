//! `occlum start` and `occlum stop`, and the server between them: one
//! long-lived LibOS for the instance, in the background, serving `occlum
//! exec` (see `service.rs` for the conversation).

use std::io::BufReader;
use std::os::unix::net::{UnixListener, UnixStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use occlum_libos::{server, BootError, ExitStatus};

use super::run::{boot_config, check_program_path, program, verified_identity, Identity};
use crate::instance::Instance;
use crate::service::{self, Event, Reply, Request, Status};

const SIGKILL: i32 = 9;
const SIGTERM: i32 = 15;

fn pid_file(inst: &Instance) -> std::path::PathBuf {
    inst.dir().join("run/server.pid")
}

fn log_file(inst: &Instance) -> std::path::PathBuf {
    inst.dir().join("run/server.log")
}

/// `occlum start`: the server in the background; returns once it answers.
pub fn start() -> Result<u8> {
    let inst = Instance::current()?;
    verified_identity(&inst)?;
    if let Ok(stream) = service::connect(&inst) {
        let pid = status_of(&stream).map_or(0, |s| s.pid);
        bail!(
            "a server is already running for this instance (pid {pid}); `occlum exec PATH` runs programs in it, `occlum stop` ends it"
        );
    }
    std::fs::create_dir_all(inst.dir().join("run"))?;
    let _ = std::fs::remove_file(service::socket_path(&inst));
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_file(&inst))
        .with_context(|| format!("cannot open {}", log_file(&inst).display()))?;
    let exe = std::env::current_exe().context("cannot find the occlum binary")?;
    let mut child = {
        use std::os::unix::process::CommandExt;
        Command::new(exe)
            .arg("__serve")
            .current_dir(inst.dir())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .process_group(0)
            .spawn()
            .context("cannot start the server")?
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if service::connect(&inst).is_ok() {
            println!(
                "occlum start: the enclave runs (pid {}); `occlum exec PATH [ARGS]` runs a program in it, `occlum stop` ends it",
                child.id()
            );
            return Ok(0);
        }
        if let Some(status) = child.try_wait()? {
            let log = std::fs::read_to_string(log_file(&inst)).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(5).collect();
            bail!(
                "the server ended at start ({status}): {}",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            bail!(
                "the server did not answer within 30 s (see {})",
                log_file(&inst).display()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// What a server reports of itself.
fn status_of(stream: &UnixStream) -> Result<Status> {
    service::send_request(stream, &Request::Status, &[])?;
    match service::recv::<Reply>(&mut BufReader::new(stream))? {
        Some(Reply::Status(s)) => Ok(s),
        other => bail!("unexpected answer from the server: {other:?}"),
    }
}

/// `occlum status`: whether the server runs, since when, and its processes.
pub fn status() -> Result<u8> {
    let inst = Instance::current()?;
    let Ok(stream) = service::connect(&inst) else {
        println!("not running");
        return Ok(1);
    };
    let s = status_of(&stream)?;
    println!(
        "running (pid {}, up {} s, {} processes)",
        s.pid,
        s.uptime_secs,
        s.processes.len()
    );
    if !s.processes.is_empty() {
        println!("{:>7}  PROGRAM", "PID");
        for (p, exe) in s.processes {
            println!("{p:>7}  {exe}");
        }
    }
    Ok(0)
}

/// `occlum stop [-t SECS]`: `SIGTERM` to every process, `SIGKILL` to what is
/// left after `timeout_secs`, file systems synced, the server ended.
pub fn stop(timeout_secs: u64) -> Result<u8> {
    let inst = Instance::current()?;
    let stream = service::connect(&inst)?;
    service::send_request(&stream, &Request::Stop { timeout_secs }, &[])?;
    match service::recv::<Reply>(&mut BufReader::new(&stream))? {
        Some(Reply::Stopped { killed }) => {
            // The server exits right after answering: wait for it to go.
            let deadline = Instant::now() + Duration::from_secs(10);
            while service::socket_path(&inst).exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if killed > 0 {
                println!("occlum stop: stopped ({killed} processes killed after {timeout_secs} s)");
            } else {
                println!("occlum stop: stopped");
            }
            Ok(0)
        }
        other => Err(anyhow!("unexpected answer from the server: {other:?}")),
    }
}

/// The server (`occlum __serve`, started by `occlum start` in the instance
/// directory): boots the LibOS and serves requests until `stop`.
pub fn serve() -> Result<u8> {
    let inst = Instance::current()?;
    let id = verified_identity(&inst)?;
    let boot = boot_config(&inst, &id)?;
    server::start(&boot).map_err(|e| anyhow!("{e}"))?;
    let socket = service::socket_path(&inst);
    let _ = std::fs::remove_file(&socket);
    let listener = UnixListener::bind(&socket)
        .with_context(|| format!("cannot listen on {}", socket.display()))?;
    std::fs::write(pid_file(&inst), format!("{}\n", std::process::id()))?;
    let started = Instant::now();
    let id: &'static Identity = Box::leak(Box::new(id));
    let inst: &'static Instance = Box::leak(Box::new(inst));
    for conn in listener.incoming() {
        let Ok(conn) = conn else { continue };
        crate::workers::run(move || {
            if let Err(e) = handle(conn, id, inst, started) {
                tracing::warn!("a request failed: {e:#}");
            }
        });
    }
    Ok(0)
}

fn handle(conn: UnixStream, id: &Identity, inst: &Instance, started: Instant) -> Result<()> {
    let (req, fds) = service::recv_request(&conn)?;
    match req {
        Request::Status => service::send(
            &conn,
            &Reply::Status(Status {
                pid: std::process::id(),
                uptime_secs: started.elapsed().as_secs(),
                processes: server::live_processes(),
            }),
        ),
        Request::Stop { timeout_secs } => {
            let killed = stop_all(Duration::from_secs(timeout_secs));
            server::sync();
            let _ = std::fs::remove_file(pid_file(inst));
            let _ = std::fs::remove_file(service::socket_path(inst));
            let _ = service::send(&conn, &Reply::Stopped { killed });
            std::process::exit(0);
        }
        Request::Exec { path, args, env } => exec(conn, id, fds, &path, &args, &env),
    }
}

/// Ends every process: `SIGTERM`, then `SIGKILL` after `grace`; returns how
/// many had to be killed.
fn stop_all(grace: Duration) -> usize {
    server::signal_all(SIGTERM);
    let wait = |limit: Duration| {
        let deadline = Instant::now() + limit;
        while !server::live_processes().is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    wait(grace);
    let left = server::live_processes().len();
    if left > 0 {
        server::signal_all(SIGKILL);
        wait(Duration::from_secs(10));
    }
    left
}

fn exec(
    conn: UnixStream,
    id: &Identity,
    fds: Vec<std::os::fd::OwnedFd>,
    path: &str,
    args: &[String],
    env: &[(String, String)],
) -> Result<()> {
    let fail = |message: String, code: u8| service::send(&conn, &Reply::Failed { message, code });
    if let Err(e) = check_program_path(&id.config, path) {
        return fail(e.to_string(), 1);
    }
    let Ok(stdio) = <[std::os::fd::OwnedFd; 3]>::try_from(fds) else {
        return fail("expected the terminal's three descriptors".into(), 1);
    };
    let program = program(&id.config, path, args, |name| {
        env.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
    });
    let session = match server::exec(&program, stdio) {
        Ok(s) => s,
        Err(e) => {
            let (message, code) = failure_of(path, e);
            return fail(message, code);
        }
    };
    service::send(&conn, &Reply::Started { pid: session.pid() })?;
    let session = std::sync::Arc::new(session);
    // Signals from the client go to the program's group; a client that
    // goes away (its end of the socket closes) while the program runs takes
    // the group with it. What the program left running in the background
    // after it ended stays, as after `docker exec`.
    {
        let session = session.clone();
        let conn = conn.try_clone()?;
        crate::workers::run(move || {
            let mut r = BufReader::new(conn);
            loop {
                match service::recv::<Event>(&mut r) {
                    Ok(Some(Event::Signal { signal })) => session.signal(signal),
                    Ok(None) | Err(_) => {
                        if !session.ended() {
                            session.signal(SIGKILL);
                        }
                        return;
                    }
                }
            }
        });
    }
    let (code, signal) = match session.wait() {
        ExitStatus::Exited(c) => (c, None),
        ExitStatus::Killed(s) => ((128 + s) as u8, Some(s)),
        ExitStatus::LibosBug => (134, None),
    };
    let _ = service::send(&conn, &Reply::Ended { code, signal });
    // Ends the reader thread: no more signals for a program that ended.
    let _ = conn.shutdown(std::net::Shutdown::Both);
    Ok(())
}

/// A program that could not start: the message and the status, as `occlum run`.
fn failure_of(path: &str, e: BootError) -> (String, u8) {
    let e = super::run::start_failure(path, e);
    let code = e
        .downcast_ref::<super::run::RunFailure>()
        .map_or(1, |f| f.exit_code);
    (e.to_string(), code)
}

/// `occlum exec PATH ARGS`: runs a program in the instance's server with
/// this terminal, forwards the signals a terminal sends, and exits with the
/// program's status.
pub fn exec_client(path: &str, args: &[String]) -> Result<u8> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use nix::sys::signal::{SigSet, Signal};
    use nix::sys::signalfd::{SfdFlags, SignalFd};
    use std::os::fd::AsFd;
    let inst = Instance::current()?;
    let stream = service::connect(&inst)?;
    // Blocked, and read from a signalfd while the program runs.
    let mut forwarded = SigSet::empty();
    for s in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGQUIT,
        Signal::SIGUSR1,
        Signal::SIGUSR2,
    ] {
        forwarded.add(s);
    }
    forwarded.thread_block()?;
    let env: Vec<(String, String)> = std::env::vars_os()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        })
        .collect();
    // A standard stream this command was started without is /dev/null for
    // the program, as a shell would give it.
    let (stdin, stdout, stderr) = (std::io::stdin(), std::io::stdout(), std::io::stderr());
    let mut stdio = Vec::with_capacity(3);
    for (n, fd) in [stdin.as_fd(), stdout.as_fd(), stderr.as_fd()]
        .into_iter()
        .enumerate()
    {
        let owned = match fd.try_clone_to_owned() {
            Ok(f) => f,
            Err(_) => std::os::fd::OwnedFd::from(
                std::fs::OpenOptions::new()
                    .read(n == 0)
                    .write(n != 0)
                    .open("/dev/null")?,
            ),
        };
        stdio.push(owned);
    }
    service::send_request(
        &stream,
        &Request::Exec {
            path: path.to_string(),
            args: args.to_vec(),
            env,
        },
        &[stdio[0].as_fd(), stdio[1].as_fd(), stdio[2].as_fd()],
    )?;
    drop(stdio);
    let mut replies = BufReader::new(stream.try_clone()?);
    match service::recv::<Reply>(&mut replies)? {
        Some(Reply::Started { .. }) => {}
        Some(Reply::Failed { message, code }) => {
            eprintln!("occlum exec: {message}");
            return Ok(code);
        }
        other => bail!("unexpected answer from the server: {other:?}"),
    }
    // Until the end comes, the signals this command receives go to the
    // program's group (read from a signalfd: no thread to start).
    let signals = SignalFd::with_flags(&forwarded, SfdFlags::SFD_CLOEXEC)?;
    while replies.buffer().is_empty() {
        let mut fds = [
            PollFd::new(stream.as_fd(), PollFlags::POLLIN),
            PollFd::new(signals.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => bail!("waiting for the server: {e}"),
        }
        let signalled = fds[1]
            .revents()
            .is_some_and(|r| r.contains(PollFlags::POLLIN));
        if fds[0].any().unwrap_or(false) {
            break;
        }
        if signalled {
            if let Ok(Some(info)) = signals.read_signal() {
                // A server that went away shows as the end of the stream.
                let _ = service::send(
                    &stream,
                    &Event::Signal {
                        signal: info.ssi_signo as i32,
                    },
                );
            }
        }
    }
    match service::recv::<Reply>(&mut replies)? {
        Some(Reply::Ended { code, signal }) => {
            if let Some(sig) = signal.filter(|&s| s != 13) {
                eprintln!(
                    "occlum exec: {path}: terminated by signal {sig} ({})",
                    super::run::signal_name(sig)
                );
            }
            Ok(code)
        }
        None => bail!("the server went away while {path} ran"),
        other => bail!("unexpected answer from the server: {other:?}"),
    }
}
