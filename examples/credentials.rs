//! Credentials: static keys, assume role, MFA session tokens (the code from a function here;
//! without one it is asked on the terminal), profiles and the default chain.
mod common;

use aws_credential_types::provider::ProvideCredentials;

#[tokio::main]
async fn main() -> athena_arrow::Result<()> {
    let ep = common::endpoint().await;

    // Assume role (STS AssumeRole), with an external id.
    let conn = ep
        .builder
        .clone()
        .with_role_arn("arn:aws:iam::000000000000:role/analyst")
        .with_role_session_name("athena-arrow-example")
        .with_duration_seconds(3600)
        .with_external_id("example")
        .build()
        .await?;
    let creds = conn.sdk_config().credentials_provider().expect("provider").provide_credentials().await.expect("credentials");
    println!("assumed role: temporary key {}", creds.access_key_id());
    conn.execute("SELECT 1").await?;

    // MFA (STS GetSessionToken): the token code from a function instead of a prompt.
    let conn = ep
        .builder
        .clone()
        .with_serial_number("arn:aws:iam::000000000000:mfa/device")
        .with_mfa_token_code(|| Ok("123456".to_owned()))
        .build()
        .await?;
    conn.execute("SELECT 1").await?;
    println!("MFA session works");

    // Profiles: `.with_profile("name")` reads ~/.aws/credentials and ~/.aws/config; with no
    // credential option at all, the default chain (env, web identity, container, instance
    // profile) applies.
    Ok(())
}
