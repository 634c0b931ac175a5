//! The encrypted, persistent root: the file-system programs on `/root`
//! (differential against Linux), persistence across runs, confidentiality
//! on the host, tamper detection, keys, and crash consistency. Each test
//! has an instance of its own: one LibOS at a time may use an encrypted
//! file system.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use common::*;

const FS_PROGRAMS: &[&str] = &[
    "fs_files",
    "fs_rw",
    "fs_dirs",
    "fs_links",
    "fifo",
    "inotify",
    "perms",
    "chroot",
    "fs_meta",
    "fs_size",
    "fs_times",
    "fs_locks",
    "fs_copy",
    "fs_errors",
];

fn run(dir: &Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    occlum_in(dir, &all, &[])
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every file-system program works on the encrypted root as on Linux.
#[test]
fn fs_programs_on_the_encrypted_root() {
    let (_tmp, dir) = instance_with(FS_PROGRAMS, &[]);
    for libc in ["glibc", "musl"] {
        for name in FS_PROGRAMS {
            let native = run_native(libc, name, &["@TMP@", "@BIN@"], b"", DEFAULT_ENV);
            let work = format!("/root/{name}-{libc}");
            let bin = format!("/bin/{libc}");
            let out = run(&dir, &[&format!("/bin/{libc}/{name}"), &work, &bin]);
            let libos = Outcome {
                stdout: stdout(&out),
                status: shell_status(out.status),
            };
            assert_eq!(
                native,
                libos,
                "{libc}/{name} on /root: native (left) and LibOS (right) differ; LibOS stderr:\n{}",
                stderr(&out)
            );
            all_ok(&libos);
        }
    }
}

/// Every file under `dir` (recursively) that contains `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() && !p.is_symlink() {
                stack.push(p);
            } else if let Ok(b) = fs::read(&p) {
                if b.windows(needle.len()).any(|w| w == needle) {
                    hits.push(p.display().to_string());
                }
            }
        }
    }
    hits
}

#[test]
fn data_persists_and_the_host_sees_only_ciphertext() {
    let (_tmp, dir) = instance_with(&["fsrec"], &[]);
    let marker = "MARKER-7f3a9c-secret-contents";
    let name = "MARKERNAME-51be0d";
    for path in [format!("/root/{name}"), format!("/{name}.txt")] {
        let put = run(&dir, &["/bin/musl/fsrec", "put", &path, marker]);
        assert_eq!(
            stdout(&put),
            format!("put {} bytes\n", marker.len()),
            "{}",
            stderr(&put)
        );
        let get = run(&dir, &["/bin/glibc/fsrec", "get", &path]);
        assert_eq!(stdout(&get), marker, "{}", stderr(&get));
    }
    assert!(files_containing(&dir, marker.as_bytes()).is_empty());
    assert!(files_containing(&dir, name.as_bytes()).is_empty());
    // A file of the image read from the union: the lower layer shows through.
    let got = run(&dir, &["/bin/glibc/fsrec", "get", "/bin/glibc/fsrec"]);
    assert!(got.status.success(), "{}", stderr(&got));
}

/// Flips one byte of `path` at `offset` (from the end if negative).
fn flip_byte(path: &Path, offset: i64) {
    let mut b = fs::read(path).unwrap();
    let i = if offset < 0 {
        b.len() as i64 + offset
    } else {
        offset
    } as usize;
    b[i] ^= 0x40;
    fs::write(path, b).unwrap();
}

