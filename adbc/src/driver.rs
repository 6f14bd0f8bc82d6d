//! The ADBC objects over athena-arrow: a database holds options, a connection an
//! [`athena_arrow::Connection`], a statement one query at a time. Every call runs on the
//! driver's own tokio runtime; results stream batch by batch as the library yields them.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use adbc_core::error::{Error, Result, Status};
use adbc_core::options::{InfoCode, ObjectDepth, OptionConnection, OptionDatabase, OptionStatement, OptionValue};
use adbc_core::{Optionable, PartitionedResult};
use arrow::array::{RecordBatch, RecordBatchReader};
use arrow::datatypes::{Schema, SchemaRef};
use arrow::error::ArrowError;
use athena_arrow::{CancelHandle, ConnectionBuilder, Param, ParamStyle, Query, RecordBatchStream};
use futures::StreamExt;

use crate::error::{from_athena, not_implemented};
use crate::objects;
use crate::options::{self, PREFIX, boolean, invalid, known, unknown};

/// The driver's runtime: every blocking ADBC call runs its future here.
static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread().thread_name("adbc-athena").enable_all().build().expect("a tokio runtime starts")
});

pub(crate) fn block_on<F: std::future::Future>(f: F) -> F::Output {
    RUNTIME.block_on(f)
}

fn text(key: &str, value: OptionValue) -> Result<String> {
    match value {
        OptionValue::String(s) => Ok(s),
        OptionValue::Int(i) => Ok(i.to_string()),
        OptionValue::Double(d) => Ok(d.to_string()),
        OptionValue::Bytes(_) => Err(invalid(format!("option {key} takes text, not bytes"))),
        _ => Err(invalid(format!("option {key}: unsupported value kind"))),
    }
}

fn not_found(key: &str) -> Error {
    Error::with_message_and_status(format!("option {key} is not set or not readable"), Status::NotFound)
}

/// The ADBC driver (`AdbcDriverAthenaInit`).
#[derive(Debug, Default)]
pub struct AthenaDriver;

impl adbc_core::Driver for AthenaDriver {
    type DatabaseType = AthenaDatabase;

    fn new_database(&mut self) -> Result<AthenaDatabase> {
        Ok(AthenaDatabase::default())
    }

    fn new_database_with_opts(&mut self, opts: impl IntoIterator<Item = (OptionDatabase, OptionValue)>) -> Result<AthenaDatabase> {
        let mut db = AthenaDatabase::default();
        for (k, v) in opts {
            db.set_option(k, v)?;
        }
        Ok(db)
    }
}

/// Settings given before connecting (short keys, see [`options::KEYS`]).
#[derive(Debug, Default, Clone)]
pub struct AthenaDatabase {
    options: BTreeMap<String, String>,
}

impl Optionable for AthenaDatabase {
    type Option = OptionDatabase;

    fn set_option(&mut self, key: OptionDatabase, value: OptionValue) -> Result<()> {
        let name = key.as_ref().to_owned();
        let value = text(&name, value)?;
        match known(&name) {
            Some("uri") => self.options.extend(options::parse_uri(&value)?),
            Some(short) => {
                self.options.insert(short.to_owned(), value);
            }
            None => return Err(unknown(&name)),
        }
        Ok(())
    }

    fn get_option_string(&self, key: OptionDatabase) -> Result<String> {
        let name = key.as_ref().to_owned();
        match known(&name) {
            Some("secret_access_key" | "session_token") | None => Err(not_found(&name)),
            Some(short) => self.options.get(short).cloned().ok_or_else(|| not_found(&name)),
        }
    }

    fn get_option_bytes(&self, key: OptionDatabase) -> Result<Vec<u8>> {
        Err(not_found(key.as_ref()))
    }

    fn get_option_int(&self, key: OptionDatabase) -> Result<i64> {
        self.get_option_string(key.clone())?.parse().map_err(|_| not_found(key.as_ref()))
    }

    fn get_option_double(&self, key: OptionDatabase) -> Result<f64> {
        self.get_option_string(key.clone())?.parse().map_err(|_| not_found(key.as_ref()))
    }
}

impl adbc_core::Database for AthenaDatabase {
    type ConnectionType = AthenaConnection;

