//! athena-arrow errors as ADBC errors: a status by cause, SQLSTATE where one exists, Athena's
//! reason in the message.

use adbc_core::error::{Error, Status};
use athena_arrow::{Error as AthenaError, ErrorKind};

/// SQLSTATE as ADBC carries it.
fn sqlstate(code: &str) -> [std::os::raw::c_char; 5] {
    let mut out = [0; 5];
    for (o, b) in out.iter_mut().zip(code.bytes()) {
        *o = b as std::os::raw::c_char;
    }
    out
}

/// The ADBC status and SQLSTATE of an error: from its kind, the library's one decision about
/// what failed.
pub fn from_athena(e: AthenaError) -> Error {
    let message = athena_arrow::message_with_causes(&e);
    let (status, state) = match e.kind() {
        ErrorKind::InvalidArgument => (Status::InvalidArguments, Some("22023")),
        ErrorKind::Syntax => (Status::InvalidArguments, Some("42601")),
        ErrorKind::NotFound => (Status::NotFound, Some(not_found_state(&e))),
        ErrorKind::AlreadyExists => (Status::AlreadyExists, Some("42P07")),
        ErrorKind::Data => (Status::InvalidData, Some("22000")),
        ErrorKind::Unsupported => (Status::NotImplemented, Some("0A000")),
        ErrorKind::QueryFailed => (Status::Unknown, None),
        ErrorKind::Unauthenticated => (Status::Unauthenticated, Some("28000")),
        ErrorKind::Throttled => (Status::IO, Some("53000")),
        ErrorKind::Unreachable => (Status::IO, Some("08001")),
        ErrorKind::Cancelled => (Status::Cancelled, Some("57014")),
        ErrorKind::Timeout => (Status::Timeout, Some("57014")),
        ErrorKind::NoResult => (Status::InvalidState, None),
        ErrorKind::Storage => (Status::IO, None),
        ErrorKind::Result => (Status::InvalidData, None),
        ErrorKind::Service => (Status::Internal, None),
        _ => (Status::Unknown, None),
    };
    let mut out = Error::with_message_and_status(message, status);
    if let Some(code) = state {
        out.sqlstate = sqlstate(code);
    }
    out
}

/// The SQLSTATE of a "not found": PostgreSQL's by what is missing, when engine version 3's error
/// name tells (an undefined table otherwise).
fn not_found_state(e: &AthenaError) -> &'static str {
    let name = match e {
        AthenaError::QueryFailed { reason, .. } => reason.split_once(": ").map(|(n, _)| n),
        AthenaError::Api { code, .. } => code.as_deref(),
        _ => None,
    };
    match name {
        Some("SCHEMA_NOT_FOUND") => "3F000",
        Some("CATALOG_NOT_FOUND") => "3D000",
        Some("COLUMN_NOT_FOUND") => "42703",
        Some("FUNCTION_NOT_FOUND") => "42883",
        _ => "42P01",
    }
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
            kind: ErrorKind::Syntax,
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
            kind: ErrorKind::Unauthenticated,
            source: None,
        });
        assert_eq!(e.status, Status::Unauthenticated);
    }
}
