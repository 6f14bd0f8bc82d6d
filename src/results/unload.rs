//! The UNLOAD source: the manifest names the Parquet data files, which are read concurrently
//! (one task per file, so decoding spreads over the runtime's workers) through an
//! `AsyncFileReader` over the chunk reader. Files carry no order between them (as in Athena): rows
//! come in the order files finish. Columns the query wrote as text are typed back here.
//!
//! INT96 timestamps are read in milliseconds (Trino's timestamp(3); the connection's forced unit
//! when it has one), never overflowing through nanoseconds, and the schema gets the Athena type
//! of each column in its field metadata, as the other sources do.

use std::ops::Range;
use std::sync::Arc;

use arrow::array::{Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
use parquet::arrow::async_reader::{AsyncFileReader, ParquetRecordBatchStreamBuilder};
use parquet::errors::ParquetError;
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};
use tokio::sync::OwnedSemaphorePermit;

use crate::connection::Connection;
use crate::decode::TextDecoder;
use crate::decode::schema::{ATHENA_TYPE, ColumnInfo, arrow_field, athena_type_of};
use crate::error::{Error, Result};
use crate::fetch::{ByteBudget, FetchConfig, Fetcher, ObjectMeta};
use crate::query::info::QueryInfo;
use crate::results::stream::RecordBatchStream;

/// Rows per batch read from Parquet (8192 decodes about 30% faster than 1024).
const BATCH_ROWS: usize = 8192;
/// Bytes read from the end of each data file with its first request: the footer and, for
/// small files, all of it.
const FOOTER_GUESS: u64 = 64 * 1024;

/// The columns of a query read through UNLOAD and how they were written: with their own names and
/// types, or (`rewritten`) renamed `c1..cN` with some written as text, to be restored on reading
/// (see [`crate::query::unload::UnloadPlan`]).
#[derive(Debug, Clone)]
pub(crate) struct UnloadColumns {
    /// The query's columns as Athena describes them.
    pub columns: Vec<ColumnInfo>,
    /// Per column: written as text.
    pub as_text: Vec<bool>,
    /// Whether the query is wrapped (names and types are then restored when reading).
    pub rewritten: bool,
    /// The one Parquet file DuckDB's `COPY ... TO` wrote, read instead of an UNLOAD manifest.
    pub copied_to: Option<String>,
}

impl UnloadColumns {
    /// The stream of a rewritten query's UNLOAD with the query's own names and types.
    pub(crate) fn restore(&self, stream: RecordBatchStream, unit: Option<TimeUnit>) -> Result<RecordBatchStream> {
        if !self.rewritten {
            return Ok(stream);
        }
        let read = stream.schema().clone();
        if read.fields().len() != self.columns.len() {
            return Err(Error::decode(format!("UNLOAD wrote {} columns, the query has {}", read.fields().len(), self.columns.len())));
        }
        let mut fields = Vec::with_capacity(self.columns.len());
        let mut parsed = Vec::new(); // (column index, field) of text columns parsed back
        for (i, (column, as_text)) in self.columns.iter().zip(&self.as_text).enumerate() {
            let field = if *as_text {
                let field = arrow_field(column, unit)?;
                if field.data_type() != &DataType::Utf8 {
                    parsed.push((i, field.clone()));
                }
                field
            } else {
                read.field(i).clone().with_name(&column.name)
            };
            fields.push(field);
        }
        let schema: SchemaRef = Arc::new(Schema::new(fields));
        let text_schema: SchemaRef = Arc::new(Schema::new(parsed.iter().map(|(_, f)| f.clone()).collect::<Vec<_>>()));
        let out = schema.clone();
        let batches = stream.map(move |batch| {
            let batch = batch?;
            let mut columns = batch.columns().to_vec();
            if !parsed.is_empty() {
                let mut decoder = TextDecoder::with_capacity(text_schema.clone(), batch.num_rows())?;
                let texts: Vec<&arrow::array::StringArray> = parsed
                    .iter()
                    .map(|(i, _)| {
                        columns[*i]
                            .as_any()
                            .downcast_ref::<arrow::array::StringArray>()
                            .ok_or_else(|| Error::decode(format!("UNLOAD wrote column {} as {}, not text", i + 1, columns[*i].data_type())))
                    })
                    .collect::<Result<_>>()?;
                for row in 0..batch.num_rows() {
                    decoder.append_row(texts.iter().map(|t| t.is_valid(row).then(|| t.value(row))))?;
                }
                if let Some(decoded) = decoder.flush()? {
                    for ((i, _), array) in parsed.iter().zip(decoded.columns()) {
                        columns[*i] = array.clone();
                    }
                }
            }
            RecordBatch::try_new(out.clone(), columns).map_err(|e| Error::decode(format!("cannot restore the UNLOAD columns: {e}")))
        });
        Ok(RecordBatchStream::new(schema, batches))
    }
}

