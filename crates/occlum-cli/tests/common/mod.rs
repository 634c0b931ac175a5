//! Shared helpers of the integration tests: the `occlum` binary, the C test
//! programs of `tests/apps/`, and one built instance holding all of them.

#![allow(dead_code, unused_macros)]

use std::io::Write;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::sync::OnceLock;

/// The `occlum` binary under test.
pub fn occlum() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_occlum"))
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Where `make -C tests/apps` puts the test programs.
pub fn apps_build_dir() -> PathBuf {
    let dir = repo_root().join("tests/apps/build");
    assert!(
        dir.join("glibc/hello").is_file() && dir.join("musl/hello").is_file(),
        "the C test programs are not built: run `make -C tests/apps` (the README's test command does)"
    );
    dir
}

/// The status a shell would report: the exit code, or 128 + signal.
pub fn shell_status(s: ExitStatus) -> i32 {
    s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(0))
}

/// Runs `cmd` with `stdin` as its standard input and collects its output.
pub fn run_with_stdin(cmd: &mut Command, stdin: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    // A hang (a lost wake-up, a deadlock) fails the test instead of CI.
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let guard = std::thread::spawn(move || {
        if finished.recv_timeout(HANG_LIMIT).is_err() {
            eprintln!("still running after {HANG_LIMIT:?}: killed");
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        }
    });
    let out = child.wait_with_output().expect("wait");
    let _ = done.send(());
    guard.join().unwrap();
    writer.join().unwrap();
    out
}

/// How long one program may run in a test before it is taken for hung.
const HANG_LIMIT: std::time::Duration = std::time::Duration::from_secs(300);

/// Runs `occlum` with `args` in `dir`, with a clean environment plus `env`.
pub fn occlum_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(occlum());
    cmd.current_dir(dir)
        .args(args)
        .env_clear()
        .envs(env.iter().copied());
    run_with_stdin(&mut cmd, b"")
}

/// Asserts that `out` succeeded, showing its stderr otherwise.
pub fn assert_ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({:?}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A fresh temporary directory (removed when dropped).
pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("occlum-test-")
        .tempdir()
        .unwrap()
}

/// One built instance with every test program under `/bin/<libc>/<name>`.
pub fn instance() -> &'static Path {
    static INSTANCE: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &INSTANCE
        .get_or_init(|| {
            let tmp = tempdir();
            let dir = tmp.path().join("instance");
            let out = occlum_in(tmp.path(), &["new", "instance"], &[]);
            assert_ok(&out, "occlum new");
            // spawn_many may keep 100 processes alive at once, each with its
            // own stack and image in the shared user space: give it 1 GB.
            // Tests run many `occlum run`s of this instance at once; each
            // LibOS locks an encrypted root for itself, so here the root's
            // writable layer is kept in memory (`temporary`). The encrypted
            // root has tests of its own (tests/sefs.rs).
            let config = dir.join("Occlum.json");
            let mut json: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&config).unwrap()).unwrap();
            json["resource_limits"]["user_space_size"] = "1GB".into();
            json["resource_limits"]["user_space_max_size"] = "1GB".into();
            json["mount"][0]["options"]["layers"][1]["options"]["temporary"] = true.into();
            std::fs::write(&config, serde_json::to_vec_pretty(&json).unwrap()).unwrap();
            let apps = apps_build_dir();
            for libc in ["glibc", "musl", "other"] {
                let to = dir.join("image/bin").join(libc);
                std::fs::create_dir_all(&to).unwrap();
                for e in std::fs::read_dir(apps.join(libc)).unwrap() {
                    let e = e.unwrap();
                    std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
                }
            }
            assert_ok(&occlum_in(&dir, &["build"], &[]), "occlum build");
            (tmp, dir)
        })
        .1
}

/// A new built instance (in a fresh temporary directory) with the test
/// programs `names` of both libcs under `/bin/<libc>/`.
pub fn instance_with(names: &[&str], extra_build_args: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempdir();
    let dir = tmp.path().join("instance");
    assert_ok(
        &occlum_in(tmp.path(), &["new", "instance"], &[]),
        "occlum new",
    );
    for libc in ["glibc", "musl"] {
        let to = dir.join("image/bin").join(libc);
        std::fs::create_dir_all(&to).unwrap();
        for name in names {
            std::fs::copy(apps_build_dir().join(libc).join(name), to.join(name)).unwrap();
        }
    }
    let mut args = vec!["build"];
    args.extend_from_slice(extra_build_args);
    assert_ok(&occlum_in(&dir, &args, &[]), "occlum build");
    (tmp, dir)
}

/// Changes the `Occlum.json` of the instance in `dir` with `edit`.
pub fn edit_config(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let config = dir.join("Occlum.json");
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&config).unwrap()).unwrap();
    edit(&mut json);
    std::fs::write(&config, serde_json::to_vec_pretty(&json).unwrap()).unwrap();
}

