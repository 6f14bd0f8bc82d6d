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

/// What kind of failure an [`Error`] is: what a caller acts on, what the ADBC driver maps to its
/// status codes and the CLI to its exit codes. Decided once, from structured facts only: the
/// error variant, Athena's `AthenaErrorCode`, a failed query's `ErrorCategory` and `ErrorType`
/// (and, for engine version 3, the error name its reasons start with: `TABLE_NOT_FOUND: ...`),
/// the AWS error code and the SDK's error kind; never from a message's wording (DuckDB's
/// messages differ from Trino's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// This client's configuration, an option or an argument cannot work.
    InvalidArgument,
    /// The SQL does not parse.
    Syntax,
    /// A named table, database, column, function or query does not exist.
    NotFound,
    /// What a statement creates exists already.
    AlreadyExists,
    /// The data cannot be processed (a bad cast, a division by zero, an unreadable file).
    Data,
    /// Athena (or this client) cannot do what was asked.
    Unsupported,
    /// The query failed for a reason of the user's that fits none of the above.
    QueryFailed,
    /// Credentials are missing or refused, or a permission is lacking.
    Unauthenticated,
    /// Throttled beyond the retry budget, or out of resources: may succeed later.
    Throttled,
    /// The endpoint could not be reached or did not answer.
    Unreachable,
    /// The query was cancelled.
    Cancelled,
    /// The query did not finish in time.
    Timeout,
    /// There is no result of the kind asked for.
    NoResult,
    /// A result object could not be read.
    Storage,
    /// A result could not be decoded, or disagrees with what Athena reports about it.
    Result,
    /// Athena failed on its side (a system error).
    Service,
}

impl ErrorKind {
    /// The kind of a failed query: engine version 3's error name (the word its reasons start
    /// with), else Athena's documented ErrorType groups, else its ErrorCategory.
    fn of_failed_query(reason: &str, category: Option<i32>, error_type: Option<i32>) -> ErrorKind {
        if let Some(kind) = error_name(reason).and_then(ErrorKind::of_name) {
            return kind;
        }
        match (category, error_type) {
            // Athena's error catalogue: 0-8 "query exhausted resources", 206 and 210 "query
            // timeout", 1006 "syntax error", 1004 "schema error" (a name that does not resolve),
            // 1001 and 1002 "data error". DuckDB's failures carry no error name: they are
            // classified by these alone.
            (_, Some(0..=8)) => ErrorKind::Throttled,
            (_, Some(206 | 210)) => ErrorKind::Timeout,
            (_, Some(1006)) => ErrorKind::Syntax,
            (Some(2), Some(1004)) => ErrorKind::NotFound,
            (Some(2), Some(1001 | 1002)) => ErrorKind::Data,
            (Some(1), _) => ErrorKind::Service,
            _ => ErrorKind::QueryFailed,
        }
    }

    /// The kind of Trino's error name or Athena's error code (`TABLE_NOT_FOUND`, `MALFORMED_QUERY`).
    pub(crate) fn of_name(name: &str) -> Option<ErrorKind> {
        Some(match name {
            "MALFORMED_QUERY" | "SYNTAX_ERROR" => ErrorKind::Syntax,
            "TABLE_NOT_FOUND"
            | "SCHEMA_NOT_FOUND"
            | "CATALOG_NOT_FOUND"
            | "COLUMN_NOT_FOUND"
            | "FUNCTION_NOT_FOUND"
            | "PARTITION_NOT_FOUND"
            | "QUERY_EXECUTION_NOT_FOUND"
            | "MISSING_TABLE"
            | "MISSING_SCHEMA_NAME" => ErrorKind::NotFound,
            "ALREADY_EXISTS" | "TABLE_ALREADY_EXISTS" | "SCHEMA_ALREADY_EXISTS" | "HIVE_PATH_ALREADY_EXISTS" => ErrorKind::AlreadyExists,
            "NOT_SUPPORTED" | "HIVE_UNSUPPORTED_FORMAT" => ErrorKind::Unsupported,
            "INVALID_CAST_ARGUMENT"
            | "DIVISION_BY_ZERO"
            | "NUMERIC_VALUE_OUT_OF_RANGE"
            | "INVALID_FUNCTION_ARGUMENT"
            | "HIVE_BAD_DATA"
            | "HIVE_CURSOR_ERROR"
            | "HIVE_INVALID_PARTITION_VALUE"
            | "INVALID_JSON_LITERAL" => ErrorKind::Data,
            "INVALID_INPUT"
            | "TYPE_MISMATCH"
            | "INVALID_PARAMETER_USAGE"
            | "INVALID_QUERY_EXECUTION_STATE"
            | "IDEMPOTENT_PARAMETER_MISMATCH"
            | "VIEW_IS_STALE" => ErrorKind::InvalidArgument,
            "RESULT_NOT_FOUND" => ErrorKind::NoResult,
            "EXCEEDED_TIME_LIMIT" => ErrorKind::Timeout,
            "EXCEEDED_LOCAL_MEMORY_LIMIT" | "EXCEEDED_GLOBAL_MEMORY_LIMIT" | "EXCEEDED_CPU_LIMIT" | "EXCEEDED_SCAN_LIMIT" => {
                ErrorKind::Throttled
            }
            "GENERIC_INTERNAL_ERROR" => ErrorKind::Service,
            // AWS error codes.
            "UnrecognizedClientException"
            | "InvalidClientTokenId"
            | "InvalidAccessKeyId"
            | "SignatureDoesNotMatch"
            | "ExpiredToken"
            | "ExpiredTokenException"
            | "AccessDenied"
            | "AccessDeniedException"
            | "InvalidToken"
            | "InvalidSignatureException"
            | "IncompleteSignature"
            | "MissingAuthenticationTokenException" => ErrorKind::Unauthenticated,
            "ThrottlingException" | "TooManyRequestsException" | "SlowDown" => ErrorKind::Throttled,
            "InternalServerException" | "ServiceUnavailableException" | "InternalFailure" => ErrorKind::Service,
            "InvalidRequestException" | "ValidationException" => ErrorKind::InvalidArgument,
            "ResourceNotFoundException" | "EntityNotFoundException" => ErrorKind::NotFound,
            _ => return None,
        })
    }
}

