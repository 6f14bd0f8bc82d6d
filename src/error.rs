//! The one error type of the crate, and the query states its variants report. It imports no
//! other module of the crate: every step of the flow can use it.

use std::fmt;
use std::time::Duration;

/// State of a query execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueryState {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl QueryState {
    /// SUCCEEDED, FAILED or CANCELLED.
    pub fn is_terminal(self) -> bool {
        matches!(self, QueryState::Succeeded | QueryState::Failed | QueryState::Cancelled)
    }
}

impl fmt::Display for QueryState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            QueryState::Queued => "QUEUED",
            QueryState::Running => "RUNNING",
            QueryState::Succeeded => "SUCCEEDED",
            QueryState::Failed => "FAILED",
            QueryState::Cancelled => "CANCELLED",
        })
    }
}

/// A boxed cause, reachable through [`std::error::Error::source`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Result alias of the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong, named by what the caller does next.
///
/// Each variant's `Display` describes its own layer; the underlying cause (an AWS SDK error, an
/// Arrow error, ...) is reachable through [`std::error::Error::source`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration cannot work (no result location, a malformed URI, conflicting options).
    #[error("invalid configuration: {message}")]
    Config { message: String },

    /// Credentials could not be resolved (unknown profile, STS refused, MFA code not given).
    #[error("cannot resolve AWS credentials: {message}")]
    Credentials {
        message: String,
        #[source]
        source: Option<BoxError>,
    },

    /// An AWS call failed: refused (malformed SQL, bad credentials, unknown query id), throttled
    /// beyond the retry budget, or unreachable.
    #[error("{operation} failed: {}", api_message(code.as_deref(), message))]
    Api {
        operation: &'static str,
        /// `AthenaErrorCode` when Athena sent one (e.g. `MALFORMED_QUERY`), else the AWS error code.
        code: Option<String>,
        message: String,
        retryable: bool,
        #[source]
        source: Option<BoxError>,
    },

    /// The query ran and ended FAILED.
    #[error("query {query_id} failed: {reason}")]
    QueryFailed {
        query_id: String,
        reason: String,
        /// AthenaError.ErrorCategory: 1 system, 2 user, 3 other.
        error_category: Option<i32>,
        /// AthenaError.ErrorType.
        error_type: Option<i32>,
        retryable: bool,
    },

    /// The query was cancelled (by this client, another client, or the service).
    #[error("query {query_id} was cancelled: {reason}")]
    Cancelled { query_id: String, reason: String },

    /// The query did not finish within the configured timeout; it was stopped on the server.
    #[error("query {query_id} did not finish within {timeout:?} (last state {state}); it was cancelled")]
    Timeout { query_id: String, timeout: Duration, state: QueryState },

    /// Parameters do not fit the query (missing or unused names, wrong paramstyle).
    #[error("invalid query parameters: {message}")]
    Parameter { message: String },

    /// The query has no result of the kind asked for (no query executed yet, DDL without rows).
    #[error("no result: {message}")]
    ResultMissing { query_id: Option<String>, message: String },

    /// A result object could not be read from S3 (refused, replaced while read, connection
    /// dropped beyond the retry budget).
    #[error("cannot read {uri}: {message}")]
    Storage {
        uri: String,
        message: String,
        #[source]
        source: Option<BoxError>,
    },

    /// What was read of a result disagrees with what Athena reports about it (fewer or more rows
    /// than the query returned): a result file was changed, emptied or cut after the query
    /// ended. Nothing read from it should be trusted.
    #[error("the result of query {query_id} is incomplete: {message}")]
    Incomplete { query_id: String, message: String },

    /// A result value could not be decoded into its Arrow type.
    #[error("cannot decode {}: {message}", decode_place(query_id.as_deref(), column.as_deref(), *row))]
    Decode {
        query_id: Option<String>,
        column: Option<String>,
        /// Row index within the result (0-based), when known.
        row: Option<u64>,
        message: String,
        #[source]
        source: Option<BoxError>,
    },

    /// An Athena type this client cannot map.
    #[error("unsupported Athena type {type_name:?}")]
    UnsupportedType { type_name: String },
}

/// An error's message followed by each cause not already in it (`message: cause: its cause`):
/// what the CLI prints and the ADBC driver reports, since the SDK's outer layers alone say
/// little ("dispatch failure").
pub fn message_with_causes(err: &dyn std::error::Error) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = s.source();
    }
    message
}

/// The innermost cause of an error (the SDK's own layers only say "dispatch failure" or
/// "io error"): what a user can act on, e.g. "Connection refused (os error 111)".
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut last = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !text.is_empty() {
            last = text;
        }
        source = s.source();
    }
    last
}

fn api_message(code: Option<&str>, message: &str) -> String {
    match code {
        Some(code) if !message.starts_with(code) => format!("{code}: {message}"),
        _ => message.to_owned(),
    }
}

fn decode_place(query_id: Option<&str>, column: Option<&str>, row: Option<u64>) -> String {
    let mut s = String::from("result");
    if let Some(q) = query_id {
        s.push_str(&format!(" of query {q}"));
    }
    if let Some(c) = column {
        s.push_str(&format!(", column {c:?}"));
    }
    if let Some(r) = row {
        s.push_str(&format!(", row {r}"));
    }
    s
}

