//! `occlum package`: a built instance, unpacked elsewhere, runs with the
//! packaged runtime; nothing private or unneeded is in it; a changed byte
//! in its image or a changed Occlum.json is refused.

mod common;

use std::fs;
use std::process::Command;

use common::*;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn package_unpack_run_and_refuse_changes() {
    let tmp = tempdir();
    assert_ok(&occlum_in(tmp.path(), &["new", "app"], &[]), "occlum new");
    let dir = tmp.path().join("app");
    fs::copy(
        apps_build_dir().join("glibc/hello"),
        dir.join("image/bin/hello"),
    )
    .unwrap();
    let early = occlum_in(&dir, &["package"], &[]);
    assert_eq!(early.status.code(), Some(1));
    assert!(
        text(&early.stderr).contains("occlum build"),
        "{}",
        text(&early.stderr)
    );
    assert_ok(&occlum_in(&dir, &["build"], &[]), "occlum build");
    let out = occlum_in(&dir, &["package", "../shipped.tar.gz"], &[]);
    assert_ok(&out, "occlum package");
    let pkg = tmp.path().join("shipped.tar.gz");
    assert!(pkg.is_file());

    let list = Command::new("tar").arg("tzf").arg(&pkg).output().unwrap();
    let names = text(&list.stdout);
    assert!(
        names.contains("shipped/bin/occlum")
            && names.contains("shipped/build/mount/__ROOT/image.bin"),
        "{names}"
    );
    assert!(
        !names.contains("image/bin") && !names.contains(".occlum"),
        "{names}"
    );

    let other = tempdir();
    let untar = Command::new("tar")
        .arg("xzf")
        .arg(&pkg)
        .current_dir(other.path())
        .output()
        .unwrap();
    assert_ok(&untar, "tar xzf");
    let unpacked = other.path().join("shipped");
    let run = |args: &[&str]| {
        Command::new(unpacked.join("bin/occlum"))
            .arg("run")
            .args(args)
            .current_dir(&unpacked)
            .output()
            .unwrap()
    };
    let out = run(&["/bin/hello", "there"]);
    assert_ok(&out, "the unpacked package runs");
    assert_eq!(text(&out.stdout), "Hello, world!\nthere\n");

    // A byte of the image changed: refused before anything runs.
    let image = unpacked.join("build/mount/__ROOT/image.bin");
    let mut bytes = fs::read(&image).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x20;
    fs::write(&image, &bytes).unwrap();
    let out = run(&["/bin/hello"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("was changed after `occlum build`"),
        "{}",
        text(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    bytes[mid] ^= 0x20;
    fs::write(&image, &bytes).unwrap();
    assert_ok(&run(&["/bin/hello"]), "the image restored");

    // Occlum.json changed: refused too.
    let config = unpacked.join("Occlum.json");
    let text_before = fs::read_to_string(&config).unwrap();
    fs::write(&config, text_before.replace("OCCLUM=yes", "OCCLUM=no")).unwrap();
    let out = run(&["/bin/hello"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("changed"),
        "{}",
        text(&out.stderr)
    );
}