/// What a program did: its standard output and shell status.
#[derive(Debug, PartialEq, Eq)]
pub struct Outcome {
    pub stdout: String,
    pub status: i32,
}

/// The environment `occlum run` gives programs by default (`env.default`).
pub const DEFAULT_ENV: &[(&str, &str)] = &[("OCCLUM", "yes")];

/// In test arguments, `@BIN@` stands for the directory of the test programs
/// of the same libc: the host build directory natively, `/bin/<libc>` inside
/// the LibOS (for programs that spawn other test programs).
pub const BIN_PLACEHOLDER: &str = "@BIN@";

/// In test arguments, `@TMP@` stands for an empty directory to work in: a
/// fresh host temporary directory natively, the LibOS's `/tmp` (a ramfs,
/// fresh in every run) inside the LibOS.
pub const TMP_PLACEHOLDER: &str = "@TMP@";

/// Like `@TMP@`, but inside the LibOS a fresh directory of the instance seen
/// through the hostfs mount `/host`.
pub const HOST_TMP_PLACEHOLDER: &str = "@HOSTTMP@";

/// Argument expansion for one run; holds the temporary directories it made.
struct Expanded {
    args: Vec<String>,
    _dirs: Vec<tempfile::TempDir>,
}

fn expand(args: &[&str], bin: &str, libos: bool) -> Expanded {
    let mut dirs = Vec::new();
    let args = args
        .iter()
        .map(|a| {
            let mut a = a.replace(BIN_PLACEHOLDER, bin);
            for ph in [HOST_TMP_PLACEHOLDER, TMP_PLACEHOLDER] {
                if !a.contains(ph) {
                    continue;
                }
                let dir = match (libos, ph) {
                    (false, _) => {
                        let d = tempdir();
                        let p = d.path().display().to_string();
                        dirs.push(d);
                        p
                    }
                    (true, TMP_PLACEHOLDER) => "/tmp".to_string(),
                    (true, _) => {
                        let d = tempfile::Builder::new()
                            .prefix("hosttmp-")
                            .tempdir_in(instance())
                            .unwrap();
                        let p =
                            format!("/host/{}", d.path().file_name().unwrap().to_string_lossy());
                        dirs.push(d);
                        p
                    }
                };
                a = a.replace(ph, &dir);
            }
            a
        })
        .collect();
    Expanded { args, _dirs: dirs }
}

/// Runs test program `name` natively, as `argv[0]` `/bin/<libc>/<name>`.
pub fn run_native(
    libc: &str,
    name: &str,
    args: &[&str],
    stdin: &[u8],
    env: &[(&str, &str)],
) -> Outcome {
    let dir = apps_build_dir().join(libc);
    close_inherited_fds_on_exec();
    let mut cmd = Command::new(dir.join(name));
    let expanded = expand(args, &dir.display().to_string(), false);
    cmd.arg0(format!("/bin/{libc}/{name}"))
        .args(&expanded.args)
        .env_clear()
        .envs(env.iter().copied());
    let out = run_with_stdin(&mut cmd, stdin);
    Outcome {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        status: shell_status(out.status),
    }
}

/// Marks every descriptor this test process inherited beyond stdio as
/// close-on-exec, so that native runs start with only fds 0-2, like programs
/// in the LibOS (a CI runner may hand down, say, fd 77).
fn close_inherited_fds_on_exec() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let fds: Vec<i32> = std::fs::read_dir("/proc/self/fd")
            .expect("/proc/self/fd")
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .filter(|&fd| fd > 2)
            .collect();
        for fd in fds {
            use nix::fcntl::{fcntl, FcntlArg, FdFlag};
            let _ = fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC));
        }
    });
}

