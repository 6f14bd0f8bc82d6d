//! athena-arrow errors as ADBC errors: a status by cause, SQLSTATE where one exists, Athena's
//! reason in the message.

use adbc_core::error::{Error, Status};
use athena_arrow::Error as AthenaError;

/// SQLSTATE as ADBC carries it.
fn sqlstate(code: &str) -> [std::os::raw::c_char; 5] {
    let mut out = [0; 5];
    for (o, b) in out.iter_mut().zip(code.bytes()) {
        *o = b as std::os::raw::c_char;
    }
    out
}

/// Status and SQLSTATE of an Athena error code or a failed query's reason (which starts with
/// Trino's error name: `TABLE_NOT_FOUND: line 1:15: ...`).
fn classify(text: &str) -> Option<(Status, &'static str)> {
    const CODES: &[(&str, Status, &str)] = &[
        ("MALFORMED_QUERY", Status::InvalidArguments, "42601"),
        ("SYNTAX_ERROR", Status::InvalidArguments, "42601"),
        ("TABLE_NOT_FOUND", Status::NotFound, "42P01"),
        ("SCHEMA_NOT_FOUND", Status::NotFound, "3F000"),
        ("CATALOG_NOT_FOUND", Status::NotFound, "3D000"),
        ("COLUMN_NOT_FOUND", Status::NotFound, "42703"),
        ("FUNCTION_NOT_FOUND", Status::NotFound, "42883"),
        ("TYPE_MISMATCH", Status::InvalidArguments, "42804"),
        ("INVALID_CAST_ARGUMENT", Status::InvalidData, "22018"),
        ("DIVISION_BY_ZERO", Status::InvalidData, "22012"),
        ("NUMERIC_VALUE_OUT_OF_RANGE", Status::InvalidData, "22003"),
        ("ALREADY_EXISTS", Status::AlreadyExists, "42P07"),
        ("TABLE_ALREADY_EXISTS", Status::AlreadyExists, "42P07"),
        ("NOT_SUPPORTED", Status::NotImplemented, "0A000"),
        // A request Athena refuses as given (an output location that is no S3 URI, ...).
        ("INVALID_INPUT", Status::InvalidArguments, "22023"),
    ];
    CODES.iter().find(|(c, _, _)| text.starts_with(c) || text.contains(&format!("{c}:"))).map(|(_, s, q)| (*s, *q))
}

/// Error codes of the AWS layer meaning who is calling is not accepted.
const AUTH_CODES: &[&str] = &[
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
    "AccessDenied",
    "AccessDeniedException",
    "InvalidToken",
    "InvalidSignatureException",
    "IncompleteSignature",
    "MissingAuthenticationTokenException",
];

pub fn from_athena(e: AthenaError) -> Error {
    let message = athena_arrow::message_with_causes(&e);
    let (status, state) = match &e {
        AthenaError::Config { .. } | AthenaError::Parameter { .. } => (Status::InvalidArguments, Some("HY000")),
        AthenaError::Credentials { .. } => (Status::Unauthenticated, Some("28000")),
        AthenaError::Api { code, .. } => match code.as_deref() {
            Some(c) if AUTH_CODES.contains(&c) => (Status::Unauthenticated, Some("28000")),
            Some(c) => match classify(c).or_else(|| classify(&message)) {
                Some((s, q)) => (s, Some(q)),
                None if c.contains("Throttl") => (Status::IO, None),
                None if c == "InvalidRequestException" => (Status::InvalidArguments, None),
                None => (Status::IO, None),
            },
            // Not sent or not answered: the endpoint is unreachable.
            None => (Status::IO, Some("08001")),
        },
        AthenaError::QueryFailed { reason, .. } => match classify(reason) {
            Some((s, q)) => (s, Some(q)),
            None => (Status::Internal, None),
        },
        AthenaError::Cancelled { .. } => (Status::Cancelled, Some("57014")),
        AthenaError::Timeout { .. } => (Status::Timeout, Some("57014")),
        AthenaError::ResultMissing { .. } => (Status::InvalidState, None),
        AthenaError::Storage { .. } => (Status::IO, None),
        AthenaError::Incomplete { .. } | AthenaError::Decode { .. } => (Status::InvalidData, None),
        AthenaError::UnsupportedType { .. } => (Status::NotImplemented, None),
        _ => (Status::Internal, None),
    };
    let mut out = Error::with_message_and_status(message, status);
    if let Some(code) = state {
        out.sqlstate = sqlstate(code);
    }
    out
}

/// ADBC's error for what Athena has no notion of (transactions).
pub fn not_implemented(what: &str) -> Error {
    Error::with_message_and_status(what, Status::NotImplemented)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_map_to_statuses_and_sqlstates() {
        let failed = |reason: &str| AthenaError::QueryFailed {
            query_id: "q".into(),
            reason: reason.into(),
            error_category: Some(2),
            error_type: None,
            retryable: false,
        };
        let e = from_athena(failed("TABLE_NOT_FOUND: line 1:15: Table 'awsdatacatalog.default.nope' does not exist"));
        assert_eq!((e.status, e.sqlstate), (Status::NotFound, sqlstate("42P01")));
        assert!(e.message.contains("does not exist"));
        let e = from_athena(AthenaError::Api {
            operation: "StartQueryExecution",
            code: Some("MALFORMED_QUERY".into()),
            message: "line 1:8: mismatched input".into(),
            retryable: false,
            source: None,
        });
        assert_eq!((e.status, e.sqlstate), (Status::InvalidArguments, sqlstate("42601")));
        let e = from_athena(AthenaError::Cancelled { query_id: "q".into(), reason: "stopped".into() });
        assert_eq!(e.status, Status::Cancelled);
        let e = from_athena(AthenaError::Api {
            operation: "StartQueryExecution",
            code: Some("UnrecognizedClientException".into()),
            message: "bad key".into(),
            retryable: false,
            source: None,
        });
        assert_eq!(e.status, Status::Unauthenticated);
    }
}
