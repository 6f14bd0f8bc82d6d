//! # athena-arrow
//!
//! An Arrow-native client for Amazon Athena: queries run through Athena and their results
//! arrive as Arrow `RecordBatch`es, through one schema mapper and one text converter, with rows
//! and dict rows as views over the batches.
//!
//! ```no_run
//! # async fn run() -> athena_arrow::Result<()> {
//! use athena_arrow::Connection;
//!
//! let conn = Connection::builder()
//!     .with_region("us-west-2")
//!     .with_s3_staging_dir("s3://my-bucket/athena/")
//!     .build()
//!     .await?;
//! let mut result = conn.query("SELECT * FROM many_rows WHERE a < %(n)s").param("n", 10).execute().await?;
//! println!("{:?}", result.description());
//! while let Some(row) = result.fetch_one().await? {
//!     println!("{:?}", row.values());
//! }
//! # Ok(()) }
//! ```
//!
//! The data flow, one folder per step (see the README's "Where rows come from"):
//!
//! | step | module | what it does |
//! |---|---|---|
//! | configure | [`config`], `connection` | builder, environment, credentials; the clients and settings |
//! | execute | `query` | parameters, cache, UNLOAD wrapping; start, poll, cancel |
//! | query facts | `info` | [`QueryInfo`] (GetQueryExecution): what a result knows of its query |
//! | locate + stream | `results` | API pages, result CSV, UNLOAD manifest, DuckDB's Arrow stream; [`RecordBatchStream`], [`ResultSet`] |
//! | fetch | `fetch` | parallel ranged GETs pinned by ETag ([`FetchConfig`]); the GetQueryResultStream wire |
//! | decode | [`decode`] | schema mapper, text converter, nested values, CSV; no I/O |
//! | rows | `rows` | [`Row`] views, [`Cursor`], the [`blocking`] facade |
//! | integrations | `integrations` | DataFusion (feature `datafusion`) |
//!
//! Lower steps never import higher ones: `decode` imports nothing from query, results, fetch or
//! rows, `fetch` only [`Error`], and `error` nothing (checked by `tests/it/layout.rs`).

pub mod config;
mod connection;
pub mod decode;
mod error;
mod fetch;
mod info;
mod integrations;
mod metadata;
mod query;
mod results;
mod rows;

#[cfg(feature = "datafusion")]
pub use integrations::datafusion;
pub use rows::blocking;

pub use config::compression::UnloadCompression;
pub use config::engine::Engine;
pub use config::{CacheConfig, ConnectionBuilder, Encryption, PollConfig, RetryConfig, WebIdentityToken};
pub use connection::Connection;
pub use error::{BoxError, Error, ErrorKind, QueryState, Result, message_with_causes};
pub use fetch::FetchConfig;
pub use info::QueryInfo;
pub use metadata::TableMetadata;
pub use query::Query;
pub use query::execute::{CancelHandle, QueryHandle};
pub use query::params::{Param, ParamStyle};
pub use results::partition::{Partitions, ResultPartition};
pub use results::{ColumnDescription, RecordBatchStream, ResultSet, ResultSource};
pub use rows::cursor::Cursor;
pub use rows::row::{Row, Value};
