//! Execute: start a query, poll it to a terminal state, cancel it. A [`QueryHandle`] is a query
//! in flight; dropping it (or a waiting execute future) before the query ends stops the query on
//! the server unless that was turned off.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;

use crate::connection::Connection;
use crate::error::{Error, Result};
use crate::info::{QueryInfo, get_query_execution};
use crate::query::unload::is_unload_refusal;
use crate::results::ResultSet;
use crate::results::partition::{Partitions, partitions_of};
use crate::results::unload::UnloadColumns;

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

impl Connection {
    /// A handle that stops the query `query_id`.
    pub fn cancel_handle(&self, query_id: &str) -> CancelHandle {
        CancelHandle::new(self.athena().clone(), query_id)
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
    /// How this handle's UNLOAD wrote the query's columns (its results are then read from the
    /// data files).
    unload: Option<Arc<UnloadColumns>>,
    /// Runs the query as written, when Athena refuses the UNLOAD.
    fallback: Option<Fallback>,
    /// The facts of the query's end, once a poll saw it: a query that ended stays ended, so
    /// waiting again (the CLI's progress display, then `wait`) reads no status again and waits
    /// for no poll slot (20 ms at the default pace).
    ended: std::sync::OnceLock<QueryInfo>,
}

/// How a handle's query ended: its facts, or (an UNLOAD Athena refused) the result of the query
/// as written.
enum Settled {
    Ended(QueryHandle, QueryInfo),
    AsWritten(ResultSet),
}

/// The query as written, run when Athena refuses its UNLOAD (built by [`crate::Query::submit`]).
pub(crate) type Fallback = Box<dyn FnOnce() -> BoxFuture<'static, Result<ResultSet>> + Send + Sync>;

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
        unload: Option<Arc<UnloadColumns>>,
        fallback: Option<Fallback>,
    ) -> Self {
        let guard = CancelGuard { handle: CancelHandle::new(conn.athena().clone(), &query_id), armed: AtomicBool::new(cancel_on_drop) };
        Self { conn, query_id, guard, timeout, started: Instant::now(), hints, unload, fallback, ended: std::sync::OnceLock::new() }
    }

    pub fn query_id(&self) -> &str {
        &self.query_id
    }

    /// Marks this handle's query as the UNLOAD of `plan` (`fallback`: the query as written).
    pub(crate) fn set_unload(&mut self, plan: Arc<UnloadColumns>, fallback: Option<Fallback>) {
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

    /// One GetQueryExecution call: the query's current facts (always read, also after the end).
    ///
    /// # Errors
    /// [`Error::Api`] when the call fails.
    pub async fn poll(&self) -> Result<QueryInfo> {
        self.conn.poll_slot().await;
        let info = get_query_execution(self.conn.athena(), &self.query_id).await?;
        if info.state.is_terminal() {
            self.guard.disarm();
            let _ = self.ended.set(info.clone());
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
    pub async fn wait(self) -> Result<ResultSet> {
        match self.settle().await? {
            Settled::Ended(handle, info) => ResultSet::open(handle.conn.clone(), info, &handle.hints, handle.unload.as_deref()).await,
            Settled::AsWritten(result) => Ok(result),
        }
    }

    /// Polls until the query ends, then lists its result as [`Partitions`] without reading
    /// rows: one per UNLOAD data file, else byte ranges of the result CSV (or one for API paging). Each
    /// can be read here or elsewhere with [`Connection::read_partition`].
    ///
    /// # Errors
    /// As [`wait`](Self::wait), and [`Error::Storage`] when a result object cannot be reached.
    pub async fn wait_partitions(self) -> Result<Partitions> {
        let (conn, hints) = (self.conn.clone(), self.hints.clone());
        match self.settle().await? {
            Settled::Ended(handle, info) => partitions_of(&conn, info, &hints, handle.unload.as_deref()).await,
            Settled::AsWritten(result) => partitions_of(&conn, result.info().clone(), &hints, None).await,
        }
    }

    /// Waits for the query to end. The one place that decides what happens when Athena refuses
    /// the UNLOAD this handle runs for a query (a column type UNLOAD cannot write, nested where
    /// the probe could not see it): the query as written runs instead.
    async fn settle(mut self) -> Result<Settled> {
        match self.wait_info().await {
            Ok(info) => Ok(Settled::Ended(self, info)),
            Err(e) if is_unload_refusal(&e) => match self.fallback.take() {
                Some(as_written) => {
                    tracing::debug!("UNLOAD refused the query ({e}); running it as written");
                    Ok(Settled::AsWritten(as_written().await?))
                }
                None => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    /// Polls until the query ends and returns its facts, without opening results. Once a poll
    /// of this handle saw the end, its facts are returned again without another call.
    pub async fn wait_info(&self) -> Result<QueryInfo> {
        self.wait_info_with(|_| {}).await
    }

    /// As [`wait_info`](Self::wait_info), calling `on_poll` with every status read (state, data
    /// scanned so far), e.g. for a progress display. Polling and the timeout are the same.
    ///
    /// # Errors
    /// As [`wait_info`](Self::wait_info).
    pub async fn wait_info_with(&self, mut on_poll: impl FnMut(&QueryInfo)) -> Result<QueryInfo> {
        if let Some(info) = self.ended.get() {
            on_poll(info);
            info.terminal_error()?;
            return Ok(info.clone());
        }
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
            interval = poll.next(interval, self.started.elapsed());
        }
    }
}

impl Connection {
    /// The facts of any query execution by id.
    ///
    /// # Errors
    /// [`Error::Api`] when GetQueryExecution fails (e.g. an unknown id).
    pub async fn query_info(&self, query_id: &str) -> Result<QueryInfo> {
        get_query_execution(self.athena(), query_id).await
    }
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
