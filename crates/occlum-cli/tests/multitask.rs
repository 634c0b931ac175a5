//! Multitasking: threads, futexes, process creation (posix_spawn, vfork,
//! execve), waiting, pipes and file descriptors, process groups. Each C
//! program of `tests/apps/` runs natively and inside the LibOS, built against
//! glibc and musl (static-PIE); standard output and exit status must match.
//! Programs that start other test programs get their directory as `@BIN@`.

#[macro_use]
mod common;

use common::*;

differential_tests! {
    threads: "threads", [], |o| all_ok(o);
    futex: "futex", [], |o| all_ok(o);
    spawn: "spawn", ["@BIN@"], |o| all_ok(o);
    spawn_many: "spawn_many", ["@BIN@"], |o| all_ok(o);
    brk_in_spawned_child: "brk_child", ["@BIN@"], |o| all_ok(o);
    fork_right_after_join: "fork_join", [], |o| all_ok(o);
    clone_fork_with_stack: "clone_fork", [], |o| all_ok(o);
    pipeline: "pipeline", ["@BIN@"], |o| all_ok(o);
    pipes: "pipes", [], |o| all_ok(o);
    pipe_writers_side_by_side: "pipe_writers", [], |o| all_ok(o);
    wait: "wait", ["@BIN@"], |o| all_ok(o);
    pgid: "pgid", ["@BIN@"], |o| all_ok(o);
    fork: "fork", ["@BIN@"], |o| all_ok(o);
    fork_side_by_side: "fork_concurrent", [], |o| all_ok(o);
    shm_producer_consumer: "shm_pc", [], |o| all_ok(o);
    sysv_ipc: "sysv_ipc", [], |o| all_ok(o);
    posix_mqueue: "mqueue", [], |o| all_ok(o);
    process_vm_read_write: "process_vm", [], |o| all_ok(o);
    pseudo_terminals: "pty", [], |o| all_ok(o);
    mmap_exe: "mmap_exe", [], |o| all_ok(o);
    stress: "stress", ["@BIN@"],
        |o| assert_eq!(o.stdout, "spawned 1000\nmessages 10000\nfds unchanged\nall ok\n");
}

/// Differs from Linux on purpose: the LibOS allows
/// `resource_limits.max_num_of_threads` (32 by default) threads in all,
/// the main thread included, so the 32nd `pthread_create` fails with EAGAIN;
/// the threads created still run and are joined.
#[test]
fn thread_limit_is_max_num_of_threads() {
    for libc in ["glibc", "musl"] {
        let native = run_native(libc, "thread_limit", &[], b"", DEFAULT_ENV);
        assert_eq!(native.stdout, "created all 64\njoined\n");
        let (o, stderr) = run_libos(libc, "thread_limit", &[], b"", &[]);
        assert_eq!(
            (o.stdout.as_str(), o.status),
            ("create failed after 31: EAGAIN\njoined\n", 0),
            "{libc}: {stderr}"
        );
    }
}

/// 1,000 spawn-and-exit cycles and 10,000 pipe messages leave nothing
/// behind in the LibOS: when the program ends, no thread is alive, no other
/// process is left, and no user memory is in use.
#[test]
fn stress_leaves_no_threads_processes_or_memory() {
    for libc in ["glibc", "musl"] {
        let (out, stderr) = run_libos(
            libc,
            "stress",
            &["@BIN@"],
            b"",
            &[("OCCLUM_LOG_LEVEL", "debug")],
        );
        assert!(out.stdout.ends_with("all ok\n"), "{}", out.stdout);
        assert!(
            stderr.contains("at exit: 0 live threads, 1 processes, 0 bytes of user space in use"),
            "{stderr}"
        );
    }
}

/// A fork bomb ends with EAGAIN (the `max_num_of_threads` limit) and one of
/// big processes with ENOMEM (fork copies may hold at most
/// `user_space_size`); every child is then killed and reaped, and the LibOS
/// ends cleanly. (LibOS only: natively this is a fork bomb.)
#[test]
fn fork_bombs_end_with_eagain_or_enomem() {
    for (mib, want) in [("1", "EAGAIN"), ("200", "ENOMEM")] {
        let (o, stderr) = run_libos("glibc", "fork_bomb", &[mib], b"", &[]);
        assert_eq!(
            (o.stdout.as_str(), o.status),
            (format!("fork failed with {want}\nall reaped\n").as_str(), 0),
            "{mib} MiB: {stderr}"
        );
    }
}

/// With `process.default_heap_size` at 128 MB, the break of the first
/// process and of a posix_spawn and a vfork+exec child grows by 65 MiB, as
/// natively: every program is placed with its heap room free above it.
#[test]
fn brk_grows_to_the_default_heap_size_in_spawned_children() {
    let (_tmp, dir) = instance_with(&["brk_child"], &[]);
    edit_config(&dir, |json| {
        json["process"]["default_heap_size"] = "128MB".into();
    });
    assert_ok(&occlum_in(&dir, &["build"], &[]), "occlum build");
    for libc in ["glibc", "musl"] {
        let bin = format!("/bin/{libc}");
        let native = run_native(libc, "brk_child", &["@BIN@", "64"], b"", DEFAULT_ENV);
        let prog = format!("{bin}/brk_child");
        let out = occlum_in(&dir, &["run", &prog, &bin, "64"], &[]);
        let libos = Outcome {
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            status: shell_status(out.status),
        };
        assert_eq!(native, libos, "{}", String::from_utf8_lossy(&out.stderr));
        assert!(libos.stdout.ends_with("all ok\n"), "{}", libos.stdout);
    }
}
