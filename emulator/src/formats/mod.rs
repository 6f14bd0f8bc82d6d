//! Bytes on disk: objects and their layout ([`objects`]), engine version 3's value text
//! ([`value_text`]) and result CSV ([`result_csv`]), DuckDB's type names ([`duckdb_types`]) and
//! text ([`duckdb_text`]), Hive's text SerDes ([`hivetext`]), table
//! storage kinds ([`storage`]), and the writers of table files ([`table_files`]) and Trino's
//! Parquet ([`trino_parquet`]).

pub mod arrow_stream;
pub mod duckdb_text;
pub mod duckdb_types;
pub mod envelope;
pub mod hivetext;
pub mod kms;
pub mod objects;
pub mod result_csv;
pub mod storage;
pub mod table_files;
pub mod trino_parquet;
pub mod value_text;
