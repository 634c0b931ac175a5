//! The platform's reports, keys and quotes, and what verification refuses.

use std::sync::OnceLock;

use crate::quote::{self, QuoteError};
use crate::sgx::{
    Attributes, KeyName, KeyRequest, Report, KEYPOLICY_MRENCLAVE, KEYPOLICY_MRSIGNER,
};
use crate::{Enclave, KeyError, Platform};

/// One platform for all tests (making one costs a few key generations).
fn platform() -> &'static (tempfile::TempDir, Platform) {
    static P: OnceLock<(tempfile::TempDir, Platform)> = OnceLock::new();
    P.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let p = Platform::open_or_create(dir.path()).unwrap();
        (dir, p)
    })
}

fn app(mr_enclave: u8, mr_signer: u8, svn: u16) -> Enclave {
    Enclave::new([mr_enclave; 32], [mr_signer; 32], 7, svn, true)
}

fn seal_request(policy: u16, svn: u16, cpu_svn: [u8; 16]) -> KeyRequest {
    KeyRequest {
        key_name: KeyName::Seal,
        key_policy: policy,
        isv_svn: svn,
        cpu_svn,
        attribute_mask: Attributes {
            flags: 0xff00_0000_0000_000b,
            xfrm: 0,
        },
        key_id: [0; 32],
        misc_mask: 0xf000_0000,
        config_svn: 0,
    }
}

#[test]
fn a_platform_is_kept_and_reopened_the_same() {
    let (dir, p) = platform();
    let again = Platform::open_or_create(dir.path()).unwrap();
    assert_eq!(p.root_der(), again.root_der());
    let e = app(1, 2, 3);
    let req = seal_request(KEYPOLICY_MRSIGNER, 3, p.cpu_svn());
    assert_eq!(p.get_key(&e, &req), again.get_key(&e, &req));
    let other_dir = tempfile::tempdir().unwrap();
    let other = Platform::open_or_create(other_dir.path()).unwrap();
    assert_ne!(other.root_der(), p.root_der());
    assert_ne!(
        other.get_key(&e, &req),
        p.get_key(&e, &req),
        "keys are per platform"
    );
    std::fs::write(other_dir.path().join("platform.json"), b"{").unwrap();
    let err = Platform::open_or_create(other_dir.path()).unwrap_err();
    assert!(
        err.to_string().contains("not a simulated SGX platform"),
        "{err}"
    );
}

#[test]
fn reports_verify_for_their_target_only_and_not_once_changed() {
    let (_, p) = platform();
    let me = app(1, 2, 0);
    let report = p.report(&me, &me.target_info(), &[9; 64]);
    assert!(p.verify_report(&me, &report));
    assert_eq!(report.body.report_data, [9; 64]);
    assert_eq!(report.body.mr_enclave, me.mr_enclave);
    let bytes = report.to_bytes();
    for at in [0, 25, 64, 100, 128, 170, 256, 300, 320, 383, 400, 431] {
        let mut flipped = bytes;
        flipped[at] ^= 1;
        assert!(
            !p.verify_report(&me, &Report::parse(&flipped)),
            "a report with byte {at} flipped must not verify"
        );
    }
    let other = app(3, 2, 0);
    assert!(
        !p.verify_report(&other, &report),
        "made for another enclave"
    );
}

#[test]
fn sealing_keys_follow_policy_and_refuse_higher_svns() {
    let (_, p) = platform();
    let cpu = p.cpu_svn();
    let v1 = app(1, 2, 5);
    let v2 = app(4, 2, 5);
    let by_enclave = seal_request(KEYPOLICY_MRENCLAVE, 5, cpu);
    let by_signer = seal_request(KEYPOLICY_MRSIGNER, 5, cpu);
    assert_ne!(p.get_key(&v1, &by_enclave), p.get_key(&v2, &by_enclave));
    assert_eq!(p.get_key(&v1, &by_signer), p.get_key(&v2, &by_signer));
    assert_ne!(
        p.get_key(&v1, &by_signer),
        p.get_key(&app(1, 9, 5), &by_signer)
    );
    assert_ne!(
        p.get_key(&v1, &by_signer),
        p.get_key(&v1, &seal_request(KEYPOLICY_MRSIGNER, 4, cpu)),
        "an older SVN's key differs (and is allowed)"
    );
    assert_eq!(
        p.get_key(&v1, &seal_request(KEYPOLICY_MRSIGNER, 6, cpu)),
        Err(KeyError::InvalidIsvSvn)
    );
    let mut higher = cpu;
    higher[0] += 1;
    assert_eq!(
        p.get_key(&v1, &seal_request(KEYPOLICY_MRSIGNER, 5, higher)),
        Err(KeyError::InvalidCpuSvn)
    );
    let provision = KeyRequest {
        key_name: KeyName::Provision,
        ..by_signer.clone()
    };
    assert_eq!(p.get_key(&v1, &provision), Err(KeyError::InvalidAttribute));
    let production = Enclave::new(v1.mr_enclave, v1.mr_signer, 7, 5, false);
    assert_ne!(
        p.get_key(&v1, &by_signer),
        p.get_key(&production, &by_signer),
        "a debug enclave never gets a production enclave's keys"
    );
}

