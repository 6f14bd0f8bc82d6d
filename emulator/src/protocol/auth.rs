//! Credentials the endpoint accepts, and SigV4 verification for the JSON (Athena) protocol.
//!
//! S3 requests are verified by s3s itself (it only knows the `s3` and `sts` services), using
//! [`Keys`] as its [`S3Auth`]; Athena requests are signed for service `athena`, so they are
//! verified here with the same algorithm and the same key store.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use hmac::{Hmac, KeyInit, Mac};
use s3s::auth::{S3Auth, SecretKey};
use s3s::{S3Result, s3_error};
use sha2::{Digest, Sha256};

/// Maximum clock skew accepted between the request's `x-amz-date` and now (AWS uses 15 minutes).
/// S3's longest presigned URL lifetime: 7 days.
const MAX_PRESIGNED_SECS: u64 = 604_800;
const MAX_SKEW_SECS: i64 = 15 * 60;

#[derive(Clone)]
struct Secret {
    secret: String,
    session_token: Option<String>,
    expires: Option<chrono::DateTime<chrono::Utc>>,
    /// Who STS issued temporary credentials to: `(Arn, UserId)` as GetCallerIdentity names them.
    principal: Option<(String, String)>,
    /// The Identity Center user a session acts for (an AssumeRole with a provided context).
    identity: Option<crate::protocol::identity_center::IdentityContext>,
}

/// The access keys the endpoint accepts: long-term keys, and temporary ones that also need
/// their session token.
#[derive(Clone, Default)]
pub struct Keys {
    inner: Arc<RwLock<HashMap<String, Secret>>>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys: Vec<String> = self.inner.read().unwrap().keys().cloned().collect();
        f.debug_struct("Keys").field("access_key_ids", &keys).finish_non_exhaustive()
    }
}

impl Keys {
    /// Accept `access_key` signed with `secret` (no session token).
    pub fn insert(&self, access_key: &str, secret: &str) {
        self.insert_temporary(access_key, secret, None);
    }

    /// Accept `access_key` signed with `secret`, requiring `session_token` when given.
    pub fn insert_temporary(&self, access_key: &str, secret: &str, session_token: Option<&str>) {
        self.insert_secret(
            access_key,
            Secret {
                secret: secret.to_owned(),
                session_token: session_token.map(str::to_owned),
                expires: None,
                principal: None,
                identity: None,
            },
        );
    }

    /// Accept temporary credentials (as STS issues them) until `expires`, issued to `principal`
    /// (`(Arn, UserId)`), acting for the Identity Center user of `identity` when given.
    pub fn insert_session(
        &self,
        access_key: &str,
        secret: &str,
        session_token: &str,
        expires: chrono::DateTime<chrono::Utc>,
        principal: (String, String),
        identity: Option<crate::protocol::identity_center::IdentityContext>,
    ) {
        self.insert_secret(
            access_key,
            Secret {
                secret: secret.to_owned(),
                session_token: Some(session_token.to_owned()),
                expires: Some(expires),
                principal: Some(principal),
                identity,
            },
        );
    }

    /// Whom temporary credentials were issued to (`(Arn, UserId)`); `None` for long-term keys.
    pub fn principal(&self, access_key: &str) -> Option<(String, String)> {
        self.lookup(access_key)?.principal
    }

    /// The Identity Center user whose context the session of `access_key` carries.
    pub fn identity(&self, access_key: &str) -> Option<crate::protocol::identity_center::IdentityContext> {
        self.lookup(access_key)?.identity
    }

    fn insert_secret(&self, access_key: &str, secret: Secret) {
        self.inner.write().unwrap().insert(access_key.to_owned(), secret);
    }

    /// The secret of a known, unexpired key.
    fn lookup(&self, access_key: &str) -> Option<Secret> {
        let secret = self.inner.read().unwrap().get(access_key).cloned()?;
        match secret.expires {
            Some(t) if t <= chrono::Utc::now() => None,
            _ => Some(secret),
        }
    }

    /// Whether `access_key` holds temporary credentials (STS refuses GetSessionToken for those).
    pub fn is_temporary(&self, access_key: &str) -> bool {
        self.lookup(access_key).is_some_and(|s| s.session_token.is_some())
    }

