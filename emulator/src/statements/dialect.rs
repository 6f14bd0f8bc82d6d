//! The engine seam: what differs between Athena's query engines. A workgroup names its engine
//! (`Configuration.EngineVersion`), and a query may override it (StartQueryExecution's
//! `EngineVersion`); everything engine-specific a query meets goes through [`Dialect`]: how its
//! SQL is parsed and rewritten for DataFusion, the type names `ResultSetMetadata` reports, the
//! text of values, and the bytes of the result file it delivers.

use std::fmt::Debug;

use arrow::array::RecordBatch;
use arrow::datatypes::Field;
use datafusion::sql::sqlparser::ast::Statement;

use crate::failure::SyntaxError;
use crate::statements::classify::Kind;
use crate::statements::hive::ast::HiveStatement;
use crate::types::ColumnInfo;

/// A statement ready to run: SQL (rewritten for DataFusion) or Hive DDL.
#[derive(Debug, Clone)]
pub enum Prepared {
    Sql(Statement),
    Hive(HiveStatement),
}

/// One of Athena's query engines, as the endpoint runs it on DataFusion.
pub trait Dialect: Debug + Send + Sync {
    /// The engine's name as Athena spells it in `EngineVersion` (`Athena engine version 3`).
    fn name(&self) -> &'static str;

    /// Parses one statement of the engine's SQL: classified as GetQueryExecution reports it and
    /// rewritten for DataFusion. Runs on a thread of [`crate::engine::STACK_BYTES`] stack.
    fn prepare(&self, sql: &str) -> Result<(Prepared, Kind), SyntaxError>;

    /// The `ColumnInfo` GetQueryResults reports for a result column.
    fn column_info(&self, field: &Field) -> ColumnInfo;

    /// The first bytes of a query's result file: its header row.
    fn result_header(&self, names: &[String]) -> Vec<u8>;

    /// Appends the rows of `batch` to a query's result file, each value in the engine's text.
    /// Pure: batches are formatted on every core at once and written in order.
    fn result_rows(&self, out: &mut Vec<u8>, batch: &RecordBatch);
}
