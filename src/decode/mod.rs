//! Decode: bytes and text of a result -> Arrow, with no I/O. Every result source (GetQueryResults
//! pages, the result CSV, UNLOAD's Parquet) goes through these pieces:
//!
//! - [`schema`]: the schema mapper, Athena column metadata (ColumnInfo) and type names -> Arrow.
//! - [`TextDecoder`]: the text converter, rows of Athena text (`None` = NULL) -> `RecordBatch`es.
//! - [`nested`]: Athena's text of arrays, maps and rows -> nested Arrow arrays.
//! - [`duckdb`]: Athena's DuckDB engine: DuckDB type names and DuckDB's text -> Arrow.
//! - [`csv`]: Athena's result CSV (quoted empty = "", unquoted empty = NULL) -> rows for the
//!   text converter.
//!
//! This module imports nothing from the steps that run queries or move bytes (query, results,
//! fetch, rows); a test in `tests/it/layout.rs` keeps it so.

pub mod csv;
pub mod duckdb;
pub mod nested;
pub(crate) mod parse;
pub mod schema;
pub(crate) mod shapes;
mod text;

pub use text::TextDecoder;
