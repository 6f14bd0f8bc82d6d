//! A DB-API style cursor (PyAthena's `Cursor` / `DictCursor`): execute, then fetch rows.

use crate::connection::Connection;
use crate::error::{Error, Result};
use crate::info::QueryInfo;
use crate::query::Query;
use crate::results::{ColumnDescription, ResultSet};
use crate::rows::row::Row;

impl Connection {
    /// A DB-API style cursor.
    pub fn cursor(&self) -> Cursor {
        Cursor::new(self.clone())
    }
}

/// Executes queries one at a time and fetches their rows. Rows are views over Arrow batches;
/// [`Row::to_dict`] gives DictCursor rows.
#[derive(Debug)]
pub struct Cursor {
    conn: Connection,
    result: Option<ResultSet>,
}

impl Cursor {
    pub(crate) fn new(conn: Connection) -> Self {
        Self { conn, result: None }
    }

    /// Runs `sql` with the connection's settings; the previous result is dropped.
    ///
    /// # Errors
    /// As [`Query::execute`].
    pub async fn execute(&mut self, sql: impl Into<String>) -> Result<&mut Self> {
        let query = self.conn.query(sql);
        self.execute_query(query).await
    }

    /// Runs a query built with per-execute options (`conn.query(sql).param(...)...`).
    pub async fn execute_query(&mut self, query: Query) -> Result<&mut Self> {
        self.result = None;
        self.result = Some(query.execute().await?);
        Ok(self)
    }

    fn result(&mut self) -> Result<&mut ResultSet> {
        self.result.as_mut().ok_or_else(|| Error::ResultMissing { query_id: None, message: "no query has been executed".into() })
    }

    pub fn query_id(&self) -> Option<&str> {
        self.result.as_ref().map(ResultSet::query_id)
    }

    /// The execution facts of the last query.
    pub fn info(&self) -> Option<&QueryInfo> {
        self.result.as_ref().map(ResultSet::info)
    }

    pub fn description(&self) -> Option<Vec<ColumnDescription>> {
        self.result.as_ref().map(ResultSet::description)
    }

    /// UpdateCount of INSERT, UPDATE, DELETE, MERGE and CTAS; `None` otherwise.
    pub fn rowcount(&self) -> Option<i64> {
        self.result.as_ref().and_then(ResultSet::rowcount)
    }

    pub async fn fetch_one(&mut self) -> Result<Option<Row>> {
        self.result()?.fetch_one().await
    }

    pub async fn fetch_many(&mut self, n: usize) -> Result<Vec<Row>> {
        self.result()?.fetch_many(n).await
    }

    /// Every remaining row (held in memory).
    pub async fn fetch_all(&mut self) -> Result<Vec<Row>> {
        self.result()?.fetch_all().await
    }

    /// Takes the result of the last query (for streaming its batches).
    pub fn take_result(&mut self) -> Option<ResultSet> {
        self.result.take()
    }
}
