//! Athena's failures: the error code, message, category and type a FAILED query reports, and
//! the syntax errors StartQueryExecution refuses (MALFORMED_QUERY).

/// A query failure as Athena reports it: `CODE: message` (engine version 3) or the engine's
/// message alone (DuckDB, whose failures have no code), with its AthenaError fields.
#[derive(Debug, Clone)]
pub struct Failure {
    pub code: &'static str,
    pub message: String,
    /// 1 system, 2 user, 3 other.
    pub category: i32,
    pub error_type: i32,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.code.is_empty() { f.write_str(&self.message) } else { write!(f, "{}: {}", self.code, self.message) }
    }
}

impl std::error::Error for Failure {}

impl Failure {
    /// A DuckDB error (`Parser Error: ...`, `Catalog Error: ...`): DuckDB's words, no code, the
    /// category and type by its class. The type numbers for DuckDB's classes are our reading of
    /// Athena's error catalogue (1006 syntax, 1004 schema, 1001 data, 1000 other user errors),
    /// not confirmed for the DuckDB engine.
    pub fn duckdb(message: impl Into<String>) -> Self {
        let message = message.into();
        let class = message.split_once(" Error:").map_or("", |(c, _)| c);
        let error_type = match class {
            "Parser" => 1006,
            "Catalog" => 1004,
            "Conversion" | "Out of Range" | "Invalid Input" => 1001,
            _ => 1000,
        };
        let category = if class == "INTERNAL" || class == "Internal" { 1 } else { 2 };
        Self { code: "", message, category, error_type }
    }

    pub fn user(code: &'static str, message: impl Into<String>) -> Self {
        // ErrorType numbers follow Athena's error catalogue groups: 1xxx user errors.
        let error_type = match code {
            "TABLE_NOT_FOUND" | "SCHEMA_NOT_FOUND" => 1006,
            "COLUMN_NOT_FOUND" => 1004,
            "NOT_SUPPORTED" => 1101,
            "FUNCTION_NOT_FOUND" => 1008,
            "TYPE_MISMATCH" => 1005,
            _ => 1000,
        };
        Self { code, message: message.into(), category: 2, error_type }
    }

    pub fn system(message: impl Into<String>) -> Self {
        Self { code: "GENERIC_INTERNAL_ERROR", message: message.into(), category: 1, error_type: 401 }
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::system(format!("writing results: {e}"))
    }
}

/// A syntax error, with Athena's `line L:C: ` prefix.
#[derive(Debug, Clone, thiserror::Error)]
#[error("line {line}:{column}: {message}")]
pub struct SyntaxError {
    pub line: u64,
    pub column: u64,
    pub message: String,
}

/// 1-based line and column of the first case-insensitive occurrence of `needle` in `sql`.
pub fn locate(sql: &str, needle: &str) -> (usize, usize) {
    let lower = sql.to_ascii_lowercase();
    let Some(at) = lower.find(&needle.to_ascii_lowercase()) else {
        return (1, 1);
    };
    let before = &sql[..at];
    let line = before.matches('\n').count() + 1;
    let col = at - before.rfind('\n').map_or(0, |p| p + 1) + 1;
    (line, col)
}
