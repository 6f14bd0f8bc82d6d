//! Query: one query with its per-execute overrides (PyAthena's `execute(...)` keyword arguments),
//! its parameters ([`params`]), the client-side cache, UNLOAD wrapping, and starting, polling and
//! cancelling it (`execute`). Its results are opened by [`crate::results`].

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_athena::types::{QueryExecutionContext, ResultConfiguration, ResultReuseByAgeConfiguration, ResultReuseConfiguration};

pub(crate) mod cache;
pub(crate) mod copy;
pub(crate) mod engine;
pub(crate) mod execute;
pub mod params;
pub(crate) mod unload;

use crate::config::compression::UnloadCompression;
use crate::config::engine::Engine;
use crate::config::{CacheConfig, OnStart, check_reuse};
use crate::connection::Connection;
use crate::decode::schema::ColumnInfo;
use crate::error::{Error, Result};
use crate::query::copy::copy_sql;
use crate::query::engine::{EnginePlan, engine_plan, with_engine_version};
use crate::query::execute::{Fallback, QueryHandle};
use crate::query::params::{Param, ParamStyle, format_pyformat_as, qmark_literals};
use crate::query::unload::UnloadPlan;
use crate::results::ResultSet;
use crate::results::unload::UnloadColumns;

impl Connection {
    /// A query with per-execute options; run it with [`Query::execute`] or [`Query::submit`].
    pub fn query(&self, sql: impl Into<String>) -> Query {
        Query::new(self.clone(), sql)
    }

    /// Runs `sql` with the connection's settings and waits for its results.
    ///
    /// # Errors
    /// As [`Query::execute`].
    pub async fn execute(&self, sql: impl Into<String>) -> Result<ResultSet> {
        self.query(sql).execute().await
    }
}

/// A query to run, built from [`Connection::query`]. Every setter overrides the connection's
/// setting for this query only.
///
/// ```no_run
/// # async fn run(conn: athena_arrow::Connection) -> athena_arrow::Result<()> {
/// let mut result = conn
///     .query("SELECT col_string FROM one_row_complex WHERE col_string = %(s)s")
///     .param("s", "a string")
///     .execute()
///     .await?;
/// let rows = result.fetch_all().await?;
/// # Ok(()) }
/// ```
#[must_use = "a query does nothing until executed or submitted"]
#[derive(Clone)]
pub struct Query {
    conn: Connection,
    sql: String,
    named: Vec<(String, Param)>,
    positional: Vec<Param>,
    paramstyle: Option<ParamStyle>,
    work_group: Option<String>,
    s3_staging_dir: Option<String>,
    result_reuse: Option<Option<Duration>>,
    cache: Option<CacheConfig>,
    on_start: Option<OnStart>,
    timeout: Option<Duration>,
    cancel_on_drop: Option<bool>,
    hints: HashMap<String, String>,
    unload: Option<bool>,
    unload_compression: Option<UnloadCompression>,
    engine: Option<Engine>,
    pub(crate) errors: Vec<String>,
}

impl fmt::Debug for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Query")
            .field("sql", &self.sql)
            .field("named", &self.named)
            .field("positional", &self.positional)
            .field("paramstyle", &self.paramstyle)
            .field("work_group", &self.work_group)
            .field("s3_staging_dir", &self.s3_staging_dir)
            .field("result_reuse", &self.result_reuse)
            .field("cache", &self.cache)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// What StartQueryExecution is sent, after parameters were applied.
pub(crate) struct Prepared {
    pub sql: String,
    pub execution_parameters: Option<Vec<String>>,
}

impl Query {
    pub(crate) fn new(conn: Connection, sql: impl Into<String>) -> Self {
        Self {
            conn,
            sql: sql.into(),
            named: Vec::new(),
            positional: Vec::new(),
            paramstyle: None,
            work_group: None,
            s3_staging_dir: None,
            result_reuse: None,
            cache: None,
            on_start: None,
            timeout: None,
            cancel_on_drop: None,
            hints: HashMap::new(),
            unload: None,
            unload_compression: None,
            engine: None,
            errors: Vec::new(),
        }
    }

    /// A named parameter for a `%(name)s` placeholder (pyformat).
    pub fn param(mut self, name: impl Into<String>, value: impl Into<Param>) -> Self {
        self.named.push((name.into(), value.into()));
        self
    }

