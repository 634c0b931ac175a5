//! Secret provisioning: a key broker ([`Broker`], `occlum kms serve`) that
//! releases secrets only to enclaves whose quote matches a policy, over
//! RA-TLS ([`ratls`]), and the enclave's side ([`fetch`]).
//!
//! The enclave connects with a fresh TLS key and a certificate that carries
//! a quote binding that key; the broker checks the quote up to its trusted
//! root, the binding, and the policy (re-read at every connection), then
//! sends the secrets and closes. The enclave trusts only the broker whose
//! TLS public key has the SHA-256 in its (measured) configuration. The
//! quotes come from a simulated SGX platform here (see `occlum-attest`):
//! the protocol is real, the hardware guarantee is not.

#![forbid(unsafe_code)]

pub mod policy;
pub mod ratls;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use serde::{Deserialize, Serialize};

pub use policy::Policy;
pub use ratls::Identity;

/// How long one exchange may take before the other side is given up on.
const TIMEOUT: Duration = Duration::from_secs(20);
/// The name the enclave asks for (the broker is pinned by key, not name).
const SERVER_NAME: &str = "key-broker.occlum-rs.invalid";
/// The largest answer the enclave reads.
const MAX_ANSWER: u64 = 16 << 20;

fn provider() -> Arc<CryptoProvider> {
    // ring (rather than aws-lc-rs, which needs cmake and takes minutes to
    // build); without post-quantum key exchange, which rustls now flags.
    #[allow(deprecated)]
    Arc::new(rustls::crypto::ring::default_provider())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok())
        .collect()
}

fn to_system_time(t: UnixTime) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(t.as_secs())
}

/// What the broker sends an enclave it trusts.
#[derive(Serialize, Deserialize)]
struct Answer {
    /// Secret name to its bytes, hex.
    secrets: BTreeMap<String, String>,
}

/// The handshake signature checks both sides make alike: with the
/// provider's algorithms, against the certificate's key.
macro_rules! handshake_signatures {
    () => {
        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls12_signature(
                message,
                cert,
                dss,
                &self.provider.signature_verification_algorithms,
            )
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls13_signature(
                message,
                cert,
                dss,
                &self.provider.signature_verification_algorithms,
            )
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.provider
                .signature_verification_algorithms
                .supported_schemes()
        }
    };
}

/// The broker's check of a client certificate: an attested enclave that
/// the policy allows.
#[derive(Debug)]
struct AttestedClient {
    roots: Vec<Vec<u8>>,
    policy: PathBuf,
    provider: Arc<CryptoProvider>,
}

impl ClientCertVerifier for AttestedClient {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let v = ratls::verify_peer(end_entity, &self.roots, to_system_time(now))
            .map_err(rustls::Error::General)?;
        Policy::load(&self.policy)
            .and_then(|p| p.check(&v.body))
            .map_err(rustls::Error::General)?;
        Ok(ClientCertVerified::assertion())
    }

    handshake_signatures!();
}

/// The enclave's check of the broker: its key is the pinned one.
#[derive(Debug)]
struct PinnedServer {
    key_sha256: [u8; 32],
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let got = ratls::key_sha256(end_entity).map_err(rustls::Error::General)?;
        if got != self.key_sha256 {
            return Err(rustls::Error::General(format!(
                "the key broker's key is {}, not the configured {}",
                hex(&got),
                hex(&self.key_sha256)
            )));
        }
        Ok(ServerCertVerified::assertion())
    }

    handshake_signatures!();
}

fn key_of(id: &Identity) -> PrivateKeyDer<'static> {
    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(id.key_der.clone()))
}

/// The key broker.
pub struct Broker {
    config: Arc<rustls::ServerConfig>,
    secrets: Arc<BTreeMap<String, Vec<u8>>>,
    roots: Vec<Vec<u8>>,
}

