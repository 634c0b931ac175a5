//! AES-256-GCM sealing of blocks and superblocks (`ring`: its assembly uses
//! AES-NI, VAES and carry-less multiplication where the CPU has them, several
//! times faster than a portable implementation on the read path).

use ring::aead::{Aad, LessSafeKey, Nonce, Tag, UnboundKey, AES_256_GCM};

use crate::error::{Error, Result};
use crate::layout::{Key, Ref, BLOCK_SIZE};

/// Length of a nonce.
pub(crate) const NONCE_LEN: usize = 12;
/// Length of a tag.
pub(crate) const TAG_LEN: usize = 16;
/// Batches at least this many blocks long are sealed on several threads.
const PARALLEL_MIN_BLOCKS: usize = 32;

/// The cipher keyed with the file-system key.
pub(crate) struct Crypto {
    aead: LessSafeKey,
    threads: usize,
}

fn seal_failed() -> Error {
    Error::Io(std::io::Error::other("AES-GCM sealing failed"))
}

impl Crypto {
    /// Keys the cipher; `threads` bounds the parallelism of batch sealing.
    pub fn new(key: &[u8; 32], threads: usize) -> Crypto {
        Crypto {
            aead: LessSafeKey::new(
                UnboundKey::new(&AES_256_GCM, key).expect("a 32-byte key suits AES-256-GCM"),
            ),
            threads: threads.max(1),
        }
    }

    /// Encrypts `buf` in place, returning the tag.
    pub fn seal(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], buf: &mut [u8]) -> Result<[u8; 16]> {
        let tag = self
            .aead
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(*nonce), Aad::from(aad), buf)
            .map_err(|_| seal_failed())?;
        let mut out = [0u8; TAG_LEN];
        out.copy_from_slice(tag.as_ref());
        Ok(out)
    }

    /// Authenticates and decrypts `buf` in place; false if it does not authenticate.
    pub fn open(
        &self,
        nonce: &[u8; NONCE_LEN],
        tag: &[u8; 16],
        aad: &[u8],
        buf: &mut [u8],
    ) -> bool {
        self.aead
            .open_in_place_separate_tag(
                Nonce::assume_unique_for_key(*nonce),
                Aad::from(aad),
                Tag::from(*tag),
                buf,
                0..,
            )
            .is_ok()
    }

    /// Decrypts one block in place, checking it against its reference.
    pub fn open_block(&self, key: &Key, r: &Ref, buf: &mut [u8]) -> bool {
        self.open(&r.nonce, &r.tag, &key.aad(), buf)
    }

    /// Seals consecutive blocks of `buf` (one per key, with the matching nonce),
    /// returning their tags; large batches are spread over threads.
    pub fn seal_blocks(
        &self,
        keys: &[Key],
        nonces: &[[u8; NONCE_LEN]],
        buf: &mut [u8],
    ) -> Result<Vec<[u8; TAG_LEN]>> {
        let n = keys.len();
        let mut tags = vec![[0u8; TAG_LEN]; n];
        let threads = self.threads.min(n / (PARALLEL_MIN_BLOCKS / 2)).max(1);
        if threads == 1 {
            self.seal_range(keys, nonces, buf, &mut tags)?;
            return Ok(tags);
        }
        let per = n.div_ceil(threads);
        std::thread::scope(|s| {
            let handles: Vec<_> = buf
                .chunks_mut(per * BLOCK_SIZE)
                .zip(tags.chunks_mut(per))
                .zip(keys.chunks(per).zip(nonces.chunks(per)))
                .map(|((b, t), (k, nc))| s.spawn(move || self.seal_range(k, nc, b, t)))
                .collect();
            handles
                .into_iter()
                .try_for_each(|h| h.join().unwrap_or_else(|_| Err(seal_failed())))
        })?;
        Ok(tags)
    }

    fn seal_range(
        &self,
        keys: &[Key],
        nonces: &[[u8; NONCE_LEN]],
        buf: &mut [u8],
        tags: &mut [[u8; TAG_LEN]],
    ) -> Result<()> {
        for (((key, nonce), block), tag) in keys
            .iter()
            .zip(nonces)
            .zip(buf.chunks_mut(BLOCK_SIZE))
            .zip(tags.iter_mut())
        {
            *tag = self.seal(nonce, &key.aad(), block)?;
        }
        Ok(())
    }

    /// Decrypts consecutive blocks of `buf` in place against their references;
    /// returns the index of the first block that fails to authenticate.
    pub fn open_blocks(
        &self,
        keys: &[Key],
        refs: &[Ref],
        buf: &mut [u8],
    ) -> std::result::Result<(), usize> {
        let n = keys.len();
        let threads = self.threads.min(n / (PARALLEL_MIN_BLOCKS / 2)).max(1);
        if threads == 1 {
            return self.open_range(keys, refs, buf, 0);
        }
        let per = n.div_ceil(threads);
        std::thread::scope(|s| {
            let handles: Vec<_> = buf
                .chunks_mut(per * BLOCK_SIZE)
                .zip(keys.chunks(per).zip(refs.chunks(per)))
                .enumerate()
                .map(|(i, (b, (k, r)))| s.spawn(move || self.open_range(k, r, b, i * per)))
                .collect();
            let mut result = Ok(());
            for (i, h) in handles.into_iter().enumerate() {
                let r = h.join().unwrap_or(Err(i * per));
                if result.is_ok() {
                    result = r;
                }
            }
            result
        })
    }

    fn open_range(
        &self,
        keys: &[Key],
        refs: &[Ref],
        buf: &mut [u8],
        base: usize,
    ) -> std::result::Result<(), usize> {
        for (i, ((key, r), block)) in keys
            .iter()
            .zip(refs)
            .zip(buf.chunks_mut(BLOCK_SIZE))
            .enumerate()
        {
            if !self.open_block(key, r, block) {
                return Err(base + i);
            }
        }
        Ok(())
    }
}
