//! Server-side encryption of the results Athena writes.

/// Server-side encryption of the results Athena writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Encryption {
    SseS3,
    SseKms { kms_key: String },
    CseKms { kms_key: String },
}

impl Encryption {
    pub(crate) fn to_sdk(&self) -> aws_sdk_athena::types::EncryptionConfiguration {
        use aws_sdk_athena::types::{EncryptionConfiguration, EncryptionOption};
        let (option, key) = match self {
            Encryption::SseS3 => (EncryptionOption::SseS3, None),
            Encryption::SseKms { kms_key } => (EncryptionOption::SseKms, Some(kms_key.clone())),
            Encryption::CseKms { kms_key } => (EncryptionOption::CseKms, Some(kms_key.clone())),
        };
        EncryptionConfiguration::builder().encryption_option(option).set_kms_key(key).build().expect("encryption option is set")
    }
}
