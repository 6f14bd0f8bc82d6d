//! UNLOAD: the query's rows as Parquet data files under the TO prefix (one writer per engine
//! partition, so several files are written concurrently; `partitioned_by` folders), and the
//! data manifest in the results location.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, BooleanArray, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::error::DataFusionError;
use datafusion::physical_plan::execute_stream_partitioned;
use datafusion::sql::sqlparser::ast::{self as sqlast, Expr, SqlOption, Statement, Value, ValueWithSpan};
use futures::StreamExt;
use parquet::basic::{Compression, GzipLevel, ZstdLevel};
use parquet::file::properties::WriterProperties;
use parquet::schema::types::SchemaDescriptor;

use crate::catalog::files::dir_has_files;
use crate::catalog::split_s3_uri;
use crate::engine::Planned;
use crate::engine::errors::df_failure;
use crate::failure::Failure;
use crate::formats::objects::{ObjectLayout, ObjectWriter};
use crate::formats::result_csv::csv_header;
use crate::formats::trino_parquet::{TrinoWriter, file_schemas};
use crate::formats::value_text::write_value;
use crate::statements::{Executor, Job, Outcome};
use crate::types::ATHENA_TYPE_KEY;

/// Rows per data file before a writer rolls over to the next file (by default; see
/// `EmulatorBuilder::with_unload_rows_per_file`).
pub const ROWS_PER_FILE: usize = 2_000_000;

/// Rows per Parquet row group (by default; see `EmulatorBuilder::with_unload_rows_per_row_group`).
pub const ROWS_PER_ROW_GROUP: usize = 1024 * 1024;

/// How an UNLOAD cuts its rows into files and row groups.
#[derive(Debug, Clone, Copy)]
pub struct FileShape {
    pub rows_per_file: usize,
    pub rows_per_row_group: usize,
}

#[derive(Debug, Clone)]
pub struct UnloadOptions {
    pub compression: Compression,
    pub partitioned_by: Vec<String>,
}

fn option_text(e: &Expr) -> Option<String> {
    match e {
        Expr::Value(ValueWithSpan { value: Value::SingleQuotedString(s), .. }) => Some(s.clone()),
        Expr::Value(ValueWithSpan { value: Value::Number(n, _), .. }) => Some(n.clone()),
        Expr::Identifier(i) => Some(i.value.clone()),
        _ => None,
    }
}

impl UnloadOptions {
    pub fn parse(with: &[SqlOption]) -> Result<Self, Failure> {
        let mut format = "PARQUET".to_owned();
        // Athena's default compression for Parquet is GZIP.
        let mut compression = "GZIP".to_owned();
        let mut level: Option<i32> = None;
        let mut partitioned_by = Vec::new();
        for opt in with {
            let SqlOption::KeyValue { key, value } = opt else {
                return Err(Failure::user("INVALID_INPUT", format!("unsupported UNLOAD option {opt}")));
            };
            match key.value.to_ascii_lowercase().as_str() {
                "format" => format = option_text(value).unwrap_or_default().to_ascii_uppercase(),
                "compression" => compression = option_text(value).unwrap_or_default().to_ascii_uppercase(),
                "compression_level" => level = option_text(value).and_then(|v| v.parse().ok()),
                "partitioned_by" => match value {
                    Expr::Array(arr) => partitioned_by = arr.elem.iter().filter_map(option_text).map(|s| s.to_ascii_lowercase()).collect(),
                    other => {
                        return Err(Failure::user("INVALID_INPUT", format!("partitioned_by must be ARRAY['col', ...], got {other}")));
                    }
                },
                other => {
                    return Err(Failure::user("INVALID_INPUT", format!("Unknown UNLOAD property: {other}")));
                }
            }
        }
        if format != "PARQUET" {
            return Err(Failure::user(
                "NOT_SUPPORTED",
                format!("UNLOAD format {format} is not supported by the local endpoint (PARQUET only)"),
            ));
        }
        let compression = match compression.as_str() {
            "SNAPPY" => Compression::SNAPPY,
            "GZIP" => Compression::GZIP(GzipLevel::default()),
            "ZSTD" => Compression::ZSTD(
                ZstdLevel::try_new(level.unwrap_or(3)).map_err(|e| Failure::user("INVALID_INPUT", format!("compression_level: {e}")))?,
            ),
            "NONE" | "UNCOMPRESSED" => Compression::UNCOMPRESSED,
            other => {
                return Err(Failure::user("INVALID_INPUT", format!("Unsupported compression for PARQUET: {other}")));
            }
        };
        Ok(Self { compression, partitioned_by })
    }
}