    fn new_connection(&self) -> Result<AthenaConnection> {
        self.new_connection_with_opts(std::iter::empty())
    }

    fn new_connection_with_opts(&self, opts: impl IntoIterator<Item = (OptionConnection, OptionValue)>) -> Result<AthenaConnection> {
        let builder = options::builder(&self.options)?;
        let conn = block_on(builder.clone().build()).map_err(from_athena)?;
        let mut c = AthenaConnection { builder, conn, options: self.options.clone() };
        for (k, v) in opts {
            c.set_option(k, v)?;
        }
        Ok(c)
    }
}

/// An open connection.
pub struct AthenaConnection {
    builder: ConnectionBuilder,
    conn: athena_arrow::Connection,
    options: BTreeMap<String, String>,
}

impl AthenaConnection {
    /// Rebuilds the connection after its default catalog or schema changed.
    fn rebuild(&mut self, builder: ConnectionBuilder) -> Result<()> {
        self.conn = block_on(builder.clone().build()).map_err(from_athena)?;
        self.builder = builder;
        Ok(())
    }

    fn catalog(&self) -> String {
        self.options.get("catalog").cloned().unwrap_or_else(|| "awsdatacatalog".into())
    }

    fn schema(&self) -> String {
        self.options.get("schema").cloned().unwrap_or_else(|| "default".into())
    }
}

impl Optionable for AthenaConnection {
    type Option = OptionConnection;

    fn set_option(&mut self, key: OptionConnection, value: OptionValue) -> Result<()> {
        let name = key.as_ref().to_owned();
        let value = text(&name, value)?;
        match key {
            OptionConnection::AutoCommit => {
                if !boolean(&name, &value)? {
                    return Err(not_implemented("Athena has no transactions: autocommit cannot be turned off"));
                }
            }
            OptionConnection::ReadOnly => {}
            OptionConnection::CurrentCatalog => {
                let b = self.builder.clone().with_catalog(&value);
                self.rebuild(b)?;
                self.options.insert("catalog".into(), value);
            }
            OptionConnection::CurrentSchema => {
                let b = self.builder.clone().with_schema(&value);
                self.rebuild(b)?;
                self.options.insert("schema".into(), value);
            }
            _ => return Err(unknown(&name)),
        }
        Ok(())
    }

    fn get_option_string(&self, key: OptionConnection) -> Result<String> {
        match key {
            OptionConnection::AutoCommit => Ok("true".into()),
            OptionConnection::CurrentCatalog => Ok(self.catalog()),
            OptionConnection::CurrentSchema => Ok(self.schema()),
            other => Err(not_found(other.as_ref())),
        }
    }

    fn get_option_bytes(&self, key: OptionConnection) -> Result<Vec<u8>> {
        Err(not_found(key.as_ref()))
    }

    fn get_option_int(&self, key: OptionConnection) -> Result<i64> {
        Err(not_found(key.as_ref()))
    }

    fn get_option_double(&self, key: OptionConnection) -> Result<f64> {
        Err(not_found(key.as_ref()))
    }
}

type Reader = Box<dyn RecordBatchReader + Send + 'static>;

impl adbc_core::Connection for AthenaConnection {
    type StatementType = AthenaStatement;

    fn new_statement(&mut self) -> Result<AthenaStatement> {
        Ok(AthenaStatement::new(self.conn.clone()))
    }

    /// The connection's own calls (catalog listings, schemas, partitions opened) are single API
    /// round trips with the SDK's timeouts: nothing is left to stop. Queries are cancelled
    /// through their statement.
    fn cancel(&mut self) -> Result<()> {
        Ok(())
    }

    fn get_info(&self, codes: Option<HashSet<InfoCode>>) -> Result<Reader> {
        Ok(Box::new(objects::info(codes)?))
    }

    fn get_objects(
        &self,
        depth: ObjectDepth,
        catalog: Option<&str>,
        db_schema: Option<&str>,
        table_name: Option<&str>,
        table_type: Option<Vec<&str>>,
        column_name: Option<&str>,
    ) -> Result<Reader> {
        let filter = objects::Filter { catalog, db_schema, table_name, table_type, column_name };
        Ok(Box::new(block_on(objects::objects(&self.conn, depth, &filter))?))
    }

