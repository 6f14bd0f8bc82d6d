//! The wire: one loopback port serving three AWS protocols ([`server`] routes each request),
//! SigV4 verification ([`auth`]), KMS ([`kms`]), STS ([`sts`]) with web identity tokens ([`oidc`]), S3 ([`s3`]) and the Athena JSON operations
//! ([`athena`]).

pub mod athena;
pub mod auth;
pub mod identity_center;
pub mod kms;
pub mod oidc;
pub mod s3;
pub mod server;
pub mod sts;

/// The `key=value` pairs of a query string or a form body, percent-decoded, in order;
/// `plus_is_space` for form bodies (`application/x-www-form-urlencoded`).
pub(crate) fn url_pairs(text: &str, plus_is_space: bool) -> Vec<(String, String)> {
    let decode = |s: &str| {
        let s = if plus_is_space { s.replace('+', " ") } else { s.to_owned() };
        percent_encoding::percent_decode_str(&s).decode_utf8_lossy().into_owned()
    };
    text.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k), decode(v))
        })
        .collect()
}
