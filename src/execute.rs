//! Execute: start a query, poll it to a terminal state, cancel it. A [`QueryHandle`] is a query
//! in flight; dropping it (or a waiting execute future) before the query ends stops the query on
//! the server unless that was turned off.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use aws_sdk_athena::types::{QueryExecution, QueryExecutionState, StatementType};

use crate::connection::Connection;
use crate::error::{Error, Result};
use crate::result::ResultSet;

/// State of a query execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueryState {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl QueryState {
    fn from_sdk(s: Option<&QueryExecutionState>) -> Self {
        match s {
            Some(QueryExecutionState::Queued) | None => QueryState::Queued,
            Some(QueryExecutionState::Running) => QueryState::Running,
            Some(QueryExecutionState::Succeeded) => QueryState::Succeeded,
            Some(QueryExecutionState::Failed) => QueryState::Failed,
            Some(QueryExecutionState::Cancelled) => QueryState::Cancelled,
            Some(_) => QueryState::Running,
        }
    }

    /// SUCCEEDED, FAILED or CANCELLED.
    pub fn is_terminal(self) -> bool {
        matches!(self, QueryState::Succeeded | QueryState::Failed | QueryState::Cancelled)
    }
}

impl fmt::Display for QueryState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            QueryState::Queued => "QUEUED",
            QueryState::Running => "RUNNING",
            QueryState::Succeeded => "SUCCEEDED",
            QueryState::Failed => "FAILED",
            QueryState::Cancelled => "CANCELLED",
        })
    }
}

/// The facts Athena reports about a query execution (GetQueryExecution).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct QueryInfo {
    pub query_id: String,
    /// The SQL as executed (after parameter substitution).
    pub query: String,
    pub state: QueryState,
    pub state_change_reason: Option<String>,
    /// `DDL`, `DML` or `UTILITY`.
    pub statement_type: Option<String>,
    /// `SELECT`, `INSERT`, `CREATE_TABLE_AS_SELECT`, ...
    pub substatement_type: Option<String>,
    pub work_group: Option<String>,
    pub database: Option<String>,
    pub catalog: Option<String>,
    /// Where the result file is (`None` with Athena-managed results).
    pub output_location: Option<String>,
    pub data_manifest_location: Option<String>,
    pub data_scanned_bytes: Option<i64>,
    pub engine_execution_time: Option<Duration>,
    pub query_queue_time: Option<Duration>,
    pub query_planning_time: Option<Duration>,
    pub service_processing_time: Option<Duration>,
    pub total_execution_time: Option<Duration>,
    pub reused_previous_result: bool,
    pub submission_time: Option<SystemTime>,
    pub completion_time: Option<SystemTime>,
    pub error_category: Option<i32>,
    pub error_type: Option<i32>,
    pub error_message: Option<String>,
    pub retryable: bool,
}

fn millis(v: Option<i64>) -> Option<Duration> {
    v.and_then(|m| u64::try_from(m).ok()).map(Duration::from_millis)
}

fn system_time(t: Option<&aws_smithy_types::DateTime>) -> Option<SystemTime> {
    t.and_then(|t| SystemTime::try_from(*t).ok())
}

impl QueryInfo {
    pub(crate) fn from_sdk(q: &QueryExecution) -> Self {
        let status = q.status();
        let stats = q.statistics();
        let error = status.and_then(|s| s.athena_error());
        Self {
            query_id: q.query_execution_id().unwrap_or_default().to_owned(),
            query: q.query().unwrap_or_default().to_owned(),
            state: QueryState::from_sdk(status.and_then(|s| s.state())),
            state_change_reason: status.and_then(|s| s.state_change_reason()).map(str::to_owned),
            statement_type: q.statement_type().map(|t| t.as_str().to_owned()),
            substatement_type: q.substatement_type().map(str::to_owned),
            work_group: q.work_group().map(str::to_owned),
            database: q.query_execution_context().and_then(|c| c.database()).map(str::to_owned),
            catalog: q.query_execution_context().and_then(|c| c.catalog()).map(str::to_owned),
            output_location: q.result_configuration().and_then(|r| r.output_location()).map(str::to_owned),
            data_manifest_location: stats.and_then(|s| s.data_manifest_location()).map(str::to_owned),
            data_scanned_bytes: stats.and_then(|s| s.data_scanned_in_bytes()),
            engine_execution_time: millis(stats.and_then(|s| s.engine_execution_time_in_millis())),
            query_queue_time: millis(stats.and_then(|s| s.query_queue_time_in_millis())),
            query_planning_time: millis(stats.and_then(|s| s.query_planning_time_in_millis())),
            service_processing_time: millis(stats.and_then(|s| s.service_processing_time_in_millis())),
            total_execution_time: millis(stats.and_then(|s| s.total_execution_time_in_millis())),
            reused_previous_result: stats.and_then(|s| s.result_reuse_information()).is_some_and(|r| r.reused_previous_result()),
            submission_time: system_time(status.and_then(|s| s.submission_date_time())),
            completion_time: system_time(status.and_then(|s| s.completion_date_time())),
            error_category: error.and_then(|e| e.error_category()),
            error_type: error.and_then(|e| e.error_type()),
            error_message: error.and_then(|e| e.error_message()).map(str::to_owned),
            retryable: error.is_some_and(|e| e.retryable()),
        }
    }

