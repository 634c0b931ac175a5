//! `occlum mount`: the instance's root on the host through FUSE, read-write;
//! what is written there is in the next `occlum run`, encrypted on disk;
//! refused while the instance's enclave runs.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn mounted(dir: &Path) -> bool {
    fs::read_to_string("/proc/mounts")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split(' ').nth(1) == Some(&*dir.to_string_lossy()))
}

#[test]
fn write_through_the_mount_then_run() {
    assert!(
        Path::new("/dev/fuse").exists(),
        "/dev/fuse is needed (the fuse kernel module)"
    );
    let tmp = tempdir();
    assert_ok(&occlum_in(tmp.path(), &["new", "i"], &[]), "occlum new");
    let dir = tmp.path().join("i");
    fs::copy(
        apps_build_dir().join("glibc/cat"),
        dir.join("image/bin/cat"),
    )
    .unwrap();
    assert_ok(&occlum_in(&dir, &["build"], &[]), "occlum build");
    let mnt = tmp.path().join("mnt");
    fs::create_dir(&mnt).unwrap();

    let mut child = Command::new(occlum())
        .arg("mount")
        .arg(&mnt)
        .current_dir(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !mounted(&mnt) {
        if let Some(st) = child.try_wait().unwrap() {
            panic!("occlum mount ended: {st}");
        }
        assert!(Instant::now() < deadline, "not mounted within 20 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The image's files are there, and the writable layer takes new ones.
    assert!(mnt.join("bin/cat").is_file());
    fs::write(mnt.join("root/from-host.txt"), "PLAINTEXT-from-the-host\n").unwrap();
    fs::create_dir(mnt.join("root/d")).unwrap();
    fs::write(mnt.join("root/d/f"), "nested\n").unwrap();
    fs::rename(mnt.join("root/d/f"), mnt.join("root/d/g")).unwrap();
    assert_eq!(
        fs::read_to_string(mnt.join("root/d/g")).unwrap(),
        "nested\n"
    );
    let umount = Command::new("umount").arg(&mnt).output().unwrap();
    assert_ok(&umount, "umount");
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let run = occlum_in(
        &dir,
        &["run", "/bin/cat", "/root/from-host.txt", "/root/d/g"],
        &[],
    );
    assert_ok(&run, "occlum run cat");
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        "PLAINTEXT-from-the-host\nnested\n"
    );
    for entry in walkdir::WalkDir::new(dir.join("run")).into_iter().flatten() {
        if entry.file_type().is_file() {
            let bytes = fs::read(entry.path()).unwrap();
            assert!(
                !bytes.windows(9).any(|w| w == b"PLAINTEXT"),
                "plain text in {}",
                entry.path().display()
            );
        }
    }

    // Not while the enclave runs.
    assert_ok(&occlum_in(&dir, &["start"], &[]), "occlum start");
    let refused = occlum_in(&dir, &["mount", &mnt.to_string_lossy()], &[]);
    let _ = occlum_in(&dir, &["stop", "-t", "0"], &[]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("occlum stop"));
}

#[test]
fn image_key_is_checked() {
    let tmp = tempdir();
    assert_ok(&occlum_in(tmp.path(), &["new", "i"], &[]), "occlum new");
    let dir = tmp.path().join("i");
    let (key, other) = (tmp.path().join("key"), tmp.path().join("other"));
    for k in [&key, &other] {
        assert_ok(
            &occlum_in(&dir, &["gen-image-key", &k.to_string_lossy()], &[]),
            "gen-image-key",
        );
    }
    let mnt = tmp.path().join("mnt");
    fs::create_dir(&mnt).unwrap();
    let mount = |args: &[&str]| {
        let mut all = vec!["mount"];
        all.extend_from_slice(args);
        all.push(mnt.to_str().unwrap());
        occlum_in(&dir, &all, &[])
    };
    // Built with the sealing key: no --image-key.
    assert_ok(&occlum_in(&dir, &["build"], &[]), "occlum build");
    let out = mount(&["--image-key", &key.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("built without --image-key"));
    // Built with `key`: `other` is refused (before anything is mounted).
    assert_ok(
        &occlum_in(&dir, &["build", "--image-key", &key.to_string_lossy()], &[]),
        "occlum build --image-key",
    );
    let out = mount(&["--image-key", &other.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not the key this instance was built with")
    );
    assert!(!mounted(&mnt));
}
