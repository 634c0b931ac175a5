//! `occlum start`, `exec`, `status` and `stop`: one long-lived LibOS whose
//! programs, started by different `exec`s, share its file systems; exit
//! statuses and signals pass through; a vanished client takes its program
//! with it; `stop` ends what ignores SIGTERM and keeps what was written.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// An instance with busybox and two test programs, built.
fn instance_with_busybox() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempdir();
    assert_ok(&occlum_in(tmp.path(), &["new", "i"], &[]), "occlum new");
    let dir = tmp.path().join("i");
    assert_ok(
        &occlum_in(&dir, &["add", "/bin/busybox", "--to", "/bin"], &[]),
        "occlum add busybox",
    );
    for name in ["hello", "exit_code"] {
        std::fs::copy(
            apps_build_dir().join("glibc").join(name),
            dir.join("image/bin").join(name),
        )
        .unwrap();
    }
    assert_ok(&occlum_in(&dir, &["build"], &[]), "occlum build");
    (tmp, dir)
}

/// Stops the server when the test ends, however it ends.
struct Server(PathBuf);

impl Server {
    fn start(dir: &Path) -> Server {
        let out = occlum_in(dir, &["start"], &[]);
        assert_ok(&out, "occlum start");
        Server(dir.to_path_buf())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = occlum_in(&self.0, &["stop", "-t", "0"], &[]);
    }
}

fn exec(dir: &Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["exec"];
    all.extend_from_slice(args);
    occlum_in(dir, &all, &[])
}