    /// Whether the statement is DML (SELECT, INSERT, UNLOAD, ...).
    pub fn is_dml(&self) -> bool {
        self.statement_type.as_deref() == Some(StatementType::Dml.as_str())
    }

    /// The error of a FAILED or CANCELLED query; `Ok` for any other state.
    pub(crate) fn terminal_error(&self) -> Result<()> {
        let reason = || self.state_change_reason.clone().or_else(|| self.error_message.clone()).unwrap_or_else(|| "no reason given".into());
        match self.state {
            QueryState::Failed => Err(Error::QueryFailed {
                query_id: self.query_id.clone(),
                reason: reason(),
                error_category: self.error_category,
                error_type: self.error_type,
                retryable: self.retryable,
            }),
            QueryState::Cancelled => Err(Error::Cancelled { query_id: self.query_id.clone(), reason: reason() }),
            _ => Ok(()),
        }
    }
}

/// Stops a query from anywhere: cheap to clone, `Send + Sync`, usable from another task or thread.
#[derive(Clone)]
pub struct CancelHandle {
    client: aws_sdk_athena::Client,
    query_id: Arc<str>,
}

impl fmt::Debug for CancelHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelHandle").field("query_id", &self.query_id).finish()
    }
}

impl CancelHandle {
    pub(crate) fn new(client: aws_sdk_athena::Client, query_id: &str) -> Self {
        Self { client, query_id: query_id.into() }
    }

    pub fn query_id(&self) -> &str {
        &self.query_id
    }

    /// Calls StopQueryExecution. Stopping a query that already ended is not an error.
    ///
    /// # Errors
    /// [`Error::Api`] when the call fails.
    pub async fn cancel(&self) -> Result<()> {
        self.client
            .stop_query_execution()
            .query_execution_id(&*self.query_id)
            .send()
            .await
            .map_err(|e| Error::api("StopQueryExecution", e))?;
        Ok(())
    }
}

/// Stops the query when dropped while armed (the query has not reached a terminal state).
struct CancelGuard {
    handle: CancelHandle,
    armed: AtomicBool,
}

impl CancelGuard {
    fn disarm(&self) {
        self.armed.store(false, Ordering::Relaxed);
    }
}

impl Drop for CancelGuard {
    fn drop(&mut self) {
        if !self.armed.load(Ordering::Relaxed) {
            return;
        }
        let handle = self.handle.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                tracing::debug!(query_id = handle.query_id(), "query abandoned before it ended: stopping it");
                rt.spawn(async move {
                    if let Err(e) = handle.cancel().await {
                        tracing::warn!(query_id = handle.query_id(), "cannot stop abandoned query: {e}");
                    }
                });
            }
            Err(_) => tracing::warn!(query_id = handle.query_id(), "query abandoned outside a runtime; it keeps running"),
        }
    }
}

/// A query in flight: returned by [`crate::Query::submit`] as soon as Athena accepted it.
///
/// Many handles can be in flight on one connection. Dropping a handle before its query ended
/// stops the query (unless cancel-on-drop is off or [`detach`](Self::detach) was called).
pub struct QueryHandle {
    conn: Connection,
    query_id: String,
    guard: CancelGuard,
    timeout: Option<Duration>,
    started: Instant,
    hints: TypeHints,
    /// How this handle's UNLOAD wraps the query (its results are then read from the data files).
    unload: Option<Arc<crate::unload::UnloadPlan>>,
    /// The query as written, run instead when Athena refuses the UNLOAD.
    fallback: Option<Box<crate::Query>>,
}

/// Column name -> type name with element types, for nested columns (see [`crate::Query::type_hint`]).
pub(crate) type TypeHints = Arc<std::collections::HashMap<String, String>>;

impl fmt::Debug for QueryHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueryHandle").field("query_id", &self.query_id).field("timeout", &self.timeout).finish_non_exhaustive()
    }
}

