use std::process::Command;

use super::*;

fn host() -> Resolver {
    Resolver::host().unwrap()
}

/// Builds `bin/prog` needing `lib/libfoo.so` through `$ORIGIN/../lib` RUNPATH.
pub(crate) fn build_runpath_fixture(root: &Path) -> (PathBuf, PathBuf) {
    let (bin, lib) = (root.join("bin"), root.join("lib"));
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(&lib).unwrap();
    std::fs::write(root.join("foo.c"), "int foo(void) { return 42; }\n").unwrap();
    std::fs::write(
        root.join("main.c"),
        "int foo(void);\nint main(void) { return foo() == 42 ? 0 : 1; }\n",
    )
    .unwrap();
    let libfoo = lib.join("libfoo.so");
    let ok = Command::new("gcc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&libfoo)
        .arg(root.join("foo.c"))
        .status()
        .unwrap()
        .success();
    assert!(ok, "gcc -shared failed");
    let prog = bin.join("prog");
    let ok = Command::new("gcc")
        .arg("-o")
        .arg(&prog)
        .arg(root.join("main.c"))
        .arg("-L")
        .arg(&lib)
        .args([
            "-lfoo",
            "-Wl,-rpath,$ORIGIN/../lib",
            "-Wl,--enable-new-dtags",
        ])
        .status()
        .unwrap()
        .success();
    assert!(ok, "gcc failed");
    (prog, libfoo)
}

#[test]
fn real_program_needs_libc_and_interpreter() {
    let closure = host().resolve(Path::new("/bin/ls")).unwrap();
    assert_eq!(closure.libc, Some(Libc::Glibc));
    let interp = closure.interp.expect("an interpreter");
    assert!(
        file_name(&interp).starts_with("ld-linux-x86-64"),
        "{}",
        interp.display()
    );
    assert!(
        closure
            .libraries
            .iter()
            .any(|l| file_name(l) == "libc.so.6"),
        "{:?}",
        closure.libraries
    );
    // The loader itself, needed by libc.so.6, is satisfied by PT_INTERP.
    assert!(!closure
        .libraries
        .iter()
        .any(|l| file_name(l).starts_with("ld-linux")));
}

#[test]
fn runpath_origin_is_used_and_missing_library_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (prog, libfoo) = build_runpath_fixture(dir.path());
    let info = elf::read(&prog).unwrap().unwrap();
    assert_eq!(info.runpath, vec!["$ORIGIN/../lib".to_string()]);
    assert!(info.rpath.is_empty());
    let closure = host().resolve(&prog).unwrap();
    let found = closure
        .libraries
        .iter()
        .find(|l| file_name(l) == "libfoo.so")
        .expect("libfoo.so resolved");
    assert_eq!(
        std::fs::canonicalize(found).unwrap(),
        std::fs::canonicalize(&libfoo).unwrap()
    );
    assert!(closure
        .libraries
        .iter()
        .any(|l| file_name(l) == "libc.so.6"));

    std::fs::remove_file(&libfoo).unwrap();
    let err = host().resolve(&prog).unwrap_err().to_string();
    assert!(err.contains("libfoo.so"), "{err}");
    assert!(err.contains(&prog.display().to_string()), "{err}");
    assert!(err.contains("RUNPATH") && err.contains("/usr/lib"), "{err}");
}

#[test]
fn non_elf_and_static_need_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("data");
    std::fs::write(&p, "hello").unwrap();
    let closure = host().resolve(&p).unwrap();
    assert_eq!(closure.libc, None);
    assert!(closure.libraries.is_empty() && closure.interp.is_none());
}

#[test]
fn wrong_architecture_candidates_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("libc.so.6");
    std::fs::write(
        &fake,
        b"\x7fELF\x01\x01\x01\0\0\0\0\0\0\0\0\0\x03\0\x03\0rest",
    )
    .unwrap();
    assert!(!usable(&fake));
}
