//! IAM Identity Center's trusted identity propagation on the same port: SSO-OIDC
//! `CreateTokenWithIAM` (`POST /token?aws_iam=t`, rest-json, signed for `sso-oauth`) trades an
//! identity provider's JWT (grant `urn:ietf:params:oauth:grant-type:jwt-bearer`) for an identity
//! context, which STS `AssumeRole` takes as a provided context
//! (`arn:aws:iam::aws:contextProvider/IdentityCenter`) and binds to the session it issues; an
//! Identity Center-enabled workgroup then runs queries only for sessions that carry one, and
//! records the user.
//!
//! Shapes from AWS's SSO-OIDC model (botocore `sso-oidc` `service-2.json`: the request's
//! `clientId`, `grantType`, `assertion`; the answer's `accessToken`, `tokenType`, `expiresIn`,
//! `idToken`, `issuedTokenType`, `awsAdditionalDetails.identityContext`; errors
//! `{"error", "error_description"}` with their HTTP status). An application trusts the issuer of
//! a configured OpenID Connect provider (its JWKS checks the signature) for the audiences it
//! names. The identity context is this endpoint's own sealed token (AWS's is opaque too); the
//! words of refusals are this endpoint's.

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use rand::RngCore;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::protocol::oidc::{self, OidcProvider};

/// The context provider of Identity Center's identity contexts (`ProvidedContexts[].ProviderArn`).
pub const CONTEXT_PROVIDER: &str = "arn:aws:iam::aws:contextProvider/IdentityCenter";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// How long a token and its identity context last (Identity Center's access tokens: 1 hour).
const TOKEN_SECS: i64 = 3600;

/// An Identity Center customer-managed application that trusts a token issuer
/// (`--identity-center-application FILE`, [`crate::EmulatorBuilder::with_identity_center_application`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IdcApplication {
    /// The application's ARN: the `clientId` of CreateTokenWithIAM.
    pub arn: String,
    /// The trusted token issuer (`iss`), one of the endpoint's OpenID Connect providers.
    pub issuer: String,
    /// The `aud` values it accepts.
    pub audiences: Vec<String>,
}

/// A user's identity as a context assertion carries it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IdentityContext {
    /// The user (the token's `sub`).
    pub user: String,
    pub issuer: String,
    /// The application that vouched for the user.
    pub application: String,
    /// Unix seconds.
    pub expires: i64,
}

/// An SSO-OIDC error: its exception (the `x-amzn-ErrorType`), HTTP status, OAuth code and
/// description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoError {
    pub exception: &'static str,
    pub status: u16,
    pub error: &'static str,
    pub description: String,
}

impl SsoError {
    fn new(exception: &'static str, status: u16, error: &'static str, description: impl Into<String>) -> Self {
        Self { exception, status, error, description: description.into() }
    }

    pub fn body(&self) -> Value {
        json!({ "error": self.error, "error_description": self.description })
    }
}

/// The applications and the key that seals identity contexts.
pub struct IdentityCenter {
    applications: Vec<IdcApplication>,
    key: [u8; 32],
}

impl std::fmt::Debug for IdentityCenter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityCenter").field("applications", &self.applications).finish_non_exhaustive()
    }
}

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

impl IdentityCenter {
    pub fn new(applications: Vec<IdcApplication>) -> Self {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        Self { applications, key }
    }