/// The Hive type name UNLOAD cannot write, if any.
fn unsupported(field: &Field) -> Option<String> {
    if let Some(t) = field.metadata().get(ATHENA_TYPE_KEY)
        && matches!(t.as_str(), "json" | "uuid" | "ipaddress")
    {
        return Some(t.clone());
    }
    match field.data_type() {
        DataType::Time32(_) | DataType::Time64(_) => Some("time(3)".into()),
        DataType::Timestamp(_, Some(_)) => Some("timestamp(3) with time zone".into()),
        DataType::Interval(arrow::datatypes::IntervalUnit::YearMonth) => Some("interval year to month".into()),
        DataType::Interval(_) | DataType::Duration(_) => Some("interval day to second".into()),
        DataType::Null => Some("unknown".into()),
        DataType::List(f) | DataType::LargeList(f) => unsupported(f),
        DataType::Struct(fs) => fs.iter().find_map(|f| unsupported(f)),
        DataType::Map(e, _) => unsupported(e),
        _ => None,
    }
}

/// Refuses what Athena's UNLOAD refuses, with its messages.
pub fn check_supported(schema: &Schema) -> Result<(), Failure> {
    let mut seen = std::collections::HashSet::new();
    for (i, f) in schema.fields().iter().enumerate() {
        if f.name().is_empty() || f.name().starts_with("_col") && f.name()[4..].parse::<usize>().is_ok() {
            return Err(Failure::user("INVALID_INPUT", format!("Column name not specified at position {}", i + 1)));
        }
        if !seen.insert(f.name().to_ascii_lowercase()) {
            return Err(Failure::user("INVALID_INPUT", format!("Column name '{}' specified more than once", f.name())));
        }
        if let Some(t) = unsupported(f) {
            return Err(Failure::user("NOT_SUPPORTED", format!("Unsupported Hive type: {t}")));
        }
    }
    Ok(())
}

pub enum UnloadError {
    Engine(DataFusionError),
    Failure(Failure),
}

impl From<Failure> for UnloadError {
    fn from(f: Failure) -> Self {
        UnloadError::Failure(f)
    }
}

impl From<std::io::Error> for UnloadError {
    fn from(e: std::io::Error) -> Self {
        UnloadError::Failure(e.into())
    }
}

struct FileTarget {
    layout: ObjectLayout,
    tmp_dir: std::path::PathBuf,
    bucket: String,
    prefix: String,
    query_id: String,
    schema: SchemaRef,
    descr: SchemaDescriptor,
    props: WriterProperties,
    /// CSE_KMS: each data file sealed with this key.
    seal: Option<crate::formats::envelope::Seal>,
}

/// An open data file.
struct OpenFile {
    writer: TrinoWriter,
    uri: String,
    rows: usize,
}

impl FileTarget {
    fn open(&self, folder: &str) -> Result<OpenFile, UnloadError> {
        let key = format!("{}{folder}{}_{}", self.prefix, self.query_id, uuid::Uuid::new_v4());
        let out = ObjectWriter::object(&self.layout, &self.tmp_dir, &self.bucket, &key)?.sealed(self.seal.as_ref(), None);
        let writer = TrinoWriter::new(out, self.schema.clone(), self.descr.clone(), self.props.clone())
            .map_err(|e| Failure::system(e.to_string()))?;
        Ok(OpenFile { writer, uri: format!("s3://{}/{key}", self.bucket), rows: 0 })
    }

    fn close(file: OpenFile) -> Result<(String, usize), UnloadError> {
        let out = file.writer.finish().map_err(|e| Failure::system(e.to_string()))?;
        out.finish()?;
        Ok((file.uri, file.rows))
    }
}

