//! UNLOAD to Parquet with the physical types Trino's Hive writer uses (athena-behaviour.md
//! section 5): one writer per engine partition, so several files are written concurrently.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use arrow::array::AsArray;
use arrow::array::{Array, BooleanArray, RecordBatch};
use arrow::datatypes::TimestampMillisecondType;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::error::DataFusionError;
use datafusion::physical_plan::{ExecutionPlan, execute_stream_partitioned};
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::{Expr, SqlOption, Value, ValueWithSpan};
use futures::StreamExt;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{ArrowColumnWriter, ArrowRowGroupWriterFactory, ArrowWriterOptions, compute_leaves};
use parquet::basic::{
    Compression, DecimalType, GzipLevel, IntType, LogicalType, Repetition, TimestampType, Type as PhysicalType, ZstdLevel,
};
use parquet::data_type::{Int96, Int96Type};
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::{SchemaDescriptor, Type};

use crate::engine::Failure;
use crate::results::ObjectWriter;
use crate::s3::ObjectLayout;
use crate::text::write_value;
use crate::types::ATHENA_TYPE_KEY;

/// Rows per data file before a writer rolls over to the next file (by default; see
/// `EmulatorBuilder::with_unload_rows_per_file`).
pub const ROWS_PER_FILE: usize = 2_000_000;

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

/// Bytes of a FIXED_LEN_BYTE_ARRAY holding any unscaled decimal of `precision` digits.
fn decimal_len(precision: u8) -> i32 {
    (1..=16).find(|n| 2f64.powi(8 * n - 1) > 10f64.powi(precision as i32)).unwrap_or(16)
}

/// The Parquet type Trino's Hive writer uses for an engine field (`top`: a column of the file, not
/// a nested field).
fn parquet_type(name: &str, dt: &DataType, repetition: Repetition, top: bool) -> Result<Type, Failure> {
    let prim = |p: PhysicalType| Type::primitive_type_builder(name, p).with_repetition(repetition);
    let err = |e: parquet::errors::ParquetError| Failure::system(e.to_string());
    let t = match dt {
        DataType::Boolean => prim(PhysicalType::BOOLEAN).build(),
        DataType::Int8 => {
            prim(PhysicalType::INT32).with_logical_type(Some(LogicalType::Integer(IntType { bit_width: 8, is_signed: true }))).build()
        }
        DataType::Int16 => {
            prim(PhysicalType::INT32).with_logical_type(Some(LogicalType::Integer(IntType { bit_width: 16, is_signed: true }))).build()
        }
        DataType::Int32 => prim(PhysicalType::INT32).build(),
        DataType::Int64 => prim(PhysicalType::INT64).build(),
        DataType::Float32 => prim(PhysicalType::FLOAT).build(),
        DataType::Float64 => prim(PhysicalType::DOUBLE).build(),
        DataType::Decimal128(p, s) => prim(PhysicalType::FIXED_LEN_BYTE_ARRAY)
            .with_length(decimal_len(*p))
            .with_logical_type(Some(LogicalType::Decimal(DecimalType { scale: *s as i32, precision: *p as i32 })))
            .with_precision(*p as i32)
            .with_scale(*s as i32)
            .build(),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            prim(PhysicalType::BYTE_ARRAY).with_logical_type(Some(LogicalType::String)).build()
        }
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => prim(PhysicalType::BYTE_ARRAY).build(),
        DataType::Date32 => prim(PhysicalType::INT32).with_logical_type(Some(LogicalType::Date)).build(),
        // Trino writes INT96 (Impala's Julian day + nanoseconds of day). `TrinoWriter` writes top-level
        // timestamp columns itself; parquet-rs cannot encode INT96 inside nested types, which stay
        // INT64 millis.
        DataType::Timestamp(_, None) if top => prim(PhysicalType::INT96).build(),
        DataType::Timestamp(_, None) => prim(PhysicalType::INT64)
            .with_logical_type(Some(LogicalType::Timestamp(TimestampType {
                is_adjusted_to_u_t_c: false,
                unit: parquet::basic::TimeUnit::MILLIS,
            })))
            .build(),
        DataType::List(item) | DataType::LargeList(item) => {
            let element = parquet_type("element", item.data_type(), Repetition::OPTIONAL, false)?;
            let list = Type::group_type_builder("list")
                .with_repetition(Repetition::REPEATED)
                .with_fields(vec![Arc::new(element)])
                .build()
                .map_err(err)?;
            Type::group_type_builder(name)
                .with_repetition(repetition)
                .with_logical_type(Some(LogicalType::List))
                .with_fields(vec![Arc::new(list)])
                .build()
        }
        DataType::Map(entries, _) => {
            let DataType::Struct(kv) = entries.data_type() else {
                return Err(Failure::system("map without key/value"));
            };
            let key = parquet_type("key", kv[0].data_type(), Repetition::REQUIRED, false)?;
            let value = parquet_type("value", kv[1].data_type(), Repetition::OPTIONAL, false)?;
            let kv = Type::group_type_builder("key_value")
                .with_repetition(Repetition::REPEATED)
                .with_fields(vec![Arc::new(key), Arc::new(value)])
                .build()
                .map_err(err)?;
            Type::group_type_builder(name)
                .with_repetition(repetition)
                .with_logical_type(Some(LogicalType::Map))
                .with_fields(vec![Arc::new(kv)])
                .build()
        }
        DataType::Struct(fields) => {
            let children = fields
                .iter()
                .map(|f| parquet_type(f.name(), f.data_type(), Repetition::OPTIONAL, false).map(Arc::new))
                .collect::<Result<Vec<_>, _>>()?;
            Type::group_type_builder(name).with_repetition(repetition).with_fields(children).build()
        }
        other => {
            return Err(Failure::user("NOT_SUPPORTED", format!("Unsupported Hive type: {other}")));
        }
    };
    t.map_err(err)
}

