//! The endpoint's KMS keys: symmetric keys that make and open data keys, each usable by the
//! principals its policy names. KMS's API serves them ([`crate::protocol::kms`]); Athena seals
//! CSE_KMS results with them ([`crate::formats::envelope`]).
//!
//! A key's material is 32 random bytes kept under the data dir (`athena/kms/<key id>`), so results
//! written before a restart still decrypt. A ciphertext blob is this endpoint's own format (KMS
//! calls its blobs opaque): `0x01`, the key id (36 bytes), a 12-byte nonce, then the data key
//! sealed with AES-256-GCM under the key's material, the encryption context as associated data: a changed blob or a different context fails as
//! `InvalidCiphertextException`, as in KMS.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore;

/// The account every identity of the endpoint belongs to.
const ACCOUNT: &str = "000000000000";
const BLOB_VERSION: u8 = 1;
const KEY_ID_LEN: usize = 36;

/// A symmetric KMS key the endpoint serves (`--kms-key FILE`, [`crate::EmulatorBuilder::with_kms_key`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KmsKey {
    /// The key id: a UUID, as KMS gives them.
    pub key_id: String,
    /// Its aliases, `alias/<name>`.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// The principals (IAM ARNs, as GetCallerIdentity names them) its key policy lets use it;
    /// absent: every principal of the account.
    #[serde(default)]
    pub principals: Option<Vec<String>>,
    /// A disabled key refuses every use (`DisabledException`).
    #[serde(default = "enabled")]
    pub enabled: bool,
}

fn enabled() -> bool {
    true
}

impl KmsKey {
    /// An enabled key every principal of the account may use.
    pub fn new(key_id: impl Into<String>) -> Self {
        Self { key_id: key_id.into(), aliases: vec![], principals: None, enabled: true }
    }

    pub fn with_alias(mut self, alias: impl Into<String>) -> Self {
        self.aliases.push(alias.into());
        self
    }

    /// Only these principals may use the key.
    pub fn with_principals(mut self, principals: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.principals = Some(principals.into_iter().map(Into::into).collect());
        self
    }
}

/// The key the fixtures install: every principal may use it, as `alias/athena-results`.
pub fn fixture_key() -> KmsKey {
    KmsKey::new("6a8d5c4e-3f2b-4e1a-9c7d-0b1e2f3a4b5c").with_alias("alias/athena-results")
}

/// A KMS error: its `__type` and message (status 400, as KMS answers client errors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KmsError {
    pub code: &'static str,
    pub message: String,
}

impl KmsError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }
}

impl std::error::Error for KmsError {}

impl std::fmt::Display for KmsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

struct Loaded {
    key: KmsKey,
    arn: String,
    cipher: Aes256Gcm,
}

/// The endpoint's KMS keys.
#[derive(Clone)]
pub struct Kms {
    keys: Arc<Vec<Loaded>>,
    region: String,
}

impl std::fmt::Debug for Kms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kms").field("keys", &self.keys.iter().map(|k| &k.arn).collect::<Vec<_>>()).finish()
    }
}

/// The key material of `key_id` under `dir`, made on first use.
fn material(dir: &Path, key_id: &str) -> std::io::Result<[u8; 32]> {
    let path: PathBuf = dir.join(key_id);
    if let Ok(bytes) = std::fs::read(&path)
        && let Ok(material) = <[u8; 32]>::try_from(bytes.as_slice())
    {
        return Ok(material);
    }
    let mut material = [0u8; 32];
    rand::rng().fill_bytes(&mut material);
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{key_id}.{}", uuid::Uuid::new_v4()));
    std::fs::write(&tmp, material)?;
    std::fs::rename(&tmp, &path)?;
    Ok(material)
}

/// The associated data a context binds a blob to: each pair, sorted, as `len:key len:value`.
fn context_aad(context: &BTreeMap<String, String>) -> Vec<u8> {
    context.iter().flat_map(|(k, v)| format!("{}:{k}{}:{v}", k.len(), v.len()).into_bytes()).collect()
}

