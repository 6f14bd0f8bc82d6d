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
//! The data flow, one module per step: [`config`] (configure) -> `execute`/`query` (start, poll,
//! cancel) -> [`result`] (locate and stream) -> [`decode`] and [`schema`] (text to Arrow) ->
//! [`row`] (row views). [`blocking`] wraps it all for synchronous programs.

pub mod blocking;
mod cache;
pub mod config;
mod connection;
mod credentials;
pub mod csv;
mod cursor;
#[cfg(feature = "datafusion")]
pub mod datafusion;
pub mod decode;
mod error;
mod execute;
pub mod fetch;
pub mod nested;
pub mod params;
mod query;
pub mod result;
pub mod row;
pub mod schema;
mod source;
mod unload;

pub use config::{CacheConfig, ConnectionBuilder, Encryption, PollConfig, RetryConfig};
pub use connection::{Connection, TableMetadata};
pub use cursor::Cursor;
pub use error::{BoxError, Error, Result};
pub use execute::{CancelHandle, QueryHandle, QueryInfo, QueryState};
pub use fetch::FetchConfig;
pub use params::{Param, ParamStyle};
pub use query::Query;
pub use result::{ColumnDescription, RecordBatchStream, ResultSet, ResultSource};
pub use row::{Row, Value};