    /// For S3 requests (whose signature s3s verifies): a temporary key must come with its
    /// session token, in the `x-amz-security-token` header or the presigned query.
    /// Checks of an S3 request that s3s does not make: a temporary key needs its session token
    /// and a long-term key may carry none, the credential scope names `s3`, and a presigned
    /// URL lives at most S3's 7 days. `Err` holds S3's error code and message.
    pub fn s3_precheck(&self, headers: &http::HeaderMap, uri: &http::Uri) -> Result<(), (u16, &'static str, String)> {
        let pairs: HashMap<String, String> = uri
            .query()
            .unwrap_or("")
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_owned(), percent_encoding::percent_decode_str(v).decode_utf8_lossy().into_owned()))
            .collect();
        let header_auth = headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| parse_authorization(v).ok());
        let (access_key, service, token) = match (&header_auth, pairs.get("X-Amz-Credential")) {
            (Some(a), _) => (
                a.access_key.to_owned(),
                a.service.to_owned(),
                headers.get("x-amz-security-token").and_then(|v| v.to_str().ok()).map(str::to_owned),
            ),
            (None, Some(credential)) => {
                let parts: Vec<&str> = credential.split('/').collect();
                if let Some(expires) = pairs.get("X-Amz-Expires") {
                    match expires.parse::<u64>() {
                        Ok(secs) if secs <= MAX_PRESIGNED_SECS => {}
                        _ => {
                            return Err((
                                400,
                                "AuthorizationQueryParametersError",
                                "X-Amz-Expires must be less than a week (in seconds) that is 604800".into(),
                            ));
                        }
                    }
                }
                (
                    parts.first().copied().unwrap_or("").to_owned(),
                    parts.get(3).copied().unwrap_or("").to_owned(),
                    pairs.get("X-Amz-Security-Token").cloned(),
                )
            }
            (None, None) => return Ok(()), // anonymous: s3s refuses it on its own
        };
        if service != "s3" {
            return Err((
                400,
                "AuthorizationHeaderMalformed",
                format!("The authorization header is malformed; incorrect service '{service}'. This endpoint belongs to 's3'."),
            ));
        }
        match self.lookup(&access_key) {
            Some(secret) if token != secret.session_token => {
                Err((403, "InvalidToken", "The provided token is malformed or otherwise invalid.".into()))
            }
            _ => Ok(()),
        }
    }
}

#[async_trait::async_trait]
impl S3Auth for Keys {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        match self.lookup(access_key) {
            Some(s) => Ok(SecretKey::from(s.secret)),
            None => Err(s3_error!(InvalidAccessKeyId, "The AWS Access Key Id you provided does not exist in our records.")),
        }
    }
}

/// The service a request is signed for: the credential scope's fourth part, from the
/// `Authorization` header or a presigned URL's `X-Amz-Credential`. `None` for an unsigned request
/// (or one whose scope cannot be read).
pub fn signed_service(headers: &http::HeaderMap, uri: &http::Uri) -> Option<String> {
    if let Some(value) = headers.get(http::header::AUTHORIZATION) {
        return value.to_str().ok().and_then(|v| parse_authorization(v).ok()).map(|a| a.service.to_owned());
    }
    let credential = uri.query()?.split('&').find_map(|kv| kv.strip_prefix("X-Amz-Credential="))?;
    let credential = percent_encoding::percent_decode_str(credential).decode_utf8_lossy().into_owned();
    credential.split('/').nth(3).map(str::to_owned)
}

/// Why a JSON-protocol request was refused; each maps to the AWS error shape Athena uses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("Missing Authentication Token")]
    Missing,
    #[error("The security token included in the request is invalid.")]
    UnknownKey,
    #[error(
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method."
    )]
    BadSignature,
    #[error("Signature expired: {0} is now earlier or later than the allowed skew of 15 minutes.")]
    Expired(String),
    #[error("Credential should be scoped to a valid region. {0}")]
    WrongRegion(String),
    #[error("Credential should be scoped to correct service: '{0}'.")]
    WrongService(String),
    #[error("The provided 'x-amz-content-sha256' header does not match what was computed.")]
    PayloadHashMismatch,
    #[error("Authorization header is malformed: {0}")]
    Malformed(String),
}

