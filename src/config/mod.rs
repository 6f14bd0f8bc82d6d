//! Configure: the connection builder, environment variables and the plain-data settings of
//! polling, retries, result reuse, the client-side cache, parameters and result sources, and the
//! credential paths ([`credentials`]). Building the connection itself is
//! [`crate::Connection`]'s part.

pub mod compression;
pub(crate) mod credentials;
mod encryption;
pub mod engine;
pub(crate) mod identity_center;

pub use encryption::Encryption;
pub use web_identity::WebIdentityToken;
pub mod options;
mod sign_in;
pub(crate) mod web_identity;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use arrow::datatypes::TimeUnit;
use aws_config::SdkConfig;

use crate::config::compression::UnloadCompression;
use crate::config::credentials::CredentialOptions;
use crate::fetch::FetchConfig;

/// How parameters are bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ParamStyle {
    /// `%(name)s` placeholders, filled in by the client with escaped literals; a literal `%` is
    /// written `%%` when parameters are given (PyAthena's only style before qmark).
    #[default]
    PyFormat,
    /// `?` placeholders bound by Athena (ExecutionParameters), positional.
    Qmark,
}

/// Where the rows of a result come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResultSource {
    /// The result CSV from S3 when the query has an output location (Athena's JDBC driver does
    /// the same), else GetQueryResults. A result that fits GetQueryResults' first page (up to
    /// 999 rows) is taken from that page, which is asked for anyway for the column metadata
    /// while the CSV's size is looked up: small results cost no S3 round trip.
    #[default]
    Auto,
    /// Always the result CSV from S3 when there is one, whatever its size.
    S3,
    /// Always GetQueryResults paging (1000 rows per call).
    Api,
}

/// Called once with the query id as soon as StartQueryExecution answered, before waiting.
pub type OnStart = Arc<dyn Fn(&str) + Send + Sync>;

/// How the status of a running query is polled. Athena has no completion push: a query is
/// seen done up to one interval late, so the schedule is part of every query's latency.
///
/// The status is read at once, then after `initial`, each wait growing by `multiplier` up to
/// `cap`; past that, a wait may grow to `proportion` of the time the query has run so far (so
/// the expected slack, half an interval, stays near 1.5% of a long query's run time and under
/// 25 ms for one of a second: a client polling every 50 ms sees no query sooner), never beyond
/// `max`. All queries of a connection share a budget of
/// `max_polls_per_second` GetQueryExecution calls (Athena's account quota is 100/s).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PollConfig {
    /// First wait after the start (the status is also read at once). Default 20 ms.
    pub initial: Duration,
    /// Growth factor per poll. Default 1.5.
    pub multiplier: f64,
    /// Where the growth by `multiplier` stops. Default 50 ms (reached after 0.1 s).
    pub cap: Duration,
    /// Longer waits in proportion to the time run so far. Default 0.03 (past 1.7 s of run time;
    /// about 140 polls for a 30 s query, 1 a second at its end).
    pub proportion: f64,
    /// Longest wait between polls. Default 5 s (reached by queries running 170 s and more).
    pub max: Duration,
    /// GetQueryExecution calls per second across all queries of the connection. Default 50.
    pub max_polls_per_second: f64,
}

impl Default for PollConfig {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(20),
            multiplier: 1.5,
            cap: Duration::from_millis(50),
            proportion: 0.03,
            max: Duration::from_secs(5),
            max_polls_per_second: 50.0,
        }
    }
}

impl PollConfig {
    /// The wait after `current`, for a query that has run `elapsed`.
    pub(crate) fn next(&self, current: Duration, elapsed: Duration) -> Duration {
        let grown = current.mul_f64(self.multiplier.max(1.0)).min(self.cap.max(self.initial));
        grown.max(elapsed.mul_f64(self.proportion.max(0.0))).min(self.max)
    }
}

