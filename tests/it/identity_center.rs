//! Trusted identity propagation against the endpoint: the identity provider's JWT on the
//! application role, SSO-OIDC CreateTokenWithIAM for the user's identity context, AssumeRole of
//! the access role with it; an Identity Center-enabled workgroup runs the queries of such
//! sessions only, and records the user. Each step's refusal names its call.

use athena_arrow::{Connection, ConnectionBuilder, Error, ErrorKind, Value, WebIdentityToken};

use crate::{IDC_APPLICATION, IDC_WORKGROUP, WEB_IDENTITY_AUDIENCE, WEB_IDENTITY_ROLE, builder, issuer, shared};

const ACCESS_ROLE: &str = "arn:aws:iam::000000000000:role/athena-access";

/// A connection signed in as `user` through Identity Center, on the enabled workgroup.
fn propagated(token: String, application: &str) -> ConnectionBuilder {
    Connection::builder()
        .with_endpoint_url(&shared().endpoint)
        .with_region("us-east-1")
        .with_work_group(IDC_WORKGROUP)
        .with_role_arn(WEB_IDENTITY_ROLE)
        .with_web_identity_token(WebIdentityToken::Token(token))
        .with_identity_center_application_arn(application)
        .with_access_role_arn(ACCESS_ROLE)
}

/// The Identity Center user the endpoint recorded for query `id`.
fn recorded_user(id: &str) -> Option<String> {
    let path = shared().data_dir().join("athena").join("queries").join(format!("{id}.json"));
    let record: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    record["identity_user"].as_str().map(str::to_owned)
}

fn credentials_message(e: &Error) -> String {
    match e {
        Error::Credentials { message, .. } => message.clone(),
        other => panic!("not a credentials error: {other:?}"),
    }
}

#[tokio::test]
async fn the_users_identity_runs_queries_in_an_identity_center_workgroup() {
    let token = issuer().token("dana@example.com", WEB_IDENTITY_AUDIENCE, 600);
    let conn = propagated(token.clone(), IDC_APPLICATION).build().await.unwrap();
    let mut rs = conn.execute("SELECT 1 AS one").await.unwrap();
    assert_eq!(rs.fetch_one().await.unwrap().unwrap().get(0), Some(Value::Integer(1)));
    assert_eq!(recorded_user(rs.query_id()).as_deref(), Some("dana@example.com"));
    // The session is the access role's (STS GetCallerIdentity through the connection's config).
    let who = aws_sdk_sts::Client::new(conn.sdk_config()).get_caller_identity().send().await.unwrap();
    assert_eq!(who.arn(), Some("arn:aws:sts::000000000000:assumed-role/athena-access/athena-arrow-session"));
    // Access keys, or the application role alone, carry no identity context: refused there.
    let plain = builder().with_work_group(IDC_WORKGROUP).build().await.unwrap();
    let e = plain.execute("SELECT 1").await.unwrap_err();
    assert_eq!(e.code(), Some("AccessDeniedException"), "{e:?}");
    assert!(e.to_string().contains(&format!("WorkGroup {IDC_WORKGROUP} is enabled for IAM Identity Center")), "{e}");
    let role_only = Connection::builder()
        .with_endpoint_url(&shared().endpoint)
        .with_region("us-east-1")
        .with_work_group(IDC_WORKGROUP)
        .with_role_arn(WEB_IDENTITY_ROLE)
        .with_web_identity_token(WebIdentityToken::Token(token))
        .build()
        .await
        .unwrap();
    assert_eq!(role_only.execute("SELECT 1").await.unwrap_err().code(), Some("AccessDeniedException"));
    // Elsewhere a plain connection runs as before, and records no user.
    let rs = builder().build().await.unwrap().execute("SELECT 1").await.unwrap();
    assert_eq!(recorded_user(rs.query_id()), None);
}

#[tokio::test]
async fn each_step_says_what_refused_it() {
    // Step 1: the token itself.
    let expired = issuer().token("dana@example.com", WEB_IDENTITY_AUDIENCE, -60);
    let e = propagated(expired.clone(), IDC_APPLICATION).build().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated);
    let message = credentials_message(&e);
    assert!(
        message.starts_with(&format!("STS AssumeRoleWithWebIdentity of role {WEB_IDENTITY_ROLE} failed: ExpiredTokenException")),
        "{message}"
    );
    assert!(!message.contains(&expired) && !format!("{e:?}").contains(&expired));
    // Step 2: an application Identity Center does not know.
    let other = "arn:aws:sso::000000000000:application/ssoins-local/apl-unknown";
    let e = propagated(issuer().token("dana@example.com", WEB_IDENTITY_AUDIENCE, 600), other).build().await.unwrap_err();
    assert_eq!(
        credentials_message(&e),
        format!("SSO-OIDC CreateTokenWithIAM for application {other} failed: InvalidClientException: Unknown application {other}")
    );
    // Settings that cannot work are configuration errors.
    let e = builder().with_access_role_arn(ACCESS_ROLE).build().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert_eq!(
        e.to_string(),
        "invalid configuration: identity_center_application_arn and access_role_arn (trusted identity propagation) need web_identity_token: the user's JWT"
    );
    let e = propagated(issuer().token("dana@example.com", WEB_IDENTITY_AUDIENCE, 600), IDC_APPLICATION)
        .with_option("access_role_arn", "")
        .build()
        .await;
    assert!(e.is_err());
}

#[tokio::test]
async fn the_chain_runs_again_at_each_refresh_with_the_token_read_again() {
    use aws_credential_types::provider::ProvideCredentials;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token");
    std::fs::write(&path, issuer().token("dana@example.com", WEB_IDENTITY_AUDIENCE, 600)).unwrap();
    let conn = Connection::builder()
        .with_endpoint_url(&shared().endpoint)
        .with_region("us-east-1")
        .with_work_group(IDC_WORKGROUP)
        .with_role_arn(WEB_IDENTITY_ROLE)
        .with_web_identity_token(WebIdentityToken::File(path.clone()))
        .with_identity_center_application_arn(IDC_APPLICATION)
        .with_access_role_arn(ACCESS_ROLE)
        .build()
        .await
        .unwrap();
    // What the SDK's identity cache calls before the session expires: the whole chain again.
    let provider = conn.sdk_config().credentials_provider().unwrap();
    let first = provider.provide_credentials().await.unwrap();
    let second = provider.provide_credentials().await.unwrap();
    assert_ne!(first.access_key_id(), second.access_key_id());
    assert!(second.expiry().is_some());
    // A token file rewritten with a token for another audience: the next refresh fails at
    // step 1, saying so.
    std::fs::write(&path, issuer().token("dana@example.com", "another-app", 600)).unwrap();
    let e = provider.provide_credentials().await.unwrap_err();
    let said = athena_arrow::message_with_causes(&e);
    assert!(said.contains("AssumeRoleWithWebIdentity of role") && said.contains("Incorrect token audience"), "{said}");
    // A query that needs credentials now fails with that refusal, typed.
    let e = conn.execute("SELECT 1").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e:?}");
    assert!(athena_arrow::message_with_causes(&e).contains("STS AssumeRoleWithWebIdentity of role"), "{e}");
}
