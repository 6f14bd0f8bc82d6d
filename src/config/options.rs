//! One table of the settings that have a text form ([`SETTINGS`]): each one's key (the key of an
//! `athena://?key=value` URI, and of the ADBC option `adbc.athena.<key>`), the environment variable
//! that sets it, the PyAthena keyword it mirrors, its default and its meaning; and the one parser
//! of their text ([`ConnectionBuilder::with_option`], [`crate::Query::option`], [`check`]).
//! The ADBC driver, the Python package's keywords and the README's table of options are derived
//! from this table or tested against it.

use std::time::Duration;

use crate::config::ConnectionBuilder;
use crate::config::compression::COMPRESSIONS;
use crate::config::encryption::ENCRYPTION_OPTIONS;
use crate::config::engine::ENGINE_NAMES;

/// The kind of text a setting takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// Any text.
    Text,
    /// `true` or `false` (also `1`/`0`, `yes`/`no`, `on`/`off`).
    Flag,
    /// A whole number (`0` and up).
    Count,
    /// A number of seconds, fractions allowed.
    Seconds,
    /// One of the listed words (any case).
    Choice(&'static [&'static str]),
    /// One of the listed names, exactly as written (case and spaces).
    Exact(&'static [&'static str]),
}

impl ValueKind {
    /// The kind's name as the option tables show it.
    pub fn name(&self) -> String {
        match self {
            ValueKind::Text => "text".into(),
            ValueKind::Flag => "true/false".into(),
            ValueKind::Count => "whole number".into(),
            ValueKind::Seconds => "seconds".into(),
            ValueKind::Choice(words) => words.join("/"),
            ValueKind::Exact(names) => names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(" or "),
        }
    }
}

/// A setting with a text form.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    /// The key: `athena://?<key>=...` and the ADBC option `adbc.athena.<key>`.
    pub key: &'static str,
    /// The environment variable [`ConnectionBuilder::from_env`] (or aws-config's chain) reads.
    pub env: Option<&'static str>,
    /// PyAthena's connection keyword for the same setting.
    pub pyathena: Option<&'static str>,
    pub kind: ValueKind,
    /// The value when nothing sets it.
    pub default: &'static str,
    pub meaning: &'static str,
    /// Also set per query (`Query::option`, an ADBC statement option).
    pub per_query: bool,
    /// A secret: accepted, never read back.
    pub secret: bool,
}

const fn setting(key: &'static str, kind: ValueKind, default: &'static str, meaning: &'static str) -> Setting {
    Setting { key, env: None, pyathena: None, kind, default, meaning, per_query: false, secret: false }
}

impl Setting {
    const fn env(mut self, var: &'static str) -> Self {
        self.env = Some(var);
        self
    }

    const fn pyathena(mut self, keyword: &'static str) -> Self {
        self.pyathena = Some(keyword);
        self
    }

    const fn per_query(mut self) -> Self {
        self.per_query = true;
        self
    }

    const fn secret(mut self) -> Self {
        self.secret = true;
        self
    }
}