/// Retries of AWS calls on throttling, 5xx and dropped connections: exponential backoff with
/// full jitter (the SDK's standard strategy), bounded by attempts and by a deadline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryConfig {
    /// Attempts per call, the first included. Default 8: Athena's per-account rate limits make
    /// throttling bursts common under concurrency.
    pub max_attempts: u32,
    /// First backoff. Default 100 ms.
    pub initial_backoff: Duration,
    /// Longest backoff. Default 5 s.
    pub max_backoff: Duration,
    /// Deadline for one call with all its retries. Default 60 s.
    pub deadline: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            deadline: Duration::from_secs(60),
        }
    }
}

/// Client-side cache (PyAthena's `cache_size` / `cache_expiration_time`): reuse the newest earlier
/// SUCCEEDED DML execution of the identical query text in the same database and catalog.
/// Off when both are zero (the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheConfig {
    /// How many of the workgroup's most recent executions to look through (0 = no limit when an
    /// expiration is set).
    pub size: usize,
    /// How old a reused execution may be (zero = no age limit when a size is set).
    pub expiration: Duration,
}

impl CacheConfig {
    /// Look through the last `size` executions.
    pub fn new(size: usize, expiration: Duration) -> Self {
        Self { size, expiration }
    }

    pub(crate) fn enabled(&self) -> bool {
        self.size > 0 || !self.expiration.is_zero()
    }
}

/// Everything a query needs from its connection, resolved.
#[derive(Clone)]
pub(crate) struct Settings {
    pub s3_staging_dir: Option<String>,
    pub work_group: Option<String>,
    pub schema: String,
    pub catalog: String,
    pub encryption: Option<Encryption>,
    /// Read a CSE_KMS result through GetQueryResults (true) or refuse it (false).
    pub encrypted_result_fallback: bool,
    /// Result reuse: `Some(max age)` when enabled.
    pub result_reuse: Option<Duration>,
    pub on_start: Option<OnStart>,
    pub poll: PollConfig,
    pub query_timeout: Option<Duration>,
    pub cancel_on_drop: bool,
    pub paramstyle: ParamStyle,
    pub cache: CacheConfig,
    /// `None`: each timestamp and time column in the unit its precision needs.
    pub timestamp_unit: Option<TimeUnit>,
    pub s3_endpoint_url: Option<String>,
    pub result_source: ResultSource,
    pub fetch: FetchConfig,
    pub unload: bool,
    pub unload_compression: UnloadCompression,
    pub unload_cleanup: bool,
    /// The engine every query asks for; `None`: the workgroup's.
    pub engine: Option<crate::config::engine::Engine>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("s3_staging_dir", &self.s3_staging_dir)
            .field("work_group", &self.work_group)
            .field("schema", &self.schema)
            .field("catalog", &self.catalog)
            .field("encryption", &self.encryption)
            .field("encrypted_result_fallback", &self.encrypted_result_fallback)
            .field("result_reuse", &self.result_reuse)
            .field("on_start", &self.on_start.as_ref().map(|_| "Fn(&str)"))
            .field("poll", &self.poll)
            .field("query_timeout", &self.query_timeout)
            .field("cancel_on_drop", &self.cancel_on_drop)
            .field("paramstyle", &self.paramstyle)
            .field("cache", &self.cache)
            .field("timestamp_unit", &self.timestamp_unit)
            .field("s3_endpoint_url", &self.s3_endpoint_url)
            .field("result_source", &self.result_source)
            .field("fetch", &self.fetch)
            .field("unload", &self.unload)
            .field("unload_compression", &self.unload_compression)
            .field("unload_cleanup", &self.unload_cleanup)
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            s3_staging_dir: None,
            work_group: None,
            // PyAthena's defaults: the `default` database of the AWS Glue catalog.
            schema: "default".into(),
            catalog: "AwsDataCatalog".into(),
            encryption: None,
            encrypted_result_fallback: true,
            result_reuse: None,
            on_start: None,
            poll: PollConfig::default(),
            query_timeout: None,
            // The Rust form of PyAthena's kill_on_interrupt=True: an abandoned query is stopped.
            cancel_on_drop: true,
            paramstyle: ParamStyle::PyFormat,
            cache: CacheConfig::default(),
            // Each column in the unit its precision needs: Athena's timestamp(3) in milliseconds,
            // so that years 1 to 9999 all fit (nanoseconds hold only 1677-2262).
            timestamp_unit: None,
            s3_endpoint_url: None,
            // The result CSV from S3 when there is one: a ranged read instead of 1000-row API pages.
            result_source: ResultSource::Auto,
            fetch: FetchConfig::default(),
            unload: false,
            // Fast to decode; Athena's own default for Parquet is GZIP.
            unload_compression: UnloadCompression::Snappy,
            engine: None,
            // Athena and PyAthena leave UNLOAD's files in place.
            unload_cleanup: false,
        }
    }
}

