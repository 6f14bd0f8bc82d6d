//! Encryption of the results Athena writes: SSE_S3 and SSE_KMS are S3's (transparent to
//! readers); CSE_KMS results are encrypted by Athena before they reach S3 (the S3 Encryption
//! Client's envelope), which the readers of the result files must take into account.

/// Encryption of the results Athena writes (`ResultConfiguration.EncryptionConfiguration`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Encryption {
    SseS3,
    SseKms { kms_key: String },
    CseKms { kms_key: String },
}

/// The `encryption_option` values, as Athena spells them.
pub(crate) const ENCRYPTION_OPTIONS: &[&str] = &["SSE_S3", "SSE_KMS", "CSE_KMS"];

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

    /// From the `encryption_option` and `kms_key` settings (PyAthena's keywords).
    pub(crate) fn from_options(option: &str, kms_key: Option<&str>) -> Result<Self, String> {
        let key = |name: &str| {
            kms_key
                .filter(|k| !k.trim().is_empty())
                .map(|k| k.trim().to_owned())
                .ok_or_else(|| format!("encryption_option {name} needs kms_key (a KMS key ARN, id or alias)"))
        };
        match option {
            "SSE_S3" if kms_key.is_some() => Err("encryption_option SSE_S3 takes no kms_key".into()),
            "SSE_S3" => Ok(Encryption::SseS3),
            "SSE_KMS" => Ok(Encryption::SseKms { kms_key: key(option)? }),
            "CSE_KMS" => Ok(Encryption::CseKms { kms_key: key(option)? }),
            other => Err(format!("unknown encryption_option {other:?}; one of {}", ENCRYPTION_OPTIONS.join(", "))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_need_their_key() {
        assert_eq!(Encryption::from_options("SSE_S3", None), Ok(Encryption::SseS3));
        assert_eq!(
            Encryption::from_options("CSE_KMS", Some(" alias/results ")),
            Ok(Encryption::CseKms { kms_key: "alias/results".into() })
        );
        assert_eq!(
            Encryption::from_options("SSE_KMS", None),
            Err("encryption_option SSE_KMS needs kms_key (a KMS key ARN, id or alias)".into())
        );
        assert_eq!(Encryption::from_options("SSE_S3", Some("k")), Err("encryption_option SSE_S3 takes no kms_key".into()));
    }
}
