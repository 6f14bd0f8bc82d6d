//! Web identity (OpenID Connect) tokens, as STS `AssumeRoleWithWebIdentity` checks them: the
//! token's issuer must be an OIDC provider the endpoint is configured with (IAM's OIDC identity
//! providers), its signature must verify against one of that provider's keys (its JWKS), its
//! audience must be one of the provider's client ids, it must not have expired, and the role
//! asked for must trust the provider. Each failure is refused with the code STS gives it.
//!
//! [`LocalIssuer`] is an identity provider for tests: a fresh ES256 key, its JWKS, and tokens
//! signed with it.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};

/// An OpenID Connect provider the endpoint trusts (IAM's `CreateOpenIDConnectProvider`, plus
/// the roles whose trust policy names it).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OidcProvider {
    /// The issuer (`iss` claim), e.g. `https://idp.example.com`.
    pub issuer: String,
    /// Audiences (`aud` claim) accepted: IAM's client id list.
    pub client_ids: Vec<String>,
    /// The provider's signing keys, as its `jwks_uri` serves them.
    pub jwks: JwkSet,
    /// ARNs of the roles that trust this provider for `sts:AssumeRoleWithWebIdentity`.
    pub roles: Vec<String>,
}

/// Why a web identity token was refused: STS's error code, HTTP status and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl Refusal {
    fn invalid(message: impl Into<String>) -> Self {
        Refusal { status: 400, code: "InvalidIdentityToken", message: message.into() }
    }
}

/// What a verified token says of the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebIdentity {
    pub issuer: String,
    pub subject: String,
    /// The audience that matched one of the provider's client ids.
    pub audience: String,
}

/// The message STS gives a token it cannot verify.
const NOT_VALIDATED: &str = "The web identity token that was passed could not be validated by Amazon Web Services. Get a new identity token from the identity provider and then retry the request.";
/// STS's message when no key of the provider has the token's key id (two spaces as STS writes it).
const NO_KEY: &str = "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements";

/// The signature algorithms IAM accepts for OIDC tokens.
const ALGORITHMS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
];

