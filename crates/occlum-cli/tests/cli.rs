//! Tests of the `occlum` command line: new/init, build, run errors.

mod common;

use std::fs;

use common::*;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `occlum run` refused the arguments: status 126 and the reason.
fn assert_too_long(out: &std::process::Output) {
    assert_eq!(shell_status(out.status), 126, "{}", stderr(out));
    assert!(
        stderr(out).contains("argument list too long"),
        "{}",
        stderr(out)
    );
}

#[test]
fn new_creates_an_instance_and_refuses_to_overwrite() {
    let tmp = tempdir();
    assert_ok(&occlum_in(tmp.path(), &["new", "demo"], &[]), "occlum new");
    let dir = tmp.path().join("demo");
    for d in [
        "bin", "lib", "lib64", "root", "host", "tmp", "dev", "proc", "etc", "sbin",
    ] {
        assert!(dir.join("image").join(d).is_dir(), "image/{d} missing");
    }
    let config: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join("Occlum.json")).unwrap()).unwrap();
    assert_eq!(config["resource_limits"]["user_space_size"], "300MB");
    assert_eq!(config["resource_limits"]["max_num_of_threads"], 32);
    assert_eq!(config["process"]["default_stack_size"], "4MB");
    assert_eq!(config["entry_points"][0], "/bin");

    fs::write(dir.join("Occlum.json"), "{\"entry_points\": [\"/bin\"]}").unwrap();
    let again = occlum_in(tmp.path(), &["new", "demo"], &[]);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );
    assert!(
        fs::read_to_string(dir.join("Occlum.json"))
            .unwrap()
            .contains("entry_points"),
        "nothing lost"
    );

    let init = occlum_in(&dir, &["init"], &[]);
    assert!(!init.status.success() && stderr(&init).contains("already exists"));
    assert_ok(
        &occlum_in(&dir, &["init", "--force"], &[]),
        "occlum init --force",
    );
    assert!(fs::read_to_string(dir.join("Occlum.json"))
        .unwrap()
        .contains("resource_limits"));
}

#[test]
fn init_in_an_empty_directory() {
    let tmp = tempdir();
    assert_ok(&occlum_in(tmp.path(), &["init"], &[]), "occlum init");
    assert!(tmp.path().join("Occlum.json").is_file() && tmp.path().join("image/bin").is_dir());
}

fn new_instance() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempdir();
    assert_ok(&occlum_in(tmp.path(), &["new", "i"], &[]), "occlum new");
    let dir = tmp.path().join("i");
    (tmp, dir)
}

fn build_error(dir: &std::path::Path, config: &str) -> String {
    fs::write(dir.join("Occlum.json"), config).unwrap();
    let out = occlum_in(dir, &["build"], &[]);
    assert!(!out.status.success(), "build accepted {config}");
    stderr(&out)
}

#[test]
fn build_names_the_bad_field() {
    let (_tmp, dir) = new_instance();
    let good = fs::read_to_string(dir.join("Occlum.json")).unwrap();
    let e = build_error(&dir, &good.replace("\"300MB\"", "\"12XB\""));
    assert!(
        e.contains("resource_limits.user_space_size") && e.contains("12XB"),
        "{e}"
    );
    let e = build_error(&dir, &good.replace("\"process\"", "\"proces\""));
    assert!(e.contains("proces"), "{e}");
    let e = build_error(
        &dir,
        &good.replace(
            "\"max_num_of_threads\": 32",
            "\"max_num_of_threads\": \"many\"",
        ),
    );
    assert!(e.contains("resource_limits.max_num_of_threads"), "{e}");
    let e = build_error(&dir, "{ \"entry_points\": [\"/bin\"], ");
    assert!(e.contains("Occlum.json") && e.contains("line"), "{e}");
    let e = build_error(&dir, "{ \"entry_points\": [\"/nowhere\"] }");
    assert!(
        e.contains("entry_points[0]") && e.contains("/nowhere"),
        "{e}"
    );
}

