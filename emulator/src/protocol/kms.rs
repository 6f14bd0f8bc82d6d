//! KMS on the same port (`awsJson1_1`, `X-Amz-Target: TrentService.<Op>`, signed for `kms`):
//! GenerateDataKey and Decrypt with the endpoint's keys ([`crate::formats::kms`]), answered in
//! the shapes of AWS's KMS model (botocore's `kms` `service-2.json`).

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::{Value, json};

use crate::formats::kms::{Kms, KmsError};

/// One `TrentService.<operation>` call from `principal`: its JSON answer or its error.
pub fn call(kms: &Kms, operation: &str, input: &Value, principal: &str) -> Result<Value, KmsError> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let context = context_of(input)?;
    match operation {
        "GenerateDataKey" => {
            let key_ref = input.get("KeyId").and_then(Value::as_str).ok_or_else(|| validation("keyId"))?;
            let bytes = match (input.get("KeySpec").and_then(Value::as_str), input.get("NumberOfBytes").and_then(Value::as_u64)) {
                (Some(_), Some(_)) => {
                    return Err(KmsError::new("ValidationException", "Please specify either number of bytes or key spec."));
                }
                (Some("AES_256"), None) => 32,
                (Some("AES_128"), None) => 16,
                (Some(other), None) => {
                    return Err(KmsError::new(
                        "ValidationException",
                        format!(
                            "1 validation error detected: Value '{other}' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]"
                        ),
                    ));
                }
                (None, Some(n @ 1..=1024)) => n as usize,
                (None, Some(_)) => {
                    return Err(KmsError::new(
                        "ValidationException",
                        "1 validation error detected: Value at 'numberOfBytes' failed to satisfy constraint: Member must have value between 1 and 1024",
                    ));
                }
                (None, None) => return Err(KmsError::new("ValidationException", "Please specify either number of bytes or key spec.")),
            };
            if bytes != 32 {
                return Err(KmsError::new("ValidationException", "This endpoint's KMS makes 32-byte (AES_256) data keys only"));
            }
            let (plain, blob, arn) = kms.generate_data_key(key_ref, &context, Some(principal))?;
            Ok(json!({ "CiphertextBlob": b64.encode(blob), "Plaintext": b64.encode(plain), "KeyId": arn }))
        }
        "Decrypt" => {
            let blob = input.get("CiphertextBlob").and_then(Value::as_str).ok_or_else(|| validation("ciphertextBlob"))?;
            let blob = b64.decode(blob).map_err(|_| KmsError::new("SerializationException", "CiphertextBlob is not base64"))?;
            let key_ref = input.get("KeyId").and_then(Value::as_str);
            let (plain, arn) = kms.decrypt(&blob, &context, key_ref, Some(principal))?;
            Ok(json!({ "KeyId": arn, "Plaintext": b64.encode(plain), "EncryptionAlgorithm": "SYMMETRIC_DEFAULT" }))
        }
        other => Err(KmsError::new("UnknownOperationException", format!("Operation {other} is not served by this endpoint's KMS"))),
    }
}

fn validation(member: &str) -> KmsError {
    KmsError::new(
        "ValidationException",
        format!("1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"),
    )
}

fn context_of(input: &Value) -> Result<BTreeMap<String, String>, KmsError> {
    match input.get("EncryptionContext") {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
            .collect::<Option<_>>()
            .ok_or_else(|| KmsError::new("SerializationException", "EncryptionContext values must be strings")),
        Some(_) => Err(KmsError::new("SerializationException", "EncryptionContext must be a map")),
    }
}