impl Broker {
    /// A broker with TLS key `key` that releases `secrets` to enclaves
    /// whose quotes chain up to one of `roots` (DER) and match the policy
    /// in the file `policy` (read again for every connection, so that it
    /// can change while the broker runs).
    pub fn new(
        key: &p256::ecdsa::SigningKey,
        policy: PathBuf,
        roots: Vec<Vec<u8>>,
        secrets: BTreeMap<String, Vec<u8>>,
    ) -> Result<Broker, String> {
        Policy::load(&policy)?;
        let me = ratls::plain_identity(key)?;
        let provider = provider();
        let verifier = AttestedClient {
            roots: roots.clone(),
            policy,
            provider: provider.clone(),
        };
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_client_cert_verifier(Arc::new(verifier))
            .with_single_cert(vec![CertificateDer::from(me.cert_der.clone())], key_of(&me))
            .map_err(|e| e.to_string())?;
        Ok(Broker {
            config: Arc::new(config),
            secrets: Arc::new(secrets),
            roots,
        })
    }

    /// Serves one connection: a handshake with an enclave the policy allows,
    /// then the secrets. Returns what happened, for the log.
    pub fn handle(&self, tcp: TcpStream) -> Result<String, String> {
        let _ = tcp.set_read_timeout(Some(TIMEOUT));
        let _ = tcp.set_write_timeout(Some(TIMEOUT));
        let conn = rustls::ServerConnection::new(self.config.clone()).map_err(|e| e.to_string())?;
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        while tls.conn.is_handshaking() {
            tls.conn.complete_io(&mut tls.sock).map_err(|e| {
                match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                    Some(rustls::Error::General(why)) => format!("refused: {why}"),
                    _ => format!("refused: {e}"),
                }
            })?;
        }
        let cert = tls
            .conn
            .peer_certificates()
            .and_then(|c| c.first())
            .ok_or("refused: no client certificate")?;
        let who = ratls::verify_peer(cert, &self.roots, SystemTime::now())?;
        let answer = Answer {
            secrets: self
                .secrets
                .iter()
                .map(|(k, v)| (k.clone(), hex(v)))
                .collect(),
        };
        let mut text = serde_json::to_vec(&answer).map_err(|e| e.to_string())?;
        text.push(b'\n');
        tls.write_all(&text).map_err(|e| e.to_string())?;
        tls.conn.send_close_notify();
        tls.flush().map_err(|e| e.to_string())?;
        Ok(format!(
            "released {} secret(s) to MRENCLAVE {} (MRSIGNER {})",
            self.secrets.len(),
            hex(&who.body.mr_enclave),
            hex(&who.body.mr_signer)
        ))
    }

    /// Serves connections from `listener`, one thread each, until it fails;
    /// `log` gets one line per connection.
    pub fn serve(
        self,
        listener: TcpListener,
        log: impl Fn(String) + Send + Sync + 'static,
    ) -> std::io::Error {
        let broker = Arc::new(self);
        let log = Arc::new(log);
        loop {
            let (tcp, peer) = match listener.accept() {
                Ok(c) => c,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return e,
            };
            let (broker, log) = (broker.clone(), log.clone());
            std::thread::spawn(move || match broker.handle(tcp) {
                Ok(m) => log(format!("{peer}: {m}")),
                Err(e) => log(format!("{peer}: {e}")),
            });
        }
    }
}

/// The enclave's side: over `sock`, with identity `me` (from
/// [`ratls::attested_identity`]), from the broker whose TLS key has SHA-256
/// `key_sha256`, the secrets by name.
pub fn fetch<S: Read + Write>(
    sock: S,
    key_sha256: [u8; 32],
    me: &Identity,
) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let provider = provider();
    let verifier = PinnedServer {
        key_sha256,
        provider: provider.clone(),
    };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_client_auth_cert(vec![CertificateDer::from(me.cert_der.clone())], key_of(me))
        .map_err(|e| e.to_string())?;
    let name = ServerName::try_from(SERVER_NAME).map_err(|e| e.to_string())?;
    let conn = rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())?;
    let tls = rustls::StreamOwned::new(conn, sock);
    let mut text = Vec::new();
    tls.take(MAX_ANSWER).read_to_end(&mut text).map_err(|e| {
        match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
            Some(rustls::Error::AlertReceived(a)) => {
                format!("the key broker refused this enclave ({a:?})")
            }
            _ => e.to_string(),
        }
    })?;
    let answer: Answer = serde_json::from_slice(&text)
        .map_err(|e| format!("the key broker's answer is not valid: {e}"))?;
    answer
        .secrets
        .into_iter()
        .map(|(k, v)| {
            let bytes = unhex(&v).ok_or_else(|| format!("secret {k:?} is not hex"))?;
            Ok((k, bytes))
        })
        .collect()
}

#[cfg(test)]
mod tests;