/// Deletes an UNLOAD's files when dropped (see [`crate::ConnectionBuilder::with_unload_cleanup`]).
pub(crate) struct Cleanup {
    fetcher: Fetcher,
    uris: Vec<String>,
    /// The runtime the results were opened on (the drop may happen outside it).
    runtime: tokio::runtime::Handle,
}

impl Cleanup {
    /// Must be called on a runtime.
    pub(crate) fn new(fetcher: Fetcher, uris: Vec<String>) -> Self {
        Self { fetcher, uris, runtime: tokio::runtime::Handle::current() }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let (fetcher, uris) = (self.fetcher.clone(), std::mem::take(&mut self.uris));
        self.runtime.spawn(async move { fetcher.delete_all(&uris).await });
    }
}

/// A Parquet object read through the chunk reader, pinned to its ETag; its tail (read with the
/// first request, footer included) is served from memory.
#[derive(Clone)]
struct S3ParquetReader {
    fetcher: Fetcher,
    uri: Arc<str>,
    meta: ObjectMeta,
    /// The object's last bytes, from `tail_start` on.
    tail: Bytes,
    tail_start: u64,
}

impl S3ParquetReader {
    fn cached(&self, range: &Range<u64>) -> Option<Bytes> {
        (range.start >= self.tail_start && range.end <= self.meta.size)
            .then(|| self.tail.slice((range.start - self.tail_start) as usize..(range.end - self.tail_start) as usize))
    }
}

fn external(e: Error) -> ParquetError {
    ParquetError::External(Box::new(e))
}

impl AsyncFileReader for S3ParquetReader {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        async move {
            if let Some(bytes) = self.cached(&range) {
                return Ok(bytes);
            }
            self.fetcher.range(&self.uri, self.meta.etag.as_deref(), range.start, range.end).await.map_err(external)
        }
        .boxed()
    }

    fn get_byte_ranges(&mut self, ranges: Vec<Range<u64>>) -> BoxFuture<'_, parquet::errors::Result<Vec<Bytes>>> {
        async move {
            let this = &*self;
            let etag = this.meta.etag.as_deref();
            let gets = ranges.into_iter().map(|r| async move {
                match this.cached(&r) {
                    Some(bytes) => Ok(bytes),
                    None => this.fetcher.range(&this.uri, etag, r.start, r.end).await,
                }
            });
            futures::future::try_join_all(gets).await.map_err(external)
        }
        .boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        _options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        async move {
            let size = self.meta.size;
            let metadata = ParquetMetaDataReader::new().with_prefetch_hint(Some(FOOTER_GUESS as usize)).load_and_finish(self, size).await?;
            Ok(Arc::new(metadata))
        }
        .boxed()
    }
}

/// The data files of an UNLOAD as Athena records them: GetQueryResults with QueryResultType
/// DATA_MANIFEST, one `s3://` URI per row (anything else, such as a header row, is skipped).
/// This needs no S3 GET, works with Athena-managed results, and does not trust the manifest
/// object, which anyone with write access to the results location could change.
pub(crate) async fn manifest_files_from_api(client: &aws_sdk_athena::Client, query_id: &str) -> Result<Vec<String>> {
    let mut files = Vec::new();
    let mut token = None;
    loop {
        let page = client
            .get_query_results()
            .query_execution_id(query_id)
            .query_result_type(aws_sdk_athena::types::QueryResultType::DataManifest)
            .max_results(1000)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| Error::api("GetQueryResults", e))?;
        let rows = page.result_set().map(|r| r.rows()).unwrap_or_default();
        let values: Vec<&str> = rows.iter().filter_map(|r| r.data().first().and_then(|d| d.var_char_value())).collect();
        files.extend(values.iter().filter(|v| v.starts_with("s3://")).map(|v| (*v).to_owned()));
        if files.is_empty() && values.len() > 1 {
            // Rows, but none an s3:// URI: a shape this reader does not know; the manifest
            // object decides instead.
            return Err(Error::decode(format!("DATA_MANIFEST rows are not s3:// URIs (first: {:?})", values[0])));
        }
        match page.next_token() {
            Some(t) => token = Some(t.to_owned()),
            None => return Ok(files),
        }
    }
}

