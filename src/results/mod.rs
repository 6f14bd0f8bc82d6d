//! Locate and stream: where a finished query's rows are (GetQueryResults pages, the result CSV,
//! UNLOAD's manifest and data files) and [`ResultSet`], which adds the execution facts and row
//! views on top of the one streaming primitive, [`RecordBatchStream`].

pub(crate) mod api;
pub(crate) mod arrow_stream;
pub(crate) mod csv;
pub(crate) mod partition;
mod stream;
pub(crate) mod unload;

use std::collections::VecDeque;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use futures::{FutureExt, Stream, StreamExt};

pub use crate::config::ResultSource;
use crate::config::engine::Engine;
use crate::connection::Connection;
use crate::decode::TextDecoder;
use crate::decode::duckdb::{duckdb_schema, duckdb_type_name};
use crate::decode::schema::{ColumnInfo, arrow_schema_with_hints};
use crate::error::{Error, Result};
use crate::info::QueryInfo;
use crate::results::api::{API_PAGE_ROWS, ApiPages, api_row};
pub use crate::results::stream::RecordBatchStream;
use crate::results::unload::UnloadColumns;
use crate::rows::row::Row;

/// The column names of a result, as DB-API's `description` gives them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDescription {
    pub name: String,
    /// Athena's type name.
    pub type_name: String,
    pub precision: i32,
    pub scale: i32,
}

/// The result of a finished query: its facts, schema, and the rows as a stream of batches.
///
/// Rows are views over the batches; [`fetch_all`](Self::fetch_all) and
/// [`collect`](Self::collect) hold the whole result in memory.
pub struct ResultSet {
    info: QueryInfo,
    columns: Vec<ColumnInfo>,
    update_count: Option<i64>,
    stream: RecordBatchStream,
    current: Option<(RecordBatch, usize)>,
    /// Athena's count of the rows returned, asked for while a result file is read.
    expected_rows: Option<ExpectedRows>,
}

/// Bytes of a result CSV read by its first GET (the one that also brings its size and ETag).
const FIRST_RANGE: u64 = 1 << 20;

/// The rows a result has as Athena counts them, awaited by more than one reader.
type ExpectedRows = futures::future::Shared<futures::future::BoxFuture<'static, Option<u64>>>;

impl std::fmt::Debug for ResultSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResultSet").field("info", &self.info).field("update_count", &self.update_count).finish_non_exhaustive()
    }
}

/// Statements whose GetQueryResults rows are data only (no header row): Athena puts the column
/// names first only for DML that returns rows.
fn has_header_row(info: &QueryInfo) -> bool {
    info.is_dml()
}

impl ResultSet {
    /// Opens the results of a SUCCEEDED query: the result CSV from S3 when there is one (and the
    /// source is not forced to the API), else GetQueryResults paging. The schema comes from
    /// ColumnInfo either way.
    pub(crate) async fn open(
        conn: Connection,
        info: QueryInfo,
        hints: &std::collections::HashMap<String, String>,
        unload: Option<&UnloadColumns>,
    ) -> Result<Self> {
        let source = conn.settings().result_source;
        if let Some(plan) = unload {
            let refused = |e: Error| match crate::fetch::cse::is_key_refused(&e) {
                true => conn.unload_key_refused(&info, e),
                false => e,
            };
            return Self::open_unload(conn.clone(), info.clone(), plan).await.map_err(refused);
        }
        let unit = conn.settings().timestamp_unit;
        Self::open_as(conn, info, hints, source, unit).await
    }