/// Every setting with a text form, in the order the tables show them.
pub const SETTINGS: &[Setting] = &[
    setting("region", ValueKind::Text, "from the AWS config chain", "AWS region of Athena and of the result bucket")
        .env("AWS_REGION")
        .pyathena("region_name"),
    setting("s3_staging_dir", ValueKind::Text, "the workgroup's", "where Athena writes results (s3://bucket/prefix/)")
        .env("AWS_ATHENA_S3_STAGING_DIR")
        .pyathena("s3_staging_dir"),
    setting("work_group", ValueKind::Text, "primary", "Athena workgroup").env("AWS_ATHENA_WORK_GROUP").pyathena("work_group"),
    setting("schema", ValueKind::Text, "default", "database of unqualified table names").pyathena("schema_name"),
    setting("catalog", ValueKind::Text, "AwsDataCatalog", "data catalog").pyathena("catalog_name"),
    setting("endpoint_url", ValueKind::Text, "AWS's", "Athena, S3, STS and KMS endpoint (a local endpoint, a VPC endpoint)")
        .env("AWS_ENDPOINT_URL")
        .pyathena("endpoint_url"),
    setting("unload", ValueKind::Flag, "false", "read SELECT results through UNLOAD to Parquet").pyathena("unload").per_query(),
    setting("unload_compression", ValueKind::Choice(COMPRESSIONS), "SNAPPY", "compression of UNLOAD's Parquet files").per_query(),
    setting("result_reuse_minutes", ValueKind::Count, "0 (off)", "reuse a result of the same query up to this age (1-10080)")
        .pyathena("result_reuse_minutes")
        .per_query(),
    setting("engine_version", ValueKind::Exact(ENGINE_NAMES), "the workgroup's", "Athena engine queries run on (EngineVersion)")
        .env("AWS_ATHENA_ENGINE_VERSION")
        .pyathena("engine_version")
        .per_query(),
    setting("query_timeout_seconds", ValueKind::Seconds, "none", "stop a query running longer than this").per_query(),
    setting("csv_partition_bytes", ValueKind::Count, "67108864 (64 MiB)", "bytes of a result CSV per partition (0: one partition)"),
    setting(
        "fetch_concurrency",
        ValueKind::Count,
        "16 per core, 16 to 32",
        "ranged GETs of a result CSV (or a DuckDB result stream) in flight at once (1 and up; fewer hold less memory)",
    ),
    setting("fetch_range_bytes", ValueKind::Count, "4194304 (4 MiB)", "bytes per ranged GET of a result CSV (1 and up)"),
    setting(
        "fetch_unload_bytes",
        ValueKind::Count,
        "48 MiB per core, at least 96 MiB",
        "bytes of UNLOAD files fetched and not yet decoded, across files (1 and up; less holds less memory, reads fewer files at once)",
    ),
    setting(
        "fetch_decoded_bytes",
        ValueKind::Count,
        "16 MiB per core, at least 32 MiB",
        "bytes of decoded UNLOAD batches waiting for the reader (1 and up)",
    ),
    setting("encryption_option", ValueKind::Choice(ENCRYPTION_OPTIONS), "none (the workgroup's)", "encryption of the result files Athena writes")
        .pyathena("encryption_option"),
    setting("kms_key", ValueKind::Text, "none", "KMS key (ARN, id or alias) of SSE_KMS or CSE_KMS").pyathena("kms_key"),
    setting(
        "encrypted_result_fallback",
        ValueKind::Flag,
        "true",
        "a result written with CSE_KMS whose data key KMS refuses is read through GetQueryResults with one warning; false: an error",
    ),
    setting("poll_interval", ValueKind::Seconds, "5", "longest wait between two status polls").pyathena("poll_interval"),
    setting(
        "kill_on_interrupt",
        ValueKind::Flag,
        "true",
        "stopping the wait for a query (Ctrl-C, ADBC cancel, a dropped handle) stops the query on Athena too; false leaves it running",
    )
    .pyathena("kill_on_interrupt"),
    setting("access_key_id", ValueKind::Text, "from the AWS config chain", "static credentials: access key id")
        .env("AWS_ACCESS_KEY_ID")
        .pyathena("aws_access_key_id"),
    setting("secret_access_key", ValueKind::Text, "from the AWS config chain", "static credentials: secret key")
        .env("AWS_SECRET_ACCESS_KEY")
        .pyathena("aws_secret_access_key")
        .secret(),
    setting("session_token", ValueKind::Text, "none", "static credentials: session token")
        .env("AWS_SESSION_TOKEN")
        .pyathena("aws_session_token")
        .secret(),
    setting("profile", ValueKind::Text, "default", "shared config profile").env("AWS_PROFILE").pyathena("profile_name"),
    setting("role_arn", ValueKind::Text, "none", "role assumed through STS").pyathena("role_arn"),
    setting("role_session_name", ValueKind::Text, "athena-arrow-session", "session name of the assumed role").pyathena("role_session_name"),
    setting("external_id", ValueKind::Text, "none", "external id of the assumed role").pyathena("external_id").secret(),
    setting("duration_seconds", ValueKind::Count, "3600", "lifetime of STS credentials").pyathena("duration_seconds"),
    setting(
        "web_identity_token",
        ValueKind::Text,
        "none",
        "sign in with a JWT of your identity provider (STS AssumeRoleWithWebIdentity on role_arn): the token, file:PATH or env:VARIABLE, read again at each refresh",
    )
    .secret(),
    setting(
        "identity_center_application_arn",
        ValueKind::Text,
        "none",
        "trusted identity propagation: the IAM Identity Center application that trades web_identity_token for the user's identity context (role_arn is then the application role)",
    ),
    setting("access_role_arn", ValueKind::Text, "none", "trusted identity propagation: the role assumed with the user's identity context"),
];

