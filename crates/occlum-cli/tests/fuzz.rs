//! A syscall fuzzer inside the LibOS: `tests/apps/fuzz_syscalls.c` makes
//! random raw syscalls (edge values and random numbers as arguments, from
//! several threads) and the LibOS must neither crash, abort, panic nor hang:
//! the program ends normally, with every call done. Calls may fail with any
//! errno. Each libc runs with Syscall User Dispatch in its default mode and
//! in exclusive mode.
//!
//! The seeds are fixed. A failure replays with
//! `occlum run /bin/<libc>/fuzz_syscalls SEED CALLS THREADS trace` (the
//! trace goes to stderr; with THREADS = 1 a run makes the same calls every
//! time).

mod common;

use common::*;

/// The runs of each test: (seed, calls, threads). Four tests: 2,000,000 calls.
const RUNS: &[(u64, u64, u32)] = &[(1, 100_000, 1), (2, 200_000, 2), (3, 200_000, 4)];

fn fuzz(libc: &str, env: &[(&str, &str)]) {
    for &(seed, calls, threads) in RUNS {
        let args = [seed.to_string(), calls.to_string(), threads.to_string()];
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (o, stderr) = run_libos(libc, "fuzz_syscalls", &args, b"", env);
        let what = format!("{libc}/fuzz_syscalls {} (host env {env:?})", args.join(" "));
        let details = format!("stdout:\n{}\nstderr:\n{stderr}", o.stdout);
        assert_eq!(o.status, 0, "{what}: exit status\n{details}");
        assert!(
            o.stdout.contains(&format!("fuzz: {calls} calls done\n")),
            "{what}: not all calls done\n{details}"
        );
        assert!(
            !stderr.contains("LibOS bug"),
            "{what}: LibOS bug\n{details}"
        );
        assert!(!stderr.contains("panicked"), "{what}: panic\n{details}");
        // The fuzzer's summary: calls per second, errnos (`--nocapture`).
        for line in stderr.lines().filter(|l| l.starts_with("fuzz: seed")) {
            eprintln!("{libc} {env:?}: {line}");
        }
    }
}

#[test]
fn glibc() {
    fuzz("glibc", &[]);
}

#[test]
fn musl() {
    fuzz("musl", &[]);
}

#[test]
fn glibc_exclusive_sud() {
    fuzz("glibc", EXCLUSIVE);
}

#[test]
fn musl_exclusive_sud() {
    fuzz("musl", EXCLUSIVE);
}
