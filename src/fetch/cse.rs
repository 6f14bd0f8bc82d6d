//! Result objects Athena wrote with CSE_KMS (the S3 Encryption Client's V2 envelope), read on
//! the fast path: in parallel ranges, as any other result object.
//!
//! - **The envelope** comes with the object's first GET (its user metadata): the data key as KMS
//!   sealed it (`x-amz-key-v2`), the IV, the material description (`x-amz-matdesc`, also the KMS
//!   encryption context) and the algorithms. One KMS `Decrypt` per object gives the data key
//!   (kept for the object's other ranges).
//! - **Ranges decrypt on their own** with AES-CTR, as the S3 Encryption Client reads ranged GETs
//!   of GCM content: the counter starts at `IV || 00000002` and moves with the byte offset.
//! - **The whole object is authenticated** before its last bytes are handed on: each range also
//!   computes GHASH over its ciphertext (in parallel, on the task that fetched it), the pieces are
//!   combined in order (a piece's hash is multiplied by `H^blocks after it`), and the GCM tag (the
//!   object's last 16 bytes) must match. A changed byte anywhere fails the read before its last
//!   rows exist.
//!
//! The ciphers are RustCrypto's `aes` + `ctr` (keystream) and `ghash` (the GCM hash, also used
//! for the field multiplications that combine pieces); no cipher is written here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aes::Aes256;
use aes::cipher::{BlockCipherEncrypt, KeyInit, KeyIvInit, StreamCipher, StreamCipherSeek};
use base64::Engine;
use ghash::GHash;
use ghash::universal_hash::UniversalHash;

use crate::error::{Error, ErrorKind, Result};

/// AES-256 in CTR mode with GCM's 32-bit big-endian counter.
type Aes256Ctr = ctr::Ctr32BE<Aes256>;
/// A GCM tag's bytes.
pub(crate) const TAG_LEN: u64 = 16;

/// The envelope of a CSE_KMS object (its user metadata).
#[derive(Debug, Clone)]
pub(crate) struct Envelope {
    /// The data key sealed by KMS.
    sealed_key: Vec<u8>,
    iv: [u8; 12],
    /// The KMS encryption context (`x-amz-matdesc`).
    context: HashMap<String, String>,
}

impl Envelope {
    /// The envelope in an object's user metadata; `Ok(None)` for an object without one.
    /// Envelopes this reader cannot open (V1, V3, AES-CBC content) are errors, never ciphertext
    /// handed on as data.
    pub(crate) fn from_metadata(uri: &str, meta: Option<&HashMap<String, String>>) -> Result<Option<Self>> {
        let Some(meta) = meta else { return Ok(None) };
        let unsupported = |what: &str| Error::Storage {
            uri: uri.to_owned(),
            message: format!("the object is client-side encrypted with {what}, which this client does not read"),
            source: None,
        };
        if meta.contains_key("x-amz-c") || meta.contains_key("x-amz-3") {
            return Err(unsupported("the S3 Encryption Client's V3 format"));
        }
        let Some(sealed_key) = meta.get("x-amz-key-v2") else {
            return match meta.contains_key("x-amz-key") {
                true => Err(unsupported("the S3 Encryption Client's V1 format")),
                false => Ok(None),
            };
        };
        let bad =
            |what: &str| Error::Storage { uri: uri.to_owned(), message: format!("malformed encryption envelope: {what}"), source: None };
        match meta.get("x-amz-cek-alg").map(String::as_str) {
            Some("AES/GCM/NoPadding") => {}
            Some(other) => return Err(unsupported(&format!("content algorithm {other}"))),
            None => return Err(bad("no x-amz-cek-alg")),
        }
        match meta.get("x-amz-wrap-alg").map(String::as_str) {
            Some("kms" | "kms+context") => {}
            Some(other) => return Err(unsupported(&format!("key wrapping {other}"))),
            None => return Err(bad("no x-amz-wrap-alg")),
        }
        if meta.get("x-amz-tag-len").is_some_and(|t| t != "128") {
            return Err(unsupported("a tag length other than 128 bits"));
        }
        let b64 = base64::engine::general_purpose::STANDARD;
        let sealed_key = b64.decode(sealed_key).map_err(|_| bad("x-amz-key-v2 is not base64"))?;
        let iv = meta.get("x-amz-iv").and_then(|iv| b64.decode(iv).ok()).ok_or_else(|| bad("x-amz-iv missing or not base64"))?;
        let iv: [u8; 12] = iv.try_into().map_err(|_| bad("x-amz-iv is not 12 bytes"))?;
        let context = match meta.get("x-amz-matdesc") {
            Some(text) => serde_json::from_str(text).map_err(|_| bad("x-amz-matdesc is not a JSON object of strings"))?,
            None => HashMap::new(),
        };
        Ok(Some(Self { sealed_key, iv, context }))
    }
}

