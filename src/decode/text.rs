//! The text converter: Athena's text form of values (GetQueryResults data, CSV fields) -> Arrow
//! arrays. It does no I/O: rows of `Option<&str>` (None = NULL, distinct from "") go in,
//! `RecordBatch`es come out.

use std::sync::Arc;

use arrow::array::{
    ArrayBuilder, ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, Float32Builder, Float64Builder, Int8Builder,
    Int16Builder, Int32Builder, Int64Builder, RecordBatch, StringBuilder, Time32MillisecondBuilder, Time32SecondBuilder,
    Time64MicrosecondBuilder, Time64NanosecondBuilder, TimestampMicrosecondBuilder, TimestampMillisecondBuilder,
    TimestampNanosecondBuilder, TimestampSecondBuilder,
};
use arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use chrono::NaiveDateTime;

use crate::decode::duckdb::text::append_duckdb;
use crate::decode::nested;
use crate::decode::parse::{
    ValueError, fast_timestamp_parts, instant_in, malformed, parse_bool, parse_date, parse_decimal, parse_float, parse_int,
    parse_spaced_hex, parse_time_in, parse_timestamp, parse_timestamp_tz, timestamp_in,
};
use crate::error::{Error, Result};

/// Whether CSV text holds a quote (a short value is scanned in place, a long one by memchr).
#[inline]
fn has_quote(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() <= 32 { b.iter().fold(false, |q, &c| q | (c == b'"')) } else { memchr::memchr(b'"', b).is_some() }
}

/// A CSV value's text with each doubled quote (`""`) made one; a lone quote is an error.
pub(crate) fn unescape(s: &str) -> Result<String, ValueError> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('"') {
        if rest.as_bytes().get(at + 1) != Some(&b'"') {
            return Err(malformed!("malformed result CSV: a lone quote inside the quoted value {s:?}"));
        }
        out.push_str(&rest[..=at]);
        rest = &rest[at + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Decodes rows of Athena text into `RecordBatch`es of a schema made by [`crate::decode::schema`].
pub struct TextDecoder {
    schema: SchemaRef,
    /// DuckDB's text (Athena's DuckDB engine) rather than engine version 3's.
    duckdb: bool,
    columns: Vec<Column>,
    rows: usize,
    /// Rows the builders are sized for after each flush.
    capacity: usize,
}

impl std::fmt::Debug for TextDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextDecoder").field("schema", &self.schema).field("rows", &self.rows).finish_non_exhaustive()
    }
}

enum Column {
    Utf8(StringBuilder),
    Binary(BinaryBuilder),
    Boolean(BooleanBuilder),
    Int8(Int8Builder),
    Int16(Int16Builder),
    Int32(Int32Builder),
    Int64(Int64Builder),
    Float32(Float32Builder),
    Float64(Float64Builder),
    Decimal(Decimal128Builder, u8),
    Date(Date32Builder),
    Timestamp(Timestamps, bool),
    Time32S(Time32SecondBuilder),
    Time32Ms(Time32MillisecondBuilder),
    Time64Us(Time64MicrosecondBuilder),
    Time64Ns(Time64NanosecondBuilder),
    /// array / map / row with known element types (see [`crate::decode::nested`]).
    Nested(Box<dyn ArrayBuilder>, DataType),
    /// Any type, from DuckDB's text (see [`crate::decode::duckdb`]).
    DuckDb(Box<dyn ArrayBuilder>, DataType),
}

enum Timestamps {
    Second(TimestampSecondBuilder),
    Milli(TimestampMillisecondBuilder),
    Micro(TimestampMicrosecondBuilder),
    Nano(TimestampNanosecondBuilder),
}

impl Timestamps {
    fn new(unit: TimeUnit, tz: Option<Arc<str>>, rows: usize) -> Self {
        match unit {
            TimeUnit::Second => Timestamps::Second(TimestampSecondBuilder::with_capacity(rows).with_timezone_opt(tz)),
            TimeUnit::Millisecond => Timestamps::Milli(TimestampMillisecondBuilder::with_capacity(rows).with_timezone_opt(tz)),
            TimeUnit::Microsecond => Timestamps::Micro(TimestampMicrosecondBuilder::with_capacity(rows).with_timezone_opt(tz)),
            TimeUnit::Nanosecond => Timestamps::Nano(TimestampNanosecondBuilder::with_capacity(rows).with_timezone_opt(tz)),
        }
    }

