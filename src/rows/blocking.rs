//! A blocking facade for synchronous programs (as `reqwest::blocking`): the same connection,
//! queries and results, driven by an internal tokio runtime.
//!
//! Ctrl-C while a query runs stops it on the server and returns [`Error::Cancelled`] (PyAthena's
//! `kill_on_interrupt`). To do that the first blocking execute installs a process-wide SIGINT
//! listener; outside a running query, Ctrl-C then ends the process with exit code 130, as the
//! default handler would.
//!
//! ```no_run
//! let conn = athena_arrow::blocking::Connection::connect(
//!     athena_arrow::Connection::builder().with_s3_staging_dir("s3://bucket/athena/"),
//! )?;
//! for row in conn.execute("SELECT * FROM many_rows LIMIT 10")? {
//!     println!("{:?}", row?);
//! }
//! # Ok::<_, athena_arrow::Error>(())
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use arrow::array::RecordBatch;

use crate::config::ConnectionBuilder;
use crate::error::{Error, Result};
use crate::info::QueryInfo;
use crate::query::Query;
use crate::results::ColumnDescription;
use crate::rows::row::Row;

/// A blocking connection. Cloning is cheap.
#[derive(Clone, Debug)]
pub struct Connection {
    inner: crate::Connection,
    rt: Arc<tokio::runtime::Runtime>,
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("athena-arrow")
        .enable_all()
        .build()
        .map_err(|e| Error::config(format!("cannot start the tokio runtime: {e}")))
}

impl Connection {
    /// Builds the connection of `builder` on a new internal runtime.
    ///
    /// # Errors
    /// As [`ConnectionBuilder::build`].
    pub fn connect(builder: ConnectionBuilder) -> Result<Self> {
        let rt = runtime()?;
        let inner = rt.block_on(builder.build())?;
        Ok(Self { inner, rt: Arc::new(rt) })
    }

    /// A connection configured from the environment.
    pub fn from_env() -> Result<Self> {
        Self::connect(ConnectionBuilder::from_env())
    }

    /// The async connection behind this one.
    pub fn as_async(&self) -> &crate::Connection {
        &self.inner
    }

    /// A query with per-execute options; run it with [`Connection::execute_query`].
    pub fn query(&self, sql: impl Into<String>) -> Query {
        self.inner.query(sql)
    }

    /// Runs `sql` and waits for its results (Ctrl-C stops the query).
    pub fn execute(&self, sql: impl Into<String>) -> Result<ResultSet> {
        self.execute_query(self.inner.query(sql))
    }

    /// Runs a query built with [`Connection::query`] (Ctrl-C stops the query).
    pub fn execute_query(&self, query: Query) -> Result<ResultSet> {
        let interrupt = interrupt();
        interrupt.active.fetch_add(1, Ordering::SeqCst);
        let result = self.rt.block_on(query.execute_until(async {
            interrupt.notify.notified().await;
        }));
        interrupt.active.fetch_sub(1, Ordering::SeqCst);
        Ok(ResultSet { inner: result?, rt: self.rt.clone() })
    }

    /// A DB-API style cursor.
    pub fn cursor(&self) -> Cursor {
        Cursor { conn: self.clone(), result: None }
    }

    pub fn list_databases(&self) -> Result<Vec<String>> {
        self.rt.block_on(self.inner.list_databases())
    }

    pub fn list_tables(&self, database: Option<&str>) -> Result<Vec<crate::TableMetadata>> {
        self.rt.block_on(self.inner.list_tables(database))
    }

    pub fn table_metadata(&self, database: Option<&str>, table: &str) -> Result<crate::TableMetadata> {
        self.rt.block_on(self.inner.table_metadata(database, table))
    }

    /// Stops the query `query_id` (for use from another thread).
    pub fn cancel(&self, query_id: &str) -> Result<()> {
        self.rt.block_on(self.inner.cancel_handle(query_id).cancel())
    }
}

/// Ctrl-C routing: to the running queries when there are some, else the default exit.
struct Interrupt {
    active: AtomicUsize,
    notify: tokio::sync::Notify,
}

