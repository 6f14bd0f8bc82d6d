//! What the CLI prints and exits with when a command fails: the library's error kind decides
//! the exit code (see the crate documentation), the message is the error with its causes.

use athena_arrow::{Error, ErrorKind};

/// Exit codes (see the crate documentation).
pub mod exit {
    pub const FAILURE: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const QUERY: u8 = 3;
    pub const CONNECTION: u8 = 4;
    pub const INTERRUPTED: u8 = 130;
}

/// An error and the exit code it maps to.
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn usage(message: impl Into<String>) -> Self {
        Self { code: exit::USAGE, message: message.into() }
    }
}

/// The exit code of a library error, by its kind.
pub fn exit_code(e: &Error) -> u8 {
    match e.kind() {
        ErrorKind::InvalidArgument => exit::USAGE,
        // Athena refused or failed what was asked.
        ErrorKind::Syntax
        | ErrorKind::NotFound
        | ErrorKind::AlreadyExists
        | ErrorKind::Data
        | ErrorKind::Unsupported
        | ErrorKind::QueryFailed
        | ErrorKind::Timeout
        | ErrorKind::NoResult => exit::QUERY,
        // A query that failed on Athena's side failed; a call Athena could not answer is the
        // connection's side.
        ErrorKind::Service if e.query_id().is_some() => exit::QUERY,
        ErrorKind::Service
        | ErrorKind::Unauthenticated
        | ErrorKind::Throttled
        | ErrorKind::Unreachable
        | ErrorKind::Storage
        | ErrorKind::Result => exit::CONNECTION,
        ErrorKind::Cancelled => exit::INTERRUPTED,
        _ => exit::FAILURE,
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Self { code: exit_code(&e), message: athena_arrow::message_with_causes(&e) }
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Self { code: exit::FAILURE, message: athena_arrow::message_with_causes(&e) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_decide_exit_codes() {
        let failed = |reason: &str, category| Error::QueryFailed {
            query_id: "q".into(),
            reason: reason.into(),
            error_category: Some(category),
            error_type: None,
            retryable: false,
        };
        assert_eq!(exit_code(&failed("TABLE_NOT_FOUND: line 1:15: ...", 2)), exit::QUERY);
        // A DuckDB reason names no error: its category says a system error, still the query's.
        assert_eq!(exit_code(&failed("Catalog Error: Table with name x does not exist!", 1)), exit::QUERY);
        assert_eq!(exit_code(&Error::Config { message: "x".into() }), exit::USAGE);
        assert_eq!(exit_code(&Error::Cancelled { query_id: "q".into(), reason: "x".into() }), exit::INTERRUPTED);
        assert_eq!(exit_code(&Error::Credentials { message: "x".into(), source: None }), exit::CONNECTION);
        let incomplete = Error::Incomplete { query_id: "q".into(), message: "x".into() };
        assert_eq!(exit_code(&incomplete), exit::CONNECTION);
    }
}
