//! Every credential path against the endpoint's STS: static keys, session tokens, profiles,
//! assume role (with external id, with MFA), MFA session tokens; refusals are typed.

use std::io::Write;

use athena_arrow::{Connection, Error, ErrorKind, Value};
use aws_credential_types::provider::ProvideCredentials;

use crate::{builder, shared};

async fn access_key_of(conn: &Connection) -> (String, bool) {
    let creds = conn.sdk_config().credentials_provider().unwrap().provide_credentials().await.unwrap();
    (creds.access_key_id().to_owned(), creds.session_token().is_some())
}

async fn select_one(conn: &Connection) {
    let mut r = conn.execute("SELECT 1 AS one").await.unwrap();
    assert_eq!(r.fetch_one().await.unwrap().unwrap().get(0), Some(Value::Integer(1)));
}

#[tokio::test]
async fn assume_role_issues_temporary_credentials_that_work() {
    let conn = builder()
        .with_role_arn("arn:aws:iam::000000000000:role/analyst")
        .with_role_session_name("tests")
        .with_external_id("ext-1")
        .with_duration_seconds(900)
        .build()
        .await
        .unwrap();
    let (key, token) = access_key_of(&conn).await;
    assert!(key.starts_with("ASIA") && token, "{key}");
    select_one(&conn).await;
    // STS names the caller by the session it issued.
    let who = aws_sdk_sts::Client::new(conn.sdk_config()).get_caller_identity().send().await.unwrap();
    assert_eq!(who.arn(), Some("arn:aws:sts::000000000000:assumed-role/analyst/tests"));
    assert!(who.user_id().is_some_and(|id| id.starts_with("AROA") && id.ends_with(":tests")), "{who:?}");
    let long_term = aws_sdk_sts::Client::new(builder().build().await.unwrap().sdk_config()).get_caller_identity().send().await.unwrap();
    assert_eq!(long_term.arn(), Some("arn:aws:iam::000000000000:user/test"));
    let e = builder().with_role_arn("not-an-arn").build().await.unwrap_err();
    assert!(matches!(e, Error::Credentials { .. }), "{e:?}");
}

#[tokio::test]
async fn mfa_session_token_and_assume_role_with_mfa() {
    let conn = builder()
        .with_serial_number("arn:aws:iam::000000000000:mfa/device")
        .with_mfa_token_code(|| Ok("123456".into()))
        .build()
        .await
        .unwrap();
    assert!(access_key_of(&conn).await.0.starts_with("ASIA"));
    select_one(&conn).await;

    let conn = builder()
        .with_role_arn("arn:aws:iam::000000000000:role/analyst")
        .with_serial_number("arn:aws:iam::000000000000:mfa/device")
        .with_mfa_token_code(|| Ok("654321".into()))
        .build()
        .await
        .unwrap();
    select_one(&conn).await;

    let e = builder()
        .with_serial_number("arn:aws:iam::000000000000:mfa/device")
        .with_mfa_token_code(|| Ok("12".into()))
        .build()
        .await
        .unwrap_err();
    assert!(matches!(&e, Error::Credentials { message, .. } if message.contains("AccessDenied")), "{e:?}");
}

#[tokio::test]
async fn session_token_is_required_with_temporary_keys() {
    // Temporary keys from STS, used as static keys with and without their token.
    let conn = builder().with_role_arn("arn:aws:iam::000000000000:role/analyst").build().await.unwrap();
    let creds = conn.sdk_config().credentials_provider().unwrap().provide_credentials().await.unwrap();
    let with_token = builder()
        .with_access_key(creds.access_key_id(), creds.secret_access_key())
        .with_session_token(creds.session_token().unwrap())
        .build()
        .await
        .unwrap();
    select_one(&with_token).await;
    let without = builder().with_access_key(creds.access_key_id(), creds.secret_access_key()).build().await.unwrap();
    let e = without.execute("SELECT 1").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e:?}");
    assert_eq!(e.code(), Some("UnrecognizedClientException"), "{e}");
}

#[tokio::test]
async fn profile_from_a_shared_credentials_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("credentials");
    let mut f = std::fs::File::create(&path).unwrap();
    writeln!(f, "[analytics]\naws_access_key_id = test\naws_secret_access_key = test\n\n[broken]\naws_access_key_id = test\naws_secret_access_key = nope").unwrap();
    let conn = Connection::builder()
        .with_endpoint_url(&shared().endpoint)
        .with_region("us-east-1")
        .with_shared_credentials_file(&path)
        .with_profile("analytics")
        .build()
        .await
        .unwrap();
    select_one(&conn).await;
    let conn = Connection::builder()
        .with_endpoint_url(&shared().endpoint)
        .with_region("us-east-1")
        .with_shared_credentials_file(&path)
        .with_profile("broken")
        .build()
        .await
        .unwrap();
    let e = conn.execute("SELECT 1").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e:?}");
    assert_eq!(e.code(), Some("InvalidSignatureException"), "{e}");
}

#[tokio::test]
async fn a_credential_process_profile_as_saml_helpers_use() {
    // What saml2aws or an IdP's helper prints, run by aws-config from the profile.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("credentials");
    let helper = r#"printf '{"Version": 1, "AccessKeyId": "test", "SecretAccessKey": "test"}'"#;
    std::fs::write(&path, format!("[saml]\ncredential_process = {helper}\n")).unwrap();
    let conn = Connection::builder()
        .with_endpoint_url(&shared().endpoint)
        .with_region("us-east-1")
        .with_shared_credentials_file(&path)
        .with_profile("saml")
        .build()
        .await
        .unwrap();
    select_one(&conn).await;
}

#[tokio::test]
async fn an_existing_sdk_config_is_accepted() {
    let sdk = aws_config::SdkConfig::builder()
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(&shared().endpoint)
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(aws_credential_types::Credentials::new(
            "test", "test", None, None, "test",
        )))
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    let conn = Connection::builder().with_sdk_config(sdk).build().await.unwrap();
    select_one(&conn).await;
}
