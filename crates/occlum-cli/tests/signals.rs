//! Signals: dispositions, masks and pending sets, siginfo, faults delivered
//! to handlers, alternate stacks, EINTR and SA_RESTART, timers, SIGCHLD and
//! process groups, signals and threads, cancellation, default actions. Each
//! C program `tests/apps/sig_*.c` runs natively and inside the LibOS, built
//! against glibc and musl (static-PIE); standard output and exit status must
//! match. Programs that start other test programs get their directory as
//! `@BIN@`.

mod common;

use common::*;

/// Declares, for a program run with `args`, one test per libc, plus extra
/// checks on the (equal) outcome.
macro_rules! differential_tests {
    ($($test:ident: $name:literal, $args:expr $(, |$o:ident| $check:expr)?;)*) => {
        differential_tests!(@mod glibc, "glibc"; $($test: $name, $args $(, |$o| $check)?;)*);
        differential_tests!(@mod musl, "musl"; $($test: $name, $args $(, |$o| $check)?;)*);
    };
    (@mod $mod:ident, $libc:literal; $($test:ident: $name:literal, $args:expr $(, |$o:ident| $check:expr)?;)*) => {
        mod $mod {
            use super::*;
            $(#[test] fn $test() { let _o = differential($libc, $name, &$args, b"", &[]); $({ let $o = &_o; $check; })? })*
        }
    };
}

/// The outcome of a program that prints "ok ..." lines and ends with "all ok".
fn all_ok(o: &Outcome) {
    assert!(o.stdout.ends_with("all ok\n"), "{}", o.stdout);
    assert!(!o.stdout.contains("FAIL"), "{}", o.stdout);
    assert_eq!(o.status, 0);
}

differential_tests! {
    sig_basic: "sig_basic", [], |o| all_ok(o);
    sig_fault: "sig_fault", [], |o| all_ok(o);
    sig_eintr: "sig_eintr", [], |o| all_ok(o);
    sig_child: "sig_child", ["@BIN@"], |o| all_ok(o);
    sig_threads: "sig_threads", [], |o| all_ok(o);
    sig_default: "sig_default", ["@BIN@"], |o| all_ok(o);
    kill_blocked_threads: "kill_mt", ["@BIN@"], |o| all_ok(o);
}