fn exec_child(dir: &Path, args: &[&str]) -> std::process::Child {
    Command::new(occlum())
        .arg("exec")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn processes(dir: &Path) -> usize {
    let out = occlum_in(dir, &["status"], &[]);
    let s = text(&out.stdout);
    s.split(", ")
        .nth(2)
        .and_then(|p| p.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("status: {s}"))
}

/// The child's output once it ends; killed (and the test failed) if it
/// runs for a minute.
fn finish(mut child: std::process::Child, what: &str) -> std::process::Output {
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{what} did not end within a minute");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn start_exec_status_stop() {
    let (_tmp, dir) = instance_with_busybox();
    let out = exec(&dir, &["/bin/hello"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("start one with `occlum start`"),
        "{}",
        text(&out.stderr)
    );
    let st = occlum_in(&dir, &["status"], &[]);
    assert_eq!(
        (st.status.code(), text(&st.stdout)),
        (Some(1), "not running\n".into())
    );

    let server = Server::start(&dir);
    let run = occlum_in(&dir, &["run", "/bin/hello"], &[]);
    assert_eq!(run.status.code(), Some(1));
    assert!(
        text(&run.stderr).contains("`occlum exec`"),
        "{}",
        text(&run.stderr)
    );
    let again = occlum_in(&dir, &["start"], &[]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again.stderr).contains("already running"),
        "{}",
        text(&again.stderr)
    );

    // Output, exit statuses, a program that does not exist.
    let out = exec(&dir, &["/bin/hello", "a", "b c"]);
    assert_ok(&out, "exec hello");
    assert_eq!(text(&out.stdout), "Hello, world!\na\nb c\n");
    assert_eq!(
        exec(&dir, &["/bin/exit_code", "42"]).status.code(),
        Some(42)
    );
    let missing = exec(&dir, &["/bin/nothing"]);
    assert_eq!(
        missing.status.code(),
        Some(127),
        "{}",
        text(&missing.stderr)
    );
    let outside = exec(&dir, &["/etc/passwd"]);
    assert!(
        text(&outside.stderr).contains("entry point"),
        "{}",
        text(&outside.stderr)
    );

    // Two execs talk through a FIFO and a file in /tmp: one LibOS.
    assert_ok(
        &exec(&dir, &["/bin/busybox", "mkfifo", "/tmp/fifo"]),
        "mkfifo",
    );
    let reader = exec_child(&dir, &["/bin/busybox", "cat", "/tmp/fifo"]);
    let w = exec(
        &dir,
        &[
            "/bin/busybox",
            "sh",
            "-c",
            "echo through the fifo > /tmp/fifo; echo kept > /tmp/file",
        ],
    );
    assert_ok(&w, "writer");
    let r = finish(reader, "the FIFO's reader");
    assert_ok(&r, "reader");
    assert_eq!(text(&r.stdout), "through the fifo\n");
    assert_eq!(
        text(&exec(&dir, &["/bin/busybox", "cat", "/tmp/file"]).stdout),
        "kept\n"
    );

    // Standard input is the client's.
    let mut cat = Command::new(occlum())
        .args(["exec", "/bin/busybox", "tr", "a-z", "A-Z"])
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    cat.stdin.take().unwrap().write_all(b"shout\n").unwrap();
    assert_eq!(text(&cat.wait_with_output().unwrap().stdout), "SHOUT\n");

    // 100 execs in a row.
    for i in 0..100 {
        let out = exec(&dir, &["/bin/hello", &i.to_string()]);
        assert_eq!(text(&out.stdout), format!("Hello, world!\n{i}\n"));
    }

    // SIGTERM to the client reaches the program: 128 + 15, as a shell says.
    let sleeper = exec_child(&dir, &["/bin/busybox", "sleep", "30"]);
    wait_until("the sleeper runs", || processes(&dir) == 1);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(sleeper.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let out = finish(sleeper, "the sleeper");
    assert_eq!(out.status.code(), Some(143), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("terminated by signal 15"));

    // A client that vanishes takes its program (and its group) with it.
    let mut gone = exec_child(
        &dir,
        &[
            "/bin/busybox",
            "sh",
            "-c",
            "/bin/busybox sleep 30 & /bin/busybox sleep 30",
        ],
    );
    wait_until("the group runs", || processes(&dir) >= 2);
    gone.kill().unwrap();
    gone.wait().unwrap();
    wait_until("the group is gone", || processes(&dir) == 0);

    // What a program leaves running in the background outlives its exec.
    let bg = exec(
        &dir,
        &[
            "/bin/busybox",
            "sh",
            "-c",
            "/bin/busybox sleep 30 > /dev/null 2>&1 &",
        ],
    );
    assert_ok(&bg, "a background child");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(processes(&dir), 1, "the background child runs on");
    assert_ok(
        &exec(&dir, &["/bin/busybox", "kill", "-9", "-1"]),
        "kill -1",
    );
    wait_until("the background child is gone", || processes(&dir) == 0);

    // stop: SIGTERM, then SIGKILL for what ignores it; the client learns.
    let stubborn = exec_child(
        &dir,
        &[
            "/bin/busybox",
            "sh",
            "-c",
            "trap '' TERM; while true; do /bin/busybox sleep 1; done",
        ],
    );
    wait_until("the stubborn program runs", || processes(&dir) >= 1);
    let stop = occlum_in(&dir, &["stop", "-t", "1"], &[]);
    assert_ok(&stop, "occlum stop");
    assert!(
        text(&stop.stdout).contains("killed after 1 s"),
        "{}",
        text(&stop.stdout)
    );
    let out = finish(stubborn, "the stubborn program");
    assert_eq!(out.status.code(), Some(137), "{}", text(&out.stderr));
    drop(server);
    let st = occlum_in(&dir, &["status"], &[]);
    assert_eq!(text(&st.stdout), "not running\n");
}

#[test]
fn what_an_exec_wrote_is_kept_after_stop() {
    let (_tmp, dir) = instance_with_busybox();
    let server = Server::start(&dir);
    let w = exec(
        &dir,
        &[
            "/bin/busybox",
            "sh",
            "-c",
            "echo SECRETDATA-kept > /root/kept.txt",
        ],
    );
    assert_ok(&w, "write");
    assert_ok(&occlum_in(&dir, &["stop"], &[]), "occlum stop");
    drop(server);
    let out = occlum_in(&dir, &["run", "/bin/busybox", "cat", "/root/kept.txt"], &[]);
    assert_ok(&out, "occlum run cat");
    assert_eq!(text(&out.stdout), "SECRETDATA-kept\n");
}
