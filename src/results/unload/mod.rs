//! The UNLOAD source: the manifest names the Parquet data files ([`data_files_of`]), which are
//! read in file order, many at once ([`schedule`]), each through parquet's async reader over
//! ranged GETs ([`parquet`]). Columns the query wrote as text are typed back here.

pub(crate) mod parquet;
pub(crate) mod schedule;

use std::sync::Arc;

use arrow::array::{Array, RecordBatch};
use arrow::datatypes::{DataType, Schema, SchemaRef, TimeUnit};
use futures::StreamExt;

use crate::connection::Connection;
use crate::decode::TextDecoder;
use crate::decode::schema::{ColumnInfo, arrow_field};
use crate::error::{Error, Result};
use crate::fetch::Fetcher;
use crate::info::QueryInfo;
use crate::results::stream::RecordBatchStream;
pub(crate) use crate::results::unload::parquet::file_schema;
pub(crate) use crate::results::unload::schedule::unload_stream;

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