#[test]
fn tampering_is_detected() {
    let (_tmp, dir) = instance_with(&["fsrec", "cat"], &[]);
    let put = run(&dir, &["/bin/musl/fsrec", "put", "/root/f", "hello"]);
    assert!(put.status.success(), "{}", stderr(&put));

    // The encrypted layer: any changed block is refused, never misread.
    let sefs = dir.join("run/mount/__ROOT/sefs.img");
    let pristine = fs::read(&sefs).unwrap();
    for at in [0i64, 4096, 8192, 12288, -1, -4097] {
        fs::write(&sefs, &pristine).unwrap();
        flip_byte(&sefs, at);
        let get = run(&dir, &["/bin/musl/fsrec", "get", "/root/f"]);
        let out = stdout(&get);
        // Either the data, or an error: EIO, a refused mount, or (for the
        // newest superblock) the previous commit, as after a torn write.
        if get.status.success() {
            assert_eq!(out, "hello", "flip at {at}");
        } else {
            assert!(
                out.starts_with("error: EIO")
                    || out.starts_with("error: ENOENT")
                    || stderr(&get).contains("altered")
                    || stderr(&get).contains("integrity check failed"),
                "flip at {at}: {out} {}",
                stderr(&get)
            );
        }
    }
    fs::write(&sefs, &pristine).unwrap();
    assert_eq!(
        stdout(&run(&dir, &["/bin/musl/fsrec", "get", "/root/f"])),
        "hello"
    );

    // Both superblocks wiped, or the file cut short: refused with the
    // file's name, and the file left exactly as it was, never formatted over.
    let mut wiped = pristine.clone();
    wiped[0] ^= 0x40;
    wiped[4096] ^= 0x40;
    for damaged in [wiped, pristine[..8191].to_vec(), pristine[..100].to_vec()] {
        fs::write(&sefs, &damaged).unwrap();
        let get = run(&dir, &["/bin/musl/fsrec", "get", "/root/f"]);
        assert!(!get.status.success(), "a damaged root must be refused");
        assert!(
            stderr(&get).contains("sefs.img") && stderr(&get).contains("nothing was changed"),
            "{}",
            stderr(&get)
        );
        assert!(
            fs::read(&sefs).unwrap() == damaged,
            "the damaged file was changed"
        );
    }
    // A first format cut short by a crash (superblock slots never written,
    // some blocks after them) is no damage: the next run formats afresh.
    let mut cut = vec![0u8; 3 * 4096];
    cut[8192..].fill(0x5a);
    fs::write(&sefs, &cut).unwrap();
    let put = run(&dir, &["/bin/musl/fsrec", "put", "/root/g", "again"]);
    assert!(put.status.success(), "{}", stderr(&put));
    fs::write(&sefs, &pristine).unwrap();
    assert_eq!(
        stdout(&run(&dir, &["/bin/musl/fsrec", "get", "/root/f"])),
        "hello"
    );

    // The image: a flipped byte in a program's data is found before
    // anything runs (the image changed since it was last checked, so it is
    // read in full); flipped back, the image runs again. (Reading a block
    // that changes later fails with EIO for that file only: the image's
    // tamper tests.)
    let image = dir.join("build/mount/__ROOT/image.bin");
    let bytes = fs::read(&image).unwrap();
    let program = fs::read(apps_build_dir().join("musl/cat")).unwrap();
    let at = bytes
        .windows(64)
        .position(|w| w == &program[8192..8192 + 64])
        .expect("the program's bytes are in the image");
    flip_byte(&image, at as i64);
    let other = run(&dir, &["/bin/glibc/fsrec", "get", "/bin/musl/fsrec"]);
    assert!(!other.status.success());
    assert!(
        stderr(&other).contains("image.bin: the image was changed after `occlum build`"),
        "{}",
        stderr(&other)
    );
    flip_byte(&image, at as i64);
    let other = run(&dir, &["/bin/glibc/fsrec", "get", "/bin/musl/fsrec"]);
    assert!(other.status.success(), "{}", stderr(&other));

    // The signed configuration and the instance's Occlum.json.
    let built = dir.join("build/Occlum.json");
    let text = fs::read_to_string(&built).unwrap();
    fs::write(&built, text.replace("\"32MB\"", "\"64MB\"")).unwrap();
    let refused = run(&dir, &["/bin/musl/fsrec", "get", "/root/f"]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("measurement does not match"),
        "{}",
        stderr(&refused)
    );
    fs::write(&built, text).unwrap();
    let config = dir.join("Occlum.json");
    let text = fs::read_to_string(&config).unwrap();
    fs::write(&config, text.replace("\"32MB\"", "\"64MB\"")).unwrap();
    let refused = run(&dir, &["/bin/musl/fsrec", "get", "/root/f"]);
    assert!(
        stderr(&refused).contains("Occlum.json changed"),
        "{}",
        stderr(&refused)
    );
    fs::write(&config, text).unwrap();

    // The image replaced by another one: its root hash is not the signed one.
    fs::write(dir.join("image/etc/new"), "x").unwrap();
    let saved = fs::read(&built).unwrap();
    let sig = fs::read(dir.join("build/enclave.sig.json")).unwrap();
    let state = fs::read(dir.join("build/image.state.json")).unwrap();
    assert_ok(&occlum_in(&dir, &["build"], &[]), "rebuild");
    fs::write(&built, saved).unwrap();
    fs::write(dir.join("build/enclave.sig.json"), sig).unwrap();
    fs::write(dir.join("build/image.state.json"), state).unwrap();
    let refused = run(&dir, &["/bin/musl/fsrec", "get", "/root/f"]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("the image was changed after `occlum build` signed it")
            && stderr(&refused).contains("root hash mismatch"),
        "{}",
        stderr(&refused)
    );
}