/// Every level OPTIONAL, as Trino writes it (map keys stay required).
fn nullable(dt: &DataType) -> DataType {
    let field = |f: &Field| Arc::new(f.clone().with_data_type(nullable(f.data_type())).with_nullable(true));
    match dt {
        DataType::List(f) => DataType::List(field(f)),
        DataType::LargeList(f) => DataType::LargeList(field(f)),
        DataType::Struct(fs) => DataType::Struct(fs.iter().map(|f| field(f)).collect()),
        DataType::Map(entries, sorted) => match entries.data_type() {
            DataType::Struct(kv) => {
                let key = kv[0].as_ref().clone();
                let kv = vec![Arc::new(key), field(&kv[1])];
                DataType::Map(Arc::new(entries.as_ref().clone().with_data_type(DataType::Struct(kv.into()))), *sorted)
            }
            _ => dt.clone(),
        },
        DataType::Timestamp(_, None) => DataType::Timestamp(TimeUnit::Millisecond, None),
        other => other.clone(),
    }
}

/// The Arrow schema actually written (timestamps as milliseconds) and its Parquet schema.
fn file_schemas(schema: &Schema) -> Result<(SchemaRef, SchemaDescriptor), Failure> {
    let fields: Vec<Field> =
        schema.fields().iter().map(|f| f.as_ref().clone().with_data_type(nullable(f.data_type())).with_nullable(true)).collect();
    let parquet_fields = fields
        .iter()
        .map(|f| parquet_type(f.name(), f.data_type(), Repetition::OPTIONAL, true).map(Arc::new))
        .collect::<Result<Vec<_>, _>>()?;
    let root = Type::group_type_builder("trino_schema").with_fields(parquet_fields).build().map_err(|e| Failure::system(e.to_string()))?;
    Ok((Arc::new(Schema::new(fields)), SchemaDescriptor::new(Arc::new(root))))
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
}

/// An open data file.
struct OpenFile {
    writer: TrinoWriter,
    uri: String,
    rows: usize,
}

/// Where one column of the file goes until its row group is flushed.
enum Sink {
    /// parquet-rs encodes the column's leaves.
    Arrow(Vec<ArrowColumnWriter>),
    /// A top-level timestamp, written as INT96 through the low-level column writer.
    Int96 { values: Vec<Int96>, defs: Vec<i16> },
}

/// A Parquet file writer with Trino's physical types: `ArrowWriter`'s column encoders for
/// everything parquet-rs can write, and INT96 for top-level timestamp columns (which parquet-rs's
/// Arrow writer cannot produce). Row groups are buffered encoded, as `ArrowWriter` does.
struct TrinoWriter {
    file: SerializedFileWriter<ObjectWriter>,
    factory: ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    sinks: Vec<Sink>,
    row_group: usize,
    buffered: usize,
    max_rows: usize,
}

/// Julian day number of 1970-01-01.
const JULIAN_EPOCH_DAY: i64 = 2_440_588;
const MILLIS_PER_DAY: i64 = 86_400_000;

/// Impala/Trino INT96: nanoseconds of the day (8 bytes LE), then the Julian day (4 bytes LE).
fn int96_from_millis(ms: i64) -> Int96 {
    let nanos = ms.rem_euclid(MILLIS_PER_DAY) * 1_000_000;
    let day = ms.div_euclid(MILLIS_PER_DAY) + JULIAN_EPOCH_DAY;
    let mut v = Int96::new();
    v.set_data(nanos as u32, (nanos >> 32) as u32, day as u32);
    v
}

