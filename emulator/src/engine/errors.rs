//! DataFusion's errors as Athena reports them: error code, message and the `line L:C` of the
//! name they are about.

use datafusion::error::DataFusionError;

use crate::failure::{Failure, locate};

pub fn df_failure_plain(e: DataFusionError) -> Failure {
    Failure::system(e.to_string())
}

/// The [`Failure`] a planning step raised as `DataFusionError::External`, however wrapped.
fn external_failure(e: &DataFusionError) -> Option<Failure> {
    match e {
        DataFusionError::External(inner) => inner.downcast_ref::<Failure>().cloned(),
        DataFusionError::Shared(inner) => external_failure(inner),
        DataFusionError::Context(_, inner) => external_failure(inner),
        DataFusionError::Diagnostic(_, inner) => external_failure(inner),
        _ => None,
    }
}

/// Maps an engine error to Athena's error code and message.
pub fn df_failure(sql: &str, e: DataFusionError) -> Failure {
    // A failure raised inside planning (a stale view, a table that cannot be read) keeps its code.
    if let Some(f) = external_failure(&e) {
        return f;
    }
    let text = e.to_string();
    let msg = text.trim_start_matches("Error during planning: ").trim_start_matches("Schema error: ");
    if let Some(schema) = msg.strip_prefix("failed to resolve schema: ") {
        let (l, c) = locate(sql, schema);
        return Failure::user("SCHEMA_NOT_FOUND", format!("line {l}:{c}: Schema '{schema}' does not exist"));
    }
    if let Some(rest) = msg.strip_prefix("table '").and_then(|r| r.split_once("' not found")) {
        let full = rest.0;
        let short = full.rsplit('.').next().unwrap_or(full);
        let (l, c) = locate(sql, short);
        return Failure::user("TABLE_NOT_FOUND", format!("line {l}:{c}: Table '{full}' does not exist"));
    }
    if let Some(rest) = msg.strip_prefix("No field named ") {
        let named = rest.split(char::is_whitespace).next().unwrap_or(rest).trim_end_matches('.');
        let col = named.rsplit('.').next().unwrap_or(named).trim_matches('"');
        let (l, c) = locate(sql, col);
        return Failure::user("COLUMN_NOT_FOUND", format!("line {l}:{c}: Column '{col}' cannot be resolved"));
    }
    if msg.contains("Invalid function") {
        return Failure::user("FUNCTION_NOT_FOUND", msg.to_owned());
    }
    if msg.contains("Divide by zero") {
        return Failure::user("DIVISION_BY_ZERO", "Division by zero");
    }
    if msg.contains("Cast error") || msg.contains("Cannot cast") {
        return Failure::user("INVALID_CAST_ARGUMENT", msg.to_owned());
    }
    match e {
        DataFusionError::NotImplemented(m) => Failure::user("NOT_SUPPORTED", m),
        DataFusionError::Plan(_) | DataFusionError::SchemaError(_, _) | DataFusionError::SQL(_, _) => {
            Failure::user("SYNTAX_ERROR", format!("line 1:1: {msg}"))
        }
        DataFusionError::IoError(_) | DataFusionError::ObjectStore(_) | DataFusionError::Internal(_) => Failure::system(msg.to_owned()),
        _ => Failure::user("GENERIC_USER_ERROR", msg.to_owned()),
    }
}
