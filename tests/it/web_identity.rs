//! Sign-in with a web identity token (a JWT of the company's identity provider) through the
//! endpoint's STS AssumeRoleWithWebIdentity: the token given as text, as a file read again at
//! each refresh, as an environment variable (its value: `cli/tests/it`); each refusal typed, naming the call and the role,
//! never the token.

use athena_arrow::{Connection, ConnectionBuilder, Error, ErrorKind, Value, WebIdentityToken};
use aws_credential_types::provider::ProvideCredentials;

use crate::{WEB_IDENTITY_AUDIENCE, WEB_IDENTITY_ROLE, issuer, shared};

/// A builder with no AWS credentials of its own: the token is the only one.
fn signed_in(token: WebIdentityToken) -> ConnectionBuilder {
    Connection::builder()
        .with_endpoint_url(&shared().endpoint)
        .with_region("us-east-1")
        .with_s3_staging_dir("s3://athena-results/web-identity/")
        .with_role_arn(WEB_IDENTITY_ROLE)
        .with_web_identity_token(token)
}

fn good_token() -> String {
    issuer().token("alice@example.com", WEB_IDENTITY_AUDIENCE, 600)
}

async fn select_one(conn: &Connection) {
    let mut r = conn.execute("SELECT 1 AS one").await.unwrap();
    assert_eq!(r.fetch_one().await.unwrap().unwrap().get(0), Some(Value::Integer(1)));
}

fn credentials_message(e: &Error) -> String {
    match e {
        Error::Credentials { message, .. } => message.clone(),
        other => panic!("not a credentials error: {other:?}"),
    }
}

#[tokio::test]
async fn a_token_signs_in_and_its_credentials_run_queries() {
    let token = good_token();
    let conn = signed_in(WebIdentityToken::Token(token.clone())).with_role_session_name("alice").build().await.unwrap();
    let creds = conn.sdk_config().credentials_provider().unwrap().provide_credentials().await.unwrap();
    assert!(creds.access_key_id().starts_with("ASIA"), "{}", creds.access_key_id());
    assert!(creds.session_token().is_some());
    // An expiry, so that the SDK's identity cache refreshes them before it.
    let left = creds.expiry().unwrap().duration_since(std::time::SystemTime::now()).unwrap();
    assert!(left > std::time::Duration::from_secs(3500) && left <= std::time::Duration::from_secs(3600), "{left:?}");
    select_one(&conn).await;
    // The result is read from S3 with the same credentials (the fast path).
    let batches = conn.execute("SELECT * FROM one_row").await.unwrap().collect().await.unwrap();
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 1);
    // Never shown: not in the builder's Debug, not in the connection's.
    assert!(!format!("{:?}", signed_in(WebIdentityToken::Token(token.clone()))).contains(&token));
}

#[tokio::test]
async fn the_option_table_takes_a_file_read_again_at_each_refresh() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token");
    std::fs::write(&path, format!("{}\n", good_token())).unwrap();
    let conn = Connection::builder()
        .with_endpoint_url(&shared().endpoint)
        .with_region("us-east-1")
        .with_s3_staging_dir("s3://athena-results/web-identity/")
        .with_option("role_arn", WEB_IDENTITY_ROLE)
        .with_option("web_identity_token", &format!("file:{}", path.display()))
        .with_option("duration_seconds", "900")
        .build()
        .await
        .unwrap();
    select_one(&conn).await;
    let provider = conn.sdk_config().credentials_provider().unwrap();
    let first = provider.provide_credentials().await.unwrap();
    // The identity provider's agent writes a token for another audience: the next refresh
    // reads it, and STS refuses it.
    std::fs::write(&path, issuer().token("alice@example.com", "another-app", 600)).unwrap();
    let e = provider.provide_credentials().await.unwrap_err();
    assert!(athena_arrow::message_with_causes(&e).contains("InvalidIdentityToken: Incorrect token audience"), "{e:?}");
    // And a good one again: new credentials.
    std::fs::write(&path, good_token()).unwrap();
    let again = provider.provide_credentials().await.unwrap();
    assert_ne!(first.access_key_id(), again.access_key_id());
    std::fs::remove_file(&path).unwrap();
    let e = provider.provide_credentials().await.unwrap_err();
    let message = athena_arrow::message_with_causes(&e);
    assert!(message.contains(&format!("cannot read the web identity token file {}", path.display())), "{message}");
}

#[tokio::test]
async fn a_missing_token_variable_is_named() {
    // (A variable that holds a token is tested through the CLI, whose environment is its own:
    // setting one in this multi-threaded test process would race with aws-config's reads.)
    let e = signed_in(WebIdentityToken::parse("env:ATHENA_ARROW_TEST_NO_SUCH_JWT")).build().await.unwrap_err();
    assert_eq!(credentials_message(&e), "cannot read the web identity token from the environment variable ATHENA_ARROW_TEST_NO_SUCH_JWT");
}

#[tokio::test]
async fn refusals_name_the_call_and_the_role_never_the_token() {
    let cases = [
        (
            issuer().token("alice", WEB_IDENTITY_AUDIENCE, -60),
            WEB_IDENTITY_ROLE,
            "ExpiredTokenException: Token expired: current date/time ",
        ),
        (issuer().token("alice", "another-app", 600), WEB_IDENTITY_ROLE, "InvalidIdentityToken: Incorrect token audience"),
        (good_token(), "arn:aws:iam::000000000000:role/admin", "AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity"),
        (
            athena_emulator::LocalIssuer::new("https://idp.athena-arrow.test").token("alice", WEB_IDENTITY_AUDIENCE, 600),
            WEB_IDENTITY_ROLE,
            "InvalidIdentityToken: Couldn't retrieve verification key from your identity provider",
        ),
    ];
    for (token, role, said) in cases {
        let e = signed_in(WebIdentityToken::Token(token.clone())).with_role_arn(role).build().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e:?}");
        let message = credentials_message(&e);
        assert!(message.starts_with(&format!("STS AssumeRoleWithWebIdentity of role {role} failed: {said}")), "{message}");
        let everything = format!("{} {e:?}", athena_arrow::message_with_causes(&e));
        assert!(!everything.contains(&token), "the token shows in {everything}");
    }
}

#[tokio::test]
async fn a_token_needs_a_role_and_no_other_credentials() {
    let e = Connection::builder()
        .with_endpoint_url(&shared().endpoint)
        .with_region("us-east-1")
        .with_web_identity_token(WebIdentityToken::Token(good_token()))
        .build()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e:?}");
    assert!(e.to_string().contains("a web identity token needs role_arn"), "{e}");
    let e = signed_in(WebIdentityToken::Token(good_token())).with_access_key("test", "test").build().await.unwrap_err();
    assert!(e.to_string().contains("a web identity token is the only credential of its connection"), "{e}");
    let e = signed_in(WebIdentityToken::Token("   ".into())).build().await.unwrap_err();
    assert_eq!(credentials_message(&e), "the web identity token given is empty");
}