/// Data keys from KMS, one `Decrypt` per object (kept by sealed key for the object's ranges).
#[derive(Clone)]
pub(crate) struct DataKeys {
    kms: aws_sdk_kms::Client,
    keys: Arc<Mutex<HashMap<Vec<u8>, [u8; 32]>>>,
}

impl std::fmt::Debug for DataKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataKeys").finish_non_exhaustive()
    }
}

/// Data keys kept at most (32 bytes each, one per object read).
const KEPT_KEYS: usize = 4096;

impl DataKeys {
    pub(crate) fn new(kms: aws_sdk_kms::Client) -> Self {
        Self { kms, keys: Default::default() }
    }

    /// The cipher of an object with `envelope`: its data key from KMS (or kept from before).
    /// A refused `Decrypt` is an [`Error::Api`] of operation `KMS Decrypt`.
    pub(crate) async fn cipher(&self, envelope: &Envelope) -> Result<ObjectCipher> {
        let kept = self.keys.lock().unwrap().get(&envelope.sealed_key).copied();
        let key = match kept {
            Some(key) => key,
            None => {
                let key = self.decrypt(envelope).await?;
                let mut keys = self.keys.lock().unwrap();
                if keys.len() >= KEPT_KEYS {
                    keys.clear();
                }
                keys.insert(envelope.sealed_key.clone(), key);
                key
            }
        };
        Ok(ObjectCipher::new(&key, envelope.iv))
    }

    async fn decrypt(&self, envelope: &Envelope) -> Result<[u8; 32]> {
        use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
        let sent = self
            .kms
            .decrypt()
            .ciphertext_blob(aws_smithy_types::Blob::new(envelope.sealed_key.clone()))
            .set_encryption_context(Some(envelope.context.clone()))
            .send()
            .await;
        let out = sent.map_err(|e| {
            let (code, message) = match &e {
                SdkError::ServiceError(se) => (se.err().code().map(str::to_owned), se.err().message().unwrap_or("no message").to_owned()),
                other => (None, crate::error::message_with_causes(other)),
            };
            let kind = match code.as_deref() {
                Some("AccessDeniedException" | "UnrecognizedClientException" | "InvalidSignatureException") => ErrorKind::Unauthenticated,
                Some(_) => ErrorKind::Service,
                None => ErrorKind::Unreachable,
            };
            Error::Api { operation: "KMS Decrypt", code, message, retryable: false, kind, source: Some(Box::new(e)) }
        })?;
        let plain = out.plaintext().map(|b| b.as_ref().to_vec()).unwrap_or_default();
        plain.try_into().map_err(|p: Vec<u8>| Error::Api {
            operation: "KMS Decrypt",
            code: None,
            message: format!("the data key is {} bytes, not 32 (AES-256)", p.len()),
            retryable: false,
            kind: ErrorKind::Service,
            source: None,
        })
    }
}

/// Whether `e` is KMS refusing this caller the data key (a result then read through the API).
pub(crate) fn is_key_refused(e: &Error) -> bool {
    matches!(e, Error::Api { operation: "KMS Decrypt", kind: ErrorKind::Unauthenticated, .. })
}

