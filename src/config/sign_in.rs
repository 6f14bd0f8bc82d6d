//! The builder's credential settings (the option table's credential rows apply them): static
//! keys, profiles, roles, MFA and web identity tokens, resolved by [`super::credentials`].

use std::sync::Arc;

use crate::config::ConnectionBuilder;
use crate::config::credentials::MfaTokenSource;
use crate::config::web_identity::WebIdentityToken;

impl ConnectionBuilder {
    /// Static credentials.
    pub fn with_access_key(mut self, access_key_id: impl Into<String>, secret_access_key: impl Into<String>) -> Self {
        self.credentials.access_key_id = Some(access_key_id.into());
        self.credentials.secret_access_key = Some(secret_access_key.into());
        self
    }

    /// Session token of static temporary credentials.
    pub fn with_session_token(mut self, token: impl Into<String>) -> Self {
        self.credentials.session_token = Some(token.into());
        self
    }

    /// A profile of the shared config and credentials files (`~/.aws/config`, `~/.aws/credentials`).
    pub fn with_profile(mut self, profile: impl Into<String>) -> Self {
        self.credentials.profile = Some(profile.into());
        self
    }

    /// Reads profiles from this shared credentials file instead of `~/.aws/credentials`
    /// (the default config file `~/.aws/config` is still read).
    pub fn with_shared_credentials_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.credentials.credentials_file = Some(path.into());
        self
    }

    /// Sign in with a web identity token (a JWT from the company's identity provider: Okta,
    /// Entra ID, Auth0, GitHub Actions, a Kubernetes service account): STS
    /// AssumeRoleWithWebIdentity on [`with_role_arn`](Self::with_role_arn)'s role, for
    /// [`with_duration_seconds`](Self::with_duration_seconds), refreshed before the credentials
    /// expire with the token read again (a file or variable may hold a newer one).
    pub fn with_web_identity_token(mut self, token: WebIdentityToken) -> Self {
        self.credentials.web_identity = Some(token);
        self
    }

    /// Assume this role (STS AssumeRole) with the base credentials, or with the web identity
    /// token when there is one.
    pub fn with_role_arn(mut self, role_arn: impl Into<String>) -> Self {
        self.credentials.role_arn = Some(role_arn.into());
        self
    }

    /// Trusted identity propagation for an IAM Identity Center-enabled workgroup: with
    /// [`with_web_identity_token`](Self::with_web_identity_token) and
    /// [`with_role_arn`](Self::with_role_arn) (the application role), the token is traded with
    /// SSO-OIDC CreateTokenWithIAM of this Identity Center application for the user's identity
    /// context, and [`with_access_role_arn`](Self::with_access_role_arn)'s role is assumed with
    /// it: queries run as the user.
    pub fn with_identity_center_application_arn(mut self, arn: impl Into<String>) -> Self {
        self.credentials.identity_center_application_arn = Some(arn.into());
        self
    }

    /// The role assumed with the user's identity context (trusted identity propagation; see
    /// [`with_identity_center_application_arn`](Self::with_identity_center_application_arn)).
    pub fn with_access_role_arn(mut self, arn: impl Into<String>) -> Self {
        self.credentials.access_role_arn = Some(arn.into());
        self
    }

    /// Session name of the assumed role (default `athena-arrow-session`).
    pub fn with_role_session_name(mut self, name: impl Into<String>) -> Self {
        self.credentials.role_session_name = Some(name.into());
        self
    }

    /// External id of the assumed role.
    pub fn with_external_id(mut self, id: impl Into<String>) -> Self {
        self.credentials.external_id = Some(id.into());
        self
    }

    /// Lifetime of assumed-role or MFA session credentials (default 3600 s).
    pub fn with_duration_seconds(mut self, seconds: u32) -> Self {
        self.credentials.duration_seconds = Some(seconds);
        self
    }

    /// MFA device: with a role, AssumeRole with MFA; without, GetSessionToken. The token code is
    /// read from the terminal unless [`with_mfa_token_code`](Self::with_mfa_token_code) gives one.
    pub fn with_serial_number(mut self, serial_number: impl Into<String>) -> Self {
        self.credentials.serial_number = Some(serial_number.into());
        self
    }

    /// Supplies the MFA token code from a function instead of a terminal prompt.
    pub fn with_mfa_token_code(mut self, code: impl Fn() -> std::io::Result<String> + Send + Sync + 'static) -> Self {
        self.credentials.token_source = MfaTokenSource::Function(Arc::new(code));
        self
    }
}
