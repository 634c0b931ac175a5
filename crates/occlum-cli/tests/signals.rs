//! Signals: dispositions, masks and pending sets, siginfo, faults delivered
//! to handlers, alternate stacks, EINTR and SA_RESTART, timers, SIGCHLD and
//! process groups, signals and threads, cancellation, default actions,
//! timerfd, signalfd and POSIX timers. Each
//! C program `tests/apps/sig_*.c` runs natively and inside the LibOS, built
//! against glibc and musl (static-PIE); standard output and exit status must
//! match. Programs that start other test programs get their directory as
//! `@BIN@`.

#[macro_use]
mod common;

use common::*;

differential_tests! {
    sig_basic: "sig_basic", [], |o| all_ok(o);
    sig_fault: "sig_fault", [], |o| all_ok(o);
    sig_eintr: "sig_eintr", [], |o| all_ok(o);
    sig_child: "sig_child", ["@BIN@"], |o| all_ok(o);
    sig_threads: "sig_threads", [], |o| all_ok(o);
    sig_default: "sig_default", ["@BIN@"], |o| all_ok(o);
    sig_vfork: "sig_vfork", ["@BIN@"], |o| all_ok(o);
    kill_blocked_threads: "kill_mt", ["@BIN@"], |o| all_ok(o);
    xstate_at_syscall: "sig_xstate", ["sync"], |o| all_ok(o);
    xstate_at_timer: "sig_xstate", ["async"], |o| all_ok(o);
    xstate_edited_in_frame: "sig_xstate", ["edit"], |o| all_ok(o);
    timerfd_signalfd_posix_timers: "timers", [], |o| all_ok(o);
}
