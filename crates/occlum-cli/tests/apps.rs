//! Differential tests: each C program of `tests/apps/` runs natively and
//! inside the LibOS, built against glibc and musl (static-PIE); standard
//! output and exit status must match.

mod common;

use common::*;

/// Declares, for a program run with `args` and `stdin`, one test per libc
/// (and one per libc with Syscall User Dispatch forced into exclusive mode,
/// the mode kernels before 6.17 have), plus extra checks on the (equal) outcome.
macro_rules! differential_tests {
    ($($test:ident: $name:literal, $args:expr, $stdin:expr $(, |$o:ident| $check:expr)?;)*) => {
        differential_tests!(@mod glibc, "glibc", &[]; $($test: $name, $args, $stdin $(, |$o| $check)?;)*);
        differential_tests!(@mod musl, "musl", &[]; $($test: $name, $args, $stdin $(, |$o| $check)?;)*);
        differential_tests!(@mod glibc_exclusive_sud, "glibc", EXCLUSIVE; $($test: $name, $args, $stdin $(, |$o| $check)?;)*);
        differential_tests!(@mod musl_exclusive_sud, "musl", EXCLUSIVE; $($test: $name, $args, $stdin $(, |$o| $check)?;)*);
    };
    (@mod $mod:ident, $libc:literal, $env:expr; $($test:ident: $name:literal, $args:expr, $stdin:expr $(, |$o:ident| $check:expr)?;)*) => {
        mod $mod {
            use super::*;
            $(#[test] fn $test() { let _o = differential($libc, $name, &$args, $stdin, $env); $({ let $o = &_o; $check; })? })*
        }
    };
}

differential_tests! {
    hello: "hello", ["world", "two words"], b"",
        |o| assert_eq!(o.stdout, "Hello, world!\nworld\ntwo words\n");
    echo_env: "echo_env", ["a", "", "b c"], b"", |o| assert!(o.stdout.contains("OCCLUM=yes"));
    exit_0: "exit_code", ["0"], b"", |o| assert_eq!(o.status, 0);
    exit_1: "exit_code", ["1"], b"", |o| assert_eq!(o.status, 1);
    exit_42: "exit_code", ["42"], b"", |o| assert_eq!(o.status, 42);
    exit_255: "exit_code", ["255"], b"", |o| assert_eq!(o.status, 255);
    malloc: "malloc", [], b"", |o| assert!(o.stdout.ends_with("all ok\n"), "{}", o.stdout);
    mmap: "mmap", [], b"", |o| assert!(o.stdout.ends_with("all ok\n"), "{}", o.stdout);
    brk: "brk", [], b"", |o| assert!(o.stdout.ends_with("all ok\n"), "{}", o.stdout);
    tls: "tls", [], b"", |o| assert!(o.stdout.ends_with("all ok\n"), "{}", o.stdout);
    creds: "creds", [], b"", |o| assert!(o.stdout.ends_with("all ok\n"), "{}", o.stdout);
    efault: "efault", [], b"", |o| assert!(o.stdout.contains("write: -1 EFAULT"), "{}", o.stdout);
    enosys: "enosys", [], b"", |o| assert!(o.stdout.contains("-1 ENOSYS"), "{}", o.stdout);
    enomem: "enomem", [], b"", |o| assert!(o.stdout.contains("malloc 1 TiB: ENOMEM"), "{}", o.stdout);
    segv: "segv", [], b"", |o| assert_eq!((o.stdout.as_str(), o.status), ("before\n", 139));
    stack_overflow: "stack_overflow", [], b"", |o| assert_eq!((o.stdout.as_str(), o.status), ("start\n", 139));
    fpe: "fpe", [], b"", |o| assert_eq!(o.status, 136);
    ill: "ill", [], b"", |o| assert_eq!(o.status, 132);
    cat_small: "cat", [], b"hi\n", |o| assert_eq!(o.stdout, "hi\n");
    cat_large: "cat", [], &LARGE_INPUT, |o| assert_eq!(o.stdout.len(), LARGE_INPUT.len());
    cat_empty: "cat", [], b"", |o| assert_eq!(o.stdout, "");
    bigwrite: "bigwrite", [], b"", |o| assert_eq!(o.stdout.len(), 1 << 20);
    sysinfo_misc: "sysinfo_misc", [], b"", |o| assert!(o.stdout.ends_with("all ok\n"), "{}", o.stdout);
    info_misc: "info_misc", [], b"", |o| assert!(o.stdout.ends_with("all ok\n"), "{}", o.stdout);
    sched: "sched", [], b"", |o| assert!(o.stdout.ends_with("all ok\n"), "{}", o.stdout);
    mlock: "mlock", [], b"", |o| assert!(o.stdout.ends_with("all ok\n"), "{}", o.stdout);
    sys_misc: "sys_misc", [], b"", |o| assert!(o.stdout.ends_with("all ok\n"), "{}", o.stdout);
    io_extra: "io_extra", [], b"", |o| assert!(o.stdout.ends_with("all ok\n"), "{}", o.stdout);
    legacy_calls: "legacy_calls", [], b"", |o| assert!(o.stdout.ends_with("all ok\n"), "{}", o.stdout);
    abi_edges: "abi_edges", [], b"", |o| assert!(o.stdout.ends_with("all ok\n"), "{}", o.stdout);
    cpu_times: "cpu_times", [], b"", |o| assert!(o.stdout.ends_with("all ok\n"), "{}", o.stdout);
    keys: "keys", [], b"", |o| assert!(o.stdout.ends_with("all ok\n"), "{}", o.stdout);
    polling: "polling", [], b"", |o| assert!(o.stdout.ends_with("all ok\n"), "{}", o.stdout);
    cross_process_pointer: "xproc", ["@BIN@"], b"0123456789", |o| assert!(o.stdout.contains("page: -1 EFAULT") && o.stdout.contains("next read: 4 \"0123\""), "{}", o.stdout);
    user_gs_base: "hardening", ["gs"], b"", |o| assert!(o.stdout.contains("gs after syscall: kept"), "{}", o.stdout);
    alignment_check_flag: "hardening", ["ac"], b"", |o| assert!(o.stdout.contains("AC set: ok"), "{}", o.stdout);
    single_step_flag: "hardening", ["tf"], b"", |o| assert_eq!((o.stdout.as_str(), o.status), ("before\n", 133));
    exec_limits: "exec_limits", [], b"", |o| assert!(o.stdout.ends_with("all ok\n"), "{}", o.stdout);
    ioctl_fio: "ioctl_fio", [], b"", |o| assert!(o.stdout.ends_with("all ok\n"), "{}", o.stdout);
    stdio_flags: "stdio_flags", [], b"", |o| assert!(o.stdout.starts_with("stdin O_RDONLY, stdout O_WRONLY, stderr O_WRONLY\n") && o.stdout.ends_with("all ok\n"), "{}", o.stdout);
    epoll_nest: "epoll_nest", [], b"", |o| assert!(o.stdout.ends_with("all ok\n"), "{}", o.stdout);
}

/// 300 KB of varied bytes: more than one pipe buffer and one read chunk.
static LARGE_INPUT: [u8; 300_000] = {
    let mut a = [0u8; 300_000];
    let mut i = 0;
    while i < a.len() {
        a[i] = b'a' + (i % 26) as u8;
        if i % 61 == 60 {
            a[i] = b'\n';
        }
        i += 1;
    }
    a
};

/// Only names listed in `env.untrusted` come from the host.
#[test]
fn untrusted_env_passes_only_listed_names() {
    for libc in ["glibc", "musl"] {
        let host = [("EXAMPLE", "from-host"), ("SECRET", "must-not-pass")];
        let expected = run_native(
            libc,
            "echo_env",
            &[],
            b"",
            &[("OCCLUM", "yes"), ("EXAMPLE", "from-host")],
        );
        let (got, _) = run_libos(libc, "echo_env", &[], b"", &host);
        // std::process::Command sorts the native environment by name; the
        // LibOS keeps Occlum.json's order (defaults first). Compare as sets.
        let entries = |o: &Outcome| {
            let mut v: Vec<String> = o
                .stdout
                .lines()
                .filter_map(|l| l.split_once("]=").map(|x| x.1.to_string()))
                .collect();
            v.sort();
            v
        };
        assert_eq!(entries(&expected), entries(&got));
        assert_eq!(expected.status, got.status);
        assert!(!got.stdout.contains("SECRET"));
    }
}

/// Differs from Linux on purpose: the LibOS's user space is
/// `resource_limits.user_space_max_size` (1 GB in the test instance), so a
/// 1200 MiB mapping fails with ENOMEM inside it, while 200 MiB fits; the
/// failure says, once and at the default log level, which field to raise.
#[test]
fn allocation_beyond_user_space_size_is_enomem() {
    for libc in ["glibc", "musl"] {
        let (big, stderr) = run_libos(libc, "enomem", &["1200"], b"", &[]);
        assert!(
            big.stdout.contains("mmap 1200 MiB: ENOMEM"),
            "{}",
            big.stdout
        );
        assert!(
            stderr.contains("raise resource_limits.user_space_max_size in Occlum.json")
                && stderr.matches("the user space is full").count() == 1,
            "{stderr}"
        );
        assert_eq!(big.status, 0);
        let (fits, _) = run_libos(libc, "enomem", &["200"], b"", &[]);
        assert!(fits.stdout.contains("mmap 200 MiB: ok"), "{}", fits.stdout);
    }
}

/// Differs from Linux on purpose: a 32-bit system call (`int $0x80`) from
/// 64-bit code is trapped like any other, and the LibOS, which serves the
/// x86_64 ABI only, answers ENOSYS instead of running it on the host.
#[test]
fn compat_int80_syscall_is_enosys() {
    for libc in ["glibc", "musl"] {
        assert_eq!(
            run_native(libc, "int80", &[], b"", DEFAULT_ENV).stdout,
            "int80 getpid: ok\n"
        );
        for env in [&[][..], EXCLUSIVE] {
            let (o, _) = run_libos(libc, "int80", &[], b"", env);
            assert_eq!(o.stdout, "int80 getpid: ENOSYS\n");
        }
    }
}

/// `occlum run` hands its first process the ignored signals, signal mask
/// and nice value it was started with, as `execve` does on Linux (SIGPIPE
/// aside: the LibOS cannot tell whether it came ignored; it starts default).
#[test]
fn start_state_is_inherited_as_across_execve() {
    let wrap = [
        "--ignore-signal=INT,QUIT,USR2",
        "--block-signal=USR1,TERM",
        "nice",
        "-n",
        "3",
    ];
    for libc in ["glibc", "musl"] {
        let program = apps_build_dir().join(libc).join("start_state");
        let native = std::process::Command::new("env")
            .args(wrap)
            .arg(&program)
            .output()
            .unwrap();
        let libos = std::process::Command::new("env")
            .args(wrap)
            .arg(occlum())
            .args(["run", &format!("/bin/{libc}/start_state")])
            .current_dir(instance())
            .output()
            .unwrap();
        let native = String::from_utf8_lossy(&native.stdout).into_owned();
        assert!(
            native.contains("ignored: 2 3 12\n") && native.contains("blocked: 10 15\n"),
            "{native}"
        );
        assert_eq!(native, String::from_utf8_lossy(&libos.stdout), "{libc}");
    }
}

/// A crashing program reports the signal on stderr and only it ends.
#[test]
fn fault_is_reported_with_signal_name() {
    let (o, stderr) = run_libos("glibc", "segv", &[], b"", &[]);
    assert_eq!(o.status, 139);
    assert!(stderr.contains("signal 11 (SIGSEGV)"), "{stderr}");
}

/// A panic inside the LibOS while serving a syscall ends the calling
/// program with a "LibOS bug" report, not the harness or a hang.
#[test]
fn libos_panic_is_contained() {
    let path = "/bin/glibc/enosys";
    let out = occlum_in(
        instance(),
        &["run", path],
        &[("OCCLUM_TEST_INJECT_PANIC", "1000")],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(shell_status(out.status), 134, "{stderr}");
    assert!(stderr.contains("LibOS bug"), "{stderr}");
    let (again, _) = run_libos("glibc", "enosys", &[], b"", &[]);
    assert_eq!(again.status, 0, "the next run is unaffected");
}

/// A LibOS panic while a table that all processes share is locked (here the
/// futex table) stops the whole LibOS with a report, rather than leave the
/// half-changed table to the other threads and processes.
#[test]
fn libos_panic_in_a_shared_table_stops_the_libos() {
    let out = occlum_in(
        instance(),
        &["run", "/bin/glibc/threads"],
        &[("OCCLUM_TEST_INJECT_PANIC", "futex-table")],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(shell_status(out.status), 134, "{stderr}");
    assert!(
        stderr.contains("shared by all processes half-changed"),
        "{stderr}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("all ok"));
}

/// Host pipes work both ways through a real shell pipeline.
#[test]
fn host_pipes_through_shell() {
    let occlum = occlum();
    let script = format!(
        "echo hi | '{o}' run /bin/musl/cat && '{o}' run /bin/glibc/bigwrite | wc -c",
        o = occlum.display()
    );
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(instance())
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    assert_ok(&out, "pipeline");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().map(str::trim).collect();
    assert_eq!(lines, ["hi", "1048576"]);
}

/// Writing to a closed pipe ends the program with SIGPIPE, as on Linux.
#[test]
fn closed_stdout_pipe_gives_sigpipe() {
    let pipeline = |program: String| {
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!("set -o pipefail; {program} | head -c 10"))
            .current_dir(instance())
            .output()
            .unwrap();
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            shell_status(out.status),
        )
    };
    let native = pipeline(format!(
        "'{}'",
        apps_build_dir().join("glibc/bigwrite").display()
    ));
    let libos = pipeline(format!("'{}' run /bin/glibc/bigwrite", occlum().display()));
    assert_eq!(native, ("abcdefghij".to_string(), 141));
    assert_eq!(libos, native);
}

/// A non-PIE (ET_EXEC) program runs at its fixed address; a dynamic one
/// whose interpreter is not in the image fails with 127 and says why.
#[test]
fn non_pie_runs_and_a_missing_interpreter_is_explained() {
    let out = occlum_in(instance(), &["run", "/bin/other/hello-nopie", "x"], &[]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Hello, world!\nx\n");
    let out = occlum_in(instance(), &["run", "/bin/other/hello-dynamic"], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(shell_status(out.status), 127, "{stderr}");
    assert!(stderr.contains("interpreter"), "{stderr}");
}

/// Host SIGINT/SIGTERM sent to `occlum run` reach the program as LibOS
/// signals: a handler sees them; without one they end it (128 + signal).
#[test]
fn host_signals_are_forwarded_to_the_program() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    for (args, sig, expected_out, expected_status) in [
        (vec![], "-INT", "got SIGINT\n", 0),
        (vec![], "-TERM", "got SIGTERM\n", 0),
        (vec!["default"], "-TERM", "", 143),
    ] {
        let mut child = Command::new(occlum())
            .current_dir(instance())
            .args(["run", "/bin/glibc/sigint_wait"])
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert_eq!(line, "ready\n");
        let kill = Command::new("kill")
            .arg(sig)
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(kill.success());
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
        let status = child.wait().unwrap();
        assert_eq!(
            (rest.as_str(), shell_status(status)),
            (expected_out, expected_status),
            "{args:?} {sig}"
        );
    }
}
