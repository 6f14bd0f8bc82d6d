//! STS on the same port (query protocol: form-encoded POST, XML answers): AssumeRole,
//! AssumeRoleWithWebIdentity (unsigned, the token checked by [`crate::protocol::oidc`]) and
//! GetSessionToken issue temporary credentials that the endpoint then accepts, with their session
//! token, until they expire; GetCallerIdentity names the caller.

use std::collections::HashMap;

use bytes::Bytes;
use http::{Request, Response};
use rand::Rng;
use s3s::Body;

use crate::protocol::auth::Keys;
use crate::protocol::identity_center::{CONTEXT_PROVIDER, IdentityCenter, IdentityContext};
use crate::protocol::oidc::{self, OidcProvider};

const NS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";
/// The account every identity of the endpoint belongs to.
const ACCOUNT: &str = "000000000000";

/// Form-encoded POST to `/`: the STS query protocol (S3 never posts to the service root).
pub fn is_sts_request<B>(req: &Request<B>) -> bool {
    req.method() == http::Method::POST
        && req.uri().path() == "/"
        && req
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn xml_response(status: u16, body: String) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "text/xml")
        .header("x-amzn-RequestId", uuid::Uuid::new_v4().to_string())
        .body(Body::from(Bytes::from(body)))
        .expect("valid response")
}

/// The STS error shape.
pub fn error_response(status: u16, code: &str, message: &str) -> Response<Body> {
    let kind = if status >= 500 { "Receiver" } else { "Sender" };
    xml_response(
        status,
        format!(
            "<ErrorResponse xmlns=\"{NS}\"><Error><Type>{kind}</Type><Code>{code}</Code><Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
            xml_escape(message),
            uuid::Uuid::new_v4()
        ),
    )
}

/// The form of an STS request (its body).
pub type Form = HashMap<String, String>;

/// An STS request's form-encoded body.
pub fn parse_form(body: &[u8]) -> Form {
    crate::protocol::url_pairs(&String::from_utf8_lossy(body), true).into_iter().collect()
}

fn random_string(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::rng();
    (0..len).map(|_| alphabet[rng.random_range(0..alphabet.len())] as char).collect()
}

struct Issued {
    access_key: String,
    secret: String,
    token: String,
    expires: chrono::DateTime<chrono::Utc>,
}

/// Temporary credentials for `principal` (`(Arn, UserId)`).
fn issue(keys: &Keys, duration_secs: i64, principal: (String, String)) -> Issued {
    issue_for(keys, duration_secs, principal, None)
}

/// Credentials acting for an Identity Center user (`identity`) too, when given.
fn issue_for(keys: &Keys, duration_secs: i64, principal: (String, String), identity: Option<IdentityContext>) -> Issued {
    let access_key = format!("ASIA{}", random_string(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16));
    let secret = random_string(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 40);
    let token = format!("FwoGZXIvYXdzE{}", random_string(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 120));
    let expires = chrono::Utc::now() + chrono::Duration::seconds(duration_secs);
    keys.insert_session(&access_key, &secret, &token, expires, principal, identity);
    Issued { access_key, secret, token, expires }
}

fn credentials_xml(c: &Issued) -> String {
    format!(
        "<Credentials><AccessKeyId>{}</AccessKeyId><SecretAccessKey>{}</SecretAccessKey><SessionToken>{}</SessionToken><Expiration>{}</Expiration></Credentials>",
        c.access_key,
        c.secret,
        c.token,
        c.expires.format("%Y-%m-%dT%H:%M:%SZ")
    )
}

fn success(action: &str, result: String) -> Response<Body> {
    xml_response(
        200,
        format!(
            "<{action}Response xmlns=\"{NS}\"><{action}Result>{result}</{action}Result><ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></{action}Response>",
            uuid::Uuid::new_v4()
        ),
    )
}

/// DurationSeconds within `[900, max]`, `default` when absent.
fn duration(form: &HashMap<String, String>, default: i64, max: i64) -> Result<i64, Response<Body>> {
    let Some(text) = form.get("DurationSeconds") else {
        return Ok(default);
    };
    match text.parse::<i64>() {
        Ok(d) if (900..=max).contains(&d) => Ok(d),
        _ => Err(error_response(
            400,
            "ValidationError",
            &format!(
                "1 validation error detected: Value '{text}' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and {max}"
            ),
        )),
    }
}

