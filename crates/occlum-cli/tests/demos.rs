//! The Java, Node.js and Go demos (`demos/*/run.sh`), run as a new user runs
//! them, with the Occlum.json that `occlum new` writes: each prints what the
//! same program prints natively.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs `demos/<name>/run.sh` into `dir/instance`.
fn demo(name: &str, dir: &Path) -> Output {
    let out = Command::new("bash")
        .arg(repo_root().join("demos").join(name).join("run.sh"))
        .arg(dir.join("instance"))
        .env("OCCLUM", occlum())
        .current_dir(dir)
        .output()
        .unwrap();
    assert_ok(&out, &format!("demos/{name}/run.sh"));
    out
}

fn native(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert_ok(&out, &format!("{cmd:?}"));
    text(&out.stdout)
}

#[test]
fn java_demo() {
    let tmp = tempdir();
    let out = demo("java", tmp.path());
    let java = "/usr/lib/jvm/java-17-openjdk-amd64/bin/java";
    let want = native(Command::new(java).arg(repo_root().join("demos/java/Hello.java")));
    assert!(want.starts_with("Hello from Java"), "{want}");
    assert_eq!(text(&out.stdout), want, "{}", text(&out.stderr));
}

#[test]
fn node_demo() {
    let tmp = tempdir();
    let out = demo("node", tmp.path());
    let want = native(Command::new("node").arg(repo_root().join("demos/node/hello.js")));
    assert!(want.contains("http: you asked for /occlum"), "{want}");
    assert_eq!(text(&out.stdout), want, "{}", text(&out.stderr));
}

#[test]
fn go_demo() {
    let tmp = tempdir();
    let out = demo("go", tmp.path());
    let want = native(&mut Command::new(
        tmp.path().join("instance/image/bin/hello_go"),
    ));
    assert!(
        want.contains("http: 200 OK you asked for /occlum"),
        "{want}"
    );
    assert_eq!(text(&out.stdout), want, "{}", text(&out.stderr));
}
