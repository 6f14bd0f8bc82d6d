//! The engine seam: what differs between Athena's query engines. A workgroup names its engine
//! (`Configuration.EngineVersion`), and a query may override it (StartQueryExecution's
//! `EngineVersion`); everything engine-specific a query meets goes through [`Dialect`]: how its
//! SQL is parsed and rewritten for DataFusion, the type names `ResultSetMetadata` reports, the
//! text of values, and the bytes of the result file it delivers.

use std::fmt::Debug;

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::sql::sqlparser::ast::Statement;

use crate::failure::{Failure, SyntaxError};
use crate::statements::classify::Kind;
use crate::statements::hive::ast::HiveStatement;
use crate::types::ColumnInfo;

/// A statement ready to run: SQL (rewritten for DataFusion), Hive DDL, or DuckDB's
/// `COPY (query) TO 's3://...' (options)`.
#[derive(Debug, Clone)]
pub enum Prepared {
    Sql(Statement),
    Hive(HiveStatement),
    CopyTo { query: Statement, target: String, options: Vec<(String, String)> },
}

/// Why a statement cannot run: a syntax error StartQueryExecution refuses (engine version 3:
/// MALFORMED_QUERY), or a failure the query ends with once submitted (DuckDB checks nothing at
/// submission: a syntax error gets an id and ends FAILED).
#[derive(Debug, Clone)]
pub enum Refusal {
    Syntax(SyntaxError),
    Failed(Failure),
}

/// One of Athena's query engines, as the endpoint runs it on DataFusion.
pub trait Dialect: Debug + Send + Sync {
    /// The engine's name as Athena spells it in `EngineVersion` (`Athena engine version 3`).
    fn name(&self) -> &'static str;

    /// Parses one statement of the engine's SQL: classified as GetQueryExecution reports it and
    /// rewritten for DataFusion. Runs on a thread of [`crate::engine::STACK_BYTES`] stack.
    fn prepare(&self, sql: &str) -> Result<(Prepared, Kind), Refusal>;

    /// A failure as this engine words and classifies it (engine version 3: as it is).
    fn failure(&self, failure: Failure) -> Failure {
        failure
    }

    /// The schema of a result as the engine delivers it (DuckDB: the Arrow types it exports).
    fn result_schema(&self, schema: &Schema) -> SchemaRef {
        Arc::new(schema.clone())
    }

    /// `batch` in [`Self::result_schema`]'s types.
    fn result_batch(&self, batch: RecordBatch, _schema: &SchemaRef) -> Result<RecordBatch, Failure> {
        Ok(batch)
    }

    /// Whether a query with Athena-managed results keeps its result as an Arrow IPC stream for
    /// `GetQueryResultStream` (DuckDB).
    fn arrow_stream(&self) -> bool {
        false
    }

    /// The `ColumnInfo` GetQueryResults reports for a result column.
    fn column_info(&self, field: &Field) -> ColumnInfo;

    /// The first bytes of a query's result file: its header row.
    fn result_header(&self, names: &[String]) -> Vec<u8>;

    /// Appends the rows of `batch` to a query's result file, each value in the engine's text.
    /// Pure: batches are formatted on every core at once and written in order.
    fn result_rows(&self, out: &mut Vec<u8>, batch: &RecordBatch);
}