    fn get_table_schema(&self, catalog: Option<&str>, db_schema: Option<&str>, table_name: &str) -> Result<Schema> {
        let (catalog, schema) =
            (catalog.map_or_else(|| self.catalog(), str::to_owned), db_schema.map_or_else(|| self.schema(), str::to_owned));
        let s = block_on(self.conn.table_schema_in(&catalog, &schema, table_name)).map_err(from_athena)?;
        Ok(s.as_ref().clone())
    }

    fn get_table_types(&self) -> Result<Reader> {
        Ok(Box::new(objects::table_types()?))
    }

    fn get_statistic_names(&self) -> Result<Reader> {
        Err(not_implemented("Athena gives no table statistics through this driver"))
    }

    fn get_statistics(&self, _: Option<&str>, _: Option<&str>, _: Option<&str>, _: bool) -> Result<Reader> {
        Err(not_implemented("Athena gives no table statistics through this driver"))
    }

    fn commit(&mut self) -> Result<()> {
        Err(not_implemented("Athena has no transactions: nothing to commit"))
    }

    fn rollback(&mut self) -> Result<()> {
        Err(not_implemented("Athena has no transactions: nothing to roll back"))
    }

    fn read_partition(&self, partition: impl AsRef<[u8]>) -> Result<Reader> {
        let stream = block_on(self.conn.read_partition_bytes(partition.as_ref())).map_err(from_athena)?;
        Ok(Box::new(StreamReader::new(stream)))
    }
}

/// A library stream as a blocking Arrow reader (each `next` waits for one batch).
pub struct StreamReader {
    schema: SchemaRef,
    stream: Option<RecordBatchStream>,
}

impl StreamReader {
    pub fn new(stream: RecordBatchStream) -> Self {
        Self { schema: stream.schema().clone(), stream: Some(stream) }
    }
}

impl Iterator for StreamReader {
    type Item = std::result::Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        let stream = self.stream.as_mut()?;
        match block_on(stream.next()) {
            Some(Ok(batch)) => Some(Ok(batch)),
            Some(Err(e)) => {
                self.stream = None;
                Some(Err(ArrowError::ExternalError(Box::new(e))))
            }
            None => {
                self.stream = None;
                None
            }
        }
    }
}

impl RecordBatchReader for StreamReader {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}

/// What a statement's `cancel` can stop. ADBC's cancel stops the execution in progress; with
/// none, it does nothing (no flag is left to stop a later query).
#[derive(Default)]
enum Running {
    #[default]
    Idle,
    /// StartQueryExecution is in flight: a cancel now is carried out once the query has an id.
    Submitting {
        cancel_requested: bool,
    },
    Query(CancelHandle),
}

#[derive(Default)]
struct Cancel(Mutex<Running>);

/// One query at a time.
pub struct AthenaStatement {
    conn: athena_arrow::Connection,
    sql: Option<String>,
    /// Rows of bound parameters (qmark), each a list of values.
    bound: Vec<Vec<Param>>,
    unload: Option<bool>,
    result_reuse: Option<Duration>,
    timeout: Option<Duration>,
    last_query_id: Option<String>,
    cancel: Arc<Cancel>,
}

/// Statement option keys (after [`PREFIX`]).
const STATEMENT_UNLOAD: &str = "unload";
const STATEMENT_REUSE: &str = "result_reuse_minutes";
const STATEMENT_TIMEOUT: &str = "query_timeout_seconds";
const STATEMENT_QUERY_ID: &str = "last_query_id";

impl AthenaStatement {
    /// A handle that cancels this statement's query from another thread.
    pub fn canceller(&self) -> StatementCanceller {
        StatementCanceller(self.cancel.clone())
    }

    fn new(conn: athena_arrow::Connection) -> Self {
        Self {
            conn,
            sql: None,
            bound: Vec::new(),
            unload: None,
            result_reuse: None,
            timeout: None,
            last_query_id: None,
            cancel: Arc::default(),
        }
    }

    fn sql(&self) -> Result<String> {
        self.sql.clone().ok_or_else(|| Error::with_message_and_status("no SQL set on the statement", Status::InvalidState))
    }

