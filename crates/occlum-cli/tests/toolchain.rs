//! `occlum-gcc` and `occlum-g++`: the original's hello-world flow, with
//! musl (the default), glibc, separate compile and link steps, and C++.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::*;

fn occlum_gcc() -> &'static str {
    env!("CARGO_BIN_EXE_occlum-gcc")
}

fn cc(dir: &Path, program: &Path, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert_ok(&out, &format!("{} {args:?}", program.display()));
}

const HELLO_C: &str = "#include <stdio.h>\n\
int main(void) { printf(\"Hello World\\n\"); return 0; }\n";

const HELLO_CXX: &str = "#include <iostream>\n#include <string>\n#include <vector>\n\
int main() { std::vector<std::string> w{\"Hello\", \"C++\"};\n\
for (auto &s : w) std::cout << s << ' ';\n\
try { throw 42; } catch (int n) { std::cout << n << std::endl; }\n\
return 0; }\n";

/// The original's flow: `occlum-gcc hello.c -o hello; occlum init; cp hello
/// image/bin && occlum build; occlum run /bin/hello`.
#[test]
fn hello_world_flow() {
    let tmp = tempdir();
    let dir = tmp.path();
    fs::write(dir.join("hello.c"), HELLO_C).unwrap();
    fs::write(dir.join("hello.cc"), HELLO_CXX).unwrap();
    let gcc = Path::new(occlum_gcc());
    cc(dir, gcc, &["hello.c", "-o", "hello"]);
    cc(dir, gcc, &["--glibc", "hello.c", "-o", "hello_glibc"]);
    cc(dir, gcc, &["-O2", "-c", "hello.c", "-o", "hello.o"]);
    cc(
        dir,
        gcc,
        &["hello.o", "-o", "hello_linked", "-lm", "-lpthread"],
    );
    let gxx = dir.join("occlum-g++");
    std::os::unix::fs::symlink(gcc, &gxx).unwrap();
    cc(dir, &gxx, &["hello.cc", "-o", "hello_cxx"]);

    let inst = dir.join("instance");
    fs::create_dir(&inst).unwrap();
    assert_ok(&occlum_in(&inst, &["init"], &[]), "occlum init");
    for name in ["hello", "hello_glibc", "hello_linked", "hello_cxx"] {
        fs::copy(dir.join(name), inst.join("image/bin").join(name)).unwrap();
    }
    assert_ok(&occlum_in(&inst, &["build"], &[]), "occlum build");
    for (name, want) in [
        ("hello", "Hello World\n"),
        ("hello_glibc", "Hello World\n"),
        ("hello_linked", "Hello World\n"),
        ("hello_cxx", "Hello C++ 42\n"),
    ] {
        let out = occlum_in(&inst, &["run", &format!("/bin/{name}")], &[]);
        assert_ok(&out, name);
        assert_eq!(String::from_utf8_lossy(&out.stdout), want, "{name}");
    }
    // musl by default, glibc on request (glibc names itself in its code).
    let glibc = |name: &str| {
        let bytes = fs::read(dir.join(name)).unwrap();
        String::from_utf8_lossy(&bytes)
            .to_lowercase()
            .contains("glibc")
    };
    assert!(!glibc("hello"), "hello is a musl program");
    assert!(glibc("hello_glibc"), "hello_glibc is a glibc program");
}

#[test]
fn errors_are_gcc_s() {
    let tmp = tempdir();
    fs::write(
        tmp.path().join("bad.c"),
        "int main(void) { return missing; }\n",
    )
    .unwrap();
    let out = Command::new(occlum_gcc())
        .args(["bad.c", "-o", "bad"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing"));
    let help = Command::new(occlum_gcc()).arg("--help").output().unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("static-PIE"));
}