    /// Several named parameters.
    pub fn params<K: Into<String>, V: Into<Param>>(mut self, params: impl IntoIterator<Item = (K, V)>) -> Self {
        self.named.extend(params.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// The next positional parameter for a `?` placeholder (qmark): sent to Athena as
    /// ExecutionParameters, rendered as a SQL literal (use [`Param::Literal`] for verbatim SQL).
    pub fn bind(mut self, value: impl Into<Param>) -> Self {
        self.positional.push(value.into());
        self
    }

    /// Parameter style of this query (default: the connection's).
    pub fn paramstyle(mut self, style: ParamStyle) -> Self {
        self.paramstyle = Some(style);
        self
    }

    pub fn work_group(mut self, work_group: impl Into<String>) -> Self {
        self.work_group = Some(work_group.into());
        self
    }

    pub fn s3_staging_dir(mut self, uri: impl Into<String>) -> Self {
        self.s3_staging_dir = Some(uri.into());
        self
    }

    /// Athena result reuse for this query, up to `max_age` old (whole minutes).
    pub fn result_reuse(mut self, max_age: Duration) -> Self {
        if let Some(e) = check_reuse(max_age) {
            self.errors.push(e);
        }
        self.result_reuse = Some(Some(max_age));
        self
    }

    /// No result reuse for this query, whatever the connection says.
    pub fn no_result_reuse(mut self) -> Self {
        self.result_reuse = Some(None);
        self
    }

    /// Client-side cache for this query (PyAthena's `cache_size` / `cache_expiration_time`).
    pub fn cache(mut self, cache: CacheConfig) -> Self {
        self.cache = Some(cache);
        self
    }

    /// Called with the query id once the query started, after the connection's callback.
    pub fn on_start_query_execution(mut self, callback: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.on_start = Some(Arc::new(callback));
        self
    }

    /// Longest this query may run; it is then stopped and [`Error::Timeout`] returned.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Whether dropping the waiting future or handle stops the query (default: the connection's).
    pub fn cancel_on_drop(mut self, cancel: bool) -> Self {
        self.cancel_on_drop = Some(cancel);
        self
    }

    /// The connection the query runs on.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The query's SQL, as written (before parameters are bound).
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// Reads this query's results through UNLOAD to Parquet (default: the connection's setting).
    /// Only SELECT and WITH queries are wrapped; see [`crate::ConnectionBuilder::with_unload`].
    pub fn unload(mut self, unload: bool) -> Self {
        self.unload = Some(unload);
        self
    }

    /// The engine this query runs on (`EngineVersion`), whatever its workgroup runs (default:
    /// the connection's [`crate::ConnectionBuilder::with_engine`], else the workgroup's).
    pub fn engine(mut self, engine: Engine) -> Self {
        self.engine = Some(engine);
        self
    }

    /// Compression of this query's UNLOAD files (default: the connection's).
    pub fn unload_compression(mut self, compression: UnloadCompression) -> Self {
        self.unload_compression = Some(compression);
        self
    }

    /// Types the result column `column` by `type_name` with its element types
    /// (`array(integer)`, `map<string,int>`, `row(a integer, b varchar)`): Athena's column
    /// metadata names nested types without them, so such columns are otherwise text.
    /// [`Connection::table_type_hints`] gives the hints of a table's columns.
    pub fn type_hint(mut self, column: impl Into<String>, type_name: impl Into<String>) -> Self {
        self.hints.insert(column.into(), type_name.into());
        self
    }

    /// Several type hints (see [`type_hint`](Self::type_hint)).
    pub fn type_hints(mut self, hints: impl IntoIterator<Item = (String, String)>) -> Self {
        self.hints.extend(hints);
        self
    }

    /// The SQL and ExecutionParameters this query sends, with the engine it runs on.
    pub(crate) async fn prepare(&self) -> Result<(Prepared, EnginePlan)> {
        if !self.errors.is_empty() {
            return Err(Error::config(self.errors.join("; ")));
        }
        let settings = self.conn.settings();
        let plan =
            engine_plan(&self.conn, self.engine.or(settings.engine), self.work_group.as_deref().or(settings.work_group.as_deref())).await?;
        let staging = self.s3_staging_dir.is_some() || settings.s3_staging_dir.is_some();
        let reuse = self.result_reuse.unwrap_or(settings.result_reuse).is_some();
        plan.check(reuse, self.unload.unwrap_or(settings.unload), staging)?;
        Ok((self.prepare_for(&plan)?, plan))
    }

    /// The SQL and ExecutionParameters this query sends to `plan`'s engine.
    fn prepare_for(&self, plan: &EnginePlan) -> Result<Prepared> {
        let escape = plan.escape(&self.sql);
        let style = self.paramstyle.unwrap_or(self.conn.settings().paramstyle);
        match style {
            ParamStyle::PyFormat => {
                if !self.positional.is_empty() {
                    return Err(Error::parameter("positional parameters (bind) need paramstyle qmark"));
                }
                // As PyAthena: without parameters the text is sent unchanged, `%` included.
                let sql = if self.named.is_empty() { self.sql.clone() } else { format_pyformat_as(&self.sql, &self.named, escape)? };
                Ok(Prepared { sql, execution_parameters: None })
            }
            ParamStyle::Qmark => {
                if !self.named.is_empty() {
                    return Err(Error::parameter("named parameters (param) need paramstyle pyformat"));
                }
                let params = if self.positional.is_empty() { None } else { Some(qmark_literals(&self.positional, escape)?) };
                Ok(Prepared { sql: self.sql.clone(), execution_parameters: params })
            }
        }
    }

    /// Runs the query and waits for it: start, callbacks, poll, then the results.
    ///
    /// With a client-side cache configured, an earlier identical execution may be returned
    /// instead (no query is started and no callback is called).
    ///
    /// # Errors
    /// [`Error::Parameter`], [`Error::Api`] (e.g. `MALFORMED_QUERY`), [`Error::QueryFailed`],
    /// [`Error::Cancelled`], [`Error::Timeout`], [`Error::Config`] when no result location exists.
    pub async fn execute(self) -> Result<ResultSet> {
        self.execute_until(std::future::pending()).await
    }

    /// As [`execute`](Self::execute), but stops the query and returns [`Error::Cancelled`] when
    /// `interrupt` completes first (the blocking facade passes Ctrl-C).
    pub(crate) async fn execute_until(self, interrupt: impl std::future::Future<Output = ()>) -> Result<ResultSet> {
        let (prepared, plan) = self.prepare().await?;
        let cache = self.cache.unwrap_or(self.conn.settings().cache);
        if cache.enabled() && prepared.execution_parameters.is_none() {
            let settings = self.conn.settings();
            let work_group = self.work_group.as_deref().or(settings.work_group.as_deref());
            match cache::find(self.conn.athena(), &prepared.sql, &settings.schema, &settings.catalog, work_group, cache).await {
                Ok(Some(info)) => return ResultSet::open(self.conn.clone(), info, &self.hints, None).await,
                Ok(None) => {}
                Err(e) => tracing::debug!("client-side cache look-up failed, running the query: {e}"),
            }
        }
        let mut interrupt = std::pin::pin!(interrupt);
        let handle = match self.start_unload(&prepared, &plan, interrupt.as_mut(), self.as_written()).await? {
            Some(handle) => handle,
            None => self.start_with(prepared, None, true, None).await?,
        };
        Self::wait_or_stop(handle, interrupt).await
    }

    /// Starts the UNLOAD that replaces `prepared` when this query is read through UNLOAD (see
    /// [`UnloadPlan`]) and calls the start callbacks for it; `None` to run the query as written
    /// (not a SELECT, or its probe failed: the query itself then reports its own error, with
    /// positions in the user's text).
    ///
    /// The UNLOAD of the query as written starts first and the probe runs while it does: when
    /// the probe's columns need no rewriting (the common case) the UNLOAD costs no extra wait.
    /// Otherwise that UNLOAD is stopped (Athena refuses it anyway) and the rewritten one starts.
    async fn start_unload(
        &self,
        prepared: &Prepared,
        plan: &EnginePlan,
        interrupt: std::pin::Pin<&mut impl std::future::Future<Output = ()>>,
        as_written: Fallback,
    ) -> Result<Option<QueryHandle>> {
        let settings = self.conn.settings();
        if !(self.unload.unwrap_or(settings.unload) && unload::is_select(&prepared.sql)) {
            return Ok(None);
        }
        if plan.engine == Engine::DuckDb {
            // DuckDB has no UNLOAD: its Parquet comes from COPY ... TO (see `copy`).
            return self.start_copy(prepared, plan.workgroup.output_location.as_deref()).await.map(Some);
        }
        let Some(staging) = self.s3_staging_dir.as_ref().or(settings.s3_staging_dir.as_ref()) else {
            return Err(Error::config("unload needs an s3_staging_dir: the data files go to a fresh prefix under it"));
        };
        let unload_sql = |select: &str| Prepared {
            sql: unload::unload_sql(select, staging, self.unload_compression.unwrap_or(settings.unload_compression)),
            execution_parameters: prepared.execution_parameters.clone(),
        };
        let mut direct = match self.start_with(unload_sql(&prepared.sql), None, false, None).await {
            Ok(handle) => handle,
            Err(e) => {
                // Refused at submission (malformed SQL, ...): the query as written says why.
                tracing::debug!("the UNLOAD was refused at submission ({e}); running the query as written");
                return Ok(None);
            }
        };
        let columns = match self.probe_columns(prepared, interrupt).await {
            Ok(columns) => columns,
            Err(e) => {
                stop_quietly(&direct).await;
                if matches!(e, Error::Cancelled { .. } | Error::Timeout { .. }) {
                    return Err(e);
                }
                tracing::debug!("the UNLOAD probe failed ({e}); running the query as written");
                return Ok(None);
            }
        };
        let plan = UnloadPlan::new(&prepared.sql, columns);
        if !plan.columns.rewritten {
            direct.set_unload(plan.columns, Some(as_written));
            self.started(direct.query_id());
            return Ok(Some(direct));
        }
        stop_quietly(&direct).await;
        let select = plan.select.clone();
        Ok(Some(self.start_with(unload_sql(&select), Some(plan.columns), true, Some(as_written)).await?))
    }

    /// The columns of `prepared` (names and Athena types) from a `LIMIT 0` query of it, which
    /// computes no rows. No start callback is called for it.
    async fn probe_columns(
        &self,
        prepared: &Prepared,
        interrupt: std::pin::Pin<&mut impl std::future::Future<Output = ()>>,
    ) -> Result<Vec<ColumnInfo>> {
        let probe = Prepared { sql: unload::probe_sql(&prepared.sql), execution_parameters: prepared.execution_parameters.clone() };
        let handle = self.start_with(probe, None, false, None).await?;
        let cancel = handle.cancel_handle();
        let info = tokio::select! {
            info = handle.wait_info() => info?,
            () = interrupt => {
                cancel.cancel().await?;
                return Err(Error::Cancelled { query_id: cancel.query_id().to_owned(), reason: "interrupted".into() });
            }
        };
        crate::results::result_columns(&self.conn, &info.query_id).await
    }

    /// Waits for `handle` (or for `interrupt`, which stops it) and opens its results.
    async fn wait_or_stop(handle: QueryHandle, interrupt: std::pin::Pin<&mut impl std::future::Future<Output = ()>>) -> Result<ResultSet> {
        let cancel = handle.cancel_handle();
        tokio::select! {
            result = handle.wait() => result,
            () = interrupt => {
                cancel.cancel().await?;
                Err(Error::Cancelled { query_id: cancel.query_id().to_owned(), reason: "interrupted".into() })
            }
        }
    }

    /// The columns of this query's result (names and Arrow types, as its rows would have them)
    /// without computing any row: Athena plans a `LIMIT 0` of it. No start callback is called.
    ///
    /// # Errors
    /// [`Error::ResultMissing`] for a statement that is not a query (only SELECT, WITH, VALUES
    /// and TABLE have result columns), else as [`execute`](Self::execute).
    pub async fn execute_schema(self) -> Result<arrow::datatypes::SchemaRef> {
        let (prepared, _) = self.prepare().await?;
        if let Err(word) = unload::is_query(&prepared.sql) {
            return Err(Error::ResultMissing {
                query_id: None,
                message: format!("{word} statements have no result columns to describe: only queries (SELECT, WITH, VALUES, TABLE) do"),
            });
        }
        let probe = Prepared { sql: unload::probe_sql(&prepared.sql), execution_parameters: prepared.execution_parameters };
        let handle = self.start_with(probe, None, false, None).await?;
        Ok(handle.wait().await?.schema().clone())
    }

    /// Runs the query and lists its result as partitions (see [`QueryHandle::wait_partitions`]):
    /// with [`unload`](Self::unload) one per data file, for many processes or machines to read.
    ///
    /// # Errors
    /// As [`execute`](Self::execute).
    pub async fn execute_partitions(self) -> Result<crate::results::partition::Partitions> {
        self.submit().await?.wait_partitions().await
    }

    /// Starts the query and returns at once with a handle (callbacks are called first).
    ///
    /// # Errors
    /// As [`execute`](Self::execute) for what happens before the query runs.
    ///
    /// With UNLOAD, the columns are probed first (see [`crate::ConnectionBuilder::with_unload`]);
    /// should Athena still refuse the UNLOAD, [`QueryHandle::wait`] runs the query as written.
    pub async fn submit(self) -> Result<QueryHandle> {
        let (prepared, plan) = self.prepare().await?;
        match self.start_unload(&prepared, &plan, std::pin::pin!(std::future::pending()), self.as_written()).await? {
            Some(handle) => Ok(handle),
            None => self.start_with(prepared, None, true, None).await,
        }
    }

    /// Starts the `COPY ... TO` that writes `prepared`'s result as Parquet (UNLOAD on DuckDB,
    /// see [`copy`]); its one file is read as an UNLOAD's data files are.
    async fn start_copy(&self, prepared: &Prepared, workgroup_location: Option<&str>) -> Result<QueryHandle> {
        let settings = self.conn.settings();
        let staging = self.s3_staging_dir.as_deref().or(settings.s3_staging_dir.as_deref()).or(workgroup_location).ok_or_else(|| {
            Error::config(
                "unload on DuckDB needs a result location (s3_staging_dir or the workgroup's): COPY ... TO writes the Parquet file there",
            )
        })?;
        let (sql, file) = copy_sql(&prepared.sql, staging, self.unload_compression.unwrap_or(settings.unload_compression));
        let copy = Prepared { sql, execution_parameters: prepared.execution_parameters.clone() };
        let plan = UnloadColumns { columns: Vec::new(), as_text: Vec::new(), rewritten: false, copied_to: Some(file) };
        self.start_with(copy, Some(Arc::new(plan)), true, None).await
    }

    /// This query as written (without UNLOAD): what runs when Athena refuses its UNLOAD.
    fn as_written(&self) -> Fallback {
        let as_written = self.clone().unload(false);
        Box::new(move || Box::pin(as_written.execute()))
    }

    /// Starts `prepared`; `callbacks`: call the start callbacks (not for internal queries).
    /// `fallback`: the query as written, run when Athena refuses its UNLOAD.
    async fn start_with(
        &self,
        prepared: Prepared,
        unload: Option<Arc<UnloadColumns>>,
        callbacks: bool,
        fallback: Option<Fallback>,
    ) -> Result<QueryHandle> {
        let settings = self.conn.settings();
        let mut result_config = None;
        let staging = self.s3_staging_dir.as_ref().or(settings.s3_staging_dir.as_ref());
        if staging.is_some() || settings.encryption.is_some() {
            result_config = Some(
                ResultConfiguration::builder()
                    .set_output_location(staging.cloned())
                    .set_encryption_configuration(settings.encryption.as_ref().map(|e| e.to_sdk()))
                    .build(),
            );
        }
        let reuse = self.result_reuse.unwrap_or(settings.result_reuse).map(|age| {
            ResultReuseConfiguration::builder()
                .result_reuse_by_age_configuration(
                    ResultReuseByAgeConfiguration::builder().enabled(true).max_age_in_minutes((age.as_secs() / 60) as i32).build(),
                )
                .build()
        });
        let work_group = self.work_group.clone().or_else(|| settings.work_group.clone());
        let request = self
            .conn
            .athena()
            .start_query_execution()
            .query_string(&prepared.sql)
            .query_execution_context(QueryExecutionContext::builder().database(&settings.schema).catalog(&settings.catalog).build())
            .set_result_configuration(result_config)
            .set_work_group(work_group.clone())
            .set_execution_parameters(prepared.execution_parameters)
            .set_result_reuse_configuration(reuse);
        let out = with_engine_version(request, self.engine.or(settings.engine))
            .await
            .map_err(|e| no_output_location(Error::api("StartQueryExecution", e), work_group.as_deref()))?;
        let query_id = out.query_execution_id().unwrap_or_default().to_owned();
        let handle = QueryHandle::new(
            self.conn.clone(),
            query_id.clone(),
            self.cancel_on_drop.unwrap_or(settings.cancel_on_drop),
            self.timeout.or(settings.query_timeout),
            Arc::new(self.hints.clone()),
            unload,
            fallback,
        );
        if callbacks {
            self.started(&query_id);
        }
        Ok(handle)
    }

    /// The start callbacks, connection-level first.
    fn started(&self, query_id: &str) {
        if let Some(cb) = &self.conn.settings().on_start {
            cb(query_id);
        }
        if let Some(cb) = &self.on_start {
            cb(query_id);
        }
    }
}

/// Stops a query this client no longer needs; a failure only costs the query's own run.
async fn stop_quietly(handle: &QueryHandle) {
    if let Err(e) = handle.cancel().await {
        tracing::debug!("stopping query {} failed: {e}", handle.query_id());
    }
}

/// Athena's refusal of a query without any result location becomes a configuration error.
fn no_output_location(e: Error, work_group: Option<&str>) -> Error {
    match &e {
        Error::Api { message, .. } if message.contains("No output location provided") => Error::config(format!(
            "no result location: set s3_staging_dir (or AWS_ATHENA_S3_STAGING_DIR), or use a workgroup with an output location or managed results (workgroup {})",
            work_group.unwrap_or("primary")
        )),
        _ => e,
    }
}
