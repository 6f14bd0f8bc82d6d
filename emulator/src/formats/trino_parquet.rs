//! Parquet files with the physical types Trino's Hive writer uses (athena-behaviour.md
//! section 5): root `trino_schema`, every level OPTIONAL, tinyint/smallint as INT32 with
//! INT(8)/INT(16), decimals as FIXED_LEN_BYTE_ARRAY, 3-level lists, MAP key_value, top-level
//! timestamps as INT96.

use std::sync::Arc;

use arrow::array::AsArray;
use arrow::array::RecordBatch;
use arrow::datatypes::TimestampMillisecondType;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{ArrowColumnWriter, ArrowRowGroupWriterFactory, ArrowWriterOptions, compute_leaves};
use parquet::basic::{DecimalType, IntType, LogicalType, Repetition, TimestampType, Type as PhysicalType};
use parquet::data_type::{Int96, Int96Type};
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::{SchemaDescriptor, Type};

use crate::failure::Failure;
use crate::formats::objects::ObjectWriter;

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
pub fn file_schemas(schema: &Schema) -> Result<(SchemaRef, SchemaDescriptor), Failure> {
    let fields: Vec<Field> =
        schema.fields().iter().map(|f| f.as_ref().clone().with_data_type(nullable(f.data_type())).with_nullable(true)).collect();
    let parquet_fields = fields
        .iter()
        .map(|f| parquet_type(f.name(), f.data_type(), Repetition::OPTIONAL, true).map(Arc::new))
        .collect::<Result<Vec<_>, _>>()?;
    let root = Type::group_type_builder("trino_schema").with_fields(parquet_fields).build().map_err(|e| Failure::system(e.to_string()))?;
    Ok((Arc::new(Schema::new(fields)), SchemaDescriptor::new(Arc::new(root))))
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
pub struct TrinoWriter {
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
    pub fn new(out: ObjectWriter, schema: SchemaRef, descr: SchemaDescriptor, props: WriterProperties) -> Result<Self, ParquetError> {
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

    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), ParquetError> {
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

    pub fn finish(mut self) -> Result<ObjectWriter, ParquetError> {
        self.flush_row_group()?;
        self.file.into_inner()
    }
}
