//! Secret provisioning end to end on 127.0.0.1: `occlum kms serve` runs,
//! an instance whose `Occlum.json` names it attests at start and gets the
//! encrypted root's key, a file under /run/secrets and an environment
//! variable; a rebuilt instance with a changed image is refused and its
//! encrypted root stays locked. (Replayed quotes and foreign platforms:
//! crates/occlum-kms/src/tests.rs.)

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use common::*;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The broker, killed when dropped.
struct Broker {
    child: Child,
    port: u16,
    pin: String,
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_broker(dir: &Path, sim: &Path) -> Broker {
    for (name, value) in [
        ("root.key", "a key for the encrypted root"),
        ("db.txt", "hunter2"),
        ("token.txt", "tok-42"),
    ] {
        std::fs::write(dir.join(name), value).unwrap();
    }
    std::fs::write(
        dir.join("policy.json"),
        format!(r#"{{"mrsigner": ["{}"]}}"#, "0".repeat(64)),
    )
    .unwrap();
    let mut child = Command::new(occlum())
        .current_dir(dir)
        .env_clear()
        .env("OCCLUM_SGX_SIM_DIR", sim)
        .args([
            "kms",
            "serve",
            "--policy",
            "policy.json",
            "--tls-key",
            "kms.pem",
            "--listen",
            "127.0.0.1:0",
            "--secret",
            "root=root.key",
            "--secret",
            "db=db.txt",
            "--secret",
            "api=token.txt",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let listening = lines.next().unwrap().unwrap();
    let pin_line = lines.next().unwrap().unwrap();
    let port = listening.rsplit(':').next().unwrap().parse().unwrap();
    let pin = pin_line
        .strip_prefix("server_key_sha256 ")
        .unwrap()
        .to_string();
    Broker { child, port, pin }
}

#[test]
fn secrets_reach_only_the_attested_enclave() {
    let (tmp, dir) = instance_with(&["cat", "echo_env"], &[]);
    let sim = tmp.path().join("platform");
    let env = [("OCCLUM_SGX_SIM_DIR", sim.to_str().unwrap())];
    let broker = start_broker(tmp.path(), &sim);
    let kms = serde_json::json!({
        "address": format!("127.0.0.1:{}", broker.port),
        "server_key_sha256": broker.pin,
        "root_key": "root",
        "files": ["db"],
        "env": {"API_TOKEN": "api"},
    });
    edit_config(&dir, |c| c["kms"] = kms.clone());
    assert_ok(&occlum_in(&dir, &["build"], &[]), "occlum build");

    // The policy names another signer: refused, nothing runs.
    let refused = occlum_in(&dir, &["run", "/bin/musl/cat", "/run/secrets/db"], &env);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused.stderr));
    assert!(
        text(&refused.stderr).contains("stay locked"),
        "{}",
        text(&refused.stderr)
    );

    let mrenclave = text(&occlum_in(&dir, &["print", "mrenclave"], &[]).stdout);
    std::fs::write(
        tmp.path().join("policy.json"),
        format!(
            r#"{{"mrenclave": ["{}"], "allow_debug": true}}"#,
            mrenclave.trim()
        ),
    )
    .unwrap();
    let got = occlum_in(&dir, &["run", "/bin/musl/cat", "/run/secrets/db"], &env);
    assert_ok(&got, "reading the secret");
    assert_eq!(text(&got.stdout), "hunter2");
    let env_out = occlum_in(&dir, &["run", "/bin/glibc/echo_env"], &env);
    assert_ok(&env_out, "the secret's variable");
    assert!(
        text(&env_out.stdout).contains("=API_TOKEN=tok-42\n"),
        "{}",
        text(&env_out.stdout)
    );
    let sefs = dir.join("run/mount/__ROOT/sefs.img");
    let on_disk = std::fs::read(&sefs).unwrap();
    assert!(
        !on_disk.windows(7).any(|w| w == b"hunter2"),
        "secrets never reach the host's files"
    );

    // Only the enclave gets the root's key: `occlum mount` cannot open it.
    std::fs::create_dir_all(tmp.path().join("mnt")).unwrap();
    let mount = occlum_in(
        &dir,
        &["mount", tmp.path().join("mnt").to_str().unwrap()],
        &env,
    );
    assert_eq!(mount.status.code(), Some(1));
    assert!(
        text(&mount.stderr).contains("key broker"),
        "{}",
        text(&mount.stderr)
    );

    // The encrypted root is keyed by the broker's secret: without `kms`
    // (another enclave, sealing key instead) it cannot be opened.
    edit_config(&dir, |c| {
        c.as_object_mut().unwrap().remove("kms");
    });
    assert_ok(
        &occlum_in(&dir, &["build"], &[]),
        "occlum build without kms",
    );
    let sealed = occlum_in(&dir, &["run", "/bin/musl/cat", "/etc/hostname"], &env);
    assert_ne!(
        sealed.status.code(),
        Some(0),
        "the root opened with another key"
    );

    // A changed image is another MRENCLAVE: refused, root locked.
    edit_config(&dir, |c| c["kms"] = kms.clone());
    std::fs::write(dir.join("image/etc/changed"), b"x").unwrap();
    assert_ok(&occlum_in(&dir, &["build"], &[]), "occlum build");
    let changed = occlum_in(&dir, &["run", "/bin/musl/cat", "/run/secrets/db"], &env);
    assert_eq!(changed.status.code(), Some(1));
    assert!(
        text(&changed.stderr).contains("refused this enclave"),
        "{}",
        text(&changed.stderr)
    );
    assert!(changed.stdout.is_empty());
    drop(broker);
}