/// MFA: a SerialNumber needs a TokenCode of six digits (the endpoint has no real devices).
fn check_mfa(form: &HashMap<String, String>) -> Result<(), Response<Body>> {
    let Some(serial) = form.get("SerialNumber") else {
        return Ok(());
    };
    if serial.len() < 9 {
        return Err(error_response(
            400,
            "ValidationError",
            "Value at 'serialNumber' failed to satisfy constraint: Member must have length greater than or equal to 9",
        ));
    }
    match form.get("TokenCode") {
        Some(code) if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) => Ok(()),
        _ => Err(error_response(403, "AccessDenied", "MultiFactorAuthentication failed with invalid MFA one time pass code. ")),
    }
}

/// Whether STS answers this action without a signature (the token is the credential).
pub fn is_unsigned_action(form: &Form) -> bool {
    form.get("Action").is_some_and(|a| a == "AssumeRoleWithWebIdentity")
}

/// Answers one STS action for the verified `caller`; `None`: an unsigned request, which only
/// the actions of [`is_unsigned_action`] take.
pub fn call(keys: &Keys, providers: &[OidcProvider], idc: &IdentityCenter, caller: Option<&str>, form: &Form) -> Response<Body> {
    let action = form.get("Action").map(String::as_str).unwrap_or("");
    let result = match (action, caller) {
        // Signed or not, the token is what is checked.
        ("AssumeRoleWithWebIdentity", _) => assume_role_with_web_identity(keys, providers, form),
        (_, None) => Err(error_response(403, "MissingAuthenticationToken", "Request is missing Authentication Token")),
        ("AssumeRole", Some(_)) => assume_role(keys, idc, form),
        ("GetSessionToken", Some(caller)) => get_session_token(keys, caller, form),
        ("GetCallerIdentity", Some(caller)) => {
            let (arn, user_id) = caller_principal(keys, caller);
            Ok(success(
                action,
                format!("<Arn>{}</Arn><UserId>{}</UserId><Account>{ACCOUNT}</Account>", xml_escape(&arn), xml_escape(&user_id)),
            ))
        }
        (other, Some(_)) => Err(error_response(400, "InvalidAction", &format!("Could not find operation {other} for version 2011-06-15"))),
    };
    result.unwrap_or_else(|e| e)
}

/// The caller as GetCallerIdentity names it: a long-term key is the endpoint's user of that
/// name; temporary credentials are whom STS issued them to.
pub(crate) fn caller_principal(keys: &Keys, caller: &str) -> (String, String) {
    keys.principal(caller).unwrap_or_else(|| (format!("arn:aws:iam::{ACCOUNT}:user/{caller}"), caller.to_owned()))
}

fn missing(what: &str) -> Response<Body> {
    error_response(
        400,
        "ValidationError",
        &format!("1 validation error detected: Value null at '{what}' failed to satisfy constraint: Member must not be null"),
    )
}

/// The role's ARN, its name and the session name of an AssumeRole* request.
fn role_and_session(form: &HashMap<String, String>) -> Result<(&str, &str, &str), Response<Body>> {
    let role_arn = form.get("RoleArn").ok_or_else(|| missing("roleArn"))?;
    let session = form.get("RoleSessionName").ok_or_else(|| missing("roleSessionName"))?;
    let Some(role) = role_arn.strip_prefix("arn:aws:iam::").and_then(|r| r.split_once(":role/")).map(|(_, role)| role) else {
        return Err(error_response(400, "ValidationError", &format!("{role_arn} is invalid")));
    };
    if session.len() < 2 || session.len() > 64 {
        return Err(error_response(
            400,
            "ValidationError",
            "Value at 'roleSessionName' failed to satisfy constraint: Member must have length between 2 and 64",
        ));
    }
    Ok((role_arn, role, session))
}

/// The assumed role's session: `(Arn, AssumedRoleId)`.
fn assumed_role(role: &str, session: &str) -> (String, String) {
    let id = format!("AROA{}:{session}", random_string(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 17));
    (format!("arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}"), id)
}