/// Writes the plan's output under `s3://bucket/prefix`; returns each data file with its rows.
#[allow(clippy::too_many_arguments)]
async fn write_unload(
    planned: &Planned,
    layout: &ObjectLayout,
    tmp_dir: &Path,
    bucket: &str,
    prefix: &str,
    query_id: &str,
    options: &UnloadOptions,
    shape: FileShape,
    seal: Option<&crate::formats::envelope::Seal>,
) -> Result<Vec<(String, usize)>, UnloadError> {
    let rows_per_file = shape.rows_per_file.max(1);
    let schema = &planned.schema;
    let part_idx: Vec<usize> = options
        .partitioned_by
        .iter()
        .map(|p| {
            schema.index_of(p).map_err(|_| {
                UnloadError::Failure(Failure::user("INVALID_INPUT", format!("Partition column {p} is not in the query output")))
            })
        })
        .collect::<Result<_, _>>()?;
    let data_idx: Vec<usize> = (0..schema.fields().len()).filter(|i| !part_idx.contains(i)).collect();
    let data_schema = Schema::new(data_idx.iter().map(|&i| schema.field(i).clone()).collect::<Vec<_>>());
    let (file_schema, descr) = file_schemas(&data_schema)?;
    let props = WriterProperties::builder()
        .set_compression(options.compression)
        .set_created_by("Trino".into())
        .set_max_row_group_row_count(Some(shape.rows_per_row_group.max(1)))
        .build();
    let target = Arc::new(FileTarget {
        layout: layout.clone(),
        tmp_dir: tmp_dir.to_owned(),
        bucket: bucket.to_owned(),
        prefix: prefix.to_owned(),
        query_id: query_id.to_owned(),
        schema: file_schema,
        descr,
        props,
        seal: seal.cloned(),
    });
    let streams = execute_stream_partitioned(planned.physical.clone(), planned.ctx.task_ctx()).map_err(UnloadError::Engine)?;
    let tasks = streams.into_iter().map(|mut stream| {
        let target = target.clone();
        let (part_idx, data_idx) = (part_idx.clone(), data_idx.clone());
        async move {
            let mut open: HashMap<String, OpenFile> = HashMap::new();
            let mut done = Vec::new();
            while let Some(batch) = stream.next().await {
                let batch = batch.map_err(UnloadError::Engine)?;
                for (folder, rows) in split_partitions(&batch, &part_idx, &data_idx) {
                    let mut rows = conform(&rows, &target.schema).map_err(|e| UnloadError::Engine(e.into()))?;
                    while rows.num_rows() > 0 {
                        if !open.contains_key(&folder) {
                            open.insert(folder.clone(), target.open(&folder)?);
                        }
                        let file = open.get_mut(&folder).expect("just opened");
                        // Files end at `rows_per_file` rows, whatever the batches' size.
                        let take = (rows_per_file - file.rows).min(rows.num_rows());
                        file.writer.write(&rows.slice(0, take)).map_err(|e| Failure::system(e.to_string()))?;
                        file.rows += take;
                        if file.rows >= rows_per_file {
                            done.push(FileTarget::close(open.remove(&folder).expect("present"))?);
                        }
                        rows = rows.slice(take, rows.num_rows() - take);
                    }
                }
            }
            for (_, file) in open {
                done.push(FileTarget::close(file)?);
            }
            Ok::<_, UnloadError>(done)
        }
    });
    let mut files = Vec::new();
    for result in futures::future::join_all(tasks).await {
        files.extend(result?);
    }
    Ok(files)
}