/// Parquet leaf columns of an Arrow type, as `ArrowRowGroupWriterFactory` expands them.
fn leaf_count(dt: &DataType) -> usize {
    match dt {
        DataType::List(f) | DataType::LargeList(f) => leaf_count(f.data_type()),
        DataType::Struct(fs) => fs.iter().map(|f| leaf_count(f.data_type())).sum(),
        DataType::Map(e, _) => leaf_count(e.data_type()),
        _ => 1,
    }
}

impl TrinoWriter {
    fn new(out: ObjectWriter, schema: SchemaRef, descr: SchemaDescriptor, props: WriterProperties) -> Result<Self, ParquetError> {
        let max_rows = props.max_row_group_row_count().unwrap_or(1024 * 1024);
        // Trino writes no ARROW:schema; readers must type INT96 on their own.
        let options = ArrowWriterOptions::new().with_properties(props).with_parquet_schema(descr).with_skip_arrow_metadata(true);
        let (file, factory) = ArrowWriter::try_new_with_options(out, schema.clone(), options)?.into_serialized_writer()?;
        let mut writer = Self { file, factory, schema, sinks: Vec::new(), row_group: 0, buffered: 0, max_rows };
        writer.sinks = writer.new_sinks()?;
        Ok(writer)
    }

    fn new_sinks(&self) -> Result<Vec<Sink>, ParquetError> {
        let mut writers = self.factory.create_column_writers(self.row_group)?.into_iter();
        Ok(self
            .schema
            .fields()
            .iter()
            .map(|f| {
                let leaves: Vec<ArrowColumnWriter> = writers.by_ref().take(leaf_count(f.data_type())).collect();
                match f.data_type() {
                    DataType::Timestamp(_, None) => Sink::Int96 { values: Vec::new(), defs: Vec::new() },
                    _ => Sink::Arrow(leaves),
                }
            })
            .collect())
    }

    fn write(&mut self, batch: &RecordBatch) -> Result<(), ParquetError> {
        for ((sink, field), column) in self.sinks.iter_mut().zip(self.schema.fields()).zip(batch.columns()) {
            match sink {
                Sink::Arrow(writers) => {
                    for (writer, leaf) in writers.iter_mut().zip(compute_leaves(field, column)?) {
                        writer.write(&leaf)?;
                    }
                }
                Sink::Int96 { values, defs } => {
                    let ts = column.as_primitive::<TimestampMillisecondType>();
                    for v in ts.iter() {
                        defs.push(v.is_some() as i16);
                        values.extend(v.map(int96_from_millis));
                    }
                }
            }
        }
        self.buffered += batch.num_rows();
        if self.buffered >= self.max_rows {
            self.flush_row_group()?;
        }
        Ok(())
    }

    fn flush_row_group(&mut self) -> Result<(), ParquetError> {
        if self.buffered == 0 {
            return Ok(());
        }
        self.row_group += 1;
        let fresh = self.new_sinks()?;
        let sinks = std::mem::replace(&mut self.sinks, fresh);
        let mut row_group = self.file.next_row_group()?;
        for sink in sinks {
            match sink {
                Sink::Arrow(writers) => {
                    for writer in writers {
                        writer.close()?.append_to_row_group(&mut row_group)?;
                    }
                }
                Sink::Int96 { values, defs } => {
                    let mut column = row_group.next_column()?.ok_or_else(|| ParquetError::General("missing INT96 column".into()))?;
                    column.typed::<Int96Type>().write_batch(&values, Some(&defs), None)?;
                    column.close()?;
                }
            }
        }
        row_group.close()?;
        self.buffered = 0;
        Ok(())
    }

    fn finish(mut self) -> Result<ObjectWriter, ParquetError> {
        self.flush_row_group()?;
        self.file.into_inner()
    }
}

impl FileTarget {
    fn open(&self, folder: &str) -> Result<OpenFile, UnloadError> {
        let key = format!("{}{folder}{}_{}", self.prefix, self.query_id, uuid::Uuid::new_v4());
        let out = ObjectWriter::object(&self.layout, &self.tmp_dir, &self.bucket, &key)?;
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
pub async fn write_unload(
    ctx: &SessionContext,
    physical: Arc<dyn ExecutionPlan>,
    schema: SchemaRef,
    layout: &ObjectLayout,
    tmp_dir: &Path,
    bucket: &str,
    prefix: &str,
    query_id: &str,
    options: &UnloadOptions,
    rows_per_file: usize,
) -> Result<Vec<(String, usize)>, UnloadError> {
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
    let props = WriterProperties::builder().set_compression(options.compression).set_created_by("Trino".into()).build();
    let target = Arc::new(FileTarget {
        layout: layout.clone(),
        tmp_dir: tmp_dir.to_owned(),
        bucket: bucket.to_owned(),
        prefix: prefix.to_owned(),
        query_id: query_id.to_owned(),
        schema: file_schema,
        descr,
        props,
    });
    let streams = execute_stream_partitioned(physical, ctx.task_ctx()).map_err(UnloadError::Engine)?;
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