/// The setting of `key`.
pub fn find(key: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.key == key)
}

/// Why a setting's text was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OptionError {
    #[error("unknown option {key:?}; known: {}", SETTINGS.iter().map(|s| s.key).collect::<Vec<_>>().join(", "))]
    Unknown { key: String },
    #[error("option {key} takes {expected}, got {value:?}")]
    Invalid { key: String, expected: String, value: String },
    #[error("option {key} is set per connection, not per query")]
    NotPerQuery { key: String },
}

impl OptionError {
    fn invalid(setting: &Setting, value: &str, expected: impl Into<String>) -> Self {
        OptionError::Invalid { key: setting.key.to_owned(), expected: expected.into(), value: value.to_owned() }
    }
}

/// Checks `value` as the text of setting `key` without applying it.
///
/// # Errors
/// [`OptionError`] naming the key, and the values it takes.
pub fn check(key: &str, value: &str) -> Result<&'static Setting, OptionError> {
    Ok(parse_option(key, value)?.setting)
}

/// A setting's value parsed from its text, once: what [`ConnectionBuilder::with_parsed_option`]
/// and [`crate::Query::parsed_option`] apply (the ADBC driver keeps it from when the option is
/// set, so the text is not parsed again).
#[derive(Debug, Clone)]
pub struct ParsedOption {
    setting: &'static Setting,
    value: Parsed,
}

impl ParsedOption {
    /// The setting this is a value of.
    pub fn setting(&self) -> &'static Setting {
        self.setting
    }
}

/// Parses `value` as the text of setting `key`.
///
/// # Errors
/// [`OptionError`] naming the key, and the values it takes.
pub fn parse_option(key: &str, value: &str) -> Result<ParsedOption, OptionError> {
    let setting = find(key).ok_or_else(|| OptionError::Unknown { key: key.to_owned() })?;
    Ok(ParsedOption { setting, value: parse(setting, value)? })
}

/// A setting's value, parsed.
#[derive(Debug, Clone, PartialEq)]
enum Parsed {
    Text(String),
    Flag(bool),
    Count(u64),
    Seconds(Duration),
}

fn parse(setting: &Setting, value: &str) -> Result<Parsed, OptionError> {
    let text = value.trim();
    Ok(match setting.kind {
        ValueKind::Text => Parsed::Text(value.to_owned()),
        ValueKind::Flag => Parsed::Flag(parse_flag(text).ok_or_else(|| OptionError::invalid(setting, value, "true or false"))?),
        ValueKind::Count => Parsed::Count(text.parse().map_err(|_| OptionError::invalid(setting, value, "a whole number (0 and up)"))?),
        ValueKind::Seconds => Parsed::Seconds(
            text.parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map(Duration::from_secs_f64)
                .ok_or_else(|| OptionError::invalid(setting, value, "a number of seconds (0 and up)"))?,
        ),
        ValueKind::Choice(words) => {
            let upper = text.to_ascii_uppercase();
            if !words.contains(&upper.as_str()) {
                return Err(OptionError::invalid(setting, value, format!("one of {}", words.join(", "))));
            }
            Parsed::Text(upper)
        }
        ValueKind::Exact(names) => {
            if !names.contains(&value) {
                let listed = names.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(" or ");
                return Err(OptionError::invalid(setting, value, format!("exactly {listed}")));
            }
            Parsed::Text(value.to_owned())
        }
    })
}