    fn query(&self, params: Option<&[Param]>) -> Result<Query> {
        self.query_for(self.sql()?, params)
    }

    /// `sql` with the statement's parameters and options.
    fn query_for(&self, sql: String, params: Option<&[Param]>) -> Result<Query> {
        let mut q = self.conn.query(sql);
        if let Some(params) = params {
            q = q.paramstyle(ParamStyle::Qmark);
            for p in params {
                q = q.bind(p.clone());
            }
        }
        if let Some(u) = self.unload {
            q = q.unload(u);
        }
        if let Some(age) = self.result_reuse {
            q = if age.is_zero() { q.no_result_reuse() } else { q.result_reuse(age) };
        }
        if let Some(t) = self.timeout {
            q = q.timeout(t);
        }
        Ok(q)
    }

    /// The one row of parameters `execute` runs with (none bound: none).
    fn single_row(&self) -> Result<Option<&[Param]>> {
        match self.bound.as_slice() {
            [] => Ok(None),
            [row] => Ok(Some(row)),
            rows => {
                Err(invalid(format!("{} rows of parameters are bound; a query runs with one (use execute_update for many)", rows.len())))
            }
        }
    }

    /// Starts `query` and waits for it, stoppable by [`cancel`](adbc_core::Statement::cancel).
    async fn run<T>(&mut self, query: Query, wait: impl AsyncFnOnce(athena_arrow::QueryHandle) -> athena_arrow::Result<T>) -> Result<T> {
        self.cancel.set(Running::Submitting { cancel_requested: false });
        let out = self.submit_and_wait(query, wait).await;
        self.cancel.set(Running::Idle);
        out.map_err(from_athena)
    }

    async fn submit_and_wait<T>(
        &mut self,
        query: Query,
        wait: impl AsyncFnOnce(athena_arrow::QueryHandle) -> athena_arrow::Result<T>,
    ) -> athena_arrow::Result<T> {
        let handle = query.submit().await?;
        self.last_query_id = Some(handle.query_id().to_owned());
        let requested = {
            let mut running = self.cancel.0.lock().expect("cancel lock");
            let requested = matches!(*running, Running::Submitting { cancel_requested: true });
            *running = Running::Query(handle.cancel_handle());
            requested
        };
        if requested {
            // The cancel came while the query was being submitted; waiting then reports CANCELLED.
            handle.cancel().await?;
        }
        wait(handle).await
    }
}

impl Optionable for AthenaStatement {
    type Option = OptionStatement;

    fn set_option(&mut self, key: OptionStatement, value: OptionValue) -> Result<()> {
        let name = key.as_ref().to_owned();
        let value = text(&name, value)?;
        let short = name.strip_prefix(PREFIX).unwrap_or(&name);
        let number = |v: &str| v.trim().parse::<f64>().ok().filter(|n| n.is_finite() && *n >= 0.0);
        match short {
            STATEMENT_UNLOAD => self.unload = Some(boolean(&name, &value)?),
            STATEMENT_REUSE => {
                let minutes = number(&value).ok_or_else(|| invalid(format!("{name} must be a number of minutes")))?;
                self.result_reuse = Some(Duration::from_secs_f64(minutes * 60.0));
            }
            STATEMENT_TIMEOUT => {
                let secs = number(&value).ok_or_else(|| invalid(format!("{name} must be a number of seconds")))?;
                self.timeout = Some(Duration::from_secs_f64(secs));
            }
            _ => return Err(unknown(&name)),
        }
        Ok(())
    }

    fn get_option_string(&self, key: OptionStatement) -> Result<String> {
        let name = key.as_ref().to_owned();
        match name.strip_prefix(PREFIX).unwrap_or(&name) {
            STATEMENT_QUERY_ID => self.last_query_id.clone().ok_or_else(|| not_found(&name)),
            STATEMENT_UNLOAD => self.unload.map(|u| u.to_string()).ok_or_else(|| not_found(&name)),
            _ => Err(not_found(&name)),
        }
    }

    fn get_option_bytes(&self, key: OptionStatement) -> Result<Vec<u8>> {
        Err(not_found(key.as_ref()))
    }

