//! ADBC statements: SQL with qmark parameters (each bound row one query), per-statement options
//! of the library's table of settings, results streamed batch by batch as the library yields
//! them, and a cancel that stops the query in flight from any thread.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use adbc_core::error::{Error, Result, Status};
use adbc_core::options::{OptionStatement, OptionValue};
use adbc_core::{Optionable, PartitionedResult};
use arrow::array::{RecordBatch, RecordBatchReader};
use arrow::datatypes::{Schema, SchemaRef};
use arrow::error::ArrowError;
use athena_arrow::{CancelHandle, Param, ParamStyle, Query, RecordBatchStream};
use futures::StreamExt;

use crate::error::{from_athena, not_implemented};
use crate::options::{LAST_QUERY_ID, PREFIX, SetOption, invalid, not_found, text, unknown};
use crate::runtime::block_on;
use athena_arrow::config::options::find;

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

/// The results of several queries (one per bound row) read one after the other.
struct Concatenated {
    schema: SchemaRef,
    results: VecDeque<StreamReader>,
}

impl Iterator for Concatenated {
    type Item = std::result::Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let batch = self.results.front_mut()?.next();
            match batch {
                Some(b) => return Some(b),
                None => {
                    self.results.pop_front();
                }
            }
        }
    }
}

impl RecordBatchReader for Concatenated {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}

/// A reader of a result, as ADBC hands it over.
pub(crate) type Reader = Box<dyn RecordBatchReader + Send + 'static>;