#[test]
fn another_signer_or_image_key_cannot_read_the_files() {
    let (tmp, dir) = instance_with(&["fsrec"], &[]);
    assert!(run(&dir, &["/bin/musl/fsrec", "put", "/root/f", "mine"])
        .status
        .success());

    // Signed by another key (another instance's own): the sealing key differs.
    let (_tmp2, dir2) = instance_with(&["fsrec"], &[]);
    let other = dir2.join(".occlum/signing-key.pem");
    assert_ok(
        &occlum_in(&dir, &["build", "--sign-key", other.to_str().unwrap()], &[]),
        "build with another key",
    );
    let get = run(&dir, &["/bin/musl/fsrec", "get", "/root/f"]);
    assert!(!get.status.success());
    assert!(stderr(&get).contains("wrong key"), "{}", stderr(&get));
    assert_ok(
        &occlum_in(&dir, &["build"], &[]),
        "build with the instance's key",
    );
    assert_eq!(
        stdout(&run(&dir, &["/bin/musl/fsrec", "get", "/root/f"])),
        "mine"
    );

    // Built with an image key, then another one.
    let (k1, k2) = (tmp.path().join("k1"), tmp.path().join("k2"));
    for k in [&k1, &k2] {
        assert_ok(
            &occlum_in(&dir, &["gen-image-key", k.to_str().unwrap()], &[]),
            "gen-image-key",
        );
    }
    fs::remove_dir_all(dir.join("run")).unwrap();
    assert_ok(
        &occlum_in(&dir, &["build", "--image-key", k1.to_str().unwrap()], &[]),
        "build --image-key",
    );
    assert!(run(&dir, &["/bin/musl/fsrec", "put", "/root/f", "keyed"])
        .status
        .success());
    assert_ok(
        &occlum_in(&dir, &["build", "--image-key", k2.to_str().unwrap()], &[]),
        "build --image-key k2",
    );
    let get = run(&dir, &["/bin/musl/fsrec", "get", "/root/f"]);
    assert!(stderr(&get).contains("wrong key"), "{}", stderr(&get));
    assert_ok(
        &occlum_in(&dir, &["build", "--image-key", k1.to_str().unwrap()], &[]),
        "build --image-key k1",
    );
    assert_eq!(
        stdout(&run(&dir, &["/bin/musl/fsrec", "get", "/root/f"])),
        "keyed"
    );
}

/// A tiny deterministic PRNG for the kill delays (xorshift).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn fsynced_records_survive_the_host_process_being_killed() {
    let (_tmp, dir) = instance_with(&["fsrec"], &[]);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut synced = 0u64;
    for round in 0..50 {
        let mut child = Command::new(occlum())
            .current_dir(&dir)
            .args(["run", "/bin/musl/fsrec", "append", "/root/log"])
            .env_clear()
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut out = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = std::io::Read::read_to_string(&mut out, &mut s);
            s
        });
        std::thread::sleep(std::time::Duration::from_millis(30 + rng.below(300)));
        child.kill().unwrap();
        child.wait().unwrap();
        let printed = reader.join().unwrap();
        if let Some(n) = printed
            .lines()
            .filter_map(|l| l.strip_prefix("synced "))
            .filter_map(|n| n.parse().ok())
            .next_back()
        {
            synced = synced.max(n);
        }
        let check = run(
            &dir,
            &[
                "/bin/glibc/fsrec",
                "check",
                "/root/log",
                &synced.to_string(),
            ],
        );
        assert_eq!(
            stdout(&check),
            format!("ok {synced}\n"),
            "round {round}: {}",
            stderr(&check)
        );
    }
    assert!(synced > 0, "no record was ever synced");
}