impl Error {
    pub(crate) fn config(message: impl Into<String>) -> Self {
        Error::Config { message: message.into() }
    }

    pub(crate) fn parameter(message: impl Into<String>) -> Self {
        Error::Parameter { message: message.into() }
    }

    pub(crate) fn decode(message: impl Into<String>) -> Self {
        Error::Decode { query_id: None, column: None, row: None, message: message.into(), source: None }
    }

    /// Wraps an AWS SDK error of `operation`, keeping Athena's error code and message.
    pub(crate) fn api<E, R>(operation: &'static str, err: aws_sdk_athena::error::SdkError<E, R>) -> Self
    where
        E: AthenaErrorCode + aws_sdk_athena::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        use aws_sdk_athena::error::SdkError;
        let (code, message, retryable) = match &err {
            SdkError::ServiceError(se) => {
                let e = se.err();
                let meta = e.meta();
                let code = e.athena_error_code().or(meta.code()).map(str::to_owned);
                let retryable = matches!(meta.code(), Some("ThrottlingException" | "TooManyRequestsException" | "InternalServerException"));
                (code, meta.message().unwrap_or("no message").to_owned(), retryable)
            }
            SdkError::TimeoutError(_) => (None, "timed out; check the network and the endpoint URL".to_owned(), true),
            SdkError::DispatchFailure(d) if d.is_io() || d.is_timeout() => {
                (None, format!("cannot reach the endpoint: {}; check the endpoint URL and the network", root_cause(&err)), true)
            }
            // Signing failed before anything was sent: most often no credentials could be found.
            SdkError::DispatchFailure(_) => {
                // The credential chain's report spans lines (one per provider): its first line
                // here, the whole of it in the source chain.
                let cause = root_cause(&err);
                let first = cause.lines().next().unwrap_or_default().trim_end_matches(" Attempted:").trim_end_matches('.').to_owned();
                (None, format!("the request could not be sent: {first}; check the AWS credentials (profile, keys, role) and region"), false)
            }
            SdkError::ResponseError(_) => (None, format!("unreadable response: {}", root_cause(&err)), true),
            other => (None, root_cause(other), false),
        };
        Error::Api { operation, code, message, retryable, source: Some(Box::new(err)) }
    }

    /// Puts the query id into a decode error, and shifts its row number by `rows_before` (the
    /// rows of earlier pieces of the same result).
    pub(crate) fn in_result(self, query_id: &str, rows_before: u64) -> Self {
        match self {
            Error::Decode { column, row, message, source, .. } => {
                Error::Decode { query_id: Some(query_id.to_owned()), column, row: row.map(|r| r + rows_before), message, source }
            }
            other => other,
        }
    }

    /// The query this error belongs to, when there is one.
    pub fn query_id(&self) -> Option<&str> {
        match self {
            Error::QueryFailed { query_id, .. }
            | Error::Cancelled { query_id, .. }
            | Error::Timeout { query_id, .. }
            | Error::Incomplete { query_id, .. } => Some(query_id),
            Error::ResultMissing { query_id, .. } | Error::Decode { query_id, .. } => query_id.as_deref(),
            _ => None,
        }
    }

    /// Athena's error code (`MALFORMED_QUERY`, `INVALID_INPUT`, ...) or the AWS error code.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Api { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// Whether running the same thing again may succeed (throttling, transient failures).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api { retryable, .. } | Error::QueryFailed { retryable, .. } => *retryable,
            _ => false,
        }
    }

    /// Whether the query hit the configured timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout { .. })
    }

    /// Whether the query was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, Error::Cancelled { .. })
    }

    /// The final state of the query, for errors about a query that ended.
    pub fn state(&self) -> Option<QueryState> {
        match self {
            Error::QueryFailed { .. } => Some(QueryState::Failed),
            Error::Cancelled { .. } => Some(QueryState::Cancelled),
            Error::Timeout { state, .. } => Some(*state),
            _ => None,
        }
    }
}

/// Athena's `AthenaErrorCode` (e.g. `MALFORMED_QUERY`) of an operation's InvalidRequestException.
pub(crate) trait AthenaErrorCode {
    fn athena_error_code(&self) -> Option<&str>;
}

macro_rules! athena_error_code {
    ($($op:ident::$err:ident),* $(,)?) => {$(
        impl AthenaErrorCode for aws_sdk_athena::operation::$op::$err {
            fn athena_error_code(&self) -> Option<&str> {
                match self {
                    Self::InvalidRequestException(e) => e.athena_error_code(),
                    _ => None,
                }
            }
        }
    )*};
}

athena_error_code!(
    start_query_execution::StartQueryExecutionError,
    get_query_execution::GetQueryExecutionError,
    get_query_results::GetQueryResultsError,
    stop_query_execution::StopQueryExecutionError,
    list_query_executions::ListQueryExecutionsError,
    batch_get_query_execution::BatchGetQueryExecutionError,
    list_databases::ListDatabasesError,
    list_data_catalogs::ListDataCatalogsError,
    list_table_metadata::ListTableMetadataError,
    get_table_metadata::GetTableMetadataError,
    get_query_runtime_statistics::GetQueryRuntimeStatisticsError,
);