/// The image's root hash, as `occlum build` records it in `build/Occlum.json`.
fn root_hash(dir: &std::path::Path) -> String {
    let config: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join("build/Occlum.json")).unwrap()).unwrap();
    config["mount"][0]["options"]["layers"][0]["options"]["MAC"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn build_is_incremental_and_the_image_follows_changes() {
    let (_tmp, dir) = new_instance();
    fs::copy(apps_build_dir().join("musl/cat"), dir.join("image/bin/cat")).unwrap();
    fs::write(dir.join("image/etc/a"), "one").unwrap();
    fs::write(dir.join("image/etc/b"), "two").unwrap();
    let first = occlum_in(&dir, &["build"], &[]);
    assert_ok(&first, "first build");
    assert!(
        stderr(&first).contains("Built the image"),
        "{}",
        stderr(&first)
    );
    let hash = root_hash(&dir);
    assert_eq!(hash.len(), 64);
    let second = occlum_in(&dir, &["build"], &[]);
    assert!(stderr(&second).contains("unchanged"), "{}", stderr(&second));
    assert_eq!(root_hash(&dir), hash);

    fs::write(dir.join("image/etc/a"), "changed!").unwrap();
    fs::remove_file(dir.join("image/etc/b")).unwrap();
    let third = occlum_in(&dir, &["build"], &[]);
    assert!(
        stderr(&third).contains("Built the image"),
        "{}",
        stderr(&third)
    );
    assert_ne!(root_hash(&dir), hash);
    let out = occlum_in(&dir, &["run", "/bin/cat", "/etc/a", "/etc/b"], &[]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "changed!");
    assert!(
        stderr(&out).contains("cat: /etc/b: No such file or directory"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn run_refuses_what_it_cannot_run() {
    let (_tmp, dir) = new_instance();
    let before_build = occlum_in(&dir, &["run", "/bin/hello"], &[]);
    assert!(!before_build.status.success());
    assert!(
        stderr(&before_build).contains("occlum build"),
        "{}",
        stderr(&before_build)
    );

    fs::write(dir.join("image/bin/notelf"), "not a program\n").unwrap();
    fs::write(dir.join("image/bin/script"), "#!/bin/sh\necho hi\n").unwrap();
    for name in ["notelf", "script"] {
        fs::set_permissions(
            dir.join("image/bin").join(name),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
    }
    fs::copy(
        apps_build_dir().join("glibc/hello"),
        dir.join("image/bin/noexec"),
    )
    .unwrap();
    fs::set_permissions(
        dir.join("image/bin/noexec"),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    fs::create_dir_all(dir.join("image/usr/bin")).unwrap();
    fs::copy(
        apps_build_dir().join("glibc/hello"),
        dir.join("image/usr/bin/x"),
    )
    .unwrap();
    assert_ok(&occlum_in(&dir, &["build"], &[]), "build");

    let outside = occlum_in(&dir, &["run", "/usr/bin/x"], &[]);
    assert!(!outside.status.success());
    assert!(
        stderr(&outside).contains("entry point"),
        "{}",
        stderr(&outside)
    );

    let missing = occlum_in(&dir, &["run", "/bin/nothing"], &[]);
    assert_eq!(shell_status(missing.status), 127);
    assert!(
        stderr(&missing).contains("no such file"),
        "{}",
        stderr(&missing)
    );

    // A script whose interpreter is not in the image: ENOENT, like a shell's 127.
    let script = occlum_in(&dir, &["run", "/bin/script"], &[]);
    assert_eq!(shell_status(script.status), 127, "{}", stderr(&script));

    let notelf = occlum_in(&dir, &["run", "/bin/notelf"], &[]);
    assert_eq!(shell_status(notelf.status), 126);
    assert!(
        stderr(&notelf).contains("not an executable"),
        "{}",
        stderr(&notelf)
    );

    let noexec = occlum_in(&dir, &["run", "/bin/noexec"], &[]);
    assert_eq!(shell_status(noexec.status), 126);
    assert!(
        stderr(&noexec).contains("permission denied"),
        "{}",
        stderr(&noexec)
    );

    let relative = occlum_in(&dir, &["run", "bin/x"], &[]);
    assert!(!relative.status.success() && stderr(&relative).contains("absolute path"));

    let outside_dir = tempdir();
    let no_instance = occlum_in(outside_dir.path(), &["run", "/bin/x"], &[]);
    assert!(
        stderr(&no_instance).contains("not an Occlum instance"),
        "{}",
        stderr(&no_instance)
    );
}

#[test]
fn build_skips_special_files_with_a_warning() {
    let (_tmp, dir) = new_instance();
    let fifo = dir.join("image/tmp/fifo");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let out = occlum_in(&dir, &["build"], &[]);
    assert_ok(&out, "build with a fifo in the image");
    assert!(
        stderr(&out).contains("skipping") && stderr(&out).contains("fifo"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn too_long_arguments_give_e2big() {
    let (_tmp, dir) = new_instance();
    fs::copy(
        apps_build_dir().join("glibc/hello"),
        dir.join("image/bin/hello"),
    )
    .unwrap();
    assert_ok(&occlum_in(&dir, &["build"], &[]), "build");
    // 1.5 MB of arguments: more than a quarter of the 4 MB default stack.
    let arg = "x".repeat(100_000);
    let mut args = vec!["run", "/bin/hello"];
    args.extend(std::iter::repeat_n(arg.as_str(), 15));
    let out = occlum_in(&dir, &args, &[]);
    assert_too_long(&out);
    let fits = occlum_in(&dir, &["run", "/bin/hello", &arg], &[]);
    assert_ok(&fits, "100 KB argument");
}

#[test]
fn run_follows_symlinks_inside_the_image() {
    let (_tmp, dir) = new_instance();
    fs::copy(
        apps_build_dir().join("musl/hello"),
        dir.join("image/bin/hello"),
    )
    .unwrap();
    std::os::unix::fs::symlink("hello", dir.join("image/bin/hi")).unwrap();
    std::os::unix::fs::symlink("/bin/hello", dir.join("image/bin/abs")).unwrap();
    assert_ok(&occlum_in(&dir, &["build"], &[]), "build");
    for p in ["/bin/hi", "/bin/abs"] {
        let out = occlum_in(&dir, &["run", p, "x"], &[]);
        assert_ok(&out, p);
        assert_eq!(String::from_utf8_lossy(&out.stdout), "Hello, world!\nx\n");
    }
}

#[test]
fn run_passes_every_argument_through() {
    let (_tmp, dir) = new_instance();
    fs::copy(
        apps_build_dir().join("musl/echo_env"),
        dir.join("image/bin/echo_env"),
    )
    .unwrap();
    assert_ok(&occlum_in(&dir, &["build"], &[]), "build");
    let out = occlum_in(&dir, &["run", "/bin/echo_env", "--help", "--", "-x"], &[]);
    assert_ok(&out, "run with flag-like arguments");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout
            .starts_with("argc=4\nargv[0]=/bin/echo_env\nargv[1]=--help\nargv[2]=--\nargv[3]=-x\n"),
        "{stdout}"
    );
}

/// A copy of the glibc `hello` test program with `edit` applied to its
/// bytes, given the offsets of its program headers and of its PT_LOADs.
fn edited_hello(edit: impl FnOnce(&mut Vec<u8>, &[usize])) -> Vec<u8> {
    let mut b = fs::read(apps_build_dir().join("glibc/hello")).unwrap();
    let u16_at = |b: &[u8], o: usize| u16::from_le_bytes([b[o], b[o + 1]]) as usize;
    let phoff = u64::from_le_bytes(b[32..40].try_into().unwrap()) as usize;
    let (phentsize, phnum) = (u16_at(&b, 54), u16_at(&b, 56));
    let loads: Vec<usize> = (0..phnum)
        .map(|i| phoff + i * phentsize)
        .filter(|&o| u32::from_le_bytes(b[o..o + 4].try_into().unwrap()) == 1)
        .collect();
    edit(&mut b, &loads);
    b
}

/// Malformed programs and oversized arguments at start give an error and a
/// status, never a crash of `occlum` itself (status 139 with no message).
#[test]
fn bad_programs_and_arguments_at_start_are_errors() {
    use std::os::unix::fs::PermissionsExt;
    let (_tmp, dir) = new_instance();
    let put = |name: &str, bytes: Vec<u8>| {
        let path = dir.join("image/bin").join(name);
        fs::write(&path, bytes).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    };
    put("hello", edited_hello(|_, _| {}));
    for (name, size) in [("phent0", 0u16), ("phent1", 1), ("phentffff", 0xffff)] {
        put(
            name,
            edited_hello(|b, _| b[54..56].copy_from_slice(&size.to_le_bytes())),
        );
    }
    // The second PT_LOAD moved onto the first one's second page.
    put(
        "overlap",
        edited_hello(|b, loads| {
            let first = u64::from_le_bytes(b[loads[0] + 16..loads[0] + 24].try_into().unwrap());
            for field in [8, 16, 24] {
                let o = loads[1] + field;
                b[o..o + 8].copy_from_slice(&(first + 0x1000).to_le_bytes());
            }
        }),
    );
    edit_config(&dir, |json| {
        json["process"]["default_stack_size"] = "64KB".into()
    });
    assert_ok(&occlum_in(&dir, &["build"], &[]), "occlum build");
    for name in ["phent0", "phent1", "phentffff", "overlap"] {
        let out = occlum_in(&dir, &["run", &format!("/bin/{name}")], &[]);
        assert_eq!(shell_status(out.status), 126, "{name}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!("/bin/{name}")),
            "{name}: {}",
            stderr(&out)
        );
    }
    // 32 KiB of arguments fit a 64 KiB stack; 5000 pointers do not.
    let many = vec![""; 5000];
    let mut args = vec!["run", "/bin/hello"];
    args.extend(&many);
    let out = occlum_in(&dir, &args, &[]);
    assert_too_long(&out);
    let out = occlum_in(&dir, &["run", "/bin/hello", "fits"], &[]);
    assert_ok(&out, "a small stack still runs hello");
}

/// Memory sizes no machine here can honour are refused at `occlum build`,
/// naming the field: beyond the address space, and a kernel heap larger
/// than this machine's memory.
#[test]
fn build_refuses_memory_the_machine_cannot_hold() {
    let (_tmp, dir) = new_instance();
    let config = dir.join("Occlum.json");
    let original = fs::read(&config).unwrap();
    for (size, needle) in [
        ("999999GB", "more than an x86-64 process can address"),
        ("4TB", "more than this machine's memory"),
    ] {
        let mut json: serde_json::Value = serde_json::from_slice(&original).unwrap();
        json["resource_limits"]["kernel_space_heap_size"] = size.into();
        fs::write(&config, serde_json::to_vec_pretty(&json).unwrap()).unwrap();
        let out = occlum_in(&dir, &["build"], &[]);
        assert!(!out.status.success(), "{size} accepted");
        assert!(
            stderr(&out).contains("resource_limits.kernel_space_heap_size")
                && stderr(&out).contains(needle),
            "{size}: {}",
            stderr(&out)
        );
    }
}
