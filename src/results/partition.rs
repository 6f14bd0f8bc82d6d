//! Partitions of a finished query's result: where its rows are, cut into pieces that other
//! processes or machines can read on their own. A [`ResultPartition`] holds S3 locations,
//! sizes, ETags and what decoding needs (the columns, their type hints, the timestamp unit):
//! no credentials. Serialised with [`ResultPartition::to_bytes`], it is read back by
//! [`Connection::read_partition`] on any connection with read access to the objects.
//!
//! One partition per UNLOAD data file; one per byte range of the result CSV
//! ([`crate::FetchConfig::csv_partition_bytes`] each, the records that start in it); one for a DuckDB query's Arrow
//! stream (managed results); one for a result that only GetQueryResults gives (statements
//! without a CSV, or [`ResultSource::Api`]). Reading them all
//! gives exactly the result's rows; an object changed since the partitions were made fails
//! with [`Error::Storage`].

use std::collections::BTreeMap;

use arrow::datatypes::{SchemaRef, TimeUnit};
use serde::{Deserialize, Serialize};

use crate::config::ResultSource;
use crate::config::engine::Engine;
use crate::connection::Connection;
use crate::decode::duckdb::duckdb_schema;
use crate::decode::schema::{ColumnInfo, arrow_schema_with_hints};
use crate::error::{Error, Result};
use crate::fetch::ObjectMeta;
use crate::info::{QueryInfo, get_query_execution};
use crate::results::stream::RecordBatchStream;
use crate::results::unload::{self, UnloadColumns};
use crate::results::{FIRST_RANGE, ResultSet, arrow_stream, csv, result_columns};

/// Version of the serialised form; [`ResultPartition::from_bytes`] refuses others.
const FORMAT: u32 = 1;

/// One independently readable piece of a query's result (see the [module](self) docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultPartition {
    format: u32,
    query_id: String,
    columns: Vec<ColumnInfo>,
    /// Column name -> type name with element types (nested columns of text results).
    hints: BTreeMap<String, String>,
    timestamp_unit: Option<Unit>,
    location: Location,
    /// A DuckDB query's result (its text is DuckDB's; see [`crate::decode::duckdb`]).
    #[serde(default)]
    duckdb: bool,
}

/// Where a partition's rows are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Location {
    /// One UNLOAD data file (Parquet), with how the query's columns were written.
    Parquet { uri: String, size: u64, etag: Option<String>, as_text: Vec<bool>, rewritten: bool },
    /// The result CSV: the records that start in bytes `range` (start, end), or all of them.
    Csv {
        uri: String,
        size: u64,
        etag: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        range: Option<(u64, u64)>,
    },
    /// GetQueryResults paging of the query.
    Api,
    /// The Arrow stream of a DuckDB query's managed result (GetQueryResultStream).
    Stream,
}

/// [`TimeUnit`] in the serialised form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Unit {
    Second,
    Millisecond,
    Microsecond,
    Nanosecond,
}

impl From<TimeUnit> for Unit {
    fn from(u: TimeUnit) -> Self {
        match u {
            TimeUnit::Second => Unit::Second,
            TimeUnit::Millisecond => Unit::Millisecond,
            TimeUnit::Microsecond => Unit::Microsecond,
            TimeUnit::Nanosecond => Unit::Nanosecond,
        }
    }
}

impl From<Unit> for TimeUnit {
    fn from(u: Unit) -> Self {
        match u {
            Unit::Second => TimeUnit::Second,
            Unit::Millisecond => TimeUnit::Millisecond,
            Unit::Microsecond => TimeUnit::Microsecond,
            Unit::Nanosecond => TimeUnit::Nanosecond,
        }
    }
}

impl ResultPartition {
    /// The serialised form (JSON): locations, sizes, ETags and column types, no credentials.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a partition serialises")
    }

    /// A partition from [`to_bytes`](Self::to_bytes).
    ///
    /// # Errors
    /// [`Error::Config`] for bytes that are not a partition of this format.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let p: Self = serde_json::from_slice(bytes).map_err(|e| Error::config(format!("not a result partition: {e}")))?;
        if p.format != FORMAT {
            return Err(Error::config(format!("result partition format {} is not supported (this library reads {FORMAT})", p.format)));
        }
        Ok(p)
    }

    /// The query whose result this is part of.
    pub fn query_id(&self) -> &str {
        &self.query_id
    }

    /// The S3 object read (`None` for GetQueryResults paging).
    pub fn uri(&self) -> Option<&str> {
        match &self.location {
            Location::Parquet { uri, .. } | Location::Csv { uri, .. } => Some(uri),
            Location::Api | Location::Stream => None,
        }
    }

    /// The object's size in bytes (`None` for GetQueryResults paging).
    pub fn size(&self) -> Option<u64> {
        match &self.location {
            Location::Parquet { size, .. } | Location::Csv { size, .. } => Some(*size),
            Location::Api | Location::Stream => None,
        }
    }

    /// The bytes of the object this partition reads the records of (start, end): the records
    /// that start in them (`None` for the whole object or GetQueryResults paging).
    pub fn byte_range(&self) -> Option<(u64, u64)> {
        match &self.location {
            Location::Csv { range, .. } => *range,
            _ => None,
        }
    }

    /// The schema of a text partition's batches (CSV or API), from the columns.
    fn text_schema(&self) -> Result<SchemaRef> {
        if self.duckdb {
            return duckdb_schema(&self.columns, self.timestamp_unit.map(Into::into));
        }
        let hints = self.hints.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        arrow_schema_with_hints(&self.columns, self.timestamp_unit.map(Into::into), &hints)
    }
}