/// The error name a failed query's reason starts with (`TABLE_NOT_FOUND` of
/// `TABLE_NOT_FOUND: line 1:15: ...`), as engine version 3 writes its reasons.
pub(crate) fn error_name(reason: &str) -> Option<&str> {
    let (name, _) = reason.split_once(": ")?;
    let valid = !name.is_empty()
        && name.as_bytes()[0].is_ascii_uppercase()
        && name.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    valid.then_some(name)
}

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
        /// What kind of failure this is (see [`Error::kind`]).
        kind: ErrorKind,
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
    /// A result Athena wrote with CSE_KMS that this client does not read from S3 (its files are
    /// ciphertext), with `encrypted_result_fallback` off or the reader forced to S3.
    #[error("the result of query {query_id} is encrypted client-side (CSE_KMS): {message}")]
    EncryptedResult { query_id: String, message: String },

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
        // A layer that says what is said already (the SDK's `service error`, then the service's
        // `Code: message` whose message this error carries) adds nothing.
        let said = |t: &str| t.is_empty() || message.contains(t);
        let tail = text.split_once(": ").map_or(text.as_str(), |(_, tail)| tail);
        if !(said(&text) || said(tail) || text == "service error") {
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
        let (code, message, retryable, kind) = match &err {
            SdkError::ServiceError(se) => {
                let e = se.err();
                let meta = e.meta();
                let code = e.athena_error_code().or(meta.code()).map(str::to_owned);
                let retryable = matches!(meta.code(), Some("ThrottlingException" | "TooManyRequestsException" | "InternalServerException"));
                let kind = match (operation, meta.code()) {
                    // Glue's "no such table or database" reaches Athena's metadata calls as a
                    // MetadataException.
                    ("GetTableMetadata" | "GetDatabase", Some("MetadataException")) => ErrorKind::NotFound,
                    _ => code.as_deref().and_then(ErrorKind::of_name).unwrap_or(ErrorKind::Service),
                };
                (code, meta.message().unwrap_or("no message").to_owned(), retryable, kind)
            }
            SdkError::TimeoutError(_) => {
                (None, "timed out; check the network and the endpoint URL".to_owned(), true, ErrorKind::Unreachable)
            }
            SdkError::DispatchFailure(d) if d.is_io() || d.is_timeout() => (
                None,
                format!("cannot reach the endpoint: {}; check the endpoint URL and the network", root_cause(&err)),
                true,
                ErrorKind::Unreachable,
            ),
            // Signing failed before anything was sent: most often no credentials could be found.
            SdkError::DispatchFailure(_) => {
                // The credential chain's report spans lines (one per provider): its first line
                // here, the whole of it in the source chain.
                let cause = root_cause(&err);
                let first = cause.lines().next().unwrap_or_default().trim_end_matches(" Attempted:").trim_end_matches('.').to_owned();
                let message = format!("the request could not be sent: {first}; check the AWS credentials (profile, keys, role) and region");
                (None, message, false, ErrorKind::Unauthenticated)
            }
            SdkError::ResponseError(_) => (None, format!("unreadable response: {}", root_cause(&err)), true, ErrorKind::Unreachable),
            other => (None, root_cause(other), false, ErrorKind::Unreachable),
        };
        Error::Api { operation, code, message, retryable, kind, source: Some(Box::new(err)) }
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
            | Error::Incomplete { query_id, .. }
            | Error::EncryptedResult { query_id, .. } => Some(query_id),
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

    /// What kind of failure this is: what to do next, one decision for every caller.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Config { .. } | Error::Parameter { .. } => ErrorKind::InvalidArgument,
            Error::Credentials { .. } => ErrorKind::Unauthenticated,
            Error::Api { kind, .. } => *kind,
            Error::QueryFailed { reason, error_category, error_type, .. } => {
                ErrorKind::of_failed_query(reason, *error_category, *error_type)
            }
            Error::Cancelled { .. } => ErrorKind::Cancelled,
            Error::Timeout { .. } => ErrorKind::Timeout,
            Error::ResultMissing { .. } => ErrorKind::NoResult,
            Error::Storage { .. } => ErrorKind::Storage,
            Error::Incomplete { .. } | Error::Decode { .. } => ErrorKind::Result,
            Error::UnsupportedType { .. } | Error::EncryptedResult { .. } => ErrorKind::Unsupported,
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
    get_database::GetDatabaseError,
    get_query_runtime_statistics::GetQueryRuntimeStatisticsError,
    get_work_group::GetWorkGroupError,
);