/// A LibOS binary that differs from the one that signed the instance is
/// refused: here a copy of `occlum` with one changed letter in a message it
/// prints only for an unsupported configuration (in a loaded, measured
/// segment).
#[test]
fn a_changed_libos_binary_is_refused() {
    let (tmp, dir) = instance_with(&["fsrec"], &[]);
    let mut bytes = fs::read(occlum()).unwrap();
    let needle = b"is supported only at";
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("the message is in the binary");
    let elf = goblin::elf::Elf::parse(&bytes).unwrap();
    assert!(elf.program_headers.iter().any(|p| {
        p.p_type == goblin::elf::program_header::PT_LOAD && p.file_range().contains(&at)
    }));
    bytes[at] ^= 0x20;
    let copy = tmp.path().join("occlum-changed");
    fs::write(&copy, &bytes).unwrap();
    fs::set_permissions(&copy, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    // Another test thread that forks while the copy was open for writing
    // makes exec fail with ETXTBSY for a moment: try again.
    let out = (0..50)
        .find_map(|_| {
            match Command::new(&copy)
                .current_dir(&dir)
                .args(["run", "/bin/musl/fsrec", "get", "/bin/musl/fsrec"])
                .env_clear()
                .output()
            {
                Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    None
                }
                r => Some(r.unwrap()),
            }
        })
        .expect("the copy runs");
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("measurement does not match"),
        "{}",
        stderr(&out)
    );
    // The unchanged binary still runs it.
    assert!(run(&dir, &["/bin/musl/fsrec", "get", "/bin/musl/fsrec"])
        .status
        .success());
}

/// A second `occlum run` of an instance whose encrypted root another LibOS
/// holds waits for it, and SIGTERM or SIGINT still end it while it waits.
#[test]
fn waiting_for_the_encrypted_root_can_be_interrupted() {
    use std::io::BufRead;
    let (_tmp, dir) = instance_with(&["cat"], &[]);
    let mut holder = Command::new(occlum())
        .current_dir(&dir)
        .args(["run", "/bin/musl/cat"])
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Once cat echoes a line, the holder's LibOS has the root.
    std::io::Write::write_all(holder.stdin.as_mut().unwrap(), b"ready\n").unwrap();
    let mut echoed = String::new();
    std::io::BufReader::new(holder.stdout.as_mut().unwrap())
        .read_line(&mut echoed)
        .unwrap();
    assert_eq!(echoed, "ready\n");
    for (signal, status) in [
        (nix::sys::signal::Signal::SIGTERM, 143),
        (nix::sys::signal::Signal::SIGINT, 130),
    ] {
        let mut waiter = Command::new(occlum())
            .current_dir(&dir)
            .args(["run", "/bin/musl/cat"])
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(waiter.stderr.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.contains("waiting for another LibOS"), "{line}");
        let pid = nix::unistd::Pid::from_raw(waiter.id() as i32);
        nix::sys::signal::kill(pid, signal).unwrap();
        let (done, finished) = std::sync::mpsc::channel();
        let killer = std::thread::spawn(move || {
            if finished
                .recv_timeout(std::time::Duration::from_secs(60))
                .is_err()
            {
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            }
        });
        let st = waiter.wait().unwrap();
        let _ = done.send(());
        killer.join().unwrap();
        assert_eq!(
            shell_status(st),
            status,
            "{signal:?} must end the waiting run"
        );
    }
    drop(holder.stdin.take());
    assert!(holder.wait().unwrap().success());
}
