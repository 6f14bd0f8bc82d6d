//! Credentials: static keys, a profile of the shared files, assume role (with or without MFA),
//! an MFA session token (STS GetSessionToken), a web identity token (a JWT from a company's
//! identity provider, STS AssumeRoleWithWebIdentity), or aws-config's default chain (environment,
//! web identity, container, instance profile). The combination of options decides, as in
//! PyAthena: a role ARN means AssumeRole, or AssumeRoleWithWebIdentity with a web identity token;
//! a serial number without a role means GetSessionToken.

use std::fmt;
use std::io::{BufRead, Write};
use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;

use crate::config::web_identity::{WebIdentityProvider, WebIdentityToken, credentials_error, from_sts, sts_error};
use crate::error::{Error, Result};

/// Where the MFA token code comes from.
#[derive(Clone, Default)]
pub(crate) enum MfaTokenSource {
    /// Asked on the terminal (stderr prompt, stdin answer), as PyAthena does.
    #[default]
    Prompt,
    Function(Arc<dyn Fn() -> std::io::Result<String> + Send + Sync>),
}

#[derive(Clone, Default)]
pub(crate) struct CredentialOptions {
    /// Static keys: both halves, or neither.
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
    pub profile: Option<String>,
    pub credentials_file: Option<std::path::PathBuf>,
    pub role_arn: Option<String>,
    pub role_session_name: Option<String>,
    pub external_id: Option<String>,
    pub duration_seconds: Option<u32>,
    pub serial_number: Option<String>,
    pub token_source: MfaTokenSource,
    pub web_identity: Option<WebIdentityToken>,
    /// Trusted identity propagation: the Identity Center application's ARN and the access
    /// role (with `web_identity` and `role_arn`, the application role).
    pub identity_center_application_arn: Option<String>,
    pub access_role_arn: Option<String>,
}

impl fmt::Debug for CredentialOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialOptions")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &self.secret_access_key.as_ref().map(|_| "** redacted **"))
            .field("session_token", &self.session_token.as_ref().map(|_| "** redacted **"))
            .field("profile", &self.profile)
            .field("credentials_file", &self.credentials_file)
            .field("role_arn", &self.role_arn)
            .field("role_session_name", &self.role_session_name)
            .field("external_id", &self.external_id.as_ref().map(|_| "** redacted **"))
            .field("duration_seconds", &self.duration_seconds)
            .field("serial_number", &self.serial_number)
            .field("web_identity", &self.web_identity)
            .field("identity_center_application_arn", &self.identity_center_application_arn)
            .field("access_role_arn", &self.access_role_arn)
            .finish()
    }
}

/// Default lifetime of STS credentials (PyAthena's `duration_seconds` default).
const DEFAULT_DURATION_SECS: u32 = 3600;
const DEFAULT_SESSION_NAME: &str = "athena-arrow-session";

impl MfaTokenSource {
    async fn token_code(&self, serial_number: &str) -> Result<String> {
        let code = match self {
            MfaTokenSource::Function(f) => f(),
            MfaTokenSource::Prompt => {
                let serial = serial_number.to_owned();
                tokio::task::spawn_blocking(move || {
                    let mut stderr = std::io::stderr();
                    write!(stderr, "Enter the MFA code for {serial}: ")?;
                    stderr.flush()?;
                    let mut line = String::new();
                    std::io::stdin().lock().read_line(&mut line)?;
                    Ok(line)
                })
                .await
                .map_err(|e| credentials_error("MFA prompt task failed", e))?
            }
        };
        let code = code.map_err(|e| credentials_error("cannot read the MFA token code", e))?;
        let code = code.trim().to_owned();
        if code.is_empty() {
            return Err(Error::Credentials { message: "no MFA token code given".into(), source: None });
        }
        Ok(code)
    }
}

