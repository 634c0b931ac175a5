//! Keys of the encrypted file system.
//!
//! On SGX the sealing key comes from the CPU, bound to the enclave's signer
//! (MRSIGNER) and product id: another signer cannot derive it. The
//! simulation has no CPU secret, so the platform secret below is a constant
//! of this program: the derivation still binds the key to the signer and
//! product id (an instance signed by another key cannot read the files),
//! but anyone holding this binary and the signer's identity can derive it.
//! Real protection against the host needs hardware; see docs/filesystems.md.

use hkdf::Hkdf;
use sha2::Sha256;

/// The simulated platform's root secret (public: see the module docs).
const SIMULATED_PLATFORM_SECRET: &[u8] = b"occlum-rs simulated platform: no hardware secret";

/// A 256-bit key whose `Debug` does not show it.
#[derive(Clone)]
pub struct Key(pub [u8; 32]);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(..)")
    }
}

/// The sealing key of enclaves signed by `mrsigner` with `product_id`, for
/// the encrypted file system.
pub fn sealing_key(mrsigner: &[u8; 32], product_id: u32) -> Key {
    let hk = Hkdf::<Sha256>::new(Some(mrsigner), SIMULATED_PLATFORM_SECRET);
    let mut info = b"occlum-rs sealing key: sefs\0".to_vec();
    info.extend_from_slice(&product_id.to_le_bytes());
    let mut out = [0u8; 32];
    hk.expand(&info, &mut out)
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    Key(out)
}

/// The file-system key made from a user's image key (`--image-key`).
pub fn image_key(user_key: &[u8]) -> Key {
    let hk = Hkdf::<Sha256>::new(Some(b"occlum-rs image key"), user_key);
    let mut out = [0u8; 32];
    hk.expand(b"sefs", &mut out)
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    Key(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_depend_on_signer_product_and_user_key() {
        let a = sealing_key(&[1; 32], 0).0;
        assert_ne!(a, sealing_key(&[2; 32], 0).0);
        assert_ne!(a, sealing_key(&[1; 32], 1).0);
        assert_eq!(a, sealing_key(&[1; 32], 0).0);
        assert_ne!(image_key(b"k1").0, image_key(b"k2").0);
        assert_ne!(image_key(&[1; 32]).0, a);
    }
}
