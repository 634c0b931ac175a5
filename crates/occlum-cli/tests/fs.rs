//! File systems: each C program of `tests/apps/fs_*.c` works in a fresh
//! directory (`@TMP@`: the LibOS's ramfs `/tmp`; `@HOSTTMP@`: a directory
//! of the instance through the hostfs mount `/host`), natively and inside
//! the LibOS, built against glibc and musl; output and status must match.

#[macro_use]
mod common;

use common::*;

differential_tests! {
    files_ramfs: "fs_files", ["@TMP@", "@BIN@"], |o| all_ok(o);
    files_hostfs: "fs_files", ["@HOSTTMP@", "@BIN@"], |o| all_ok(o);
    dirs_ramfs: "fs_dirs", ["@TMP@"], |o| all_ok(o);
    dirs_hostfs: "fs_dirs", ["@HOSTTMP@"], |o| all_ok(o);
    links_ramfs: "fs_links", ["@TMP@"], |o| all_ok(o);
    links_hostfs: "fs_links", ["@HOSTTMP@"], |o| all_ok(o);
    meta_ramfs: "fs_meta", ["@TMP@"], |o| all_ok(o);
    meta_hostfs: "fs_meta", ["@HOSTTMP@"], |o| all_ok(o);
    rw_ramfs: "fs_rw", ["@TMP@"], |o| all_ok(o);
    rw_hostfs: "fs_rw", ["@HOSTTMP@"], |o| all_ok(o);
    size_ramfs: "fs_size", ["@TMP@"], |o| all_ok(o);
    size_hostfs: "fs_size", ["@HOSTTMP@"], |o| all_ok(o);
    times_ramfs: "fs_times", ["@TMP@"], |o| all_ok(o);
    times_hostfs: "fs_times", ["@HOSTTMP@"], |o| all_ok(o);
    locks_ramfs: "fs_locks", ["@TMP@", "@BIN@"], |o| all_ok(o);
    locks_hostfs: "fs_locks", ["@HOSTTMP@", "@BIN@"], |o| all_ok(o);
    copy_ramfs: "fs_copy", ["@TMP@"], |o| all_ok(o);
    copy_hostfs: "fs_copy", ["@HOSTTMP@"], |o| all_ok(o);
    dev: "fs_dev", ["@TMP@"], |o| all_ok(o);
    errors_ramfs: "fs_errors", ["@TMP@"], |o| all_ok(o);
    errors_hostfs: "fs_errors", ["@HOSTTMP@"], |o| all_ok(o);
}
