//! Signing in with a web identity token (a JWT of the company's identity provider): where the
//! token comes from, and STS AssumeRoleWithWebIdentity with it; with the STS helpers the other
//! credential paths share.

use std::fmt;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;

use crate::error::{Error, Result};

pub(crate) fn credentials_error(message: impl Into<String>, source: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::Credentials { message: message.into(), source: Some(Box::new(source)) }
}

pub(crate) fn sts_error<E, R>(operation: &str, err: aws_sdk_sts::error::SdkError<E, R>) -> Error
where
    E: aws_sdk_sts::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: fmt::Debug + Send + Sync + 'static,
{
    let detail = match &err {
        aws_sdk_sts::error::SdkError::ServiceError(e) => {
            format!("{}: {}", e.err().code().unwrap_or("error"), e.err().message().unwrap_or("no message"))
        }
        other => other.to_string(),
    };
    credentials_error(format!("STS {operation} failed: {detail}"), err)
}

pub(crate) fn from_sts(c: &aws_sdk_sts::types::Credentials, provider: &'static str) -> Credentials {
    let expiry = SystemTime::try_from(*c.expiration()).ok();
    Credentials::new(c.access_key_id(), c.secret_access_key(), Some(c.session_token().to_owned()), expiry, provider)
}

/// Where a web identity token (a JWT) comes from; read again at each refresh, so a file that a
/// token agent rewrites, or a variable a parent process updates, is followed.
#[derive(Clone, PartialEq, Eq)]
pub enum WebIdentityToken {
    /// The token itself.
    Token(String),
    /// A file holding the token (surrounding white space ignored).
    File(std::path::PathBuf),
    /// An environment variable holding the token.
    Env(String),
}

impl fmt::Debug for WebIdentityToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WebIdentityToken::Token(_) => f.write_str("Token(** redacted **)"),
            WebIdentityToken::File(path) => f.debug_tuple("File").field(path).finish(),
            WebIdentityToken::Env(name) => f.debug_tuple("Env").field(name).finish(),
        }
    }
}

impl WebIdentityToken {
    /// The text form of the `web_identity_token` option: `file:PATH`, `env:NAME` or the token.
    /// A JWT never starts with `file:` or `env:` (its first part is base64url of `{`).
    pub fn parse(text: &str) -> Self {
        let text = text.trim();
        if let Some(path) = text.strip_prefix("file:") {
            WebIdentityToken::File(path.into())
        } else if let Some(name) = text.strip_prefix("env:") {
            WebIdentityToken::Env(name.to_owned())
        } else {
            WebIdentityToken::Token(text.to_owned())
        }
    }

    /// The token now. Errors name the file or variable, never the token.
    pub(crate) fn read(&self) -> Result<String> {
        let token = match self {
            WebIdentityToken::Token(t) => t.clone(),
            WebIdentityToken::File(path) => std::fs::read_to_string(path)
                .map_err(|e| credentials_error(format!("cannot read the web identity token file {}", path.display()), e))?,
            WebIdentityToken::Env(name) => std::env::var(name)
                .map_err(|e| credentials_error(format!("cannot read the web identity token from the environment variable {name}"), e))?,
        };
        let token = token.trim().to_owned();
        if token.is_empty() {
            let from = match self {
                WebIdentityToken::Token(_) => "given".to_owned(),
                WebIdentityToken::File(path) => format!("in {}", path.display()),
                WebIdentityToken::Env(name) => format!("in {name}"),
            };
            return Err(Error::Credentials { message: format!("the web identity token {from} is empty"), source: None });
        }
        Ok(token)
    }
}

/// Credentials of a role from STS AssumeRoleWithWebIdentity.
#[derive(Debug)]
pub(crate) struct WebIdentityProvider {
    pub(crate) token: WebIdentityToken,
    pub(crate) role_arn: String,
    pub(crate) session_name: String,
    pub(crate) duration: Duration,
    /// A client that sends the call unsigned (the token is the credential).
    pub(crate) sts: aws_sdk_sts::Client,
}

impl WebIdentityProvider {
    pub(crate) async fn assume(&self) -> Result<Credentials> {
        self.assume_with(&self.token.read()?).await
    }

    /// AssumeRoleWithWebIdentity with `token` (already read).
    pub(crate) async fn assume_with(&self, token: &str) -> Result<Credentials> {
        let out = self
            .sts
            .assume_role_with_web_identity()
            .role_arn(&self.role_arn)
            .role_session_name(&self.session_name)
            .web_identity_token(token)
            .duration_seconds(self.duration.as_secs() as i32)
            .send()
            .await
            .map_err(|e| sts_error(&format!("AssumeRoleWithWebIdentity of role {}", self.role_arn), e))?;
        let creds = out
            .credentials()
            .ok_or_else(|| Error::Credentials { message: "AssumeRoleWithWebIdentity returned no credentials".into(), source: None })?;
        Ok(from_sts(creds, "athena-arrow-web-identity"))
    }
}

impl aws_credential_types::provider::ProvideCredentials for WebIdentityProvider {
    fn provide_credentials<'a>(&'a self) -> aws_credential_types::provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        aws_credential_types::provider::future::ProvideCredentials::new(async move {
            self.assume().await.map_err(aws_credential_types::provider::error::CredentialsError::provider_error)
        })
    }
}
