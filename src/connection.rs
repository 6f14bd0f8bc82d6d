//! The connection: the Athena and S3 clients with resolved settings, cheap to clone and share.
//! This file holds what every step needs (the clients, the settings, building from a
//! [`ConnectionBuilder`]); each step adds its own methods to [`Connection`] where it lives:
//! queries in [`crate::query`], cursors in `rows`, catalog listings in `metadata`.

use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig as SdkRetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};

use crate::config::{ConnectionBuilder, ResultSource, RetryConfig, Settings};
use crate::error::{Error, Result};
use crate::fetch::Fetcher;
use crate::info::QueryInfo;

/// A connection to Athena. Cloning is cheap (an `Arc`); clones share the client and settings.
#[derive(Clone)]
pub struct Connection {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    athena: aws_sdk_athena::Client,
    fetcher: Fetcher,
    sdk_config: SdkConfig,
    settings: Settings,
    /// When the next status poll of any of this connection's queries may go out.
    next_poll: tokio::sync::Mutex<tokio::time::Instant>,
    /// Each workgroup's engine, looked up once (GetWorkGroup).
    pub(crate) workgroups: tokio::sync::Mutex<std::collections::HashMap<String, crate::config::engine::WorkGroupEngine>>,
    /// Reads DuckDB results through GetQueryResultStream.
    pub(crate) result_stream: crate::fetch::result_stream::ResultStreamClient,
    /// Set once this connection warned that GetQueryResultStream is not available.
    pub(crate) stream_warned: std::sync::atomic::AtomicBool,
    /// A CSE_KMS result was read through GetQueryResults (warned once).
    pub(crate) cse_warned: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("region", &self.inner.sdk_config.region())
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// A builder with every setting at its documented default.
    pub fn builder() -> ConnectionBuilder {
        ConnectionBuilder::new()
    }

    /// A connection configured from the environment (see [`ConnectionBuilder::from_env`]).
    ///
    /// # Errors
    /// As [`ConnectionBuilder::build`].
    pub async fn from_env() -> Result<Self> {
        ConnectionBuilder::from_env().build().await
    }

    pub(crate) fn new(sdk_config: SdkConfig, athena_endpoint: Option<String>, retry: RetryConfig, settings: Settings) -> Result<Self> {
        let sdk_retry = SdkRetryConfig::standard()
            .with_max_attempts(retry.max_attempts)
            .with_initial_backoff(retry.initial_backoff)
            .with_max_backoff(retry.max_backoff);
        let timeouts = TimeoutConfig::builder().operation_timeout(retry.deadline).build();
        let mut conf = aws_sdk_athena::config::Builder::from(&sdk_config).retry_config(sdk_retry.clone()).timeout_config(timeouts.clone());
        if let Some(url) = &athena_endpoint {
            conf = conf.endpoint_url(url);
        }
        let athena = aws_sdk_athena::Client::from_conf(conf.build());
        // KMS gives the data keys of CSE_KMS result objects (AWS_ENDPOINT_URL_KMS or the
        // connection's endpoint_url reach a local one).
        let kms = aws_sdk_kms::config::Builder::from(&sdk_config).retry_config(sdk_retry.clone()).timeout_config(timeouts.clone()).build();
        let mut s3 = aws_sdk_s3::config::Builder::from(&sdk_config).retry_config(sdk_retry).timeout_config(timeouts);
        if let Some(url) = &settings.s3_endpoint_url {
            // Local and S3-compatible endpoints serve path-style requests.
            s3 = s3.endpoint_url(url).force_path_style(true);
        }
        let fetcher = Fetcher::new(aws_sdk_s3::Client::from_conf(s3.build()), aws_sdk_kms::Client::from_conf(kms), settings.fetch);
        if sdk_config.region().is_none() {
            return Err(Error::config("no AWS region"));
        }
        let next_poll = tokio::sync::Mutex::new(tokio::time::Instant::now());
        let result_stream = crate::fetch::result_stream::ResultStreamClient::new(&sdk_config, athena_endpoint.as_deref(), retry.deadline)?;
        Ok(Self {
            inner: Arc::new(Inner {
                athena,
                fetcher,
                sdk_config,
                settings,
                next_poll,
                workgroups: Default::default(),
                result_stream,
                stream_warned: Default::default(),
                cse_warned: Default::default(),
            }),
        })
    }

    pub(crate) fn fetcher(&self) -> &Fetcher {
        &self.inner.fetcher
    }

    pub(crate) fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    pub(crate) fn inner_state(&self) -> &Inner {
        &self.inner
    }

