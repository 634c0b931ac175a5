//! Syscalls without a trap: rewritten syscall sites enter the LibOS
//! directly (`vm/rewrite.rs`, `occlum_pal::fastpath`). The whole
//! differential suite runs with the direct entry on and off
//! (`OCCLUM_FASTPATH=0`, see `differential_tests!`); here, programs whose
//! threads race to the first calls of every site, and how many syscalls
//! take the direct path.

#[macro_use]
mod common;

use common::*;

differential_tests! {
    threads_racing_to_rewritten_sites: "syscall_mix", [], |o| all_ok(o);
    xstate_at_rewritten_sites: "sig_xstate", ["sync"], |o| all_ok(o);
    vector_registers_across_direct_syscalls: "sig_xstate", ["calls"], |o| all_ok(o);
    cpuid_answers_as_the_cpu: "cpuid", ["again"], |o| all_ok(o);
    programs_started_again: "respawn", ["4"], |o| all_ok(o);
}

/// The counts of process `pid`.
fn counts_of(stderr: &str, pid: u32) -> [u64; 4] {
    let name = format!("process {pid} (");
    let line = stderr
        .lines()
        .find(|l| l.contains(&name) && l.contains(" syscalls, "))
        .unwrap_or_else(|| panic!("no counts of process {pid} in:\n{stderr}"));
    line_counts(line)
}

/// A program started again comes with the sites its earlier runs rewrote
/// already rewritten (`vm/learned.rs`): its later runs trap less, and
/// glibc's start-up `cpuid`s enter the LibOS directly (the parent, the
/// same program, is the first run and runs them on the CPU; the first
/// child serves them from faults and rewrites them).
#[test]
fn a_program_started_again_comes_with_its_sites_rewritten() {
    for libc in ["glibc", "musl"] {
        let info = [("OCCLUM_LOG_LEVEL", "info")];
        let (o, stderr) = run_libos(libc, "respawn", &["4"], b"", &info);
        all_ok(&o);
        let (first, last) = respawn_counts(libc, &stderr, 4, 90);
        if libc == "glibc" {
            let faulted = |c: [u64; 4]| c[2] - c[3];
            assert!(
                last[2] > 0 && faulted(last) * 2 < faulted(first),
                "{libc}: cpuid faults, first child {first:?}, last {last:?}"
            );
        }
    }
}

/// User code's `cpuid` in a program started before is served by the
/// LibOS, most of it through rewritten sites, with the CPU's answers
/// (`cpuid.c` compares them with a native run); with `OCCLUM_CPUID=0` it
/// runs on the CPU.
#[test]
fn cpuid_is_served_by_the_libos() {
    for libc in ["glibc", "musl"] {
        let native = run_native(libc, "cpuid", &["again"], b"", DEFAULT_ENV);
        let info = [("OCCLUM_LOG_LEVEL", "info")];
        let (o, stderr) = run_libos(libc, "cpuid", &["again"], b"", &info);
        assert_eq!(native, o, "{libc}: {stderr}");
        let [_, _, total, direct] = counts_of(&stderr, 2);
        assert!(
            total >= 6000 && direct * 100 >= total * 60,
            "{libc}: {direct} of {total} cpuid direct"
        );
        let off = [("OCCLUM_LOG_LEVEL", "info"), ("OCCLUM_CPUID", "0")];
        let (o, stderr) = run_libos(libc, "cpuid", &["again"], b"", &off);
        assert_eq!(native, o, "{libc} with OCCLUM_CPUID=0: {stderr}");
        assert!(stderr.contains("; 0 cpuid, 0 direct"), "{libc}: {stderr}");
    }
}

/// `(syscalls, direct)` of process 1, from its line in the log at exit.
fn counts(stderr: &str) -> (u64, u64) {
    let [syscalls, direct, ..] = counts_of(stderr, 1);
    (syscalls, direct)
}

/// The direct entry's fallback that saves vector state with XSAVE (for CPUs
/// whose registers it does not save by hand; forced here) keeps it too.
#[test]
fn vector_state_with_the_xsave_fallback() {
    let xsave = [("OCCLUM_FASTPATH_XSAVE", "1")];
    for libc in ["glibc", "musl"] {
        for mode in ["calls", "sync", "edit"] {
            let native = run_native(libc, "sig_xstate", &[mode], b"", DEFAULT_ENV);
            let (o, stderr) = run_libos(libc, "sig_xstate", &[mode], b"", &xsave);
            assert_eq!(native, o, "{libc} {mode}: {stderr}");
            all_ok(&o);
        }
    }
}

/// At least 95% of the syscalls of a glibc and a musl static-PIE program
/// making many calls from 8 threads take the direct path; none does with
/// `OCCLUM_FASTPATH=0`.
#[test]
fn most_syscalls_take_the_direct_path() {
    for libc in ["glibc", "musl"] {
        let info = [("OCCLUM_LOG_LEVEL", "info")];
        let (o, stderr) = run_libos(libc, "syscall_mix", &["3000"], b"", &info);
        all_ok(&o);
        let (total, direct) = counts(&stderr);
        assert!(
            direct * 100 >= total * 95,
            "{libc}: {direct} of {total} syscalls direct"
        );
        let off = [("OCCLUM_LOG_LEVEL", "info"), ("OCCLUM_FASTPATH", "0")];
        let (o, stderr) = run_libos(libc, "syscall_mix", &["300"], b"", &off);
        all_ok(&o);
        assert_eq!(
            counts(&stderr).1,
            0,
            "{libc}: direct syscalls with OCCLUM_FASTPATH=0"
        );
    }
}

/// A static Go program (goroutines, net/http on loopback; Go's `Syscall6`
/// has no instruction to move, so its `syscall` itself jumps through
/// `int3` padding) gives the same output as natively, with at least 95% of
/// its syscalls direct. Go reserves much address space: a 4 GB region.
#[test]
fn go_net_http_program_takes_the_direct_path() {
    let tmp = tempdir();
    let src = repo_root().join("tests/programs/httpgo/main.go");
    let bin = tmp.path().join("httpgo");
    let out = std::process::Command::new("go")
        .args(["build", "-o"])
        .arg(&bin)
        .arg(&src)
        .env("CGO_ENABLED", "0")
        .env("GOCACHE", tmp.path().join("gocache"))
        .env("GOPATH", tmp.path().join("gopath"))
        .env("GO111MODULE", "off")
        .output()
        .expect("go (golang-go) is installed by scripts/install-deps.sh");
    assert_ok(&out, "go build");
    let native = std::process::Command::new(&bin).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&native.stdout), "bytes 10000\n");

    assert_ok(&occlum_in(tmp.path(), &["new", "inst"], &[]), "occlum new");
    let dir = tmp.path().join("inst");
    std::fs::copy(&bin, dir.join("image/bin/httpgo")).unwrap();
    edit_config(&dir, |json| {
        json["resource_limits"]["user_space_size"] = "4GB".into();
    });
    assert_ok(&occlum_in(&dir, &["build"], &[]), "occlum build");
    let out = occlum_in(
        &dir,
        &["run", "/bin/httpgo"],
        &[("OCCLUM_LOG_LEVEL", "info")],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "bytes 10000\n",
        "{stderr}"
    );
    assert!(out.status.success(), "{stderr}");
    let (total, direct) = counts(&stderr);
    assert!(
        direct * 100 >= total * 95,
        "{direct} of {total} syscalls direct"
    );
}