impl QueryHandle {
    pub(crate) fn new(
        conn: Connection,
        query_id: String,
        cancel_on_drop: bool,
        timeout: Option<Duration>,
        hints: TypeHints,
        unload: Option<Arc<crate::unload::UnloadPlan>>,
        fallback: Option<Box<crate::Query>>,
    ) -> Self {
        let guard = CancelGuard { handle: CancelHandle::new(conn.athena().clone(), &query_id), armed: AtomicBool::new(cancel_on_drop) };
        Self { conn, query_id, guard, timeout, started: Instant::now(), hints, unload, fallback }
    }

    pub fn query_id(&self) -> &str {
        &self.query_id
    }

    /// Marks this handle's query as the UNLOAD of `plan` (`fallback`: the query as written).
    pub(crate) fn set_unload(&mut self, plan: Arc<crate::unload::UnloadPlan>, fallback: Option<Box<crate::Query>>) {
        self.unload = Some(plan);
        self.fallback = fallback;
    }

    /// A handle that stops this query from another task or thread.
    pub fn cancel_handle(&self) -> CancelHandle {
        self.guard.handle.clone()
    }

    /// Keeps the query running on the server when this handle is dropped; returns its id.
    pub fn detach(self) -> String {
        self.guard.disarm();
        self.query_id.clone()
    }

    /// One GetQueryExecution call: the query's current facts.
    ///
    /// # Errors
    /// [`Error::Api`] when the call fails.
    pub async fn poll(&self) -> Result<QueryInfo> {
        let info = get_query_execution(self.conn.athena(), &self.query_id).await?;
        if info.state.is_terminal() {
            self.guard.disarm();
        }
        Ok(info)
    }

    /// Stops the query (StopQueryExecution).
    pub async fn cancel(&self) -> Result<()> {
        self.guard.handle.cancel().await?;
        self.guard.disarm();
        Ok(())
    }

    /// Polls until the query ends (adaptive intervals), then opens its results.
    ///
    /// # Errors
    /// [`Error::QueryFailed`], [`Error::Cancelled`], [`Error::Timeout`] (the query is stopped
    /// first), or [`Error::Api`].
    pub async fn wait(mut self) -> Result<ResultSet> {
        let info = match self.wait_info().await {
            Err(e) if crate::unload::is_unload_limitation(&e) && self.fallback.is_some() => {
                tracing::debug!("UNLOAD refused the query ({e}); running it as written");
                let fallback = self.fallback.take().expect("checked");
                return Box::pin(fallback.execute()).await;
            }
            other => other?,
        };
        ResultSet::open(self.conn.clone(), info, &self.hints, self.unload.as_deref()).await
    }

    /// Polls until the query ends and returns its facts, without opening results.
    pub async fn wait_info(&self) -> Result<QueryInfo> {
        self.wait_info_with(|_| {}).await
    }

    /// As [`wait_info`](Self::wait_info), calling `on_poll` with every status read (state, data
    /// scanned so far), e.g. for a progress display. Polling and the timeout are the same.
    ///
    /// # Errors
    /// As [`wait_info`](Self::wait_info).
    pub async fn wait_info_with(&self, mut on_poll: impl FnMut(&QueryInfo)) -> Result<QueryInfo> {
        let poll = self.conn.settings().poll;
        let mut interval = poll.initial;
        loop {
            let info = self.poll().await?;
            on_poll(&info);
            if info.state.is_terminal() {
                info.terminal_error()?;
                return Ok(info);
            }
            if let Some(timeout) = self.timeout {
                let elapsed = self.started.elapsed();
                if elapsed >= timeout {
                    if let Err(e) = self.cancel().await {
                        // The query may keep running (and costing) on the server: say so.
                        tracing::warn!(query_id = %self.query_id, "timed out, and StopQueryExecution failed: {e}");
                    }
                    return Err(Error::Timeout { query_id: self.query_id.clone(), timeout, state: info.state });
                }
                interval = interval.min(timeout - elapsed);
            }
            tokio::time::sleep(interval).await;
            interval = poll.next(interval);
        }
    }
}

pub(crate) async fn get_query_execution(client: &aws_sdk_athena::Client, query_id: &str) -> Result<QueryInfo> {
    let out = client.get_query_execution().query_execution_id(query_id).send().await.map_err(|e| Error::api("GetQueryExecution", e))?;
    let q = out.query_execution().ok_or_else(|| Error::ResultMissing {
        query_id: Some(query_id.to_owned()),
        message: "GetQueryExecution returned no execution".into(),
    })?;
    Ok(QueryInfo::from_sdk(q))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn handles_are_send_and_sync() {
        assert_send_sync::<CancelHandle>();
        assert_send_sync::<QueryHandle>();
        assert_send_sync::<Error>();
        assert_send_sync::<QueryInfo>();
    }
}