impl AuthError {
    /// The `__type` AWS answers with.
    pub fn aws_type(&self) -> &'static str {
        match self {
            AuthError::Missing => "MissingAuthenticationTokenException",
            AuthError::UnknownKey => "UnrecognizedClientException",
            AuthError::BadSignature
            | AuthError::WrongRegion(_)
            | AuthError::WrongService(_)
            | AuthError::Malformed(_)
            | AuthError::PayloadHashMismatch => "InvalidSignatureException",
            AuthError::Expired(_) => "InvalidSignatureException",
        }
    }
}

struct Authorization<'a> {
    access_key: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn parse_authorization(value: &str) -> Result<Authorization<'_>, AuthError> {
    let rest = value.strip_prefix("AWS4-HMAC-SHA256 ").ok_or_else(|| AuthError::Malformed("unsupported algorithm".into()))?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("Credential=") {
            credential = Some(v);
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed = Some(v);
        } else if let Some(v) = part.strip_prefix("Signature=") {
            signature = Some(v);
        }
    }
    let missing = |what: &str| AuthError::Malformed(format!("missing {what}"));
    let credential = credential.ok_or_else(|| missing("Credential"))?;
    let mut scope = credential.split('/');
    let (Some(access_key), Some(date), Some(region), Some(service), Some("aws4_request"), None) =
        (scope.next(), scope.next(), scope.next(), scope.next(), scope.next(), scope.next())
    else {
        return Err(AuthError::Malformed(format!("bad credential scope {credential:?}")));
    };
    Ok(Authorization {
        access_key,
        date,
        region,
        service,
        signed_headers: signed.ok_or_else(|| missing("SignedHeaders"))?.split(';').collect(),
        signature: signature.ok_or_else(|| missing("Signature"))?,
    })
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any size");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The canonical query string of SigV4: pairs sorted, names and values percent-encoded.
fn canonical_query(query: Option<&str>) -> String {
    let Some(query) = query.filter(|q| !q.is_empty()) else {
        return String::new();
    };
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            let dec = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
            (
                percent_encoding::utf8_percent_encode(&dec(k), SET).to_string(),
                percent_encoding::utf8_percent_encode(&dec(v), SET).to_string(),
            )
        })
        .collect();
    pairs.sort();
    pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

/// The canonical URI of SigV4 for every service but S3: the path as received (already
/// percent-encoded once by the client), its `.` and `..` segments removed, then encoded once more
/// (each byte but the unreserved ones and `/`), so that `%2F` in a label is signed as `%252F`.
/// This is what botocore (`SigV4Auth._normalize_url_path`) and aws-sigv4
/// (`PercentEncodingMode::Double`, `UriPathNormalizationMode::Enabled`) sign; S3, signed over the
/// path as it is, is verified by s3s.
fn canonical_path(raw: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = raw.split('/').skip(1).collect();
    for (i, segment) in segments.iter().enumerate() {
        match *segment {
            "." => {}
            ".." => {
                out.pop();
            }
            s if s.is_empty() && i + 1 != segments.len() => {}
            s => out.push(s),
        }
    }
    let path = format!("/{}", out.join("/"));
    const SET: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b'/');
    percent_encoding::utf8_percent_encode(&path, SET).to_string()
}