/// `true`/`false` as a flag's text gives it.
pub(crate) fn parse_flag(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// A result's reuse age from a number of minutes (0: off).
fn reuse(minutes: u64) -> Option<Duration> {
    (minutes > 0).then(|| Duration::from_secs(minutes.saturating_mul(60)))
}

impl ConnectionBuilder {
    /// Applies a setting of [`SETTINGS`] from its text (a URI's or an ADBC option's). Like every
    /// setter it never fails: an unknown key or a value that does not parse is an error of
    /// [`build`](Self::build), which names the key.
    pub fn with_option(mut self, key: &str, value: &str) -> Self {
        match parse_option(key, value) {
            Ok(option) => self.with_parsed_option(option),
            Err(e) => {
                self.errors.push(e.to_string());
                self
            }
        }
    }

    /// Applies a setting's value parsed by [`parse_option`].
    pub fn with_parsed_option(mut self, option: ParsedOption) -> Self {
        match (option.setting.key, option.value) {
            ("region", Parsed::Text(v)) => self.with_region(v),
            ("s3_staging_dir", Parsed::Text(v)) => self.with_s3_staging_dir(v),
            ("work_group", Parsed::Text(v)) => self.with_work_group(v),
            ("schema", Parsed::Text(v)) => self.with_schema(v),
            ("catalog", Parsed::Text(v)) => self.with_catalog(v),
            ("endpoint_url", Parsed::Text(v)) => self.with_endpoint_url(v),
            ("unload", Parsed::Flag(v)) => self.with_unload(v),
            ("unload_compression", Parsed::Text(v)) => self.with_unload_compression(v.parse().expect("a checked choice")),
            ("result_reuse_minutes", Parsed::Count(m)) => match reuse(m) {
                Some(age) => self.with_result_reuse(age),
                None => {
                    self.settings.result_reuse = None;
                    self
                }
            },
            ("engine_version", Parsed::Text(v)) => self.with_engine(v.parse().expect("a checked engine name")),
            ("query_timeout_seconds", Parsed::Seconds(d)) => self.with_query_timeout(d),
            ("poll_interval", Parsed::Seconds(d)) => {
                let mut poll = self.settings.poll;
                poll.max = d;
                poll.cap = poll.cap.min(d);
                poll.initial = poll.initial.min(d);
                self.with_poll(poll)
            }
            ("kill_on_interrupt", Parsed::Flag(v)) => self.with_cancel_on_drop(v),
            ("encryption_option", Parsed::Text(v)) => {
                self.encryption_options.0 = Some(v);
                self
            }
            ("kms_key", Parsed::Text(v)) => {
                self.encryption_options.1 = Some(v);
                self
            }
            ("encrypted_result_fallback", Parsed::Flag(v)) => self.with_encrypted_result_fallback(v),
            ("access_key_id", Parsed::Text(v)) => {
                self.credentials.access_key_id = Some(v);
                self
            }
            ("secret_access_key", Parsed::Text(v)) => {
                self.credentials.secret_access_key = Some(v);
                self
            }
            ("session_token", Parsed::Text(v)) => self.with_session_token(v),
            ("profile", Parsed::Text(v)) => self.with_profile(v),
            ("role_arn", Parsed::Text(v)) => self.with_role_arn(v),
            ("web_identity_token", Parsed::Text(v)) => self.with_web_identity_token(crate::config::WebIdentityToken::parse(&v)),
            ("identity_center_application_arn", Parsed::Text(v)) => self.with_identity_center_application_arn(v),
            ("access_role_arn", Parsed::Text(v)) => self.with_access_role_arn(v),
            ("role_session_name", Parsed::Text(v)) => self.with_role_session_name(v),
            ("external_id", Parsed::Text(v)) => self.with_external_id(v),
            ("csv_partition_bytes", Parsed::Count(n)) => {
                self.settings.fetch.csv_partition_bytes = n;
                self
            }
            (key @ ("fetch_concurrency" | "fetch_range_bytes" | "fetch_unload_bytes" | "fetch_decoded_bytes"), Parsed::Count(n)) => {
                if n == 0 {
                    self.errors.push(format!("option {key} takes a whole number of 1 and up, got 0"));
                    return self;
                }
                let mut fetch = self.settings.fetch;
                match key {
                    "fetch_concurrency" => fetch.concurrency = usize::try_from(n).unwrap_or(usize::MAX),
                    "fetch_range_bytes" => fetch.chunk_size = n,
                    "fetch_unload_bytes" => fetch.unload_bytes_in_flight = n,
                    _ => fetch.decoded_bytes_buffered = n,
                }
                self.with_fetch(fetch)
            }
            ("duration_seconds", Parsed::Count(n)) => match u32::try_from(n) {
                Ok(n) => self.with_duration_seconds(n),
                Err(_) => {
                    self.errors.push(format!("option duration_seconds takes a whole number of seconds, got {n}"));
                    self
                }
            },
            (key, parsed) => unreachable!("the table's kind of {key} parsed as {parsed:?}"),
        }
    }
}

impl crate::Query {
    /// Applies a per-query setting of [`SETTINGS`] (`unload`, `unload_compression`,
    /// `result_reuse_minutes`, `query_timeout_seconds`) from its text; an unknown key, a
    /// connection-only key or a value that does not parse is an error of the execution.
    pub fn option(mut self, key: &str, value: &str) -> Self {
        match parse_option(key, value) {
            Ok(option) => self.parsed_option(option),
            Err(e) => {
                self.errors.push(e.to_string());
                self
            }
        }
    }

    /// Applies a per-query setting's value parsed by [`parse_option`] (a connection-only setting
    /// is an error of the execution).
    pub fn parsed_option(mut self, option: ParsedOption) -> Self {
        if !option.setting.per_query {
            self.errors.push(OptionError::NotPerQuery { key: option.setting.key.to_owned() }.to_string());
            return self;
        }
        match (option.setting.key, option.value) {
            ("unload", Parsed::Flag(v)) => self.unload(v),
            ("unload_compression", Parsed::Text(v)) => self.unload_compression(v.parse().expect("a checked choice")),
            ("result_reuse_minutes", Parsed::Count(m)) => match reuse(m) {
                Some(age) => self.result_reuse(age),
                None => self.no_result_reuse(),
            },
            ("query_timeout_seconds", Parsed::Seconds(d)) => self.timeout(d),
            ("engine_version", Parsed::Text(v)) => self.engine(v.parse().expect("a checked engine name")),
            (key, parsed) => unreachable!("per-query setting {key} parsed as {parsed:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::compression::UnloadCompression;

    #[test]
    fn every_setting_parses_its_own_default_kind() {
        let sample = |s: &Setting| match s.kind {
            ValueKind::Text => "x".to_owned(),
            ValueKind::Flag => "true".to_owned(),
            ValueKind::Count => "60".to_owned(),
            ValueKind::Seconds => "1.5".to_owned(),
            ValueKind::Choice(words) => words[0].to_ascii_lowercase(),
            ValueKind::Exact(names) => names[names.len() - 1].to_owned(),
        };
        for s in SETTINGS {
            assert!(check(s.key, &sample(s)).is_ok(), "{}", s.key);
            let b = ConnectionBuilder::new().with_option(s.key, &sample(s));
            let stray: Vec<_> = b.errors.iter().filter(|e| !e.contains("s3_staging_dir must be")).collect();
            assert!(stray.is_empty(), "{}: {stray:?}", s.key);
        }
        let keys: std::collections::HashSet<_> = SETTINGS.iter().map(|s| s.key).collect();
        assert_eq!(keys.len(), SETTINGS.len(), "keys are unique");
    }

    #[test]
    fn bad_text_names_the_key_and_what_it_takes() {
        assert_eq!(check("unload", "maybe").unwrap_err().to_string(), "option unload takes true or false, got \"maybe\"");
        assert_eq!(
            check("unload_compression", "lz4").unwrap_err().to_string(),
            "option unload_compression takes one of SNAPPY, GZIP, ZSTD, NONE, got \"lz4\""
        );
        assert_eq!(
            check("result_reuse_minutes", "1.5").unwrap_err().to_string(),
            "option result_reuse_minutes takes a whole number (0 and up), got \"1.5\""
        );
        assert!(check("nope", "1").unwrap_err().to_string().starts_with("unknown option \"nope\"; known: region, "));
        let b = ConnectionBuilder::new().with_option("query_timeout_seconds", "-1");
        assert_eq!(b.errors, ["option query_timeout_seconds takes a number of seconds (0 and up), got \"-1\""]);
        assert_eq!("zstd".parse::<UnloadCompression>(), Ok(UnloadCompression::Zstd));
        assert_eq!(
            "lzo".parse::<UnloadCompression>().unwrap_err().to_string(),
            "unknown UNLOAD compression \"lzo\"; valid: SNAPPY, GZIP, ZSTD, NONE"
        );
    }

    #[test]
    fn texts_reach_the_settings() {
        let b = ConnectionBuilder::new()
            .with_option("result_reuse_minutes", "60")
            .with_option("unload", "on")
            .with_option("unload_compression", "gzip")
            .with_option("poll_interval", "0.5");
        assert!(b.errors.is_empty(), "{:?}", b.errors);
        assert_eq!(b.settings.result_reuse, Some(Duration::from_secs(3600)));
        assert!(b.settings.unload);
        assert_eq!(b.settings.unload_compression, UnloadCompression::Gzip);
        assert_eq!(b.settings.poll.max, Duration::from_millis(500));
        let off = b.with_option("result_reuse_minutes", "0");
        assert_eq!(off.settings.result_reuse, None);
        let reuse = ConnectionBuilder::new().with_option("result_reuse_minutes", "20000");
        assert_eq!(reuse.errors, ["result reuse max age must be whole minutes between 1 and 10080, got 1200000s"]);
        let fetch = ConnectionBuilder::new()
            .with_option("fetch_concurrency", "4")
            .with_option("fetch_range_bytes", "1048576")
            .with_option("fetch_unload_bytes", "16777216")
            .with_option("fetch_decoded_bytes", "8388608");
        assert!(fetch.errors.is_empty(), "{:?}", fetch.errors);
        let set = &fetch.settings.fetch;
        assert_eq!(
            (set.concurrency, set.chunk_size, set.unload_bytes_in_flight, set.decoded_bytes_buffered),
            (4, 1 << 20, 16 << 20, 8 << 20)
        );
        assert_eq!(fetch.settings.fetch.csv_partition_bytes, crate::FetchConfig::default().csv_partition_bytes, "the rest kept");
        let zero = ConnectionBuilder::new().with_option("fetch_concurrency", "0");
        assert_eq!(zero.errors, ["option fetch_concurrency takes a whole number of 1 and up, got 0"]);
        let zero_budget = ConnectionBuilder::new().with_option("fetch_unload_bytes", "0");
        assert_eq!(zero_budget.errors, ["option fetch_unload_bytes takes a whole number of 1 and up, got 0"]);
        assert_eq!(zero.settings.fetch, crate::FetchConfig::default(), "a refused value changes nothing");
    }
}