    /// As [`open`](Self::open) for a query read as written, from `source`, timestamps in `unit`.
    pub(crate) async fn open_as(
        conn: Connection,
        info: QueryInfo,
        hints: &std::collections::HashMap<String, String>,
        source: ResultSource,
        unit: Option<arrow::datatypes::TimeUnit>,
    ) -> Result<Self> {
        let client = conn.athena().clone();
        let duckdb = info.engine == Engine::DuckDb;
        if duckdb && info.output_location.is_none() && source != ResultSource::Api {
            match Self::open_stream(&conn, &info).await? {
                Ok(rs) => return Ok(rs),
                Err(not_offered) => conn.warn_stream_not_offered(&not_offered.0),
            }
        }
        // An UNLOAD's result location names its manifest, not a result CSV.
        let csv_location = info
            .output_location
            .clone()
            .filter(|l| source != ResultSource::Api && l.ends_with(".csv") && info.substatement_type.as_deref() != Some("UNLOAD"));
        let first_page = client
            .get_query_results()
            .query_execution_id(&info.query_id)
            .max_results(if source == ResultSource::S3 && csv_location.is_some() { 1 } else { API_PAGE_ROWS })
            .send();
        let (first, meta) = match &csv_location {
            Some(location) => {
                // The CSV's first range comes with its size and ETag: no HEAD.
                // A short first range: the first batch arrives after one small GET (S3 gives a
                // connection tens of MB/s), the rest follows in full chunks.
                let first_range = conn.settings().fetch.chunk_size.min(FIRST_RANGE);
                // Its own task, under a handle: dropped (small result, or an error), it stops.
                let (fetcher, uri) = (conn.fetcher().clone(), location.clone());
                let (opening, handle) = async move { fetcher.open_head(&uri, first_range).await }.remote_handle();
                tokio::spawn(opening);
                (first_page.await, Some(handle))
            }
            None => (first_page.await, None),
        };
        let first = first.map_err(|e| Error::api("GetQueryResults", e))?;
        let rs = first.result_set();
        let columns = columns_of(rs);
        let schema = if duckdb { duckdb_schema(&columns, unit)? } else { arrow_schema_with_hints(&columns, unit, hints)? };
        let whole_in_first_page = source == ResultSource::Auto && first.next_token().is_none();
        // A result whole in its first page does not wait for the CSV's first GET.
        let meta = match meta {
            Some(opening) if !whole_in_first_page => Some(opening.await),
            _ => None,
        };
        // A CSE_KMS result whose data key KMS refuses this caller: through the API, or refused.
        let meta = match meta {
            Some(Err(e)) if crate::fetch::cse::is_key_refused(&e) => {
                let source = conn.after_key_refused(&info, e)?;
                return Box::pin(Self::open_as(conn, info, hints, source, unit)).await;
            }
            other => other,
        };
        if let (Some(location), Some(meta), false) = (csv_location, meta, whole_in_first_page) {
            // Athena's count of the rows returned, asked for while the CSV is read: the stream
            // fails at its end rather than deliver a changed or cut result as if it were whole.
            // (A reused result's own statistics may not describe the rows it reuses.)
            // It runs as its own task, stopped when the result set and its stream are dropped.
            let task = (!info.reused_previous_result).then(|| {
                let (task, handle) = output_rows(client, info.query_id.clone()).remote_handle();
                tokio::spawn(task);
                handle
            });
            let expected: ExpectedRows = async move {
                match task {
                    Some(handle) => handle.await,
                    None => None,
                }
            }
            .boxed()
            .shared();
            let (meta, head) = meta?;
            let stream = csv::csv_stream(conn.fetcher(), &location, meta, head, &info.query_id, schema);
            let stream = count_checked(stream, expected.clone(), info.query_id.clone(), location);
            return Ok(Self { update_count: first.update_count(), info, columns, stream, current: None, expected_rows: Some(expected) });
        }
        let mut rows: VecDeque<Vec<Option<String>>> = rs.map(|r| r.rows().iter().map(api_row).collect()).unwrap_or_default();
        if has_header_row(&info) {
            // Athena's first row of a SELECT's results is its column names, even for 0 rows
            // (and its result CSV always starts with them): none at all is a result that was
            // emptied or cut, not an empty one.
            if rows.is_empty() && info.substatement_type.as_deref() == Some("SELECT") {
                return Err(Error::Incomplete {
                    query_id: info.query_id.clone(),
                    message: "GetQueryResults gave no rows, not even the header row every SELECT result starts with".into(),
                });
            }
            rows.pop_front();
        }
        let state = ApiPages {
            client,
            query_id: info.query_id.clone(),
            decoder: TextDecoder::new(schema.clone())?,
            pending: Some(rows),
            next_token: first.next_token().map(str::to_owned),
            rows_done: 0,
        };
        let stream = RecordBatchStream::new(schema, futures::stream::try_unfold(state, ApiPages::next).boxed());
        Ok(Self { update_count: first.update_count(), info, columns, stream, current: None, expected_rows: None })
    }

    /// A DuckDB query's managed result as the Arrow stream GetQueryResultStream serves, with
    /// its column metadata (and update count) from GetQueryResults' first row, asked for at the
    /// same time; `Err(NotOffered)` when the service does not serve the stream.
    async fn open_stream(conn: &Connection, info: &QueryInfo) -> Result<std::result::Result<Self, arrow_stream::NotOffered>> {
        let metadata = conn.athena().get_query_results().query_execution_id(&info.query_id).max_results(1).send();
        let (metadata, stream) = futures::join!(metadata, arrow_stream::open(conn, &info.query_id));
        let stream = match stream? {
            Ok(stream) => stream,
            Err(not_offered) => return Ok(Err(not_offered)),
        };
        let metadata = metadata.map_err(|e| Error::api("GetQueryResults", e))?;
        let columns = columns_of(metadata.result_set());
        Ok(Ok(Self { update_count: metadata.update_count(), info: info.clone(), columns, stream, current: None, expected_rows: None }))
    }