fn now_secs() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// The token's claims, read before any check (to find its issuer).
fn unverified_claims(token: &str) -> Option<serde_json::Value> {
    let mut parts = token.split('.');
    let (_header, payload, _sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The token's audiences (`aud` is a string or an array of strings).
pub fn audiences(claims: &serde_json::Value) -> Vec<String> {
    match &claims["aud"] {
        serde_json::Value::String(s) => vec![s.clone()],
        serde_json::Value::Array(items) => items.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
        _ => Vec::new(),
    }
}

/// Issuers compare as IAM compares provider URLs: without the scheme and a trailing slash.
pub fn same_issuer(a: &str, b: &str) -> bool {
    let bare = |s: &str| s.trim_start_matches("https://").trim_end_matches('/').to_owned();
    bare(a) == bare(b)
}

/// Checks `token` for `role_arn` against the configured providers.
pub fn verify(providers: &[OidcProvider], token: &str, role_arn: &str) -> Result<WebIdentity, Refusal> {
    let (provider, claims) = verified_claims(providers, token)?;
    let audience = audiences(&claims)
        .into_iter()
        .find(|aud| provider.client_ids.contains(aud))
        .ok_or_else(|| Refusal::invalid("Incorrect token audience"))?;
    if !provider.roles.iter().any(|r| r == role_arn) {
        return Err(Refusal {
            status: 403,
            code: "AccessDenied",
            message: "Not authorized to perform sts:AssumeRoleWithWebIdentity".into(),
        });
    }
    let subject = claims["sub"].as_str().unwrap_or_default().to_owned();
    Ok(WebIdentity { issuer: provider.issuer.clone(), subject, audience })
}

/// The provider that issued `token`, and its claims once its signature and expiry are checked
/// (with STS's codes and messages); its audience is the caller's to check.
pub fn verified_claims<'a>(providers: &'a [OidcProvider], token: &str) -> Result<(&'a OidcProvider, serde_json::Value), Refusal> {
    let claims = unverified_claims(token).ok_or_else(|| Refusal::invalid(NOT_VALIDATED))?;
    let issuer = claims["iss"].as_str().ok_or_else(|| Refusal::invalid(NOT_VALIDATED))?;
    let provider = providers
        .iter()
        .find(|p| same_issuer(&p.issuer, issuer))
        .ok_or_else(|| Refusal::invalid(format!("No OpenIDConnect provider found in your account for {issuer}")))?;
    let header = jsonwebtoken::decode_header(token).map_err(|_| Refusal::invalid(NOT_VALIDATED))?;
    if !ALGORITHMS.contains(&header.alg) {
        return Err(Refusal::invalid(NOT_VALIDATED));
    }
    let jwk = match &header.kid {
        Some(kid) => provider.jwks.find(kid),
        // A provider with one key may sign without a key id.
        None if provider.jwks.keys.len() == 1 => provider.jwks.keys.first(),
        None => None,
    }
    .ok_or_else(|| Refusal::invalid(NO_KEY))?;
    let key = DecodingKey::from_jwk(jwk).map_err(|_| Refusal::invalid(NO_KEY))?;
    // The signature here; expiry and audience below, with STS's own messages.
    let mut validation = Validation::new(header.alg);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<serde_json::Value>(token, &key, &validation).map_err(|_| Refusal::invalid(NOT_VALIDATED))?;
    let now = now_secs();
    let Some(exp) = claims["exp"].as_f64().map(|e| e as i64) else {
        return Err(Refusal::invalid(NOT_VALIDATED));
    };
    if exp <= now {
        return Err(Refusal {
            status: 400,
            code: "ExpiredTokenException",
            message: format!("Token expired: current date/time {now} must be before the expiration date/time{exp}"),
        });
    }
    Ok((provider, claims))
}

/// An OpenID Connect identity provider for tests: a fresh ES256 (P-256) key, its JWKS, and
/// tokens signed with it. Its private key never leaves the process.
pub struct LocalIssuer {
    issuer: String,
    kid: String,
    key: jsonwebtoken::EncodingKey,
    jwks: JwkSet,
}

impl std::fmt::Debug for LocalIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalIssuer").field("issuer", &self.issuer).field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl LocalIssuer {
    /// A new issuer named `issuer` (the `iss` of its tokens) with a key made now.
    pub fn new(issuer: impl Into<String>) -> Self {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("P-256 key generation");
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).expect("a key just made");
        // The uncompressed point: 0x04, then x and y of 32 bytes each.
        let point = pair.public_key().as_ref();
        let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        let kid = uuid::Uuid::new_v4().simple().to_string();
        let jwks: JwkSet = serde_json::from_value(serde_json::json!({"keys": [{
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
            "x": b64(&point[1..33]), "y": b64(&point[33..65]),
        }]}))
        .expect("a JWK of the P-256 key");
        let key = jsonwebtoken::EncodingKey::from_ec_der(pkcs8.as_ref());
        LocalIssuer { issuer: issuer.into(), kid, key, jwks }
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The public keys, as a JWKS document serves them.
    pub fn jwks(&self) -> &JwkSet {
        &self.jwks
    }

    /// The provider an endpoint configures to trust this issuer for `client_ids` and `roles`.
    pub fn provider(&self, client_ids: &[&str], roles: &[&str]) -> OidcProvider {
        OidcProvider {
            issuer: self.issuer.clone(),
            client_ids: client_ids.iter().map(|s| s.to_string()).collect(),
            jwks: self.jwks.clone(),
            roles: roles.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// A token for `subject` and `audience` that expires `valid_for_secs` from now (negative:
    /// already expired).
    pub fn token(&self, subject: &str, audience: &str, valid_for_secs: i64) -> String {
        let now = now_secs();
        self.sign(&serde_json::json!({
            "iss": self.issuer, "sub": subject, "aud": audience, "iat": now, "exp": now + valid_for_secs,
        }))
    }

    /// Signs any claims with the issuer's key (its key id in the header).
    pub fn sign(&self, claims: &serde_json::Value) -> String {
        let mut header = jsonwebtoken::Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.key).expect("ES256 signing")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLE: &str = "arn:aws:iam::000000000000:role/analyst";

    fn setup() -> (LocalIssuer, Vec<OidcProvider>) {
        let issuer = LocalIssuer::new("https://idp.example.test");
        let providers = vec![issuer.provider(&["athena-arrow"], &[ROLE])];
        (issuer, providers)
    }

    #[test]
    fn a_good_token_names_its_subject() {
        let (issuer, providers) = setup();
        let id = verify(&providers, &issuer.token("alice", "athena-arrow", 600), ROLE).unwrap();
        assert_eq!(id, WebIdentity { issuer: "https://idp.example.test".into(), subject: "alice".into(), audience: "athena-arrow".into() });
    }

    #[test]
    fn each_failure_is_refused_as_sts_refuses_it() {
        let (issuer, providers) = setup();
        let refused = |token: &str, role: &str| verify(&providers, token, role).unwrap_err();
        let expired = refused(&issuer.token("alice", "athena-arrow", -5), ROLE);
        assert_eq!((expired.status, expired.code), (400, "ExpiredTokenException"));
        assert!(expired.message.starts_with("Token expired: current date/time "), "{}", expired.message);
        let audience = refused(&issuer.token("alice", "someone-else", 600), ROLE);
        assert_eq!((audience.code, audience.message.as_str()), ("InvalidIdentityToken", "Incorrect token audience"));
        let role = refused(&issuer.token("alice", "athena-arrow", 600), "arn:aws:iam::000000000000:role/admin");
        assert_eq!((role.status, role.code), (403, "AccessDenied"));
        // Signed by another key with the same key id: the signature does not verify.
        let mut forger = LocalIssuer::new("https://idp.example.test");
        forger.kid = issuer.kid.clone();
        let forged = refused(&forger.token("alice", "athena-arrow", 600), ROLE);
        assert_eq!((forged.code, forged.message.as_str()), ("InvalidIdentityToken", NOT_VALIDATED));
        // Another key id: no key to verify with.
        let unknown_key = refused(&LocalIssuer::new("https://idp.example.test").token("alice", "athena-arrow", 600), ROLE);
        assert_eq!(unknown_key.message, NO_KEY);
        let other_issuer = refused(&LocalIssuer::new("https://evil.example.test").token("alice", "athena-arrow", 600), ROLE);
        assert_eq!(other_issuer.message, "No OpenIDConnect provider found in your account for https://evil.example.test");
        // A changed claim breaks the signature.
        let token = issuer.token("alice", "athena-arrow", 600);
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut claims: serde_json::Value = serde_json::from_slice(&b64.decode(&parts[1]).unwrap()).unwrap();
        claims["sub"] = "mallory".into();
        parts[1] = b64.encode(serde_json::to_vec(&claims).unwrap());
        assert_eq!(refused(&parts.join("."), ROLE).message, NOT_VALIDATED);
        assert_eq!(refused("not-a-jwt", ROLE).code, "InvalidIdentityToken");
    }

    #[test]
    fn a_token_without_expiry_is_refused() {
        let (issuer, providers) = setup();
        let token = issuer.sign(&serde_json::json!({"iss": issuer.issuer(), "sub": "alice", "aud": "athena-arrow"}));
        assert_eq!(verify(&providers, &token, ROLE).unwrap_err().message, NOT_VALIDATED);
    }
}