impl Kms {
    /// Loads `keys`, their material kept in `dir`. A key id must be a UUID-shaped 36 characters
    /// (it is stored in each blob) and a file name.
    pub fn open(keys: &[KmsKey], dir: &Path, region: &str) -> std::io::Result<Self> {
        let mut loaded = Vec::new();
        for key in keys {
            let valid = key.key_id.len() == KEY_ID_LEN && key.key_id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
            if !valid {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("KMS key id {:?} is not a key id (36 characters of hex digits and '-', as a UUID)", key.key_id),
                ));
            }
            if let Some(alias) = key.aliases.iter().find(|a| !a.starts_with("alias/") || a.starts_with("alias/aws/")) {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("KMS alias {alias:?} must start with 'alias/' and not 'alias/aws/'"),
                ));
            }
            let material = material(dir, &key.key_id)?;
            loaded.push(Loaded {
                key: key.clone(),
                arn: format!("arn:aws:kms:{region}:{ACCOUNT}:key/{}", key.key_id),
                cipher: Aes256Gcm::new(&material.into()),
            });
        }
        Ok(Self { keys: Arc::new(loaded), region: region.to_owned() })
    }

    /// The key a `KeyId` names: key id, key ARN, alias name or alias ARN.
    fn find(&self, key_ref: &str) -> Result<&Loaded, KmsError> {
        let alias_prefix = format!("arn:aws:kms:{}:{ACCOUNT}:", self.region);
        let alias = key_ref.strip_prefix(&alias_prefix).filter(|r| r.starts_with("alias/")).unwrap_or(key_ref);
        let found = self.keys.iter().find(|k| k.key.key_id == key_ref || k.arn == key_ref || k.key.aliases.iter().any(|a| a == alias));
        match found {
            Some(k) => Ok(k),
            None if alias.starts_with("alias/") => {
                Err(KmsError::new("NotFoundException", format!("Alias {alias_prefix}{alias} is not found.")))
            }
            None if key_ref.starts_with("arn:") => Err(KmsError::new("NotFoundException", format!("Key '{key_ref}' does not exist"))),
            None => Err(KmsError::new("NotFoundException", format!("Key '{alias_prefix}key/{key_ref}' does not exist"))),
        }
    }

    fn usable(key: &Loaded, principal: Option<&str>, action: &str) -> Result<(), KmsError> {
        if let (Some(principal), Some(allowed)) = (principal, &key.key.principals)
            && !allowed.iter().any(|p| p == principal)
        {
            return Err(KmsError::new(
                "AccessDeniedException",
                format!(
                    "User: {principal} is not authorized to perform: kms:{action} on resource: {} because no identity-based policy allows the kms:{action} action",
                    key.arn
                ),
            ));
        }
        if !key.key.enabled {
            return Err(KmsError::new("DisabledException", format!("{} is disabled.", key.arn)));
        }
        Ok(())
    }

    /// A new 32-byte data key under `key_ref`, bound to `context`: `(plaintext, blob, key ARN)`.
    /// `principal`: the caller, whose use of the key is checked (`None`: the endpoint itself).
    pub fn generate_data_key(
        &self,
        key_ref: &str,
        context: &BTreeMap<String, String>,
        principal: Option<&str>,
    ) -> Result<([u8; 32], Vec<u8>, String), KmsError> {
        let key = self.find(key_ref)?;
        Self::usable(key, principal, "GenerateDataKey")?;
        let mut data_key = [0u8; 32];
        rand::rng().fill_bytes(&mut data_key);
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = key
            .cipher
            .encrypt(&Nonce::from(nonce), Payload { msg: &data_key, aad: &context_aad(context) })
            .map_err(|_| KmsError::new("KMSInternalException", "cannot seal the data key"))?;
        let mut blob = Vec::with_capacity(1 + KEY_ID_LEN + 12 + sealed.len());
        blob.push(BLOB_VERSION);
        blob.extend_from_slice(key.key.key_id.as_bytes());
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&sealed);
        Ok((data_key, blob, key.arn.clone()))
    }

    /// The data key sealed in `blob` under `context`: `(plaintext, key ARN)`. `key_ref`, when
    /// given, must name the key that sealed it (`IncorrectKeyException`).
    pub fn decrypt(
        &self,
        blob: &[u8],
        context: &BTreeMap<String, String>,
        key_ref: Option<&str>,
        principal: Option<&str>,
    ) -> Result<(Vec<u8>, String), KmsError> {
        let invalid = || KmsError::new("InvalidCiphertextException", "");
        if blob.len() < 1 + KEY_ID_LEN + 12 + 16 || blob[0] != BLOB_VERSION {
            return Err(invalid());
        }
        let key_id = std::str::from_utf8(&blob[1..1 + KEY_ID_LEN]).map_err(|_| invalid())?;
        let key = self.keys.iter().find(|k| k.key.key_id == key_id).ok_or_else(invalid)?;
        if let Some(wanted) = key_ref
            && self.find(wanted)?.key.key_id != key.key.key_id
        {
            return Err(KmsError::new(
                "IncorrectKeyException",
                "The key ID in the request does not identify a CMK that can perform this operation.",
            ));
        }
        Self::usable(key, principal, "Decrypt")?;
        let nonce: [u8; 12] = blob[1 + KEY_ID_LEN..1 + KEY_ID_LEN + 12].try_into().expect("12 bytes");
        let plain = key
            .cipher
            .decrypt(&Nonce::from(nonce), Payload { msg: &blob[1 + KEY_ID_LEN + 12..], aad: &context_aad(context) })
            .map_err(|_| invalid())?;
        Ok((plain, key.arn.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kms(dir: &Path) -> Kms {
        let restricted = KmsKey::new("11111111-2222-4333-8444-555555555555").with_alias("alias/only-alice").with_principals(["arn:alice"]);
        Kms::open(&[fixture_key(), restricted], dir, "us-east-1").unwrap()
    }

    #[test]
    fn data_keys_round_trip_bound_to_their_context() {
        let dir = tempfile::tempdir().unwrap();
        let kms = kms(dir.path());
        let ctx: BTreeMap<String, String> = [("kms_cmk_id".to_owned(), "alias/athena-results".to_owned())].into();
        let (plain, blob, arn) = kms.generate_data_key("alias/athena-results", &ctx, Some("arn:bob")).unwrap();
        assert_eq!(arn, "arn:aws:kms:us-east-1:000000000000:key/6a8d5c4e-3f2b-4e1a-9c7d-0b1e2f3a4b5c");
        assert_eq!(kms.decrypt(&blob, &ctx, None, Some("arn:bob")).unwrap().0, plain);
        // Another context, a changed byte, the wrong key named: refused as KMS refuses them.
        assert_eq!(kms.decrypt(&blob, &BTreeMap::new(), None, None).unwrap_err().code, "InvalidCiphertextException");
        let mut bad = blob.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert_eq!(kms.decrypt(&bad, &ctx, None, None).unwrap_err().code, "InvalidCiphertextException");
        assert_eq!(kms.decrypt(&blob, &ctx, Some("alias/only-alice"), None).unwrap_err().code, "IncorrectKeyException");
        // The material outlives the endpoint: a new one over the same dir decrypts.
        assert_eq!(self::kms(dir.path()).decrypt(&blob, &ctx, None, None).unwrap().0, plain);
    }

    #[test]
    fn a_key_policy_names_who_may_use_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let kms = kms(dir.path());
        let ctx = BTreeMap::new();
        let (_, blob, _) = kms.generate_data_key("alias/only-alice", &ctx, Some("arn:alice")).unwrap();
        let e = kms.decrypt(&blob, &ctx, None, Some("arn:bob")).unwrap_err();
        assert_eq!(e.code, "AccessDeniedException");
        assert_eq!(
            e.message,
            "User: arn:bob is not authorized to perform: kms:Decrypt on resource: arn:aws:kms:us-east-1:000000000000:key/11111111-2222-4333-8444-555555555555 because no identity-based policy allows the kms:Decrypt action"
        );
        let e = kms.generate_data_key("alias/missing", &ctx, None).unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            ("NotFoundException", "Alias arn:aws:kms:us-east-1:000000000000:alias/missing is not found.")
        );
    }
}