/// An object's data key: decrypts any range, hashes ranges for the tag check.
#[derive(Clone)]
pub(crate) struct ObjectCipher {
    key: [u8; 32],
    iv: [u8; 12],
    /// GHASH's key `H = E(K, 0^128)`.
    h: [u8; 16],
    /// `E(K, IV || 00000001)`, which masks the tag.
    tag_mask: [u8; 16],
}

impl std::fmt::Debug for ObjectCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectCipher").finish_non_exhaustive()
    }
}

/// `a * b` in GCM's field, by GHASH of one block (`(0 ^ a) * b`).
fn mul(a: [u8; 16], b: [u8; 16]) -> [u8; 16] {
    let mut g = GHash::new(&b.into());
    g.update(&[a.into()]);
    g.finalize().into()
}

/// `x * h^n` in GCM's field (square and multiply).
fn mul_pow(mut x: [u8; 16], h: [u8; 16], mut n: u64) -> [u8; 16] {
    let mut power = h;
    while n > 0 {
        if n & 1 == 1 {
            x = mul(x, power);
        }
        n >>= 1;
        if n > 0 {
            power = mul(power, power);
        }
    }
    x
}

fn xor(a: [u8; 16], b: [u8; 16]) -> [u8; 16] {
    std::array::from_fn(|i| a[i] ^ b[i])
}

impl ObjectCipher {
    pub(crate) fn new(key: &[u8; 32], iv: [u8; 12]) -> Self {
        let aes = Aes256::new(key.into());
        let mut h = [0u8; 16].into();
        aes.encrypt_block(&mut h);
        let mut j0 = [0u8; 16];
        j0[..12].copy_from_slice(&iv);
        j0[15] = 1;
        let mut mask = j0.into();
        aes.encrypt_block(&mut mask);
        Self { key: *key, iv, h: h.into(), tag_mask: mask.into() }
    }

    /// Decrypts `buf`, the object's bytes from `offset` on, in place (two passes, the reference
    /// of [`open_in_place`](Self::open_in_place)).
    #[cfg(test)]
    pub(crate) fn decrypt(&self, offset: u64, buf: &mut [u8]) {
        let mut counter = [0u8; 16];
        counter[..12].copy_from_slice(&self.iv);
        counter[15] = 2;
        let mut ctr = Aes256Ctr::new(&self.key.into(), &counter.into());
        ctr.seek(offset);
        ctr.apply_keystream(buf);
    }

    /// The GHASH share of ciphertext bytes `offset..offset + len` (before decrypting them).
    #[cfg(test)]
    pub(crate) fn hash(&self, offset: u64, ciphertext: &[u8]) -> Piece {
        let head_len = ((16 - offset % 16) % 16).min(ciphertext.len() as u64) as usize;
        let (head, rest) = ciphertext.split_at(head_len);
        let whole = rest.len() / 16 * 16;
        let (blocks, tail) = rest.split_at(whole);
        let mut g = GHash::new(&self.h.into());
        g.update_padded(blocks);
        Piece {
            offset,
            len: ciphertext.len() as u64,
            head: head.to_vec(),
            hash: g.finalize().into(),
            blocks: (whole / 16) as u64,
            tail: tail.to_vec(),
        }
    }

    /// Hashes `buf` (ciphertext, the object's bytes from `offset` on) and decrypts it in place,
    /// in one pass of cache-sized slices: each slice is hashed, then decrypted while it is still
    /// in cache. Gives what [`hash`](Self::hash) then [`decrypt`](Self::decrypt) give.
    pub(crate) fn open_in_place(&self, offset: u64, buf: &mut [u8]) -> Piece {
        const SLICE: usize = 16 << 10;
        let head_len = ((16 - offset % 16) % 16).min(buf.len() as u64) as usize;
        let whole = (buf.len() - head_len) / 16 * 16;
        let head = buf[..head_len].to_vec();
        let tail = buf[head_len + whole..].to_vec();
        let mut counter = [0u8; 16];
        counter[..12].copy_from_slice(&self.iv);
        counter[15] = 2;
        let mut ctr = Aes256Ctr::new(&self.key.into(), &counter.into());
        ctr.seek(offset);
        ctr.apply_keystream(&mut buf[..head_len]);
        let mut g = GHash::new(&self.h.into());
        for slice in buf[head_len..head_len + whole].chunks_mut(SLICE) {
            g.update_padded(slice);
            ctr.apply_keystream(slice);
        }
        ctr.apply_keystream(&mut buf[head_len + whole..]);
        Piece { offset, len: buf.len() as u64, head, hash: g.finalize().into(), blocks: (whole / 16) as u64, tail }
    }

