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
}

/// `(syscalls, direct)` of process 1, from its line in the log at exit.
fn counts(stderr: &str) -> (u64, u64) {
    let line = stderr
        .lines()
        .find(|l| l.contains("process 1 (") && l.contains(" syscalls, "))
        .unwrap_or_else(|| panic!("no syscall counts in:\n{stderr}"));
    let number_before = |word: &str| -> u64 {
        let end = line.find(word).unwrap();
        line[..end]
            .trim_end()
            .rsplit(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    (number_before(" syscalls"), number_before(" direct"))
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