    /// What to read a CSE_KMS result through once KMS refused this caller the data key of its
    /// files (`refused`): GetQueryResults, with one warning per connection that says why, when
    /// the source is `Auto`, `encrypted_result_fallback` is on and the result is no UNLOAD's
    /// (GetQueryResults does not serve Parquet files); else [`Error::EncryptedResult`].
    pub(crate) fn after_key_refused(&self, info: &QueryInfo, refused: Error) -> Result<ResultSource> {
        let refuse = |why: &str| Err(Error::EncryptedResult { query_id: info.query_id.clone(), message: format!("{refused}; {why}") });
        if info.substatement_type.as_deref() == Some("UNLOAD") {
            return Err(self.unload_key_refused(info, refused));
        }
        if self.settings().result_source == ResultSource::S3 {
            return refuse("the result source is S3");
        }
        if !self.settings().encrypted_result_fallback {
            return refuse("encrypted_result_fallback is off");
        }
        if !self.inner.cse_warned.swap(true, std::sync::atomic::Ordering::Relaxed) {
            tracing::warn!(
                query_id = %info.query_id,
                "the result is encrypted client-side (CSE_KMS) and {refused}: it is read through GetQueryResults instead (slower); set encrypted_result_fallback=false to make this an error"
            );
        }
        Ok(ResultSource::Api)
    }

    /// The error for Parquet files (an UNLOAD's) whose data key KMS refused: there is no API to
    /// read them through instead.
    pub(crate) fn unload_key_refused(&self, info: &QueryInfo, refused: Error) -> Error {
        Error::EncryptedResult {
            query_id: info.query_id.clone(),
            message: format!("{refused}; GetQueryResults does not serve an UNLOAD's Parquet files"),
        }
    }

    /// Says once per connection that DuckDB results are read through GetQueryResults because
    /// the service does not serve GetQueryResultStream (`cause`).
    pub(crate) fn warn_stream_not_offered(&self, cause: &str) {
        if !self.inner.stream_warned.swap(true, std::sync::atomic::Ordering::Relaxed) {
            tracing::warn!("GetQueryResultStream is not available ({cause}): DuckDB results are read through GetQueryResults");
        }
    }

    /// Waits for this connection's next GetQueryExecution slot: its queries together poll at
    /// most `max_polls_per_second` times a second (slots are handed out in turn, so many
    /// queries in flight share the budget rather than exceed Athena's quota).
    pub(crate) async fn poll_slot(&self) {
        let gap = Duration::from_secs_f64(1.0 / self.inner.settings.poll.max_polls_per_second);
        let slot = {
            let mut next = self.inner.next_poll.lock().await;
            let slot = (*next).max(tokio::time::Instant::now());
            *next = slot + gap;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }

    /// The Athena client (for calls this crate does not wrap).
    /// Whether stopping the wait for a query also stops the query (the `kill_on_interrupt`
    /// setting, [`crate::ConnectionBuilder::with_cancel_on_drop`]).
    pub fn kills_on_interrupt(&self) -> bool {
        self.settings().cancel_on_drop
    }

    pub fn athena(&self) -> &aws_sdk_athena::Client {
        &self.inner.athena
    }

    /// The resolved AWS configuration (region, credentials, endpoints).
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.inner.sdk_config
    }
}

impl ConnectionBuilder {
    /// Resolves credentials and region and creates the connection.
    ///
    /// # Errors
    /// [`Error::Config`] for invalid settings, [`Error::Credentials`] when credentials cannot be
    /// resolved (STS refused, no MFA code).
    pub async fn build(mut self) -> Result<Connection> {
        self.finish_encryption();
        if !self.errors.is_empty() {
            return Err(Error::config(self.errors.join("; ")));
        }
        let base = match self.sdk_config.clone() {
            Some(c) => {
                let mut b = c.into_builder();
                if let Some(r) = &self.region {
                    b.set_region(Some(aws_config::Region::new(r.clone())));
                }
                if let Some(u) = &self.endpoint_url {
                    b.set_endpoint_url(Some(u.clone()));
                }
                b.build()
            }
            None => {
                let mut loader = aws_config::defaults(BehaviorVersion::latest());
                if let Some(r) = &self.region {
                    loader = loader.region(aws_config::Region::new(r.clone()));
                }
                if let Some(u) = &self.endpoint_url {
                    loader = loader.endpoint_url(u.clone());
                }
                if let Some(p) = &self.credentials.profile {
                    loader = loader.profile_name(p.clone());
                }
                if let Some(path) = &self.credentials.credentials_file {
                    use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};
                    loader = loader.profile_files(
                        EnvConfigFiles::builder().with_file(EnvConfigFileKind::Credentials, path).include_default_config_file(true).build(),
                    );
                }
                loader.load().await
            }
        };
        if base.region().is_none() {
            return Err(Error::config("no AWS region: set one with with_region, AWS_REGION or the profile"));
        }
        let sdk_config = self.credentials.resolve(base).await?;
        Connection::new(sdk_config, self.athena_endpoint_url, self.retry, self.settings)
    }
}