impl CredentialOptions {
    /// The SDK config whose credentials provider follows these options.
    pub(crate) async fn resolve(&self, base: SdkConfig) -> Result<SdkConfig> {
        let mut base = base;
        match (&self.access_key_id, &self.secret_access_key) {
            (Some(id), Some(secret)) => {
                let creds = Credentials::new(id, secret, self.session_token.clone(), None, "athena-arrow-static");
                base = base.into_builder().credentials_provider(SharedCredentialsProvider::new(creds)).build();
            }
            (None, None) if self.session_token.is_some() => {
                return Err(Error::config("a session token needs an access key id and a secret access key"));
            }
            (None, None) => {}
            _ => return Err(Error::config("give both the access key id and the secret access key, or neither")),
        }
        let duration = Duration::from_secs(self.duration_seconds.unwrap_or(DEFAULT_DURATION_SECS).into());
        if self.web_identity.is_none() && (self.identity_center_application_arn.is_some() || self.access_role_arn.is_some()) {
            return Err(Error::config(
                "identity_center_application_arn and access_role_arn (trusted identity propagation) need web_identity_token: the user's JWT",
            ));
        }
        if let Some(token) = &self.web_identity {
            return self.resolve_web_identity(base, token.clone(), duration).await;
        }
        let provider = match (&self.role_arn, &self.serial_number) {
            (Some(role), None) => {
                let mut b = aws_config::sts::AssumeRoleProvider::builder(role)
                    .session_name(self.role_session_name.clone().unwrap_or_else(|| DEFAULT_SESSION_NAME.into()))
                    .session_length(duration)
                    .configure(&base);
                if let Some(id) = &self.external_id {
                    b = b.external_id(id);
                }
                let provider = b.build().await;
                // Resolve once now so that a refused role fails the build, not the first query.
                use aws_credential_types::provider::ProvideCredentials;
                provider.provide_credentials().await.map_err(|e| credentials_error(format!("cannot assume role {role}"), e))?;
                SharedCredentialsProvider::new(provider)
            }
            (Some(role), Some(serial)) => {
                let code = self.token_source.token_code(serial).await?;
                let out = aws_sdk_sts::Client::new(&base)
                    .assume_role()
                    .role_arn(role)
                    .role_session_name(self.role_session_name.clone().unwrap_or_else(|| DEFAULT_SESSION_NAME.into()))
                    .duration_seconds(duration.as_secs() as i32)
                    .set_external_id(self.external_id.clone())
                    .serial_number(serial)
                    .token_code(code)
                    .send()
                    .await
                    .map_err(|e| sts_error("AssumeRole", e))?;
                let creds = out
                    .credentials()
                    .ok_or_else(|| Error::Credentials { message: "AssumeRole returned no credentials".into(), source: None })?;
                SharedCredentialsProvider::new(from_sts(creds, "athena-arrow-assume-role-mfa"))
            }
            (None, Some(serial)) => {
                let code = self.token_source.token_code(serial).await?;
                let out = aws_sdk_sts::Client::new(&base)
                    .get_session_token()
                    .duration_seconds(duration.as_secs() as i32)
                    .serial_number(serial)
                    .token_code(code)
                    .send()
                    .await
                    .map_err(|e| sts_error("GetSessionToken", e))?;
                let creds = out
                    .credentials()
                    .ok_or_else(|| Error::Credentials { message: "GetSessionToken returned no credentials".into(), source: None })?;
                SharedCredentialsProvider::new(from_sts(creds, "athena-arrow-mfa-session"))
            }
            (None, None) => {
                if base.credentials_provider().is_none() {
                    return Err(Error::Credentials { message: "no credentials provider configured".into(), source: None });
                }
                return Ok(base);
            }
        };
        Ok(base.into_builder().credentials_provider(provider).build())
    }

    /// AssumeRoleWithWebIdentity with the token, now (a refused token fails the build) and
    /// again whenever the SDK's identity cache finds the credentials about to expire.
    async fn resolve_web_identity(&self, base: SdkConfig, token: WebIdentityToken, duration: Duration) -> Result<SdkConfig> {
        let Some(role_arn) = self.role_arn.clone() else {
            return Err(Error::config("a web identity token needs role_arn: the role to assume with it"));
        };
        if self.serial_number.is_some() || self.external_id.is_some() || self.access_key_id.is_some() || self.profile.is_some() {
            return Err(Error::config(
                "a web identity token is the only credential of its connection: leave out access keys, profile, serial_number and external_id",
            ));
        }
        // The call takes no AWS credentials: STS checks the token itself.
        let mut sts = aws_sdk_sts::config::Builder::from(&base);
        sts.set_credentials_provider(None);
        let session_name = self.role_session_name.clone().unwrap_or_else(|| DEFAULT_SESSION_NAME.into());
        let provider = WebIdentityProvider {
            token,
            role_arn,
            session_name: session_name.clone(),
            duration,
            sts: aws_sdk_sts::Client::from_conf(sts.build()),
        };
        match (&self.identity_center_application_arn, &self.access_role_arn) {
            (None, None) => {
                provider.assume().await?;
                Ok(base.into_builder().credentials_provider(SharedCredentialsProvider::new(provider)).build())
            }
            (Some(application_arn), Some(access_role_arn)) => {
                let provider = crate::config::identity_center::IdentityCenterProvider {
                    application_role: provider,
                    application_arn: application_arn.clone(),
                    access_role_arn: access_role_arn.clone(),
                    session_name,
                    duration,
                    base: base.clone(),
                };
                provider.assume().await?;
                Ok(base.into_builder().credentials_provider(SharedCredentialsProvider::new(provider)).build())
            }
            _ => Err(Error::config(
                "trusted identity propagation needs both identity_center_application_arn and access_role_arn (role_arn is the application role)",
            )),
        }
    }
}
