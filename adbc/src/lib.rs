//! # adbc-driver-athena
//!
//! An [ADBC](https://arrow.apache.org/adbc/) 1.1 driver for Amazon Athena over athena-arrow:
//! one shared library for Python (`adbc_driver_manager`, PEP 249), R, Go, C/C++, Java (JNI),
//! Polars and DuckDB. Its entry point is `AdbcDriverAthenaInit` (and `AdbcDriverInit`).
//!
//! - Database: the `uri` `athena://?region=..&s3_staging_dir=..&work_group=..` and the keys of
//!   the library's table of settings (`athena_arrow::config::options::SETTINGS`, prefix
//!   `adbc.athena.`); what is not given comes from the environment as
//!   `ConnectionBuilder::from_env` reads it.
//! - Connection: `get_info`, `get_objects` at every depth, `get_table_schema`,
//!   `get_table_types`, `read_partition`; no transactions (commit, rollback and autocommit off
//!   are NotImplemented).
//! - Statement: SQL, qmark parameters (`bind`; each bound row runs as one query, the results
//!   read one after the other), streaming `execute`, `execute_update`, `execute_schema`,
//!   `execute_partitions`, `cancel` from another thread, the per-query settings of the table and
//!   the readable `adbc.athena.last_query_id`.
//! - Errors: ADBC status by cause, SQLSTATE where one exists, Athena's reason in the message;
//!   panics are caught at the C boundary.

mod driver;
mod error;
mod objects;
pub mod options;
mod params;
mod runtime;
mod statement;

pub use driver::{AthenaConnection, AthenaDatabase, AthenaDriver};
pub use statement::{AthenaStatement, StatementCanceller, StreamReader};

adbc_ffi::export_driver!(AdbcDriverAthenaInit, AthenaDriver);