/// The data files of the finished UNLOAD `info`: as DATA_MANIFEST lists them, else (no files,
/// or no answer) as the manifest object does, which must then agree that there are none.
/// The data files of a query read through UNLOAD, or the file its `COPY ... TO` wrote.
pub(crate) async fn data_files_of(conn: &Connection, info: &QueryInfo, plan: Option<&UnloadColumns>) -> Result<Vec<String>> {
    if let Some(file) = plan.and_then(|p| p.copied_to.clone()) {
        return Ok(vec![file]);
    }
    let manifest = info.data_manifest_location.clone().ok_or_else(|| Error::ResultMissing {
        query_id: Some(info.query_id.clone()),
        message: "UNLOAD finished without a data manifest".into(),
    })?;
    let listed = match manifest_files_from_api(conn.athena(), &info.query_id).await {
        Ok(files) if !files.is_empty() => return Ok(files),
        listed => listed,
    };
    let object = manifest_files(conn.fetcher(), &manifest).await?;
    match listed {
        Ok(_) if !object.is_empty() => Err(Error::Incomplete {
            query_id: info.query_id.clone(),
            message: format!("the manifest {manifest} names {} data files, Athena's DATA_MANIFEST none", object.len()),
        }),
        Err(e) => {
            tracing::debug!("DATA_MANIFEST not available ({e}): reading the manifest object");
            Ok(object)
        }
        Ok(_) => Ok(object),
    }
}

/// The data files named by the manifest object at `manifest_uri`.
pub(crate) async fn manifest_files(fetcher: &Fetcher, manifest_uri: &str) -> Result<Vec<String>> {
    let bytes = fetcher.get_all(manifest_uri).await?;
    let text = std::str::from_utf8(&bytes).map_err(|e| Error::decode(format!("manifest {manifest_uri} is not UTF-8: {e}")))?;
    Ok(text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect())
}