/// Verifies a SigV4-signed request of `service` (`athena`, `sts`) whose whole body is `body`.
/// Returns the access key id.
///
/// The signature covers the hash of the body received (an `x-amz-content-sha256` header must
/// equal it), the credential scope must name this endpoint's region and `service`, and a session
/// token is accepted only with the temporary key it was issued with.
pub fn verify_sigv4(
    keys: &Keys,
    expected_region: &str,
    service: &str,
    method: &http::Method,
    uri: &http::Uri,
    headers: &http::HeaderMap,
    body: &[u8],
) -> Result<String, AuthError> {
    let value = headers
        .get(http::header::AUTHORIZATION)
        .ok_or(AuthError::Missing)?
        .to_str()
        .map_err(|_| AuthError::Malformed("not ASCII".into()))?;
    let auth = parse_authorization(value)?;
    let secret = keys.lookup(auth.access_key).ok_or(AuthError::UnknownKey)?;
    let sent_token = headers.get("x-amz-security-token").and_then(|v| v.to_str().ok());
    if sent_token != secret.session_token.as_deref() {
        // A temporary key without its token, or a long-term key with a token it never had.
        return Err(AuthError::UnknownKey);
    }
    if auth.region != expected_region {
        return Err(AuthError::WrongRegion(format!("'{}' is wrong; expecting '{expected_region}'", auth.region)));
    }
    if auth.service != service {
        return Err(AuthError::WrongService(service.to_owned()));
    }
    let amz_date =
        headers.get("x-amz-date").and_then(|v| v.to_str().ok()).ok_or_else(|| AuthError::Malformed("missing x-amz-date".into()))?;
    let when = chrono::NaiveDateTime::parse_from_str(amz_date, "%Y%m%dT%H%M%SZ")
        .map_err(|_| AuthError::Malformed(format!("bad x-amz-date {amz_date:?}")))?
        .and_utc();
    if (chrono::Utc::now() - when).num_seconds().abs() > MAX_SKEW_SECS {
        return Err(AuthError::Expired(amz_date.to_owned()));
    }
    if !amz_date.starts_with(auth.date) {
        return Err(AuthError::BadSignature);
    }

    let mut canonical_headers = String::new();
    for name in &auth.signed_headers {
        let values: Vec<&str> = headers.get_all(*name).iter().filter_map(|v| v.to_str().ok()).collect();
        if values.is_empty() {
            return Err(AuthError::BadSignature);
        }
        let joined: Vec<String> = values.iter().map(|v| v.split_whitespace().collect::<Vec<_>>().join(" ")).collect();
        canonical_headers.push_str(&format!("{name}:{}\n", joined.join(",")));
    }
    // The hash of what was received, never a header's claim: a header may only repeat it.
    let payload_hash = sha256_hex(body);
    if let Some(claimed) = headers.get("x-amz-content-sha256")
        && claimed.as_bytes() != payload_hash.as_bytes()
    {
        return Err(AuthError::PayloadHashMismatch);
    }
    let path = canonical_path(uri.path());
    let canonical_request = format!(
        "{method}\n{path}\n{}\n{canonical_headers}\n{}\n{payload_hash}",
        canonical_query(uri.query()),
        auth.signed_headers.join(";"),
    );
    let scope = format!("{}/{}/{}/aws4_request", auth.date, auth.region, auth.service);
    let string_to_sign = format!("AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}", sha256_hex(canonical_request.as_bytes()));
    let k_date = hmac(format!("AWS4{}", secret.secret).as_bytes(), auth.date.as_bytes());
    let k_region = hmac(&k_date, auth.region.as_bytes());
    let k_service = hmac(&k_region, auth.service.as_bytes());
    let k_signing = hmac(&k_service, b"aws4_request");
    let expected = hex::encode(hmac(&k_signing, string_to_sign.as_bytes()));
    // Constant-time comparison: no early exit on the first differing byte.
    let same =
        expected.len() == auth.signature.len() && expected.bytes().zip(auth.signature.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
    if same { Ok(auth.access_key.to_owned()) } else { Err(AuthError::BadSignature) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The "get-vanilla" style example from the AWS SigV4 test suite, adapted to a JSON POST.
    fn sign(secret: &str, date: &str, body: &[u8]) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        headers.insert("host", "127.0.0.1:4566".parse().unwrap());
        headers.insert("x-amz-date", date.parse().unwrap());
        headers.insert("x-amz-target", "AmazonAthena.ListWorkGroups".parse().unwrap());
        let canonical = format!(
            "POST\n/\n\nhost:127.0.0.1:4566\nx-amz-date:{date}\nx-amz-target:AmazonAthena.ListWorkGroups\n\nhost;x-amz-date;x-amz-target\n{}",
            sha256_hex(body)
        );
        let day = &date[..8];
        let sts = format!("AWS4-HMAC-SHA256\n{date}\n{day}/us-east-1/athena/aws4_request\n{}", sha256_hex(canonical.as_bytes()));
        let k = hmac(&hmac(&hmac(&hmac(format!("AWS4{secret}").as_bytes(), day.as_bytes()), b"us-east-1"), b"athena"), b"aws4_request");
        let sig = hex::encode(hmac(&k, sts.as_bytes()));
        headers.insert(
            "authorization",
            format!("AWS4-HMAC-SHA256 Credential=test/{day}/us-east-1/athena/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature={sig}")
                .parse()
                .unwrap(),
        );
        headers
    }

    #[test]
    fn canonical_paths_are_encoded_twice() {
        assert_eq!(canonical_path(""), "/");
        assert_eq!(canonical_path("/"), "/");
        assert_eq!(canonical_path("/query-executions/abc/results"), "/query-executions/abc/results");
        assert_eq!(
            canonical_path("/tags/arn%3Aaws%3Aathena%3Aus-east-1%3A1%3Aworkgroup%2Fwg"),
            "/tags/arn%253Aaws%253Aathena%253Aus-east-1%253A1%253Aworkgroup%252Fwg"
        );
        assert_eq!(canonical_path("/a/./b/../c/"), "/a/c/");
    }

    #[test]
    fn accepts_good_and_refuses_bad_signatures() {
        let keys = Keys::default();
        keys.insert("test", "test");
        let now = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
        let uri: http::Uri = "/".parse().unwrap();
        let ok = sign("test", &now, b"{}");
        assert_eq!(verify_sigv4(&keys, "us-east-1", "athena", &http::Method::POST, &uri, &ok, b"{}").unwrap(), "test");
        // Body tampered with after signing.
        assert_eq!(verify_sigv4(&keys, "us-east-1", "athena", &http::Method::POST, &uri, &ok, b"{ }"), Err(AuthError::BadSignature));
        // Wrong secret.
        let bad = sign("nope", &now, b"{}");
        assert_eq!(verify_sigv4(&keys, "us-east-1", "athena", &http::Method::POST, &uri, &bad, b"{}"), Err(AuthError::BadSignature));
        // Stale date.
        let old = sign("test", "20200101T000000Z", b"{}");
        assert!(matches!(verify_sigv4(&keys, "us-east-1", "athena", &http::Method::POST, &uri, &old, b"{}"), Err(AuthError::Expired(_))));
        // Region other than the endpoint's.
        assert!(matches!(
            verify_sigv4(&keys, "eu-west-1", "athena", &http::Method::POST, &uri, &ok, b"{}"),
            Err(AuthError::WrongRegion(_))
        ));
        // Unknown key.
        let empty = Keys::default();
        assert_eq!(verify_sigv4(&empty, "us-east-1", "athena", &http::Method::POST, &uri, &ok, b"{}"), Err(AuthError::UnknownKey));
        // Signed for Athena, sent to STS.
        assert_eq!(
            verify_sigv4(&keys, "us-east-1", "sts", &http::Method::POST, &uri, &ok, b"{}"),
            Err(AuthError::WrongService("sts".into()))
        );
        // A captured request with another body and a header claiming the signed body's hash.
        let mut replay = ok.clone();
        replay.insert("x-amz-content-sha256", sha256_hex(b"{}").parse().unwrap());
        assert_eq!(
            verify_sigv4(&keys, "us-east-1", "athena", &http::Method::POST, &uri, &replay, b"{\"x\":1}"),
            Err(AuthError::PayloadHashMismatch)
        );
        assert_eq!(verify_sigv4(&keys, "us-east-1", "athena", &http::Method::POST, &uri, &replay, b"{}").unwrap(), "test");
        // A long-term key with a session token it was never issued.
        let mut token = ok.clone();
        token.insert("x-amz-security-token", "forged".parse().unwrap());
        assert_eq!(verify_sigv4(&keys, "us-east-1", "athena", &http::Method::POST, &uri, &token, b"{}"), Err(AuthError::UnknownKey));
    }
}
