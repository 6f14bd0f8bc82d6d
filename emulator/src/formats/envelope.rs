//! Result objects of a CSE_KMS query, written as Athena writes them: the S3 Encryption Client's
//! V2 envelope. The content is AES-256-GCM ciphertext (a new data key and 12-byte IV per object,
//! the 16-byte tag after the ciphertext) and the envelope is the object's user metadata
//! (`x-amz-meta-` on the wire): `x-amz-key-v2` (the data key as KMS sealed it, base64),
//! `x-amz-iv`, `x-amz-matdesc` (`{"kms_cmk_id":"<key>"}`, also the KMS encryption context),
//! `x-amz-wrap-alg` `kms`, `x-amz-cek-alg` `AES/GCM/NoPadding`, `x-amz-tag-len` `128` and
//! `x-amz-unencrypted-content-length`. Sources: the S3 Encryption Client's content-metadata
//! specification and a reader of Athena's CSE_KMS results (`../shared/athena-auth-encryption.md`).
//!
//! The cipher is RustCrypto's `aes-gcm` (the client reads with `ctr` and `ghash`: two
//! implementations that must agree).

use std::collections::{BTreeMap, HashMap};
use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use rand::RngCore;

use crate::formats::kms::{Kms, KmsError};

/// The KMS key and service a CSE_KMS query writes its result objects with.
#[derive(Debug, Clone)]
pub struct Seal {
    pub kms: Kms,
    /// The query's `KmsKey`, as given (ARN, id or alias).
    pub key: String,
}

impl Seal {
    /// The KMS encryption context of the data key, and the envelope's `x-amz-matdesc`.
    fn matdesc(&self) -> BTreeMap<String, String> {
        [("kms_cmk_id".to_owned(), self.key.clone())].into()
    }

    /// Checks that the key can make data keys (before the query writes anything).
    pub fn check(&self) -> Result<(), KmsError> {
        self.kms.generate_data_key(&self.key, &self.matdesc(), None).map(drop)
    }

    /// Encrypts the file at `path` in place and appends the tag; returns the envelope (the
    /// object's user metadata).
    pub fn seal_file(&self, path: &Path) -> std::io::Result<HashMap<String, String>> {
        let matdesc = self.matdesc();
        let (data_key, blob, _) = self.kms.generate_data_key(&self.key, &matdesc, None).map_err(std::io::Error::other)?;
        let mut iv = [0u8; 12];
        rand::rng().fill_bytes(&mut iv);
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        let len = file.metadata()?.len();
        let cipher = Aes256Gcm::new(&data_key.into());
        let tag = if len == 0 {
            cipher.encrypt_inout_detached(&Nonce::from(iv), b"", (&mut [][..]).into())
        } else {
            // SAFETY: the file is this writer's own temporary file, not yet visible to anyone.
            let mut map = unsafe { memmap2::MmapMut::map_mut(&file)? };
            let tag = cipher.encrypt_inout_detached(&Nonce::from(iv), b"", (&mut map[..]).into());
            map.flush()?;
            tag
        }
        .map_err(|_| std::io::Error::other("the result is too large for AES-GCM"))?;
        let mut file = file;
        std::io::Seek::seek(&mut file, std::io::SeekFrom::End(0))?;
        file.write_all(&tag)?;
        let b64 = base64::engine::general_purpose::STANDARD;
        Ok([
            ("x-amz-key-v2", b64.encode(blob)),
            ("x-amz-iv", b64.encode(iv)),
            ("x-amz-matdesc", serde_json::to_string(&matdesc).expect("a map of strings")),
            ("x-amz-wrap-alg", "kms".to_owned()),
            ("x-amz-cek-alg", "AES/GCM/NoPadding".to_owned()),
            ("x-amz-tag-len", "128".to_owned()),
            ("x-amz-unencrypted-content-length", len.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect())
    }
}

/// The plaintext of an object written by [`Seal::seal_file`] (`bytes`: its content, `meta`: its
/// envelope), as a reader holding the key's permission decrypts it.
pub fn open_sealed(kms: &Kms, bytes: &[u8], meta: &HashMap<String, String>) -> Result<Vec<u8>, String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let field = |k: &str| meta.get(k).ok_or_else(|| format!("no {k} in the envelope"));
    let blob = b64.decode(field("x-amz-key-v2")?).map_err(|e| e.to_string())?;
    let iv: [u8; 12] = b64.decode(field("x-amz-iv")?).map_err(|e| e.to_string())?.try_into().map_err(|_| "IV is not 12 bytes")?;
    let context: BTreeMap<String, String> = serde_json::from_str(field("x-amz-matdesc")?).map_err(|e| e.to_string())?;
    let (key, _) = kms.decrypt(&blob, &context, None, None).map_err(|e| e.to_string())?;
    let key: [u8; 32] = key.try_into().map_err(|_| "the data key is not 32 bytes")?;
    let (ciphertext, tag) = bytes.split_at(bytes.len().checked_sub(16).ok_or("shorter than the tag")?);
    let mut plain = ciphertext.to_vec();
    Aes256Gcm::new(&key.into())
        .decrypt_inout_detached(&Nonce::from(iv), b"", (&mut plain[..]).into(), tag.try_into().expect("16 bytes"))
        .map_err(|_| "the tag does not match".to_owned())?;
    Ok(plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_files_open_with_their_envelope_and_no_other() {
        let dir = tempfile::tempdir().unwrap();
        let kms = Kms::open(&[crate::formats::kms::fixture_key()], &dir.path().join("kms"), "us-east-1").unwrap();
        let seal = Seal { kms: kms.clone(), key: "alias/athena-results".into() };
        let path = dir.path().join("result.csv");
        let text = b"\"a\"\n\"1\"\n".repeat(1000);
        std::fs::write(&path, &text).unwrap();
        let meta = seal.seal_file(&path).unwrap();
        let sealed = std::fs::read(&path).unwrap();
        assert_eq!(sealed.len(), text.len() + 16);
        assert_ne!(&sealed[..text.len()], &text[..]);
        assert_eq!(meta["x-amz-matdesc"], r#"{"kms_cmk_id":"alias/athena-results"}"#);
        assert_eq!(meta["x-amz-unencrypted-content-length"], text.len().to_string());
        assert_eq!(open_sealed(&kms, &sealed, &meta).unwrap(), text);
        let mut tampered = sealed.clone();
        tampered[5] ^= 1;
        assert_eq!(open_sealed(&kms, &tampered, &meta).unwrap_err(), "the tag does not match");
        // An empty result is its tag alone.
        std::fs::write(&path, b"").unwrap();
        let meta = seal.seal_file(&path).unwrap();
        assert_eq!(open_sealed(&kms, &std::fs::read(&path).unwrap(), &meta).unwrap(), b"");
    }
}