/// Builds a [`Connection`]. Setters never fail; problems surface from [`build`](Self::build).
///
/// ```no_run
/// # async fn run() -> athena_arrow::Result<()> {
/// let conn = athena_arrow::Connection::builder()
///     .with_region("us-west-2")
///     .with_s3_staging_dir("s3://my-bucket/athena/")
///     .build()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Default, Clone)]
pub struct ConnectionBuilder {
    pub(crate) settings: Settings,
    pub(crate) region: Option<String>,
    pub(crate) endpoint_url: Option<String>,
    pub(crate) athena_endpoint_url: Option<String>,
    pub(crate) sdk_config: Option<SdkConfig>,
    pub(crate) credentials: CredentialOptions,
    pub(crate) retry: RetryConfig,
    /// `encryption_option` and `kms_key` as the option table gives them, joined at build.
    pub(crate) encryption_options: (Option<String>, Option<String>),
    pub(crate) errors: Vec<String>,
}

impl fmt::Debug for ConnectionBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionBuilder")
            .field("settings", &self.settings)
            .field("region", &self.region)
            .field("endpoint_url", &self.endpoint_url)
            .field("athena_endpoint_url", &self.athena_endpoint_url)
            .field("credentials", &self.credentials)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

fn check_s3_uri(uri: &str) -> Option<String> {
    match uri.strip_prefix("s3://") {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') => None,
        _ => Some(format!("s3_staging_dir must be an s3://bucket/prefix/ URI, got {uri:?}")),
    }
}