    fn mac(&self, payload: &[u8]) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length");
        mac.update(payload);
        mac.finalize().into_bytes().to_vec()
    }

    /// `context` as an assertion only this endpoint can make: its JSON and a MAC, base64url.
    fn seal(&self, context: &IdentityContext) -> String {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let payload = serde_json::to_vec(context).expect("serialisable");
        format!("{}.{}", b64.encode(&payload), b64.encode(self.mac(&payload)))
    }

    /// The identity in a context assertion this endpoint made; `Err`: STS's code and message.
    pub fn open(&self, assertion: &str) -> Result<IdentityContext, (&'static str, String)> {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let invalid = || ("InvalidParameterValue", "The provided context assertion is invalid".to_owned());
        let (payload, mac) = assertion.split_once('.').ok_or_else(invalid)?;
        let payload = b64.decode(payload).map_err(|_| invalid())?;
        let mac = b64.decode(mac).map_err(|_| invalid())?;
        let mut check = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length");
        check.update(&payload);
        check.verify_slice(&mac).map_err(|_| invalid())?;
        let context: IdentityContext = serde_json::from_slice(&payload).map_err(|_| invalid())?;
        if context.expires <= now_secs() {
            return Err(("ExpiredTokenException", "The provided context assertion has expired".to_owned()));
        }
        Ok(context)
    }

    /// CreateTokenWithIAM with the jwt-bearer grant.
    pub fn create_token_with_iam(&self, providers: &[OidcProvider], input: &Value) -> Result<Value, SsoError> {
        let field = |k: &str| input.get(k).and_then(Value::as_str);
        let client_id =
            field("clientId").ok_or_else(|| SsoError::new("InvalidRequestException", 400, "invalid_request", "clientId is required"))?;
        let grant =
            field("grantType").ok_or_else(|| SsoError::new("InvalidRequestException", 400, "invalid_request", "grantType is required"))?;
        let app =
            self.applications.iter().find(|a| a.arn == client_id).ok_or_else(|| {
                SsoError::new("InvalidClientException", 401, "invalid_client", format!("Unknown application {client_id}"))
            })?;
        if grant != JWT_BEARER {
            return Err(SsoError::new(
                "UnsupportedGrantTypeException",
                400,
                "unsupported_grant_type",
                format!("This endpoint takes the {JWT_BEARER} grant only"),
            ));
        }
        let assertion =
            field("assertion").ok_or_else(|| SsoError::new("InvalidRequestException", 400, "invalid_request", "assertion is required"))?;
        let refused = |description: String| SsoError::new("InvalidGrantException", 400, "invalid_grant", description);
        let (provider, claims) = oidc::verified_claims(providers, assertion).map_err(|r| refused(r.message))?;
        if !oidc::same_issuer(&provider.issuer, &app.issuer) {
            return Err(refused(format!("The application does not trust the token issuer {}", provider.issuer)));
        }
        if !oidc::audiences(&claims).iter().any(|a| app.audiences.contains(a)) {
            return Err(refused("Incorrect token audience".into()));
        }
        let user = claims["sub"].as_str().filter(|s| !s.is_empty()).ok_or_else(|| refused("The token has no subject".into()))?;
        let now = now_secs();
        let context = IdentityContext {
            user: user.to_owned(),
            issuer: provider.issuer.clone(),
            application: app.arn.clone(),
            expires: now + TOKEN_SECS,
        };
        let assertion = self.seal(&context);
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut random = [0u8; 24];
        rand::rng().fill_bytes(&mut random);
        // An ID token carrying the context in its `sts:identity_context` claim, as Identity
        // Center's does (MAC-signed here: only this endpoint reads it).
        let header = b64.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let claims = b64.encode(
            serde_json::to_vec(&json!({
                "iss": "https://identitycenter.amazonaws.com/ssoins-local", "sub": user, "aud": app.arn,
                "iat": now, "exp": now + TOKEN_SECS, "sts:identity_context": assertion,
            }))
            .expect("serialisable"),
        );
        let signature = b64.encode(self.mac(format!("{header}.{claims}").as_bytes()));
        Ok(json!({
            "accessToken": format!("aoa{}", b64.encode(random)),
            "tokenType": "Bearer",
            "expiresIn": TOKEN_SECS,
            "idToken": format!("{header}.{claims}.{signature}"),
            "issuedTokenType": "urn:ietf:params:oauth:token-type:access_token",
            "awsAdditionalDetails": { "identityContext": assertion },
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::oidc::LocalIssuer;

    const APP: &str = "arn:aws:sso::000000000000:application/ssoins-local/apl-1";

    #[test]
    fn a_token_becomes_an_identity_context_only_for_its_application() {
        let issuer = LocalIssuer::new("https://idp.tip.test");
        let providers = vec![issuer.provider(&["sts-app"], &[])];
        let idc = IdentityCenter::new(vec![IdcApplication {
            arn: APP.into(),
            issuer: "https://idp.tip.test".into(),
            audiences: vec!["tip-app".into()],
        }]);
        let input = |token: &str, app: &str| json!({ "clientId": app, "grantType": JWT_BEARER, "assertion": token });
        let out = idc.create_token_with_iam(&providers, &input(&issuer.token("dana", "tip-app", 600), APP)).unwrap();
        let context = idc.open(out["awsAdditionalDetails"]["identityContext"].as_str().unwrap()).unwrap();
        assert_eq!((context.user.as_str(), context.application.as_str()), ("dana", APP));
        assert_eq!(out["tokenType"], "Bearer");
        // A forged or changed assertion is refused.
        let sealed = out["awsAdditionalDetails"]["identityContext"].as_str().unwrap();
        let forged = format!("{}x", sealed);
        assert_eq!(idc.open(&forged).unwrap_err().0, "InvalidParameterValue");
        assert_eq!(IdentityCenter::new(vec![]).open(sealed).unwrap_err().0, "InvalidParameterValue");
        // Wrong audience, unknown application, other grant, expired token.
        let e = idc.create_token_with_iam(&providers, &input(&issuer.token("dana", "sts-app", 600), APP)).unwrap_err();
        assert_eq!((e.exception, e.error, e.description.as_str()), ("InvalidGrantException", "invalid_grant", "Incorrect token audience"));
        let e = idc.create_token_with_iam(&providers, &input(&issuer.token("dana", "tip-app", 600), "arn:other")).unwrap_err();
        assert_eq!((e.exception, e.status), ("InvalidClientException", 401));
        let e = idc.create_token_with_iam(&providers, &json!({ "clientId": APP, "grantType": "authorization_code" })).unwrap_err();
        assert_eq!(e.exception, "UnsupportedGrantTypeException");
        let e = idc.create_token_with_iam(&providers, &input(&issuer.token("dana", "tip-app", -60), APP)).unwrap_err();
        assert_eq!(e.exception, "InvalidGrantException");
        assert!(e.description.starts_with("Token expired"), "{}", e.description);
    }
}