fn interrupt() -> &'static Interrupt {
    static INTERRUPT: OnceLock<&'static Interrupt> = OnceLock::new();
    INTERRUPT.get_or_init(|| {
        let state: &'static Interrupt = Box::leak(Box::new(Interrupt { active: AtomicUsize::new(0), notify: tokio::sync::Notify::new() }));
        let spawned = std::thread::Builder::new().name("athena-arrow-sigint".into()).spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            rt.block_on(async {
                while tokio::signal::ctrl_c().await.is_ok() {
                    if state.active.load(Ordering::SeqCst) == 0 {
                        std::process::exit(130);
                    }
                    state.notify.notify_waiters();
                }
            });
        });
        if let Err(e) = spawned {
            tracing::warn!("cannot start the Ctrl-C listener: {e}");
        }
        state
    })
}

/// A finished query's results, fetched by blocking calls; iterating yields rows.
#[derive(Debug)]
pub struct ResultSet {
    inner: crate::ResultSet,
    rt: Arc<tokio::runtime::Runtime>,
}

impl ResultSet {
    pub fn info(&self) -> &QueryInfo {
        self.inner.info()
    }

    pub fn query_id(&self) -> &str {
        self.inner.query_id()
    }

    pub fn schema(&self) -> &arrow::datatypes::SchemaRef {
        self.inner.schema()
    }

    pub fn description(&self) -> Vec<ColumnDescription> {
        self.inner.description()
    }

    pub fn rowcount(&self) -> Option<i64> {
        self.inner.rowcount()
    }

    pub fn fetch_one(&mut self) -> Result<Option<Row>> {
        self.rt.block_on(self.inner.fetch_one())
    }

    pub fn fetch_many(&mut self, n: usize) -> Result<Vec<Row>> {
        self.rt.block_on(self.inner.fetch_many(n))
    }

    /// Every remaining row (held in memory).
    pub fn fetch_all(&mut self) -> Result<Vec<Row>> {
        self.rt.block_on(self.inner.fetch_all())
    }

    /// The next batch of the remaining rows.
    pub fn next_batch(&mut self) -> Option<Result<RecordBatch>> {
        self.rt.block_on(self.inner.next_batch())
    }

    /// The async result behind this one.
    pub fn into_async(self) -> crate::ResultSet {
        self.inner
    }
}

impl Iterator for ResultSet {
    type Item = Result<Row>;

    fn next(&mut self) -> Option<Self::Item> {
        self.fetch_one().transpose()
    }
}

/// A blocking DB-API style cursor.
#[derive(Debug)]
pub struct Cursor {
    conn: Connection,
    result: Option<ResultSet>,
}

impl Cursor {
    pub fn execute(&mut self, sql: impl Into<String>) -> Result<&mut Self> {
        let q = self.conn.query(sql);
        self.execute_query(q)
    }

    pub fn execute_query(&mut self, query: Query) -> Result<&mut Self> {
        self.result = None;
        self.result = Some(self.conn.execute_query(query)?);
        Ok(self)
    }

    fn result(&mut self) -> Result<&mut ResultSet> {
        self.result.as_mut().ok_or_else(|| Error::ResultMissing { query_id: None, message: "no query has been executed".into() })
    }

    pub fn query_id(&self) -> Option<&str> {
        self.result.as_ref().map(ResultSet::query_id)
    }

    pub fn info(&self) -> Option<&QueryInfo> {
        self.result.as_ref().map(ResultSet::info)
    }

    pub fn description(&self) -> Option<Vec<ColumnDescription>> {
        self.result.as_ref().map(ResultSet::description)
    }

    pub fn rowcount(&self) -> Option<i64> {
        self.result.as_ref().and_then(ResultSet::rowcount)
    }

    pub fn fetch_one(&mut self) -> Result<Option<Row>> {
        self.result()?.fetch_one()
    }

    pub fn fetch_many(&mut self, n: usize) -> Result<Vec<Row>> {
        self.result()?.fetch_many(n)
    }

    pub fn fetch_all(&mut self) -> Result<Vec<Row>> {
        self.result()?.fetch_all()
    }
}

impl Iterator for Cursor {
    type Item = Result<Row>;

    fn next(&mut self) -> Option<Self::Item> {
        self.result.as_mut()?.next()
    }
}