impl ConnectionBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads the documented environment variables: `AWS_ATHENA_S3_STAGING_DIR`,
    /// `AWS_ATHENA_WORK_GROUP`, `AWS_ATHENA_ENGINE_VERSION`, `AWS_ENDPOINT_URL_S3` (kept for the S3 result readers). Region,
    /// credentials and `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_ATHENA` are read by aws-config's
    /// standard chain when the connection is built.
    pub fn from_env() -> Self {
        Self::new().with_env()
    }

    /// Applies the environment variables of [`from_env`](Self::from_env) over this builder.
    pub fn with_env(mut self) -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        if let Some(dir) = var("AWS_ATHENA_S3_STAGING_DIR") {
            self = self.with_s3_staging_dir(dir);
        }
        if let Some(wg) = var("AWS_ATHENA_WORK_GROUP") {
            self = self.with_work_group(wg);
        }
        if let Some(engine) = var("AWS_ATHENA_ENGINE_VERSION") {
            self = self.with_option("engine_version", &engine);
        }
        if let Some(url) = var("AWS_ENDPOINT_URL_S3").or_else(|| var("AWS_ENDPOINT_URL")) {
            self.settings.s3_endpoint_url = Some(url);
        }
        self
    }

    /// Where Athena writes results (`s3://bucket/prefix/`). Optional when the workgroup has an
    /// output location or Athena-managed results. Env: `AWS_ATHENA_S3_STAGING_DIR`.
    pub fn with_s3_staging_dir(mut self, uri: impl Into<String>) -> Self {
        let uri = uri.into();
        if let Some(e) = check_s3_uri(&uri) {
            self.errors.push(e);
        }
        self.settings.s3_staging_dir = Some(uri);
        self
    }

    /// AWS region (default: aws-config's chain, `AWS_REGION` or the profile).
    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Workgroup of every query (default: Athena's `primary`). Env: `AWS_ATHENA_WORK_GROUP`.
    pub fn with_work_group(mut self, work_group: impl Into<String>) -> Self {
        self.settings.work_group = Some(work_group.into());
        self
    }

    /// Database of unqualified table names (default `default`).
    pub fn with_schema(mut self, schema: impl Into<String>) -> Self {
        self.settings.schema = schema.into();
        self
    }

    /// Data catalog (default `awsdatacatalog`).
    pub fn with_catalog(mut self, catalog: impl Into<String>) -> Self {
        self.settings.catalog = catalog.into();
        self
    }

    /// Endpoint of every AWS service (Athena, S3, STS, KMS), e.g. a local endpoint. Env: `AWS_ENDPOINT_URL`.
    pub fn with_endpoint_url(mut self, url: impl Into<String>) -> Self {
        let url = url.into();
        self.settings.s3_endpoint_url.get_or_insert_with(|| url.clone());
        self.endpoint_url = Some(url);
        self
    }

    /// Endpoint of Athena only. Env: `AWS_ENDPOINT_URL_ATHENA`.
    pub fn with_athena_endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.athena_endpoint_url = Some(url.into());
        self
    }

    /// Endpoint of S3 only (for reading result files). Env: `AWS_ENDPOINT_URL_S3`.
    pub fn with_s3_endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.settings.s3_endpoint_url = Some(url.into());
        self
    }

    /// Encryption of the result files (default: none requested; the workgroup's setting applies).
    /// Results encrypted with CSE_KMS, asked for here or enforced by the workgroup, are read
    /// through GetQueryResults (see [`with_encrypted_result_fallback`](Self::with_encrypted_result_fallback)).
    pub fn with_encryption(mut self, encryption: Encryption) -> Self {
        self.settings.encryption = Some(encryption);
        self.encryption_options = (None, None);
        self
    }

    /// What to do with a result Athena wrote with CSE_KMS (client-side encrypted) when KMS
    /// refuses this caller the data key of its files: `true` (default) reads it through
    /// GetQueryResults with one warning that says why; `false` refuses it with an error instead.
    /// (With the key, CSE_KMS results are read from S3, decrypted and authenticated.)
    pub fn with_encrypted_result_fallback(mut self, fallback: bool) -> Self {
        self.settings.encrypted_result_fallback = fallback;
        self
    }

    /// Joins the `encryption_option` and `kms_key` settings (either order) into the encryption.
    pub(crate) fn finish_encryption(&mut self) {
        match &self.encryption_options {
            (Some(option), key) => match Encryption::from_options(option, key.as_deref()) {
                Ok(e) => self.settings.encryption = Some(e),
                Err(e) => self.errors.push(e),
            },
            (None, Some(_)) => self.errors.push("kms_key needs encryption_option SSE_KMS or CSE_KMS".into()),
            (None, None) => {}
        }
    }

    /// Athena result reuse (engine v3): reuse results of the same query up to `max_age` old
    /// (whole minutes, 1..=10080). Default off.
    pub fn with_result_reuse(mut self, max_age: Duration) -> Self {
        if let Some(e) = check_reuse(max_age) {
            self.errors.push(e);
        }
        self.settings.result_reuse = Some(max_age);
        self
    }

    /// Called with the query id of every query right after it started (PyAthena's
    /// `on_start_query_execution`). An execute-level callback is called as well.
    pub fn with_on_start_query_execution(mut self, callback: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.settings.on_start = Some(Arc::new(callback));
        self
    }

    /// Status polling (default [`PollConfig::default`]: the status at once, then after 20 ms,
    /// waits growing 1.5x to 50 ms, then to 3% of the time run so far, at most 5 s; 50
    /// polls a second across the connection's queries).
    pub fn with_poll(mut self, poll: PollConfig) -> Self {
        if poll.initial.is_zero() || poll.max < poll.initial || !(poll.max_polls_per_second > 0.0) {
            self.errors.push(format!("poll intervals and rate must be positive and max >= initial, got {poll:?}"));
        }
        self.settings.poll = poll;
        self
    }

    /// Retries of AWS calls (default [`RetryConfig::default`]).
    pub fn with_retry(mut self, retry: RetryConfig) -> Self {
        if retry.max_attempts == 0 {
            self.errors.push("retry max_attempts must be at least 1".into());
        }
        self.retry = retry;
        self
    }

    /// Longest a query may run before it is cancelled and [`Error::Timeout`] returned
    /// (default: no limit, as Athena's own limits apply).
    pub fn with_query_timeout(mut self, timeout: Duration) -> Self {
        self.settings.query_timeout = Some(timeout);
        self
    }

    /// Whether dropping a waiting execute future or handle stops the server-side query
    /// (default true, PyAthena's `kill_on_interrupt`).
    pub fn with_cancel_on_drop(mut self, cancel: bool) -> Self {
        self.settings.cancel_on_drop = cancel;
        self
    }

    /// Parameter style of queries (default [`ParamStyle::PyFormat`]).
    pub fn with_paramstyle(mut self, style: ParamStyle) -> Self {
        self.settings.paramstyle = style;
        self
    }

    /// Client-side cache of every query (default off).
    pub fn with_cache(mut self, cache: CacheConfig) -> Self {
        self.settings.cache = cache;
        self
    }

    /// One Arrow unit for every timestamp and time column. By default each column gets the unit
    /// its precision needs (`timestamp(3)`, Athena's default, in milliseconds; `(0)` seconds,
    /// `(6)` microseconds, `(9)` nanoseconds), so that every value fits exactly. A value the
    /// forced unit cannot hold exactly (a finer fraction, or a year outside 1677-2262 for
    /// nanoseconds) is a decode error, never rounded or NULL.
    pub fn with_timestamp_unit(mut self, unit: TimeUnit) -> Self {
        self.settings.timestamp_unit = Some(unit);
        self
    }

    /// Where rows come from (default [`ResultSource::Auto`]: the result CSV from S3 when the
    /// query has an output location, else GetQueryResults; results of up to 999 rows from
    /// GetQueryResults' first page).
    pub fn with_result_source(mut self, source: ResultSource) -> Self {
        self.settings.result_source = source;
        self
    }

    /// How result files are read from S3 (default [`FetchConfig::default`]: CSV in 4 MiB ranges,
    /// 16 per core in flight (16 to 32); UNLOAD files under a budget of 48 MiB per core in flight,
    /// 16 MiB per core of decoded batches buffered).
    pub fn with_fetch(mut self, fetch: FetchConfig) -> Self {
        if fetch.chunk_size == 0
            || fetch.concurrency == 0
            || fetch.max_attempts == 0
            || fetch.unload_bytes_in_flight == 0
            || fetch.decoded_bytes_buffered == 0
        {
            self.errors
                .push(format!("fetch chunk size, concurrency, attempts and the UNLOAD byte budgets must be positive, got {fetch:?}"));
        }
        self.settings.fetch = fetch;
        self
    }

    /// Reads SELECT/WITH results through UNLOAD to Parquet (default off, as PyAthena's
    /// `unload=False`): typed nested columns, exact types, files read in parallel. Needs an
    /// s3_staging_dir (data files go to `<staging>/unload/<uuid>/`, kept unless
    /// [`with_unload_cleanup`](Self::with_unload_cleanup)).
    ///
    /// Each query is also described by a `LIMIT 0` query (no rows computed, no start callback),
    /// which runs while the UNLOAD of the query as written starts, so that it costs no wait when
    /// nothing needs rewriting. When its columns show what UNLOAD cannot write, that UNLOAD is
    /// stopped and a rewritten one submitted: unnamed or duplicate column names are renamed and
    /// restored, and time, time/timestamp with time zone, interval, json, uuid, ipaddress and
    /// NULL-typed columns are unloaded as text and typed back, giving the same result as the CSV
    /// source. The start callbacks are called once, for the UNLOAD whose files are read. Should
    /// Athena still refuse (nested columns whose element types UNLOAD cannot write), the query
    /// runs as written and its result CSV is read. Rows come in no particular order across data
    /// files, as Athena writes them.
    pub fn with_unload(mut self, unload: bool) -> Self {
        self.settings.unload = unload;
        self
    }

    /// Deletes an UNLOAD's data files and manifest once its result stream is dropped (default
    /// off: the files stay, as Athena leaves them, for reuse or inspection).
    pub fn with_unload_cleanup(mut self, cleanup: bool) -> Self {
        self.settings.unload_cleanup = cleanup;
        self
    }

    /// Compression of UNLOAD's Parquet: SNAPPY (default), GZIP, ZSTD or NONE.
    pub fn with_unload_compression(mut self, compression: UnloadCompression) -> Self {
        self.settings.unload_compression = compression;
        self
    }

    /// The engine every query of the connection asks for (`EngineVersion` on
    /// StartQueryExecution), whatever its workgroup runs; default: the workgroup's engine.
    /// [`crate::Query::engine`] overrides it per query.
    pub fn with_engine(mut self, engine: crate::config::engine::Engine) -> Self {
        self.settings.engine = Some(engine);
        self
    }

    /// Starts from an existing `SdkConfig` (region, credentials, endpoints, retries) instead of
    /// loading aws-config's defaults. Region and endpoint setters of this builder still apply.
    pub fn with_sdk_config(mut self, config: SdkConfig) -> Self {
        self.sdk_config = Some(config);
        self
    }
}