/// Runs test program `name` inside the LibOS; also returns its stderr.
pub fn run_libos(
    libc: &str,
    name: &str,
    args: &[&str],
    stdin: &[u8],
    host_env: &[(&str, &str)],
) -> (Outcome, String) {
    let path = format!("/bin/{libc}/{name}");
    let expanded = expand(args, &format!("/bin/{libc}"), true);
    let mut cmd = Command::new(occlum());
    cmd.current_dir(instance())
        .arg("run")
        .arg(&path)
        .args(&expanded.args)
        .env_clear()
        .envs(host_env.iter().copied());
    let out = run_with_stdin(&mut cmd, stdin);
    (
        Outcome {
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            status: shell_status(out.status),
        },
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `name` natively and inside the LibOS and asserts equal stdout and
/// status; `libos_env` is the host environment of `occlum run`.
pub fn differential(
    libc: &str,
    name: &str,
    args: &[&str],
    stdin: &[u8],
    libos_env: &[(&str, &str)],
) -> Outcome {
    let native = run_native(libc, name, args, stdin, DEFAULT_ENV);
    let (libos, stderr) = run_libos(libc, name, args, stdin, libos_env);
    assert_eq!(
        native, libos,
        "{libc}/{name} {args:?}: native (left) and LibOS (right) differ; LibOS stderr:\n{stderr}"
    );
    libos
}

/// The host environment that forces Syscall User Dispatch into exclusive
/// mode (the mode kernels before 6.17 have).
pub const EXCLUSIVE: &[(&str, &str)] = &[("OCCLUM_SUD_MODE", "exclusive")];

/// The host environment that turns the direct syscall entry off: every
/// syscall traps.
pub const TRAPPED: &[(&str, &str)] = &[("OCCLUM_FASTPATH", "0")];

/// Declares, for a program run with `args`, one differential test per libc
/// (modules `glibc` and `musl`), one per libc with Syscall User Dispatch
/// in exclusive mode (`glibc_exclusive_sud`, `musl_exclusive_sud`) and one
/// per libc with every syscall trapped (`OCCLUM_FASTPATH=0`:
/// `glibc_trapped`, `musl_trapped`), plus extra checks on the (equal)
/// outcome.
macro_rules! differential_tests {
    ($($test:ident: $name:literal, $args:expr $(, |$o:ident| $check:expr)?;)*) => {
        differential_tests!(@mod glibc, "glibc", &[]; $($test: $name, $args $(, |$o| $check)?;)*);
        differential_tests!(@mod musl, "musl", &[]; $($test: $name, $args $(, |$o| $check)?;)*);
        differential_tests!(@mod glibc_exclusive_sud, "glibc", EXCLUSIVE; $($test: $name, $args $(, |$o| $check)?;)*);
        differential_tests!(@mod musl_exclusive_sud, "musl", EXCLUSIVE; $($test: $name, $args $(, |$o| $check)?;)*);
        differential_tests!(@mod glibc_trapped, "glibc", TRAPPED; $($test: $name, $args $(, |$o| $check)?;)*);
        differential_tests!(@mod musl_trapped, "musl", TRAPPED; $($test: $name, $args $(, |$o| $check)?;)*);
    };
    (@mod $mod:ident, $libc:literal, $env:expr; $($test:ident: $name:literal, $args:expr $(, |$o:ident| $check:expr)?;)*) => {
        mod $mod {
            use super::*;
            $(#[test] fn $test() { let _o = differential($libc, $name, &$args, b"", $env); $({ let $o = &_o; $check; })? })*
        }
    };
}

/// The outcome of a program that prints "ok ..." lines and ends with "all ok".
pub fn all_ok(o: &Outcome) {
    assert!(o.stdout.ends_with("all ok\n"), "{}", o.stdout);
    assert!(!o.stdout.contains("FAIL"), "{}", o.stdout);
    assert_eq!(o.status, 0);
}

/// `[syscalls, direct, cpuid, cpuid direct]` from a process's line in the
/// log at exit ("... N syscalls, D direct (..%), T trapped; C cpuid, E
/// direct").
pub fn line_counts(line: &str) -> [u64; 4] {
    let number_before = |text: &str, word: &str| -> u64 {
        let end = text.find(word).unwrap();
        let n = text[..end].trim_end().rsplit(' ').next().unwrap();
        n.parse().unwrap()
    };
    let (syscalls, cpuid) = line.split_once("; ").unwrap();
    [
        number_before(syscalls, " syscalls"),
        number_before(syscalls, " direct"),
        number_before(cpuid, " cpuid"),
        number_before(cpuid, " direct"),
    ]
}

/// The counts of every process, in the order they ended.
pub fn process_counts(stderr: &str) -> Vec<[u64; 4]> {
    stderr
        .lines()
        .filter(|l| l.contains(" syscalls, "))
        .map(line_counts)
        .collect()
}

/// From the log of `respawn N` (a parent starting itself N times, N >= 2):
/// the counts of its first and last child; asserts that the last trapped
/// fewer syscalls than the first and made at least `percent`% of its
/// syscalls directly.
pub fn respawn_counts(what: &str, stderr: &str, n: usize, percent: u64) -> ([u64; 4], [u64; 4]) {
    let all = process_counts(stderr);
    assert_eq!(all.len(), n + 1, "{what}: {stderr}");
    let (first, last) = (all[0], all[n - 1]);
    let trapped = |c: [u64; 4]| c[0] - c[1];
    assert!(
        trapped(last) < trapped(first),
        "{what}: first child {first:?}, last {last:?}"
    );
    assert!(
        last[1] * 100 >= last[0] * percent,
        "{what}: the last child's syscalls {last:?}"
    );
    (first, last)
}