/// The schema to read a file with: INT96 columns in `unit`, every field with its Athena type.
fn read_schema(metadata: &ArrowReaderMetadata, unit: Option<TimeUnit>) -> SchemaRef {
    let descr = metadata.metadata().file_metadata().schema_descr();
    let int96: Vec<String> = descr
        .columns()
        .iter()
        .filter(|c| c.physical_type() == parquet::basic::Type::INT96 && c.path().parts().len() == 1)
        .map(|c| c.name().to_owned())
        .collect();
    let fields: Vec<Field> = metadata
        .schema()
        .fields()
        .iter()
        .map(|f| {
            // Trino writes timestamp(3) columns as INT96: milliseconds hold every value exactly.
            let dt = if int96.contains(f.name()) {
                DataType::Timestamp(unit.unwrap_or(TimeUnit::Millisecond), None)
            } else {
                f.data_type().clone()
            };
            let mut md = f.metadata().clone();
            md.insert(ATHENA_TYPE.to_owned(), athena_type_of(&dt).to_owned());
            f.as_ref().clone().with_data_type(dt).with_metadata(md)
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// The schema a data file is read with (its footer only).
pub(crate) async fn file_schema(fetcher: &Fetcher, uri: &str, unit: Option<TimeUnit>) -> Result<SchemaRef> {
    Ok(open_file(fetcher, uri, unit, None).await?.2)
}

/// Opens a data file; `expected`: the size and ETag it must still have.
async fn open_file(fetcher: &Fetcher, uri: &str, unit: Option<TimeUnit>, expected: Option<&ObjectMeta>) -> Result<Opened> {
    // One request for the size, the ETag and the footer (Parquet footers are rarely longer).
    let (meta, tail) = fetcher.open_tail(uri, FOOTER_GUESS).await?;
    if let Some(want) = expected {
        if meta.size != want.size || (want.etag.is_some() && meta.etag != want.etag) {
            return Err(Error::Storage {
                uri: uri.to_owned(),
                message: format!(
                    "the object changed since the result was partitioned (size {} and ETag {:?}, partitioned at {} and {:?})",
                    meta.size, meta.etag, want.size, want.etag
                ),
                source: None,
            });
        }
    }
    let tail_start = meta.size - tail.len() as u64;
    let mut reader = S3ParquetReader { fetcher: fetcher.clone(), uri: uri.into(), meta, tail, tail_start };
    let parquet_err =
        |e: ParquetError| Error::Storage { uri: uri.to_owned(), message: "cannot read Parquet".into(), source: Some(Box::new(e)) };
    let metadata = ArrowReaderMetadata::load_async(&mut reader, ArrowReaderOptions::new()).await.map_err(parquet_err)?;
    let schema = read_schema(&metadata, unit);
    let hinted = ArrowReaderMetadata::try_new(metadata.metadata().clone(), ArrowReaderOptions::new().with_schema(schema.clone()))
        .map_err(parquet_err)?;
    Ok((reader, hinted, schema))
}

/// Reads every file of an UNLOAD; `None` when there is none (0 rows).
///
/// Every file has its own task, forwarding its row groups' batches in order (a file written in
/// sorted order stays so) while several row groups are fetched and decoded at once on tasks of
/// their own; the tasks share `fetch.unload_bytes_in_flight` (each row group holds its
/// compressed size of it while fetched and decoded, each footer its guess) and
/// `fetch.decoded_bytes_buffered` (each batch holds its size until the consumer takes it).
/// `files`: each URI with, when known, the size and ETag it must still have.
pub(crate) async fn unload_stream(
    fetcher: &Fetcher,
    files: Vec<(String, Option<ObjectMeta>)>,
    unit: Option<TimeUnit>,
    fetch: &FetchConfig,
) -> Result<Option<RecordBatchStream>> {
    let Some((first, expected)) = files.first() else { return Ok(None) };
    let in_flight = ByteBudget::new(fetch.unload_bytes_in_flight);
    let buffered = ByteBudget::new(fetch.decoded_bytes_buffered);
    // The first file gives the schema; it is read with the reader and footer opened for that.
    let opened = open_file(fetcher, first, unit, expected.as_ref()).await?;
    let schema = opened.2.clone();
    let mut opened = Some(opened);
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<(Result<RecordBatch>, Option<OwnedSemaphorePermit>)>();
    // The first file starts alone; the others once it has sent its first batch (or ended), so
    // that the first batch does not share the connections and cores with every other file's
    // opening.
    let (first_batch, first_sent) = tokio::sync::oneshot::channel::<()>();
    let mut first_batch = Some(first_batch);
    let mut later = Vec::new();
    for (i, (uri, expected)) in files.into_iter().enumerate() {
        let opened = opened.take();
        let signal = first_batch.take();
        let (fetcher, tx, schema, in_flight, buffered) = (fetcher.clone(), tx.clone(), schema.clone(), in_flight.clone(), buffered.clone());
        let task = async move {
            let file = File {
                fetcher: &fetcher,
                uri: &uri,
                expected: expected.as_ref(),
                unit,
                schema: &schema,
                in_flight: &in_flight,
                buffered: &buffered,
                tx: &tx,
                first_batch: std::sync::Mutex::new(signal),
            };
            // Its own task: a panicking reader must not end the stream as if the file were
            // complete.
            let task = std::panic::AssertUnwindSafe(file.read(opened)).catch_unwind().await;
            let failure = match task {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e),
                Err(_) => Some(Error::decode(format!("reading UNLOAD file {uri} failed: the reader panicked"))),
            };
            if let Some(e) = failure {
                let _ = tx.send((Err(e), None));
            }
        };
        if i == 0 {
            tokio::spawn(task);
        } else {
            later.push(task);
        }
    }
    if !later.is_empty() {
        tokio::spawn(async move {
            let _ = first_sent.await;
            for task in later {
                tokio::spawn(task);
            }
        });
    }
    drop(tx);
    // The permit of a batch is released when the consumer takes the batch.
    let stream = futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|(item, _permit)| (item, rx)) });
    Ok(Some(RecordBatchStream::new(schema, stream)))
}

/// One data file being read, and what its reading shares with the others.
struct File<'a> {
    fetcher: &'a Fetcher,
    uri: &'a str,
    expected: Option<&'a ObjectMeta>,
    unit: Option<TimeUnit>,
    schema: &'a SchemaRef,
    in_flight: &'a ByteBudget,
    buffered: &'a ByteBudget,
    tx: &'a tokio::sync::mpsc::UnboundedSender<(Result<RecordBatch>, Option<OwnedSemaphorePermit>)>,
    /// Told when this file has sent its first batch (dropped when it ends without one).
    first_batch: std::sync::Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
}

