//! RA-TLS: an enclave's TLS certificate carries a quote whose report data
//! is the SHA-256 of the certificate's public key, so that a verifier that
//! checks the quote and the TLS handshake (which proves possession of that
//! key) knows it talks to the quoted enclave. A quote copied into another
//! certificate names the wrong key; a certificate replayed on a new
//! connection fails the handshake without the key.

use std::time::{Duration, SystemTime};

use occlum_attest::quote::{self, Verified};
use p256::ecdsa::{DerSignature, SigningKey};
use p256::pkcs8::EncodePrivateKey;
use sha2::{Digest, Sha256};
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::der::asn1::OctetString;
use x509_cert::der::{Decode, Encode, Length, Writer};
use x509_cert::ext::{AsExtension, Extension};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{ObjectIdentifier, SubjectPublicKeyInfoOwned};
use x509_cert::time::Validity;
use x509_cert::Certificate;

/// The extension that holds the quote (Intel's SGX arc, as Gramine's
/// RA-TLS uses it): its value is the quote's bytes.
pub const QUOTE_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113741.1.13.1.0");

/// The report data that binds a quote to a certificate whose public key
/// (SubjectPublicKeyInfo, DER) is `spki_der`.
pub fn report_data_for(spki_der: &[u8]) -> [u8; 64] {
    let mut d = [0u8; 64];
    d[..32].copy_from_slice(&Sha256::digest(spki_der));
    d
}

/// A TLS key and its self-signed certificate (DER).
pub struct Identity {
    /// The private key, PKCS#8 DER.
    pub key_der: Vec<u8>,
    /// The certificate, DER.
    pub cert_der: Vec<u8>,
}

/// The quote, written as the extension's raw value.
struct QuoteExtension(Vec<u8>);

impl x509_cert::der::oid::AssociatedOid for QuoteExtension {
    const OID: ObjectIdentifier = QUOTE_OID;
}

impl Encode for QuoteExtension {
    fn encoded_len(&self) -> x509_cert::der::Result<Length> {
        Length::try_from(self.0.len())
    }

    fn encode(&self, w: &mut impl Writer) -> x509_cert::der::Result<()> {
        w.write(&self.0)
    }
}

impl AsExtension for QuoteExtension {
    fn critical(&self, _: &Name, _: &[Extension]) -> bool {
        false
    }
}

/// A self-signed certificate for `key` named `subject`, with `quote` in
/// it if given.
fn certificate(key: &SigningKey, subject: &str, quote: Option<Vec<u8>>) -> Result<Vec<u8>, String> {
    let spki = SubjectPublicKeyInfoOwned::from_key(*key.verifying_key())
        .map_err(|e| format!("key: {e}"))?;
    let mut validity = Validity::from_now(Duration::from_secs(10 * 365 * 86400))
        .map_err(|e| format!("validity: {e}"))?;
    validity.not_before =
        x509_cert::time::Time::try_from(SystemTime::now() - Duration::from_secs(86400))
            .map_err(|e| format!("validity: {e}"))?;
    let name: Name = subject.parse().map_err(|e| format!("name: {e}"))?;
    let mut builder = CertificateBuilder::new(
        Profile::Leaf {
            issuer: name.clone(),
            enable_key_agreement: false,
            enable_key_encipherment: false,
        },
        SerialNumber::from(1u32),
        validity,
        name,
        spki,
        key,
    )
    .map_err(|e| format!("certificate: {e}"))?;
    if let Some(q) = quote {
        builder
            .add_extension(&QuoteExtension(q))
            .map_err(|e| format!("certificate: {e}"))?;
    }
    let cert = builder
        .build::<DerSignature>()
        .map_err(|e| format!("certificate: {e}"))?;
    cert.to_der().map_err(|e| format!("certificate: {e}"))
}

fn spki_der(key: &SigningKey) -> Result<Vec<u8>, String> {
    SubjectPublicKeyInfoOwned::from_key(*key.verifying_key())
        .and_then(|s| s.to_der().map_err(Into::into))
        .map_err(|e| format!("key: {e}"))
}

fn key_der(key: &SigningKey) -> Result<Vec<u8>, String> {
    key.to_pkcs8_der()
        .map(|d| d.as_bytes().to_vec())
        .map_err(|e| format!("key: {e}"))
}

/// A new key and a certificate carrying the quote `make_quote` gives for
/// the key's report data: what an enclave presents.
pub fn attested_identity(
    make_quote: impl FnOnce(&[u8; 64]) -> Result<Vec<u8>, String>,
) -> Result<Identity, String> {
    let key = SigningKey::random(&mut rand_core::OsRng);
    let quote = make_quote(&report_data_for(&spki_der(&key)?))?;
    Ok(Identity {
        cert_der: certificate(&key, "CN=occlum-rs enclave (RA-TLS)", Some(quote))?,
        key_der: key_der(&key)?,
    })
}

/// A certificate for `key` without a quote: what the key broker presents.
pub fn plain_identity(key: &SigningKey) -> Result<Identity, String> {
    Ok(Identity {
        cert_der: certificate(key, "CN=occlum-rs key broker", None)?,
        key_der: key_der(key)?,
    })
}

/// SHA-256 of the public key (SubjectPublicKeyInfo, DER) of a certificate:
/// what a client pins a server by.
pub fn key_sha256(cert_der: &[u8]) -> Result<[u8; 32], String> {
    let cert = Certificate::from_der(cert_der).map_err(|e| format!("certificate: {e}"))?;
    let spki = cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| format!("certificate: {e}"))?;
    Ok(Sha256::digest(spki).into())
}

/// SHA-256 of `key`'s public key, as [`key_sha256`] gives it for its certificate.
pub fn public_key_sha256(key: &SigningKey) -> Result<[u8; 32], String> {
    Ok(Sha256::digest(spki_der(key)?).into())
}

/// Checks the quote in a peer's certificate up to `roots`, and that it is
/// bound to the certificate's key. Returns what the quote says.
pub fn verify_peer(
    cert_der: &[u8],
    roots: &[Vec<u8>],
    now: SystemTime,
) -> Result<Verified, String> {
    let cert = Certificate::from_der(cert_der).map_err(|e| format!("certificate: {e}"))?;
    let tbs = &cert.tbs_certificate;
    let ext = tbs
        .extensions
        .iter()
        .flatten()
        .find(|e| e.extn_id == QUOTE_OID)
        .ok_or("the certificate carries no quote (not an attested enclave)")?;
    let quote_bytes: &OctetString = &ext.extn_value;
    let v = quote::verify(
        quote_bytes.as_bytes(),
        roots,
        &occlum_attest::quoting_enclave_identity(),
        now,
    )
    .map_err(|e| format!("{e}"))?;
    let spki = tbs
        .subject_public_key_info
        .to_der()
        .map_err(|e| format!("certificate: {e}"))?;
    if v.body.report_data != report_data_for(&spki) {
        return Err("the quote is not bound to this connection's key (a replayed quote?)".into());
    }
    Ok(v)
}