/// ADBC's answer to `execute_partitions`.
pub(crate) fn partitioned(parts: athena_arrow::Partitions) -> PartitionedResult {
    PartitionedResult {
        partitions: parts.partitions.iter().map(|p| p.to_bytes()).collect(),
        schema: parts.schema.as_ref().clone(),
        rows_affected: -1,
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

/// The statement's query in flight, and how a cancel ends its wait: by stopping the query
/// (`kill_on_interrupt`, the default), or by leaving it running and waking the waiting call.
#[derive(Default)]
struct Cancel {
    running: Mutex<Running>,
    /// Wakes the waiting call when the query is left running.
    left: tokio::sync::Notify,
    /// Whether a cancel stops the query (StopQueryExecution) or leaves it running.
    kill: bool,
}

/// One query at a time.
pub struct AthenaStatement {
    conn: athena_arrow::Connection,
    sql: Option<String>,
    /// Rows of bound parameters (qmark), each a list of values; cleared by a new SQL text.
    bound: Vec<Vec<Param>>,
    /// Per-query settings (short keys of the library's table, checked when set).
    options: BTreeMap<String, SetOption>,
    last_query_id: Option<String>,
    cancel: Arc<Cancel>,
}

impl AthenaStatement {
    /// A handle that cancels this statement's query from another thread.
    pub fn canceller(&self) -> StatementCanceller {
        StatementCanceller(self.cancel.clone())
    }

    pub(crate) fn new(conn: athena_arrow::Connection) -> Self {
        let cancel = Arc::new(Cancel { kill: conn.kills_on_interrupt(), ..Cancel::default() });
        Self { conn, sql: None, bound: Vec::new(), options: BTreeMap::new(), last_query_id: None, cancel }
    }

    fn sql(&self) -> Result<String> {
        self.sql.clone().ok_or_else(|| Error::with_message_and_status("no SQL set on the statement", Status::InvalidState))
    }

    /// The statement's SQL with `params` and the statement's options.
    fn query(&self, params: Option<&[Param]>) -> Result<Query> {
        let mut q = self.conn.query(self.sql()?);
        if let Some(params) = params {
            q = q.paramstyle(ParamStyle::Qmark);
            for p in params {
                q = q.bind(p.clone());
            }
        }
        Ok(self.options.values().fold(q, |q, o| q.parsed_option(o.value.clone())))
    }

    /// The rows of parameters to run the statement with: each bound row, or none.
    fn rows(&self) -> Vec<Option<&[Param]>> {
        if self.bound.is_empty() { vec![None] } else { self.bound.iter().map(|r| Some(r.as_slice())).collect() }
    }

    /// The one row of parameters a single query runs with (none bound: none).
    fn single_row(&self, what: &str) -> Result<Option<&[Param]>> {
        match self.bound.as_slice() {
            [] => Ok(None),
            [row] => Ok(Some(row)),
            rows => Err(invalid(format!("{} rows of parameters are bound; {what} runs with one", rows.len()))),
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
            let mut running = self.cancel.running.lock().expect("cancel lock");
            let requested = matches!(*running, Running::Submitting { cancel_requested: true });
            *running = Running::Query(handle.cancel_handle());
            requested
        };
        if !self.cancel.kill {
            // kill_on_interrupt off: a cancel ends the wait and leaves the query running.
            let query_id = handle.query_id().to_owned();
            let left = athena_arrow::Error::Cancelled {
                query_id: query_id.clone(),
                reason: format!("the wait was cancelled; query {query_id} was left running on Athena (kill_on_interrupt is off)"),
            };
            if requested {
                handle.detach();
                return Err(left);
            }
            let leave = self.cancel.left.notified();
            return tokio::select! {
                out = wait(handle) => out,
                () = leave => Err(left),
            };
        }
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
        let Some(short) = name.strip_prefix(PREFIX).filter(|short| find(short).is_some()) else { return Err(unknown(&name)) };
        let value = text(&name, value)?;
        let option = SetOption::new(short, value)?;
        if !option.setting().per_query {
            return Err(invalid(format!("{name} is a database option: set it on the database (it applies to the whole connection)")));
        }
        self.options.insert(option.setting().key.to_owned(), option);
        Ok(())
    }

    fn get_option_string(&self, key: OptionStatement) -> Result<String> {
        let name = key.as_ref().to_owned();
        match name.strip_prefix(PREFIX) {
            Some(LAST_QUERY_ID) => self.last_query_id.clone().ok_or_else(|| not_found(&name)),
            Some(short) => self.options.get(short).map(|o| o.text.clone()).ok_or_else(|| not_found(&name)),
            None => Err(not_found(&name)),
        }
    }

    fn get_option_bytes(&self, key: OptionStatement) -> Result<Vec<u8>> {
        Err(not_found(key.as_ref()))
    }

    fn get_option_int(&self, key: OptionStatement) -> Result<i64> {
        self.get_option_string(key.clone())?.trim().parse().map_err(|_| not_found(key.as_ref()))
    }

    fn get_option_double(&self, key: OptionStatement) -> Result<f64> {
        self.get_option_string(key.clone())?.trim().parse().map_err(|_| not_found(key.as_ref()))
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

    /// One query per bound row (or one without parameters); several results are read one
    /// after the other, as one result.
    fn execute(&mut self) -> Result<Reader> {
        let queries = self.rows().into_iter().map(|row| self.query(row)).collect::<Result<Vec<_>>>()?;
        let mut results = VecDeque::with_capacity(queries.len());
        for query in queries {
            let result = block_on(self.run(query, async |h| h.wait().await))?;
            results.push_back(StreamReader::new(result.into_stream()));
        }
        if results.len() == 1 {
            return Ok(Box::new(results.pop_front().expect("one result")));
        }
        let schema = results[0].schema();
        if let Some(other) = results.iter().find(|r| r.schema().fields() != schema.fields()) {
            return Err(Error::with_message_and_status(
                format!("the bound rows' queries gave results of different columns: {schema:?} and {:?}", other.schema()),
                Status::InvalidState,
            ));
        }
        Ok(Box::new(Concatenated { schema, results }))
    }

    fn execute_update(&mut self) -> Result<Option<i64>> {
        let queries = self.rows().into_iter().map(|row| self.query(row)).collect::<Result<Vec<_>>>()?;
        let mut total: Option<i64> = None;
        for query in queries {
            let result = block_on(self.run(query, async |h| h.wait().await))?;
            if let Some(n) = result.rowcount() {
                total = Some(total.unwrap_or(0) + n);
            }
        }
        Ok(total)
    }

    /// The columns of the statement's query without computing its rows (the library's `LIMIT 0`
    /// probe, which keeps the query's own lines so that a trailing comment ends where it began).
    fn execute_schema(&mut self) -> Result<Schema> {
        let query = self.query(self.single_row("execute_schema")?)?;
        let schema = block_on(query.execute_schema()).map_err(from_athena)?;
        Ok(schema.as_ref().clone())
    }

    fn execute_partitions(&mut self) -> Result<PartitionedResult> {
        let query = self.query(self.single_row("execute_partitions")?)?;
        Ok(partitioned(block_on(self.run(query, async |h| h.wait_partitions().await))?))
    }

    fn get_parameter_schema(&self) -> Result<Schema> {
        Err(not_implemented("Athena does not describe a query's parameters before it runs"))
    }

    fn prepare(&mut self) -> Result<()> {
        self.sql().map(|_| ())
    }

    /// A new SQL text; parameters bound for the previous one are dropped with it.
    fn set_sql_query(&mut self, query: impl AsRef<str>) -> Result<()> {
        self.sql = Some(query.as_ref().to_owned());
        self.bound.clear();
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
        *self.running.lock().expect("cancel lock") = running;
    }

    fn cancel(&self) -> Result<()> {
        let handle = {
            let mut running = self.running.lock().expect("cancel lock");
            match &mut *running {
                Running::Idle => None,
                Running::Submitting { cancel_requested } => {
                    *cancel_requested = true;
                    None
                }
                Running::Query(h) => Some(h.clone()),
            }
        };
        match handle {
            Some(_) if !self.kill => self.left.notify_one(),
            Some(h) => block_on(h.cancel()).map_err(from_athena)?,
            None => {}
        }
        Ok(())
    }
}
