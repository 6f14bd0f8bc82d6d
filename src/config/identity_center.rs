//! Trusted identity propagation (IAM Identity Center) for Identity Center-enabled workgroups,
//! as the AWS JDBC/ODBC drivers' JWT_TIP sign-in does it, in three calls:
//!
//! 1. STS `AssumeRoleWithWebIdentity` with the identity provider's JWT on the *application role*
//!    (`role_arn`), unsigned;
//! 2. SSO-OIDC `CreateTokenWithIAM` (grant `urn:ietf:params:oauth:grant-type:jwt-bearer`, the
//!    same JWT as assertion, `clientId` the Identity Center application's ARN), signed with the
//!    application role: its answer carries the user's identity context
//!    (`awsAdditionalDetails.identityContext`);
//! 3. STS `AssumeRole` on the *access role* with that context as a provided context
//!    (`arn:aws:iam::aws:contextProvider/IdentityCenter`), signed with the application role: an
//!    identity-enhanced session, whose credentials sign Athena and S3 calls.
//!
//! The token is read once per refresh and used by steps 1 and 2; the chain runs again when the
//! SDK's identity cache finds the session about to expire. Each step's error names the call,
//! the role or application, and what the service said. The application and roles are explicit
//! settings: which workgroup tags name them is not confirmed by any source.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;

use crate::config::web_identity::{WebIdentityProvider, credentials_error, from_sts, sts_error};
use crate::error::{Error, Result};

/// The context provider of Identity Center identity contexts.
const CONTEXT_PROVIDER: &str = "arn:aws:iam::aws:contextProvider/IdentityCenter";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// Credentials of an identity-enhanced session on the access role.
#[derive(Debug)]
pub(crate) struct IdentityCenterProvider {
    /// Step 1: the application role, from the token.
    pub(crate) application_role: WebIdentityProvider,
    pub(crate) application_arn: String,
    pub(crate) access_role_arn: String,
    pub(crate) session_name: String,
    pub(crate) duration: Duration,
    /// The SDK configuration the SSO-OIDC and STS clients of steps 2 and 3 start from.
    pub(crate) base: SdkConfig,
}

impl IdentityCenterProvider {
    pub(crate) async fn assume(&self) -> Result<Credentials> {
        let token = self.application_role.token.read()?;
        let application = self.application_role.assume_with(&token).await?;
        let signed = SharedCredentialsProvider::new(application);
        let oidc = aws_sdk_ssooidc::Client::from_conf(
            aws_sdk_ssooidc::config::Builder::from(&self.base).credentials_provider(signed.clone()).build(),
        );
        let out =
            oidc.create_token_with_iam().client_id(&self.application_arn).grant_type(JWT_BEARER).assertion(token).send().await.map_err(
                |e| {
                    use aws_sdk_ssooidc::error::{ProvideErrorMetadata, SdkError};
                    let detail = match &e {
                        SdkError::ServiceError(se) => {
                            let err = se.err();
                            let text = oidc_description(err).or(err.message()).unwrap_or("no message");
                            format!("{}: {text}", err.code().unwrap_or("error"))
                        }
                        other => crate::error::message_with_causes(other),
                    };
                    credentials_error(format!("SSO-OIDC CreateTokenWithIAM for application {} failed: {detail}", self.application_arn), e)
                },
            )?;
        let context = out.aws_additional_details().and_then(|d| d.identity_context()).ok_or_else(|| Error::Credentials {
            message: format!("SSO-OIDC CreateTokenWithIAM for application {} gave no identity context", self.application_arn),
            source: None,
        })?;
        let sts = aws_sdk_sts::Client::from_conf(aws_sdk_sts::config::Builder::from(&self.base).credentials_provider(signed).build());
        let provided = aws_sdk_sts::types::ProvidedContext::builder().provider_arn(CONTEXT_PROVIDER).context_assertion(context).build();
        let out = sts
            .assume_role()
            .role_arn(&self.access_role_arn)
            .role_session_name(&self.session_name)
            .duration_seconds(self.duration.as_secs() as i32)
            .provided_contexts(provided)
            .send()
            .await
            .map_err(|e| {
                sts_error(&format!("AssumeRole of access role {} with the Identity Center identity context", self.access_role_arn), e)
            })?;
        let creds =
            out.credentials().ok_or_else(|| Error::Credentials { message: "AssumeRole returned no credentials".into(), source: None })?;
        Ok(from_sts(creds, "athena-arrow-identity-center"))
    }
}

/// What SSO-OIDC said: its errors carry `error` and `error_description`, not `message`.
fn oidc_description(err: &aws_sdk_ssooidc::operation::create_token_with_iam::CreateTokenWithIAMError) -> Option<&str> {
    use aws_sdk_ssooidc::operation::create_token_with_iam::CreateTokenWithIAMError as E;
    match err {
        E::AccessDeniedException(e) => e.error_description(),
        E::ExpiredTokenException(e) => e.error_description(),
        E::InvalidClientException(e) => e.error_description(),
        E::InvalidGrantException(e) => e.error_description(),
        E::InvalidRequestException(e) => e.error_description(),
        E::InvalidScopeException(e) => e.error_description(),
        E::UnauthorizedClientException(e) => e.error_description(),
        E::UnsupportedGrantTypeException(e) => e.error_description(),
        _ => None,
    }
}

impl aws_credential_types::provider::ProvideCredentials for IdentityCenterProvider {
    fn provide_credentials<'a>(&'a self) -> aws_credential_types::provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        aws_credential_types::provider::future::ProvideCredentials::new(async move {
            self.assume().await.map_err(aws_credential_types::provider::error::CredentialsError::provider_error)
        })
    }
}