    fn get_option_int(&self, key: OptionStatement) -> Result<i64> {
        Err(not_found(key.as_ref()))
    }

    fn get_option_double(&self, key: OptionStatement) -> Result<f64> {
        Err(not_found(key.as_ref()))
    }
}

impl adbc_core::Statement for AthenaStatement {
    fn bind(&mut self, batch: RecordBatch) -> Result<()> {
        self.bound = crate::params::rows(&batch)?;
        Ok(())
    }

    fn bind_stream(&mut self, reader: Box<dyn RecordBatchReader + Send>) -> Result<()> {
        let mut rows = Vec::new();
        for batch in reader {
            rows.extend(crate::params::rows(&batch?)?);
        }
        self.bound = rows;
        Ok(())
    }

    fn execute(&mut self) -> Result<Reader> {
        let query = self.query(self.single_row()?)?;
        let result = block_on(self.run(query, async |h| h.wait().await))?;
        Ok(Box::new(StreamReader::new(result.into_stream())))
    }

    fn execute_update(&mut self) -> Result<Option<i64>> {
        let rows: Vec<Option<Vec<Param>>> = if self.bound.is_empty() { vec![None] } else { self.bound.iter().cloned().map(Some).collect() };
        let mut total: Option<i64> = None;
        for params in rows {
            let query = self.query(params.as_deref())?;
            let result = block_on(self.run(query, async |h| h.wait().await))?;
            if let Some(n) = result.rowcount() {
                total = Some(total.unwrap_or(0) + n);
            }
        }
        Ok(total)
    }

    fn execute_schema(&mut self) -> Result<Schema> {
        // The query's columns without its rows: Athena plans a LIMIT 0 of it (a SELECT only).
        let sql = self.sql()?;
        let probe = format!("SELECT * FROM ({}) LIMIT 0", sql.trim().trim_end_matches(';'));
        let query = self.query_for(probe, self.single_row()?)?.unload(false);
        let result = block_on(self.run(query, async |h| h.wait().await))?;
        Ok(result.schema().as_ref().clone())
    }

    fn execute_partitions(&mut self) -> Result<PartitionedResult> {
        let query = self.query(self.single_row()?)?;
        let parts = block_on(self.run(query, async |h| h.wait_partitions().await))?;
        Ok(PartitionedResult {
            partitions: parts.partitions.iter().map(|p| p.to_bytes()).collect(),
            schema: parts.schema.as_ref().clone(),
            rows_affected: -1,
        })
    }

    fn get_parameter_schema(&self) -> Result<Schema> {
        Err(not_implemented("Athena does not describe a query's parameters before it runs"))
    }

    fn prepare(&mut self) -> Result<()> {
        self.sql().map(|_| ())
    }

    fn set_sql_query(&mut self, query: impl AsRef<str>) -> Result<()> {
        self.sql = Some(query.as_ref().to_owned());
        Ok(())
    }

    fn set_substrait_plan(&mut self, _: impl AsRef<[u8]>) -> Result<()> {
        Err(not_implemented("Athena takes SQL, not Substrait plans"))
    }

    fn cancel(&mut self) -> Result<()> {
        self.cancel.cancel()
    }
}

/// Cancels a statement's query from another thread, for Rust callers of the driver (through the
/// C interface, `AdbcStatementCancel` does the same).
#[derive(Clone)]
pub struct StatementCanceller(Arc<Cancel>);

impl StatementCanceller {
    /// Stops the statement's query in flight (StopQueryExecution); does nothing when none runs.
    pub fn cancel(&self) -> Result<()> {
        self.0.cancel()
    }
}

impl Cancel {
    fn set(&self, running: Running) {
        *self.0.lock().expect("cancel lock") = running;
    }

    fn cancel(&self) -> Result<()> {
        let handle = {
            let mut running = self.0.lock().expect("cancel lock");
            match &mut *running {
                Running::Idle => None,
                Running::Submitting { cancel_requested } => {
                    *cancel_requested = true;
                    None
                }
                Running::Query(h) => Some(h.clone()),
            }
        };
        if let Some(h) = handle {
            block_on(h.cancel()).map_err(from_athena)?;
        }
        Ok(())
    }
}
