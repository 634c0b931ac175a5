//! Attestation from inside (`tests/apps/sgx_attest.c`): reports verify and
//! flipped ones do not, sealing keys follow their policy across runs and
//! rebuilds, bad input gets EINVAL or EFAULT; a quote made inside passes
//! `occlum attest verify` with the instance's `occlum print mrenclave`, and
//! is refused once changed, for another MRENCLAVE or another root. Each
//! test uses a simulated platform of its own (`OCCLUM_SGX_SIM_DIR`).

mod common;

use std::path::Path;

use common::*;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs `occlum ARGS` in `dir` on the platform in `sim`.
fn occlum_sim(dir: &Path, sim: &Path, args: &[&str]) -> std::process::Output {
    occlum_in(dir, args, &[("OCCLUM_SGX_SIM_DIR", sim.to_str().unwrap())])
}

/// The sealing keys `sgx_attest report` printed (MRENCLAVE, MRSIGNER policy).
fn keys(out: &std::process::Output) -> (String, String) {
    let stdout = text(&out.stdout);
    let get = |name: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("key {name}=")))
            .unwrap_or_else(|| panic!("no {name} key in:\n{stdout}"))
            .to_string()
    };
    (get("mrenclave"), get("mrsigner"))
}

fn reports_and_keys(libc: &str) {
    let (tmp, dir) = instance_with(&["sgx_attest"], &[]);
    let sim = tmp.path().join("platform");
    let program = format!("/bin/{libc}/sgx_attest");
    let run = || {
        let out = occlum_sim(&dir, &sim, &["run", &program, "report"]);
        assert!(
            out.status.success() && text(&out.stdout).ends_with("all ok\n"),
            "{}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        keys(&out)
    };
    let first = run();
    assert_eq!(
        run(),
        first,
        "the same enclave gets the same keys in every run"
    );
    // A changed image is another enclave: another MRENCLAVE key, the same
    // MRSIGNER key.
    std::fs::write(dir.join("image/etc/changed"), b"x").unwrap();
    assert_ok(&occlum_in(&dir, &["build"], &[]), "occlum build");
    let rebuilt = run();
    assert_ne!(
        rebuilt.0, first.0,
        "MRENCLAVE policy: the key changes with the image"
    );
    assert_eq!(rebuilt.1, first.1, "MRSIGNER policy: the key stays");
    // Another platform (machine) gives other keys.
    let other = occlum_sim(
        &dir,
        &tmp.path().join("other"),
        &["run", &program, "report"],
    );
    assert_ne!(keys(&other).1, first.1);
}

#[test]
fn glibc_reports_and_keys() {
    reports_and_keys("glibc");
}

#[test]
fn musl_reports_and_keys() {
    reports_and_keys("musl");
}

#[test]
fn a_quote_from_inside_verifies_outside() {
    let (tmp, dir) = instance_with(&["sgx_attest"], &[]);
    let sim = tmp.path().join("platform");
    let data = "5a".repeat(32);
    let out = occlum_sim(
        &dir,
        &sim,
        &[
            "run",
            "/bin/musl/sgx_attest",
            "quote",
            "/host/quote.bin",
            &format!("{data}{}", "00".repeat(32)),
        ],
    );
    assert!(
        out.status.success() && text(&out.stdout).ends_with("all ok\n"),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let mrenclave = text(&occlum_in(&dir, &["print", "mrenclave"], &[]).stdout)
        .trim()
        .to_string();
    let mrsigner = text(&occlum_in(&dir, &["print", "mrsigner"], &[]).stdout)
        .trim()
        .to_string();
    let verify = |quote: &str, extra: &[&str], sim: &Path| {
        let mut args = vec!["attest", "verify", quote];
        args.extend_from_slice(extra);
        occlum_sim(&dir, sim, &args)
    };
    let ok = verify(
        "quote.bin",
        &[
            "--mrenclave",
            &mrenclave,
            "--mrsigner",
            &mrsigner,
            "--report-data",
            &data,
        ],
        &sim,
    );
    assert_ok(&ok, "occlum attest verify");
    let json: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(json["mrenclave"], mrenclave.as_str());
    assert_eq!(json["verified"], true);
    assert_eq!(json["simulated"], true, "a simulated quote says so");
    assert_eq!(json["debug"], true);
    assert!(json["report_data"].as_str().unwrap().starts_with(&data));

    let refused = |out: std::process::Output, why: &str| {
        assert_eq!(out.status.code(), Some(1), "{why}: {}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains("refused"),
            "{why}: {}",
            text(&out.stderr)
        );
        assert!(out.stdout.is_empty(), "{why}: nothing printed on stdout");
    };
    let other_mrenclave = format!(
        "{}{}",
        if mrenclave.starts_with('0') { "1" } else { "0" },
        &mrenclave[1..]
    );
    refused(
        verify("quote.bin", &["--mrenclave", &other_mrenclave], &sim),
        "another mrenclave",
    );
    refused(
        verify("quote.bin", &["--report-data", "00"], &sim),
        "other report data",
    );
    refused(
        verify("quote.bin", &[], &tmp.path().join("elsewhere")),
        "another platform's root",
    );

    let quote = std::fs::read(dir.join("quote.bin")).unwrap();
    for at in [
        0,
        10,
        60,
        112,
        200,
        400,
        440,
        600,
        1000,
        quote.len() / 2,
        quote.len() - 40,
    ] {
        let mut bad = quote.clone();
        bad[at] ^= 0x08;
        std::fs::write(dir.join("bad.bin"), &bad).unwrap();
        refused(verify("bad.bin", &[], &sim), &format!("byte {at} flipped"));
    }
    std::fs::write(dir.join("bad.bin"), &quote[..quote.len() - 1]).unwrap();
    refused(verify("bad.bin", &[], &sim), "a truncated quote");

    // The root another machine's verifier is given works as well.
    let root = occlum_sim(&dir, &sim, &["attest", "root"]);
    assert_ok(&root, "occlum attest root");
    std::fs::write(dir.join("root.pem"), &root.stdout).unwrap();
    let elsewhere = tmp.path().join("elsewhere");
    assert_ok(
        &verify("quote.bin", &["--root", "root.pem"], &elsewhere),
        "verify with --root",
    );
}