fn conform(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, arrow::error::ArrowError> {
    let columns =
        batch.columns().iter().zip(schema.fields()).map(|(c, f)| arrow::compute::cast(c, f.data_type())).collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new(schema.clone(), columns)
}

/// Splits a batch by the text of its partition columns into `col=value/` folders.
fn split_partitions(batch: &RecordBatch, part_idx: &[usize], data_idx: &[usize]) -> Vec<(String, RecordBatch)> {
    let data = batch.project(data_idx).expect("indices in range");
    if part_idx.is_empty() {
        return vec![(String::new(), data)];
    }
    let schema = batch.schema();
    let mut folders: Vec<String> = Vec::with_capacity(batch.num_rows());
    let mut s = String::new();
    for row in 0..batch.num_rows() {
        let mut folder = String::new();
        for &i in part_idx {
            let col = batch.column(i);
            s.clear();
            if col.is_null(row) {
                s.push_str("__HIVE_DEFAULT_PARTITION__");
            } else {
                write_value(&mut s, col.as_ref(), row);
            }
            let enc = percent_encoding::utf8_percent_encode(&s, percent_encoding::NON_ALPHANUMERIC).to_string();
            folder.push_str(&format!("{}={enc}/", schema.field(i).name()));
        }
        folders.push(folder);
    }
    let mut distinct: Vec<String> = folders.clone();
    distinct.sort();
    distinct.dedup();
    distinct
        .into_iter()
        .map(|f| {
            let mask = BooleanArray::from(folders.iter().map(|x| *x == f).collect::<Vec<_>>());
            let rows = arrow::compute::filter_record_batch(&data, &mask).expect("mask matches batch");
            (f, rows)
        })
        .collect()
}

impl Executor {
    pub(crate) async fn run_unload(
        &self,
        job: &Job,
        query: &sqlast::Query,
        to: &str,
        with: &[sqlast::SqlOption],
    ) -> Result<Outcome, Failure> {
        let options = UnloadOptions::parse(with)?;
        let (bucket, prefix) =
            split_s3_uri(to).ok_or_else(|| Failure::user("INVALID_INPUT", format!("UNLOAD TO must be an s3:// location: {to}")))?;
        let prefix = if prefix.is_empty() || prefix.ends_with('/') { prefix } else { format!("{prefix}/") };
        if !self.layout.bucket_path(&bucket).is_dir() {
            return Err(Failure::user("INVALID_INPUT", format!("Bucket {bucket} does not exist")));
        }
        if let Some(dir) = self.layout.object_path(&bucket, prefix.trim_end_matches('/')).filter(|_| !prefix.is_empty())
            && dir_has_files(&dir)
        {
            return Err(Failure::user("HIVE_PATH_ALREADY_EXISTS", format!("Target directory for table '{}' already exists: {to}", job.id)));
        }
        // UNLOAD writes one file per engine partition, as Athena's workers do: rows are spread
        // over every partition (a SELECT keeps a file's order instead).
        let ctx = self.engine.session(&job.database);
        ctx.state_ref().write().config_mut().options_mut().optimizer.enable_round_robin_repartition = true;
        let planned = self.engine.plan_in(ctx, &job.sql, Statement::Query(Box::new(query.clone()))).await?;
        let schema = &planned.schema;
        check_supported(schema)?;
        let files = write_unload(
            &planned,
            &self.layout,
            &self.tmp_dir(),
            &bucket,
            &prefix,
            &job.id,
            &options,
            self.unload_shape,
            job.seal.as_ref(),
        )
        .await
        .map_err(|e| match e {
            UnloadError::Engine(e) => df_failure(&job.sql, e),
            UnloadError::Failure(f) => f,
        })?;
        // The manifest goes to the results location (or internal storage for managed results).
        let lines: Vec<String> = files.iter().map(|(uri, _)| uri.clone()).collect();
        let mut outcome = Outcome {
            columns: schema.fields().iter().map(|f| job.dialect.column_info(f)).collect(),
            update_count: Some(files.iter().map(|(_, rows)| *rows as i64).sum()),
            data_scanned: planned.scanned(),
            ..Outcome::default()
        };
        let manifest_text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        if let Some((_, bucket, key)) = self.result_object(job, "csv") {
            let key = key.trim_end_matches(".csv").to_owned() + "-manifest.csv";
            let mut w = ObjectWriter::object(&self.layout, &self.tmp_dir(), &bucket, &key)?.sealed(job.seal.as_ref(), None);
            std::io::Write::write_all(&mut w, manifest_text.as_bytes())?;
            w.finish()?;
            outcome.manifest_location = Some(format!("s3://{bucket}/{key}"));
            // An UNLOAD has a result location too (clients check it before reading the
            // manifest); it names the manifest, as there is no result CSV.
            outcome.output_location = outcome.manifest_location.clone();
        }
        let manifest_rows: Vec<Vec<String>> = lines.into_iter().map(|l| vec![l]).collect();
        let mut w = ObjectWriter::file(&self.tmp_dir(), self.manifest_rows_path(&job.id))?;
        for row in &manifest_rows {
            std::io::Write::write_all(&mut w, &csv_header(row))?;
        }
        w.finish()?;
        outcome.api_rows = Some(self.write_api_rows(job, None, &[])?);
        Ok(outcome)
    }

    /// Where GetQueryResults(QueryResultType=DATA_MANIFEST) reads an UNLOAD's manifest.
    pub fn manifest_rows_path(&self, id: &str) -> PathBuf {
        self.state_dir.join("results").join(format!("{id}-manifest.csv"))
    }
}
