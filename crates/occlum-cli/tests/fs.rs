//! File systems: each C program of `tests/apps/fs_*.c` works in a fresh
//! directory (`@TMP@`: the LibOS's ramfs `/tmp`; `@HOSTTMP@`: a directory
//! of the instance through the hostfs mount `/host`), natively and inside
//! the LibOS, built against glibc and musl; output and status must match.
//! (On the encrypted root: tests/sefs.rs.)

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
    fifo_ramfs: "fifo", ["@TMP@"], |o| all_ok(o);
    fifo_hostfs: "fifo", ["@HOSTTMP@"], |o| all_ok(o);
    inotify_ramfs: "inotify", ["@TMP@"], |o| all_ok(o);
    inotify_hostfs: "inotify", ["@HOSTTMP@"], |o| all_ok(o);
    xattr_ramfs: "xattr", ["@TMP@"], |o| all_ok(o);
    perms_ramfs: "perms", ["@TMP@"], |o| all_ok(o);
    perms_hostfs: "perms", ["@HOSTTMP@"], |o| all_ok(o);
    chroot_ramfs: "chroot", ["@TMP@"], |o| all_ok(o);
    errors_ramfs: "fs_errors", ["@TMP@"], |o| all_ok(o);
    errors_hostfs: "fs_errors", ["@HOSTTMP@"], |o| all_ok(o);
    sparse_ramfs: "fs_sparse", ["@TMP@"], |o| all_ok(o);
    sparse_hostfs: "fs_sparse", ["@HOSTTMP@"], |o| all_ok(o);
}

/// Differs from Linux on purpose (natively the disk or the machine's memory
/// would fill): the contents of a ramfs count against
/// `resource_limits.kernel_space_heap_size`, or against the mount's own
/// `options.size`; past it, writes fail with ENOSPC, the LibOS lives on, and
/// unlinking gives the space back. Pipe and socket buffers count against it too.
#[test]
fn ramfs_and_pipes_are_bounded_by_the_memory_budget() {
    let (_tmp, dir) = instance_with(&["budget"], &[]);
    edit_config(&dir, |json| {
        json["resource_limits"]["kernel_space_heap_size"] = "16MB".into();
        json["mount"].as_array_mut().unwrap().push(
            serde_json::json!({"target": "/small", "type": "ramfs", "options": {"size": "3MB"}}),
        );
    });
    std::fs::create_dir_all(dir.join("image/small")).unwrap();
    assert_ok(&occlum_in(&dir, &["build"], &[]), "occlum build");
    for args in [
        ["fill", "/tmp"],
        ["fill", "/small"],
        ["pipes", "16"],
        ["unix", "16"],
    ] {
        let mut all = vec!["run", "/bin/musl/budget"];
        all.extend(args);
        let out = occlum_in(&dir, &all, &[]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.ends_with("all ok\n") && out.status.success(),
            "{args:?}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Set-ID bits and ownership given to hostfs files show inside the LibOS as
/// on Linux, but never reach the host: the host file keeps the host's owner
/// and only the plain permission bits (a guest must not leave a set-uid-root
/// program in the instance directory).
#[test]
fn hostfs_keeps_set_id_bits_and_owners_from_the_host() {
    use std::os::unix::fs::MetadataExt;
    let (_tmp, dir) = instance_with(&["setid"], &[]);
    let out = occlum_in(&dir, &["run", "/bin/musl/setid", "/host/prog"], &[]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "4755 0:0\n6755 1234:5678\n755 0:0\n2755 0:0\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let me = std::fs::metadata(&dir).unwrap();
    for (name, perm) in [("prog", 0o755), ("prog.d", 0o755)] {
        let m = std::fs::metadata(dir.join(name)).unwrap();
        assert_eq!(m.mode() & 0o7777, perm, "{name} on the host");
        assert_eq!(
            (m.uid(), m.gid()),
            (me.uid(), me.gid()),
            "{name}'s owner on the host"
        );
    }
}

/// hostfs never reaches outside its source directory: `..` at its root is
/// the LibOS's `/`, and symbolic links are resolved inside the LibOS.
#[test]
fn hostfs_paths_cannot_escape_the_source() {
    let (tmp, dir) = instance_with(&["fsrec"], &[]);
    let outside = tmp.path().join("outside-marker");
    std::fs::write(&outside, "OUTSIDE-SECRET").unwrap();
    std::os::unix::fs::symlink("/etc", dir.join("etc-link")).unwrap();
    std::os::unix::fs::symlink("..", dir.join("up-link")).unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("abs-link")).unwrap();
    let host_hostname = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    for path in [
        "/host/../outside-marker",
        "/host/../../outside-marker",
        "/host/up-link/outside-marker",
        "/host/abs-link",
        "/host/etc-link/hostname",
        "/host/etc-link/shadow",
    ] {
        let out = occlum_in(&dir, &["run", "/bin/musl/fsrec", "get", path], &[]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(!text.contains("OUTSIDE-SECRET"), "{path}: {text}");
        assert!(
            host_hostname.is_empty() || !text.contains(host_hostname.trim()),
            "{path}: {text}"
        );
        assert!(
            text.starts_with("error: ENOENT") || text.starts_with("error: EACCES"),
            "{path}: {text}"
        );
    }
    // A link to /etc leads to the LibOS's own /etc (the image's), not the host's.
    let out = occlum_in(
        &dir,
        &["run", "/bin/musl/fsrec", "get", "/host/etc-link/passwd"],
        &[],
    );
    let image_passwd = std::fs::read_to_string(dir.join("image/etc/passwd")).unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), image_passwd);
    // Inside the source, files are there.
    std::fs::write(dir.join("inside"), "INSIDE").unwrap();
    let out = occlum_in(
        &dir,
        &["run", "/bin/musl/fsrec", "get", "/host/inside"],
        &[],
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "INSIDE");
}

/// `mount`/`umount2` of ramfs and proc from a program. Inside the LibOS
/// only: natively mounting needs privileges test machines may not grant.
#[test]
fn programs_mount_and_unmount_ramfs_and_proc() {
    for libc in ["glibc", "musl"] {
        let (o, stderr) = run_libos(libc, "fs_mount", &["@TMP@"], b"", &[]);
        all_ok(&o);
        assert!(!o.stdout.contains("FAIL"), "{libc}: {}\n{stderr}", o.stdout);
    }
}
