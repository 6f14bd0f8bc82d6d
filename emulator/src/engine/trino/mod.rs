//! Trino SQL (Athena engine version 3) on DataFusion: parsed, then rewritten into the forms
//! DataFusion plans with Athena's result types.

pub mod ast;
pub mod functions;
pub mod parse;
pub mod rewrite;

use datafusion::sql::sqlparser::ast::Statement;

use crate::failure::SyntaxError;

/// One statement of Trino SQL, parsed and rewritten for DataFusion (a view's query, a statement
/// the endpoint composes); the caller runs it on a thread of [`crate::engine::STACK_BYTES`].
pub fn statement(sql: &str) -> Result<Statement, SyntaxError> {
    let mut statement = crate::engine::trino::parse::parse(sql)?;
    crate::engine::trino::rewrite::rewrite(&mut statement);
    Ok(statement)
}