    fn append(&mut self, t: Option<NaiveDateTime>) -> Result<(), ValueError> {
        let Some(t) = t else {
            match self {
                Timestamps::Second(b) => b.append_null(),
                Timestamps::Milli(b) => b.append_null(),
                Timestamps::Micro(b) => b.append_null(),
                Timestamps::Nano(b) => b.append_null(),
            }
            return Ok(());
        };
        match self {
            Timestamps::Second(b) => b.append_value(timestamp_in(t, TimeUnit::Second)?),
            Timestamps::Milli(b) => b.append_value(timestamp_in(t, TimeUnit::Millisecond)?),
            Timestamps::Micro(b) => b.append_value(timestamp_in(t, TimeUnit::Microsecond)?),
            Timestamps::Nano(b) => b.append_value(timestamp_in(t, TimeUnit::Nanosecond)?),
        }
        Ok(())
    }

    /// Appends the instant `secs` + `nanos` after the epoch (the common path, without chrono).
    fn append_parts(&mut self, secs: i64, nanos: u32) -> Result<(), ValueError> {
        match self {
            Timestamps::Second(b) => b.append_value(instant_in(secs, nanos, TimeUnit::Second)?),
            Timestamps::Milli(b) => b.append_value(instant_in(secs, nanos, TimeUnit::Millisecond)?),
            Timestamps::Micro(b) => b.append_value(instant_in(secs, nanos, TimeUnit::Microsecond)?),
            Timestamps::Nano(b) => b.append_value(instant_in(secs, nanos, TimeUnit::Nanosecond)?),
        }
        Ok(())
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Timestamps::Second(b) => Arc::new(b.finish()),
            Timestamps::Milli(b) => Arc::new(b.finish()),
            Timestamps::Micro(b) => Arc::new(b.finish()),
            Timestamps::Nano(b) => Arc::new(b.finish()),
        }
    }
}

impl Column {
    /// A builder for `dt` with room for `rows` values (nested builders size themselves).
    fn new(dt: &DataType, rows: usize) -> Result<Self> {
        Ok(match dt {
            DataType::Utf8 => Column::Utf8(StringBuilder::with_capacity(rows, rows * 16)),
            DataType::Binary => Column::Binary(BinaryBuilder::with_capacity(rows, rows * 16)),
            DataType::Boolean => Column::Boolean(BooleanBuilder::with_capacity(rows)),
            DataType::Int8 => Column::Int8(Int8Builder::with_capacity(rows)),
            DataType::Int16 => Column::Int16(Int16Builder::with_capacity(rows)),
            DataType::Int32 => Column::Int32(Int32Builder::with_capacity(rows)),
            DataType::Int64 => Column::Int64(Int64Builder::with_capacity(rows)),
            DataType::Float32 => Column::Float32(Float32Builder::with_capacity(rows)),
            DataType::Float64 => Column::Float64(Float64Builder::with_capacity(rows)),
            DataType::Decimal128(p, s) => Column::Decimal(
                Decimal128Builder::with_capacity(rows).with_precision_and_scale(*p, *s).map_err(|e| Error::decode(e.to_string()))?,
                *s as u8,
            ),
            DataType::Date32 => Column::Date(Date32Builder::with_capacity(rows)),
            DataType::Timestamp(unit, tz) => Column::Timestamp(Timestamps::new(*unit, tz.clone(), rows), tz.is_some()),
            DataType::Time32(TimeUnit::Second) => Column::Time32S(Time32SecondBuilder::with_capacity(rows)),
            DataType::Time32(TimeUnit::Millisecond) => Column::Time32Ms(Time32MillisecondBuilder::with_capacity(rows)),
            DataType::Time64(TimeUnit::Microsecond) => Column::Time64Us(Time64MicrosecondBuilder::with_capacity(rows)),
            DataType::Time64(TimeUnit::Nanosecond) => Column::Time64Ns(Time64NanosecondBuilder::with_capacity(rows)),
            DataType::List(_) | DataType::Map(..) | DataType::Struct(_) => Column::Nested(arrow::array::make_builder(dt, 1024), dt.clone()),
            other => return Err(Error::UnsupportedType { type_name: format!("text decoding into {other}") }),
        })
    }