impl File<'_> {
    async fn read(&self, opened: Option<Opened>) -> Result<()> {
        let (reader, metadata, file_schema) = match opened {
            Some(o) => o,
            None => {
                let _footer = self.in_flight.acquire(FOOTER_GUESS).await;
                open_file(self.fetcher, self.uri, self.unit, self.expected).await?
            }
        };
        let same = file_schema.fields().len() == self.schema.fields().len()
            && file_schema.fields().iter().zip(self.schema.fields()).all(|(a, b)| a.name() == b.name() && a.data_type() == b.data_type());
        if !same {
            return Err(Error::decode(format!(
                "UNLOAD file {} has another schema than the first file: it was replaced after the query ended",
                self.uri
            )));
        }
        // Row groups are read on tasks of their own, several at once (one large file uses every
        // core), each sending a few batches ahead; their batches are forwarded in file order.
        let groups = metadata.metadata().num_row_groups();
        let parallel = std::thread::available_parallelism().map_or(2, |n| n.get()) + 1;
        let mut queue = std::collections::VecDeque::new();
        let mut next = 0;
        loop {
            while next < groups && queue.len() < parallel {
                let size = u64::try_from(metadata.metadata().row_group(next).compressed_size()).unwrap_or(0);
                // Waits for the budget only when nothing of this file is under way (what is
                // under way frees it as the consumer takes its batches).
                let held = if queue.is_empty() {
                    self.in_flight.acquire(size).await
                } else {
                    match self.in_flight.try_acquire(size) {
                        Some(held) => held,
                        None => break,
                    }
                };
                queue.push_back(spawn_row_group(reader.clone(), metadata.clone(), next, held, self.uri));
                next += 1;
            }
            let Some(mut group) = queue.pop_front() else { return Ok(()) };
            loop {
                match group.recv().await {
                    Some(Ok(Some(batch))) => {
                        let batch =
                            batch.with_schema(self.schema.clone()).map_err(|e| Error::decode(format!("UNLOAD file {}: {e}", self.uri)))?;
                        let permit = self.buffered.acquire(batch.get_array_memory_size() as u64).await;
                        if self.tx.send((Ok(batch), Some(permit))).is_err() {
                            return Ok(()); // the consumer is gone
                        }
                        if let Some(signal) = self.first_batch.lock().expect("not poisoned").take() {
                            let _ = signal.send(());
                        }
                    }
                    Some(Ok(None)) => break, // the row group is complete
                    Some(Err(e)) => return Err(e),
                    None => return Err(Error::decode(format!("reading UNLOAD file {}: a row group's reader stopped early", self.uri))),
                }
            }
        }
    }
}

/// Reads row group `group` on a task of its own, holding `held` (its share of the in-flight
/// budget) until done; sends its batches, then `None` once complete (a reader that stops without
/// it failed).
fn spawn_row_group(
    reader: S3ParquetReader,
    metadata: ArrowReaderMetadata,
    group: usize,
    held: OwnedSemaphorePermit,
    uri: &str,
) -> tokio::sync::mpsc::Receiver<Result<Option<RecordBatch>>> {
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    let uri = uri.to_owned();
    tokio::spawn(async move {
        let _held = held;
        let parquet_err =
            |e: ParquetError| Error::Storage { uri: uri.clone(), message: "cannot decode Parquet".into(), source: Some(Box::new(e)) };
        let read = async {
            let mut stream = ParquetRecordBatchStreamBuilder::new_with_metadata(reader, metadata)
                .with_row_groups(vec![group])
                .with_batch_size(BATCH_ROWS)
                .build()
                .map_err(parquet_err)?;
            while let Some(batch) = stream.next().await {
                if tx.send(Ok(Some(batch.map_err(parquet_err)?))).await.is_err() {
                    return Ok(()); // the file's reader is gone
                }
            }
            let _ = tx.send(Ok(None)).await;
            Ok::<_, Error>(())
        };
        match std::panic::AssertUnwindSafe(read).catch_unwind().await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                let _ = tx.send(Err(e)).await;
            }
            Err(_) => {
                let _ = tx.send(Err(Error::decode(format!("reading UNLOAD file {uri}: the row group reader panicked")))).await;
            }
        }
    });
    rx
}

/// A data file with its reader and footer loaded, and the schema it is read with.
type Opened = (S3ParquetReader, ArrowReaderMetadata, SchemaRef);