fn assumed_role_user((arn, id): &(String, String)) -> String {
    format!("<AssumedRoleUser><AssumedRoleId>{}</AssumedRoleId><Arn>{}</Arn></AssumedRoleUser>", xml_escape(id), xml_escape(arn))
}

fn assume_role(keys: &Keys, idc: &IdentityCenter, form: &HashMap<String, String>) -> Result<Response<Body>, Response<Body>> {
    let (_, role, session) = role_and_session(form)?;
    let secs = duration(form, 3600, 43_200)?;
    check_mfa(form)?;
    let identity = provided_context(idc, form)?;
    let user = assumed_role(role, session);
    let issued = issue_for(keys, secs, user.clone(), identity);
    Ok(success("AssumeRole", format!("{}{}", credentials_xml(&issued), assumed_role_user(&user))))
}

/// The identity of AssumeRole's `ProvidedContexts` (query protocol:
/// `ProvidedContexts.member.N.ProviderArn` / `.ContextAssertion`): only Identity Center's
/// provider, its assertion made by this endpoint's CreateTokenWithIAM and unexpired. (The codes
/// and words of the refusals are this endpoint's: no source gives STS's.)
fn provided_context(idc: &IdentityCenter, form: &HashMap<String, String>) -> Result<Option<IdentityContext>, Response<Body>> {
    let Some(provider) = form.get("ProvidedContexts.member.1.ProviderArn") else {
        return Ok(None);
    };
    if provider != CONTEXT_PROVIDER {
        return Err(error_response(400, "InvalidParameterValue", &format!("Unsupported context provider {provider}")));
    }
    if form.contains_key("ProvidedContexts.member.2.ProviderArn") {
        return Err(error_response(400, "InvalidParameterValue", "At most one provided context is accepted"));
    }
    let assertion =
        form.get("ProvidedContexts.member.1.ContextAssertion").ok_or_else(|| missing("providedContexts.1.member.contextAssertion"))?;
    idc.open(assertion).map(Some).map_err(|(code, message)| error_response(400, code, &message))
}

/// A web identity token (JWT) for temporary credentials of a role that trusts its issuer.
fn assume_role_with_web_identity(
    keys: &Keys,
    providers: &[OidcProvider],
    form: &HashMap<String, String>,
) -> Result<Response<Body>, Response<Body>> {
    let (role_arn, role, session) = role_and_session(form)?;
    let token = form.get("WebIdentityToken").ok_or_else(|| missing("webIdentityToken"))?;
    if token.len() < 4 || token.len() > 20_000 {
        return Err(error_response(
            400,
            "ValidationError",
            "Value at 'webIdentityToken' failed to satisfy constraint: Member must have length between 4 and 20000",
        ));
    }
    let secs = duration(form, 3600, 43_200)?;
    let identity = oidc::verify(providers, token, role_arn).map_err(|r| error_response(r.status, r.code, &r.message))?;
    let user = assumed_role(role, session);
    let issued = issue(keys, secs, user.clone());
    Ok(success(
        "AssumeRoleWithWebIdentity",
        format!(
            "{}<SubjectFromWebIdentityToken>{}</SubjectFromWebIdentityToken>{}<Provider>{}</Provider><Audience>{}</Audience>",
            credentials_xml(&issued),
            xml_escape(&identity.subject),
            assumed_role_user(&user),
            xml_escape(identity.issuer.trim_start_matches("https://")),
            xml_escape(&identity.audience)
        ),
    ))
}

fn get_session_token(keys: &Keys, caller: &str, form: &HashMap<String, String>) -> Result<Response<Body>, Response<Body>> {
    if keys.is_temporary(caller) {
        return Err(error_response(403, "AccessDenied", "Cannot call GetSessionToken with session credentials"));
    }
    let secs = duration(form, 43_200, 129_600)?;
    check_mfa(form)?;
    // GetSessionToken's credentials act as the user who asked for them.
    Ok(success("GetSessionToken", credentials_xml(&issue(keys, secs, caller_principal(keys, caller)))))
}