/// A finished query's result as partitions (see [`crate::QueryHandle::wait_partitions`]).
#[derive(Debug, Clone)]
pub struct Partitions {
    /// The result's schema (as [`ResultSet::schema`] gives it).
    pub schema: SchemaRef,
    /// The pieces; reading them all gives the result's rows, each piece in its own order.
    pub partitions: Vec<ResultPartition>,
    /// The query's facts.
    pub info: QueryInfo,
}

/// Size and ETag of each object, one small ranged GET each, `concurrency` at a time.
async fn metas(conn: &Connection, uris: &[String]) -> Result<Vec<ObjectMeta>> {
    use futures::{StreamExt, TryStreamExt};
    let fetcher = conn.fetcher().clone();
    futures::stream::iter(uris.to_vec())
        .map(|uri| {
            let fetcher = fetcher.clone();
            async move { fetcher.open_head(&uri, 1).await.map(|(meta, _)| meta) }
        })
        .buffered(conn.settings().fetch.concurrency.max(1))
        .try_collect()
        .await
}

/// The partitions of the finished query `info` without reading its rows: UNLOAD data files
/// (when `unload` says how the query was written), else its result CSV, else API paging.
pub(crate) async fn partitions_of(
    conn: &Connection,
    info: QueryInfo,
    hints: &std::collections::HashMap<String, String>,
    unload: Option<&UnloadColumns>,
) -> Result<Partitions> {
    let unit = conn.settings().timestamp_unit;
    let hints: BTreeMap<String, String> = hints.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let partition = |columns: &[ColumnInfo], location| ResultPartition {
        format: FORMAT,
        query_id: info.query_id.clone(),
        columns: columns.to_vec(),
        hints: hints.clone(),
        timestamp_unit: unit.map(Into::into),
        location,
        duckdb: info.engine == Engine::DuckDb,
    };
    let source = conn.settings().result_source;
    let refused = |e: Error| match crate::fetch::cse::is_key_refused(&e) {
        true => conn.unload_key_refused(&info, e),
        false => e,
    };
    if let Some(plan) = unload {
        let files = unload::data_files_of(conn, &info, Some(plan)).await?;
        let metas = metas(conn, &files).await.map_err(refused)?;
        let partitions: Vec<ResultPartition> = files
            .into_iter()
            .zip(metas)
            .map(|(uri, meta)| {
                let location =
                    Location::Parquet { uri, size: meta.size, etag: meta.etag, as_text: plan.as_text.clone(), rewritten: plan.rewritten };
                partition(&plan.columns, location)
            })
            .collect();
        // The schema as the files give it (typed nested columns); without files, as ColumnInfo.
        let schema = match partitions.first().and_then(ResultPartition::uri) {
            Some(uri) => {
                let read = unload::file_schema(conn.fetcher(), uri, unit).await?;
                plan.restore(RecordBatchStream::new(read, futures::stream::empty()), unit)?.schema().clone()
            }
            None => arrow_schema_with_hints(&plan.columns, unit, &Default::default())?,
        };
        return Ok(Partitions { schema, partitions, info });
    }
    let columns = result_columns(conn, &info.query_id).await?;
    if info.engine == Engine::DuckDb {
        let schema = duckdb_schema(&columns, unit)?;
        if info.output_location.is_none() && source != ResultSource::Api {
            return Ok(Partitions { schema, partitions: vec![partition(&columns, Location::Stream)], info });
        }
    }
    let schema = match info.engine {
        Engine::DuckDb => duckdb_schema(&columns, unit)?,
        Engine::V3 => arrow_schema_with_hints(&columns, unit, &hints.iter().map(|(k, v)| (k.clone(), v.clone())).collect())?,
    };
    let csv = info
        .output_location
        .clone()
        .filter(|l| source != ResultSource::Api && l.ends_with(".csv") && info.substatement_type.as_deref() != Some("UNLOAD"));
    // A CSE_KMS result's data key is asked for here: refused, its partitions read the API.
    let meta = match &csv {
        Some(uri) => match metas(conn, std::slice::from_ref(uri)).await {
            Ok(mut metas) => Some(metas.remove(0)),
            Err(e) if crate::fetch::cse::is_key_refused(&e) => {
                conn.after_key_refused(&info, e)?;
                None
            }
            Err(e) => return Err(e),
        },
        None => None,
    };
    let partitions = match csv.zip(meta) {
        Some((uri, meta)) => {
            // A client-side encrypted CSV is one partition: its tag covers the whole object.
            let per = if meta.sealed.is_some() { 0 } else { conn.settings().fetch.csv_partition_bytes };
            csv_ranges(meta.size, per)
                .into_iter()
                .map(|range| partition(&columns, Location::Csv { uri: uri.clone(), size: meta.size, etag: meta.etag.clone(), range }))
                .collect()
        }
        None => vec![partition(&columns, Location::Api)],
    };
    Ok(Partitions { schema, partitions, info })
}