    /// A check of the object's tag, fed its pieces in order.
    pub(crate) fn tag_check(&self) -> TagCheck {
        TagCheck { h: self.h, tag_mask: self.tag_mask, state: [0; 16], pending: Vec::with_capacity(16), len: 0 }
    }
}

/// The GHASH share of a run of ciphertext: the bytes before its first block boundary, the hash
/// of its whole blocks (from a zero state), and the bytes after its last boundary.
#[derive(Debug, Clone)]
pub(crate) struct Piece {
    offset: u64,
    len: u64,
    head: Vec<u8>,
    hash: [u8; 16],
    blocks: u64,
    tail: Vec<u8>,
}

/// The running GHASH of an object's ciphertext, fed pieces in order.
#[derive(Debug, Clone)]
pub(crate) struct TagCheck {
    h: [u8; 16],
    tag_mask: [u8; 16],
    state: [u8; 16],
    /// Bytes of a block not yet complete.
    pending: Vec<u8>,
    /// Ciphertext bytes hashed.
    len: u64,
}

impl TagCheck {
    fn absorb(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.pending.push(b);
            if self.pending.len() == 16 {
                let block: [u8; 16] = self.pending.as_slice().try_into().expect("16 bytes");
                self.state = mul(xor(self.state, block), self.h);
                self.pending.clear();
            }
        }
    }

    /// Adds the next piece; `false` when it does not start where the last one ended.
    pub(crate) fn add(&mut self, piece: &Piece) -> bool {
        if piece.offset != self.len {
            return false;
        }
        self.absorb(&piece.head);
        if piece.blocks > 0 {
            debug_assert!(self.pending.is_empty());
            self.state = xor(mul_pow(self.state, self.h, piece.blocks), piece.hash);
        }
        self.absorb(&piece.tail);
        self.len += piece.len;
        true
    }

    /// Whether `tag` is the GCM tag of the ciphertext fed (no associated data).
    pub(crate) fn matches(mut self, tag: &[u8]) -> bool {
        if !self.pending.is_empty() {
            let mut block = [0u8; 16];
            block[..self.pending.len()].copy_from_slice(&self.pending);
            self.state = mul(xor(self.state, block), self.h);
        }
        let mut lengths = [0u8; 16];
        lengths[8..].copy_from_slice(&(self.len * 8).to_be_bytes());
        let computed = xor(mul(xor(self.state, lengths), self.h), self.tag_mask);
        // Constant time: no early exit on the first differing byte.
        tag.len() == 16 && computed.iter().zip(tag).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes_gcm::aead::AeadInOut;

    /// Ciphertext and tag from the reference AEAD (RustCrypto's aes-gcm).
    fn sealed(key: &[u8; 32], iv: [u8; 12], plain: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let mut buf = plain.to_vec();
        let tag = <aes_gcm::Aes256Gcm as aes_gcm::aead::KeyInit>::new(key.into())
            .encrypt_inout_detached(&iv.into(), b"", (&mut buf[..]).into())
            .unwrap();
        (buf, tag.to_vec())
    }

    #[test]
    fn ranges_decrypt_anywhere_and_pieces_give_the_reference_tag() {
        let key = [7u8; 32];
        let iv = [9u8; 12];
        let cipher = ObjectCipher::new(&key, iv);
        for len in [0usize, 1, 15, 16, 17, 100, 4096, 10_000] {
            let plain: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            let (ct, tag) = sealed(&key, iv, &plain);
            // Cut anywhere (unaligned too), each piece hashed on its own and decrypted at its offset.
            for cut in [1usize, 5, 16, 33, 1000] {
                let mut check = cipher.tag_check();
                let mut out = Vec::new();
                for start in (0..len.max(1)).step_by(cut) {
                    let end = (start + cut).min(len);
                    let mut piece = ct[start.min(len)..end].to_vec();
                    assert!(check.add(&cipher.hash(start as u64, &piece)));
                    cipher.decrypt(start as u64, &mut piece);
                    out.extend_from_slice(&piece);
                }
                assert_eq!(out, plain, "len {len} cut {cut}");
                assert!(check.clone().matches(&tag), "len {len} cut {cut}");
                let mut wrong = tag.clone();
                wrong[0] ^= 1;
                assert!(!check.matches(&wrong));
            }
            if len > 0 {
                // A changed ciphertext byte: the tag no longer matches.
                let mut bad = ct.clone();
                bad[len / 2] ^= 0x40;
                let mut check = cipher.tag_check();
                assert!(check.add(&cipher.hash(0, &bad)));
                assert!(!check.matches(&tag));
            }
        }
    }

    #[test]
    fn one_pass_gives_what_two_passes_give() {
        let cipher = ObjectCipher::new(&[3; 32], [4; 12]);
        let data: Vec<u8> = (0..100_000).map(|i| (i % 253) as u8).collect();
        for (offset, len) in [(0usize, 100_000usize), (5, 40_000), (16, 33), (7, 3), (48, 0)] {
            let mut one = data[..len].to_vec();
            let a = cipher.open_in_place(offset as u64, &mut one);
            let mut two = data[..len].to_vec();
            let b = cipher.hash(offset as u64, &two);
            cipher.decrypt(offset as u64, &mut two);
            assert_eq!(one, two);
            assert_eq!((a.head, a.hash, a.blocks, a.tail, a.len), (b.head, b.hash, b.blocks, b.tail, b.len));
        }
    }

    #[test]
    fn pieces_out_of_order_are_refused() {
        let cipher = ObjectCipher::new(&[1; 32], [2; 12]);
        let mut check = cipher.tag_check();
        assert!(!check.add(&cipher.hash(16, &[0; 16])));
    }

    #[test]
    fn envelopes() {
        let meta = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<HashMap<_, _>>();
        assert!(Envelope::from_metadata("s3://b/k", None).unwrap().is_none());
        assert!(Envelope::from_metadata("s3://b/k", Some(&meta(&[("other", "x")]))).unwrap().is_none());
        let v2 = [
            ("x-amz-key-v2", "AAEC"),
            ("x-amz-iv", "AAAAAAAAAAAAAAAA"),
            ("x-amz-matdesc", r#"{"kms_cmk_id":"alias/a"}"#),
            ("x-amz-wrap-alg", "kms"),
            ("x-amz-cek-alg", "AES/GCM/NoPadding"),
            ("x-amz-tag-len", "128"),
        ];
        let e = Envelope::from_metadata("s3://b/k", Some(&meta(&v2))).unwrap().unwrap();
        assert_eq!(e.sealed_key, vec![0, 1, 2]);
        assert_eq!(e.context["kms_cmk_id"], "alias/a");
        let mut cbc = v2;
        cbc[4].1 = "AES/CBC/PKCS5Padding";
        let err = Envelope::from_metadata("s3://b/k", Some(&meta(&cbc))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot read s3://b/k: the object is client-side encrypted with content algorithm AES/CBC/PKCS5Padding, which this client does not read"
        );
        let err = Envelope::from_metadata("s3://b/k", Some(&meta(&[("x-amz-key", "AAEC")]))).unwrap_err();
        assert!(err.to_string().ends_with("the S3 Encryption Client's V1 format, which this client does not read"), "{err}");
    }
}