pub(crate) fn check_reuse(max_age: Duration) -> Option<String> {
    let minutes = max_age.as_secs() / 60;
    (!(1..=10_080).contains(&minutes) || !max_age.as_secs().is_multiple_of(60))
        .then(|| format!("result reuse max age must be whole minutes between 1 and 10080, got {max_age:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deferred_errors_and_defaults() {
        let b = ConnectionBuilder::new().with_s3_staging_dir("bucket/x").with_result_reuse(Duration::from_secs(30));
        assert_eq!(b.errors.len(), 2, "{:?}", b.errors);
        let s = Settings::default();
        assert_eq!((s.schema.as_str(), s.catalog.as_str(), s.cancel_on_drop), ("default", "AwsDataCatalog", true));
        let p = PollConfig::default();
        let ms = Duration::from_millis;
        assert_eq!(p.next(ms(20), ms(20)), ms(30));
        assert_eq!(p.next(ms(45), ms(500)), ms(50), "growth stops at the cap");
        assert_eq!(p.next(ms(50), Duration::from_secs(4)), ms(120), "3% of the time run");
        assert_eq!(p.next(ms(4000), Duration::from_secs(300)), Duration::from_secs(5), "never past max");
        // Expected slack (half the interval in force when the query ends) for queries of
        // 0.5 s, 4 s and 30 s: at most a 50 ms poll's (25 ms) or 1.5% of the run time.
        for run in [ms(500), ms(4000), ms(30_000)] {
            let (mut t, mut interval) = (Duration::ZERO, p.initial);
            while t + interval < run {
                t += interval;
                interval = p.next(interval, t);
            }
            let slack = interval / 2;
            assert!(slack <= ms(25).max(run.mul_f64(0.015)), "{run:?}: slack {slack:?}");
        }
        assert_eq!(check_reuse(Duration::from_secs(3600)), None);
    }
}