/// A CSV of `size` bytes cut into ranges of about `per` bytes (one whole range when it is not
/// larger, or `per` is 0).
fn csv_ranges(size: u64, per: u64) -> Vec<Option<(u64, u64)>> {
    if per == 0 || size <= per {
        return vec![None];
    }
    let n = size.div_ceil(per);
    (0..n).map(|i| Some((size * i / n, size * (i + 1) / n))).collect()
}

/// The object at `uri` must still be the one partitioned.
fn unchanged(uri: &str, meta: &ObjectMeta, size: u64, etag: Option<&str>) -> Result<()> {
    if meta.size != size || (etag.is_some() && meta.etag.as_deref() != etag) {
        return Err(Error::Storage {
            uri: uri.to_owned(),
            message: format!(
                "the object changed since the result was partitioned (size {} and ETag {:?}, partitioned at {size} and {etag:?})",
                meta.size, meta.etag
            ),
            source: None,
        });
    }
    Ok(())
}

impl Connection {
    /// Streams the batches of one partition (from [`crate::QueryHandle::wait_partitions`],
    /// possibly made in another process and sent as [`ResultPartition::to_bytes`]).
    ///
    /// # Errors
    /// [`Error::Storage`] when the object cannot be read or changed since it was partitioned
    /// (its ETag or size differ), [`Error::Api`] for API paging, [`Error::Decode`].
    pub async fn read_partition(&self, partition: &ResultPartition) -> Result<RecordBatchStream> {
        let unit: Option<TimeUnit> = partition.timestamp_unit.map(Into::into);
        match &partition.location {
            Location::Parquet { uri, size, etag, as_text, rewritten } => {
                let plan =
                    UnloadColumns { columns: partition.columns.clone(), as_text: as_text.clone(), rewritten: *rewritten, copied_to: None };
                let expected = ObjectMeta::new(*size, etag.clone());
                let stream =
                    unload::unload_stream(self.fetcher(), vec![(uri.clone(), Some(expected))], unit, &self.settings().fetch).await?;
                match stream {
                    Some(stream) => plan.restore(stream, unit),
                    None => Err(Error::decode("an UNLOAD partition without its file")),
                }
            }
            Location::Csv { uri, size, etag, range: Some(range) } => {
                let meta = ObjectMeta::new(*size, etag.clone());
                csv::csv_range_stream(self.fetcher(), uri, meta, *range, &partition.query_id, partition.text_schema()?).await
            }
            Location::Csv { uri, size, etag, range: None } => {
                let (meta, head) = match self.fetcher().open_head(uri, self.settings().fetch.chunk_size.min(FIRST_RANGE)).await {
                    // A worker refused the data key of a CSE_KMS result: the API, or refused.
                    Err(e) if crate::fetch::cse::is_key_refused(&e) => {
                        let info = get_query_execution(self.athena(), &partition.query_id).await?;
                        let source = self.after_key_refused(&info, e)?;
                        let hints = partition.hints.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                        return Ok(ResultSet::open_as(self.clone(), info, &hints, source, unit).await?.into_stream());
                    }
                    opened => opened?,
                };
                unchanged(uri, &meta, *size, etag.as_deref())?;
                Ok(csv::csv_stream(self.fetcher(), uri, meta, head, &partition.query_id, partition.text_schema()?))
            }
            Location::Stream => match arrow_stream::open(self, &partition.query_id).await? {
                Ok(stream) => Ok(stream),
                Err(not_offered) => {
                    self.warn_stream_not_offered(&not_offered.0);
                    let info = get_query_execution(self.athena(), &partition.query_id).await?;
                    Ok(ResultSet::open_as(self.clone(), info, &Default::default(), ResultSource::Api, unit).await?.into_stream())
                }
            },
            Location::Api => {
                let info = get_query_execution(self.athena(), &partition.query_id).await?;
                let hints = partition.hints.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                Ok(ResultSet::open_as(self.clone(), info, &hints, ResultSource::Api, unit).await?.into_stream())
            }
        }
    }

    /// As [`read_partition`](Self::read_partition), from the partition's serialised form.
    ///
    /// # Errors
    /// [`Error::Config`] for bytes that are not a partition, then as `read_partition`.
    pub async fn read_partition_bytes(&self, bytes: &[u8]) -> Result<RecordBatchStream> {
        self.read_partition(&ResultPartition::from_bytes(bytes)?).await
    }
}