    /// The results of an UNLOAD this client wrapped around a query (see [`UnloadColumns`]).
    async fn open_unload(conn: Connection, info: QueryInfo, plan: &UnloadColumns) -> Result<Self> {
        let manifest = match plan.copied_to {
            Some(_) => None,
            None => Some(info.data_manifest_location.clone().ok_or_else(|| Error::ResultMissing {
                query_id: Some(info.query_id.clone()),
                message: "UNLOAD finished without a data manifest".into(),
            })?),
        };
        let unit = conn.settings().timestamp_unit;
        let files = unload::data_files_of(&conn, &info, Some(plan)).await?;
        let cleanup = conn.settings().unload_cleanup.then(|| {
            let mut uris = files.clone();
            uris.extend(manifest.clone());
            unload::Cleanup::new(conn.fetcher().clone(), uris)
        });
        let listed = files.into_iter().map(|f| (f, None)).collect();
        let stream = match unload::unload_stream(conn.fetcher(), listed, unit, &conn.settings().fetch).await? {
            Some(stream) => plan.restore(stream, unit)?,
            // 0 rows: no data files; the schema comes from the query's ColumnInfo.
            None => RecordBatchStream::new(arrow_schema_with_hints(&plan.columns, unit, &Default::default())?, futures::stream::empty()),
        };
        let stream = match cleanup {
            Some(cleanup) => {
                let schema = stream.schema().clone();
                // The guard lives as long as the stream: dropping it deletes the files.
                RecordBatchStream::new(
                    schema,
                    stream.map(move |b| {
                        let _keep = &cleanup;
                        b
                    }),
                )
            }
            None => stream,
        };
        let columns = if plan.columns.is_empty() { columns_of_schema(stream.schema()) } else { plan.columns.clone() };
        Ok(Self { info, columns, update_count: None, stream, current: None, expected_rows: None })
    }

    pub fn info(&self) -> &QueryInfo {
        &self.info
    }

    /// The number of rows Athena says the query returned (GetQueryRuntimeStatistics), for a
    /// result read from its CSV file, e.g. to show a download's progress; `None` for other
    /// sources or when Athena gives no figure. The stream checks it at its end as well. The
    /// future is independent of this result set (it may outlive [`into_stream`](Self::into_stream)).
    pub fn expected_rows(&self) -> impl std::future::Future<Output = Option<u64>> + Send + 'static {
        let expected = self.expected_rows.clone();
        async move {
            match expected {
                Some(e) => e.await,
                None => None,
            }
        }
    }

    pub fn query_id(&self) -> &str {
        &self.info.query_id
    }

    pub fn schema(&self) -> &SchemaRef {
        self.stream.schema()
    }

    /// Column names and Athena types.
    pub fn description(&self) -> Vec<ColumnDescription> {
        self.columns
            .iter()
            .map(|c| ColumnDescription { name: c.name.clone(), type_name: c.type_name.clone(), precision: c.precision, scale: c.scale })
            .collect()
    }

    /// Rows affected by INSERT, UPDATE, DELETE, MERGE and CTAS (Athena's UpdateCount); `None`
    /// for other statements.
    pub fn rowcount(&self) -> Option<i64> {
        let counted =
            matches!(self.info.substatement_type.as_deref(), Some("INSERT" | "UPDATE" | "DELETE" | "MERGE" | "CREATE_TABLE_AS_SELECT"));
        if counted { self.update_count } else { None }
    }

    /// The next batch (after any rows already taken with the fetch methods).
    pub async fn next_batch(&mut self) -> Option<Result<RecordBatch>> {
        if let Some((batch, offset)) = self.current.take()
            && offset < batch.num_rows()
        {
            return Some(Ok(batch.slice(offset, batch.num_rows() - offset)));
        }
        self.stream.next().await
    }

    /// The next row, or `None` at the end.
    pub async fn fetch_one(&mut self) -> Result<Option<Row>> {
        loop {
            if let Some((batch, offset)) = &mut self.current {
                if *offset < batch.num_rows() {
                    let row = Row::new(batch.clone(), *offset);
                    *offset += 1;
                    return Ok(Some(row));
                }
                self.current = None;
            }
            match self.stream.next().await {
                None => return Ok(None),
                Some(batch) => self.current = Some((batch?, 0)),
            }
        }
    }

    /// Up to `n` next rows.
    pub async fn fetch_many(&mut self, n: usize) -> Result<Vec<Row>> {
        let mut rows = Vec::with_capacity(n.min(4096));
        while rows.len() < n {
            match self.fetch_one().await? {
                Some(r) => rows.push(r),
                None => break,
            }
        }
        Ok(rows)
    }

    /// Every remaining row. Holds the whole result in memory.
    pub async fn fetch_all(&mut self) -> Result<Vec<Row>> {
        self.fetch_many(usize::MAX).await
    }

    /// Every remaining batch. Holds the whole result in memory.
    pub async fn collect(mut self) -> Result<Vec<RecordBatch>> {
        let mut out = Vec::new();
        while let Some(b) = self.next_batch().await {
            out.push(b?);
        }
        Ok(out)
    }

    /// The remaining batches as a stream.
    pub fn into_stream(mut self) -> RecordBatchStream {
        let schema = self.stream.schema().clone();
        let head = self.current.take().filter(|(b, o)| *o < b.num_rows()).map(|(b, o)| Ok(b.slice(o, b.num_rows() - o)));
        RecordBatchStream::new(schema, futures::stream::iter(head).chain(self.stream))
    }

    /// The remaining rows as a stream.
    pub fn rows(self) -> impl Stream<Item = Result<Row>> + Send + 'static {
        self.into_stream().flat_map(|batch| {
            let rows: Vec<Result<Row>> = match batch {
                Ok(b) => (0..b.num_rows()).map(|i| Ok(Row::new(b.clone(), i))).collect(),
                Err(e) => vec![Err(e)],
            };
            futures::stream::iter(rows)
        })
    }
}