#[test]
fn quotes_verify_against_their_root_and_nothing_else() {
    let (_, p) = platform();
    let me = app(1, 2, 3);
    let report = p.report(&me, &p.qe_target_info(), &[5; 64]);
    let q = p.quote(&report).unwrap();
    assert_eq!(q.len(), p.quote_size());
    let v = p.verify_quote(&q).unwrap();
    assert_eq!(v.body.mr_enclave, [1; 32]);
    assert_eq!(v.body.mr_signer, [2; 32]);
    assert_eq!(v.body.report_data, [5; 64]);
    assert_eq!((v.body.isv_prod_id, v.body.isv_svn), (7, 3));
    assert!(v.body.debug());

    // The layout as Intel's parsers read it.
    assert_eq!(&q[0..4], &[3, 0, 2, 0]);
    assert_eq!(&q[12..28], &quote::INTEL_QE_VENDOR_ID);
    assert_eq!(&q[48 + 64..48 + 96], &[1; 32], "MRENCLAVE at offset 112");
    assert_eq!(&q[368..432], &[5; 64], "report data at offset 368");

    // A report for this enclave itself is not a report for the QE.
    let not_for_qe = p.report(&me, &me.target_info(), &[5; 64]);
    assert!(p.quote(&not_for_qe).is_err());

    // Any flipped byte is refused (spot checks across every part).
    let step = q.len() / 97;
    for at in (0..q.len()).step_by(step.max(1)) {
        let mut bad = q.clone();
        bad[at] ^= 0x40;
        assert!(
            p.verify_quote(&bad).is_err(),
            "byte {at} flipped was accepted"
        );
    }
    // Another platform's root is not this one's.
    let other_dir = tempfile::tempdir().unwrap();
    let other = Platform::open_or_create(other_dir.path()).unwrap();
    assert!(matches!(
        other.verify_quote(&q),
        Err(QuoteError::Chain(crate::pki::ChainError::UntrustedRoot(_)))
    ));
    // Another platform's report cannot be quoted here.
    let foreign = other.report(&me, &other.qe_target_info(), &[5; 64]);
    assert!(p.quote(&foreign).is_err());
}

#[test]
fn malformed_quotes_are_errors_never_panics() {
    let (_, p) = platform();
    let report = p.report(&app(1, 2, 3), &p.qe_target_info(), &[5; 64]);
    let q = p.quote(&report).unwrap();
    for len in [
        0,
        1,
        47,
        48,
        432,
        435,
        436,
        quote::MIN_SIZE - 1,
        quote::MIN_SIZE,
        q.len() - 1,
    ] {
        assert!(p.verify_quote(&q[..len]).is_err(), "{len} bytes");
    }
    let mut long = q.clone();
    long.push(0);
    assert!(p.verify_quote(&long).is_err());
    // Sizes that point past the end, or wrap.
    for (at, v) in [(432usize, u32::MAX), (432, 0), (432, 1 << 31)] {
        let mut bad = q.clone();
        bad[at..at + 4].copy_from_slice(&v.to_le_bytes());
        assert!(p.verify_quote(&bad).is_err());
    }
    let auth_size_at = 436 + 576;
    let mut bad = q.clone();
    bad[auth_size_at..auth_size_at + 2].copy_from_slice(&u16::MAX.to_le_bytes());
    assert!(p.verify_quote(&bad).is_err());
    let cert_size_at = auth_size_at + 2 + 32 + 2;
    let mut bad = q.clone();
    bad[cert_size_at..cert_size_at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(p.verify_quote(&bad).is_err());
}
