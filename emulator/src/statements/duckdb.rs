//! Athena's DuckDB engine (Preview, athena-duckdb-engine.md): DuckDB's SQL (one statement, no
//! check at submission), DuckDB's type names and text in GetQueryResults and the result CSV,
//! and, for Athena-managed results, the result kept as an Arrow IPC stream in DuckDB's Arrow
//! types for `GetQueryResultStream`.

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::sql::sqlparser::ast::Statement;

use crate::engine::duckdb::copy::split_copy;
use crate::engine::duckdb::{DuckError, prepare};
use crate::engine::on_parser_stack;
use crate::failure::{Failure, SyntaxError};
use crate::formats::duckdb_text::write_duckdb_csv_rows;
use crate::formats::duckdb_types::{export_batch, export_schema, type_name};
use crate::formats::result_csv::csv_header;
use crate::statements::classify::{Kind, classify, kind};
use crate::statements::dialect::{Dialect, Prepared, Refusal};
use crate::types::ColumnInfo;

/// The engine's `EngineVersion` name.
pub const DUCKDB: &str = "DuckDB";

#[derive(Debug, Clone, Copy, Default)]
pub struct DuckDbEngine;

impl Dialect for DuckDbEngine {
    fn name(&self) -> &'static str {
        DUCKDB
    }

    fn prepare(&self, sql: &str) -> Result<(Prepared, Kind), Refusal> {
        if let Some(copy) = split_copy(sql) {
            let (query, target, options) = copy.map_err(|m| Refusal::Failed(Failure::duckdb(m)))?;
            let (Prepared::Sql(query), _) = self.prepare(&query)? else {
                return Err(Refusal::Failed(Failure::duckdb("Parser Error: COPY (query) takes a query")));
            };
            return Ok((Prepared::CopyTo { query, target, options }, kind("DML", "COPY")));
        }
        let parsed = on_parser_stack(|| Ok(prepare(sql))).map_err(|e: SyntaxError| Refusal::Failed(Failure::duckdb(e.message)))?;
        let statement = parsed.map_err(|DuckError(message)| Refusal::Failed(Failure::duckdb(message)))?;
        if let Statement::Unload { .. } = statement {
            return Err(Refusal::Failed(Failure::duckdb(
                "Not implemented Error: UNLOAD is not supported by the DuckDB engine; use COPY (query) TO 's3://...' (FORMAT parquet)",
            )));
        }
        let kind = classify(&statement);
        Ok((Prepared::Sql(statement), kind))
    }

    /// Engine failures in DuckDB's words: the class DuckDB gives the error, then its message.
    fn failure(&self, failure: Failure) -> Failure {
        if failure.code.is_empty() {
            return failure;
        }
        let message =
            failure.message.split_once(": ").filter(|(at, _)| at.starts_with("line ")).map_or(failure.message.as_str(), |(_, m)| m);
        let text = match failure.code {
            "TABLE_NOT_FOUND" => {
                let name = message.split('\'').nth(1).and_then(|n| n.rsplit('.').next()).unwrap_or(message);
                format!("Catalog Error: Table with name {name} does not exist!")
            }
            "SCHEMA_NOT_FOUND" => {
                let name = message.split('\'').nth(1).unwrap_or(message);
                format!("Catalog Error: Schema with name {name} does not exist!")
            }
            "COLUMN_NOT_FOUND" => {
                let name = message.split('\'').nth(1).unwrap_or(message);
                format!("Binder Error: Referenced column \"{name}\" not found in FROM clause!")
            }
            "FUNCTION_NOT_FOUND" => format!("Catalog Error: {message}"),
            "DIVISION_BY_ZERO" => "Invalid Input Error: Division by zero".to_owned(),
            "INVALID_CAST_ARGUMENT" => format!("Conversion Error: {message}"),
            "NOT_SUPPORTED" => format!("Not implemented Error: {message}"),
            "SYNTAX_ERROR" | "TYPE_MISMATCH" => format!("Binder Error: {message}"),
            "GENERIC_INTERNAL_ERROR" => format!("INTERNAL Error: {message}"),
            _ => format!("Invalid Input Error: {message}"),
        };
        Failure::duckdb(text)
    }

    fn column_info(&self, field: &Field) -> ColumnInfo {
        let (precision, scale) = match field.data_type() {
            DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => (*p as i32, *s as i32),
            _ => (0, 0),
        };
        let mut info = ColumnInfo::new(field.name(), &type_name(field), precision, scale);
        info.nullable = "UNKNOWN".into();
        info
    }

    fn result_header(&self, names: &[String]) -> Vec<u8> {
        csv_header(names)
    }

    fn result_rows(&self, out: &mut Vec<u8>, batch: &RecordBatch) {
        write_duckdb_csv_rows(out, batch);
    }

    fn result_schema(&self, schema: &Schema) -> SchemaRef {
        export_schema(schema)
    }

    fn result_batch(&self, batch: RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, Failure> {
        export_batch(&batch, schema).map_err(|e| Failure::duckdb(format!("Conversion Error: {e}")))
    }

    fn arrow_stream(&self) -> bool {
        true
    }
}