/// The rows a finished query returned as Athena counts them (GetQueryRuntimeStatistics'
/// OutputRows); `None` when Athena gives no figure (the call is refused or not answered: the
/// result is then read unchecked).
async fn output_rows(client: aws_sdk_athena::Client, query_id: String) -> Option<u64> {
    match client.get_query_runtime_statistics().query_execution_id(&query_id).send().await {
        Ok(out) => out.query_runtime_statistics()?.rows()?.output_rows().and_then(|n| u64::try_from(n).ok()),
        Err(e) => {
            tracing::debug!(
                query_id,
                "no runtime statistics, the row count is not checked: {}",
                Error::api("GetQueryRuntimeStatistics", e)
            );
            None
        }
    }
}

/// `stream`, ending with [`Error::Incomplete`] when it delivered another number of rows than
/// `expected` resolves to.
fn count_checked(stream: RecordBatchStream, expected: ExpectedRows, query_id: String, uri: String) -> RecordBatchStream {
    let schema = stream.schema().clone();
    // `None` once the stream failed or was checked: nothing more is read.
    let state = Some((stream, 0u64, expected));
    let checked = futures::stream::unfold(state, move |state| {
        let (query_id, uri) = (query_id.clone(), uri.clone());
        async move {
            let (mut stream, mut rows, expected) = state?;
            match stream.next().await {
                Some(Ok(batch)) => {
                    rows += batch.num_rows() as u64;
                    Some((Ok(batch), Some((stream, rows, expected))))
                }
                Some(Err(e)) => Some((Err(e), None)),
                None => {
                    let want = expected.await?;
                    // Fewer rows than Athena returned: cut or emptied. More, where Athena counts
                    // some: replaced. (A count of 0 with rows read is taken as no figure.)
                    (rows < want || (want > 0 && rows > want)).then(|| {
                        let message = format!("{uri} gave {rows} rows, Athena reports {want} rows returned");
                        (Err(Error::Incomplete { query_id, message }), None)
                    })
                }
            }
        }
    });
    RecordBatchStream::new(schema, checked)
}

/// The columns of a finished query, from GetQueryResults' metadata.
pub(crate) async fn result_columns(conn: &Connection, query_id: &str) -> Result<Vec<ColumnInfo>> {
    let out = conn
        .athena()
        .get_query_results()
        .query_execution_id(query_id)
        .max_results(1)
        .send()
        .await
        .map_err(|e| Error::api("GetQueryResults", e))?;
    Ok(columns_of(out.result_set()))
}

/// Columns described from an Arrow schema (a DuckDB `COPY ... TO` file's), in DuckDB's names.
fn columns_of_schema(schema: &SchemaRef) -> Vec<ColumnInfo> {
    schema
        .fields()
        .iter()
        .map(|f| ColumnInfo { name: f.name().clone(), type_name: duckdb_type_name(f.data_type()), precision: 0, scale: 0 })
        .collect()
}

fn columns_of(rs: Option<&aws_sdk_athena::types::ResultSet>) -> Vec<ColumnInfo> {
    rs.and_then(|r| r.result_set_metadata()).map(|m| m.column_info().iter().map(ColumnInfo::from_sdk).collect()).unwrap_or_default()
}