    fn append(&mut self, v: Option<&str>) -> Result<(), ValueError> {
        macro_rules! prim {
            ($b:expr, $parse:expr) => {
                match v {
                    None => $b.append_null(),
                    Some(s) => $b.append_value($parse(s)?),
                }
            };
        }
        match self {
            Column::Utf8(b) => b.append_option(v),
            Column::Binary(b) => prim!(b, parse_spaced_hex),
            Column::Boolean(b) => prim!(b, parse_bool),
            Column::Int8(b) => prim!(b, parse_int::<i8>),
            Column::Int16(b) => prim!(b, parse_int::<i16>),
            Column::Int32(b) => prim!(b, parse_int::<i32>),
            Column::Int64(b) => prim!(b, parse_int::<i64>),
            Column::Float32(b) => prim!(b, parse_float::<f32>),
            Column::Float64(b) => prim!(b, parse_float::<f64>),
            Column::Decimal(b, scale) => {
                let scale = *scale;
                prim!(b, |s| parse_decimal(s, scale))
            }
            Column::Date(b) => prim!(b, parse_date),
            Column::Timestamp(b, tz) => {
                if let Some((secs, nanos)) = v.filter(|_| !*tz).and_then(|s| fast_timestamp_parts(s.as_bytes())) {
                    return b.append_parts(secs, nanos);
                }
                let t = match v {
                    None => None,
                    Some(s) if *tz => Some(parse_timestamp_tz(s)?),
                    Some(s) => Some(parse_timestamp(s)?),
                };
                b.append(t)?;
            }
            // A time of day fits 32 bits in seconds and milliseconds.
            Column::Time32S(b) => prim!(b, |s| parse_time_in(s, TimeUnit::Second).map(|v| v as i32)),
            Column::Time32Ms(b) => prim!(b, |s| parse_time_in(s, TimeUnit::Millisecond).map(|v| v as i32)),
            Column::Time64Us(b) => prim!(b, |s| parse_time_in(s, TimeUnit::Microsecond)),
            Column::Time64Ns(b) => prim!(b, |s| parse_time_in(s, TimeUnit::Nanosecond)),
            Column::Nested(b, dt) => nested::append(b.as_mut(), dt, v)?,
            Column::DuckDb(b, dt) => append_duckdb(b.as_mut(), dt, v)?,
        }
        Ok(())
    }

    /// Appends `rows` values of this column, `value(row)` giving each one's CSV text (None =
    /// NULL; doubled quotes `""` still doubled, made one here). An error names the row.
    fn append_many<'a>(&mut self, rows: usize, value: impl Fn(usize) -> Option<&'a str>) -> Result<(), (usize, ValueError)> {
        for r in 0..rows {
            match value(r) {
                Some(s) if has_quote(s) => self.append(Some(&unescape(s).map_err(|e| (r, e))?)),
                v => self.append(v),
            }
            .map_err(|e| (r, e))?;
        }
        Ok(())
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Column::Utf8(b) => Arc::new(b.finish()),
            Column::Binary(b) => Arc::new(b.finish()),
            Column::Boolean(b) => Arc::new(b.finish()),
            Column::Int8(b) => Arc::new(b.finish()),
            Column::Int16(b) => Arc::new(b.finish()),
            Column::Int32(b) => Arc::new(b.finish()),
            Column::Int64(b) => Arc::new(b.finish()),
            Column::Float32(b) => Arc::new(b.finish()),
            Column::Float64(b) => Arc::new(b.finish()),
            Column::Decimal(b, _) => Arc::new(b.finish()),
            Column::Date(b) => Arc::new(b.finish()),
            Column::Timestamp(b, _) => b.finish(),
            Column::Time32S(b) => Arc::new(b.finish()),
            Column::Time32Ms(b) => Arc::new(b.finish()),
            Column::Time64Us(b) => Arc::new(b.finish()),
            Column::Time64Ns(b) => Arc::new(b.finish()),
            Column::Nested(b, _) | Column::DuckDb(b, _) => b.finish(),
        }
    }

    fn len(&self) -> usize {
        match self {
            Column::Utf8(b) => b.len(),
            Column::Binary(b) => b.len(),
            Column::Boolean(b) => b.len(),
            Column::Int8(b) => b.len(),
            Column::Int16(b) => b.len(),
            Column::Int32(b) => b.len(),
            Column::Int64(b) => b.len(),
            Column::Float32(b) => b.len(),
            Column::Float64(b) => b.len(),
            Column::Decimal(b, _) => b.len(),
            Column::Date(b) => b.len(),
            Column::Timestamp(Timestamps::Second(b), _) => b.len(),
            Column::Timestamp(Timestamps::Milli(b), _) => b.len(),
            Column::Timestamp(Timestamps::Micro(b), _) => b.len(),
            Column::Timestamp(Timestamps::Nano(b), _) => b.len(),
            Column::Time32S(b) => b.len(),
            Column::Time32Ms(b) => b.len(),
            Column::Time64Us(b) => b.len(),
            Column::Time64Ns(b) => b.len(),
            Column::Nested(b, _) | Column::DuckDb(b, _) => b.len(),
        }
    }
}

