//! A broker on 127.0.0.1 and enclaves of a simulated platform: who gets
//! the secrets, and who does not.

use std::collections::BTreeMap;
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;

use occlum_attest::{Enclave, Platform};
use p256::ecdsa::SigningKey;

use super::*;

struct Setup {
    dir: tempfile::TempDir,
    platform: Platform,
    addr: std::net::SocketAddr,
    pin: [u8; 32],
    log: mpsc::Receiver<String>,
}

fn policy_for(mrenclave: &[u8; 32]) -> String {
    format!(
        r#"{{"mrenclave": ["{}"], "allow_debug": true}}"#,
        hex(mrenclave)
    )
}

fn setup(allowed: &Enclave) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform::open_or_create(&dir.path().join("platform")).unwrap();
    std::fs::write(
        dir.path().join("policy.json"),
        policy_for(&allowed.mr_enclave),
    )
    .unwrap();
    let key = SigningKey::random(&mut rand_core::OsRng);
    let pin = ratls::public_key_sha256(&key).unwrap();
    let secrets: BTreeMap<String, Vec<u8>> = [("db".to_string(), b"s3cret".to_vec())].into();
    let broker = Broker::new(
        &key,
        dir.path().join("policy.json"),
        vec![platform.root_der().to_vec()],
        secrets,
    )
    .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, log) = mpsc::channel();
    std::thread::spawn(move || {
        let tx = std::sync::Mutex::new(tx);
        broker.serve(listener, move |m| {
            let _ = tx.lock().unwrap().send(m);
        })
    });
    Setup {
        dir,
        platform,
        addr,
        pin,
        log,
    }
}

fn identity(platform: &Platform, enclave: &Enclave) -> Identity {
    ratls::attested_identity(|rd| {
        let report = platform.report(enclave, &platform.qe_target_info(), rd);
        platform.quote(&report).map_err(|e| e.to_string())
    })
    .unwrap()
}

fn enclave(mre: u8) -> Enclave {
    Enclave::new([mre; 32], [2; 32], 0, 0, true)
}

impl Setup {
    fn fetch(&self, me: &Identity, pin: [u8; 32]) -> Result<BTreeMap<String, Vec<u8>>, String> {
        fetch(TcpStream::connect(self.addr).unwrap(), pin, me)
    }

    fn last_log(&self) -> String {
        self.log
            .recv_timeout(std::time::Duration::from_secs(20))
            .unwrap()
    }
}

#[test]
fn an_allowed_enclave_gets_the_secrets_and_others_do_not() {
    let app = enclave(1);
    let s = setup(&app);
    let me = identity(&s.platform, &app);
    let got = s.fetch(&me, s.pin).unwrap();
    assert_eq!(got.get("db").map(Vec::as_slice), Some(&b"s3cret"[..]));
    assert!(s.last_log().contains("released 1 secret(s)"));

    let other = identity(&s.platform, &enclave(9));
    let e = s.fetch(&other, s.pin).unwrap_err();
    assert!(e.contains("refused"), "{e}");
    assert!(s.last_log().contains("MRENCLAVE"), "the broker says why");

    // The policy is read at every connection: the same enclave, now refused.
    std::fs::write(s.dir.path().join("policy.json"), policy_for(&[7; 32])).unwrap();
    assert!(s.fetch(&me, s.pin).is_err());
    assert!(s.last_log().contains("not in the policy"));
}

#[test]
fn a_replayed_quote_on_another_key_is_refused() {
    let app = enclave(1);
    let s = setup(&app);
    let genuine = identity(&s.platform, &app);
    // A new key, with the genuine certificate's quote copied in.
    let cert = x509_cert::Certificate::from_der(&genuine.cert_der).unwrap();
    let quote = cert
        .tbs_certificate
        .extensions
        .iter()
        .flatten()
        .find(|e| e.extn_id == ratls::QUOTE_OID)
        .unwrap()
        .extn_value
        .as_bytes()
        .to_vec();
    let replay = ratls::attested_identity(|_| Ok(quote)).unwrap();
    assert!(s.fetch(&replay, s.pin).is_err());
    assert!(
        s.last_log().contains("not bound"),
        "refused for the binding"
    );
    // The genuine certificate with another key: the handshake fails.
    let stolen = Identity {
        cert_der: genuine.cert_der.clone(),
        key_der: replay.key_der.clone(),
    };
    assert!(s.fetch(&stolen, s.pin).is_err());
    let _ = s.last_log();
}

#[test]
fn enclaves_of_another_platform_and_other_brokers_are_refused() {
    let app = enclave(1);
    let s = setup(&app);
    let elsewhere = Platform::open_or_create(&s.dir.path().join("elsewhere")).unwrap();
    let foreign = identity(&elsewhere, &app);
    assert!(s.fetch(&foreign, s.pin).is_err());
    assert!(s.last_log().contains("not trusted"));
    let me = identity(&s.platform, &app);
    let e = s.fetch(&me, [0; 32]).unwrap_err();
    assert!(e.contains("not the configured"), "{e}");
    let _ = s.last_log();
}

use x509_cert::der::Decode;