impl TextDecoder {
    /// A decoder for `schema` (as [`crate::decode::schema::arrow_schema`] builds it).
    ///
    /// # Errors
    /// [`Error::UnsupportedType`] when a field has a type the text form cannot fill.
    pub fn new(schema: SchemaRef) -> Result<Self> {
        Self::with_capacity(schema, 1024)
    }

    /// A decoder whose builders have room for `rows` rows per batch (fewer reallocations when
    /// the batch size is known).
    ///
    /// # Errors
    /// As [`new`](Self::new).
    /// A schema made by [`crate::decode::duckdb::duckdb_schema`] (it says so in its metadata)
    /// is decoded from DuckDB's text.
    ///
    /// # Errors
    /// As [`new`](Self::new); [`Error::UnsupportedType`] for a DuckDB UNION column (its text does
    /// not name its member).
    pub fn with_capacity(schema: SchemaRef, rows: usize) -> Result<Self> {
        let duckdb = crate::decode::duckdb::is_duckdb(&schema);
        let columns = Self::builders(&schema, rows, duckdb)?;
        Ok(Self { schema, duckdb, columns, rows: 0, capacity: rows })
    }

    fn builders(schema: &SchemaRef, rows: usize, duckdb: bool) -> Result<Vec<Column>> {
        schema
            .fields()
            .iter()
            .map(|f| match (duckdb, f.data_type()) {
                (true, DataType::Union(..)) => Err(Error::UnsupportedType {
                    type_name: format!(
                        "UNION column {}: its text does not name the member of each value; read the result as an Arrow stream",
                        f.name()
                    ),
                }),
                // Enums (dictionaries) are read as their text and dictionary-encoded at flush.
                (true, DataType::Dictionary(..)) => Ok(Column::DuckDb(arrow::array::make_builder(&DataType::Utf8, rows), DataType::Utf8)),
                (true, dt) => Ok(Column::DuckDb(arrow::array::make_builder(dt, rows), dt.clone())),
                (false, dt) => Column::new(dt, rows),
            })
            .collect()
    }

    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Rows buffered since the last [`flush`](Self::flush).
    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Appends one row; `None` is NULL, `Some("")` the empty string.
    ///
    /// # Errors
    /// [`Error::Decode`] naming the column when a value does not parse or the row has the wrong
    /// number of fields; the decoder must then be discarded.
    pub fn append_row<'a>(&mut self, row: impl IntoIterator<Item = Option<&'a str>>) -> Result<()> {
        let mut n = 0;
        for (i, v) in row.into_iter().enumerate() {
            let Some(column) = self.columns.get_mut(i) else {
                return Err(Error::decode(format!("row {} has more than {} fields", self.rows, self.columns.len())));
            };
            column.append(v).map_err(|e| Error::Decode {
                query_id: None,
                column: Some(self.schema.field(i).name().clone()),
                row: Some(self.rows as u64),
                message: e.to_string(),
                source: None,
            })?;
            n += 1;
        }
        if n != self.columns.len() {
            return Err(Error::decode(format!("row {} has {n} fields, expected {}", self.rows, self.columns.len())));
        }
        self.rows += 1;
        Ok(())
    }

    /// Appends `rows` rows of a result CSV given column by column: `value(row, column)` is a
    /// field's text as written between its quotes (None = NULL, distinct from ""), doubled quotes
    /// (`""`) still doubled (the CSV decoder's way for the types it does not convert itself).
    ///
    /// # Errors
    /// As [`append_row`](Self::append_row); the decoder must then be discarded.
    pub fn append_columns<'a>(&mut self, rows: usize, value: impl Fn(usize, usize) -> Option<&'a str>) -> Result<()> {
        for (c, column) in self.columns.iter_mut().enumerate() {
            column.append_many(rows, |r| value(r, c)).map_err(|(r, e)| Error::Decode {
                query_id: None,
                column: Some(self.schema.field(c).name().clone()),
                row: Some((self.rows + r) as u64),
                message: e.to_string(),
                source: None,
            })?;
        }
        self.rows += rows;
        Ok(())
    }

    /// The rows appended since the last flush as one batch (`None` when there are none).
    pub fn flush(&mut self) -> Result<Option<RecordBatch>> {
        if self.rows == 0 {
            return Ok(None);
        }
        debug_assert!(self.columns.iter().all(|c| c.len() == self.rows));
        let mut arrays: Vec<ArrayRef> = self.columns.iter_mut().map(Column::finish).collect();
        for (array, field) in arrays.iter_mut().zip(self.schema.fields()) {
            if array.data_type() != field.data_type() {
                *array =
                    arrow::compute::cast(array, field.data_type()).map_err(|e| Error::decode(format!("column {}: {e}", field.name())))?;
            }
        }
        self.rows = 0;
        // Finished builders keep no capacity: size them again for the next batch.
        self.columns = Self::builders(&self.schema, self.capacity, self.duckdb)?;
        RecordBatch::try_new(self.schema.clone(), arrays).map(Some).map_err(|e| Error::Decode {
            query_id: None,
            column: None,
            row: None,
            message: "cannot assemble batch".into(),
            source: Some(Box::new(e)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::schema::{ColumnInfo, arrow_schema};
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{
        Date32Type, Decimal128Type, Float32Type, Float64Type, Int32Type, Time64NanosecondType, TimestampNanosecondType,
    };

    fn col(name: &str, t: &str, p: i32, s: i32) -> ColumnInfo {
        ColumnInfo { name: name.into(), type_name: t.into(), precision: p, scale: s }
    }

    #[test]
    fn athena_text_to_arrow() {
        let schema = arrow_schema(
            &[
                col("s", "varchar", 0, 0),
                col("f", "float", 17, 0),
                col("d", "double", 17, 0),
                col("dec", "decimal", 10, 2),
                col("vb", "varbinary", 0, 0),
                col("dt", "date", 0, 0),
                col("ts", "timestamp", 3, 0),
                col("tz", "timestamp with time zone", 3, 0),
                col("t", "time", 3, 0),
                col("i", "integer", 10, 0),
            ],
            Some(TimeUnit::Nanosecond),
        )
        .unwrap();
        let mut d = TextDecoder::new(schema).unwrap();
        d.append_row([
            Some(""),
            Some("NaN"),
            Some("1.0E-7"),
            Some("1.50"),
            Some("31 32 33"),
            Some("2017-01-02"),
            Some("2017-01-01 00:00:00.123456789"),
            Some("2017-01-01 09:00:00.000 Asia/Tokyo"),
            Some("01:02:03.500"),
            Some("-7"),
        ])
        .unwrap();
        d.append_row([
            None,
            Some("Infinity"),
            Some("1.0E20"),
            Some("-0.5"),
            Some(""),
            None,
            None,
            Some("2017-01-01 00:00:00.000 +09:00"),
            None,
            None,
        ])
        .unwrap();
        let b = d.flush().unwrap().unwrap();
        let s = b.column(0).as_string::<i32>();
        assert!(s.is_valid(0) && s.value(0).is_empty() && s.is_null(1), "NULL stays distinct from the empty string");
        let f = b.column(1).as_primitive::<Float32Type>();
        assert!(f.value(0).is_nan() && f.value(1) == f32::INFINITY);
        assert_eq!(b.column(2).as_primitive::<Float64Type>().values(), &[1.0e-7, 1.0e20]);
        assert_eq!(b.column(3).as_primitive::<Decimal128Type>().values(), &[150, -50]);
        assert_eq!(b.column(4).as_binary::<i32>().value(0), b"123");
        assert_eq!(b.column(4).as_binary::<i32>().value(1), b"");
        assert_eq!(b.column(5).as_primitive::<Date32Type>().value(0), 17168);
        assert_eq!(b.column(6).as_primitive::<TimestampNanosecondType>().value(0), 1_483_228_800_123_456_789);
        let tz = b.column(7).as_primitive::<TimestampNanosecondType>();
        assert_eq!(tz.values(), &[1_483_228_800_000_000_000, 1_483_196_400_000_000_000]);
        assert_eq!(b.column(8).as_primitive::<Time64NanosecondType>().value(0), 3_723_500_000_000);
        assert_eq!(b.column(9).as_primitive::<Int32Type>().value(0), -7);
        assert!(d.flush().unwrap().is_none());
    }

    #[test]
    fn bad_values_name_their_column_and_row() {
        let schema = arrow_schema(&[col("n", "integer", 10, 0)], None).unwrap();
        let mut d = TextDecoder::new(schema).unwrap();
        d.append_row([Some("1")]).unwrap();
        let e = d.append_row([Some("x")]).unwrap_err();
        assert!(matches!(&e, Error::Decode { column: Some(c), row: Some(1), .. } if c == "n"), "{e}");
        assert!(d.append_row([Some("1"), Some("2")]).is_err());
        assert_eq!(parse_decimal("1.234", 2), Err(ValueError::not_a("1.234", "a decimal of scale 2")));
    }
}
